//! Bearer-token authentication: every `/api/v1` handler that takes a [`Principal`] is
//! authenticated; a missing, unknown or revoked token is a 401.

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
            let token = token?;
            let key = db::users::hash_token(&token);
            if let Some(p) = state.auth_cache.get(&key) {
                return Ok(p);
            }
            let found = state
                .db(move |conn| db::users::authenticate(conn, &token))
                .await?
                .ok_or_else(|| {
                    AppError::Unauthorized("the token is not valid (unknown or revoked)".into())
                })?;
            state.auth_cache.put(key, found.clone());
            Ok(found)
        })
    }
}

fn bearer(req: &HttpRequest) -> Result<String, AppError> {
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

/// Recently authenticated tokens (by hash), so a client's requests do not each cost a lookup.
/// A change to a user's roles or scope, or a revoked token, takes effect within [`AuthCache::TTL`].
#[derive(Default)]
pub struct AuthCache(
    std::sync::Mutex<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
);

impl AuthCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(10);
    const MAX: usize = 10_000;

    fn get(&self, key: &str) -> Option<Principal> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(p, _)| p.clone())
    }

    fn put(&self, key: String, p: Principal) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::MAX {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if map.len() >= Self::MAX {
                map.clear();
            }
        }
        map.insert(key, (p, std::time::Instant::now()));
    }
}
