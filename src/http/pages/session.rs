//! Who is looking at a page: the session cookie, its CSRF token, and the page language.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};

use super::locale;
use super::render::PageError;
use crate::db;
use crate::domain::access::Principal;
use crate::http::AppState;

pub const SESSION_COOKIE: &str = "aitriage_session";
pub const LANG_COOKIE: &str = "aitriage_lang";

/// The page language: `?lang=`, then the language cookie, then Accept-Language; English by default.
pub fn language(req: &HttpRequest) -> &'static str {
    let cookie = req.cookie(LANG_COOKIE);
    locale::negotiate(req, cookie.as_ref().map(|c| c.value()))
}

/// Cookies are `Secure` when the request came over TLS (directly or through a proxy that says so).
pub fn is_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

pub fn cookie<'a>(
    req: &HttpRequest,
    name: &'a str,
    value: String,
    max_age_hours: i64,
) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(is_tls(req))
        .max_age(actix_web::cookie::time::Duration::hours(max_age_hours))
        .finish()
}

/// A signed-in user on a page, with the CSRF token their forms must carry.
pub struct Viewer {
    pub user: Principal,
    pub csrf: String,
    pub lang: &'static str,
    /// The page's query string, kept by the language switch's links.
    pub query: String,
}

impl Viewer {
    /// Refuses a form post whose CSRF token is missing or wrong.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), PageError> {
        match sent {
            Some(t) if constant_time_eq(t.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }
}

/// Compares secrets (CSRF tokens) in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<Data<AppState>>().cloned();
        let token = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string());
        let lang = language(req);
        let query = req.query_string().to_string();
        let next = req
            .uri()
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "/".into());
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                PageError::App(crate::error::AppError::broken("no application state"))
            })?;
            let Some(token) = token else {
                return Err(PageError::SignIn(next));
            };
            let found = state.db(move |c| db::users::session(c, &token)).await?;
            match found {
                Some((user, _)) if user.roles.is_empty() => Err(PageError::App(
                    crate::error::AppError::Forbidden(crate::http::auth::NO_ROLE.into()),
                )),
                Some((user, csrf)) => Ok(Viewer {
                    user,
                    csrf,
                    lang,
                    query,
                }),
                None => Err(PageError::SignIn(next)),
            }
        })
    }
}

/// Middleware: a page asked for with `?lang=` (a supported language) remembers that language in a cookie, so the next
/// link, a form's reply and the page after sign-in stay in it.
pub async fn remember_language(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let asked = locale::asked(req.request());
    let secure = is_tls(req.request());
    let mut res = next.call(req).await?;
    if let Some(lang) = asked {
        let cookie = actix_web::cookie::Cookie::build(LANG_COOKIE, lang)
            .path("/")
            .max_age(actix_web::cookie::time::Duration::days(365))
            .same_site(actix_web::cookie::SameSite::Lax)
            .http_only(true)
            .secure(secure)
            .finish();
        res.response_mut().add_cookie(&cookie)?;
    }
    Ok(res)
}
