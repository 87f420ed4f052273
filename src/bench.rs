//! `aitriage bench`: measures, in one process on a fresh temporary database, the raw storage
//! ceiling, intake over HTTP at several concurrencies against it, triage speed in memory,
//! radar and summary latency at portfolio sizes, `rules simulate`, and resident memory.
//! It prints one table. Nothing here is asserted; `--quick` runs a small version.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

use actix_web::web;

use crate::config::Config;
use crate::db::schema::{assessments, use_cases};
use crate::db::{self, audit, Backend, DbConnection, Pool};
use crate::domain::access::{Principal, ReviewScope, Role};
use crate::domain::answers::{self, Answers};
use crate::domain::assess;
use crate::domain::case::Status;
use crate::domain::hints::CaseText;
use crate::domain::simulate::Summary;
use crate::error::AppError;
use crate::http::AppState;
use crate::rules::cases::load_cases;
use crate::rules::RuleSet;
use crate::vocab::CaseId;

pub struct Options {
    /// `None`: a temporary SQLite file; else a PostgreSQL URL (a fresh schema is used and dropped).
    pub database_url: Option<String>,
    pub sizes: Vec<usize>,
    pub clients: Vec<usize>,
    /// Submissions per client at each concurrency.
    pub per_client: usize,
    pub triage_seconds: f64,
}

impl Options {
    pub fn full(database_url: Option<String>) -> Options {
        Options {
            database_url,
            sizes: vec![10_000, 100_000],
            clients: vec![1, 8, 32],
            per_client: 150,
            triage_seconds: 2.0,
        }
    }

    pub fn quick(database_url: Option<String>) -> Options {
        Options {
            database_url,
            sizes: vec![300],
            clients: vec![1, 4],
            per_client: 5,
            triage_seconds: 0.1,
        }
    }
}

struct Row {
    what: String,
    value: String,
}

fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A database for the run: a temporary SQLite file, or a fresh PostgreSQL schema.
struct Target {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Target {
    fn new(url: Option<String>) -> anyhow::Result<Target> {
        match url {
            Some(base) if Backend::of(&base) == Backend::Postgres => {
                let schema = format!("bench_{}", uuid::Uuid::now_v7().simple());
                let mut c = diesel::pg::PgConnection::establish(&base).map_err(|e| anyhow::anyhow!("PostgreSQL: {e}"))?;
                c.batch_execute(&format!("CREATE SCHEMA {schema}"))?;
                let sep = if base.contains('?') { '&' } else { '?' };
                Ok(Target {
                    url: format!("{base}{sep}options=-csearch_path%3D{schema}"),
                    _dir: None,
                    pg: Some((base, schema)),
                })
            }
            Some(other) => Err(anyhow::anyhow!("--database-url takes a postgres:// URL (SQLite runs on a temporary file), not {other}")),
            None => {
                let dir = tempfile::Builder::new().prefix("aitriage-bench-").tempdir()?;
                Ok(Target {
                    url: dir.path().join("bench.db").to_string_lossy().to_string(),
                    _dir: Some(dir),
                    pg: None,
                })
            }
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg {
            if let Ok(mut c) = diesel::pg::PgConnection::establish(base) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn app_err(e: AppError) -> anyhow::Error {
    anyhow::anyhow!(e.describe())
}

/// The title and summary of a request body.
fn text_of(body: &Value) -> CaseText<'_> {
    CaseText {
        title: body["title"].as_str().unwrap_or_default(),
        summary: body["summary"].as_str().unwrap_or_default(),
    }
}

/// Answer sets to submit: the rule pack's example cases, as JSON bodies and parsed answers.
fn samples(rules: &RuleSet, rules_dir: &std::path::Path) -> anyhow::Result<Vec<(Value, Answers)>> {
    let examples = load_cases(&rules_dir.join("cases"))?;
    let out: Vec<(Value, Answers)> = examples
        .into_iter()
        .filter_map(|c| {
            let a = answers::parse(&rules.questionnaire, &c.answers).ok()?;
            let text = CaseText {
                title: &c.title,
                summary: &c.summary,
            };
            assess(rules, &a, text, true).ok()?;
            Some((json!({"title": c.title, "summary": c.summary, "business_function": c.business_function, "answers": c.answers}), a))
        })
        .collect();
    if out.is_empty() {
        anyhow::bail!("the rule pack has no complete example cases to submit");
    }
    Ok(out)
}

/// The writes of one create + submit, straight through diesel: the ceiling for intake.
/// Runs one of the raw ceiling's transactions on its own connection, as an application
/// writing straight to the database would: no group commit.
fn raw_transaction(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<(), AppError>,
) -> Result<(), AppError> {
    use diesel::Connection;
    conn.transaction(f)
}

/// The raw ceiling's first transaction: a draft's row and its audit event.
fn raw_create(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    t: chrono::NaiveDateTime,
    answers: &str,
) -> Result<(), AppError> {
    raw_transaction(conn, |conn| {
        db::native!(&mut *conn, |c| diesel::insert_into(use_cases::table)
            .values((
                use_cases::id.eq(id),
                use_cases::agency_id.eq(&who.agency_id),
                use_cases::title.eq("raw"),
                use_cases::summary.eq(""),
                use_cases::business_function.eq(""),
                use_cases::status.eq("draft"),
                use_cases::version.eq(1),
                use_cases::revision.eq(0),
                use_cases::answers.eq(answers),
                use_cases::created_by.eq(&who.user_id),
                use_cases::created_at.eq(t),
                use_cases::updated_at.eq(t),
            ))
            .execute(c))?;
        audit::append(
            conn,
            &[audit::Event {
                use_case_id: Some(id),
                actor_id: Some(&who.user_id),
                action: "created",
                from_status: None,
                to_status: Some(Status::Draft),
                details: json!({}),
            }],
        )
    })
}

/// The raw ceiling's second transaction: the submission's rows and audit events.
fn raw_submit(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    t: chrono::NaiveDateTime,
    (scores, triage, answers): (&str, &str, &str),
) -> Result<(), AppError> {
    raw_transaction(conn, |conn| {
        db::native!(&mut *conn, |c| diesel::update(
            use_cases::table
                .filter(use_cases::id.eq(id))
                .filter(use_cases::version.eq(1)),
        )
        .set((
            use_cases::status.eq("awaiting_approval"),
            use_cases::version.eq(2),
            use_cases::revision.eq(1),
            use_cases::scores.eq(scores),
            use_cases::triage.eq(triage),
            use_cases::priority.eq(50),
            use_cases::tier.eq("high"),
            use_cases::route.eq("human_approval"),
        ))
        .execute(c))?;
        db::native!(&mut *conn, |c| diesel::insert_into(assessments::table)
            .values((
                assessments::id.eq(db::new_id()),
                assessments::use_case_id.eq(id),
                assessments::revision.eq(1),
                assessments::answers.eq(answers),
                assessments::scores.eq(scores),
                assessments::triage.eq(triage),
                assessments::tier.eq("high"),
                assessments::route.eq("human_approval"),
                assessments::rules_version.eq("raw"),
                assessments::created_at.eq(t),
            ))
            .execute(c))?;
        db::outbox::enqueue(conn, "case.submitted", Some(id), &json!({}))?;
        audit::append(
            conn,
            &[
                audit::Event {
                    use_case_id: Some(id),
                    actor_id: Some(&who.user_id),
                    action: "submitted",
                    from_status: Some(Status::Draft),
                    to_status: Some(Status::Submitted),
                    details: json!({}),
                },
                audit::Event {
                    use_case_id: Some(id),
                    actor_id: None,
                    action: "triaged",
                    from_status: Some(Status::Submitted),
                    to_status: Some(Status::AwaitingApproval),
                    details: json!({}),
                },
            ],
        )
    })
}

fn raw_submission(
    conn: &mut DbConnection,
    who: &Principal,
    scores: &str,
    triage: &str,
    answers: &str,
) -> Result<(), AppError> {
    let id = CaseId::generate();
    let t = db::now();
    raw_create(conn, who, &id, t, answers)?;
    raw_submit(conn, who, &id, t, (scores, triage, answers))
}

/// Submissions per second through diesel alone, with `threads` writers.
fn raw_ceiling(
    pool: &Pool,
    who: &Principal,
    rules: &RuleSet,
    sample: &Answers,
    total: usize,
    threads: usize,
) -> anyhow::Result<f64> {
    let a = assess(rules, sample, CaseText::default(), true)
        .map_err(|_| anyhow::anyhow!("sample incomplete"))?;
    let scores = serde_json::to_string(&a.scores)?;
    let triage = serde_json::to_string(&a.triage)?;
    let answers = serde_json::to_string(sample)?;
    let start = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    let mut c = pool.get()?;
                    for _ in 0..total / threads {
                        raw_submission(&mut c, who, &scores, &triage, &answers).map_err(app_err)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("writer panicked"))?)
    })?;
    let rate = (total / threads * threads) as f64 / start.elapsed().as_secs_f64();
    // On PostgreSQL the rows' audit events were queued: chain them now, untimed, so that the
    // intake measured next does not pay for them.
    if let DbConnection::Pg(_) = &mut *pool.get()? {
        audit::sequence(&mut *pool.get()?).map_err(app_err)?;
    }
    Ok(rate)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Create + submit over HTTP from `clients` threads, spread over the instances at `bases`;
/// submissions per second, per-submission latencies, and the CPU time the clients used.
fn http_intake(
    bases: &[&str],
    token: &str,
    bodies: &[Value],
    clients: usize,
    per_client: usize,
) -> anyhow::Result<(f64, Vec<Duration>, f64)> {
    let start = Instant::now();
    let mut client_cpu = 0.0;
    let mut latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let base = bases[c % bases.len()];
                s.spawn(move || -> anyhow::Result<(Vec<Duration>, f64)> {
                    let cpu = thread_cpu_seconds();
                    let a = agent();
                    let mut lat = Vec::with_capacity(per_client);
                    for i in 0..per_client {
                        let body = bodies[(c * 7 + i) % bodies.len()].to_string();
                        let t0 = Instant::now();
                        let mut res = a
                            .post(&format!("{base}/api/v1/use-cases"))
                            .header("Authorization", &format!("Bearer {token}"))
                            .header("Content-Type", "application/json")
                            .send(body)?;
                        let created: Value =
                            serde_json::from_str(&res.body_mut().read_to_string()?)?;
                        let id = created["id"]
                            .as_str()
                            .ok_or_else(|| anyhow::anyhow!("create failed: {created}"))?;
                        let mut sub = a
                            .post(&format!("{base}/api/v1/use-cases/{id}/submit"))
                            .header("Authorization", &format!("Bearer {token}"))
                            .send_empty()?;
                        if sub.status() != 200 {
                            return Err(anyhow::anyhow!(
                                "submit: HTTP {} {}",
                                sub.status(),
                                sub.body_mut().read_to_string().unwrap_or_default()
                            ));
                        }
                        let _ = sub.body_mut().read_to_string();
                        lat.push(t0.elapsed());
                    }
                    Ok((lat, thread_cpu_seconds() - cpu))
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            let (lat, cpu) = h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
            all.extend(lat);
            client_cpu += cpu;
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let rate = latencies.len() as f64 / start.elapsed().as_secs_f64();
    latencies.sort();
    Ok((rate, latencies, client_cpu))
}

/// The statuses seeded cases take, in turn.
const SEEDED_STATUSES: [&str; 5] = [
    "approved",
    "in_review",
    "awaiting_approval",
    "blocked",
    "rejected",
];

/// Fills the portfolio to `n` triaged cases with direct batch inserts.
fn seed_cases(
    pool: &Pool,
    who: &Principal,
    rules: &RuleSet,
    samples: &[(Value, Answers)],
    n: usize,
) -> anyhow::Result<()> {
    let mut c = pool.get()?;
    let have: i64 = use_cases::table.count().get_result(&mut c)?;
    let prepared = prepare(rules, samples);
    let mut i = have as usize;
    while i < n {
        let chunk = (n - i).min(500);
        seed_chunk(&mut c, who, &prepared, i..i + chunk)?;
        i += chunk;
    }
    mark_seeded(&mut c, n)
}

/// Inserts the seeded cases numbered `range` (the prepared samples in turn), each with the
/// audit event of its triage, in one transaction.
fn seed_chunk(
    c: &mut DbConnection,
    who: &Principal,
    prepared: &[Prepared],
    range: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    let t = db::now();
    let ids: Vec<CaseId> = range.clone().map(|_| CaseId::generate()).collect();
    let rows: Vec<_> = range
        .clone()
        .zip(&ids)
        .map(|(k, id)| {
            let (body, answers, scores, triage, x) = &prepared[k % prepared.len()];
            (
                use_cases::id.eq(id.clone()),
                use_cases::agency_id.eq(who.agency_id.clone()),
                use_cases::title.eq(format!("{} #{k}", body["title"].as_str().unwrap_or("case"))),
                use_cases::summary.eq(body["summary"].as_str().unwrap_or("").to_string()),
                use_cases::business_function
                    .eq(body["business_function"].as_str().unwrap_or("").to_string()),
                use_cases::status.eq(SEEDED_STATUSES[k % SEEDED_STATUSES.len()]),
                use_cases::version.eq(2),
                use_cases::revision.eq(1),
                use_cases::answers.eq(answers.clone()),
                use_cases::created_by.eq(who.user_id.clone()),
                use_cases::created_at.eq(t),
                use_cases::updated_at.eq(t),
                use_cases::submitted_at.eq(Some(t)),
                (
                    use_cases::business_value.eq(Some(x.scores.business_value)),
                    use_cases::feasibility.eq(Some(x.scores.feasibility)),
                    use_cases::readiness.eq(Some(x.scores.readiness)),
                    use_cases::priority.eq(Some(x.scores.priority)),
                    use_cases::quadrant.eq(Some(x.scores.quadrant.clone())),
                    use_cases::tier.eq(Some(x.triage.tier.as_str())),
                    use_cases::route.eq(Some(x.triage.route.as_str())),
                    use_cases::rules_version.eq(Some(x.triage.rules_version.clone())),
                    use_cases::scores.eq(Some(scores.clone())),
                    use_cases::triage.eq(Some(triage.clone())),
                ),
            )
        })
        .collect();
    let events = triaged_events(prepared, range, &ids);
    db::write(c, |c| {
        // Multi-row inserts are backend-specific in diesel: dispatch to the concrete
        // connection.
        match c {
            DbConnection::Sqlite(s) => diesel::insert_into(use_cases::table)
                .values(rows)
                .execute(s),
            DbConnection::Pg(p) => diesel::insert_into(use_cases::table)
                .values(rows)
                .execute(p),
        }?;
        audit::append(c, &events)
    })
    .map_err(app_err)
}

/// Each seeded case's trail says how it was triaged, as a real one's does (the summary checks
/// the cases cleared automatically against it).
fn triaged_events<'a>(
    prepared: &[Prepared],
    range: std::ops::Range<usize>,
    ids: &'a [CaseId],
) -> Vec<audit::Event<'a>> {
    range
        .zip(ids)
        .map(|(k, id)| {
            let x = &prepared[k % prepared.len()].4;
            audit::Event {
                use_case_id: Some(id),
                actor_id: None,
                action: "triaged",
                from_status: Some(Status::Submitted),
                to_status: Status::parse(SEEDED_STATUSES[k % SEEDED_STATUSES.len()]),
                details: json!({ "revision": 1, "tier": x.triage.tier, "route": x.triage.route }),
            }
        })
        .collect()
}

/// Each sample as stored: its body, and its answers, scores and triage as JSON text.
type Prepared = (Value, String, String, String, crate::domain::Assessment);

fn prepare(rules: &RuleSet, samples: &[(Value, Answers)]) -> Vec<Prepared> {
    samples
        .iter()
        .map(|(body, a)| {
            let x = assess(rules, a, text_of(body), true).expect("complete sample");
            (
                body.clone(),
                serde_json::to_string(a).unwrap_or_default(),
                serde_json::to_string(&x.scores).unwrap_or_default(),
                serde_json::to_string(&x.triage).unwrap_or_default(),
                x,
            )
        })
        .collect()
}

/// Real changes always write an audit event; so does this bulk load (it moves the head that
/// versions cached portfolio responses).
fn mark_seeded(conn: &mut DbConnection, n: usize) -> anyhow::Result<()> {
    db::write(conn, |conn| {
        audit::append(
            conn,
            &[audit::Event {
                use_case_id: None,
                actor_id: None,
                action: "bench_seeded",
                from_status: None,
                to_status: None,
                details: json!({ "cases": n }),
            }],
        )
    })
    .map_err(app_err)
}

/// The first request's time (computed), and the median of the following ones (served from
/// the cache while nothing changes).
fn time_get(
    base: &str,
    token: &str,
    path: &str,
    runs: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let a = agent();
    let mut times = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let mut res = a
            .get(&format!("{base}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .call()?;
        if res.status() != 200 {
            return Err(anyhow::anyhow!("GET {path}: HTTP {}", res.status()));
        }
        let _ = res.body_mut().with_config().limit(u64::MAX).read_to_vec()?;
        times.push(t0.elapsed());
    }
    let first = times.remove(0);
    times.sort();
    Ok((first, percentile(&times, 0.5)))
}

/// The measurements so far, each also printed to standard error as it is taken.
#[derive(Default)]
struct Table(Vec<Row>);

impl Table {
    fn push(&mut self, what: String, value: String) {
        eprintln!("  {what}: {value}");
        self.0.push(Row { what, value });
    }

    fn render(&self, backend: Backend, url: &str) -> String {
        let cores = crate::config::cores();
        let mut out = format!(
            "aitriage bench — {} ({}), {cores} core(s), {} build\n",
            match backend {
                Backend::Sqlite => "SQLite (temporary file, WAL, synchronous=NORMAL)",
                Backend::Postgres => "PostgreSQL (fresh schema)",
            },
            db::redact(url),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        );
        let width = self
            .0
            .iter()
            .map(|r| r.what.chars().count())
            .max()
            .unwrap_or(0);
        out += &format!("{:-<w$}\n", "", w = width + 40);
        for r in &self.0 {
            out += &format!("{:<width$}  {}\n", r.what, r.value);
        }
        out
    }
}

/// The bench's users: a submitter (for intake) and a portfolio owner (for the radar); returns
/// the submitter and both API tokens (owner's, submitter's).
fn bench_users(pool: &Pool) -> anyhow::Result<(Principal, String, String)> {
    let mut c = pool.get()?;
    let agency = db::agencies::create(&mut c, "BENCH", "Benchmark agency").map_err(app_err)?;
    let mut user = |email: &str, role: Role| {
        db::users::create(
            &mut c,
            db::users::NewUser {
                agency_id: &agency.id,
                email,
                roles: &[role],
                review_groups: &[],
                review_scope: ReviewScope::Own,
            },
        )
        .and_then(|id| db::users::issue_token(&mut c, &id).map(|t| (id, t)))
        .map_err(app_err)
    };
    let (sid, st) = user("submitter@bench.test", Role::Submitter)?;
    let (_, ot) = user("owner@bench.test", Role::PortfolioOwner)?;
    let p = Principal {
        user_id: sid,
        email: "submitter@bench.test".into(),
        agency_id: agency.id,
        agency_code: "BENCH".into(),
        roles: vec![Role::Submitter],
        review_groups: vec![],
        review_scope: ReviewScope::Own,
    };
    Ok((p, ot, st))
}

/// 1. Triage in memory, one core.
fn measure_triage(table: &mut Table, rules: &RuleSet, samples: &[(Value, Answers)], seconds: f64) {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        for (body, a) in samples {
            let _ = assess(rules, a, text_of(body), true);
            n += 1;
        }
    }
    let triage_rate = n as f64 / start.elapsed().as_secs_f64();
    let native = rules
        .taxonomy
        .rules
        .iter()
        .filter(|r| r.when.is_native())
        .count();
    table.push(
        "triage (scoring + every rule), one core".into(),
        format!(
            "{triage_rate:.0} cases/s ({:.1} µs/case; {} rules, {native} native)",
            1e6 / triage_rate,
            rules.taxonomy.rules.len()
        ),
    );
}

/// 4. Radar, summary and simulate at one portfolio size.
fn measure_portfolio(
    table: &mut Table,
    pool: &Pool,
    (base, owner_token): (&str, &str),
    rules: &RuleSet,
    size: usize,
) -> anyhow::Result<()> {
    let radar = time_get(base, owner_token, "/api/v1/portfolio/radar", 6)?;
    let summary = time_get(base, owner_token, "/api/v1/portfolio/summary", 6)?;
    let label = if size >= 1000 {
        format!("{}k", size / 1000)
    } else {
        size.to_string()
    };
    table.push(
        format!("radar at {label} cases (GET: computed / cached, median of 5)"),
        format!("{} / {}", ms(radar.0), ms(radar.1)),
    );
    table.push(
        format!("summary at {label} cases (GET: computed / cached, median of 5)"),
        format!("{} / {}", ms(summary.0), ms(summary.1)),
    );
    let t0 = Instant::now();
    let mut sim = Summary::new(rules);
    let mut c = pool.get()?;
    crate::db::cases::for_each_triaged(&mut c, 2000, |batch| sim.add_all(rules, batch))
        .map_err(app_err)?;
    table.push(
        format!("rules simulate over {} cases", sim.cases),
        ms(t0.elapsed()),
    );
    if let Some(mb) = rss_mb() {
        table.push(
            format!("resident memory with {label} cases (server + data in this process)"),
            format!("{mb:.0} MB"),
        );
    }
    Ok(())
}

/// An instance of the application served on a free loopback port from a thread of its own.
struct Instance {
    base: String,
    state: web::Data<AppState>,
    server: actix_web::dev::ServerHandle,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    fn start(config: &Config, pool: Pool) -> anyhow::Result<Instance> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let app = crate::startup::Application::build_with_pool(config.clone(), pool)?;
        let state = app.state.clone();
        let (handle, server) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = app.server(listener).map_err(std::io::Error::other)?;
                let _ = handle.send(server.handle());
                server.await
            })
        });
        let server = server.recv_timeout(Duration::from_secs(10))?;
        Ok(Instance {
            base,
            state,
            server,
            thread,
        })
    }

    /// Stops serving and waits until the instance is gone, its chainer's last round included,
    /// so that what it held is freed and nothing of it touches the database afterwards.
    fn stop(self) -> anyhow::Result<()> {
        actix_web::rt::System::new().block_on(self.server.stop(true));
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("an instance's server thread panicked"))??;
        drop(self.state);
        Ok(())
    }
}

