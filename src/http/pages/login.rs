//! Sign-in and sign-out. Before a session exists, the sign-in form is protected by a
//! double-submit CSRF cookie. After five failed attempts for an e-mail, further attempts wait
//! an exponentially growing time (429 until it has passed), whether or not the password is right.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::forms::Form;
use super::render::{language_links, redirect, Base, PageError};
use super::session::{constant_time_eq, cookie, language, Viewer, SESSION_COOKIE};
use crate::db;
use crate::http::extract::Body;
use crate::http::AppState;

const LOGIN_CSRF: &str = "aitriage_login";
const FREE_ATTEMPTS: u32 = 5;

/// Sign-in attempts not yet followed by a success, per account and per client address: how
/// many, and when the last one began. An attempt is counted when it is admitted, before the
/// password is checked, so guesses sent in parallel use up the free attempts like guesses sent
/// one after another. The account's wait is capped at a minute, so someone guessing from
/// elsewhere cannot lock its owner out for long; the address's wait grows to 15 minutes.
#[derive(Default)]
pub struct Throttle(Mutex<HashMap<String, (u32, Instant)>>);

/// The longest an account waits between attempts, whoever made the failed ones.
const ACCOUNT_WAIT_CAP: Duration = Duration::from_secs(60);

impl Throttle {
    fn keys(email: &str, address: &str) -> [(String, Duration); 2] {
        [
            (format!("account:{email}"), ACCOUNT_WAIT_CAP),
            (format!("address:{address}"), Duration::MAX),
        ]
    }

    /// Admits an attempt for `email` from `address` and counts it, or says how long to wait.
    pub fn admit(&self, email: &str, address: &str) -> Result<(), Duration> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let keys = Self::keys(email, address);
        let wait = keys
            .iter()
            .filter_map(|(k, cap)| {
                let (n, last) = *map.get(k)?;
                let until = last + backoff(n)?.min(*cap);
                until.checked_duration_since(now)
            })
            .max();
        if let Some(w) = wait {
            return Err(w);
        }
        if map.len() > 100_000 {
            map.retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(900));
        }
        for (k, _) in keys {
            let e = map.entry(k).or_insert((0, now));
            *e = (e.0 + 1, now);
        }
        Ok(())
    }

    /// A correct password: the account's and the address's attempts start again.
    pub fn succeeded(&self, email: &str, address: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for (k, _) in Self::keys(email, address) {
            map.remove(&k);
        }
    }
}

/// The wait after `failures` failed attempts: none for the first five, then 2, 4, 8 … s, at most 15 min.
pub fn backoff(failures: u32) -> Option<Duration> {
    (failures >= FREE_ATTEMPTS)
        .then(|| Duration::from_secs((1u64 << (failures - FREE_ATTEMPTS + 1).min(10)).min(900)))
}

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only paths on this site: never `//host` or `https://…`, and nothing a browser would clean
/// into one (it drops tabs and line breaks, and reads a backslash as `/`), nor any other control or
/// whitespace character.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[derive(Serialize)]
struct LoginPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    login_csrf: String,
    next: String,
    email: String,
    error: Option<String>,
}

fn login_page(
    state: &AppState,
    req: &HttpRequest,
    next: &str,
    email: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = language(req);
    let token = {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| {
            PageError::App(crate::error::AppError::internal("random", e.to_string()))
        })?;
        db::users::hex(&b)
    };
    let pages = &state.pages;
    let mut base = Base::new(pages, lang, pages.t(lang, "sign_in"), None);
    // Switching language on the sign-in page keeps where it leads afterwards (`next`).
    base.languages = language_links(lang, req.query_string());
    let page = LoginPage {
        base,
        login_csrf: token.clone(),
        next: next.to_string(),
        email: email.to_string(),
        error,
    };
    let mut res = pages.render("login", &page, status)?;
    res.add_cookie(&cookie(req, LOGIN_CSRF, token, 1))
        .map_err(|e| PageError::App(crate::error::AppError::internal("setting a cookie", e)))?;
    Ok(res)
}

