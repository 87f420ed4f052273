//! The product in a real browser: headless Chromium driven over WebDriver against the real
//! server. Sign in, fill and submit the intake form (a conditional question appears), see the
//! tier, approve from the queue as a reviewer, follow a radar point to its case; axe-core on
//! every page; screenshots at desktop and phone widths in target/screenshots/.
//!
//! Needs `chromedriver` and Chromium (CHROMEDRIVER, CHROME_BIN) and axe-core (AXE_CORE_JS);
//! where they are absent the test is ignored (build.rs decides); in CI it always runs, and a
//! missing one fails it. `.ci/run` installs all three.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::*;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    base: String,
    session: String,
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    try_call(method, url, body).unwrap_or_else(|e| panic!("{e}"))
}

fn try_call(method: &str, url: &str, body: Option<Value>) -> Result<Value, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let res = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, b) => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(b.unwrap_or(json!({})).to_string()),
    };
    let mut res = res.map_err(|e| format!("WebDriver {method} {url}: {e}"))?;
    let text = res.body_mut().read_to_string().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if let Some(err) = v["value"].get("error") {
        return Err(format!(
            "WebDriver {method} {url}: {err}: {}",
            v["value"]["message"]
        ));
    }
    Ok(v["value"].clone())
}

impl Driver {
    /// Starts chromedriver and a headless Chromium. Only called where they are installed (see
    /// build.rs): a missing one fails the test.
    fn start() -> Driver {
        let driver = find(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        )
        .expect("chromedriver not found (set CHROMEDRIVER; .ci/run installs it)");
        let chrome = find(
            "CHROME_BIN",
            &[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ],
        )
        .expect("Chromium not found (set CHROME_BIN; .ci/run installs it)");
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chrome,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.path().display())]
        }}}});
        let session = call("POST", &format!("{base}/session"), Some(caps));
        let id = session["sessionId"].as_str().unwrap().to_string();
        let d = Driver {
            base,
            session: id,
            child,
            _profile: profile,
        };
        d.post(
            "timeouts",
            json!({"implicit": 5000, "script": 60000, "pageLoad": 30000}),
        );
        d
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/session/{}/{rest}", self.base, self.session)
    }

    fn post(&self, rest: &str, body: Value) -> Value {
        call("POST", &self.url(rest), Some(body))
    }

    fn get(&self, rest: &str) -> Value {
        call("GET", &self.url(rest), None)
    }

    fn goto(&self, url: &str) {
        self.post("url", json!({ "url": url }));
    }

    fn current(&self) -> String {
        self.get("url").as_str().unwrap().to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.post("element", json!({"using": "css selector", "value": css}));
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Clicks an element, finding it again if the page replaced it in between.
    fn click(&self, css: &str) {
        for attempt in 0..5 {
            let e = self.find(css);
            match try_call(
                "POST",
                &self.url(&format!("element/{e}/click")),
                Some(json!({})),
            ) {
                Ok(_) => return,
                Err(err) if err.contains("stale element") && attempt < 4 => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(err) => panic!("clicking {css}: {err}"),
            }
        }
    }

    /// Moves keyboard focus to an element and presses Enter, as a keyboard user would.
    fn press_enter_on(&self, css: &str) {
        let e = self.find(css);
        self.post(
            "execute/sync",
            json!({"script": "arguments[0].focus();", "args": [{ ELEMENT: e }]}),
        );
        let enter = "\u{E007}";
        self.post(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [{"type": "keyDown", "value": enter}, {"type": "keyUp", "value": enter}]}]}),
        );
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.post(&format!("element/{e}/value"), json!({ "text": text }));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.get(&format!("element/{e}/text"))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn displayed(&self, css: &str) -> bool {
        let e = self.find(css);
        self.get(&format!("element/{e}/displayed"))
            .as_bool()
            .unwrap_or(false)
    }

    fn wait_until(&self, what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn size(&self, width: u32, height: u32) {
        self.post("window/rect", json!({"width": width, "height": height}));
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.get("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// axe-core's WCAG 2.1 A/AA violations on the current page, one line each.
    fn axe(&self, source: &str) -> Vec<String> {
        self.post("execute/sync", json!({"script": source, "args": []}));
        let script = "var done = arguments[arguments.length - 1];\
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
            .then(function (r) { done(r.violations.map(function (v) { return v.id + ': ' + v.help + ' — ' +\
              v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(' | '); })); })\
            .catch(function (e) { done(['axe failed: ' + e]); });";
        self.post("execute/async", json!({"script": script, "args": []}))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

/// Checks the page with axe and takes desktop and phone screenshots.
struct Checker {
    axe: String,
    dir: PathBuf,
    violations: Vec<String>,
}

impl Checker {
    fn page(&mut self, d: &Driver, name: &str) {
        for v in d.axe(&self.axe) {
            self.violations.push(format!("{name}: {v}"));
        }
        d.screenshot(&self.dir.join(format!("{name}-desktop.png")));
        d.size(390, 844);
        d.screenshot(&self.dir.join(format!("{name}-phone.png")));
        for v in d.axe(&self.axe) {
            self.violations.push(format!("{name} (phone): {v}"));
        }
        d.size(1280, 900);
    }
}

fn sign_in(d: &Driver, base: &str, email: &str, password: &str) {
    d.goto(&format!("{base}/login"));
    d.type_into("#email", email);
    d.type_into("#password", password);
    d.click("form[action='/login'] button[type=submit]");
    d.wait_until("signed in", || !d.current().contains("/login"));
}

/// The intake answers the browser gives: (question, values to tick or type).
const ANSWERS: &[(&str, &[&str])] = &[
    ("intended_use", &["internal_operations"]),
    ("safety_impact", &["none"]),
    ("beneficiaries", &["staff"]),
    ("stage", &["pilot"]),
    ("mandate_alignment", &["3"]),
    ("efficiency_gain", &["significant"]),
    ("urgency", &["high"]),
    ("replicability", &["system_wide"]),
    ("data_availability", &["available"]),
    ("data_quality", &["4"]),
    ("model_maturity", &["proven"]),
    ("integration_complexity", &["few_systems"]),
    ("cost_estimate", &["50k_250k"]),
    ("vendor_dependence", &["replaceable"]),
    ("executive_sponsor", &["true"]),
    ("team_skills", &["partial"]),
    ("budget_secured", &["yes"]),
    ("governance_in_place", &["true"]),
    ("change_management", &["planned"]),
    ("data_governance", &["established"]),
    ("human_oversight", &["human_in_the_loop"]),
    ("data_categories", &["internal"]),
    ("affects_individuals", &["no"]),
    ("public_facing", &["false"]),
    ("generative", &["true"]),
    ("deployment_context", &["headquarters"]),
    ("prohibited_practices", &["none"]),
    ("model_provenance", &["in_house"]),
    ("data_retention", &["defined"]),
    ("cross_border_transfer", &["false"]),
    ("explainability_need", &["low"]),
    ("evaluation_done", &["accuracy"]),
    ("incident_response", &["true"]),
];

#[actix_web::test]
#[cfg_attr(
    not(aitriage_browser),
    ignore = "needs chromedriver, Chromium and AXE_CORE_JS (.ci/run installs them)"
)]
async fn the_product_works_in_a_real_browser_and_its_pages_pass_axe() {
    let driver = Driver::start();
    let axe = std::env::var("AXE_CORE_JS")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .expect("axe-core not found (set AXE_CORE_JS to axe.min.js; .ci/run does)");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let mut check = Checker {
        axe,
        dir,
        violations: Vec::new(),
    };

    let app = TestApp::sqlite().await;
    let password = {
        let mut c = app.pool.get().unwrap();
        aitriage::demo::seed(&mut c, &rules(), &rules_dir().join("cases"))
            .unwrap()
            .password
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = app.state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new()
            .block_on(async move { aitriage::http::server(state, listener).unwrap().await })
    });
    let d = driver;

    d.goto(&format!("{base}/login"));
    check.page(&d, "login");
    sign_in(&d, &base, "submitter@unicef.demo", &password);
    check.page(&d, "home");

    // The intake form: the agentic questions appear once autonomy is above zero.
    d.goto(&format!("{base}/use-cases/new"));
    d.wait_until("the script hides conditional questions", || {
        !d.displayed("#q-tool_actions")
    });
    check.page(&d, "intake");
    d.type_into("#in-title", "Browser-tested drafting agent");
    d.type_into("#in-function", "Communications");
    d.type_into(
        "#in-purpose",
        "Drafts and files routine correspondence for the registry team.",
    );
    for (q, values) in ANSWERS {
        for v in *values {
            d.click(&format!("input[name='q_{q}'][value='{v}']"));
        }
    }
    d.click("input[name='q_autonomy_level'][value='3']");
    d.wait_until("the agentic questions appear", || {
        d.displayed("#q-tool_actions")
    });
    for (q, v) in [
        ("tool_actions", "read_internal"),
        ("tool_actions", "write_internal"),
        ("actions_reversible", "true"),
        ("action_limits", "enforced"),
        ("objective_observable", "true"),
        ("multi_agent", "no"),
    ] {
        d.click(&format!("input[name='q_{q}'][value='{v}']"));
    }
    d.wait_until("the live preview shows a tier", || {
        d.text("#pv-tier") == "High risk"
    });
    // The live preview reads the text as it is typed and shows what it suggests.
    d.type_into(
        "#in-summary",
        "Drafts replies, and checks letters against criminal records before filing.",
    );
    d.wait_until("the live preview shows a text hint", || {
        d.text("#pv-hints").contains("criminal records")
    });
    d.click("button[name=action][value=submit]");
    d.wait_until("the case page opens", || {
        d.current().contains("done=submitted")
    });
    let case_url = d.current();
    let case_path = case_url
        .trim_start_matches(&base)
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(d.text(".tier-line .badge"), "High risk");
    // The hint stands beside the answer it concerns, saying it is not declared.
    assert!(d.text("dl.answers").contains("criminal records"));
    check.page(&d, "case");
    d.click("form[action='/logout'] button");

    // A reviewer claims it from the queue and approves it.
    sign_in(&d, &base, "reviewer@unicc.demo", &password);
    d.goto(&format!("{base}/queue"));
    check.page(&d, "queue");
    d.click(&format!(
        "form[action='{case_path}/act'] button[value=claim]"
    ));
    d.wait_until("back on the queue", || d.current().ends_with("/queue"));
    d.click(&format!("table a[href='{case_path}']"));
    d.click("input[name=decision][value=approve]");
    d.type_into(
        "#rationale",
        "Prompt injection controls reviewed with the team.",
    );
    d.click("form.decide button[type=submit]");
    d.wait_until("the decision is recorded", || {
        d.current().contains("done=approve")
    });
    assert!(
        d.text("dl.facts").contains("Approved"),
        "{}",
        d.text("dl.facts")
    );

    // The portfolio: follow the case's point on the radar, by keyboard (points may overlap
    // for a pointer; every point is a focusable link).
    d.goto(&format!("{base}/portfolio"));
    check.page(&d, "portfolio");
    d.press_enter_on(&format!("a.point[href='{case_path}']"));
    d.wait_until("the radar point leads to its case", || {
        d.current().ends_with(&case_path)
    });
    assert_eq!(d.text("h1"), "Browser-tested drafting agent");

    assert!(
        check.violations.is_empty(),
        "axe-core found WCAG 2.1 AA violations:\n{}",
        check.violations.join("\n")
    );
}