/// SQLite's writes and commits so far, when the database has a group writer.
fn group_commits(pool: &Pool) -> anyhow::Result<Option<(u64, u64)>> {
    let mut c = pool.get()?;
    Ok(db::writer::Writer::of(&mut c)
        .map_err(app_err)?
        .map(|w| w.counts()))
}

/// Lets the database write out what the last measurement left (PostgreSQL's checkpoint,
/// SQLite's WAL) so the next one starts from the same state instead of sharing the disk with
/// that flush.
fn settle(pool: &Pool) -> anyhow::Result<()> {
    let mut c = pool.get()?;
    match &mut *c {
        DbConnection::Pg(_) => {
            c.batch_execute("VACUUM ANALYZE")?;
            c.batch_execute("CHECKPOINT")?
        }
        DbConnection::Sqlite(_) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?,
    }
    Ok(())
}

/// The machine's busy CPU time (every core, every process: the server and, on the same
/// machine, the database), read from /proc/stat; zero where there is none.
struct Cpu(f64);

impl Cpu {
    fn now() -> Cpu {
        Cpu(machine_busy_seconds())
    }

    fn busy_since(&self) -> f64 {
        machine_busy_seconds() - self.0
    }
}

/// Clock ticks per second in /proc (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    let all: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (all - idle) / TICKS
}

