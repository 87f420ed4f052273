//! The audit trail: append-only events, each hashed together with the previous event's hash
//! over a canonical serialisation, so a row altered, removed or inserted out of band breaks
//! the chain.
//!
//! With an audit key (kept outside the database) the hash is HMAC-SHA256 under that key, so
//! a database writer without the key cannot re-hash a chain they changed. Signed checkpoints
//! of the head, kept outside the database too, catch what a rewrite of the chain's end would
//! otherwise hide: events removed from the end with the head moved back.
//!
//! The key reaches [`append`] through [`with_key`], set where database work starts
//! (`AppState::db`, the command line), so every writer below seals with it.

use std::cell::RefCell;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::Mac;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schema::{audit_events, audit_head};
use super::together::Writes;
use super::users::hex;
use super::{new_id, now, DbConnection};
use crate::config::AuditKey;
use crate::domain::case::Status;
use crate::error::{AppError, AppResult};
use crate::vocab::{CaseId, UserId};

thread_local! {
    static KEY: RefCell<Option<AuditKey>> = const { RefCell::new(None) };
}

/// Runs `f` with `cell` holding `value` on this thread, then puts back what it held before
/// (also when `f` panics).
fn scoped<V: 'static, T>(
    cell: &'static std::thread::LocalKey<RefCell<Option<V>>>,
    value: Option<V>,
    f: impl FnOnce() -> T,
) -> T {
    struct Restore<V: 'static>(
        &'static std::thread::LocalKey<RefCell<Option<V>>>,
        Option<V>,
    );
    impl<V: 'static> Drop for Restore<V> {
        fn drop(&mut self) {
            let previous = self.1.take();
            self.0.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(cell, cell.with(|c| c.replace(value)));
    f()
}

/// Runs `f` with `key` sealing every event appended on this thread.
pub fn with_key<T>(key: Option<&AuditKey>, f: impl FnOnce() -> T) -> T {
    scoped(&KEY, key.cloned(), f)
}

fn current_key() -> Option<AuditKey> {
    KEY.with(|k| k.borrow().clone())
}

