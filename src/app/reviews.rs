//! Reviews as a reviewer sees them: the queue of cases they may decide, decisions (approve,
//! reject, request changes, escalate, comment), claims, and which actions a case page offers.

use crate::app::cases::check_version;
use crate::db::cases::{self as store, Case};
use crate::db::reviews::{
    approvals_for, authored_by, open_for_review, state, store_claim, store_decision, triage_of,
    NewDecision,
};
use crate::db::{now, DbConnection};
use crate::domain::access::{Principal, Role};
use crate::domain::case::{Route, Tier};
use crate::domain::message::Says;
use crate::domain::triage::Triage;
use crate::domain::workflow::{self, Action, Actor, Approval, Outcome, Refusal};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::vocab::{AgencyCode, CaseId, UserId};

fn refusal(r: Refusal, version: i32) -> AppError {
    match r {
        Refusal::Forbidden(m) => AppError::Forbidden(m),
        Refusal::Conflict(m) => AppError::conflict(m, Some(version)),
        Refusal::Invalid(m) => AppError::Validation(vec![FieldError::says("rationale", m)]),
    }
}

/// What the workflow needs to know about `who` and `case`: the case's triage (none before
/// submission), whether `who` authored it, and the approvals of its current revision.
fn context(
    conn: &mut DbConnection,
    who: &Principal,
    case: &Case,
) -> AppResult<(Option<Triage>, bool, Vec<Approval>)> {
    let triage = triage_of(case)?;
    let authored = !authored_by(conn, &[&case.row.id], &who.user_id)?.is_empty();
    let approvals = approvals_for(conn, &[case])?
        .remove(&case.row.id)
        .unwrap_or_default();
    Ok((triage, authored, approvals))
}

/// Before submission a case has no triage; the workflow refuses decisions on it by its status.
fn untriaged() -> Triage {
    Triage {
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
    }
}

/// The longest decision rationale kept, in characters (the API and the forms alike).
pub const MAX_RATIONALE: usize = 5000;

/// Refuses `text` longer than `max` characters, naming `field`, whichever door it came in by.
pub(crate) fn check_length(field: &str, text: &str, max: usize) -> AppResult<()> {
    if text.chars().count() > max {
        return Err(AppError::Validation(vec![FieldError::says(
            field,
            Says::LongerThan { max },
        )]));
    }
    Ok(())
}

/// Takes a decision on a case at the version the reviewer read (a comment needs no version).
pub fn decide(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    version: i32,
    action: Action,
    rationale: &str,
) -> AppResult<Case> {
    check_length("rationale", rationale, MAX_RATIONALE)?;
    // A comment needs no version from the caller: when a decision races it, it is simply
    // made again on the case as it now is.
    let attempts = if action == Action::Comment { 3 } else { 1 };
    let mut tried = 0;
    loop {
        tried += 1;
        let case = store::get(conn, &who.read_scope(), id)?.ok_or(AppError::NotFound)?;
        let (triage, authored, approvals) = context(conn, who, &case)?;
        let t = triage.unwrap_or_else(untriaged);
        let outcome: Outcome = workflow::decide(
            &state(&case, &t)?,
            &approvals,
            &Actor::of(who, &case.row.agency_id, authored),
            action,
            rationale,
        )
        .map_err(|r| refusal(r, case.row.version))?;
        if action != Action::Comment {
            check_version(&case, Some(version))?;
        }
        let decision = NewDecision {
            user_id: &who.user_id,
            email: &who.email,
            senior: who.has(Role::SeniorReviewer),
            action,
            rationale,
            outcome: &outcome,
            tier: t.tier,
        };
        match store_decision(conn, &case, &decision) {
            Err(AppError::Conflict { .. }) if tried < attempts => continue,
            stored => return stored,
        }
    }
}

