//! The audit trail: append-only events, each hashed together with the previous event's hash
//! (SHA-256 over a canonical serialisation), so a row altered, removed or inserted out of band
//! breaks the chain.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::{audit_events, audit_head};
use super::users::hex;
use super::{new_id, now, DbConnection};
use crate::domain::case::Status;
use crate::error::AppResult;

/// An event to record.
pub struct Event<'a> {
    pub use_case_id: Option<&'a str>,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Queryable)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub use_case_id: Option<String>,
    pub actor_id: Option<String>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub details_json: String,
    pub created_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an event: every field, in a fixed order, length-prefixed so no two different
/// events serialise alike.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    seq: i64,
    id: &str,
    use_case_id: Option<&str>,
    actor_id: Option<&str>,
    action: &str,
    from_status: Option<&str>,
    to_status: Option<&str>,
    details: &str,
    created_at: NaiveDateTime,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let stamp = created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let seq = seq.to_string();
    for part in [
        Some(seq.as_str()),
        Some(id),
        use_case_id,
        actor_id,
        Some(action),
        from_status,
        to_status,
        Some(details),
        Some(stamp.as_str()),
        Some(prev_hash),
    ] {
        match part {
            Some(s) => {
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    hex(&h.finalize())
}

/// Appends events, in order, inside the caller's transaction. Taking the chain head with an
/// UPDATE first serialises writers on both backends, so sequence numbers have no gaps.
pub fn append(conn: &mut DbConnection, events: &[Event]) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let (last_seq, mut prev): (i64, String) =
        diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
            .set(audit_head::seq.eq(audit_head::seq + events.len() as i64))
            .returning((audit_head::seq, audit_head::hash))
            .get_result(conn)?;
    let mut seq = last_seq - events.len() as i64;
    let created_at = now();
    for e in events {
        seq += 1;
        let id = new_id();
        // serde_json's maps are ordered by key: a canonical form.
        let details = e.details.to_string();
        let from = e.from_status.map(|s| s.as_str());
        let to = e.to_status.map(|s| s.as_str());
        let hash = event_hash(
            seq,
            &id,
            e.use_case_id,
            e.actor_id,
            e.action,
            from,
            to,
            &details,
            created_at,
            &prev,
        );
        diesel::insert_into(audit_events::table)
            .values((
                audit_events::seq.eq(seq),
                audit_events::id.eq(&id),
                audit_events::use_case_id.eq(e.use_case_id),
                audit_events::actor_id.eq(e.actor_id),
                audit_events::action.eq(e.action),
                audit_events::from_status.eq(from),
                audit_events::to_status.eq(to),
                audit_events::details.eq(&details),
                audit_events::created_at.eq(created_at),
                audit_events::prev_hash.eq(&prev),
                audit_events::hash.eq(&hash),
            ))
            .execute(conn)?;
        prev = hash;
    }
    diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
        .set(audit_head::hash.eq(&prev))
        .execute(conn)?;
    Ok(())
}

/// The sequence number of the newest event: every change to a case moves it, so it versions
/// anything computed from the cases (shared by every instance on the same database).
pub fn head_seq(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(audit_head::table
        .filter(audit_head::id.eq(1))
        .select(audit_head::seq)
        .first(conn)?)
}

/// A case's events, oldest first.
pub fn for_case(conn: &mut DbConnection, use_case_id: &str) -> AppResult<Vec<StoredEvent>> {
    Ok(audit_events::table
        .filter(audit_events::use_case_id.eq(use_case_id))
        .order(audit_events::seq.asc())
        .load(conn)?)
}

/// The first event where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub id: String,
    pub reason: String,
}

/// Walks the whole chain in order: sequence numbers without gaps, each event's `prev_hash`
/// equal to the previous event's hash, each hash equal to one recomputed from the content,
/// and the head matching the last event (so events removed from the end are caught too).
/// Returns the number of events when it holds.
pub fn verify(conn: &mut DbConnection) -> AppResult<Result<i64, Broken>> {
    let mut expected = 1i64;
    let mut prev = String::from("genesis");
    let mut last_id = String::new();
    loop {
        let batch: Vec<StoredEvent> = audit_events::table
            .filter(audit_events::seq.ge(expected))
            .order(audit_events::seq.asc())
            .limit(5000)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let broken = |reason: String| {
                Ok(Err(Broken {
                    seq: e.seq,
                    id: e.id.clone(),
                    reason,
                }))
            };
            if e.seq != expected {
                return broken(format!(
                    "sequence jumps from {} to {}: events are missing",
                    expected - 1,
                    e.seq
                ));
            }
            if e.prev_hash != prev {
                return broken("its prev_hash is not the previous event's hash: an event before it was changed, removed or inserted".into());
            }
            let recomputed = event_hash(
                e.seq,
                &e.id,
                e.use_case_id.as_deref(),
                e.actor_id.as_deref(),
                &e.action,
                e.from_status.as_deref(),
                e.to_status.as_deref(),
                &e.details_json,
                e.created_at,
                &e.prev_hash,
            );
            if recomputed != e.hash {
                return broken("its content does not match its hash: the event was altered".into());
            }
            prev = e.hash;
            last_id = e.id;
            expected += 1;
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if head_seq != expected - 1 || head_hash != prev {
        return Ok(Err(Broken {
            seq: expected - 1,
            id: last_id,
            reason: format!(
                "the chain's head records {head_seq} events but {} were found: events were removed from the end or the head was changed",
                expected - 1
            ),
        }));
    }
    Ok(Ok(expected - 1))
}
