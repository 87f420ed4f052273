//! The notification outbox in storage: a row is written in the same transaction as the change
//! it announces; `notify` drains it to the webhook through the functions here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::outbox;
use super::together::Writes;
use super::{new_id, now, DbConnection};
use crate::error::AppResult;
use crate::vocab::CaseId;

/// Queues a notification inside the caller's transaction.
pub fn enqueue(
    conn: &mut DbConnection,
    event: &str,
    use_case_id: Option<&CaseId>,
    payload: &serde_json::Value,
) -> AppResult<()> {
    enqueue_to(&mut Writes::Direct(conn, 0), event, use_case_id, payload)
}

/// As [`enqueue`], as part of a write whose statements are collected in `writes`.
pub fn enqueue_to(
    writes: &mut Writes<'_, '_>,
    event: &str,
    use_case_id: Option<&CaseId>,
    payload: &serde_json::Value,
) -> AppResult<()> {
    let t = now();
    let id = new_id();
    let body = serde_json::json!({ "id": id, "event": event, "use_case_id": use_case_id, "at": t.and_utc(), "data": payload });
    writes.push(diesel::insert_into(outbox::table).values((
        outbox::id.eq(id),
        outbox::event.eq(event.to_string()),
        outbox::use_case_id.eq(use_case_id.cloned()),
        outbox::payload.eq(body.to_string()),
        outbox::created_at.eq(t),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(t),
    )))
}

/// An undelivered notification: id, body, attempts so far, when the next attempt is due.
pub type Pending = (String, String, i32, NaiveDateTime);

/// Undelivered notifications in the order they were queued, due or not, up to `limit`.
pub fn pending(conn: &mut DbConnection, limit: i64) -> AppResult<Vec<Pending>> {
    Ok(outbox::table
        .filter(outbox::delivered_at.is_null())
        .order(outbox::created_at.asc())
        .limit(limit)
        .select((
            outbox::id,
            outbox::payload,
            outbox::attempts,
            outbox::next_attempt_at,
        ))
        .load(conn)?)
}

/// Leases a notification for sending by moving its next attempt to `until`, if nobody else
/// has since (its next attempt is still `next`). Whether this caller got it.
pub fn lease(
    conn: &mut DbConnection,
    id: &str,
    next: NaiveDateTime,
    until: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        outbox::table
            .filter(outbox::id.eq(id))
            .filter(outbox::next_attempt_at.eq(next)),
    )
    .set(outbox::next_attempt_at.eq(until))
    .execute(conn)?;
    Ok(n > 0)
}

/// Records a delivery.
pub fn delivered(conn: &mut DbConnection, id: &str, attempts: i32) -> AppResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq(id)))
        .set((
            outbox::delivered_at.eq(now()),
            outbox::attempts.eq(attempts),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again.
pub fn failed(
    conn: &mut DbConnection,
    id: &str,
    attempts: i32,
    retry_at: NaiveDateTime,
    error: &str,
) -> AppResult<()> {
    diesel::update(outbox::table.filter(outbox::id.eq(id)))
        .set((
            outbox::attempts.eq(attempts),
            outbox::next_attempt_at.eq(retry_at),
            outbox::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}
