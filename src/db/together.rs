//! One write's statements in one round trip on PostgreSQL.
//!
//! Every statement sent to PostgreSQL is a round trip, and a transaction adds two more (BEGIN
//! and COMMIT): on the intake path those round trips, not the rows, were most of the server's
//! work. A write whose statements need nothing read back until the last one collects them in
//! [`Writes`] and [`write_together`] sends them as one statement,
//! `WITH s0 AS (…), s1 AS (…) last`, which PostgreSQL runs in one snapshot and atomically. On
//! SQLite, in process, a statement costs no round trip: they are executed one by one in the
//! usual transaction.

use diesel::connection::Connection;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::QueryResult;

use super::DbConnection;
use crate::error::{AppError, AppResult};

type Multi = <DbConnection as Connection>::Backend;

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
        S: QueryFragment<Pg> + QueryFragment<Multi> + QueryId + Send + 'q,
    {
        match self {
            Writes::Direct(conn, last) => *last = ExecuteDsl::execute(statement, *conn)?,
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

impl Joined<'_> {
    /// Sends the statements as one; the count of rows the last one changed.
    fn execute(self, conn: &mut DbConnection) -> AppResult<usize> {
        match conn {
            DbConnection::Pg(pg) => Ok(ExecuteDsl::execute(self, pg)?),
            DbConnection::Sqlite(_) => Err(not_postgres()),
        }
    }
}

/// A check of the count of rows a write's last statement changed (a conflict check, say).
pub type Check<'a> = &'a dyn Fn(&mut DbConnection, usize) -> AppResult<()>;

/// Runs a write made of the statements `build` collects, then `check`s the count of rows the
/// last one changed, inside the write, so that a failed check undoes it all. On PostgreSQL the
/// statements go as one: with no `check` that statement is the whole transaction (one round
/// trip), with one it is wrapped in BEGIN and COMMIT. Inside another transaction it is a
/// savepoint of that one, as [`super::write`] is.
pub fn write_together<'q, T>(
    conn: &mut DbConnection,
    build: impl FnOnce(&mut Writes<'_, 'q>) -> AppResult<T>,
    check: Option<Check>,
) -> AppResult<T> {
    if let DbConnection::Sqlite(_) = conn {
        return super::write(conn, |conn| {
            let mut writes = Writes::Direct(conn, 0);
            let out = build(&mut writes)?;
            if let (Writes::Direct(conn, last), Some(check)) = (writes, check) {
                check(conn, last)?;
            }
            Ok(out)
        });
    }
    let mut statements = Vec::new();
    let out = build(&mut Writes::Together(&mut statements))?;
    let joined = Joined(statements);
    match check {
        None if !super::in_transaction(conn) => {
            joined.execute(conn)?;
            super::chain_pending(conn);
        }
        _ => super::write(conn, |conn| {
            let changed = joined.execute(conn)?;
            check.map_or(Ok(()), |check| check(conn, changed))
        })?,
    }
    Ok(out)
}
