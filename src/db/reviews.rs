//! The review workflow in storage: decisions, claims, and the queue. The rules of who may do
//! what live in `domain::workflow`; this module loads what they need and writes the result in
//! one transaction with its audit event.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, Event};
use super::cases::{self, check_version, Case};
use super::schema::{audit_events, decisions, use_cases};
use super::{new_id, now, DbConnection};
use crate::domain::access::{split_list, Principal, Role, Scope};
use crate::domain::case::{Route, Status, Tier};
use crate::domain::triage::Triage;
use crate::domain::workflow::{self, Action, Actor, Approval, CaseState, Refusal};
use crate::error::{AppError, AppResult};

/// Actions in the audit trail that make a user an author of a case.
const AUTHORING: [&str; 3] = ["created", "edited", "submitted"];

fn triage_of(case: &Case) -> AppResult<Option<Triage>> {
    Ok(case
        .row
        .triage
        .as_deref()
        .map(serde_json::from_str)
        .transpose()?)
}

fn state<'a>(case: &Case, t: &'a Triage) -> AppResult<CaseState<'a>> {
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
fn approvals_for(
    conn: &mut DbConnection,
    cases: &[&Case],
) -> AppResult<HashMap<String, Vec<Approval>>> {
    let ids: Vec<&str> = cases.iter().map(|c| c.row.id.as_str()).collect();
    let revision: HashMap<&str, i32> = cases
        .iter()
        .map(|c| (c.row.id.as_str(), c.row.revision))
        .collect();
    let rows: Vec<(String, i32, String, bool, String)> = decisions::table
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
    let mut out: HashMap<String, Vec<Approval>> = HashMap::new();
    for (case_id, rev, actor_id, senior, groups) in rows {
        if revision.get(case_id.as_str()) == Some(&rev) {
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
fn authored_by(conn: &mut DbConnection, ids: &[&str], user_id: &str) -> AppResult<HashSet<String>> {
    let rows: Vec<Option<String>> = audit_events::table
        .filter(audit_events::use_case_id.eq_any(ids))
        .filter(audit_events::actor_id.eq(user_id))
        .filter(audit_events::action.eq_any(AUTHORING))
        .select(audit_events::use_case_id)
        .distinct()
        .load(conn)?;
    Ok(rows.into_iter().flatten().collect())
}

fn actor<'a>(who: &'a Principal, case: &Case, authored: bool) -> Actor<'a> {
    Actor {
        user_id: &who.user_id,
        reviewer: who.is_reviewer(),
        senior: who.has(Role::SeniorReviewer),
        groups: &who.review_groups,
        in_review_scope: who.is_reviewer() && who.read_scope().includes(&case.row.agency_id),
        authored,
        agency_submitter: who.may_author(&case.row.agency_id),
    }
}

fn refusal(r: Refusal, version: i32) -> AppError {
    match r {
        Refusal::Forbidden(m) => AppError::Forbidden(m),
        Refusal::Conflict(m) => AppError::conflict(m, Some(version)),
        Refusal::Invalid(m) => AppError::invalid("rationale", &m),
    }
}

/// Takes a decision on a case at the version the reviewer read.
pub fn decide(
    conn: &mut DbConnection,
    who: &Principal,
    id: &str,
    version: i32,
    action: Action,
    rationale: &str,
) -> AppResult<Case> {
    let case = cases::get(conn, &who.read_scope(), id)?.ok_or(AppError::NotFound)?;
    let triage = triage_of(&case)?;
    let empty = Triage {
        tier: Tier::Low,
        route: Route::AutoClear,
        required_approvals: 0,
        senior_required: false,
        review_groups: vec![],
        rules_version: String::new(),
        risk_score: 0,
        raised: false,
        fired: vec![],
        errors: vec![],
        hints: vec![],
    };
    let t = triage.as_ref().unwrap_or(&empty);
    let authored = !authored_by(conn, &[id], &who.user_id)?.is_empty();
    let approvals = approvals_for(conn, &[&case])?
        .remove(id)
        .unwrap_or_default();
    let outcome = workflow::decide(
        &state(&case, t)?,
        &approvals,
        &actor(who, &case, authored),
        action,
        rationale,
    )
    .map_err(|r| refusal(r, case.row.version))?;
    if action != Action::Comment {
        check_version(&case, Some(version))?;
    }
    let from = case.status()?;
    let closes = outcome.status != from
        && !matches!(outcome.status, Status::InReview | Status::AwaitingApproval);
    let v = case.row.version;
    let t_now = now();
    super::write(conn, |conn| {
        if action != Action::Comment {
            // A decision that ends the review also ends any claim on the case.
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
        }
        diesel::insert_into(decisions::table)
            .values((
                decisions::id.eq(new_id()),
                decisions::use_case_id.eq(id),
                decisions::revision.eq(case.row.revision),
                decisions::actor_id.eq(&who.user_id),
                decisions::action.eq(action.as_str()),
                decisions::rationale.eq(rationale.trim()),
                decisions::senior.eq(who.has(Role::SeniorReviewer)),
                decisions::review_groups.eq(outcome.signs_off.join(",")),
                decisions::created_at.eq(t_now),
            ))
            .execute(conn)?;
        super::outbox::enqueue(
            conn,
            if action == Action::Comment {
                "case.commented"
            } else {
                "case.decided"
            },
            Some(id),
            &json!({
                "agency": case.agency,
                "title": case.row.title,
                "action": action,
                "by": who.email,
                "from_status": from,
                "status": outcome.status,
                "tier": t.tier,
                "escalated": outcome.escalated,
            }),
        )?;
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(id),
                actor_id: Some(&who.user_id),
                action: if action == Action::Comment {
                    "commented"
                } else {
                    "decided"
                },
                from_status: Some(from),
                to_status: Some(outcome.status),
                details: json!({
                    "action": action,
                    "rationale": rationale.trim(),
                    "revision": case.row.revision,
                    "signs_off": outcome.signs_off,
                    "escalated": outcome.escalated,
                }),
            }],
        )
    })?;
    cases::get(conn, &Scope::All, id)?.ok_or(AppError::NotFound)
}

