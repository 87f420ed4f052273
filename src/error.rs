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
    #[error("the request body did not arrive within {0} seconds")]
    BodyTimeout(u64),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("invalid fields")]
    Validation(Vec<FieldError>),
    /// Something on our side failed: what we were doing, and the error that stopped it
    /// (logged with its whole chain, never sent to clients).
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

/// Any error, kept as the cause of an internal error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

impl AppError {
    /// An internal error while doing `context`, caused by `source`.
    pub fn internal(context: impl Into<String>, source: impl Into<BoxError>) -> Self {
        AppError::Internal {
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// An internal error with no underlying error (a broken invariant).
    pub fn broken(context: impl Into<String>) -> Self {
        AppError::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// The error and every cause under it, outermost first, for the log.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(e) = next {
            out += &format!(": {e}");
            next = e.source();
        }
        out
    }

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
            e @ AppError::Internal { .. } => e.chain(),
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
            other => AppError::internal("database", other),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::internal("connection pool", e)
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        AppError::internal("stored JSON", e)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_cause_for_the_log_but_not_in_its_message() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no");
        let e = AppError::internal("writing the export", io);
        assert_eq!(e.to_string(), "writing the export");
        assert_eq!(e.chain(), "writing the export: disk says no");
        assert_eq!(e.describe(), e.chain());
        assert!(std::error::Error::source(&e).is_some());
        assert!(std::error::Error::source(&AppError::broken("x")).is_none());
    }
}
