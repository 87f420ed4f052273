//! What-if: re-triage stored cases under candidate rules, without writing anything, and say
//! which would change tier or route, and in which direction.

use serde::Serialize;

use super::answers::{self, Answers};
use super::case::{Route, Tier};
use super::triage::triage;
use crate::rules::RuleSet;
use crate::vocab::agents::Declarations;
use crate::vocab::CaseId;

/// A submitted case as stored: its answers and the triage it got.
pub struct Stored {
    pub id: CaseId,
    pub agency: String,
    pub title: String,
    pub tier: Tier,
    pub route: Route,
    pub rules_version: String,
    pub answers: Answers,
    /// Its agents, tools and delegations (rules read them too).
    pub declarations: Declarations,
}

#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub id: CaseId,
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

    /// Re-triages a batch of stored cases, on every core, and records the changes in order.
    pub fn add_all(&mut self, candidate: &RuleSet, cases: Vec<Stored>) {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(cases.len().max(1));
        let chunk = cases.len().div_ceil(threads).max(1);
        let results: Vec<(Stored, Tier, Route)> = std::thread::scope(|s| {
            let mut rest = cases;
            let mut handles = Vec::new();
            while !rest.is_empty() {
                let tail = rest.split_off(chunk.min(rest.len()));
                let part = std::mem::replace(&mut rest, tail);
                handles.push(s.spawn(move || {
                    part.into_iter()
                        .map(|c| {
                            let eff = answers::effective(&candidate.questionnaire, &c.answers)
                                .with_declarations(&c.declarations);
                            let t = triage(candidate, &eff);
                            (c, t.tier, t.route)
                        })
                        .collect::<Vec<_>>()
                }));
            }
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("simulation thread"))
                .collect()
        });
        for (case, tier, route) in results {
            self.record(case, tier, route);
        }
    }

    fn record(&mut self, case: Stored, tier: Tier, route: Route) {
        self.cases += 1;
        if tier != case.tier {
            self.tier_changed += 1;
            if tier > case.tier {
                self.tier_raised += 1;
            } else {
                self.tier_lowered += 1;
            }
        }
        if route != case.route {
            self.route_changed += 1;
        }
        if tier != case.tier || route != case.route {
            self.changes.push(Change {
                id: case.id,
                agency: case.agency,
                title: case.title,
                from_tier: case.tier,
                to_tier: tier,
                from_route: case.route,
                to_route: route,
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
