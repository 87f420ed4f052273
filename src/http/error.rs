//! Errors as RFC 9457 problem details (`application/problem+json`). Internal causes are
//! logged with the request; the client gets a stable code and a plain sentence.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldError;
use crate::error::AppError;

/// An RFC 9457 problem, as every error response carries it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:aitriage:problem:<code>`
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable snake_case code: malformed_request, unauthorized, forbidden, not_found,
    /// conflict, payload_too_large, request_timeout, unsupported_media_type, invalid_fields,
    /// internal_error.
    pub code: String,
    /// For 422: each invalid field and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// For 409 on a stale version: the case's version now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
    /// The request's id, as in the `X-Request-Id` header: quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The problem+json responses of the API, each described once and referenced from the
/// handlers' OpenAPI attributes (`(status = 401, response = Unauthorized)`).
pub mod responses {
    use super::Problem;

    macro_rules! problem_response {
        ($name:ident, $description:literal) => {
            #[derive(utoipa::ToResponse)]
            #[response(description = $description, content_type = "application/problem+json")]
            pub struct $name(pub Problem);
        };
    }

    problem_response!(MalformedJson, "Malformed JSON");
    problem_response!(Unauthorized, "No or invalid bearer token");
    problem_response!(Forbidden, "Not allowed for this role");
    problem_response!(NotFound, "Unknown, or not visible to the caller");
    problem_response!(
        Conflict,
        "Stale version or a change the status does not allow"
    );
    problem_response!(TooLarge, "Body over 256 KiB");
    problem_response!(Invalid, "Invalid fields, listed in errors");
}

impl AppError {
    /// A stable, snake_case code clients can match on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "malformed_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Conflict { .. } => "conflict",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::BodyTimeout(_) => "request_timeout",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Validation(_) => "invalid_fields",
            AppError::Internal { .. } => "internal_error",
        }
    }
}

impl AppError {
    pub fn status_code_of(&self) -> StatusCode {
        ResponseError::status_code(self)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let detail = match self {
            e @ AppError::Internal { .. } => {
                tracing::error!(cause = %e.chain(), "request failed");
                "The server could not complete the request. It has been logged.".to_string()
            }
            AppError::NotFound => "No such resource, or it is not visible to you.".to_string(),
            AppError::Validation(_) => "Some fields are invalid; see errors.".to_string(),
            other => other.to_string(),
        };
        let body = Problem {
            kind: format!("urn:aitriage:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            code: self.code().to_string(),
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            current_version: match self {
                AppError::Conflict {
                    current_version, ..
                } => *current_version,
                _ => None,
            },
            request_id: super::request_id::current(),
        };
        let mut res = HttpResponse::build(status);
        res.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if matches!(self, AppError::Unauthorized(_)) {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"aitriage\""));
        }
        res.body(serde_json::to_string(&body).unwrap_or_default())
    }
}