/// This instance's chainer on PostgreSQL: a thread of its own that chains the audit events the
/// instance's writers queued, so that no request waits for chaining or spends a round trip on
/// it. A writer wakes it once its transaction has committed and goes on; the thread lets the
/// writes of some milliseconds gather ([`LINGER`]) and chains them all in one round of two
/// round trips ([`sequence`], which takes other instances' events too). Every [`IDLE`] it
/// also looks for events left pending: a writer that stopped between its commit and the wake,
/// or an instance that stopped mid-round. When the instance's state is dropped, it chains once
/// more and ends, and the drop waits for that.
///
/// Nothing computed from the cases depends on this having happened: caches are versioned by
/// the events committed, chained or not ([`committed_events`]), and a case's trail lists its
/// pending events after the chained ones.
#[derive(Debug)]
pub struct Chainer {
    /// `None` only while dropping.
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long the chainer lets writes gather before a round once woken: one round (two round
/// trips) then chains the events of every write committed meanwhile. At 5 ms, chaining was a
/// fifth of the round trips of full intake at 32 clients; at 20 ms, a twentieth.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// How often the chainer looks for pending events it was not woken for.
const IDLE: std::time::Duration = std::time::Duration::from_secs(1);

thread_local! {
    static CHAINER: RefCell<Option<std::sync::Arc<Chainer>>> = const { RefCell::new(None) };
}

/// Runs `f` with its writes chained by `chainer` when there is one (a serving instance on
/// PostgreSQL), else by each writer itself once it commits.
pub fn with_chainer<T>(chainer: Option<&std::sync::Arc<Chainer>>, f: impl FnOnce() -> T) -> T {
    scoped(&CHAINER, chainer.cloned(), f)
}

impl Chainer {
    /// Starts the chainer of an instance on `pool`, sealing with `key`.
    pub fn start(pool: super::Pool, key: Option<AuditKey>) -> std::io::Result<Chainer> {
        let (wake, woken) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("audit-chainer".into())
            .spawn(move || with_key(key.as_ref(), || chain_when_woken(&pool, &woken)))?;
        Ok(Chainer {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    /// Asks for a round. A wake already waiting covers this one too: the round it starts
    /// reads what is pending after this write's commit.
    fn wake(&self) {
        if let Some(wake) = &self.wake {
            let _ = wake.try_send(());
        }
    }
}

impl Drop for Chainer {
    /// Hangs up, so the thread chains what is pending once more and ends, and waits for it.
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The chainer's thread: a round after each wake (once writes had [`LINGER`] to gather), or
/// after [`IDLE`] without one; a last round when every sender is gone.
fn chain_when_woken(pool: &super::Pool, woken: &std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        let last = match woken.recv_timeout(IDLE) {
            Ok(()) => {
                std::thread::sleep(LINGER);
                // Wakes sent while lingering are answered by this round.
                let _ = woken.try_recv();
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if let Err(e) = super::with_conn(pool, sequence) {
            tracing::error!(error = %e.chain(), "chaining queued audit events failed; they stay queued");
        }
        if last {
            return;
        }
    }
}

/// PostgreSQL, once a write has committed: has the events it queued chained, by this thread's
/// [`Chainer`] when it has one (a serving instance), else at once.
pub fn chain_after_write(conn: &mut DbConnection) -> AppResult<usize> {
    match CHAINER.with(|c| c.borrow().clone()) {
        Some(chainer) => {
            chainer.wake();
            Ok(0)
        }
        None => sequence(conn),
    }
}

/// A digest of several parts (SHA-256, or HMAC-SHA256 under the audit key), each framed by its
/// length so no two different lists of parts hash alike; an absent part has its own mark.
pub enum Framed {
    Plain(Sha256),
    Keyed(hmac::Hmac<Sha256>),
}

impl Framed {
    pub fn new(key: Option<&AuditKey>) -> Framed {
        match key {
            Some(k) => Framed::Keyed(k.mac()),
            None => Framed::Plain(Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Framed::Plain(h) => Digest::update(h, bytes),
            Framed::Keyed(m) => Mac::update(m, bytes),
        }
    }

    /// Adds one part: its length, then its bytes; `None` is marked by a length no part has.
    pub fn part(&mut self, part: Option<&[u8]>) -> &mut Framed {
        match part {
            Some(b) => {
                self.update(&(b.len() as u64).to_be_bytes());
                self.update(b);
            }
            None => self.update(&u64::MAX.to_be_bytes()),
        }
        self
    }

    /// The digest, in hex.
    pub fn finish(self) -> String {
        match self {
            Framed::Plain(h) => hex(&h.finalize()),
            Framed::Keyed(m) => hex(&m.finalize().into_bytes()),
        }
    }
}

/// An event to record.
pub struct Event<'a> {
    pub use_case_id: Option<&'a CaseId>,
    pub actor_id: Option<&'a UserId>,
    pub action: &'a str,
    pub from_status: Option<Status>,
    pub to_status: Option<Status>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, Queryable)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub use_case_id: Option<CaseId>,
    pub actor_id: Option<UserId>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub details_json: String,
    pub created_at: NaiveDateTime,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an event: every field, in a fixed order, length-prefixed so no two different
/// events serialise alike; keyed when `key` is given.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    key: Option<&AuditKey>,
    seq: i64,
    id: &str,
    use_case_id: Option<&str>,
    actor_id: Option<&str>,
    action: &str,
    from_status: Option<&str>,
    to_status: Option<&str>,
    details: &str,
    created_at: NaiveDateTime,
    prev_hash: &str,
) -> String {
    let mut h = Framed::new(key);
    let stamp = created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let seq = seq.to_string();
    for part in [
        Some(seq.as_str()),
        Some(id),
        use_case_id,
        actor_id,
        Some(action),
        from_status,
        to_status,
        Some(details),
        Some(stamp.as_str()),
        Some(prev_hash),
    ] {
        h.part(part.map(str::as_bytes));
    }
    h.finish()
}

/// Appends events as part of a write whose statements are collected in `writes` (see
/// [`super::together`]): on PostgreSQL their queued insert joins the others.
pub fn append_to(writes: &mut Writes<'_, '_>, events: &[Event]) -> AppResult<()> {
    match writes {
        Writes::Direct(conn, _) => append(conn, events),
        Writes::Together(_) => queue(writes, events),
    }
}

/// PostgreSQL: the events inserted pending, in one statement (on SQLite, an error). diesel keeps an insert of a
/// fixed number of rows prepared, never one of a list: a change writes one or two events, so
/// those are arrays.
fn queue(writes: &mut Writes<'_, '_>, events: &[Event]) -> AppResult<()> {
    let insert = diesel::insert_into(audit_events::table);
    let mut queued = stored(events).into_iter().map(QueuedRow::of);
    match (queued.next(), queued.next(), queued.next()) {
        (None, ..) => Ok(()),
        (Some(one), None, _) => writes.push_pg(insert.values(one)),
        (Some(a), Some(b), None) => writes.push_pg(insert.values([a, b])),
        (a, b, c) => writes.push_pg(
            insert.values(
                a.into_iter()
                    .chain(b)
                    .chain(c)
                    .chain(queued)
                    .collect::<Vec<_>>(),
            ),
        ),
    }
}

/// The events as rows, not yet in the chain.
fn stored(events: &[Event]) -> Vec<StoredEvent> {
    let created_at = now();
    events
        .iter()
        .map(|e| StoredEvent {
            seq: 0,
            id: new_id(),
            use_case_id: e.use_case_id.cloned(),
            actor_id: e.actor_id.cloned(),
            action: e.action.to_string(),
            from_status: e.from_status.map(|s| s.as_str().to_string()),
            to_status: e.to_status.map(|s| s.as_str().to_string()),
            // serde_json's maps are ordered by key: a canonical form.
            details_json: e.details.to_string(),
            created_at,
            prev_hash: String::new(),
            hash: String::new(),
        })
        .collect()
}

/// Appends events, in order, inside the caller's transaction.
///
/// On SQLite (one writer at a time) they are chained at once: the head is taken with an
/// UPDATE, so sequence numbers have no gaps. On PostgreSQL they are queued with a temporary
/// negative sequence number, so writers of different cases do not wait for each other, and
/// chained once the write has committed (see [`chain_after_write`], called by `db::write`).
pub fn append(conn: &mut DbConnection, events: &[Event]) -> AppResult<()> {
    if let DbConnection::Pg(_) = conn {
        return queue(&mut Writes::Direct(conn, 0), events);
    }
    if events.is_empty() {
        return Ok(());
    }
    let mut rows = stored(events);
    // The head is read by a statement prepared once per connection, and moved by one UPDATE
    // (diesel prepares every UPDATE anew) that also checks it was not moved meanwhile. A
    // writer holds SQLite's write lock for its whole transaction, so that check cannot fail
    // through the group writer; outside it, a race is refused rather than forked.
    let (seq, prev, _) = head(conn)?;
    let head_hash = link(current_key().as_ref(), seq, prev, &mut rows);
    let chained = rows.len() as i64;
    let c = super::writer::sqlite(conn)?;
    for r in rows {
        diesel::insert_into(audit_events::table)
            .values(ChainedRow::of(r))
            .execute(c)?;
    }
    let moved = diesel::update(
        audit_head::table
            .filter(audit_head::id.eq(1))
            .filter(audit_head::seq.eq(seq)),
    )
    .set((
        audit_head::seq.eq(seq + chained),
        audit_head::hash.eq(&head_hash),
    ))
    .execute(c)?;
    if moved != 1 {
        return Err(AppError::internal(
            "audit append",
            std::io::Error::other("the audit head moved during the write"),
        ));
    }
    Ok(())
}

/// An event's content as inserted. Every column is bound, a `None` as NULL (never the
/// column's default), so the statement's text is always the same and stays prepared. It owns
/// its values: diesel keeps an insert of a fixed number of rows prepared by the rows' type,
/// which must then be `'static`.
#[derive(Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct QueuedRow {
    id: String,
    use_case_id: Option<CaseId>,
    actor_id: Option<UserId>,
    action: String,
    from_status: Option<String>,
    to_status: Option<String>,
    details: String,
    created_at: NaiveDateTime,
}

impl QueuedRow {
    /// The event without its place in the chain: `seq`, `prev_hash` and `hash` take the
    /// columns' defaults, which mark it pending on PostgreSQL.
    fn of(r: StoredEvent) -> QueuedRow {
        QueuedRow {
            id: r.id,
            use_case_id: r.use_case_id,
            actor_id: r.actor_id,
            action: r.action,
            from_status: r.from_status,
            to_status: r.to_status,
            details: r.details_json,
            created_at: r.created_at,
        }
    }
}

/// An event as inserted in its place in the chain.
#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct ChainedRow {
    #[diesel(embed)]
    event: QueuedRow,
    seq: i64,
    prev_hash: String,
    hash: String,
}

impl ChainedRow {
    fn of(mut r: StoredEvent) -> ChainedRow {
        ChainedRow {
            seq: r.seq,
            prev_hash: std::mem::take(&mut r.prev_hash),
            hash: std::mem::take(&mut r.hash),
            event: QueuedRow::of(r),
        }
    }
}

/// Gives `rows` the sequence numbers after `seq` and chains them after `prev` (under `key`
/// when given); returns the last hash.
fn link(
    key: Option<&AuditKey>,
    mut seq: i64,
    mut prev: String,
    rows: &mut [StoredEvent],
) -> String {
    for r in rows {
        seq += 1;
        r.seq = seq;
        r.hash = stored_hash(key, r, &prev);
        r.prev_hash = std::mem::replace(&mut prev, r.hash.clone());
    }
    prev
}

/// PostgreSQL: chains the events writers queued and committed, in the order they were
/// queued, its own instance's and any other's; returns how many. It stops after a batch shorter
/// than the most a round takes: that was everything pending when it read, and what was queued
/// since is chained by the round its own writer asks for (so it ends even while other
/// instances keep writing). Instances do not take turns: when two chain at the same moment,
/// the head makes one of them void and that one reads again ([`chain_round`]); no writer
/// waits for another's chaining. The chainer, writers without one, start-up, `audit verify`
/// and sealing call it. Run with the key the trail is sealed with (see [`with_key`]).
pub fn sequence(conn: &mut DbConnection) -> AppResult<usize> {
    let mut done = 0;
    loop {
        match chain_round(conn)? {
            Round::Idle => return Ok(done),
            Round::Chained(n) if n < CHAIN_BATCH as usize => return Ok(done + n),
            Round::Chained(n) => done += n,
            Round::Raced => {}
        }
    }
}

/// The most pending events one statement chains.
const CHAIN_BATCH: i64 = 1000;

/// What a round of chaining did.
enum Round {
    /// Nothing was pending.
    Idle,
    /// Chained this many events.
    Chained(usize),
    /// Another chainer moved the head between the read and the write: nothing was written.
    Raced,
}

#[derive(QueryableByName)]
struct Moved {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    moved: i64,
}

/// One round of chaining, in two round trips and without a lock: reads a batch of pending
/// events with the head they follow (one query, one snapshot), links them, and moves them and
/// the head in one statement that takes effect only if the head is still the one read.
///
/// That condition is what keeps the chain whole when instances chain at once. The head's
/// UPDATE waits for any other chainer's uncommitted UPDATE of it and then re-reads the row, so
/// two rounds can never both move it from the same place; and the events move only if the
/// head did (they join its RETURNING), in the same statement, so a void round writes nothing.
/// The head only ever advances, so finding it where it was read means nothing was chained
/// since, and every event read is still pending. Should the events moved be neither none nor
/// all of them (something other than a chainer changed the trail), the statement divides by
/// zero and fails whole, and the error is the caller's.
///
/// Chaining is derived from rows already durable: if a crash loses this commit, the events are
/// simply pending again and the next round chains them. So the statement does not wait for
/// its own flush (`synchronous_commit` off for its own transaction alone); a checkpoint
/// forces one.
fn chain_round(conn: &mut DbConnection) -> AppResult<Round> {
    let batch: Vec<(StoredEvent, (i64, String))> = audit_events::table
        .inner_join(audit_head::table.on(audit_head::id.eq(1)))
        .filter(audit_events::seq.lt(0))
        .order(audit_events::seq.desc())
        .limit(CHAIN_BATCH)
        .select((
            audit_events::all_columns,
            (audit_head::seq, audit_head::hash),
        ))
        .load(conn)?;
    let Some((_, (seq, prev))) = batch.first() else {
        return Ok(Round::Idle);
    };
    let (seq, prev) = (*seq, literal(prev.clone())?);
    let (queued, mut pending): (Vec<i64>, Vec<StoredEvent>) =
        batch.into_iter().map(|(e, _)| (e.seq, e)).unzip();
    let head_hash = link(current_key().as_ref(), seq, prev.clone(), &mut pending);
    let n = pending.len() as i64;
    // One statement for the batch: the values are numbers and hex (checked above).
    let values: Vec<String> = pending
        .iter()
        .zip(queued)
        .map(|(e, was)| format!("({was}, {}, '{}', '{}')", e.seq, e.prev_hash, e.hash))
        .collect();
    // Inside a caller's transaction, its commit is not this round's to make asynchronous.
    let durability = if super::in_transaction(conn) {
        "NULL"
    } else {
        "set_config('synchronous_commit', 'off', true)"
    };
    let moved: Moved = diesel::sql_query(format!(
        "WITH head AS (UPDATE audit_head SET seq = {}, hash = '{head_hash}' \
           WHERE id = 1 AND seq = {seq} AND hash = '{prev}' RETURNING id), \
         v (was, seq, prev_hash, hash) AS (VALUES {}), \
         moved AS (UPDATE audit_events e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash \
           FROM v, head WHERE e.seq = v.was RETURNING 1) \
         SELECT count(*) / (count(*) IN (0, {n}))::int AS moved, {durability} AS durability \
         FROM moved",
        seq + n,
        values.join(", "),
    ))
    .get_result(conn)?;
    Ok(match moved.moved {
        0 => Round::Raced,
        _ => Round::Chained(pending.len()),
    })
}

fn literal(hash: String) -> AppResult<String> {
    if hash.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(hash)
    } else {
        Err(AppError::broken(
            "the audit chain's head is not a hash: run aitriage audit verify",
        ))
    }
}

/// Events in the order of the chain: chained ones by sequence number, then any still
/// pending (PostgreSQL writers mid-way) in the order they were queued.
pub fn in_chain_order(events: &mut [StoredEvent]) {
    events.sort_by_key(|e| chain_position(e.seq));
}

/// Where an event with sequence number `seq` stands in the chain: chained events by their
/// number, then pending ones (queued with a negative number, counting down) in queue order.
pub fn chain_position(seq: i64) -> (bool, i64) {
    (seq < 0, seq.abs())
}

/// The sequence number of the newest chained event (what a checkpoint signs).
pub fn head_seq(conn: &mut DbConnection) -> AppResult<i64> {
    Ok(audit_head::table
        .filter(audit_head::id.eq(1))
        .select(audit_head::seq)
        .get_result(conn)?)
}

/// How many events have been committed, chained or still pending. Every change to a case
/// appends an event, and chaining only moves events from pending to chained, so this grows
/// with every committed change and with nothing else: it versions anything computed from the
/// cases, for every instance on the same database. One statement, so the head and the pending
/// events are counted in one snapshot.
pub fn committed_events(conn: &mut DbConnection) -> AppResult<i64> {
    let pending = audit_events::table
        .filter(audit_events::seq.lt(0))
        .count()
        .single_value();
    let (chained, pending): (i64, Option<i64>) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, pending))
        .get_result(conn)?;
    Ok(chained + pending.unwrap_or(0))
}

/// A case's events, oldest first.
pub fn for_case(conn: &mut DbConnection, use_case_id: &CaseId) -> AppResult<Vec<StoredEvent>> {
    let mut events = audit_events::table
        .filter(audit_events::use_case_id.eq(use_case_id))
        .load(conn)?;
    in_chain_order(&mut events);
    Ok(events)
}

/// The first event where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub seq: i64,
    pub id: String,
    pub reason: String,
}

