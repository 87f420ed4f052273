//! SQLite's group commit. SQLite has one writer at a time, so every write transaction of a
//! process on one database file runs on one shared connection, in turn, each inside its own
//! savepoint; while other writers are queued the transaction stays open and the next one
//! joins it, and the last of a run (or the one that fills a batch) commits for all. Each
//! caller is answered only once the batch holding its work has committed; a writer whose work
//! fails is rolled back to its savepoint alone (and answered once the batch is over, so that
//! whatever made it fail is there to be read when it retries).
//!
//! Durability is SQLite's in WAL mode with `synchronous = NORMAL` (see the README): a
//! committed batch survives the process crashing; a power cut can lose the last batches
//! committed since the WAL was last synced to disk, never corrupt the database.
//!
//! The work runs on the caller's thread (it borrows the caller's data, and the audit key is
//! per thread); only the connection is shared. Writers of a database find its writer by the
//! file's path, which SQLite reports for any connection to it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;

use super::DbConnection;
use crate::error::{AppError, AppResult};

/// The most writes one commit carries: bounds how long the first of a batch waits.
const MAX_BATCH: usize = 64;

/// The shared connection and where its batch stands.
struct State {
    conn: DbConnection,
    /// A batch transaction is open.
    open: bool,
    /// The number of the open batch, or of the next one.
    batch: u64,
    /// Writes in the open batch so far.
    in_batch: usize,
}

/// How far the batches have gone, for the writers waiting to be answered. It has a lock of
/// its own: a writer whose work is done waits here, never again for the connection, so that
/// learning its batch committed does not queue it behind the next batch's writers.
#[derive(Default)]
struct Progress {
    /// Every batch up to this one has committed or failed.
    done: u64,
    /// Batches that failed, each until every one of its writers has been told.
    failed: Vec<Failed>,
}

/// A batch that failed, and how many of its writers are still to learn of it.
struct Failed {
    batch: u64,
    why: BatchFailed,
    untold: usize,
}

impl Progress {
    /// Why the batch `mine` failed, if it did, told to one of its writers.
    fn outcome(&mut self, mine: u64) -> Option<BatchFailed> {
        let i = self.failed.iter().position(|f| f.batch == mine)?;
        let f = &mut self.failed[i];
        f.untold = f.untold.saturating_sub(1);
        let why = f.why.clone();
        if f.untold == 0 {
            self.failed.swap_remove(i);
        }
        Some(why)
    }
}

/// Why a batch did not commit. Every writer of the batch is told, so the cause is shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BatchFailed {
    #[error("the batch's commit failed")]
    Commit(#[source] Arc<diesel::result::Error>),
    #[error("a writer failed mid-way; the batch was rolled back")]
    WriterPanicked,
}

/// The group writer of one database file.
pub struct Writer {
    state: Mutex<State>,
    progress: Mutex<Progress>,
    /// Signalled when a batch is done.
    committed: Condvar,
    /// Writers waiting for their turn: while there are any, a batch is left open for them.
    queued: AtomicUsize,
    /// Writes run and batches committed so far (how well commits are shared).
    writes: AtomicU64,
    commits: AtomicU64,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("queued", &self.queued)
            .finish_non_exhaustive()
    }
}

/// The writers of this process, by database file, alive as long as a pool holds them.
static WRITERS: Mutex<Option<HashMap<String, Weak<Writer>>>> = Mutex::new(None);

#[derive(QueryableByName)]
struct File {
    #[diesel(sql_type = Text)]
    file: String,
}

/// The path of the file a connection has open as its main database; empty for a database in
/// memory or a temporary one.
fn main_file(conn: &mut DbConnection) -> AppResult<String> {
    let f: File = diesel::sql_query("SELECT file FROM pragma_database_list WHERE name = 'main'")
        .get_result(conn)?;
    Ok(f.file)
}

