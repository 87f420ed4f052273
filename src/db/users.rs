//! Users and their API tokens. Only a token's SHA-256 is stored; the token is shown once.

use diesel::prelude::*;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::Duration;

use super::schema::{agencies, api_tokens, sessions, users};
use super::{new_id, now, DbConnection};
use crate::domain::access::{split_list, Principal, ReviewScope, Role};
use crate::error::{AppError, AppResult};
use crate::vocab::{AgencyCode, UserId};

pub struct NewUser<'a> {
    pub agency_id: &'a str,
    pub email: &'a str,
    pub roles: &'a [Role],
    pub review_groups: &'a [String],
    pub review_scope: ReviewScope,
}

pub fn hash_token(token: &str) -> String {
    sha256_hex(token)
}

pub use crate::domain::digest::{hex, sha256_hex};

fn random_hex() -> AppResult<String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| AppError::internal("random", e.to_string()))?;
    Ok(hex(&buf))
}

/// A new random token: `ait_` and 64 hex characters (256 bits from the OS).
fn new_token() -> AppResult<String> {
    Ok(format!("ait_{}", random_hex()?))
}

pub const MIN_PASSWORD: usize = 12;

/// An argon2id hash (PHC string) of a password.
pub fn hash_password(password: &str) -> AppResult<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AppError::invalid("password", "at least 12 characters"));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::internal("random", e.to_string()))?;
    let salt =
        SaltString::encode_b64(&salt).map_err(|e| AppError::internal("salt", e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal("argon2", e.to_string()))
}

/// A hash to verify against when the e-mail is unknown, so both cases take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

pub fn set_password(conn: &mut DbConnection, user_id: &UserId, password: &str) -> AppResult<()> {
    let hash = hash_password(password)?;
    diesel::update(users::table.filter(users::id.eq(user_id)))
        .set(users::password_hash.eq(Some(hash)))
        .execute(conn)?;
    Ok(())
}

/// The user id for an e-mail and password, if they match.
pub fn check_password(
    conn: &mut DbConnection,
    email: &str,
    password: &str,
) -> AppResult<Option<UserId>> {
    let found: Option<(UserId, Option<String>)> = users::table
        .filter(users::email.eq(email.trim().to_lowercase()))
        .select((users::id, users::password_hash))
        .get_result(conn)
        .optional()?;
    let (id, hash) = match found {
        Some((id, Some(hash))) => (Some(id), hash),
        _ => (None, decoy_hash().to_string()),
    };
    let ok = PasswordHash::new(&hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    Ok(id.filter(|_| ok))
}

pub const SESSION_HOURS: i64 = 12;

/// Opens a browser session; returns the cookie token (only its hash is stored).
pub fn open_session(conn: &mut DbConnection, user_id: &UserId) -> AppResult<String> {
    let token = random_hex()?;
    let t = now();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(hash_token(&token)),
            sessions::user_id.eq(user_id),
            sessions::csrf.eq(random_hex()?),
            sessions::created_at.eq(t),
            sessions::expires_at.eq(t + Duration::hours(SESSION_HOURS)),
        ))
        .execute(conn)?;
    Ok(token)
}

pub fn close_session(conn: &mut DbConnection, token: &str) -> AppResult<()> {
    diesel::delete(sessions::table.filter(sessions::id.eq(hash_token(token)))).execute(conn)?;
    Ok(())
}

/// The user of a live session, and the session's CSRF token.
pub fn session(conn: &mut DbConnection, token: &str) -> AppResult<Option<(Principal, String)>> {
    let row: Option<(PrincipalRow, String)> = sessions::table
        .inner_join(users::table.inner_join(agencies::table))
        .filter(sessions::id.eq(hash_token(token)))
        .filter(sessions::expires_at.gt(now()))
        .filter(users::disabled_at.is_null())
        .select((PRINCIPAL_COLUMNS, sessions::csrf))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(p, csrf)| (principal(p), csrf)))
}

fn valid_email(email: &str) -> bool {
    validator::ValidateEmail::validate_email(&email)
}