/// The CPU time the calling thread has used, from /proc/thread-self/stat.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // After the command name in parentheses: utime and stime are the 12th and 13th fields.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<f64> = after
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    (fields.get(10).copied().unwrap_or(0.0) + fields.get(11).copied().unwrap_or(0.0)) / TICKS
}

/// Runs every measurement and returns the table as text.
pub fn run(opts: &Options, rules: RuleSet, config: &Config) -> anyhow::Result<String> {
    let target = Target::new(opts.database_url.clone())?;
    let pool = db::connect(&target.url)?;
    let samples = samples(&rules, &config.rules_dir)?;
    let mut table = Table::default();
    let (submitter, owner_token, submit_token) = bench_users(&pool)?;
    measure_triage(&mut table, &rules, &samples, opts.triage_seconds);
    let widest = opts.clients.iter().copied().max().unwrap_or(1);
    let raw_pool = db::connect_sized(&target.url, widest.max(1) as u32)?;
    let raw = Raw {
        pool: &raw_pool,
        who: &submitter,
        rules: &rules,
        sample: &samples[0].1,
        total: (opts.per_client * widest).max(8),
    };
    let (ceiling, best) = raw.measure(&mut table, &opts.clients)?;

    // 3. Intake over HTTP against the real server on loopback; on PostgreSQL also through two
    // instances (each with its own pool and caches) at once.
    let one = Instance::start(config, pool.clone())?;
    let intake = Intake {
        pool: &pool,
        token: &submit_token,
        bodies: samples.iter().map(|(b, _)| b.clone()).collect(),
        per_client: opts.per_client,
        ceiling,
    };
    for &clients in &opts.clients {
        intake.one_instance(&mut table, &one.base, clients)?;
    }
    // Two instances on PostgreSQL, each with half the pool and half the workers, as an operator
    // would run them on one database and one machine: the connections to the database and the
    // threads serving stay as many as one instance has.
    let pair = match Backend::of(&target.url) {
        Backend::Postgres => {
            let size = db::pool_size(Backend::Postgres);
            let half = || db::connect_sized(&target.url, (size / 2).max(1));
            let config = &Config {
                workers: Some((crate::config::cores() / 2).max(1)),
                ..config.clone()
            };
            Some([
                Instance::start(config, half()?)?,
                Instance::start(config, half()?)?,
            ])
        }
        Backend::Sqlite => None,
    };
    let two = pair
        .as_ref()
        .map(|[a, b]| [a.base.as_str(), b.base.as_str()]);
    if let Some(two) = &two {
        intake.measure(
            &mut table,
            format!("intake over HTTP, {widest} clients over 2 instances"),
            two,
            widest,
        )?;
    }
    intake.paired(&mut table, &raw, (best, widest), (&one.base, two))?;
    // What follows measures one serving instance: the others and the ceiling's pool go.
    for instance in pair.into_iter().flatten() {
        instance.stop()?;
    }
    drop(raw_pool);

    // 4. Radar, summary and simulate at portfolio sizes.
    let rules = one.state.rules();
    for &size in &opts.sizes {
        seed_cases(&pool, &submitter, &rules, &samples, size)?;
        // As a database in service would be: its statistics know the rows just seeded.
        settle(&pool)?;
        measure_portfolio(&mut table, &pool, (&one.base, &owner_token), &rules, size)?;
    }
    one.stop()?;
    Ok(table.render(Backend::of(&target.url), &target.url))
}

