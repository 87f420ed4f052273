//! Review decisions: who may approve, reject, request changes, escalate or comment, and what
//! each does to a case. Pure: the caller supplies the case, the decisions already taken on its
//! current revision, and the actor.
//!
//! - Only reviewers and senior reviewers decide, and only cases in their review scope.
//! - Nobody decides a case they created, edited or submitted (separation of duties).
//! - Functional review (medium): each review group the fired rules name signs off, by a
//!   reviewer of that group; the last sign-off approves the case.
//! - Human approval: `required_approvals` distinct approvers; when the route requires a senior
//!   reviewer (critical) or the case was escalated, one of them must be a senior reviewer.
//! - An escalated case is decided by senior reviewers only.

use super::message::Says;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use super::access::{Principal, Role};
use super::case::{Route, Status};
use crate::vocab::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    RequestChanges,
    Escalate,
    Comment,
}

words!(Action);

/// The case as a decision sees it.
#[derive(Debug, Clone)]
pub struct CaseState<'a> {
    pub status: Status,
    pub route: Route,
    pub required_approvals: u32,
    pub senior_required: bool,
    pub review_groups: &'a [String],
    pub escalated: bool,
}

/// An approval already given on the case's current revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub actor_id: UserId,
    pub senior: bool,
    /// The review groups it signed off (functional review).
    pub groups: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Actor<'a> {
    pub user_id: UserId,
    pub reviewer: bool,
    pub senior: bool,
    pub groups: &'a [String],
    /// The case's agency is in the actor's review scope.
    pub in_review_scope: bool,
    /// The actor created, edited or submitted the case.
    pub authored: bool,
    /// The actor is a submitter of the case's agency (may comment).
    pub agency_submitter: bool,
}

impl<'a> Actor<'a> {
    /// `who` acting on a case of `agency_id`; `authored` when they created, edited or
    /// submitted it. Deciding is bounded by the review scope, not by what they may read.
    pub fn of(who: &'a Principal, agency_id: &str, authored: bool) -> Actor<'a> {
        Actor {
            user_id: who.user_id.clone(),
            reviewer: who.is_reviewer(),
            senior: who.has(Role::SeniorReviewer),
            groups: &who.review_groups,
            in_review_scope: who.decide_scope().includes(agency_id),
            authored,
            agency_submitter: who.may_author(agency_id),
        }
    }
}

/// What a decision does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub escalated: bool,
    /// Review groups this approval signs off.
    pub signs_off: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    Forbidden(String),
    Conflict(String),
    Invalid(Says),
}

/// The review groups still to sign off a functional review.
pub fn pending_groups(case: &CaseState, approvals: &[Approval]) -> Vec<String> {
    case.review_groups
        .iter()
        .filter(|g| !approvals.iter().any(|a| a.groups.contains(g)))
        .cloned()
        .collect()
}

fn awaits_decision(status: Status) -> bool {
    matches!(status, Status::InReview | Status::AwaitingApproval)
}

/// Whether `actor` may decide `case` at all: a reviewer in scope who did not author it, on a
/// case awaiting a decision, senior if it was escalated, in a group still to sign off.
fn may_decide(case: &CaseState, approvals: &[Approval], actor: &Actor) -> Result<(), Refusal> {
    if !actor.reviewer || !actor.in_review_scope {
        return Err(Refusal::Forbidden(
            "only reviewers whose review scope includes the case's agency decide".into(),
        ));
    }
    if actor.authored {
        return Err(Refusal::Forbidden(
            "you created, edited or submitted this case: someone else must decide it".into(),
        ));
    }
    if !awaits_decision(case.status) {
        return Err(Refusal::Conflict(format!(
            "a case that is {} awaits no decision",
            case.status
        )));
    }
    if case.escalated && !actor.senior {
        return Err(Refusal::Forbidden(
            "the case was escalated: a senior reviewer decides it".into(),
        ));
    }
    if case.route == Route::FunctionalReview && !case.escalated {
        let pending = pending_groups(case, approvals);
        if !pending.iter().any(|g| actor.groups.contains(g)) {
            return Err(Refusal::Forbidden(format!(
                "this case still needs sign-off from {}; you are in none of them",
                pending.join(", ")
            )));
        }
    }
    Ok(())
}

