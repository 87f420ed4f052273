//! Bearer-token authentication: every `/api/v1` handler that takes a [`Principal`] is
//! authenticated; a missing, unknown or revoked token, or a disabled user's, is a 401, and a
//! user with no role is a 403. Each request reads the token from the database (one indexed
//! lookup), so a revocation applies on the next request on every instance.
//!
//! The hot intake handlers take a [`Bearer`] instead and check it inside their own blocking
//! task ([`AppState::db_as`]), on the connection their work then uses: one hand-off to the
//! blocking pool per request instead of two. They defer their own 4xx answers about the body
//! until the token has been checked, so an unauthenticated request is a 401 either way.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};

use super::AppState;
use crate::db;
use crate::domain::access::Principal;
use crate::error::AppError;

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::broken("no application state"))?;
            let who = Bearer(token?);
            state.db(move |conn| who.check(conn)).await
        })
    }
}

/// A request's bearer token, well formed but not yet checked (see the module's description).
pub struct Bearer(String);

impl FromRequest for Bearer {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(bearer(req).map(Bearer))
    }
}

impl Bearer {
    /// Who the token belongs to: 401 when it is unknown or revoked or its user disabled, 403
    /// when the user has no role.
    pub fn check(&self, conn: &mut db::DbConnection) -> Result<Principal, AppError> {
        let found = db::users::authenticate(conn, &self.0)?.ok_or_else(|| {
            AppError::Unauthorized("the token is not valid (unknown or revoked)".into())
        })?;
        if found.roles.is_empty() {
            return Err(AppError::Forbidden(NO_ROLE.into()));
        }
        Ok(found)
    }
}

/// What a signed-in user with no recognised role is told: they may do nothing.
pub const NO_ROLE: &str = "this account has no role: an administrator must give it one";

/// The bearer token of a request; 401 when there is none or it is malformed.
pub(crate) fn bearer(req: &HttpRequest) -> Result<String, AppError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthorized("send Authorization: Bearer <token>".into()))?;
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthorized("the Authorization header is not readable".into()))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > 200 {
        return Err(AppError::Unauthorized(
            "send Authorization: Bearer <token>".into(),
        ));
    }
    Ok(token.to_string())
}