/// What the head row says: how many events, the last hash, and which key seals the chain.
fn head(conn: &mut DbConnection) -> AppResult<(i64, String, Option<String>)> {
    Ok(native!(conn, |c| audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash, audit_head::key_id))
        .get_result(c))?)
}

/// Why a process may not write to this audit trail with the key it holds.
#[derive(Debug, thiserror::Error)]
pub enum KeyMismatch {
    #[error("the audit trail is sealed with key {0}, and no audit key is configured: set AUDIT_KEY or AUDIT_KEY_FILE")]
    KeyMissing(String),
    #[error(
        "the audit trail is sealed with key {trail}, not with the configured key {configured}"
    )]
    WrongKey { trail: String, configured: String },
    #[error("the audit trail's {0} events were written without a key: run `aitriage audit seal` once with the key configured (it verifies the chain, then seals it)")]
    Unsealed(i64),
}

/// Whether the trail is sealed with `key` (or, with None, not sealed): what a process must
/// hold to chain events into it. Reads only.
pub fn holds_key(conn: &mut DbConnection, key: Option<&AuditKey>) -> AppResult<bool> {
    Ok(head(conn)?.2 == key.map(AuditKey::id))
}

/// Checks that a process holding `key` (or none) may append to this trail, before it does.
/// An empty trail takes the key it is first given; a trail written without a key must be
/// sealed first; a sealed trail refuses any other key, and a process without one.
pub fn check_key(
    conn: &mut DbConnection,
    key: Option<&AuditKey>,
) -> AppResult<Result<(), KeyMismatch>> {
    let (seq, _, trail) = head(conn)?;
    Ok(match (trail, key) {
        (None, None) => Ok(()),
        (Some(t), None) => Err(KeyMismatch::KeyMissing(t)),
        (Some(t), Some(k)) if t == k.id() => Ok(()),
        (Some(t), Some(k)) => Err(KeyMismatch::WrongKey {
            trail: t,
            configured: k.id(),
        }),
        (None, Some(_)) if seq > 0 => Err(KeyMismatch::Unsealed(seq)),
        (None, Some(k)) => {
            // Only while still empty: a concurrent first event makes this update nothing.
            diesel::update(
                audit_head::table
                    .filter(audit_head::id.eq(1))
                    .filter(audit_head::seq.eq(0)),
            )
            .set(audit_head::key_id.eq(k.id()))
            .execute(conn)?;
            return check_key(conn, Some(k));
        }
    })
}

