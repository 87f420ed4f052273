//! Pairs of use cases a reviewer has said are not duplicates of each other, each stored with
//! its audit event in one transaction.

use std::collections::HashSet;

use diesel::prelude::*;

use super::schema::distinct_pairs;
use super::{audit, DbConnection};
use crate::domain::similar::pair;
use crate::error::AppResult;
use crate::vocab::{CaseId, UserId};

/// Stores that `case_id` and `other_id` are not duplicates, with an audit event on `case_id`;
/// a pair stored already is left as it is. Returns whether it was new.
pub fn store_distinct(
    conn: &mut DbConnection,
    case_id: &CaseId,
    other_id: &CaseId,
    actor_id: &UserId,
) -> AppResult<bool> {
    let (a, b) = pair(case_id, other_id);
    super::write(conn, |conn| {
        let known: i64 = distinct_pairs::table
            .filter(distinct_pairs::case_a.eq(&a))
            .filter(distinct_pairs::case_b.eq(&b))
            .count()
            .get_result(conn)?;
        if known > 0 {
            return Ok(false);
        }
        diesel::insert_into(distinct_pairs::table)
            .values((
                distinct_pairs::case_a.eq(&a),
                distinct_pairs::case_b.eq(&b),
                distinct_pairs::decided_by.eq(actor_id),
                distinct_pairs::created_at.eq(super::now()),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            &[audit::Event {
                use_case_id: Some(case_id),
                actor_id: Some(actor_id),
                action: "marked_not_duplicate",
                from_status: None,
                to_status: None,
                details: serde_json::json!({ "other_use_case_id": other_id }),
            }],
        )?;
        Ok(true)
    })
}

/// Every pair said not to be duplicates, as [`pair`] orders it.
pub fn distinct(conn: &mut DbConnection) -> AppResult<HashSet<(CaseId, CaseId)>> {
    Ok(distinct_pairs::table
        .select((distinct_pairs::case_a, distinct_pairs::case_b))
        .load::<(CaseId, CaseId)>(conn)?
        .into_iter()
        .collect())
}