/// Measurement 2, the raw ceiling: the database's own speed for the same rows, from as many
/// writers as the intake has clients, each on its own connection.
struct Raw<'a> {
    pool: &'a Pool,
    who: &'a Principal,
    rules: &'a RuleSet,
    sample: &'a Answers,
    /// Submissions per measurement.
    total: usize,
}

impl Raw<'_> {
    /// Submissions per second with `writers` writers.
    fn rate(&self, writers: usize, total: usize) -> anyhow::Result<f64> {
        settle(self.pool)?;
        raw_ceiling(self.pool, self.who, self.rules, self.sample, total, writers)
    }

    /// The ceiling at each number of writers; the best rate, and with how many writers.
    fn measure(&self, table: &mut Table, writer_counts: &[usize]) -> anyhow::Result<(f64, usize)> {
        let mut best = (0.0, 1);
        for &writers in writer_counts {
            let rate = self.rate(writers, self.total)?;
            if rate > best.0 {
                best = (rate, writers);
            }
            table.push(
                format!(
                    "raw ceiling: a submission's rows through diesel, {}",
                    writers_label(writers)
                ),
                format!("{rate:.0} submissions/s"),
            );
        }
        Ok(best)
    }
}

/// How many rounds of ceiling and intake [`Intake::paired`] measures (odd, so the median is
/// one of them).
const PAIRS: usize = 7;

