//! What-if: re-triage stored cases under candidate rules, without writing anything, and say
//! which would change tier or route, and in which direction.

use serde::Serialize;

use super::answers::{self, Answers};
use super::case::{Route, Tier};
use super::triage::triage;
use crate::rules::RuleSet;

/// A submitted case as stored: its answers and the triage it got.
pub struct Stored {
    pub id: String,
    pub agency: String,
    pub title: String,
    pub tier: Tier,
    pub route: Route,
    pub rules_version: String,
    pub answers: Answers,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: String,
    pub agency: String,
    pub title: String,
    pub from_tier: Tier,
    pub to_tier: Tier,
    pub from_route: Route,
    pub to_route: Route,
    pub from_rules_version: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub candidate_rules_version: String,
    pub cases: usize,
    pub tier_changed: usize,
    pub tier_raised: usize,
    pub tier_lowered: usize,
    pub route_changed: usize,
    pub changes: Vec<Change>,
}

impl Summary {
    pub fn new(candidate: &RuleSet) -> Self {
        Summary {
            candidate_rules_version: candidate.version.clone(),
            ..Default::default()
        }
    }

    /// Re-triages one stored case under the candidate rules and records any change.
    pub fn add(&mut self, candidate: &RuleSet, case: Stored) {
        let eff = answers::effective(&candidate.questionnaire, &case.answers);
        let t = triage(candidate, &eff);
        self.cases += 1;
        if t.tier != case.tier {
            self.tier_changed += 1;
            if t.tier > case.tier {
                self.tier_raised += 1;
            } else {
                self.tier_lowered += 1;
            }
        }
        if t.route != case.route {
            self.route_changed += 1;
        }
        if t.tier != case.tier || t.route != case.route {
            self.changes.push(Change {
                id: case.id,
                agency: case.agency,
                title: case.title,
                from_tier: case.tier,
                to_tier: t.tier,
                from_route: case.route,
                to_route: t.route,
                from_rules_version: case.rules_version,
            });
        }
    }

    /// A plain-text report: the counts, then one line per changed case.
    pub fn render(&self) -> String {
        let mut out = format!(
            "Simulated rules_version {} over {} triaged case(s):\n  tier changed: {} ({} raised, {} lowered)\n  route changed: {}\n",
            self.candidate_rules_version, self.cases, self.tier_changed, self.tier_raised, self.tier_lowered, self.route_changed
        );
        for c in &self.changes {
            out += &format!(
                "  {} [{}] {}: {} → {}, {} → {}\n",
                c.id, c.agency, c.title, c.from_tier, c.to_tier, c.from_route, c.to_route
            );
        }
        out
    }
}
