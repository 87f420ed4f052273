//! Case state checked against its audit trail: the trail is the record, so a case row or a
//! decision row changed out of band (a tier lowered, a status set to approved, a decision
//! inserted) disagrees with what its events say happened.
//!
//! Replaying a case's events gives its expected status (the last status an event moved it
//! to), tier and route (from the last triage or import), the digest of its stored triage, and
//! the decisions it should have: every `decided` or `commented` event is one decision row
//! with the same actor, action, revision and rationale. Rows restored by an import are
//! counted by the import event. The case's optimistic-lock `version` is not replayed: it moves
//! on claims and edits that record no state of their own.

use std::collections::HashMap;

use diesel::prelude::*;

use super::audit::StoredEvent;
use super::schema::{audit_events, decisions, use_cases};
use super::users::sha256_hex as digest;
use super::DbConnection;
use crate::error::AppResult;
use crate::vocab::{CaseId, UserId};

/// The stored state of a case that its trail vouches for.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = use_cases)]
pub struct CaseState {
    pub id: CaseId,
    pub status: String,
    pub tier: Option<String>,
    pub route: Option<String>,
    pub triage: Option<String>,
}

impl CaseState {
    pub fn of(row: &super::cases::CaseRow) -> CaseState {
        CaseState {
            id: row.id.clone(),
            status: row.status.clone(),
            tier: row.tier.clone(),
            route: row.route.clone(),
            triage: row.triage.clone(),
        }
    }
}

/// A stored decision, as its trail records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Queryable, Selectable)]
#[diesel(table_name = decisions)]
pub struct DecisionFacts {
    pub actor_id: UserId,
    pub action: String,
    pub revision: i32,
    pub rationale: String,
}

/// One way a stored case disagrees with its trail. `Display` says it in English (the command
/// line); pages say it in their language from its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disagreement {
    /// `field` is `status`, `tier` or `route`: stored as one value, the trail says another.
    Value {
        field: &'static str,
        stored: String,
        trail: String,
    },
    /// The stored triage is not the one the trail's digest names.
    Triage,
    /// Decision rows the trail does not record.
    Unrecorded(i64),
    /// Decisions the trail records that have no row.
    Missing(i64),
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disagreement::Value {
                field: "status",
                stored,
                trail,
            } => write!(
                f,
                "status is {stored} but its trail last moved it to {trail}"
            ),
            Disagreement::Value {
                field,
                stored,
                trail,
            } => write!(f, "{field} is {stored} but its trail says {trail}"),
            Disagreement::Triage => {
                f.write_str("its stored triage is not the one its trail records")
            }
            Disagreement::Unrecorded(n) => {
                write!(
                    f,
                    "{n} decision(s) are stored that its trail does not record"
                )
            }
            Disagreement::Missing(n) => write!(f, "{n} decision(s) its trail records are missing"),
        }
    }
}

/// Where a case and its trail disagree; empty when they agree.
pub fn disagreements(
    case: &CaseState,
    events: &[StoredEvent],
    decisions: &[DecisionFacts],
) -> Vec<Disagreement> {
    let mut out = Vec::new();
    let details = |e: &StoredEvent| -> serde_json::Value {
        serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::Null)
    };
    if let Some(to) = events.iter().rev().find_map(|e| e.to_status.as_deref()) {
        if to != case.status {
            out.push(Disagreement::Value {
                field: "status",
                stored: case.status.clone(),
                trail: to.to_string(),
            });
        }
    }
    let triaged = events
        .iter()
        .rev()
        .find(|e| e.action == "triaged" || e.action == "imported")
        .map(details);
    if let Some(d) = triaged {
        for (field, stored) in [("tier", &case.tier), ("route", &case.route)] {
            if let Some(expected) = d[field].as_str() {
                if stored.as_deref() != Some(expected) {
                    out.push(Disagreement::Value {
                        field,
                        stored: stored.clone().unwrap_or_else(|| "none".into()),
                        trail: expected.to_string(),
                    });
                }
            }
        }
        if let Some(expected) = d["triage_sha256"].as_str() {
            if case.triage.as_deref().map(digest).as_deref() != Some(expected) {
                out.push(Disagreement::Triage);
            }
        }
    }
    let mut expected: HashMap<DecisionFacts, i64> = HashMap::new();
    let mut restored = 0i64;
    for e in events {
        let d = details(e);
        match e.action.as_str() {
            "decided" | "commented" => {
                let facts = DecisionFacts {
                    actor_id: e.actor_id.clone().unwrap_or_default(),
                    action: d["action"].as_str().unwrap_or_default().to_string(),
                    revision: d["revision"].as_i64().unwrap_or(-1) as i32,
                    rationale: d["rationale"].as_str().unwrap_or_default().to_string(),
                };
                *expected.entry(facts).or_default() += 1;
            }
            "imported" => restored += d["decisions"].as_i64().unwrap_or(0),
            _ => {}
        }
    }
    let mut unrecorded = 0i64;
    for row in decisions {
        match expected.get_mut(row) {
            Some(n) if *n > 0 => *n -= 1,
            _ => unrecorded += 1,
        }
    }
    if unrecorded > restored {
        out.push(Disagreement::Unrecorded(unrecorded - restored));
    }
    let missing: i64 = expected.values().sum();
    if missing > 0 {
        out.push(Disagreement::Missing(missing));
    }
    out
}

/// A case's stored decisions, as facts to compare with its trail.
pub fn decision_facts(conn: &mut DbConnection, id: &CaseId) -> AppResult<Vec<DecisionFacts>> {
    Ok(decisions::table
        .filter(decisions::use_case_id.eq(id))
        .select(DecisionFacts::as_select())
        .load(conn)?)
}

