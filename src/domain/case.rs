//! The case state machine: which status changes are legal, what a route does on submission.
//! The words themselves (tiers, routes, statuses) live in [`crate::vocab`].

pub use crate::vocab::{Route, Status, Tier};

impl Tier {
    /// The next tier up, never past critical (prohibited is only ever set by a prohibited rule).
    pub fn raised(self) -> Tier {
        match self {
            Tier::Low => Tier::Medium,
            Tier::Medium => Tier::High,
            Tier::High | Tier::Critical => Tier::Critical,
            Tier::Prohibited => Tier::Prohibited,
        }
    }
}

impl Route {
    /// The status a freshly submitted case takes on this route.
    pub fn status_after_submit(self) -> Status {
        match self {
            Route::AutoClear => Status::Approved,
            Route::FunctionalReview => Status::InReview,
            Route::HumanApproval => Status::AwaitingApproval,
            Route::Blocked => Status::Blocked,
        }
    }
}

impl Status {
    /// A submitter may change the title, summary and answers.
    pub fn is_editable(self) -> bool {
        matches!(self, Status::Draft | Status::ChangesRequested)
    }

    /// A case may be submitted (first time, or again after changes were requested).
    pub fn can_submit(self) -> bool {
        self.is_editable()
    }

    /// Still open: it can be withdrawn.
    pub fn can_withdraw(self) -> bool {
        matches!(
            self,
            Status::Draft
                | Status::Submitted
                | Status::InReview
                | Status::AwaitingApproval
                | Status::ChangesRequested
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in Tier::ALL {
            assert_eq!(Tier::parse(t.as_str()), Some(*t));
        }
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(*s));
        }
        for r in Route::ALL {
            assert_eq!(Route::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Tier::parse("severe"), None);
    }

    #[test]
    fn tiers_are_ordered_and_raising_stops_at_critical() {
        assert!(Tier::Low < Tier::Medium && Tier::Critical < Tier::Prohibited);
        assert_eq!(Tier::Low.raised(), Tier::Medium);
        assert_eq!(Tier::Critical.raised(), Tier::Critical);
        assert_eq!(Tier::Prohibited.raised(), Tier::Prohibited);
    }

    #[test]
    fn each_route_sets_the_status_the_contract_names() {
        assert_eq!(Route::AutoClear.status_after_submit(), Status::Approved);
        assert_eq!(
            Route::FunctionalReview.status_after_submit(),
            Status::InReview
        );
        assert_eq!(
            Route::HumanApproval.status_after_submit(),
            Status::AwaitingApproval
        );
        assert_eq!(Route::Blocked.status_after_submit(), Status::Blocked);
    }

    #[test]
    fn only_open_cases_can_be_withdrawn_and_only_drafts_or_returned_cases_edited() {
        let closed = [
            Status::Approved,
            Status::Rejected,
            Status::Blocked,
            Status::Withdrawn,
        ];
        for s in Status::ALL {
            assert_eq!(s.can_withdraw(), !closed.contains(s), "{s}");
            assert_eq!(
                s.is_editable(),
                matches!(s, Status::Draft | Status::ChangesRequested),
                "{s}"
            );
        }
    }
}
