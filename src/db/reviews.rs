//! The review workflow in storage: what decisions need loaded (triage, approvals, authorship),
//! decisions and claims stored with their audit events, and the queue. Who may do what lives
//! in `domain::workflow`, and `app::reviews` applies it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, Event};
use super::cases::{self, Case};
use super::schema::{assessments, audit_events, decisions, use_cases};
use super::{new_id, now, DbConnection};
use crate::domain::access::{split_list, Scope};
use crate::domain::case::{Status, Tier};
use crate::domain::triage::Triage;
use crate::domain::workflow::{Action, Approval, CaseState, Outcome};
use crate::error::{AppError, AppResult};
use crate::vocab::{AgencyCode, CaseId, UserId};

/// Actions in the audit trail that make a user an author of a case.
const AUTHORING: [&str; 3] = ["created", "edited", "submitted"];

pub fn triage_of(case: &Case) -> AppResult<Option<Triage>> {
    Ok(case
        .row
        .triage
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?)
}

pub fn state<'a>(case: &Case, t: &'a Triage) -> AppResult<CaseState<'a>> {
    Ok(CaseState {
        status: case.status()?,
        route: t.route,
        required_approvals: t.required_approvals,
        senior_required: t.senior_required,
        review_groups: &t.review_groups,
        escalated: case.row.escalated,
    })
}

/// Approvals on each case's current revision.
pub fn approvals_for(
    conn: &mut DbConnection,
    cases: &[&Case],
) -> AppResult<HashMap<CaseId, Vec<Approval>>> {
    let ids: Vec<&CaseId> = cases.iter().map(|c| &c.row.id).collect();
    let revision: HashMap<&CaseId, i32> =
        cases.iter().map(|c| (&c.row.id, c.row.revision)).collect();
    let rows: Vec<(CaseId, i32, UserId, bool, String)> = decisions::table
        .filter(decisions::use_case_id.eq_any(&ids))
        .filter(decisions::action.eq(Action::Approve.as_str()))
        .order(decisions::created_at.asc())
        .select((
            decisions::use_case_id,
            decisions::revision,
            decisions::actor_id,
            decisions::senior,
            decisions::review_groups,
        ))
        .load(conn)?;
    let mut out: HashMap<CaseId, Vec<Approval>> = HashMap::new();
    for (case_id, rev, actor_id, senior, groups) in rows {
        if revision.get(&case_id) == Some(&rev) {
            out.entry(case_id).or_default().push(Approval {
                actor_id,
                senior,
                groups: split_list(&groups),
            });
        }
    }
    Ok(out)
}