/// `GET /login`
pub async fn form(
    state: Data<AppState>,
    req: HttpRequest,
    q: Query<Next>,
) -> Result<HttpResponse, PageError> {
    login_page(
        &state,
        &req,
        &safe_next(q.next.as_deref()),
        "",
        None,
        StatusCode::OK,
    )
}

/// `POST /login`
pub async fn submit(
    state: Data<AppState>,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    let sent = form.get("login_csrf").unwrap_or("");
    let expected = req
        .cookie(LOGIN_CSRF)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(PageError::Csrf);
    }
    let lang = language(&req);
    let email = form.text("email").to_lowercase();
    let next = safe_next(form.get("next"));
    // The connection's own address: forwarded headers can be forged by the client.
    let address = req
        .peer_addr()
        .map_or_else(|| "unknown".into(), |a| a.ip().to_string());
    if let Err(wait) = state.login_throttle.admit(&email, &address) {
        let msg = state.pages.formats(lang).counted(
            &|k: String| state.pages.t(lang, &k),
            "sign_in_wait",
            wait.as_secs().max(1) as f64,
            0,
        );
        return login_page(
            &state,
            &req,
            &next,
            &email,
            Some(msg),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let password = form.get("password").unwrap_or("").to_string();
    let who = email.clone();
    let user = state
        .db(move |c| db::users::check_password(c, &who, &password))
        .await?;
    let Some(user_id) = user else {
        let msg = state.pages.t(lang, "sign_in_failed");
        return login_page(
            &state,
            &req,
            &next,
            &email,
            Some(msg),
            StatusCode::UNAUTHORIZED,
        );
    };
    state.login_throttle.succeeded(&email, &address);
    let token = state
        .db(move |c| db::users::open_session(c, &user_id))
        .await?;
    let mut res = redirect(&next);
    let set = res
        .add_cookie(&cookie(
            &req,
            SESSION_COOKIE,
            token,
            db::users::SESSION_HOURS,
        ))
        .and_then(|_| res.add_removal_cookie(&Cookie::build(LOGIN_CSRF, "").path("/").finish()));
    set.map_err(|e| PageError::App(crate::error::AppError::internal("setting a cookie", e)))?;
    Ok(res)
}

/// `POST /logout`
pub async fn logout(
    state: Data<AppState>,
    viewer: Viewer,
    req: HttpRequest,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    if let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()) {
        state
            .db(move |c| db::users::close_session(c, &token))
            .await?;
    }
    let mut res = redirect("/login");
    res.add_removal_cookie(&Cookie::build(SESSION_COOKIE, "").path("/").finish())
        .map_err(|e| PageError::App(crate::error::AppError::internal("setting a cookie", e)))?;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_attempts_slow_down_after_five_failures() {
        assert_eq!(backoff(4), None);
        assert_eq!(backoff(5), Some(Duration::from_secs(2)));
        assert_eq!(backoff(7), Some(Duration::from_secs(8)));
        assert_eq!(backoff(40), Some(Duration::from_secs(900)));
        let t = Throttle::default();
        for _ in 0..5 {
            assert!(t.admit("a@x", "10.0.0.1").is_ok());
        }
        assert!(
            t.admit("a@x", "10.0.0.1").is_err(),
            "the sixth attempt waits"
        );
        assert!(
            t.admit("b@x", "10.0.0.2").is_ok(),
            "another account elsewhere does not"
        );
        // The same account from elsewhere waits too, but never more than a minute.
        let wait = t.admit("a@x", "10.0.0.9").unwrap_err();
        assert!(wait <= ACCOUNT_WAIT_CAP, "{wait:?}");
        t.succeeded("a@x", "10.0.0.1");
        assert!(t.admit("a@x", "10.0.0.1").is_ok());
    }

    #[test]
    fn an_address_guessing_many_accounts_is_slowed_too() {
        let t = Throttle::default();
        for i in 0..5 {
            assert!(t.admit(&format!("user{i}@x"), "10.0.0.1").is_ok());
        }
        assert!(t.admit("fresh@x", "10.0.0.1").is_err());
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/queue?tier=high")), "/queue?tier=high");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "queue",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r//evil.example",
            "/ /evil.example",
            "/\u{0}x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
    }
}
