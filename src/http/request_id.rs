//! A request id for every request: taken from a well-formed incoming `X-Request-Id` or made
//! anew, sent back in the `X-Request-Id` header and in every problem+json body, and attached to
//! the request's tracing span, so a user's report can be found in the logs. The same wrapper
//! marks responses `Cache-Control: no-store` unless they chose their own caching, and adds
//! `Strict-Transport-Security` when `HSTS_MAX_AGE` is configured.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, CACHE_CONTROL, STRICT_TRANSPORT_SECURITY};
use actix_web::middleware::Next;
use tracing::Instrument;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if any (outside a request, none).
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An incoming id is kept only if it is short and plain (it ends up in logs and headers).
fn acceptable(v: &str) -> bool {
    (8..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

/// Middleware: runs the rest of the request inside its id's scope and span.
pub async fn tag(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_string);
    let hsts = req
        .app_data::<actix_web::web::Data<crate::http::AppState>>()
        .and_then(|s| s.config.hsts_max_age);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let mut res = REQUEST_ID
        .scope(id.clone(), next.call(req).instrument(span))
        .await?;
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(HEADER, v);
    }
    // Answers are per caller and often confidential: no cache keeps them, unless the response
    // said otherwise (the static stylesheet and script).
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(age) = hsts {
        if let Ok(v) = HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")) {
            headers.insert(STRICT_TRANSPORT_SECURITY, v);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_incoming_ids_are_kept() {
        assert!(acceptable("0192f3a4-7c1e-7000-8000-1234567890ab"));
        assert!(!acceptable("short"));
        assert!(!acceptable("has space in it"));
        assert!(!acceptable("line\nbreak-injection"));
        assert!(!acceptable(&"x".repeat(65)));
    }
}
