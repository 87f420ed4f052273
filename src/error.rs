//! The one error type of the service. The HTTP layer turns it into RFC 9457 problem+json;
//! internal causes are logged, never sent to clients.

use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("{detail}")]
    Conflict {
        detail: String,
        current_version: Option<i32>,
    },
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn conflict(detail: impl Into<String>, current_version: Option<i32>) -> Self {
        AppError::Conflict {
            detail: detail.into(),
            current_version,
        }
    }

    /// One line for people: for invalid fields, each field and why.
    pub fn describe(&self) -> String {
        match self {
            AppError::Validation(errs) => errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }
    }

    pub fn invalid(field: &str, message: &str) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// A rule pack that failed its check: each problem under its `file:line:column`.
    pub fn rules_refused(diags: Vec<crate::rules::Diagnostic>) -> Self {
        AppError::Validation(
            diags
                .into_iter()
                .map(|d| {
                    FieldError::new(
                        format!("{}:{}:{}", d.file.display(), d.line, d.column),
                        d.message,
                    )
                })
                .collect(),
        )
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => AppError::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::conflict(format!("already exists ({})", info.message()), None)
            }
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Internal(format!("connection pool: {e}"))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::Internal(format!("stored JSON: {e}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