/// Student's t for a two-sided 95% interval with `df` degrees of freedom (the normal
/// distribution's 1.96 beyond ten).
fn t95(df: usize) -> f64 {
    const T: [f64; 10] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    ];
    df.checked_sub(1)
        .and_then(|i| T.get(i))
        .copied()
        .unwrap_or(1.96)
}

/// The geometric mean of ratios and its 95% confidence interval, from their logarithms (a
/// ratio and its inverse weigh alike). The interval takes the rounds as independent; this
/// host's drift from one round to the next makes it narrower than it should be.
fn ratio_interval(ratios: &[f64]) -> (f64, f64, f64) {
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let n = logs.len();
    let mean = logs.iter().sum::<f64>() / n as f64;
    let var = logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0).max(1.0);
    let half = t95(n.saturating_sub(1)) * (var / n as f64).sqrt();
    (mean.exp(), (mean - half).exp(), (mean + half).exp())
}

/// One round of [`Intake::paired`]: submissions per second.
struct Round {
    ceiling: f64,
    one: f64,
    /// Over two instances.
    two: Option<f64>,
}

fn writers_label(writers: usize) -> String {
    match writers {
        1 => "1 writer".into(),
        n => format!("{n} writers"),
    }
}

/// Measurement 3, intake over HTTP: the sample bodies created and submitted with a
/// submitter's token, compared with the raw ceiling.
struct Intake<'a> {
    pool: &'a Pool,
    token: &'a str,
    bodies: Vec<Value>,
    per_client: usize,
    ceiling: f64,
}