/// The cases among `ids` that `user_id` created, edited or submitted.
pub fn authored_by(
    conn: &mut DbConnection,
    ids: &[&CaseId],
    user_id: &UserId,
) -> AppResult<HashSet<CaseId>> {
    let rows: Vec<Option<CaseId>> = audit_events::table
        .filter(audit_events::use_case_id.eq_any(ids))
        .filter(audit_events::actor_id.eq(user_id))
        .filter(audit_events::action.eq_any(AUTHORING))
        .select(audit_events::use_case_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

/// A decision or comment to store, as the workflow decided it.
pub struct NewDecision<'a> {
    pub user_id: &'a UserId,
    pub email: &'a str,
    pub senior: bool,
    pub action: Action,
    pub rationale: &'a str,
    pub outcome: &'a Outcome,
    /// The tier of the case's triage (for the webhook).
    pub tier: Tier,
}

/// The webhook payload announcing a decision or comment.
fn decided_event(case: &Case, d: &NewDecision, from: Status) -> serde_json::Value {
    json!({
        "agency": case.agency,
        "title": case.row.title,
        "action": d.action,
        "by": d.email,
        "from_status": from,
        "status": d.outcome.status,
        "tier": d.tier,
        "escalated": d.outcome.escalated,
    })
}

/// Stores a decision (or comment) on a case read at `case.row.version`: the case's new status
/// (not for a comment), the decision row, the webhook event and the audit event, in one
/// transaction. A decision that ends the review also ends any claim on the case.
pub fn store_decision(conn: &mut DbConnection, case: &Case, d: &NewDecision) -> AppResult<Case> {
    let from = case.status()?;
    let t_now = now();
    super::write(conn, |conn| {
        if d.action == Action::Comment {
            touch_at_version(conn, case, t_now)?;
        } else {
            store_outcome(conn, case, d.outcome, from, t_now)?;
        }
        insert_decision(conn, case, d, t_now)?;
        record_decision(conn, case, d, from)
    })?;
    cases::get(conn, &Scope::All, &case.row.id)?.ok_or(AppError::NotFound)
}

/// A decision's change to the case: its status, escalation and claim (a decision that ends
/// the review ends the claim), and the revision's approval time when it is approved.
fn store_outcome(
    conn: &mut DbConnection,
    case: &Case,
    outcome: &Outcome,
    from: Status,
    t_now: NaiveDateTime,
) -> AppResult<()> {
    let (id, v) = (case.row.id.as_str(), case.row.version);
    let closes = outcome.status != from
        && !matches!(outcome.status, Status::InReview | Status::AwaitingApproval);
    let (claimed_by, claimed_at) = if closes {
        (None, None)
    } else {
        (case.row.claimed_by.clone(), case.row.claimed_at)
    };
    update_at_version!(
        conn,
        id,
        v,
        (
            use_cases::status.eq(outcome.status.as_str()),
            use_cases::escalated.eq(outcome.escalated),
            use_cases::claimed_by.eq(claimed_by),
            use_cases::claimed_at.eq(claimed_at),
            use_cases::updated_at.eq(t_now),
        )
    );
    if outcome.status == Status::Approved && from != Status::Approved {
        diesel::update(
            assessments::table
                .filter(assessments::use_case_id.eq(id))
                .filter(assessments::revision.eq(case.row.revision)),
        )
        .set(assessments::approved_at.eq(t_now))
        .execute(conn)?;
    }
    Ok(())
}

/// A comment changes nothing of the case, but it records the case's status and revision:
/// they must still be the ones it was read with, or a decision raced it (a conflict; the
/// service layer reads the case again and retries).
fn touch_at_version(conn: &mut DbConnection, case: &Case, t_now: NaiveDateTime) -> AppResult<()> {
    let id = case.row.id.as_str();
    let n = diesel::update(
        use_cases::table
            .filter(use_cases::id.eq(id))
            .filter(use_cases::version.eq(case.row.version)),
    )
    .set(use_cases::updated_at.eq(t_now))
    .execute(conn)?;
    if n == 0 {
        return Err(super::cases::conflict_after_race(conn, id));
    }
    Ok(())
}

/// The decision row, on the case's current revision.
fn insert_decision(
    conn: &mut DbConnection,
    case: &Case,
    d: &NewDecision,
    t_now: NaiveDateTime,
) -> AppResult<()> {
    diesel::insert_into(decisions::table)
        .values((
            decisions::id.eq(new_id()),
            decisions::use_case_id.eq(case.row.id.as_str()),
            decisions::revision.eq(case.row.revision),
            decisions::actor_id.eq(d.user_id),
            decisions::action.eq(d.action.as_str()),
            decisions::rationale.eq(d.rationale.trim()),
            decisions::senior.eq(d.senior),
            decisions::review_groups.eq(d.outcome.signs_off.join(",")),
            decisions::created_at.eq(t_now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The decision's webhook event and audit event.
fn record_decision(
    conn: &mut DbConnection,
    case: &Case,
    d: &NewDecision,
    from: Status,
) -> AppResult<()> {
    let comment = d.action == Action::Comment;
    let event = if comment {
        "case.commented"
    } else {
        "case.decided"
    };
    super::outbox::enqueue(
        conn,
        event,
        Some(&case.row.id),
        &decided_event(case, d, from),
    )?;
    audit::append(
        conn,
        &[Event {
            use_case_id: Some(&case.row.id),
            actor_id: Some(d.user_id),
            action: if comment { "commented" } else { "decided" },
            from_status: Some(from),
            to_status: Some(d.outcome.status),
            details: json!({
                "action": d.action,
                "rationale": d.rationale.trim(),
                "revision": case.row.revision,
                "signs_off": d.outcome.signs_off,
                "escalated": d.outcome.escalated,
            }),
        }],
    )
}

/// Stores a claim on a case read at `case.row.version` (or, with `take` false, its release),
/// with its audit event.
pub fn store_claim(
    conn: &mut DbConnection,
    case: &Case,
    user_id: &UserId,
    take: bool,
) -> AppResult<Case> {
    let id = case.row.id.as_str();
    let status = case.status()?;
    let v = case.row.version;
    super::write(conn, |conn| {
        update_at_version!(
            conn,
            id,
            v,
            (
                use_cases::claimed_by.eq(take.then_some(user_id)),
                use_cases::claimed_at.eq(take.then(now)),
            )
        );
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(&case.row.id),
                actor_id: Some(user_id),
                action: if take { "claimed" } else { "released" },
                from_status: Some(status),
                to_status: Some(status),
                details: json!({}),
            }],
        )
    })?;
    cases::get(conn, &Scope::All, &case.row.id)?.ok_or(AppError::NotFound)
}

/// Cases open for review (in review or awaiting approval) in `scope`, with the given tier and
/// agency, newest first: the candidates of a reviewer's queue.
pub fn open_for_review(
    conn: &mut DbConnection,
    scope: &Scope,
    tier: Option<Tier>,
    agency: Option<AgencyCode>,
) -> AppResult<Vec<Case>> {
    let open = [Status::InReview.as_str(), Status::AwaitingApproval.as_str()];
    let (candidates, _) = cases::list(
        conn,
        scope,
        &cases::ListFilter {
            statuses: open.iter().map(|s| s.to_string()).collect(),
            tier,
            agency,
            limit: 10_000,
            ..Default::default()
        },
    )?;
    Ok(candidates)
}

/// A decision as the case page shows it.
pub struct DecisionRecord {
    pub by: String,
    pub action: String,
    pub rationale: String,
    pub revision: i32,
    pub review_groups: String,
    pub at: NaiveDateTime,
}

/// Every decision and comment on a case, oldest first.
pub fn decisions_for(conn: &mut DbConnection, id: &CaseId) -> AppResult<Vec<DecisionRecord>> {
    use super::schema::users;
    let rows: Vec<(String, String, String, i32, String, NaiveDateTime)> = decisions::table
        .inner_join(users::table.on(users::id.eq(decisions::actor_id)))
        .filter(decisions::use_case_id.eq(id))
        .order(decisions::created_at.asc())
        .select((
            users::email,
            decisions::action,
            decisions::rationale,
            decisions::revision,
            decisions::review_groups,
            decisions::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(by, action, rationale, revision, review_groups, at)| DecisionRecord {
                by,
                action,
                rationale,
                revision,
                review_groups,
                at,
            },
        )
        .collect())
}
