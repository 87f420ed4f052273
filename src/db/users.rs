//! Users and their API tokens. Only a token's SHA-256 is stored; the token is shown once.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::schema::{agencies, api_tokens, users};
use super::{new_id, now, DbConnection};
use crate::domain::access::{split_list, Principal, ReviewScope, Role};
use crate::error::{AppError, AppResult};

pub struct NewUser<'a> {
    pub agency_id: &'a str,
    pub email: &'a str,
    pub roles: &'a [Role],
    pub review_groups: &'a [String],
    pub review_scope: ReviewScope,
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token: `ait_` and 64 hex characters (256 bits from the OS).
fn new_token() -> AppResult<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("random: {e}")))?;
    Ok(format!("ait_{}", hex(&buf)))
}

fn valid_email(email: &str) -> bool {
    validator::ValidateEmail::validate_email(&email)
}

/// Creates a user; returns its id.
pub fn create(conn: &mut DbConnection, u: NewUser) -> AppResult<String> {
    if !valid_email(u.email) {
        return Err(AppError::invalid("email", "not a valid e-mail address"));
    }
    if u.roles.is_empty() {
        return Err(AppError::invalid("roles", "at least one role"));
    }
    let id = new_id();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::agency_id.eq(u.agency_id),
            users::email.eq(u.email.to_lowercase()),
            users::roles.eq(u
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(",")),
            users::review_groups.eq(u.review_groups.join(",")),
            users::review_scope.eq(u.review_scope.to_stored()),
            users::created_at.eq(now()),
        ))
        .execute(conn)
        .map_err(|e| match AppError::from(e) {
            AppError::Conflict { .. } => AppError::conflict(
                format!("a user with e-mail {} already exists", u.email),
                None,
            ),
            other => other,
        })?;
    Ok(id)
}

pub fn find_id_by_email(conn: &mut DbConnection, email: &str) -> AppResult<Option<String>> {
    Ok(users::table
        .filter(users::email.eq(email.to_lowercase()))
        .select(users::id)
        .first(conn)
        .optional()?)
}

/// Issues a new API token for a user and returns it (the only time it is ever visible).
pub fn issue_token(conn: &mut DbConnection, user_id: &str) -> AppResult<String> {
    let token = new_token()?;
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(new_id()),
            api_tokens::user_id.eq(user_id),
            api_tokens::token_hash.eq(hash_token(&token)),
            api_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(token)
}

type PrincipalRow = (String, String, String, String, String, String, String);

/// The user a bearer token belongs to, if the token was issued and not revoked.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> AppResult<Option<Principal>> {
    let row: Option<PrincipalRow> = api_tokens::table
        .inner_join(users::table.inner_join(agencies::table))
        .filter(api_tokens::token_hash.eq(hash_token(token)))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            users::id,
            users::email,
            users::agency_id,
            agencies::code,
            users::roles,
            users::review_groups,
            users::review_scope,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(user_id, email, agency_id, agency_code, roles, groups, scope)| Principal {
            user_id,
            email,
            agency_id,
            agency_code,
            roles: split_list(&roles)
                .iter()
                .filter_map(|r| Role::parse(r))
                .collect(),
            review_groups: split_list(&groups),
            review_scope: ReviewScope::parse(&scope),
        },
    ))
}
