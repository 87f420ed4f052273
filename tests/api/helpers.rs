//! The test application: the real routes over a fresh database (a temporary SQLite file, or
//! a fresh PostgreSQL schema when AITRIAGE_TEST_POSTGRES_URL is set).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actix_web::http::{header::HeaderMap, Method, StatusCode};
use actix_web::{test, web, App};
use aitriage::config::Config;
use aitriage::db::{self, agencies, users, Pool};
use aitriage::domain::access::{ReviewScope, Role};
use aitriage::http::{configure, AppState};
use aitriage::rules::cases::{load_cases, ExampleCase};
use aitriage::rules::{load_dir, RuleSet};
use aitriage::startup::Application;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use serde_json::{json, Value};

pub const PG_ENV: &str = "AITRIAGE_TEST_POSTGRES_URL";

pub fn rules_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A copy of the shipped pack with `old` replaced by `new` in `file`; returns the folder and
/// the 1-based line on which `new` starts.
pub fn broken_pack(file: &str, old: &str, new: &str) -> (tempfile::TempDir, PathBuf, usize) {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("rules");
    copy_dir(&rules_dir(), &pack);
    let path = pack.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(old), "{file} does not contain {old}");
    let changed = text.replacen(old, new, 1);
    let line = changed[..changed.find(new).unwrap()].matches('\n').count() + 1;
    std::fs::write(&path, changed).unwrap();
    (dir, pack, line)
}

/// The standard output of a command that must have succeeded (its output shown if not).
pub fn stdout_of_success(out: &std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

pub fn rules() -> RuleSet {
    load_dir(&rules_dir()).expect("the shipped rules load")
}

pub fn example(name: &str) -> ExampleCase {
    static CASES: OnceLock<Vec<ExampleCase>> = OnceLock::new();
    CASES
        .get_or_init(|| load_cases(&rules_dir().join("cases")).unwrap())
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no example case {name}"))
        .clone()
}

/// A use-case creation body from an example case.
pub fn case_body(name: &str) -> Value {
    let c = example(name);
    json!({ "title": c.title, "summary": c.summary, "business_function": c.business_function, "answers": c.answers })
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Resp {
    /// Asserts an RFC 9457 problem with this status, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        for k in ["type", "title", "status", "detail"] {
            assert!(
                self.json.get(k).is_some(),
                "problem without {k}: {}",
                self.text
            );
        }
        assert_eq!(self.json["status"], status);
        &self.json
    }
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        base: String,
        schema: String,
    },
    /// Another instance on a database some other `TestApp` owns.
    Shared,
}