/// Claims a case for review (or releases the caller's claim). A claim says who is on it; it
/// does not stop others from deciding (the two-person rule needs two). Whoever could approve
/// the case may claim it.
pub fn claim(conn: &mut DbConnection, who: &Principal, id: &CaseId, take: bool) -> AppResult<Case> {
    let case = store::get(conn, &who.read_scope(), id)?.ok_or(AppError::NotFound)?;
    let v = case.row.version;
    if take {
        let (triage, authored, approvals) = context(conn, who, &case)?;
        let t =
            triage.ok_or_else(|| AppError::conflict("the case has not been submitted", Some(v)))?;
        workflow::decide(
            &state(&case, &t)?,
            &approvals,
            &Actor::of(who, &case.row.agency_id, authored),
            Action::Approve,
            "claim",
        )
        .map_err(|r| refusal(r, v))?;
        if let Some(other) = case.row.claimed_by.as_ref().filter(|c| **c != who.user_id) {
            return Err(AppError::conflict(
                format!("already claimed by user {other}"),
                Some(v),
            ));
        }
    } else if case.row.claimed_by.as_ref() != Some(&who.user_id) {
        return Err(AppError::conflict(
            "you do not hold a claim on this case",
            Some(v),
        ));
    }
    store_claim(conn, &case, &who.user_id, take)
}

/// The decision actions `who` may take on `case` now (what the case page offers).
pub fn allowed_actions(
    conn: &mut DbConnection,
    who: &Principal,
    case: &Case,
) -> AppResult<Vec<Action>> {
    let (triage, authored, approvals) = context(conn, who, case)?;
    let Some(t) = triage else {
        return Ok(Vec::new());
    };
    let st = state(case, &t)?;
    let a = Actor::of(who, &case.row.agency_id, authored);
    Ok(Action::ALL
        .iter()
        .copied()
        .filter(|act| workflow::decide(&st, &approvals, &a, *act, "check").is_ok())
        .collect())
}

#[derive(Default)]
pub struct QueueFilter {
    pub tier: Option<Tier>,
    pub agency: Option<AgencyCode>,
    pub group: Option<String>,
    pub older_than_hours: Option<i64>,
    /// Only the cases the reviewer has claimed.
    pub claimed_by_me: bool,
}

/// A case in the queue with what the reviewer needs to know about its review.
pub struct QueueEntry {
    pub case: Case,
    pub age_hours: i64,
    pub working_days: f64,
    pub sla_working_days: Option<u32>,
    pub overdue: bool,
    pub pending_groups: Vec<String>,
    pub approvals: Vec<UserId>,
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
    let candidates = open_for_review(conn, &who.decide_scope(), f.tier, f.agency.clone())?;
    let refs: Vec<&Case> = candidates.iter().collect();
    let ids: Vec<&CaseId> = refs.iter().map(|c| &c.row.id).collect();
    let mut approvals = approvals_for(conn, &refs)?;
    let authored = authored_by(conn, &ids, &who.user_id)?;
    let t_now = now();
    let mut out = Vec::new();
    for case in candidates {
        if f.claimed_by_me && case.row.claimed_by.as_ref() != Some(&who.user_id) {
            continue;
        }
        let Some(t) = triage_of(&case)? else { continue };
        let mine = approvals.remove(&case.row.id).unwrap_or_default();
        let st = state(&case, &t)?;
        let a = Actor::of(who, &case.row.agency_id, authored.contains(&case.row.id));
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
    let mut keyed = out
        .into_iter()
        .map(|e| Ok((e.case.tier()?, e)))
        .collect::<AppResult<Vec<_>>>()?;
    keyed.sort_by(|(ta, a), (tb, b)| {
        tb.cmp(ta)
            .then_with(|| b.case.row.escalated.cmp(&a.case.row.escalated))
            .then_with(|| a.case.row.submitted_at.cmp(&b.case.row.submitted_at))
    });
    Ok(keyed.into_iter().map(|(_, e)| e).collect())
}

/// One page of a queue: the entries after the case `cursor` (from the start without one), at
/// most `limit`, and the cursor of the next page when there is more. A cursor whose case has
/// left the queue (decided meanwhile) is refused, so no entry is skipped silently.
pub fn page(
    entries: Vec<QueueEntry>,
    cursor: Option<&str>,
    limit: usize,
) -> AppResult<(Vec<QueueEntry>, Option<String>)> {
    let start = match cursor {
        None => 0,
        Some(c) => {
            entries
                .iter()
                .position(|e| e.case.row.id == c)
                .ok_or_else(|| {
                    AppError::invalid("cursor", "that case has left the queue; start again")
                })?
                + 1
        }
    };
    let mut items: Vec<QueueEntry> = entries.into_iter().skip(start).collect();
    let next = (items.len() > limit).then(|| items[limit - 1].case.row.id.to_string());
    items.truncate(limit);
    Ok((items, next))
}
