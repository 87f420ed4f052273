//! Several `serve` processes on one database, as an operator scales out: concurrent intake
//! and decisions through both, then nothing lost, nothing applied twice, and a trail that
//! verifies.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use aitriage::db::schema::{audit_events, decisions, use_cases};
use aitriage::domain::access::Role;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;
use crate::postgres_only;

/// A `serve` process on `url`, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(url: &str) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_aitriage"))
        .env("DATABASE_URL", url)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("RULES_DIR", rules_dir())
        .env("RUST_LOG", "warn")
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while get(&format!("{}/healthz", server.base)) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

fn get(url: &str) -> Option<u16> {
    agent().get(url).call().ok().map(|r| r.status().as_u16())
}

/// A JSON request; its status and body.
fn call(a: &ureq::Agent, url: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = a
        .post(url)
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json");
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let mut res = req.send(body.to_string()).unwrap();
    let text = res.body_mut().read_to_string().unwrap();
    (
        res.status().as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Examples of each route: cleared, reviewed, sent for approval, blocked.
const EXAMPLES: [&str; 4] = [
    "public_faq_chatbot",
    "back_office_email_sorting",
    "cv_screening",
    "donor_social_scoring",
];

const CLIENTS: usize = 4;
const CASES_PER_CLIENT: usize = 6;

both_backends! {
    async fn two_serve_processes_on_one_database_lose_nothing_and_apply_nothing_twice(app) {
        let url = app.state.config.database_url.clone();
        let submitter = app.submitter("UNICEF");
        let senior = reviewer(
            &app,
            "senior@unicc.test",
            &[Role::SeniorReviewer],
            &["privacy", "security", "legal", "ethics", "technical"],
        );
        let servers = [serve(&url), serve(&url)];
        let bases = [servers[0].base.as_str(), servers[1].base.as_str()];

        // Intake from both at once: each client creates on one instance and submits on the
        // other; each also sends one keyed create to both instances at the same moment.
        let start = Barrier::new(2 * CLIENTS);
        let submitted: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2 * CLIENTS)
                .map(|c| {
                    let (start, submitter) = (&start, &submitter);
                    s.spawn(move || {
                        let a = agent();
                        let (here, there) = (bases[c % 2], bases[(c + 1) % 2]);
                        start.wait();
                        let mut ids = Vec::new();
                        for i in 0..CASES_PER_CLIENT {
                            let body = case_body(EXAMPLES[(c + i) % EXAMPLES.len()]);
                            let (status, created) = call(&a, &format!("{here}/api/v1/use-cases"), submitter, None, &body);
                            assert_eq!(status, 201, "{created}");
                            let id = created["id"].as_str().unwrap().to_string();
                            let (status, done) = call(&a, &format!("{there}/api/v1/use-cases/{id}/submit"), submitter, None, &json!({}));
                            assert_eq!(status, 200, "{done}");
                            ids.push(id);
                        }
                        // Client c and client c + 1 (on the other instance) share a key.
                        let key = format!("shared-{}", c / 2);
                        let (status, keyed) = call(&a, &format!("{here}/api/v1/use-cases"), submitter, Some(&key), &case_body("public_faq_chatbot"));
                        assert_eq!(status, 201, "{keyed}");
                        (ids, keyed["id"].as_str().unwrap().to_string())
                    })
                })
                .collect();
            let results: Vec<(Vec<String>, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            for pair in results.chunks(2) {
                assert_eq!(pair[0].1, pair[1].1, "one key, one case, whichever instance answered");
            }
            results.into_iter().flat_map(|(ids, _)| ids).collect()
        });
        let mut c = app.pool.get().unwrap();
        let cases: i64 = use_cases::table.count().get_result(&mut c).unwrap();
        assert_eq!(cases as usize, 2 * CLIENTS * CASES_PER_CLIENT + CLIENTS, "every accepted create is stored, each keyed one once");

        // Decisions from both at once: each case awaiting a decision is rejected through both
        // instances at the version read; one applies, the other is told it is stale.
        let awaiting: Vec<(String, i32)> = use_cases::table
            .filter(use_cases::id.eq_any(&submitted))
            .filter(use_cases::status.eq_any(["awaiting_approval", "in_review"]))
            .select((use_cases::id, use_cases::version))
            .load(&mut c)
            .unwrap();
        assert!(awaiting.len() >= CLIENTS, "the examples send cases to review: {}", awaiting.len());
        for (id, version) in &awaiting {
            let both = Barrier::new(2);
            let statuses: Vec<u16> = std::thread::scope(|s| {
                let handles: Vec<_> = bases
                    .iter()
                    .map(|base| {
                        let (both, senior) = (&both, &senior);
                        s.spawn(move || {
                            let body = json!({"action": "reject", "rationale": "not proportionate", "version": version});
                            both.wait();
                            call(&agent(), &format!("{base}/api/v1/use-cases/{id}/decisions"), senior, None, &body).0
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let mut sorted = statuses.clone();
            sorted.sort();
            assert_eq!(sorted, [200, 409], "case {id}: {statuses:?}");
        }
        let decided: Vec<(String, i64)> = decisions::table
            .group_by(decisions::use_case_id)
            .select((decisions::use_case_id, count_star()))
            .load(&mut c)
            .unwrap();
        assert_eq!(decided.len(), awaiting.len());
        assert!(decided.iter().all(|(_, n)| *n == 1), "a decision applied twice: {decided:?}");

        // Every case's trail holds its creation and submission once, and the whole trail
        // verifies once both instances have stopped.
        for action in ["created", "submitted"] {
            let n: i64 = audit_events::table
                .filter(audit_events::action.eq(action))
                .count()
                .get_result(&mut c)
                .unwrap();
            let expected = if action == "created" { cases as usize } else { submitted.len() };
            assert_eq!(n as usize, expected, "{action} events");
        }
        drop(servers);
        let verify = Command::new(env!("CARGO_BIN_EXE_aitriage"))
            .env("DATABASE_URL", &url)
            .env("RULES_DIR", rules_dir())
            .args(["audit", "verify"])
            .output()
            .unwrap();
        stdout_of_success(&verify);
    }
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

postgres_only! {
    /// The pool does not test a connection before handing it out. When PostgreSQL loses the
    /// connections (every backend of the pool killed, as a server restart would), a request that
    /// meets a dead one fails with a 500 and stores nothing, and the connection is dropped, not
    /// handed out again: at most one failure per pooled connection, then every request succeeds.
    async fn a_dead_connection_fails_one_request_and_is_not_handed_out_again(app) {
        let t = app.submitter("UNICEF");
        app.draft(&t, "meeting_minutes_transcription").await;
        let before = app.counts();
        // Hold every connection of the pool at once, so each one's backend is known.
        let size = app.pool.max_size() as usize;
        let mut held: Vec<_> = (0..size).map(|_| app.pool.get().unwrap()).collect();
        let pids: Vec<i32> = held
            .iter_mut()
            .map(|c| {
                diesel::sql_query("SELECT pg_backend_pid() AS pid")
                    .get_result::<BackendPid>(&mut **c)
                    .unwrap()
                    .pid
            })
            .collect();
        drop(held);
        let url = std::env::var("AITRIAGE_TEST_POSTGRES_URL").unwrap();
        let mut killer = diesel::PgConnection::establish(&url).unwrap();
        for pid in &pids {
            diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
                .execute(&mut killer)
                .unwrap();
        }
        // Rounds of as many requests at once as the pool has connections. The pool hands out the
        // connection given back last, so a round need not reach every idle one: rounds go on until
        // each dead connection has failed a request (the chainer may meet one first) or for 20
        // rounds. A dead connection handed out again would fail request after request, so more
        // failures than dead connections is the fault this looks for.
        let body = case_body("meeting_minutes_transcription");
        let (mut failed, mut created) = (0usize, 0i64);
        let round = || {
            futures_util::future::join_all((0..size).map(|_| app.post("/api/v1/use-cases", &t, &body)))
        };
        let mut count = |answers: Vec<crate::helpers::Resp>| {
            for r in answers {
                match r.status.as_u16() {
                    201 => created += 1,
                    500 => failed += 1,
                    other => panic!("{other}: {}", r.text),
                }
            }
            failed
        };
        for _ in 0..20 {
            if count(round().await) >= size {
                break;
            }
        }
        // And two rounds more: once every dead connection has failed once, nothing fails.
        for _ in 0..2 {
            count(round().await);
        }
        assert!(
            (1..=size).contains(&failed),
            "{failed} requests failed with {size} dead connections: one was handed out again"
        );
        let after = app.counts();
        assert_eq!(
            after[0],
            before[0] + created,
            "every created case stored, nothing of a failed request"
        );
    }
}