/// Decides whether `actor` may take `action` now, and what it does.
pub fn decide(
    case: &CaseState,
    approvals: &[Approval],
    actor: &Actor,
    action: Action,
    rationale: &str,
) -> Result<Outcome, Refusal> {
    let unchanged = Outcome {
        status: case.status,
        escalated: case.escalated,
        signs_off: vec![],
    };
    if rationale.trim().is_empty() {
        return Err(Refusal::Invalid(match action {
            Action::Comment => Says::CommentText,
            _ => Says::RationaleRequired {
                action: action.to_string(),
            },
        }));
    }
    if action == Action::Comment {
        return if (actor.reviewer && actor.in_review_scope) || actor.agency_submitter {
            Ok(unchanged)
        } else {
            Err(Refusal::Forbidden(
                "only the case's agency and its reviewers comment".into(),
            ))
        };
    }
    may_decide(case, approvals, actor)?;
    match action {
        Action::Comment => Ok(unchanged),
        Action::Escalate => {
            if case.escalated {
                Err(Refusal::Conflict("the case is already escalated".into()))
            } else if actor.senior {
                Err(Refusal::Conflict(
                    "senior reviewers decide escalated cases: decide this one instead".into(),
                ))
            } else {
                Ok(Outcome {
                    escalated: true,
                    ..unchanged
                })
            }
        }
        Action::Reject => Ok(Outcome {
            status: Status::Rejected,
            ..unchanged
        }),
        Action::RequestChanges => Ok(Outcome {
            status: Status::ChangesRequested,
            ..unchanged
        }),
        Action::Approve => approve(case, approvals, actor, unchanged),
    }
}

fn approve(
    case: &CaseState,
    approvals: &[Approval],
    actor: &Actor,
    unchanged: Outcome,
) -> Result<Outcome, Refusal> {
    if approvals.iter().any(|a| a.actor_id == actor.user_id) {
        return Err(Refusal::Conflict(
            "you have already approved this revision".into(),
        ));
    }
    match case.route {
        Route::FunctionalReview if !case.escalated => {
            let pending = pending_groups(case, approvals);
            // decide() has checked that the actor is in at least one pending group.
            let mine: Vec<String> = pending
                .iter()
                .filter(|g| actor.groups.contains(g))
                .cloned()
                .collect();
            let status = if mine.len() == pending.len() {
                Status::Approved
            } else {
                case.status
            };
            Ok(Outcome {
                status,
                signs_off: mine,
                ..unchanged
            })
        }
        _ => {
            let required = case.required_approvals.max(1) as usize;
            let need_senior = case.senior_required || case.escalated;
            let senior_present = approvals.iter().any(|a| a.senior) || actor.senior;
            let count = approvals.len() + 1;
            if need_senior && !senior_present && count >= required {
                return Err(Refusal::Forbidden(
                    "the remaining approval must come from a senior reviewer".into(),
                ));
            }
            let done = count >= required && (!need_senior || senior_present);
            Ok(Outcome {
                status: if done { Status::Approved } else { case.status },
                ..unchanged
            })
        }
    }
}

/// Working days (Monday to Friday, fractional) from `start` to `end`: the clock SLA targets
/// run on.
pub fn working_days_between(start: chrono::NaiveDateTime, end: chrono::NaiveDateTime) -> f64 {
    use chrono::Datelike;
    let mut total = 0.0;
    let mut t = start;
    while t < end {
        let midnight = (t.date() + chrono::Duration::days(1)).and_time(chrono::NaiveTime::MIN);
        let segment_end = midnight.min(end);
        if t.weekday().num_days_from_monday() < 5 {
            total += (segment_end - t).num_seconds() as f64 / 86_400.0;
        }
        t = segment_end;
    }
    total
}