/// Seals a trail written without a key: verifies its plain chain, then re-hashes every event
/// under `key`, in one transaction. Returns how many events were sealed. The operator
/// running it vouches for the history up to now.
pub fn seal(conn: &mut DbConnection, key: &AuditKey) -> AppResult<Result<i64, Broken>> {
    if let DbConnection::Pg(_) = conn {
        with_key(None, || sequence(conn))?;
    }
    super::write(conn, |conn| {
        if let DbConnection::Pg(_) = conn {
            // Hold the head until sealed: a chainer of a running instance that read it before
            // waits, then finds its hash changed and reads again, chaining under the key.
            diesel::sql_query("SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE").execute(conn)?;
        }
        let (_, _, trail) = head(conn)?;
        if let Some(t) = trail {
            return Err(AppError::conflict(
                format!("the audit trail is already sealed with key {t}"),
                None,
            ));
        }
        let n = match walk(conn, None, true)? {
            Ok(n) => n,
            Err(b) => return Ok(Err(b)),
        };
        let mut prev = String::from("genesis");
        let mut from = 1;
        loop {
            let batch = events_from(conn, from)?;
            if batch.is_empty() {
                break;
            }
            for e in batch {
                let hash = stored_hash(Some(key), &e, &prev);
                diesel::update(audit_events::table.filter(audit_events::seq.eq(e.seq)))
                    .set((
                        audit_events::prev_hash.eq(&prev),
                        audit_events::hash.eq(&hash),
                    ))
                    .execute(conn)?;
                prev = hash;
                from = e.seq + 1;
            }
        }
        diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
            .set((audit_head::hash.eq(&prev), audit_head::key_id.eq(key.id())))
            .execute(conn)?;
        Ok(Ok(n))
    })
}

