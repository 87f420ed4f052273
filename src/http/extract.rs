//! Request bodies: size-limited, JSON only, parsed into typed requests with the failing
//! field named. Malformed JSON is a 400, a wrong field a 422, a body too large a 413.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::Validate;

use super::AppState;
use crate::domain::FieldError;
use crate::error::AppError;

/// A raw request body, read up to the configured limit, with its media type.
pub struct Body(pub Bytes, Option<String>);

impl FromRequest for Body {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (limit, timeout) = req.app_data::<Data<AppState>>().map_or(
            (
                crate::config::DEFAULT_BODY_LIMIT,
                crate::config::DEFAULT_BODY_TIMEOUT,
            ),
            |s| (s.config.body_limit, s.config.body_timeout),
        );
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
        let declared: Option<usize> = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared.is_some_and(|n| n > limit) {
                return Err(AppError::PayloadTooLarge(limit));
            }
            let read = async {
                let mut buf = BytesMut::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| {
                        AppError::BadRequest(format!("could not read the body: {e}"))
                    })?;
                    if buf.len() + chunk.len() > limit {
                        return Err(AppError::PayloadTooLarge(limit));
                    }
                    buf.extend_from_slice(&chunk);
                }
                Ok(buf)
            };
            let buf = actix_web::rt::time::timeout(timeout, read)
                .await
                .map_err(|_| AppError::BodyTimeout(timeout.as_secs()))??;
            let essence =
                content_type.map(|ct| ct.split(';').next().unwrap_or("").trim().to_string());
            Ok(Body(buf.freeze(), essence))
        })
    }
}

impl Body {
    fn is_empty(&self) -> bool {
        self.0.iter().all(u8::is_ascii_whitespace)
    }

    /// A body sent with a media type other than `want` (none declared is accepted).
    fn check_type(&self, want: &str) -> Result<(), AppError> {
        match self.1.as_deref() {
            Some(t)
                if !t.is_empty()
                    && t != want
                    && !(want == "application/json" && t.ends_with("+json")) =>
            {
                Err(AppError::UnsupportedMediaType(format!(
                    "send Content-Type: {want}, not {t}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Parses the body as `T` and validates it.
    pub fn json<T: DeserializeOwned + Validate>(&self) -> Result<T, AppError> {
        if self.is_empty() {
            return Err(AppError::BadRequest("a JSON body is required".into()));
        }
        self.check_type("application/json")?;
        parse(&self.0)
    }

    /// Like [`Body::json`], but an empty body is `None`.
    pub fn json_opt<T: DeserializeOwned + Validate>(&self) -> Result<Option<T>, AppError> {
        if self.is_empty() {
            return Ok(None);
        }
        self.check_type("application/json")?;
        parse(&self.0).map(Some)
    }

    /// The name–value pairs of an HTML form post, in order (repeated names kept).
    pub fn form(&self) -> Result<Vec<(String, String)>, AppError> {
        self.check_type("application/x-www-form-urlencoded")?;
        let text = std::str::from_utf8(&self.0)
            .map_err(|_| AppError::BadRequest("the form is not UTF-8".into()))?;
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(text)
            .map(|q| q.into_inner())
            .map_err(|e| AppError::BadRequest(format!("unreadable form: {e}")))?;
        match pairs
            .iter()
            .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            Some((k, _)) => Err(AppError::invalid(k, NUL)),
            None => Ok(pairs),
        }
    }
}

/// The parameters of a query string (the last value of a repeated name); a value that holds
/// U+0000 is refused, naming the parameter.
pub fn query_params(query: &str) -> Result<std::collections::HashMap<String, String>, AppError> {
    let params =
        actix_web::web::Query::<std::collections::HashMap<String, String>>::from_query(query)
            .map_err(|e| AppError::BadRequest(format!("unreadable query string: {e}")))?
            .into_inner();
    match params
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        Some((k, _)) => Err(AppError::invalid(k, NUL)),
        None => Ok(params),
    }
}

/// Text may not carry U+0000: PostgreSQL cannot store it, and no person types it.
const NUL: &str = "must not contain the NUL character (U+0000)";

/// Whether JSON text has a `\u0000` escape (a raw NUL byte is already a syntax error).
fn has_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000")
            && bytes[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// The path of the first string (or object key) in `v` that holds U+0000.
fn nul_path(v: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value as J;
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        J::String(s) if s.contains('\0') => Some(if path.is_empty() {
            "body".into()
        } else {
            path.into()
        }),
        J::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, &format!("{path}[{i}]"))),
        J::Object(m) => m.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(join(&k.replace('\0', "")))
            } else {
                nul_path(x, &join(k))
            }
        }),
        _ => None,
    }
}

fn parse<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, AppError> {
    if has_nul_escape(bytes) {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| AppError::BadRequest(format!("malformed JSON: {e}")))?;
        if let Some(field) = nul_path(&v, "") {
            return Err(AppError::invalid(&field, NUL));
        }
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = match serde_path_to_error::deserialize(&mut *de) {
        Ok(v) => v,
        Err(e) => {
            let inner = e.inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                return Err(AppError::BadRequest(format!("malformed JSON: {inner}")));
            }
            let path = e.path().to_string();
            let at = |name: &str| match path.as_str() {
                "." | "" => name.to_string(),
                p => format!("{p}.{name}"),
            };
            let message = strip_position(&inner.to_string());
            // serde names a missing field in its message, at the object's path: the client is
            // told the field itself.
            let (field, message) = match missing_field(&message) {
                Some(name) => (at(name), "is required".to_string()),
                None if path == "." || path.is_empty() => ("body".to_string(), message),
                None => (path, message),
            };
            return Err(AppError::Validation(vec![FieldError::new(field, message)]));
        }
    };
    // Nothing may follow the value (`{"title":"x"}garbage` is not JSON).
    de.end()
        .map_err(|e| AppError::BadRequest(format!("malformed JSON: {e}")))?;
    value
        .validate()
        .map_err(|errs| AppError::Validation(field_errors(&errs)))?;
    Ok(value)
}

/// The field serde says is missing: "missing field `title`" → "title".
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    Some(&rest[..rest.find('`')?])
}

/// serde_json appends " at line 1 column 12", which means nothing to a client that sent a field.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

pub fn field_errors(errs: &validator::ValidationErrors) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = errs
        .field_errors()
        .iter()
        .flat_map(|(field, list)| {
            list.iter().map(move |e| {
                let msg = e
                    .message
                    .as_ref()
                    .map_or_else(|| e.code.to_string(), |m| m.to_string());
                FieldError::new(field.to_string(), msg)
            })
        })
        .collect();
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

/// The `Idempotency-Key` of a creating request (1 to 255 visible ASCII characters), with a
/// digest of what the request asks: its method, path and body.
pub fn idempotency(
    req: &HttpRequest,
    body: &Body,
) -> Result<Option<crate::app::idempotency::Keyed>, AppError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| AppError::invalid("Idempotency-Key", "1 to 255 visible ASCII characters"))?;
    let mut h = crate::db::audit::Framed::new(None);
    for part in [
        req.method().as_str().as_bytes(),
        req.path().as_bytes(),
        &body.0,
    ] {
        h.part(Some(part));
    }
    Ok(Some(crate::app::idempotency::Keyed {
        key: key.to_string(),
        request_sha256: h.finish(),
    }))
}
