//! Storage: one diesel code path over SQLite (embedded, the default) and PostgreSQL.
//! Every state change runs in one transaction; handlers never build SQL.
//!
//! A lookup by a unique key reads with `get_result`, never `first`: `first` adds `LIMIT ?`, and
//! SQLite plans a bound LIMIT by its value, so every execution re-binds it,
//! expires the cached statement and parses the whole query again (measured with callgrind: a
//! fifth of a full intake's instructions went to re-preparing the token and case lookups).

/// Optimistic concurrency, once: applies the changes to the use case `$id` only if it is still
/// at `$version`, and moves it to the next version. If another request changed it meanwhile,
/// nothing is written and the enclosing function returns a conflict naming the current version.
macro_rules! update_at_version {
    ($conn:expr, $id:expr, $version:expr, ($($change:expr),+ $(,)?)) => {{
        let n = diesel::update(
            use_cases::table
                .filter(use_cases::id.eq($id))
                .filter(use_cases::version.eq($version)),
        )
        .set(($($change,)+ use_cases::version.eq($version + 1)))
        .execute($conn)?;
        if n == 0 {
            return Err(super::cases::conflict_after_race($conn, $id));
        }
    }};
}

/// Runs `$body` with `$c` bound to the backend's own connection (`SqliteConnection` or
/// `PgConnection`) rather than to the [`DbConnection`] over both, for the statements every
/// intake runs. Through the enum, diesel writes a statement's whole SQL text at each
/// execution, twice (to learn whether it may stay prepared, and again to collect its binds),
/// even when the prepared statement is then found by its type: with the process's CPU
/// profiled under intake, that was a tenth of it. On the backend's own connection a
/// statement of a fixed shape is written once per connection; an UPDATE, which diesel never
/// keeps prepared, is written once per execution instead of three times. The body is
/// compiled once per backend.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}
pub(crate) use native;

pub mod agencies;
pub mod audit;
pub mod cases;
pub mod duplicates;
pub mod exchange;
pub mod idempotency;
pub mod integrity;
pub mod outbox;
pub mod portfolio;
pub mod reviews;
pub mod schema;
pub mod together;
pub mod users;
pub mod writer;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::error::AppError;

use chrono::{NaiveDateTime, Timelike, Utc};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections for the pool, choosing the backend by the URL's scheme (so a refused
/// PostgreSQL connection says so, instead of a vague multi-backend error).
#[derive(Debug, Clone)]
pub struct Manager {
    url: String,
    backend: Backend,
    /// SQLite's group writer, held as long as the pool is.
    writer: Arc<OnceLock<Arc<writer::Writer>>>,
}

fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.url)
                .map(DbConnection::Pg)
                .map_err(r2d2::Error::ConnectionError),
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(sqlite_path(&self.url))
                    .map_err(r2d2::Error::ConnectionError)?;
                // One statement per pragma would need several round trips; batch_execute runs all.
                // busy_timeout first: switching to WAL needs a lock another new connection may hold.
                // A page cache of 512 KiB per connection rather than SQLite's 2 MiB (there are 32, see
                // `pool_size`): the file's pages stay in the system's cache, and intake and the
                // radar and summary at 100,000 cases were measured no slower for it, while
                // resident memory at 100,000 cases fell by about 15 MB from 1 MiB.
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -512;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection given back mid-transaction, or marked broken by [`with_conn`], is dropped.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::connection::TransactionManager;
        <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// Runs `f` on a connection of the pool. The pool does not test a connection before handing
