//! Typed configuration, read once from the environment at start-up and passed explicitly.

use std::net::SocketAddr;
use std::path::PathBuf;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Where the service keeps its data, listens, and finds its rules.
#[derive(Debug, Clone)]
pub struct Config {
    /// `postgres://…` for PostgreSQL; anything else is a SQLite file path (or `sqlite://path`).
    pub database_url: String,
    /// Connections each instance keeps to the database (`DATABASE_POOL_SIZE`; by default
    /// [`crate::db::pool_size`]).
    pub pool_size: Option<u32>,
    /// The HTTP server's workers (`HTTP_WORKERS`; by default one per core).
    pub workers: Option<usize>,
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
    /// The secret that keys the audit chain (`AUDIT_KEY`, or the file named by
    /// `AUDIT_KEY_FILE`): kept outside the database, so a database writer cannot re-hash it.
    pub audit_key: Option<AuditKey>,
    /// Where `serve` writes signed checkpoints of the audit chain's head
    /// (`AUDIT_CHECKPOINT_DIR`), every `AUDIT_CHECKPOINT_EVERY` seconds when it moved.
    pub checkpoint_dir: Option<PathBuf>,
    pub checkpoint_every: std::time::Duration,
    /// `GET /metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off.
    pub metrics_token: Option<String>,
}

/// The audit chain's key: at least 32 bytes of secret. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct AuditKey(std::sync::Arc<[u8]>);

impl AuditKey {
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: &[u8]) -> Option<AuditKey> {
        (secret.len() >= Self::MIN_LEN).then(|| AuditKey(secret.into()))
    }

    /// HMAC-SHA256 under this key, ready for input.
    pub fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// A short public name for the key (an HMAC of a fixed text, not the key), recorded in
    /// the database and in checkpoints so a wrong key is named as such.
    pub fn id(&self) -> String {
        let mut m = self.mac();
        m.update(b"aitriage audit key id");
        m.finalize()
            .into_bytes()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id())
    }
}

pub const DEFAULT_DATABASE_URL: &str = "aitriage.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_RULES_DIR: &str = "rules";
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
pub const DEFAULT_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

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
    #[error("AUDIT_CHECKPOINT_EVERY={0:?} must be a whole number of seconds, 1 or more")]
    CheckpointEvery(String),
    #[error("the audit key ({0}) must be at least 32 bytes of secret; generate one with `openssl rand -hex 32`")]
    AuditKeyShort(&'static str),
    #[error("DATABASE_POOL_SIZE={0:?} is not a number of connections from 1 to 1000")]
    PoolSize(String),
    #[error("HTTP_WORKERS={0:?} is not a number of workers from 1 to 1024")]
    Workers(String),
    #[error("set AUDIT_KEY or AUDIT_KEY_FILE, not both")]
    AuditKeyTwice,
    #[error("AUDIT_KEY_FILE={path:?} cannot be read: {source}")]
    AuditKeyFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The cores this process may use (1 when that cannot be told): what the pool, the server's
/// workers and the allocator's arenas are sized by.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A whole number in `range`, or `None` when the variable is unset or blank.
fn within<T: std::str::FromStr + PartialOrd>(
    value: Option<String>,
    range: std::ops::RangeInclusive<T>,
    bad: fn(String) -> ConfigError,
) -> Result<Option<T>, ConfigError> {
    value
        .filter(|s| !s.trim().is_empty())
        .map(|s| match s.trim().parse::<T>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(bad(s)),
        })
        .transpose()
}

/// Whole seconds, 1 or more, from a variable; `default` when unset or blank.
fn seconds(
    value: Option<String>,
    default: std::time::Duration,
    err: fn(String) -> ConfigError,
) -> Result<std::time::Duration, ConfigError> {
    match value.filter(|s| !s.trim().is_empty()) {
        None => Ok(default),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(std::time::Duration::from_secs(n)),
            _ => Err(err(s)),
        },
    }
}