impl Intake<'_> {
    /// Intake from `clients` clients to one instance, and how SQLite grouped its commits.
    fn one_instance(&self, table: &mut Table, base: &str, clients: usize) -> anyhow::Result<()> {
        let before = group_commits(self.pool)?;
        self.measure(
            table,
            format!("intake over HTTP (create + submit), {clients} client(s)"),
            &[base],
            clients,
        )?;
        if let (Some((w0, c0)), Some((w1, c1))) = (before, group_commits(self.pool)?) {
            table.push(
                format!("  SQLite group commit at {clients} client(s)"),
                format!(
                    "{} writes in {} commits ({:.1} per commit)",
                    w1 - w0,
                    c1 - c0,
                    (w1 - w0) as f64 / (c1 - c0).max(1) as f64
                ),
            );
        }
        Ok(())
    }

    /// Intake at the widest concurrency against the ceiling at its best number of writers
    /// (and, given two more instances, against intake over those two), measured back to back in
    /// [`PAIRS`] rounds; the median of the rounds' ratios (and, for two instances against one,
    /// their mean with a 95% interval: whether the rounds can tell the two apart). This host's
    /// speed drifts by a third from one minute to the next (a shared virtual machine): a
    /// ceiling measured at the start and an intake a minute later can disagree by that much, a
    /// round within seconds less. One instance and two take turns going first, so neither
    /// always meets the database the other has just grown.
    fn paired(
        &self,
        table: &mut Table,
        raw: &Raw,
        (writers, clients): (usize, usize),
        (base, two): (&str, Option<[&str; 2]>),
    ) -> anyhow::Result<()> {
        let per_client = (self.per_client / 2).max(1);
        let intake = |bases: &[&str]| -> anyhow::Result<f64> {
            settle(self.pool)?;
            Ok(http_intake(bases, self.token, &self.bodies, clients, per_client)?.0)
        };
        let mut rounds = Vec::with_capacity(PAIRS);
        for round in 0..PAIRS {
            let ceiling = raw.rate(writers, raw.total / 2)?;
            let (one, two) = if round % 2 == 0 {
                let one = intake(&[base])?;
                (one, two.map(|two| intake(&two)).transpose()?)
            } else {
                let two = two.map(|two| intake(&two)).transpose()?;
                (intake(&[base])?, two)
            };
            rounds.push(Round { ceiling, one, two });
        }
        let ratios = |ratio: &dyn Fn(&Round) -> Option<f64>| -> Vec<f64> {
            rounds.iter().filter_map(ratio).collect()
        };
        let median = |mut r: Vec<f64>| {
            r.sort_by(f64::total_cmp);
            r.get(r.len() / 2).copied()
        };
        let all =
            |f: &dyn Fn(&Round) -> String| rounds.iter().map(f).collect::<Vec<_>>().join(", ");
        if let Some(m) = median(ratios(&|r| Some(r.one / r.ceiling))) {
            table.push(
                format!(
                    "intake, {clients} clients / ceiling, {}: {PAIRS} rounds back to back",
                    writers_label(writers)
                ),
                format!(
                    "median {:.0}% (each round: {})",
                    100.0 * m,
                    all(&|r| format!("{:.0}/{:.0}", r.one, r.ceiling))
                ),
            );
        }
        let pair = ratios(&|r| r.two.map(|two| two / r.one));
        if let Some(m) = median(pair.clone()) {
            let (mean, low, high) = ratio_interval(&pair);
            table.push(
                format!("intake, {clients} clients: 2 instances / 1, same rounds"),
                format!(
                    "median {m:.2}×, mean {mean:.2}× (95% interval {low:.2}–{high:.2}) (each round: {})",
                    all(&|r| format!("{:.0}/{:.0}", r.two.unwrap_or(0.0), r.one))
                ),
            );
        }
        Ok(())
    }

    /// Intake from `clients` clients spread over the instances at `bases`: the rate, the
    /// latencies, and the machine's CPU per submission without the clients' own.
    fn measure(
        &self,
        table: &mut Table,
        label: String,
        bases: &[&str],
        clients: usize,
    ) -> anyhow::Result<()> {
        settle(self.pool)?;
        let cpu = Cpu::now();
        let (rate, lat, client_cpu) =
            http_intake(bases, self.token, &self.bodies, clients, self.per_client)?;
        let served = cpu.busy_since() - client_cpu;
        table.push(
            label,
            format!(
                "{rate:.0} submissions/s, p50 {}, p99 {}, {:.0}% of the raw ceiling, {:.2} ms CPU each (the clients' own: {:.2} ms more)",
                ms(percentile(&lat, 0.5)),
                ms(percentile(&lat, 0.99)),
                100.0 * rate / self.ceiling,
                1e3 * served / lat.len() as f64,
                1e3 * client_cpu / lat.len() as f64,
            ),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_averaged_geometrically_with_an_interval_that_widens_with_their_spread() {
        let (mean, low, high) = ratio_interval(&[1.1; PAIRS]);
        assert!(
            (mean - 1.1).abs() < 1e-12 && (low - 1.1).abs() < 1e-12 && (high - 1.1).abs() < 1e-12
        );
        // A ratio and its inverse cancel out; the interval is symmetric around 1 in logs.
        let (mean, low, high) = ratio_interval(&[2.0, 0.5]);
        assert!((mean - 1.0).abs() < 1e-12, "{mean}");
        assert!((low * high - 1.0).abs() < 1e-12, "{low} {high}");
        // Two ratios leave one degree of freedom: t = 12.706, and the logs' standard error is
        // ln 2, so the interval spans e^(±12.706 ln 2).
        assert!((high.ln() - 12.706 * 2f64.ln()).abs() < 1e-9, "{high}");
        let (_, narrow_low, _) = ratio_interval(&[0.9, 1.0, 1.1, 0.9, 1.0, 1.1, 1.0]);
        let (_, wide_low, _) = ratio_interval(&[0.7, 1.0, 1.3, 0.7, 1.0, 1.3, 1.0]);
        assert!(
            wide_low < narrow_low && narrow_low < 1.0,
            "{wide_low} {narrow_low}"
        );
    }
}
