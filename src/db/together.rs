//! One write's statements in one round trip on PostgreSQL.
//!
//! Every statement sent to PostgreSQL is a round trip, and a transaction adds two more (BEGIN
//! and COMMIT): on the intake path those round trips, not the rows, were most of the server's
//! work. A write whose statements need nothing read back until the last one collects them in
//! [`Writes`] and [`write_together`] sends them as one statement,
//! `WITH s0 AS (…), s1 AS (…) last`, which PostgreSQL runs in one snapshot and atomically. On
//! SQLite, in process, a statement costs no round trip: they are executed one by one in the
//! usual transaction.

use diesel::expression::{AsExpression, SqlLiteral, UncheckedBind};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::result::DatabaseErrorKind;
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::DbConnection;
use crate::error::{AppError, AppResult};

/// A statement collected for PostgreSQL.
type PgStatement<'q> = Box<dyn QueryFragment<Pg> + Send + 'q>;

/// Where a write's statements go.
pub enum Writes<'c, 'q> {
    /// Executed at once (SQLite), with the count of rows the last one changed.
    Direct(&'c mut DbConnection, usize),
    /// Collected, to be sent as one statement (PostgreSQL).
    Together(&'c mut Vec<PgStatement<'q>>),
}

impl<'q> Writes<'_, 'q> {
    /// Adds a statement that inserts, updates or deletes. PostgreSQL runs each one whole,
    /// whatever follows; only the last one's count of changed rows is returned.
    pub fn push<S>(&mut self, statement: S) -> AppResult<()>
    where
        S: QueryFragment<Pg> + QueryFragment<Sqlite> + QueryId + Send + 'q,
    {
        match self {
            Writes::Direct(conn, last) => {
                *last = native!(&mut **conn, |c| ExecuteDsl::execute(statement, c))?
            }
            Writes::Together(statements) => statements.push(Box::new(statement)),
        }
        Ok(())
    }
}

impl<'q> Writes<'_, 'q> {
    /// Adds a statement only PostgreSQL can run (a multi-row insert, say): on SQLite it is an
    /// error.
    pub fn push_pg<S>(&mut self, statement: S) -> AppResult<()>
    where
        S: QueryFragment<Pg> + QueryId + Send + 'q,
    {
        match self {
            Writes::Direct(DbConnection::Pg(pg), last) => {
                *last = ExecuteDsl::execute(statement, pg)?
            }
            Writes::Direct(DbConnection::Sqlite(_), _) => return Err(not_postgres()),
            Writes::Together(statements) => statements.push(Box::new(statement)),
        }
        Ok(())
    }
}

fn not_postgres() -> AppError {
    AppError::internal(
        "write",
        std::io::Error::other("a statement for PostgreSQL sent to SQLite"),
    )
}

/// The statements as one: each but the last in a `WITH`, the last as the main statement.
struct Joined<'q>(Vec<PgStatement<'q>>);

impl QueryId for Joined<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Joined<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let Some((last, first)) = self.0.split_last() else {
            return Err(diesel::result::Error::QueryBuilderError(
                "a write without statements".into(),
            ));
        };
        for (i, s) in first.iter().enumerate() {
            out.push_sql(if i == 0 { "WITH " } else { ", " });
            out.push_sql(&format!("s{i} AS ("));
            s.walk_ast(out.reborrow())?;
            out.push_sql(")");
        }
        out.push_sql(" ");
        last.walk_ast(out.reborrow())
    }
}

/// A guarded write refused because its update changed nothing (see [`write_guarded`]).
#[derive(Debug, thiserror::Error)]
#[error("the guarded row has moved on since it was read")]
struct Moved;

impl Joined<'_> {
    /// Sends the statements as one; the count of rows the last one changed. A NULL refused in
    /// the `guarded` column is [`Moved`].
    fn execute(self, conn: &mut DbConnection, guarded: Option<&str>) -> AppResult<usize> {
        let DbConnection::Pg(pg) = conn else {
            return Err(not_postgres());
        };
        ExecuteDsl::execute(self, pg).map_err(|e| match e {
            diesel::result::Error::DatabaseError(DatabaseErrorKind::NotNullViolation, info)
                if guarded.is_some() && info.column_name() == guarded =>
            {
                AppError::internal("guarded write", Moved)
            }
            other => other.into(),
        })
    }

    /// Sends the statements as one write: alone, the statement is its own transaction (one
    /// round trip); inside another transaction, a savepoint of that one.
    fn write(self, conn: &mut DbConnection, guarded: Option<&str>) -> AppResult<()> {
        if super::in_transaction(conn) {
            super::write(conn, |conn| self.execute(conn, guarded).map(drop))
        } else {
            self.execute(conn, guarded)?;
            super::chain_pending(conn);
            Ok(())
        }
    }
}