/// Claims a case for review (or releases the caller's claim). A claim says who is on it; it
/// does not stop others from deciding (the two-person rule needs two).
pub fn claim(conn: &mut DbConnection, who: &Principal, id: &str, take: bool) -> AppResult<Case> {
    let case = cases::get(conn, &who.read_scope(), id)?.ok_or(AppError::NotFound)?;
    let v = case.row.version;
    if take {
        let t = triage_of(&case)?
            .ok_or_else(|| AppError::conflict("the case has not been submitted", Some(v)))?;
        let authored = !authored_by(conn, &[id], &who.user_id)?.is_empty();
        let approvals = approvals_for(conn, &[&case])?
            .remove(id)
            .unwrap_or_default();
        // Whoever could approve it may claim it.
        workflow::decide(
            &state(&case, &t)?,
            &approvals,
            &actor(who, &case, authored),
            Action::Approve,
            "claim",
        )
        .map_err(|r| refusal(r, v))?;
        if let Some(other) = case.row.claimed_by.as_deref().filter(|c| *c != who.user_id) {
            return Err(AppError::conflict(
                format!("already claimed by user {other}"),
                Some(v),
            ));
        }
    } else if case.row.claimed_by.as_deref() != Some(who.user_id.as_str()) {
        return Err(AppError::conflict(
            "you do not hold a claim on this case",
            Some(v),
        ));
    }
    let status = case.status()?;
    super::write(conn, |conn| {
        update_at_version!(
            conn,
            id,
            v,
            (
                use_cases::claimed_by.eq(take.then_some(who.user_id.as_str())),
                use_cases::claimed_at.eq(take.then(now)),
            )
        );
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(id),
                actor_id: Some(&who.user_id),
                action: if take { "claimed" } else { "released" },
                from_status: Some(status),
                to_status: Some(status),
                details: json!({}),
            }],
        )
    })?;
    cases::get(conn, &Scope::All, id)?.ok_or(AppError::NotFound)
}