fn events_from(conn: &mut DbConnection, seq: i64) -> AppResult<Vec<StoredEvent>> {
    Ok(audit_events::table
        .filter(audit_events::seq.ge(seq))
        .order(audit_events::seq.asc())
        .limit(5000)
        .load(conn)?)
}

/// The hash a stored event should have after `prev` (under `key` when given).
pub fn stored_hash(key: Option<&AuditKey>, e: &StoredEvent, prev: &str) -> String {
    event_hash(
        key,
        e.seq,
        &e.id,
        e.use_case_id.as_ref().map(CaseId::as_str),
        e.actor_id.as_ref().map(UserId::as_str),
        &e.action,
        e.from_status.as_deref(),
        e.to_status.as_deref(),
        &e.details_json,
        e.created_at,
        prev,
    )
}

/// Walks the whole chain in order: sequence numbers without gaps, each event's `prev_hash`
/// equal to the previous event's hash, each hash equal to one recomputed from the content
/// (under `key` when given; with `key` None on a sealed chain, `content` is false and only
/// the links are checked), and the head matching the last event. Returns the number of
/// events.
fn walk(
    conn: &mut DbConnection,
    key: Option<&AuditKey>,
    content: bool,
) -> AppResult<Result<i64, Broken>> {
    let mut expected = 1i64;
    let mut prev = String::from("genesis");
    let mut last_id = String::new();
    loop {
        let batch = events_from(conn, expected)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            let broken = |reason: String| {
                Ok(Err(Broken {
                    seq: e.seq,
                    id: e.id.clone(),
                    reason,
                }))
            };
            if e.seq != expected {
                return broken(format!(
                    "sequence jumps from {} to {}: events are missing",
                    expected - 1,
                    e.seq
                ));
            }
            if e.prev_hash != prev {
                return broken("its prev_hash is not the previous event's hash: an event before it was changed, removed or inserted".into());
            }
            if content && stored_hash(key, &e, &e.prev_hash) != e.hash {
                return broken(match key {
                    Some(_) => "its content does not match its keyed hash: the event was altered, or written by someone without the audit key".into(),
                    None => "its content does not match its hash: the event was altered".into(),
                });
            }
            prev = e.hash;
            last_id = e.id;
            expected += 1;
        }
    }
    let (head_seq, head_hash, _) = head(conn)?;
    if head_seq != expected - 1 || head_hash != prev {
        return Ok(Err(Broken {
            seq: expected - 1,
            id: last_id,
            reason: format!(
                "the chain's head records {head_seq} events but {} were found: events were removed from the end or the head was changed",
                expected - 1
            ),
        }));
    }
    Ok(Ok(expected - 1))
}

