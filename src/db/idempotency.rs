//! Idempotency keys: which use case a user's keyed creating request produced, and a digest
//! of that request, so a retry gets the same outcome and a different request is refused.

use diesel::prelude::*;

use super::schema::idempotency_keys as k;
use super::{now, DbConnection};
use crate::error::AppResult;
use crate::vocab::{CaseId, UserId};

/// What a key was first used for: the request's digest and the use case it produced.
pub fn find(
    conn: &mut DbConnection,
    user_id: &UserId,
    key: &str,
) -> AppResult<Option<(String, CaseId)>> {
    Ok(k::table
        .filter(k::user_id.eq(user_id))
        .filter(k::key.eq(key))
        .select((k::request_sha256, k::use_case_id))
        .get_result(conn)
        .optional()?)
}

/// Records a key's first use, in the caller's transaction; a concurrent first use of the
/// same key fails here on the primary key, rolling back the work it would have recorded.
pub fn record(
    conn: &mut DbConnection,
    user_id: &UserId,
    key: &str,
    request_sha256: &str,
    use_case_id: &CaseId,
) -> AppResult<()> {
    diesel::insert_into(k::table)
        .values((
            k::user_id.eq(user_id),
            k::key.eq(key),
            k::request_sha256.eq(request_sha256),
            k::use_case_id.eq(use_case_id),
            k::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
