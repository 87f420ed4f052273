//! Typed configuration, read once from the environment at start-up and passed explicitly.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the service keeps its data, listens, and finds its rules.
#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://…` for PostgreSQL; anything else is a SQLite file path (or `sqlite://path`).
    pub database_url: String,
    pub bind: SocketAddr,
    pub rules_dir: PathBuf,
    /// Largest request body the API accepts, in bytes.
    pub body_limit: usize,
    /// How long a request body may take to arrive (`BODY_TIMEOUT`, seconds; default 30): a
    /// client that stalls is answered 408 instead of holding a worker.
    pub body_timeout: std::time::Duration,
    /// Where notifications are posted (`WEBHOOK_URL`); none are sent when unset.
    pub webhook_url: Option<String>,
    /// Key for the HMAC signature on each notification (`WEBHOOK_SECRET`).
    pub webhook_secret: Option<String>,
    /// `HSTS_MAX_AGE` (seconds): when set, every response tells browsers to use HTTPS only
    /// (for TLS terminated by a proxy in front of aitriage).
    pub hsts_max_age: Option<u64>,
}

pub const DEFAULT_DATABASE_URL: &str = "aitriage.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_RULES_DIR: &str = "rules";
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A configuration value that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("DATABASE_URL is set but empty")]
    EmptyDatabaseUrl,
    #[error("BIND={value:?} is not an address like 127.0.0.1:8080 ({source})")]
    Bind {
        value: String,
        #[source]
        source: std::net::AddrParseError,
    },
    #[error("WEBHOOK_URL={0:?} must start with http:// or https://")]
    WebhookUrl(String),
    #[error("HSTS_MAX_AGE={0:?} must be a whole number of seconds")]
    HstsMaxAge(String),
    #[error("BODY_TIMEOUT={0:?} must be a whole number of seconds, 1 or more")]
    BodyTimeout(String),
}

impl Config {
    /// Reads `DATABASE_URL`, `BIND` and `RULES_DIR` (`RUST_LOG` is read by the logger).
    /// A bad value is an error that names the variable.
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if database_url.trim().is_empty() {
            return Err(ConfigError::EmptyDatabaseUrl);
        }
        let bind_text = get("BIND").unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind = bind_text.parse().map_err(|source| ConfigError::Bind {
            value: bind_text.clone(),
            source,
        })?;
        let rules_dir =
            PathBuf::from(get("RULES_DIR").unwrap_or_else(|| DEFAULT_RULES_DIR.to_string()));
        let webhook_url = get("WEBHOOK_URL").filter(|u| !u.trim().is_empty());
        if let Some(u) = &webhook_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(ConfigError::WebhookUrl(u.clone()));
            }
        }
        Ok(Config {
            database_url,
            bind,
            rules_dir,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: match get("BODY_TIMEOUT").filter(|s| !s.trim().is_empty()) {
                None => DEFAULT_BODY_TIMEOUT,
                Some(s) => match s.trim().parse::<u64>() {
                    Ok(n) if n > 0 => std::time::Duration::from_secs(n),
                    _ => return Err(ConfigError::BodyTimeout(s)),
                },
            },
            webhook_url,
            webhook_secret: get("WEBHOOK_SECRET").filter(|s| !s.is_empty()),
            hsts_max_age: get("HSTS_MAX_AGE")
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().map_err(|_| ConfigError::HstsMaxAge(s)))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_is_off_unless_a_whole_number_of_seconds_is_given() {
        let with = |v: &'static str| {
            Config::from_lookup(move |k| (k == "HSTS_MAX_AGE").then(|| v.to_string()))
        };
        assert_eq!(with("").unwrap().hsts_max_age, None);
        assert_eq!(with("600").unwrap().hsts_max_age, Some(600));
        assert!(with("a year")
            .unwrap_err()
            .to_string()
            .starts_with("HSTS_MAX_AGE="));
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.database_url, "aitriage.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rules_dir, PathBuf::from("rules"));
    }

    #[test]
    fn a_webhook_url_must_be_http() {
        let err = Config::from_lookup(|k| (k == "WEBHOOK_URL").then(|| "ftp://x".to_string()))
            .unwrap_err();
        assert!(err.to_string().starts_with("WEBHOOK_URL="), "{err}");
    }

    #[test]
    fn a_bad_bind_address_names_the_variable() {
        let err =
            Config::from_lookup(|k| (k == "BIND").then(|| "localhost".to_string())).unwrap_err();
        assert!(err.to_string().starts_with("BIND="), "{err}");
    }
}