/// What a verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub events: i64,
    /// The chain is sealed with the key given, and every event's keyed hash was checked.
    pub keyed: bool,
    /// The chain is sealed but no key was given: only the links between events were checked.
    pub links_only: bool,
    /// Events written but not yet chained (PostgreSQL writers mid-way, or one that stopped
    /// between its commit and chaining; the next writer chains them).
    pub pending: i64,
}

/// Verifies the chain: under `key` when given (then the trail must be sealed with it, and
/// every event's keyed hash is checked), in plain SHA-256 when the trail was written without
/// a key, and only its links when it is sealed and no key is given. Run it inside
/// [`snapshot`] on a live database.
pub fn verify(
    conn: &mut DbConnection,
    key: Option<&AuditKey>,
) -> AppResult<Result<Verified, Broken>> {
    let (_, _, trail) = head(conn)?;
    let refuse = |reason: String| {
        Ok(Err(Broken {
            seq: 0,
            id: String::new(),
            reason,
        }))
    };
    match (&trail, key) {
        (None, Some(k)) => {
            return refuse(format!(
                "the trail is not sealed, but key {} was given: it was written without a key, or someone removed its seal",
                k.id()
            ))
        }
        (Some(t), Some(k)) if *t != k.id() => {
            return refuse(format!("the trail is sealed with key {t}, not with {}", k.id()))
        }
        _ => {}
    }
    let links_only = trail.is_some() && key.is_none();
    let pending = audit_events::table
        .filter(audit_events::seq.lt(0))
        .count()
        .get_result(conn)?;
    Ok(walk(conn, key, !links_only)?.map(|events| Verified {
        events,
        keyed: key.is_some(),
        links_only,
        pending,
    }))
}

