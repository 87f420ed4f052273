//! Agencies: the organisations that submit use cases.

use diesel::prelude::*;

use super::schema::agencies;
use super::{new_id, now, DbConnection};
use crate::error::{AppError, AppResult};
use crate::vocab::AgencyCode;

#[derive(Debug, Clone, Queryable)]
pub struct Agency {
    pub id: String,
    pub code: AgencyCode,
    pub name: String,
    pub created_at: chrono::NaiveDateTime,
}

/// Creates an agency. Codes are short upper-case identifiers (`UNICEF`, `UNHCR`).
/// An agency code as stored: codes are upper case, so `unhcr` names `UNHCR` in every filter.
pub fn code_key(code: &str) -> AgencyCode {
    AgencyCode::normalized(code)
}

pub fn create(conn: &mut DbConnection, code: &str, name: &str) -> AppResult<Agency> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 32
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(AppError::invalid(
            "code",
            "1 to 32 characters: A–Z, 0–9, - or _",
        ));
    }
    if name.trim().is_empty() || name.len() > 200 {
        return Err(AppError::invalid("name", "1 to 200 characters"));
    }
    let agency = Agency {
        id: new_id(),
        code: AgencyCode::from(code),
        name: name.trim().to_string(),
        created_at: now(),
    };
    diesel::insert_into(agencies::table)
        .values((
            agencies::id.eq(&agency.id),
            agencies::code.eq(&agency.code),
            agencies::name.eq(&agency.name),
            agencies::created_at.eq(agency.created_at),
        ))
        .execute(conn)
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => {
                AppError::conflict(format!("an agency with code {code} already exists"), None)
            }
            other => other,
        })?;
    Ok(agency)
}

pub fn find_by_code(conn: &mut DbConnection, code: &str) -> AppResult<Option<Agency>> {
    Ok(agencies::table
        .filter(agencies::code.eq(code))
        .get_result(conn)
        .optional()?)
}

pub fn all(conn: &mut DbConnection) -> AppResult<Vec<Agency>> {
    Ok(agencies::table.order(agencies::code).load(conn)?)
}
