//! Saying that two similar use cases are not duplicates: a reviewer's call, on cases they may
//! read; the pair is then no longer offered as a possible duplicate.

use crate::db::{cases, duplicates, DbConnection};
use crate::domain::access::Principal;
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::vocab::CaseId;

/// Records that `case_id` and `other_id` are not duplicates. Only reviewers and senior
/// reviewers may; a case the caller cannot see is not found; saying it again changes nothing.
pub fn mark_not_duplicate(
    conn: &mut DbConnection,
    who: &Principal,
    case_id: &CaseId,
    other_id: &CaseId,
) -> AppResult<()> {
    if !who.is_reviewer() {
        return Err(AppError::Forbidden(
            "only reviewers say whether use cases are duplicates".into(),
        ));
    }
    if case_id == other_id {
        return Err(AppError::Validation(vec![FieldError::new(
            "other",
            "a use case cannot be a duplicate of itself",
        )]));
    }
    let scope = who.read_scope();
    for id in [case_id, other_id] {
        if cases::get(conn, &scope, id)?.is_none() {
            return Err(AppError::NotFound);
        }
    }
    duplicates::store_distinct(conn, case_id, other_id, &who.user_id)?;
    Ok(())
}
