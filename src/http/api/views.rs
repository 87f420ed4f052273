//! JSON views of stored rows: what clients see, kept apart from the table layout.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::db::audit::StoredEvent;
use crate::db::cases::Case;
use crate::domain::agents::DERIVED;
use crate::domain::hints::{CaseText, Hint};
use crate::domain::hints_of;
use crate::error::AppResult;
use crate::rules::RuleSet;
use crate::vocab::agents::{Agent, Declarations, Delegation};
use crate::vocab::{CaseId, UserId};

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn raw(s: &str) -> AppResult<Box<RawValue>> {
    Ok(RawValue::from_string(s.to_string())?)
}

/// A use case as the API returns it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CaseView {
    #[schema(value_type = String)]
    pub id: crate::vocab::CaseId,
    #[schema(value_type = String)]
    pub agency: crate::vocab::AgencyCode,
    pub title: String,
    pub summary: String,
    pub business_function: String,
    pub status: String,
    pub version: i32,
    pub revision: i32,
    /// Answers keyed by question id.
    #[schema(value_type = Object)]
    pub answers: Box<RawValue>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// `{business_value, feasibility, readiness, priority, quadrant, quadrant_label, breakdown}`
    /// once submitted.
    #[schema(value_type = Option<Object>)]
    pub scores: Option<Box<RawValue>>,
    /// `{tier, route, required_approvals, senior_required, review_groups, rules_version,
    /// risk_score, raised, fired}` once submitted.
    #[schema(value_type = Option<Object>)]
    pub triage: Option<Box<RawValue>>,
    /// Once triaged: whether the rules in force now are the ones it was triaged under
    /// (`false` after a reload changed them; the stored triage keeps its own version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub triaged_under_current_rules: Option<bool>,
    /// Escalated to senior reviewers.
    pub escalated: bool,
    /// The reviewer who has claimed the case, if any.
    pub claimed_by: Option<String>,
    /// What the case's text suggests under the rules in force (`triage.hints` keeps what the
    /// triage itself read).
    pub hints: Vec<Hint>,
    /// The agents of an agentic system, with the tools each may call.
    pub agents: Vec<Agent>,
    /// Agents handing work to other agents.
    pub delegations: Vec<Delegation>,
    /// The answers the declarations decide (set from them; empty when none are declared).
    pub derived_answers: Vec<&'static str>,
}

impl CaseView {
    pub fn of(c: Case, rules: &RuleSet) -> AppResult<CaseView> {
        let answers = c.answers()?;
        let Declarations {
            agents,
            delegations,
        } = c.declarations()?;
        let derived_answers = if agents.is_empty() {
            Vec::new()
        } else {
            DERIVED
                .into_iter()
                .filter(|id| answers.contains_key(*id))
                .collect()
        };
        let r = c.row;
        let hints = hints_of(
            rules,
            &answers,
            CaseText {
                title: &r.title,
                summary: &r.summary,
            },
        );
        Ok(CaseView {
            hints,
            agents,
            delegations,
            derived_answers,
            triaged_under_current_rules: r.rules_version.as_deref().map(|v| v == rules.version),
            answers: raw(&r.answers)?,
            scores: r.scores.as_deref().map(raw).transpose()?,
            triage: r.triage.as_deref().map(raw).transpose()?,
            id: r.id,
            agency: c.agency,
            title: r.title,
            summary: r.summary,
            business_function: r.business_function,
            status: r.status,
            version: r.version,
            revision: r.revision,
            created_by: r.created_by.into_string(),
            created_at: utc(r.created_at),
            updated_at: utc(r.updated_at),
            submitted_at: r.submitted_at.map(utc),
            escalated: r.escalated,
            claimed_by: r.claimed_by.map(UserId::into_string),
        })
    }
}

#[derive(Serialize)]
pub struct EventView {
    pub seq: i64,
    pub id: String,
    pub use_case_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub details: Box<RawValue>,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl EventView {
    pub fn of(e: StoredEvent) -> AppResult<EventView> {
        Ok(EventView {
            details: raw(&e.details_json)?,
            seq: e.seq,
            id: e.id,
            use_case_id: e.use_case_id.map(CaseId::into_string),
            actor_id: e.actor_id.map(UserId::into_string),
            action: e.action,
            from_status: e.from_status,
            to_status: e.to_status,
            created_at: utc(e.created_at),
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
    }
}