fn registry() -> MutexGuard<'static, Option<HashMap<String, Weak<Writer>>>> {
    WRITERS.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Writer {
    /// Opens the group writer of the SQLite database `conn` is connected to, through `open`
    /// (a new connection to the same file), and registers it; None for a database that is not
    /// a file (each connection to it is its own database, so there is nothing to share).
    pub fn start(
        conn: &mut DbConnection,
        open: impl Fn() -> AppResult<DbConnection>,
    ) -> AppResult<Option<Arc<Writer>>> {
        let file = main_file(conn)?;
        if file.is_empty() {
            return Ok(None);
        }
        let mut writers = registry();
        let writers = writers.get_or_insert_with(HashMap::new);
        writers.retain(|_, w| w.strong_count() > 0);
        if let Some(w) = writers.get(&file).and_then(Weak::upgrade) {
            return Ok(Some(w));
        }
        let mut shared = open()?;
        // Checkpoints run beside the writer (see `checkpoints`), not inside the commit that
        // happens to fill the WAL, which would hold every writer of the batch behind it.
        // Each write of a batch is a savepoint. SQLite journals the pages the savepoints of
        // a transaction change, and past 64 KiB moves that journal to a temporary file, kept
        // until the transaction ends; in memory instead (which also keeps this connection's
        // sorts in memory), a batch costs no writes but the WAL's. Its page cache is 8 MiB,
        // not the pool's 512 KiB: every write of the process goes through this connection,
        // so its cache is not invalidated by this process's own commits (only by another
        // process writing to the file), and the pages of the tables and indexes written stay
        // cached from one batch to the next.
        shared.batch_execute(
            "PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192",
        )?;
        let checkpointer = open()?;
        let w = Arc::new(Writer {
            state: Mutex::new(State {
                conn: shared,
                open: false,
                batch: 1,
                in_batch: 0,
            }),
            progress: Mutex::new(Progress::default()),
            committed: Condvar::new(),
            queued: AtomicUsize::new(0),
            writes: AtomicU64::new(0),
            commits: AtomicU64::new(0),
        });
        writers.insert(file.clone(), Arc::downgrade(&w));
        if !checkpoints(Arc::downgrade(&w), checkpointer, file) {
            // Without that thread the commits checkpoint, as SQLite does by default.
            w.lock()
                .conn
                .batch_execute("PRAGMA wal_autocheckpoint = 1000")?;
        }
        Ok(Some(w))
    }

    /// The group writer of the database `conn` is connected to, if one is running (never on
    /// PostgreSQL).
    pub fn of(conn: &mut DbConnection) -> AppResult<Option<Arc<Writer>>> {
        if let DbConnection::Pg(_) = conn {
            return Ok(None);
        }
        let file = main_file(conn)?;
        Ok(registry()
            .as_ref()
            .and_then(|w| w.get(&file))
            .and_then(Weak::upgrade))
    }

    /// Writes run and batches committed since the writer started.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.writes.load(Ordering::Relaxed),
            self.commits.load(Ordering::Relaxed),
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => {
                // A writer panicked holding the connection outside its work (`write` catches
                // a panic in the work itself and rolls back there): nothing of the open batch
                // can be trusted, so it is rolled back and its writers told.
                let mut s = poisoned.into_inner();
                self.state.clear_poison();
                self.abandon(&mut s);
                s
            }
        }
    }

    /// Rolls the open batch back after a writer panicked in it, and tells its writers.
    fn abandon(&self, s: &mut State) {
        if s.open {
            let _ = s.conn.batch_execute("ROLLBACK");
            reset_manager(&mut s.conn);
            let batch = s.batch;
            self.finish(s, Err(BatchFailed::WriterPanicked));
            tracing::error!(batch, "a writer panicked; its batch was rolled back");
        }
    }

    /// Runs `f` as one write: see the module's description.
    pub fn write<T>(&self, f: impl FnOnce(&mut DbConnection) -> AppResult<T>) -> AppResult<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut s = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if !s.open {
            begin_immediate(&mut s.conn)?;
            s.open = true;
        }
        let mine = s.batch;
        // A savepoint: diesel nests a transaction inside the open one. A writer that panics
        // may leave its work half done: the batch is rolled back at once, so its other
        // writers, already waiting, are told rather than left waiting for a next write.
        let out = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            s.conn.transaction::<T, AppError, _>(f)
        })) {
            Ok(out) => out,
            Err(panic) => {
                self.abandon(&mut s);
                drop(s);
                std::panic::resume_unwind(panic);
            }
        };
        s.in_batch += 1;
        self.writes.fetch_add(1, Ordering::Relaxed);
        if self.queued.load(Ordering::SeqCst) == 0 || s.in_batch >= MAX_BATCH {
            self.commits.fetch_add(1, Ordering::Relaxed);
            let outcome = commit(&mut s.conn);
            self.finish(&mut s, outcome);
        }
        drop(s);
        // Also a writer whose work failed waits: what made it fail (a change by another
        // writer of the batch, say) is then committed, so a retry reads it.
        let mut p = self.progress();
        while p.done < mine {
            p = self
                .committed
                .wait(p)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let failed = p.outcome(mine);
        drop(p);
        let out = out?;
        match failed {
            Some(why) => Err(AppError::internal("group commit", why)),
            None => Ok(out),
        }
    }

    /// Closes the open batch of `s` (whose lock the caller holds) with its outcome, and
    /// wakes its writers.
    fn finish(&self, s: &mut State, outcome: Result<(), BatchFailed>) {
        let (batch, writers) = (s.batch, s.in_batch);
        s.open = false;
        s.in_batch = 0;
        s.batch += 1;
        let mut p = self.progress();
        if let Err(why) = outcome {
            if writers > 0 {
                p.failed.push(Failed {
                    batch,
                    why,
                    untold: writers,
                });
            }
        }
        p.done = batch;
        drop(p);
        self.committed.notify_all();
    }

    /// The batches' progress. Taken after the connection's lock when both are held, never
    /// before it.
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How often the WAL is copied back into the database file while the writer lives.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`], on a connection and
/// thread of its own, for as long as the writer lives. A passive checkpoint never blocks
/// writers or readers, so a commit is never the one that pays for it. False when the thread
/// cannot be started.
fn checkpoints(writer: Weak<Writer>, mut conn: DbConnection, file: String) -> bool {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while writer.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, file, "WAL checkpoint failed; it is tried again");
                }
            }
        });
    if let Err(e) = &spawned {
        tracing::warn!(error = %e, "cannot start the checkpoint thread");
    }
    spawned.is_ok()
}

/// The SQLite connection inside (the writer never holds another kind, nor is any other given
/// to SQLite's own code paths), to run statements on it directly: see [`super::native`].
pub(super) fn sqlite(conn: &mut DbConnection) -> diesel::QueryResult<&mut SqliteConnection> {
    match conn {
        DbConnection::Sqlite(c) => Ok(c),
        DbConnection::Pg(_) => Err(diesel::result::Error::BrokenTransactionManager),
    }
}

/// Begins the batch's transaction, taking the write lock at once (so a read inside it can
/// never be outdated by another process's commit before its first write).
fn begin_immediate(conn: &mut DbConnection) -> AppResult<()> {
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn)?, "BEGIN IMMEDIATE")?;
    Ok(())
}

/// Commits the batch; on failure rolls it back, so the connection is ready for the next.
fn commit(conn: &mut DbConnection) -> Result<(), BatchFailed> {
    let done = sqlite(conn).and_then(AnsiTransactionManager::commit_transaction);
    done.map_err(|e| {
        let _ = conn.batch_execute("ROLLBACK");
        reset_manager(conn);
        tracing::error!(error = %e, "a group commit failed; its writers are told");
        BatchFailed::Commit(Arc::new(e))
    })
}

/// Forgets any transaction diesel thinks is open on the connection, after it was ended by
/// hand.
fn reset_manager(conn: &mut DbConnection) {
    *<DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn) =
        Default::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &str) -> DbConnection {
        let mut c = SqliteConnection::establish(path).unwrap();
        c.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")
            .unwrap();
        DbConnection::Sqlite(c)
    }

    /// A group writer over a new database file holding one table `t`, with the file's path;
    /// the file lives as long as the directory returned with it.
    fn started() -> (tempfile::TempDir, String, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db").to_string_lossy().to_string();
        let mut conn = open(&path);
        conn.batch_execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        let w = Writer::start(&mut conn, || Ok(open(&path)))
            .unwrap()
            .unwrap();
        (dir, path, w)
    }

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    /// The rows of `t` matching `filter` (an SQL condition).
    fn count(reader: &mut DbConnection, filter: &str) -> i64 {
        diesel::sql_query(format!("SELECT count(*) AS n FROM t WHERE {filter}"))
            .get_result::<N>(reader)
            .unwrap()
            .n
    }

    fn insert(conn: &mut DbConnection, x: i64) -> AppResult<usize> {
        Ok(diesel::sql_query("INSERT INTO t (x) VALUES (?)")
            .bind::<diesel::sql_types::BigInt, _>(x)
            .execute(conn)?)
    }

    /// Eight threads write at once through one writer: every write that succeeded is there,
    /// and each that failed (a duplicate key, after a first insert of its own) left nothing,
    /// whatever batch it shared.
    #[test]
    fn concurrent_writers_commit_together_and_a_failing_one_rolls_back_alone() {
        let (_dir, path, w) = started();
        assert!(Arc::ptr_eq(
            &w,
            &Writer::of(&mut open(&path)).unwrap().unwrap()
        ));
        let failed = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8i64)
                .map(|t| {
                    let w = &w;
                    s.spawn(move || {
                        let mut failed = 0;
                        for i in 0..50i64 {
                            let x = t * 1000 + i;
                            let done = w.write(|c| {
                                insert(c, x)?;
                                if i % 10 == 0 {
                                    // The same key again: this write fails as a whole.
                                    insert(c, 1_000_000 + x)?;
                                    insert(c, 1_000_000 + x)?;
                                }
                                Ok(())
                            });
                            failed += usize::from(done.is_err());
                        }
                        failed
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .sum::<usize>()
        });
        assert_eq!(failed, 8 * 5);
        let mut reader = open(&path);
        assert_eq!(
            count(&mut reader, "1"),
            8 * 45,
            "exactly the writes that succeeded"
        );
        assert_eq!(
            count(&mut reader, "x >= 1000000"),
            0,
            "nothing of a failed write"
        );
        let (writes, commits) = w.counts();
        assert_eq!(writes, 8 * 50);
        assert!((1..=writes).contains(&commits), "{commits} commits");
        // No batch is left open once every writer has been answered.
        assert!(!w.lock().open);
    }

    /// A writer that panics mid-batch has the batch rolled back at once: a writer of the same
    /// batch already waiting for the commit is told it failed (not left waiting for some
    /// later write), nothing of either is stored, and the writer works on afterwards.
    #[test]
    fn a_writer_panicking_mid_batch_fails_its_batch_and_frees_the_others() {
        let (_dir, path, w) = started();
        let (started, go) = std::sync::mpsc::channel();
        let (answered, answer) = std::sync::mpsc::channel();
        let first = {
            let w = w.clone();
            std::thread::spawn(move || {
                let done = w.write(|c| {
                    insert(c, 1)?;
                    started.send(()).unwrap();
                    // The second writer queues meanwhile, so this one leaves the batch open.
                    while w.queued.load(Ordering::SeqCst) == 0 {
                        std::thread::yield_now();
                    }
                    Ok(())
                });
                answered.send(done.is_ok()).unwrap();
            })
        };
        go.recv().unwrap();
        let second = {
            let w = w.clone();
            std::thread::spawn(move || {
                w.write(|c| -> AppResult<()> {
                    insert(c, 2)?;
                    panic!("a writer's bug");
                })
            })
        };
        let first_ok = answer
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the first writer is answered without another write coming");
        assert!(!first_ok, "its batch was rolled back");
        assert!(second.join().is_err(), "the panic goes on to the caller");
        first.join().unwrap();
        let mut reader = open(&path);
        assert_eq!(
            count(&mut reader, "1"),
            0,
            "nothing of the rolled-back batch"
        );
        w.write(|c| insert(c, 3)).unwrap();
        assert_eq!(count(&mut reader, "1"), 1);
        assert!(w.progress().failed.is_empty(), "every writer was told");
    }

    /// A database in memory has no file to share a writer through.
    #[test]
    fn a_database_in_memory_has_no_group_writer() {
        let mut c = open(":memory:");
        assert!(Writer::start(&mut c, || Ok(open(":memory:")))
            .unwrap()
            .is_none());
    }
}