/// it out (on PostgreSQL that `SELECT 1` was a sixth of an intake's round trips); instead, when
/// work fails, the connection is tested then, and one that no longer answers (a restarted
/// server, a killed backend) is marked broken, so the pool drops it and opens another rather
/// than handing it out again.
pub fn with_conn<T>(
    pool: &Pool,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    use diesel::connection::{TransactionManager, TransactionManagerStatus};
    let mut conn = pool.get()?;
    let out = f(&mut conn);
    if out.is_err() && conn.batch_execute("SELECT 1").is_err() {
        *<DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(
            &mut conn,
        ) = TransactionManagerStatus::InError;
    }
    out
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database at {url}")]
    Open {
        url: String,
        #[source]
        source: diesel::r2d2::PoolError,
    },
    #[error("migrations failed")]
    Migrate(#[source] crate::error::BoxError),
    #[error("cannot open the database's writer")]
    Writer(#[source] crate::error::BoxError),
}

/// Connections in a pool unless told otherwise (`DATABASE_POOL_SIZE`).
///
/// PostgreSQL: four per core (at least 8, at most 32), so every core has work while other
/// requests wait on the network or the disk, without so many that its backends crowd the same
/// cores.
///
/// SQLite: 32. Its connections live in this process and cost only memory, and every write goes
/// through the file's one writer whatever their number: a request waiting for a connection
/// could do neither its reads nor the work around its write meanwhile, and the more writes
/// reach the writer together, the more share a commit. Full intake from 32 clients on two
/// cores: 1,122 a second with p99 44 ms on 32 connections, 1,013 with p99 57 ms on 8.
pub fn pool_size(backend: Backend) -> u32 {
    match backend {
        Backend::Postgres => {
            let cores = u32::try_from(crate::config::cores()).unwrap_or(u32::MAX);
            cores.saturating_mul(4).clamp(8, 32)
        }
        Backend::Sqlite => 32,
    }
}

/// Connects, runs pending migrations, and returns a pool of [`pool_size`] connections.
pub fn connect(url: &str) -> Result<Pool, DbError> {
    connect_sized(url, pool_size(Backend::of(url)))
}

/// [`connect`] to the configured database, with the configured number of connections if one
/// is set (`DATABASE_POOL_SIZE`).
pub fn connect_configured(config: &crate::config::Config) -> Result<Pool, DbError> {
    match config.pool_size {
        Some(size) => connect_sized(&config.database_url, size),
        None => connect(&config.database_url),
    }
}

/// Connects, runs pending migrations, and returns a pool of `size` connections.
pub fn connect_sized(url: &str, size: u32) -> Result<Pool, DbError> {
    let backend = Backend::of(url);
    let manager = Manager {
        url: url.to_string(),
        backend,
        writer: Arc::default(),
    };
    let opener = manager.clone();
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        // Tested when work on it fails, not before every use: see `with_conn`.
        .test_on_check_out(false)
        .build(manager)
        .map_err(|source| DbError::Open {
            url: redact(url),
            source,
        })?;
    let mut conn = pool.get().map_err(|source| DbError::Open {
        url: redact(url),
        source,
    })?;
    migrate(&mut conn)?;
    if backend == Backend::Sqlite {
        let started = writer::Writer::start(&mut conn, || {
            opener
                .connect()
                .map_err(|e| AppError::internal("opening the writer", e))
        });
        if let Some(w) = started.map_err(|e| DbError::Writer(Box::new(e)))? {
            let _ = opener.writer.set(w);
        }
    }
    Ok(pool)
}

/// Applies pending migrations; returns how many ran.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, DbError> {
    let ran = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
    };
    ran.map_err(DbError::Migrate)
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Runs a write transaction and answers once it is durable. On SQLite it joins the database's
/// group commit (see [`writer`]); on PostgreSQL writers run concurrently, and the audit
/// events it queued are chained after it has committed. Inside another transaction it is a
/// savepoint of that one, so several writes can be made one.
pub fn write<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    if in_transaction(conn) {
        return conn.transaction::<T, AppError, _>(f);
    }
    match conn {
        DbConnection::Sqlite(_) => match writer::Writer::of(conn)? {
            Some(w) => w.write(f),
            None => conn.transaction::<T, AppError, _>(f),
        },
        DbConnection::Pg(_) => {
            let done = conn.transaction::<T, AppError, _>(f)?;
            chain_pending(conn);
            Ok(done)
        }
    }
}

/// Whether `conn` is inside a transaction (or in a state where it cannot tell: then it is
/// treated as inside one, so a write becomes a savepoint rather than a transaction of its own).
fn in_transaction(conn: &mut DbConnection) -> bool {
    use diesel::connection::TransactionManager;
    <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some())
}

/// On PostgreSQL, once a write has committed: has the audit events it queued chained, by the
/// instance's chainer or at once (see [`audit::chain_after_write`]). A failure here loses
/// nothing: the events stay queued for the next round, and the write itself has succeeded, so
/// it is logged, not returned.
fn chain_pending(conn: &mut DbConnection) {
    if let Err(e) = audit::chain_after_write(conn) {
        tracing::error!(error = %e.chain(), "chaining queued audit events failed; they stay queued");
    }
}

/// Now, truncated to microseconds so both backends store and return the same value.
pub fn now() -> NaiveDateTime {
    let t = Utc::now().naive_utc();
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_in_messages() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("aitriage.db"), "aitriage.db");
    }

    #[test]
    fn the_backend_follows_the_scheme() {
        assert_eq!(Backend::of("postgresql://x"), Backend::Postgres);
        assert_eq!(Backend::of("sqlite://a.db"), Backend::Sqlite);
        assert_eq!(sqlite_path("sqlite://a.db"), "a.db");
    }
}
