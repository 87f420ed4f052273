//! Who may do what: roles, the agencies a user may read, and the authoring rule.
//! The data layer applies [`Scope`] to every query, so a case outside it does not exist.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};

use crate::vocab::{AgencyCode, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Submitter,
    Reviewer,
    SeniorReviewer,
    PortfolioOwner,
    Admin,
}

words!(Role);

/// The agencies whose cases a query may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Agency ids.
    Agencies(Vec<String>),
}

impl Scope {
    pub fn includes(&self, agency_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Agencies(ids) => ids.iter().any(|a| a == agency_id),
        }
    }
}

/// The agencies a reviewer decides for: by default their own; an admin can widen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewScope {
    Own,
    All,
    Agencies(Vec<String>),
}

impl ReviewScope {
    /// Stored form: `""` own agency, `"*"` all, else comma-separated agency ids.
    pub fn parse(stored: &str) -> ReviewScope {
        match stored.trim() {
            "" => ReviewScope::Own,
            "*" => ReviewScope::All,
            list => ReviewScope::Agencies(split_list(list)),
        }
    }

    pub fn to_stored(&self) -> String {
        match self {
            ReviewScope::Own => String::new(),
            ReviewScope::All => "*".into(),
            ReviewScope::Agencies(ids) => ids.join(","),
        }
    }
}

pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: UserId,
    pub email: String,
    pub agency_id: String,
    pub agency_code: AgencyCode,
    pub roles: Vec<Role>,
    pub review_groups: Vec<String>,
    pub review_scope: ReviewScope,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_reviewer(&self) -> bool {
        self.has(Role::Reviewer) || self.has(Role::SeniorReviewer)
    }

    /// The agencies whose cases this user may read.
    pub fn read_scope(&self) -> Scope {
        if self.has(Role::PortfolioOwner) || self.has(Role::Admin) {
            Scope::All
        } else if self.is_reviewer() {
            self.review_agencies()
        } else {
            Scope::Agencies(vec![self.agency_id.clone()])
        }
    }

    /// The agencies whose cases this user may decide: the review scope (own agency by
    /// default), never widened by roles that only read (portfolio owner, admin).
    pub fn decide_scope(&self) -> Scope {
        if self.is_reviewer() {
            self.review_agencies()
        } else {
            Scope::Agencies(Vec::new())
        }
    }

    /// The own agency and those the review scope adds.
    fn review_agencies(&self) -> Scope {
        let mut ids = vec![self.agency_id.clone()];
        match &self.review_scope {
            ReviewScope::All => return Scope::All,
            ReviewScope::Agencies(more) => ids.extend(more.iter().cloned()),
            ReviewScope::Own => {}
        }
        ids.sort();
        ids.dedup();
        Scope::Agencies(ids)
    }

    /// Submitters create, edit, submit and withdraw their own agency's cases, and nobody else does.
    pub fn may_author(&self, agency_id: &str) -> bool {
        self.has(Role::Submitter) && self.agency_id == agency_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling() {
        assert_one_spelling!(Role);
    }

    #[test]
    fn reading_every_agency_does_not_widen_what_a_reviewer_decides() {
        for extra in [Role::PortfolioOwner, Role::Admin] {
            let u = user(&[Role::Reviewer, extra], ReviewScope::Own);
            assert_eq!(u.read_scope(), Scope::All);
            assert_eq!(u.decide_scope(), Scope::Agencies(vec!["a1".into()]));
        }
        let central = user(&[Role::SeniorReviewer], ReviewScope::All);
        assert_eq!(central.decide_scope(), Scope::All);
        let none = user(&[Role::PortfolioOwner], ReviewScope::All);
        assert!(!none.decide_scope().includes("a1"));
    }

    fn user(roles: &[Role], scope: ReviewScope) -> Principal {
        Principal {
            user_id: "u".into(),
            email: "u@example.org".into(),
            agency_id: "a1".into(),
            agency_code: "A1".into(),
            roles: roles.to_vec(),
            review_groups: vec![],
            review_scope: scope,
        }
    }

    #[test]
    fn submitters_read_only_their_agency() {
        let u = user(&[Role::Submitter], ReviewScope::All);
        assert_eq!(
            u.read_scope(),
            Scope::Agencies(vec!["a1".into()]),
            "a review scope means nothing without a reviewer role"
        );
        assert!(u.may_author("a1"));
        assert!(!u.may_author("a2"));
    }

    #[test]
    fn reviewers_read_their_review_scope_but_never_author() {
        let u = user(&[Role::Reviewer], ReviewScope::Agencies(vec!["a2".into()]));
        assert_eq!(
            u.read_scope(),
            Scope::Agencies(vec!["a1".into(), "a2".into()])
        );
        assert!(!u.may_author("a1"));
        assert_eq!(
            user(&[Role::SeniorReviewer], ReviewScope::All).read_scope(),
            Scope::All
        );
    }

    #[test]
    fn portfolio_owners_and_admins_read_everything_and_author_nothing() {
        for r in [Role::PortfolioOwner, Role::Admin] {
            let u = user(&[r], ReviewScope::Own);
            assert_eq!(u.read_scope(), Scope::All);
            assert!(!u.may_author("a1"));
        }
    }

    #[test]
    fn review_scopes_round_trip_through_storage() {
        for s in [
            ReviewScope::Own,
            ReviewScope::All,
            ReviewScope::Agencies(vec!["x".into(), "y".into()]),
        ] {
            assert_eq!(ReviewScope::parse(&s.to_stored()), s);
        }
    }
}