/// The audit key from `AUDIT_KEY` or the file named by `AUDIT_KEY_FILE` (its content,
/// trailing line end removed).
fn audit_key(get: &impl Fn(&str) -> Option<String>) -> Result<Option<AuditKey>, ConfigError> {
    let inline = get("AUDIT_KEY").filter(|s| !s.is_empty());
    let file = get("AUDIT_KEY_FILE").filter(|s| !s.trim().is_empty());
    let (secret, from) = match (inline, file) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => return Err(ConfigError::AuditKeyTwice),
        (Some(k), None) => (k.into_bytes(), "AUDIT_KEY"),
        (None, Some(path)) => {
            let mut bytes = std::fs::read(&path)
                .map_err(|source| ConfigError::AuditKeyFile { path, source })?;
            while matches!(bytes.last(), Some(b'\n' | b'\r')) {
                bytes.pop();
            }
            (bytes, "AUDIT_KEY_FILE")
        }
    };
    AuditKey::new(&secret)
        .map(Some)
        .ok_or(ConfigError::AuditKeyShort(from))
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
            pool_size: within(get("DATABASE_POOL_SIZE"), 1..=1000, ConfigError::PoolSize)?,
            workers: within(get("HTTP_WORKERS"), 1..=1024, ConfigError::Workers)?,
            bind,
            rules_dir,
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: seconds(
                get("BODY_TIMEOUT"),
                DEFAULT_BODY_TIMEOUT,
                ConfigError::BodyTimeout,
            )?,
            webhook_url,
            webhook_secret: get("WEBHOOK_SECRET").filter(|s| !s.is_empty()),
            hsts_max_age: get("HSTS_MAX_AGE")
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.trim().parse().map_err(|_| ConfigError::HstsMaxAge(s)))
                .transpose()?,
            audit_key: audit_key(&get)?,
            checkpoint_dir: get("AUDIT_CHECKPOINT_DIR")
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from),
            checkpoint_every: seconds(
                get("AUDIT_CHECKPOINT_EVERY"),
                DEFAULT_CHECKPOINT_EVERY,
                ConfigError::CheckpointEvery,
            )?,
            metrics_token: get("METRICS_TOKEN").filter(|s| !s.trim().is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The configuration with `key` set to `value` and nothing else.
    fn only(key: &'static str, value: &'static str) -> Result<Config, ConfigError> {
        Config::from_lookup(move |k| (k == key).then(|| value.to_string()))
    }

    #[test]
    fn the_pool_size_is_a_number_of_connections_or_the_default() {
        let with = |v| only("DATABASE_POOL_SIZE", v);
        assert_eq!(with("12").unwrap().pool_size, Some(12));
        assert_eq!(with(" ").unwrap().pool_size, None);
        for bad in ["0", "-1", "1001", "many", "8.5"] {
            assert!(
                matches!(with(bad), Err(ConfigError::PoolSize(v)) if v == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_workers_are_a_number_of_workers_or_one_per_core() {
        let with = |v| only("HTTP_WORKERS", v);
        assert_eq!(with("3").unwrap().workers, Some(3));
        assert_eq!(with("").unwrap().workers, None);
        for bad in ["0", "1025", "two", "-2"] {
            assert!(
                matches!(with(bad), Err(ConfigError::Workers(v)) if v == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn hsts_is_off_unless_a_whole_number_of_seconds_is_given() {
        let with = |v| only("HSTS_MAX_AGE", v);
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
    fn an_audit_key_must_be_long_enough_and_come_from_one_place() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Config::from_lookup(move |k| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert!(with(&[]).unwrap().audit_key.is_none());
        let short = with(&[("AUDIT_KEY", "too short")]).unwrap_err();
        assert!(short.to_string().contains("at least 32 bytes"), "{short}");
        let key = "k".repeat(32);
        let both = Config::from_lookup(|k| {
            matches!(k, "AUDIT_KEY" | "AUDIT_KEY_FILE").then(|| key.clone())
        });
        assert!(matches!(both, Err(ConfigError::AuditKeyTwice)));
        let a = Config::from_lookup(|k| (k == "AUDIT_KEY").then(|| key.clone())).unwrap();
        let id = a.audit_key.unwrap().id();
        assert_eq!(id.len(), 16);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{key}\n")).unwrap();
        let p = path.to_string_lossy().to_string();
        let b = Config::from_lookup(|k| (k == "AUDIT_KEY_FILE").then(|| p.clone())).unwrap();
        let from_file = b.audit_key.unwrap();
        assert_eq!(
            from_file.id(),
            id,
            "the file's line end is not part of the key"
        );
        assert!(
            !format!("{from_file:?}").contains(&key),
            "Debug never shows the secret"
        );
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