pub struct TestApp {
    pub state: web::Data<AppState>,
    pub pool: Pool,
    cleanup: Cleanup,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Cleanup::Postgres { base, schema } = &self.cleanup {
            if let Ok(mut c) = diesel::pg::PgConnection::establish(base) {
                let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

fn with_search_path(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// The configuration `serve` would read with these settings on top of the defaults.
fn settings_config(url: &str, rules: &Path, settings: &[(&str, &str)]) -> Config {
    Config::from_lookup(|k| match k {
        "DATABASE_URL" => Some(url.to_string()),
        "RULES_DIR" => Some(rules.to_string_lossy().to_string()),
        other => settings
            .iter()
            .find(|(name, _)| *name == other)
            .map(|(_, v)| v.to_string()),
    })
    .unwrap()
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let url = dir.path().join("t.db").to_string_lossy().to_string();
        Self::build(url, Cleanup::Sqlite(dir))
    }

    /// A fresh PostgreSQL schema. Only called where a server is configured (see build.rs): a
    /// missing or refusing server fails the test.
    pub async fn postgres() -> TestApp {
        let base = std::env::var(PG_ENV).unwrap_or_else(|_| {
            panic!("{PG_ENV} is not set: the PostgreSQL tests cannot run (.ci/run sets it)")
        });
        let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
        let mut c = diesel::pg::PgConnection::establish(&base)
            .unwrap_or_else(|e| panic!("{PG_ENV} is set but PostgreSQL refused: {e}"));
        c.batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let url = with_search_path(&base, &schema);
        Self::build(url, Cleanup::Postgres { base, schema })
    }

    /// On SQLite, serving the rule pack in `dir` (so a test can change it and reload).
    pub async fn sqlite_with_rules(dir: &Path) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let url = tmp.path().join("t.db").to_string_lossy().to_string();
        Self::build_with(url, Cleanup::Sqlite(tmp), dir)
    }

    /// On SQLite, with these settings on top of the defaults (as `serve` reads them from the
    /// environment).
    pub async fn sqlite_with_settings(settings: &[(&str, &str)]) -> TestApp {
        let tmp = tempfile::tempdir().unwrap();
        let url = tmp.path().join("t.db").to_string_lossy().to_string();
        Self::build_full(url, Cleanup::Sqlite(tmp), &rules_dir(), settings)
    }

    /// A second instance on the same database, as a second `serve` would be: its own pool
    /// and state, nothing shared in memory.
    pub fn another_instance(&self) -> TestApp {
        let url = self.state.config.database_url.clone();
        let pool = db::connect(&url).expect("the same database");
        let config = settings_config(&url, &rules_dir(), &[]);
        let app = Application::build_with_pool(config, pool.clone()).expect("the service builds");
        TestApp {
            state: app.state,
            pool,
            cleanup: Cleanup::Shared,
        }
    }

    /// A fresh database on the same backend as `self`, served with these settings.
    pub async fn fresh_like(&self, settings: &[(&str, &str)]) -> TestApp {
        let mut app = if self.state.config.database_url.starts_with("postgres") {
            Self::postgres().await
        } else {
            Self::sqlite().await
        };
        let config = settings_config(&app.state.config.database_url, &rules_dir(), settings);
        let built =
            Application::build_with_pool(config, app.pool.clone()).expect("the service builds");
        app.state = built.state;
        app
    }

    fn build(url: String, cleanup: Cleanup) -> TestApp {
        Self::build_with(url, cleanup, &rules_dir())
    }

    fn build_with(url: String, cleanup: Cleanup, dir: &Path) -> TestApp {
        Self::build_full(url, cleanup, dir, &[])
    }

    fn build_full(url: String, cleanup: Cleanup, dir: &Path, settings: &[(&str, &str)]) -> TestApp {
        let pool = db::connect(&url).expect("test database");
        let config = settings_config(&url, dir, settings);
        // Built as `serve` builds it.
        let app = Application::build_with_pool(config, pool.clone()).expect("the service builds");
        TestApp {
            state: app.state,
            pool,
            cleanup,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = test::TestRequest::default().method(method).uri(path);
        if let Some(t) = token {
            req = req.insert_header(("Authorization", format!("Bearer {t}")));
        }
        if let Some(b) = body {
            req = req
                .insert_header(("Content-Type", "application/json"))
                .set_payload(b.to_string());
        }
        self.send(req).await
    }

    pub async fn send(&self, req: test::TestRequest) -> Resp {
        let app = test::init_service(App::new().configure(configure(self.state.clone()))).await;
        let res = test::call_service(&app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = test::read_body(res).await;
        let text = String::from_utf8_lossy(&bytes).to_string();
        Resp {
            status,
            headers,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Creates (if needed) an agency and a user with these roles; returns the user's token.
    pub fn user(&self, agency: &str, email: &str, roles: &[Role], scope: ReviewScope) -> String {
        let mut c = self.pool.get().unwrap();
        let a = match agencies::find_by_code(&mut c, agency).unwrap() {
            Some(a) => a,
            None => agencies::create(&mut c, agency, &format!("{agency} agency")).unwrap(),
        };
        let id = users::create(
            &mut c,
            users::NewUser {
                agency_id: &a.id,
                email,
                roles,
                review_groups: &[],
                review_scope: scope,
            },
        )
        .unwrap();
        users::issue_token(&mut c, &id).unwrap()
    }

    pub fn submitter(&self, agency: &str) -> String {
        self.user(
            agency,
            &format!(
                "s{}@{}.test",
                uuid::Uuid::now_v7().simple(),
                agency.to_lowercase()
            ),
            &[Role::Submitter],
            ReviewScope::Own,
        )
    }

    /// Rows in use_cases, assessments, audit_events, users, outbox.
    pub fn counts(&self) -> [i64; 5] {
        aitriage::db::cases::table_counts(&mut self.pool.get().unwrap()).unwrap()
    }

    /// Waits until every audit event committed so far is chained. On PostgreSQL the
    /// instance's chainer does it in the background, a few milliseconds after each write; on
    /// SQLite events are chained as they are written. Fails if anything is still pending after
    /// ten seconds.
    pub fn chained(&self) {
        use aitriage::db::schema::audit_events::dsl as ae;
        use diesel::prelude::*;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let pending: i64 = ae::audit_events
                .filter(ae::seq.lt(0))
                .count()
                .get_result(&mut self.pool.get().unwrap())
                .unwrap();
            if pending == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{pending} audit event(s) still pending after 10 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Creates a draft from an example case and returns its JSON.
    pub async fn draft(&self, token: &str, example_name: &str) -> Value {
        let r = self
            .post("/api/v1/use-cases", token, &case_body(example_name))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.json
    }

    /// Creates and submits an example case; returns the submitted case.
    pub async fn submitted(&self, token: &str, example_name: &str) -> Value {
        let d = self.draft(token, example_name).await;
        let r = self
            .post(
                &format!("/api/v1/use-cases/{}/submit", d["id"].as_str().unwrap()),
                token,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json
    }
}

/// Runs a test body on SQLite and on PostgreSQL; the PostgreSQL variant is ignored (and
/// counted so by cargo) where no server is configured, and fails in CI without one.
#[macro_export]
macro_rules! both_backends {
    ($(#[$m:meta])* async fn $name:ident($app:ident) $body:block) => {
        $(#[$m])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::helpers::TestApp) $body
            #[actix_web::test]
            async fn on_sqlite() {
                run($crate::helpers::TestApp::sqlite().await).await
            }
            $crate::postgres_only! {
                async fn on_postgres(app) {
                    run(app).await
                }
            }
        }
    };
}

/// Runs a test body on PostgreSQL alone (what only PostgreSQL does: queued audit events, its
/// connections); ignored (and counted so by cargo) where no server is configured, and fails in
/// CI without one.
#[macro_export]
macro_rules! postgres_only {
    ($(#[$m:meta])* async fn $name:ident($app:ident) $body:block) => {
        $(#[$m])*
        #[actix_web::test]
        #[cfg_attr(
            not(aitriage_postgres),
            ignore = "needs AITRIAGE_TEST_POSTGRES_URL (.ci/run starts PostgreSQL and sets it)"
        )]
        async fn $name() {
            let $app = $crate::helpers::TestApp::postgres().await;
            $body
        }
    };
}

/// A reviewer of UNICC in these review groups, who may review every agency; returns their
/// token.
pub fn reviewer(app: &TestApp, email: &str, roles: &[Role], groups: &[&str]) -> String {
    let mut c = app.pool.get().unwrap();
    let agency = match agencies::find_by_code(&mut c, "UNICC").unwrap() {
        Some(a) => a,
        None => agencies::create(&mut c, "UNICC", "UNICC").unwrap(),
    };
    let groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    let id = users::create(
        &mut c,
        users::NewUser {
            agency_id: &agency.id,
            email,
            roles,
            review_groups: &groups,
            review_scope: ReviewScope::All,
        },
    )
    .unwrap();
    users::issue_token(&mut c, &id).unwrap()
}