#[derive(Default)]
pub struct QueueFilter {
    pub tier: Option<Tier>,
    pub agency: Option<String>,
    pub group: Option<String>,
    pub older_than_hours: Option<i64>,
}

/// A case in the queue with what the reviewer needs to know about its review.
pub struct QueueEntry {
    pub case: Case,
    pub age_hours: i64,
    pub working_days: f64,
    pub sla_working_days: Option<u32>,
    pub overdue: bool,
    pub pending_groups: Vec<String>,
    pub approvals: Vec<String>,
}

/// The cases awaiting a decision that `who` may make: most severe tier first, then oldest.
pub fn queue(
    conn: &mut DbConnection,
    who: &Principal,
    f: &QueueFilter,
    rules: &crate::rules::RuleSet,
) -> AppResult<Vec<QueueEntry>> {
    if !who.is_reviewer() {
        return Ok(Vec::new());
    }
    let open = [Status::InReview.as_str(), Status::AwaitingApproval.as_str()];
    let (candidates, _) = cases::list(
        conn,
        &who.read_scope(),
        &cases::ListFilter {
            statuses: open.iter().map(|s| s.to_string()).collect(),
            tier: f.tier,
            agency: f.agency.clone(),
            limit: 10_000,
            ..Default::default()
        },
    )?;
    let refs: Vec<&Case> = candidates.iter().collect();
    let ids: Vec<&str> = refs.iter().map(|c| c.row.id.as_str()).collect();
    let mut approvals = approvals_for(conn, &refs)?;
    let authored = authored_by(conn, &ids, &who.user_id)?;
    let t_now = now();
    let mut out = Vec::new();
    for case in candidates {
        let Some(t) = triage_of(&case)? else { continue };
        let mine = approvals.remove(&case.row.id).unwrap_or_default();
        let st = state(&case, &t)?;
        let a = actor(who, &case, authored.contains(&case.row.id));
        if workflow::decide(&st, &mine, &a, Action::Approve, "queue").is_err() {
            continue;
        }
        let pending = if t.route == Route::FunctionalReview {
            workflow::pending_groups(&st, &mine)
        } else {
            vec![]
        };
        if let Some(g) = &f.group {
            if !pending.contains(g) {
                continue;
            }
        }
        let since = case.row.submitted_at.unwrap_or(case.row.created_at);
        let age_hours = (t_now - since).num_hours();
        if f.older_than_hours.is_some_and(|h| age_hours < h) {
            continue;
        }
        let working_days = workflow::working_days_between(since, t_now);
        let sla = rules.routing.route_for(t.tier).sla_working_days;
        out.push(QueueEntry {
            overdue: sla.is_some_and(|d| working_days > d as f64),
            sla_working_days: sla,
            age_hours,
            working_days,
            pending_groups: pending,
            approvals: mine.into_iter().map(|a| a.actor_id).collect(),
            case,
        });
    }
    out.sort_by(|a, b| {
        let tier = |e: &QueueEntry| e.case.row.tier.as_deref().and_then(Tier::parse);
        tier(b)
            .cmp(&tier(a))
            .then_with(|| b.case.row.escalated.cmp(&a.case.row.escalated))
            .then_with(|| a.case.row.submitted_at.cmp(&b.case.row.submitted_at))
    });
    Ok(out)
}

/// The decision actions `who` may take on `case` now (what the case page offers).
pub fn allowed_actions(
    conn: &mut DbConnection,
    who: &Principal,
    case: &Case,
) -> AppResult<Vec<Action>> {
    let Some(t) = triage_of(case)? else {
        return Ok(Vec::new());
    };
    let authored = !authored_by(conn, &[case.row.id.as_str()], &who.user_id)?.is_empty();
    let approvals = approvals_for(conn, &[case])?
        .remove(&case.row.id)
        .unwrap_or_default();
    let st = state(case, &t)?;
    let a = actor(who, case, authored);
    Ok(Action::ALL
        .iter()
        .copied()
        .filter(|act| workflow::decide(&st, &approvals, &a, *act, "check").is_ok())
        .collect())
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
pub fn decisions_for(conn: &mut DbConnection, id: &str) -> AppResult<Vec<DecisionRecord>> {
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