/// Runs a write made of the statements `build` collects, which read nothing back. On
/// PostgreSQL they go as one statement, which is the whole transaction: one round trip.
pub fn write_together<'q, T>(
    conn: &mut DbConnection,
    build: impl FnOnce(&mut Writes<'_, 'q>) -> AppResult<T>,
) -> AppResult<T> {
    if let DbConnection::Sqlite(_) = conn {
        return super::write(conn, |conn| build(&mut Writes::Direct(conn, 0)));
    }
    let mut statements = Vec::new();
    let out = build(&mut Writes::Together(&mut statements))?;
    Joined(statements).write(conn, None)?;
    Ok(out)
}

/// The id of the row a guarded write's update changed, as a value for the write's other rows
/// (see [`write_guarded`]).
pub type GuardedId =
    SqlLiteral<Text, UncheckedBind<SqlLiteral<Text>, <String as AsExpression<Text>>::Expression>>;

fn guarded_id(prefix: &str, id: &str) -> GuardedId {
    diesel::dsl::sql::<Text>(prefix)
        .bind::<Text, _>(id.to_string())
        .sql(")")
}

/// The optimistic-concurrency check of a write: an update of one row at the version it was
/// read, which changes nothing if the row has moved on since.
pub struct Guard<'a, U, R> {
    /// The update.
    pub update: U,
    /// The same update returning the row's `id` (for PostgreSQL).
    pub returning: R,
    /// The row's id.
    pub id: &'a str,
    /// The NOT NULL column of another of the write's rows that `build` fills with the
    /// [`GuardedId`].
    pub column: &'static str,
}

/// Runs a write guarded by `guard`: if its update changes no row, nothing of the write is
/// stored and `conflict` says why. `build` collects the write's other statements and is
/// given the guarded row's id as a [`GuardedId`], which it must put in `guard.column`.
///
/// On SQLite the update runs first and its count is checked, in the usual transaction. On
/// PostgreSQL everything goes as one statement, the update first (`WITH s0 AS (UPDATE …
/// RETURNING id)`), and the [`GuardedId`] reads the id it returned: when the update changed
/// nothing that id is NULL, the NOT NULL column refuses it, and PostgreSQL refuses the whole
/// statement. So the check needs no transaction of its own: one round trip instead of
/// BEGIN, the statement, and COMMIT.
pub fn write_guarded<'q, T, U, R>(
    conn: &mut DbConnection,
    guard: Guard<'_, U, R>,
    build: impl FnOnce(&mut Writes<'_, 'q>, GuardedId) -> AppResult<T>,
    conflict: impl FnOnce(&mut DbConnection) -> AppError,
) -> AppResult<T>
where
    U: QueryFragment<Sqlite> + QueryId,
    R: QueryFragment<Pg> + Send + 'q,
{
    if let DbConnection::Sqlite(_) = conn {
        return super::write(conn, |conn| {
            if ExecuteDsl::execute(guard.update, super::writer::sqlite(conn)?)? == 0 {
                return Err(conflict(conn));
            }
            build(
                &mut Writes::Direct(conn, 0),
                guarded_id("(SELECT ", guard.id),
            )
        });
    }
    let mut statements: Vec<PgStatement<'q>> = vec![Box::new(guard.returning)];
    let out = build(
        &mut Writes::Together(&mut statements),
        guarded_id("(SELECT id FROM s0 WHERE id = ", guard.id),
    )?;
    match Joined(statements).write(conn, Some(guard.column)) {
        Err(e) if std::error::Error::source(&e).is_some_and(|s| s.is::<Moved>()) => {
            Err(conflict(conn))
        }
        written => written.map(|()| out),
    }
}
