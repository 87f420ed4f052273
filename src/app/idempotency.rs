//! `Idempotency-Key` on creating requests: the first request with a key runs, and records in
//! its own transaction which use case it produced; a retry with the same key and the same
//! request gets that use case back (as it is now) without running again, also after a
//! restart or a crash that lost the first response; the same key with another request is
//! refused (422).

use crate::db::cases::{self as store, Case};
use crate::db::{self, idempotency, DbConnection};
use crate::domain::access::Principal;
use crate::error::{AppError, AppResult};

/// A request's idempotency key and the digest of what it asked.
pub struct Keyed {
    pub key: String,
    pub request_sha256: String,
}

/// Whether the outcome was produced now or replayed from an earlier request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Replayed,
}

/// Runs `f` once per key: see the module's description. Without a key, just runs it.
pub fn once(
    conn: &mut DbConnection,
    who: &Principal,
    keyed: Option<&Keyed>,
    f: impl FnOnce(&mut DbConnection) -> AppResult<Case>,
) -> AppResult<(Case, Outcome)> {
    let Some(k) = keyed else {
        return Ok((f(conn)?, Outcome::Done));
    };
    if let Some(earlier) = replay(conn, who, k)? {
        return Ok((earlier, Outcome::Replayed));
    }
    let done = db::write(conn, |conn| {
        let case = f(conn)?;
        db::write(conn, |conn| {
            idempotency::record(conn, &who.user_id, &k.key, &k.request_sha256, &case.row.id)
        })?;
        Ok(case)
    });
    match done {
        Ok(case) => Ok((case, Outcome::Done)),
        // A concurrent request with the same key got there first: answer as it did.
        Err(e) => match replay(conn, who, k)? {
            Some(earlier) => Ok((earlier, Outcome::Replayed)),
            None => Err(e),
        },
    }
}

/// The use case an earlier request with this key produced, if there was one; an error when
/// the key was used for another request.
fn replay(conn: &mut DbConnection, who: &Principal, k: &Keyed) -> AppResult<Option<Case>> {
    let Some((digest, case_id)) = idempotency::find(conn, &who.user_id, &k.key)? else {
        return Ok(None);
    };
    if digest != k.request_sha256 {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was used for a different request; use a new key for a new request",
        ));
    }
    store::get(conn, &who.read_scope(), &case_id)?
        .map(Some)
        .ok_or(AppError::NotFound)
}