/// The moment `days` working days after `start` (weekends skipped): when an SLA falls due.
pub fn add_working_days(start: chrono::NaiveDateTime, days: u32) -> chrono::NaiveDateTime {
    use chrono::Datelike;
    let mut t = start;
    let mut left = days;
    while left > 0 {
        t += chrono::Duration::days(1);
        if t.weekday().num_days_from_monday() < 5 {
            left -= 1;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling() {
        assert_one_spelling!(Action);
    }

    #[test]
    fn an_sla_falls_due_after_working_days_only() {
        let at = |d: &str| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // Thursday + 2 working days is Monday; + 5 is the next Thursday.
        assert_eq!(
            add_working_days(at("2026-11-19 10:00"), 2),
            at("2026-11-23 10:00")
        );
        assert_eq!(
            add_working_days(at("2026-11-19 10:00"), 5),
            at("2026-11-26 10:00")
        );
        assert_eq!(
            add_working_days(at("2026-11-19 10:00"), 0),
            at("2026-11-19 10:00")
        );
    }

    #[test]
    fn working_days_skip_weekends() {
        let at = |d: &str| chrono::NaiveDateTime::parse_from_str(d, "%Y-%m-%d %H:%M").unwrap();
        // Friday noon to Monday noon: half of Friday and half of Monday.
        assert_eq!(
            working_days_between(at("2026-11-20 12:00"), at("2026-11-23 12:00")),
            1.0
        );
        assert_eq!(
            working_days_between(at("2026-11-16 00:00"), at("2026-11-23 00:00")),
            5.0
        );
        assert_eq!(
            working_days_between(at("2026-11-21 00:00"), at("2026-11-23 00:00")),
            0.0
        );
        assert_eq!(
            working_days_between(at("2026-11-23 00:00"), at("2026-11-20 00:00")),
            0.0
        );
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    fn case(route: Route, approvals: u32, senior: bool, review_groups: &[String]) -> CaseState<'_> {
        CaseState {
            status: if route == Route::FunctionalReview {
                Status::InReview
            } else {
                Status::AwaitingApproval
            },
            route,
            required_approvals: approvals,
            senior_required: senior,
            review_groups,
            escalated: false,
        }
    }

    fn reviewer<'a>(id: &'a str, senior: bool, g: &'a [String]) -> Actor<'a> {
        Actor {
            user_id: id.into(),
            reviewer: true,
            senior,
            groups: g,
            in_review_scope: true,
            authored: false,
            agency_submitter: false,
        }
    }

    fn approval(id: &str, senior: bool, g: &[&str]) -> Approval {
        Approval {
            actor_id: id.into(),
            senior,
            groups: groups(g),
        }
    }

    #[test]
    fn a_high_case_is_approved_by_one_reviewer() {
        let none = groups(&[]);
        let c = case(Route::HumanApproval, 1, false, &none);
        let out = decide(
            &c,
            &[],
            &reviewer("r1", false, &none),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(out.status, Status::Approved);
    }

    #[test]
    fn a_critical_case_needs_two_distinct_approvers_one_of_them_senior() {
        let none = groups(&[]);
        let c = case(Route::HumanApproval, 2, true, &none);
        let first = decide(
            &c,
            &[],
            &reviewer("r1", false, &none),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(
            first.status,
            Status::AwaitingApproval,
            "one approval is not enough"
        );
        let after_one = [approval("r1", false, &[])];
        assert_eq!(
            decide(
                &c,
                &after_one,
                &reviewer("r1", false, &none),
                Action::Approve,
                "again"
            ),
            Err(Refusal::Conflict(
                "you have already approved this revision".into()
            ))
        );
        assert!(
            matches!(
                decide(
                    &c,
                    &after_one,
                    &reviewer("r2", false, &none),
                    Action::Approve,
                    "ok"
                ),
                Err(Refusal::Forbidden(_))
            ),
            "the second approver must be senior"
        );
        let done = decide(
            &c,
            &after_one,
            &reviewer("s1", true, &none),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(done.status, Status::Approved);
        // A senior first still needs a second, distinct approver.
        let senior_first =
            decide(&c, &[], &reviewer("s1", true, &none), Action::Approve, "ok").unwrap();
        assert_eq!(senior_first.status, Status::AwaitingApproval);
        let done = decide(
            &c,
            &[approval("s1", true, &[])],
            &reviewer("r1", false, &none),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(done.status, Status::Approved);
    }

    #[test]
    fn a_functional_review_needs_each_named_group_to_sign_off() {
        let needed = groups(&["privacy", "security"]);
        let c = case(Route::FunctionalReview, 2, false, &needed);
        let privacy = groups(&["privacy"]);
        let legal = groups(&["legal"]);
        let security = groups(&["security"]);
        for action in [
            Action::Approve,
            Action::Reject,
            Action::RequestChanges,
            Action::Escalate,
        ] {
            assert!(
                matches!(
                    decide(&c, &[], &reviewer("l", false, &legal), action, "ok"),
                    Err(Refusal::Forbidden(_))
                ),
                "{action}"
            );
        }
        let first = decide(
            &c,
            &[],
            &reviewer("p", false, &privacy),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(
            (first.status, first.signs_off.clone()),
            (Status::InReview, privacy.clone())
        );
        let signed = [approval("p", false, &["privacy"])];
        assert_eq!(pending_groups(&c, &signed), security);
        assert!(
            matches!(
                decide(
                    &c,
                    &signed,
                    &reviewer("p2", false, &privacy),
                    Action::Approve,
                    "ok"
                ),
                Err(Refusal::Forbidden(_))
            ),
            "privacy already signed"
        );
        let last = decide(
            &c,
            &signed,
            &reviewer("s", false, &security),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(last.status, Status::Approved);
        let both = groups(&["privacy", "security"]);
        let at_once = decide(
            &c,
            &[],
            &reviewer("ps", false, &both),
            Action::Approve,
            "ok",
        )
        .unwrap();
        assert_eq!(
            at_once.status,
            Status::Approved,
            "one reviewer in both groups signs off both"
        );
    }

    #[test]
    fn nobody_decides_a_case_they_authored_and_submitters_never_decide() {
        let none = groups(&[]);
        let c = case(Route::HumanApproval, 1, false, &none);
        let mut author = reviewer("a", true, &none);
        author.authored = true;
        for action in [
            Action::Approve,
            Action::Reject,
            Action::RequestChanges,
            Action::Escalate,
        ] {
            assert!(
                matches!(
                    decide(&c, &[], &author, action, "x"),
                    Err(Refusal::Forbidden(_))
                ),
                "{action}"
            );
        }
        let submitter = Actor {
            user_id: "s".into(),
            reviewer: false,
            senior: false,
            groups: &none,
            in_review_scope: false,
            authored: false,
            agency_submitter: true,
        };
        for action in [
            Action::Approve,
            Action::Reject,
            Action::RequestChanges,
            Action::Escalate,
        ] {
            assert!(
                matches!(
                    decide(&c, &[], &submitter, action, "x"),
                    Err(Refusal::Forbidden(_))
                ),
                "{action}"
            );
        }
        assert!(
            decide(&c, &[], &submitter, Action::Comment, "a question").is_ok(),
            "but may comment"
        );
        let mut outsider = reviewer("o", false, &none);
        outsider.in_review_scope = false;
        assert!(matches!(
            decide(&c, &[], &outsider, Action::Approve, "x"),
            Err(Refusal::Forbidden(_))
        ));
        assert!(matches!(
            decide(&c, &[], &outsider, Action::Comment, "x"),
            Err(Refusal::Forbidden(_))
        ));
    }

    #[test]
    fn an_escalated_case_is_decided_by_senior_reviewers_only() {
        let none = groups(&[]);
        let mut c = case(Route::HumanApproval, 1, false, &none);
        let esc = decide(
            &c,
            &[],
            &reviewer("r", false, &none),
            Action::Escalate,
            "unsure",
        )
        .unwrap();
        assert!(esc.escalated && esc.status == Status::AwaitingApproval);
        c.escalated = true;
        for action in [
            Action::Approve,
            Action::Reject,
            Action::RequestChanges,
            Action::Escalate,
        ] {
            assert!(
                matches!(
                    decide(&c, &[], &reviewer("r2", false, &none), action, "x"),
                    Err(Refusal::Forbidden(_))
                ),
                "{action}"
            );
        }
        assert_eq!(
            decide(&c, &[], &reviewer("s", true, &none), Action::Approve, "ok")
                .unwrap()
                .status,
            Status::Approved
        );
        assert!(matches!(
            decide(&c, &[], &reviewer("s", true, &none), Action::Escalate, "x"),
            Err(Refusal::Conflict(_))
        ));
        // An escalated functional review is decided by the senior alone.
        let g = groups(&["privacy"]);
        let mut f = case(Route::FunctionalReview, 1, false, &g);
        f.escalated = true;
        assert_eq!(
            decide(&f, &[], &reviewer("s", true, &none), Action::Approve, "ok")
                .unwrap()
                .status,
            Status::Approved
        );
    }

    #[test]
    fn reject_and_request_changes_end_the_review_and_need_a_rationale() {
        let none = groups(&[]);
        let c = case(Route::HumanApproval, 2, true, &none);
        let r = reviewer("r", false, &none);
        assert_eq!(
            decide(&c, &[], &r, Action::Reject, "unsafe")
                .unwrap()
                .status,
            Status::Rejected
        );
        assert_eq!(
            decide(&c, &[], &r, Action::RequestChanges, "add logging")
                .unwrap()
                .status,
            Status::ChangesRequested
        );
        for action in Action::ALL {
            assert!(
                matches!(
                    decide(&c, &[], &r, *action, "   "),
                    Err(Refusal::Invalid(_))
                ),
                "{action}"
            );
        }
    }

    #[test]
    fn only_cases_awaiting_a_decision_can_be_decided_but_any_can_be_commented() {
        let none = groups(&[]);
        for status in Status::ALL {
            let mut c = case(Route::HumanApproval, 1, false, &none);
            c.status = *status;
            let r = reviewer("r", false, &none);
            let res = decide(&c, &[], &r, Action::Approve, "ok");
            if matches!(status, Status::InReview | Status::AwaitingApproval) {
                assert!(res.is_ok(), "{status}");
            } else {
                assert!(
                    matches!(res, Err(Refusal::Conflict(_))),
                    "{status}: {res:?}"
                );
            }
            assert_eq!(
                decide(&c, &[], &r, Action::Comment, "note").unwrap().status,
                *status
            );
        }
    }
}
