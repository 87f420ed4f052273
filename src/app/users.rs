//! Accounts: API tokens issued and revoked, users disabled, enabled and given roles. Admins
//! do it over the API, operators on the command line; every change is an audit event, and
//! applies on the next request on every instance (authentication reads the database).

use crate::db::audit::{self, Event};
use crate::db::users::{self, TokenInfo, UserInfo};
use crate::db::{self as store, DbConnection};
use crate::domain::access::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::vocab::UserId;

/// Who asks: an administrator over the API, or the operator on the command line.
#[derive(Clone, Copy)]
pub enum By<'a> {
    Operator,
    Admin(&'a Principal),
}

impl By<'_> {
    /// The acting user's id (none for the operator), once allowed.
    fn actor(&self) -> AppResult<Option<&UserId>> {
        match self {
            By::Operator => Ok(None),
            By::Admin(p) if p.has(Role::Admin) => Ok(Some(&p.user_id)),
            By::Admin(_) => Err(AppError::Forbidden(
                "only admins manage users and tokens".into(),
            )),
        }
    }

    fn is(&self, user_id: &UserId) -> bool {
        matches!(self, By::Admin(p) if p.user_id == *user_id)
    }
}

/// Records one account change in the audit trail, in the caller's transaction.
fn record(
    conn: &mut DbConnection,
    actor: Option<&UserId>,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::append(
        conn,
        &[Event {
            use_case_id: None,
            actor_id: actor,
            action,
            from_status: None,
            to_status: None,
            details,
        }],
    )
}

/// Issues a new API token for a user; the token is returned once and never stored.
pub fn issue_token(conn: &mut DbConnection, by: By, user_id: &UserId) -> AppResult<String> {
    let actor = by.actor()?;
    store::write(conn, |conn| {
        if users::emails(conn, std::slice::from_ref(user_id))?.is_empty() {
            return Err(AppError::NotFound);
        }
        let token = users::issue_token(conn, user_id)?;
        record(
            conn,
            actor,
            "token_issued",
            serde_json::json!({ "user_id": user_id }),
        )?;
        Ok(token)
    })
}

/// Every user, for an administrator.
pub fn users(conn: &mut DbConnection, by: By) -> AppResult<Vec<UserInfo>> {
    by.actor()?;
    users::list(conn)
}

/// The API tokens of one user, or of everyone.
pub fn tokens(
    conn: &mut DbConnection,
    by: By,
    user_id: Option<&UserId>,
) -> AppResult<Vec<TokenInfo>> {
    by.actor()?;
    users::tokens(conn, user_id)
}

/// Revokes a token: the next request with it is refused.
pub fn revoke_token(conn: &mut DbConnection, by: By, token_id: &str) -> AppResult<()> {
    let actor = by.actor()?;
    store::write(conn, |conn| {
        let user_id = users::revoke_token(conn, token_id)?.ok_or(AppError::NotFound)?;
        record(
            conn,
            actor,
            "token_revoked",
            serde_json::json!({ "token_id": token_id, "user_id": user_id }),
        )
    })
}

/// Disables a user (their tokens stop working and their sessions end) or enables them again.
/// An admin cannot disable themselves.
pub fn set_disabled(
    conn: &mut DbConnection,
    by: By,
    user_id: &UserId,
    disabled: bool,
) -> AppResult<()> {
    let actor = by.actor()?;
    if disabled && by.is(user_id) {
        return Err(AppError::conflict(
            "an admin cannot disable themselves",
            None,
        ));
    }
    store::write(conn, |conn| {
        if !users::set_disabled(conn, user_id, disabled)? {
            return Err(AppError::NotFound);
        }
        let action = if disabled {
            "user_disabled"
        } else {
            "user_enabled"
        };
        record(
            conn,
            actor,
            action,
            serde_json::json!({ "user_id": user_id }),
        )
    })
}

/// Replaces a user's roles (an empty list leaves them able to do nothing). An admin cannot
/// take their own admin role away.
pub fn set_roles(
    conn: &mut DbConnection,
    by: By,
    user_id: &UserId,
    roles: &[Role],
) -> AppResult<()> {
    let actor = by.actor()?;
    if by.is(user_id) && !roles.contains(&Role::Admin) {
        return Err(AppError::conflict(
            "an admin cannot take their own admin role away",
            None,
        ));
    }
    store::write(conn, |conn| {
        if !users::set_roles(conn, user_id, roles)? {
            return Err(AppError::NotFound);
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        record(
            conn,
            actor,
            "roles_set",
            serde_json::json!({ "user_id": user_id, "roles": names }),
        )
    })
}