/// Runs `f` in one read-only snapshot of the database, so a verification on a live database
/// sees the chain, its head and the cases as of one moment.
pub fn snapshot<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> AppResult<T>,
) -> AppResult<T> {
    conn.transaction::<T, AppError, _>(|conn| {
        if let DbConnection::Pg(_) = conn {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        f(conn)
    })
}

/// A signed statement of the chain's head at a moment, kept outside the database: a later
/// verification given it detects events removed or rewritten up to that head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// Events in the chain, and the hash of the last one (`genesis` when empty).
    pub seq: i64,
    pub head: String,
    pub at: String,
    /// The key that sealed the chain and signs this checkpoint; none for a plain chain.
    pub key_id: Option<String>,
    /// HMAC-SHA256 under that key over the fields above.
    pub mac: Option<String>,
}

const CHECKPOINT_FORMAT: &str = "aitriage-audit-checkpoint/1";

/// Why the chain does not hold a checkpoint: a finding of a verification (the report names
/// it), not a failure to run one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointMismatch {
    #[error("unknown checkpoint format {0:?}")]
    UnknownFormat(String),
    #[error("the checkpoint is not signed, but a key was given")]
    Unsigned,
    #[error("the checkpoint's signature does not match the key: it was forged or altered")]
    Forged,
    #[error(
        "the chain has {events} events, but {checkpointed} were checkpointed at {at}: events were removed from the end"
    )]
    Shortened {
        events: i64,
        checkpointed: i64,
        at: String,
    },
    #[error("event {0} is missing")]
    Missing(i64),
    #[error("event {seq} is not the one checkpointed at {at}: the chain up to it was rewritten")]
    Rewritten { seq: i64, at: String },
}