fn stored_roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Creates a user; returns its id.
pub fn create(conn: &mut DbConnection, u: NewUser) -> AppResult<UserId> {
    if !valid_email(u.email) {
        return Err(AppError::invalid("email", "not a valid e-mail address"));
    }
    if u.roles.is_empty() {
        return Err(AppError::invalid("roles", "at least one role"));
    }
    let id = UserId::from(new_id());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(&id),
            users::agency_id.eq(u.agency_id),
            users::email.eq(u.email.to_lowercase()),
            users::roles.eq(stored_roles(u.roles)),
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

/// E-mail addresses by user id, for showing who did what.
pub fn emails(
    conn: &mut DbConnection,
    ids: &[UserId],
) -> AppResult<std::collections::HashMap<UserId, String>> {
    let rows: Vec<(UserId, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::email))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn find_id_by_email(conn: &mut DbConnection, email: &str) -> AppResult<Option<UserId>> {
    Ok(users::table
        .filter(users::email.eq(email.to_lowercase()))
        .select(users::id)
        .get_result(conn)
        .optional()?)
}

/// Issues a new API token for a user and returns it (the only time it is ever visible).
pub fn issue_token(conn: &mut DbConnection, user_id: &UserId) -> AppResult<String> {
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

type PrincipalRow = (UserId, String, String, AgencyCode, String, String, String);

const PRINCIPAL_COLUMNS: (
    users::id,
    users::email,
    users::agency_id,
    agencies::code,
    users::roles,
    users::review_groups,
    users::review_scope,
) = (
    users::id,
    users::email,
    users::agency_id,
    agencies::code,
    users::roles,
    users::review_groups,
    users::review_scope,
);

fn principal(
    (user_id, email, agency_id, agency_code, roles, groups, scope): PrincipalRow,
) -> Principal {
    Principal {
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
    }
}

/// The user a bearer token belongs to, if the token was issued and not revoked.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> AppResult<Option<Principal>> {
    let hash = hash_token(token);
    let row: Option<PrincipalRow> = native!(conn, |c| api_tokens::table
        .inner_join(users::table.inner_join(agencies::table))
        .filter(api_tokens::token_hash.eq(&hash))
        .filter(api_tokens::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .select(PRINCIPAL_COLUMNS)
        .get_result(c)
        .optional())?;
    Ok(row.map(principal))
}

/// An API token as an administrator sees it: never the token itself.
#[derive(Debug, Clone, Queryable, serde::Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub email: String,
    pub created_at: chrono::NaiveDateTime,
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

/// The API tokens of one user, or of everyone, oldest first.
pub fn tokens(conn: &mut DbConnection, user_id: Option<&UserId>) -> AppResult<Vec<TokenInfo>> {
    let mut q = api_tokens::table
        .inner_join(users::table)
        .select((
            api_tokens::id,
            api_tokens::user_id,
            users::email,
            api_tokens::created_at,
            api_tokens::revoked_at,
        ))
        .order((api_tokens::created_at.asc(), api_tokens::id.asc()))
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(api_tokens::user_id.eq(u.clone()));
    }
    Ok(q.load(conn)?)
}

/// Revokes a token by its id; the user it belonged to, or None when there is no such token
/// not yet revoked. Applies on the next request: authentication reads the database each time.
pub fn revoke_token(conn: &mut DbConnection, token_id: &str) -> AppResult<Option<UserId>> {
    Ok(diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(token_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now()))
    .returning(api_tokens::user_id)
    .get_result(conn)
    .optional()?)
}

/// Disables a user (deleting their web sessions) or enables them again; false when there is
/// no such user.
pub fn set_disabled(conn: &mut DbConnection, user_id: &UserId, disabled: bool) -> AppResult<bool> {
    let n = diesel::update(users::table.filter(users::id.eq(user_id)))
        .set(users::disabled_at.eq(disabled.then(now)))
        .execute(conn)?;
    if disabled {
        diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?;
    }
    Ok(n == 1)
}

/// Replaces a user's roles; false when there is no such user.
pub fn set_roles(conn: &mut DbConnection, user_id: &UserId, roles: &[Role]) -> AppResult<bool> {
    Ok(diesel::update(users::table.filter(users::id.eq(user_id)))
        .set(users::roles.eq(stored_roles(roles)))
        .execute(conn)?
        == 1)
}

/// A user as an administrator sees it.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub agency: AgencyCode,
    pub roles: Vec<Role>,
    pub disabled: bool,
}

/// Every user, by e-mail address.
pub fn list(conn: &mut DbConnection) -> AppResult<Vec<UserInfo>> {
    let rows: Vec<(
        String,
        String,
        AgencyCode,
        String,
        Option<chrono::NaiveDateTime>,
    )> = users::table
        .inner_join(agencies::table)
        .select((
            users::id,
            users::email,
            agencies::code,
            users::roles,
            users::disabled_at,
        ))
        .order(users::email.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, email, agency, roles, disabled_at)| UserInfo {
            id,
            email,
            agency,
            roles: split_list(&roles)
                .iter()
                .filter_map(|r| Role::parse(r))
                .collect(),
            disabled: disabled_at.is_some(),
        })
        .collect())
}
