//! The audit trail's checks for operators: a full verification (the chain, every case
//! against its trail, and the checkpoints kept outside the database), and checkpoints of the
//! chain's head written to files and announced to the webhook.

use std::path::{Path, PathBuf};

use crate::config::AuditKey;
use crate::db::audit::{self, Checkpoint, Verified};
use crate::db::{integrity, DbConnection, Pool};
use crate::error::{AppError, AppResult};

/// What `aitriage audit verify` found: one line per fact checked, and whether all held.
#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub problems: usize,
}

impl Report {
    fn ok(&mut self, line: String) {
        self.lines.push(line);
    }

    fn problem(&mut self, line: String) {
        self.problems += 1;
        self.lines.push(format!("PROBLEM: {line}"));
    }
}

/// Reads checkpoints from files, and from the `*.json` files of directories.
pub fn read_checkpoints(paths: &[PathBuf]) -> AppResult<Vec<(PathBuf, Checkpoint)>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p)
                .map_err(|e| AppError::BadRequest(format!("{}: {e}", p.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f)
                .map_err(|e| AppError::BadRequest(format!("{}: {e}", f.display())))?;
            let cp = serde_json::from_str(&text).map_err(|e| {
                AppError::BadRequest(format!("{}: not a checkpoint ({e})", f.display()))
            })?;
            Ok((f, cp))
        })
        .collect()
}

/// Verifies, in one snapshot: the chain (under `key` when given), every case's stored state
/// against its events, and the chain against each checkpoint.
pub fn verify(
    conn: &mut DbConnection,
    key: Option<&AuditKey>,
    checkpoints: &[(PathBuf, Checkpoint)],
) -> AppResult<Report> {
    // Chain what writers left queued, when this process holds the trail's key.
    if matches!(conn, DbConnection::Pg(_)) && audit::holds_key(conn, key)? {
        audit::with_key(key, || audit::sequence(conn))?;
    }
    audit::snapshot(conn, |conn| {
        let mut report = Report::default();
        let chain = audit::verify(conn, key)?;
        match &chain {
            Err(b) => report.problem(format!(
                "audit chain broken at event seq {} (id {}): {}",
                b.seq, b.id, b.reason
            )),
            Ok(v) if v.links_only => report.ok(format!(
                "audit chain linked: {} events; the trail is sealed, so without the audit key their contents were not checked",
                v.events
            )),
            Ok(v) if v.keyed => report.ok(format!(
                "audit chain intact: {} events, each sealed with the audit key",
                v.events
            )),
            Ok(v) => report.ok(format!(
                "audit chain intact: {} events (not sealed: anyone who can write to the database could re-hash it)",
                v.events
            )),
        }
        if let Ok(Verified { pending: n, .. }) = &chain {
            if *n > 0 {
                report.ok(format!(
                    "{n} event(s) written but not yet chained (writes in flight)"
                ));
            }
        }
        let cases = integrity::check_all(conn, 1000)?;
        if cases.is_empty() {
            report.ok("every case agrees with its trail".into());
        }
        for (id, found) in cases {
            let found: Vec<String> = found.iter().map(ToString::to_string).collect();
            report.problem(format!(
                "case {id} disagrees with its trail: {}",
                found.join("; ")
            ));
        }
        for (path, cp) in checkpoints {
            match audit::check_checkpoint(conn, cp, key)? {
                Ok(()) => report.ok(format!(
                    "checkpoint {} holds: event {} is the one recorded at {}",
                    path.display(),
                    cp.seq,
                    cp.at
                )),
                Err(why) => report.problem(format!("checkpoint {}: {why}", path.display())),
            }
        }
        Ok(report)
    })
}

/// Takes a checkpoint and writes it to `out`: into a directory as
/// `checkpoint-<seq>-<time>.json`, or to that file. When a webhook is configured, the
/// checkpoint is also queued for it (`audit.checkpoint`), so a copy leaves the machine.
pub fn write_checkpoint(
    conn: &mut DbConnection,
    key: Option<&AuditKey>,
    out: &Path,
    announce: bool,
) -> AppResult<(PathBuf, Checkpoint)> {
    let cp = audit::checkpoint(conn, key)?;
    let path = if out.is_dir() {
        out.join(format!(
            "checkpoint-{:012}-{}.json",
            cp.seq,
            cp.at.replace(':', "")
        ))
    } else {
        out.to_path_buf()
    };
    let json = serde_json::to_string_pretty(&cp)?;
    std::fs::write(&path, json + "\n")
        .map_err(|e| AppError::internal(format!("writing {}", path.display()), e))?;
    if announce {
        crate::db::outbox::enqueue(conn, "audit.checkpoint", None, &serde_json::to_value(&cp)?)?;
    }
    Ok((path, cp))
}

/// Writes a checkpoint into `dir` every `every` while the chain's head has moved since the
/// last one, on a thread of its own for the life of the process.
pub fn spawn_checkpoints(
    pool: Pool,
    key: Option<AuditKey>,
    dir: PathBuf,
    every: std::time::Duration,
    announce: bool,
) {
    std::thread::spawn(move || {
        let mut last = -1i64;
        loop {
            let taken = crate::db::with_conn(&pool, |conn| {
                if audit::head_seq(conn)? == last {
                    return Ok(None);
                }
                audit::with_key(key.as_ref(), || {
                    write_checkpoint(conn, key.as_ref(), &dir, announce)
                })
                .map(Some)
            });
            match taken {
                Ok(Some((path, cp))) => {
                    last = cp.seq;
                    tracing::info!(path = %path.display(), seq = cp.seq, "audit checkpoint written");
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e.chain(), "audit checkpoint failed"),
            }
            std::thread::sleep(every);
        }
    });
}