/// A case's state as stored, to compare with its trail.
pub fn case_state(conn: &mut DbConnection, id: &CaseId) -> AppResult<Option<CaseState>> {
    Ok(use_cases::table
        .filter(use_cases::id.eq(id))
        .select(CaseState::as_select())
        .get_result(conn)
        .optional()?)
}

/// Every case whose stored state disagrees with its trail, with how, in batches of `batch`
/// cases (run it inside `audit::snapshot` on a live database).
pub fn check_all(
    conn: &mut DbConnection,
    batch: i64,
) -> AppResult<Vec<(CaseId, Vec<Disagreement>)>> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let cases: Vec<CaseState> = use_cases::table
            .filter(use_cases::id.gt(&after))
            .order(use_cases::id.asc())
            .limit(batch)
            .select(CaseState::as_select())
            .load(conn)?;
        let Some(last) = cases.last() else {
            return Ok(out);
        };
        after = last.id.to_string();
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let mut events: HashMap<CaseId, Vec<StoredEvent>> = HashMap::new();
        for e in audit_events::table
            .filter(audit_events::use_case_id.eq_any(&ids))
            .order(audit_events::seq.asc())
            .load::<StoredEvent>(conn)?
        {
            events
                .entry(e.use_case_id.clone().unwrap_or_default())
                .or_default()
                .push(e);
        }
        for list in events.values_mut() {
            super::audit::in_chain_order(list);
        }
        let mut stored: HashMap<CaseId, Vec<DecisionFacts>> = HashMap::new();
        for (case_id, facts) in decisions::table
            .filter(decisions::use_case_id.eq_any(&ids))
            .select((decisions::use_case_id, DecisionFacts::as_select()))
            .load::<(CaseId, DecisionFacts)>(conn)?
        {
            stored.entry(case_id).or_default().push(facts);
        }
        for c in &cases {
            let found = disagreements(
                c,
                events.get(&c.id).map(Vec::as_slice).unwrap_or_default(),
                stored.get(&c.id).map(Vec::as_slice).unwrap_or_default(),
            );
            if !found.is_empty() {
                out.push((c.id.clone(), found));
            }
        }
    }
}

/// An auto-cleared case and one of its triage events, if any: sequence number, whether the
/// event records the route auto_clear, whether it records a route at all.
type TriageRow = (String, Option<i64>, Option<bool>, Option<bool>);

/// Cases in `scope` stored as cleared automatically whose trail does not say so: their last
/// triage (or import) event records another route. Cheap enough for the portfolio: one
/// query over the auto-cleared cases' triage events, comparing text, not replaying. Events
/// from before routes were recorded in import events vouch for nothing either way.
pub fn unvouched_auto_clear(
    conn: &mut DbConnection,
    scope: &crate::domain::access::Scope,
) -> AppResult<Vec<String>> {
    use crate::domain::access::Scope;
    let mut q = use_cases::table
        .left_join(
            audit_events::table.on(audit_events::use_case_id
                .eq(use_cases::id.nullable())
                .and(audit_events::action.eq_any(["triaged", "imported"]))),
        )
        .filter(use_cases::route.eq("auto_clear"))
        .select((
            use_cases::id,
            audit_events::seq.nullable(),
            audit_events::details
                .nullable()
                .like("%\"route\":\"auto_clear\"%"),
            audit_events::details.nullable().like("%\"route\":%"),
        ))
        .into_boxed();
    if let Scope::Agencies(ids) = scope {
        q = q.filter(use_cases::agency_id.eq_any(ids.clone()));
    }
    Ok(unvouched(q.load(conn)?))
}

/// The cases whose last triage event, in chain order (queued events count as newest), does
/// not vouch for their clearing; a case with none at all was never triaged, so nothing
/// vouches for its route.
fn unvouched(rows: Vec<TriageRow>) -> Vec<String> {
    let mut last: HashMap<String, (Option<(bool, i64)>, bool)> = HashMap::new();
    for (id, seq, says_clear, says_route) in rows {
        let vouched = match (says_clear, says_route) {
            (Some(clear), Some(route)) => clear || !route,
            _ => false,
        };
        // No event at all (`None`) comes before any.
        let order = seq.map(super::audit::chain_position);
        if last.get(&id).is_none_or(|(o, _)| order > *o) {
            last.insert(id, (order, vouched));
        }
    }
    let mut out: Vec<String> = last
        .into_iter()
        .filter(|(_, (_, vouched))| !vouched)
        .map(|(id, _)| id)
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(case: &str, seq: i64, route: Option<&str>) -> TriageRow {
        (
            case.into(),
            Some(seq),
            Some(route == Some("auto_clear")),
            Some(route.is_some()),
        )
    }

    #[test]
    fn the_last_triage_in_chain_order_vouches_for_a_clearing_queued_ones_newest() {
        let rows = vec![
            // Chained: the later event says auto_clear.
            row("chained", 4, Some("human_approval")),
            row("chained", 9, Some("auto_clear")),
            // Chained, then queued: the queued one is newer and says otherwise.
            row("requeued", 12, Some("auto_clear")),
            row("requeued", -3, Some("human_approval")),
            // Two queued: queued later means further below zero, so -8 is the newer.
            row("queued_twice", -7, Some("auto_clear")),
            row("queued_twice", -8, Some("blocked")),
            row("queued_back", -7, Some("blocked")),
            row("queued_back", -8, Some("auto_clear")),
            // Recorded before routes were: vouches for nothing either way.
            row("no_route", 5, None),
            ("never".into(), None, None, None),
        ];
        assert_eq!(unvouched(rows), ["never", "queued_twice", "requeued"]);
    }
}