impl Checkpoint {
    fn signature(&self, key: &AuditKey) -> String {
        let mut m = Framed::new(Some(key));
        for part in [
            self.format.as_str(),
            &self.seq.to_string(),
            &self.head,
            &self.at,
            self.key_id.as_deref().unwrap_or(""),
        ] {
            m.part(Some(part.as_bytes()));
        }
        m.finish()
    }

    /// Whether it is signed by `key` (a plain checkpoint when there is none).
    fn signed_by(&self, key: Option<&AuditKey>) -> Result<(), CheckpointMismatch> {
        match (key, &self.mac) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(CheckpointMismatch::Unsigned),
            (Some(k), Some(mac)) => {
                use subtle::ConstantTimeEq;
                if bool::from(mac.as_bytes().ct_eq(self.signature(k).as_bytes())) {
                    Ok(())
                } else {
                    Err(CheckpointMismatch::Forged)
                }
            }
        }
    }
}

/// A checkpoint of the chain's head now, signed with `key` when given.
pub fn checkpoint(conn: &mut DbConnection, key: Option<&AuditKey>) -> AppResult<Checkpoint> {
    let (seq, head_hash, _) = head(conn)?;
    if let DbConnection::Pg(_) = conn {
        // The head read may come from a chaining not yet flushed (`sequence` commits without
        // waiting): a durable commit flushes the log up to it, so the checkpoint never names a
        // head a crash could take back.
        conn.transaction::<_, AppError, _>(|conn| {
            diesel::sql_query("SELECT txid_current()").execute(conn)?;
            Ok(())
        })?;
    }
    let mut cp = Checkpoint {
        format: CHECKPOINT_FORMAT.into(),
        seq,
        head: head_hash,
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        key_id: key.map(AuditKey::id),
        mac: None,
    };
    cp.mac = key.map(|k| cp.signature(k));
    Ok(cp)
}

/// Checks the chain against a checkpoint taken earlier: it is signed by `key`, the chain is at
/// least as long, and its event at the checkpoint's sequence number has the hash recorded.
/// Run it after [`verify`] has found the chain itself intact.
pub fn check_checkpoint(
    conn: &mut DbConnection,
    cp: &Checkpoint,
    key: Option<&AuditKey>,
) -> AppResult<Result<(), CheckpointMismatch>> {
    if cp.format != CHECKPOINT_FORMAT {
        return Ok(Err(CheckpointMismatch::UnknownFormat(cp.format.clone())));
    }
    if let Err(e) = cp.signed_by(key) {
        return Ok(Err(e));
    }
    let (seq, _, _) = head(conn)?;
    if seq < cp.seq {
        return Ok(Err(CheckpointMismatch::Shortened {
            events: seq,
            checkpointed: cp.seq,
            at: cp.at.clone(),
        }));
    }
    let hash: String = if cp.seq == 0 {
        "genesis".into()
    } else {
        match audit_events::table
            .filter(audit_events::seq.eq(cp.seq))
            .select(audit_events::hash)
            .get_result(conn)
            .optional()?
        {
            Some(h) => h,
            None => return Ok(Err(CheckpointMismatch::Missing(cp.seq))),
        }
    };
    if hash != cp.head {
        return Ok(Err(CheckpointMismatch::Rewritten {
            seq: cp.seq,
            at: cp.at.clone(),
        }));
    }
    Ok(Ok(()))
}
