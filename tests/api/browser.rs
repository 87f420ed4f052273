//! The product in a real browser: headless Chromium driven over WebDriver (fantoccini) against
//! the real server. Sign in, fill and submit the intake form (a conditional question appears),
//! see the tier, approve from the queue as a reviewer, follow a radar point to its case;
//! axe-core on every page; screenshots at desktop and phone widths in target/screenshots/.
//!
//! Needs `chromedriver` and Chromium (CHROMEDRIVER, CHROME_BIN, or the usual paths) and
//! axe-core (AXE_CORE_JS). The test is ignored unless AXE_CORE_JS or CI is set when the tests
//! are built (see build.rs); once it runs, anything missing fails it. `.ci/run` installs all
//! three.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::rt::time::sleep;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::helpers::*;

/// Where to find what the test needs; its absence fails the test, saying what to set.
fn required(env: &str, candidates: &[&str], what: &str) -> PathBuf {
    let found = match std::env::var(env) {
        Ok(p) => Some(PathBuf::from(p)).filter(|p| p.exists()),
        Err(_) => candidates.iter().map(PathBuf::from).find(|p| p.exists()),
    };
    found.unwrap_or_else(|| {
        panic!(
            "the browser test cannot run: {what} not found (set {env}; .ci/run installs it). \
             It runs because CI or AXE_CORE_JS is set, or it was included by hand."
        )
    })
}

/// A chromedriver process and one browser session on it.
struct Driver {
    client: Client,
    /// For the clean-up in `drop` when the test fails before `close`.
    session_url: String,
    closed: bool,
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.closed {
            // A failed test unwinds past `close` and its runtime is gone with it, so end the
            // session with a plain blocking request: otherwise Chromium outlives chromedriver.
            let _ = ureq::delete(&self.session_url).call();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start() -> Driver {
        let driver = required(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
            "chromedriver",
        );
        let chrome = required(
            "CHROME_BIN",
            &[
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ],
            "Chromium",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"browserName": "chrome", "goog:chromeOptions": {
            "binary": chrome,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,900",
                     format!("--user-data-dir={}", profile.path().display())]
        }});
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(caps.as_object().unwrap().clone());
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match builder.connect(&base).await {
                Ok(c) => break c,
                // Not listening yet: chromedriver takes a moment to start.
                Err(fantoccini::error::NewSessionError::FailedC(_))
                    if Instant::now() < deadline =>
                {
                    sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("no WebDriver session from chromedriver at {base}: {e}"),
            }
        };
        let session = client.session_id().await.unwrap().expect("a session id");
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(30)),
                Some(Duration::from_secs(5)),
            ))
            .await
            .unwrap();
        Driver {
            client,
            session_url: format!("{base}/session/{session}"),
            closed: false,
            child,
            _profile: profile,
        }
    }

    async fn close(mut self) {
        self.client.clone().close().await.unwrap();
        self.closed = true;
    }

    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("going to {url}: {e}"));
    }

    async fn current(&self) -> String {
        self.client.current_url().await.unwrap().to_string()
    }

    /// Finds an element, waiting for a page still loading to show it.
    async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Clicks an element, finding it again if the page replaced it in between.
    async fn click(&self, css: &str) {
        for attempt in 0..5 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(err) if err.is_stale_element_reference() && attempt < 4 => {
                    sleep(Duration::from_millis(200)).await
                }
                Err(err) => panic!("clicking {css}: {err}"),
            }
        }
    }

    /// Moves keyboard focus to an element, as Tab would.
    async fn focus(&self, css: &str) {
        let e = self.find(css).await;
        self.client
            .execute(
                "arguments[0].focus();",
                vec![serde_json::to_value(&e).unwrap()],
            )
            .await
            .unwrap();
    }

    /// Moves keyboard focus to an element and presses Enter, as a keyboard user would.
    async fn press_enter_on(&self, css: &str) {
        self.focus(css).await;
        let enter = KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: Key::Enter.into(),
            })
            .then(KeyAction::Up {
                value: Key::Enter.into(),
            });
        self.client.perform_actions(enter).await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.find(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    /// Whether the page has an element matching `css` right now.
    async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .is_empty()
    }

    async fn displayed(&self, css: &str) -> bool {
        self.find(css).await.is_displayed().await.unwrap()
    }

    async fn wait_until(&self, what: &str, f: impl AsyncFn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f().await {
            if Instant::now() >= deadline {
                panic!(
                    "timed out waiting until {what} (at {})",
                    self.current().await
                );
            }
            sleep(Duration::from_millis(100)).await;
        }
    }

    async fn size(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// How far the page is wider than the window (0 when nothing overflows sideways), with
    /// the page's `lang` and `dir`.
    async fn overflow(&self) -> (i64, String, String) {
        let v: Value = self
            .client
            .execute(
                "var e = document.documentElement;\
                 return [e.scrollWidth - e.clientWidth, e.lang, e.dir];",
                vec![],
            )
            .await
            .unwrap();
        (
            v[0].as_i64().unwrap(),
            v[1].as_str().unwrap().to_string(),
            v[2].as_str().unwrap().to_string(),
        )
    }

    /// An element's rendered width in CSS pixels.
    async fn width(&self, css: &str) -> f64 {
        let e = self.find(css).await;
        self.client
            .execute(
                "return arguments[0].getBoundingClientRect().width;",
                vec![serde_json::to_value(&e).unwrap()],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap()
    }

    /// Whether an element is painted (its computed visibility), as CSS alone decides it.
    async fn visible(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.client
            .execute(
                "return getComputedStyle(arguments[0]).visibility === 'visible';",
                vec![serde_json::to_value(&e).unwrap()],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    }

    async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// axe-core's WCAG 2.1 A/AA violations on the current page, one line each.
    async fn axe(&self, source: &str) -> Vec<String> {
        self.client.execute(source, vec![]).await.unwrap();
        let script = "var done = arguments[arguments.length - 1];\
            axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})\
            .then(function (r) { done(r.violations.map(function (v) { return v.id + ': ' + v.help + ' — ' +\
              v.nodes.slice(0, 3).map(function (n) { return n.target.join(' '); }).join(' | '); })); })\
            .catch(function (e) { done(['axe failed: ' + e]); });";
        let found: Value = self.client.execute_async(script, vec![]).await.unwrap();
        found
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
    async fn page(&mut self, d: &Driver, name: &str) {
        for v in d.axe(&self.axe).await {
            self.violations.push(format!("{name}: {v}"));
        }
        d.screenshot(&self.dir.join(format!("{name}-desktop.png")))
            .await;
        d.size(390, 844).await;
        d.screenshot(&self.dir.join(format!("{name}-phone.png")))
            .await;
        for v in d.axe(&self.axe).await {
            self.violations.push(format!("{name} (phone): {v}"));
        }
        for width in [390, 320] {
            d.size(width, 844).await;
            let (over, _, _) = d.overflow().await;
            if over > 0 {
                self.violations
                    .push(format!("{name}: {over} px too wide in a {width} px window"));
            }
        }
        d.size(1280, 900).await;
    }
}

/// axe-core's source, the screenshots folder (made if need be), and a browser session.
async fn browser() -> (String, PathBuf, Driver) {
    let axe_path = required("AXE_CORE_JS", &[], "axe-core (axe.min.js)");
    let axe = std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|e| panic!("reading axe-core at {}: {e}", axe_path.display()));
    let driver = Driver::start().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    (axe, dir, driver)
}

/// The demo portfolio seeded into `app` and served by the real server on a free port: its
/// base URL and the demo users' password.
fn serve_demo(app: &TestApp) -> (String, String) {
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
    (base, password)
}

async fn sign_in(d: &Driver, base: &str, email: &str, password: &str) {
    d.goto(&format!("{base}/login")).await;
    d.type_into("#email", email).await;
    d.type_into("#password", password).await;
    d.click("form[action='/login'] button[type=submit]").await;
    d.wait_until("signed in", async || !d.current().await.contains("/login"))
        .await;
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
    ignore = "needs Chromium, chromedriver and axe-core: set AXE_CORE_JS (.ci/run installs all three and sets it)"
)]
async fn the_product_works_in_a_real_browser_and_its_pages_pass_axe() {
    let (axe, dir, d) = browser().await;
    let mut check = Checker {
        axe,
        dir,
        violations: Vec::new(),
    };
    let app = TestApp::sqlite().await;
    let (base, password) = serve_demo(&app);

    d.goto(&format!("{base}/login")).await;
    check.page(&d, "login").await;
    sign_in(&d, &base, "submitter@unicef.demo", &password).await;
    check.page(&d, "home").await;

    // The intake form: the agentic questions appear once autonomy is above zero.
    d.goto(&format!("{base}/use-cases/new")).await;
    d.wait_until("the script hides conditional questions", async || {
        !d.displayed("#q-tool_actions").await
    })
    .await;
    check.page(&d, "intake").await;
    // On a phone one section at a time, each reached from the list of sections, without
    // script; a checkbox keeps its size beside a long label.
    d.size(390, 844).await;
    assert!(
        !d.displayed("#s-risk").await,
        "one section at a time on a phone"
    );
    d.click("nav.form-sections a[href='#s-risk']").await;
    assert!(d.displayed("#s-risk").await);
    assert!(!d.displayed("#s-basics").await);
    let box_width = d
        .width("input[name='q_data_categories'][value='sensitive_personal']")
        .await;
    assert!(box_width >= 16.0, "a checkbox {box_width} px wide");
    d.click("nav.form-sections a[href='#s-basics']").await;
    d.size(1280, 900).await;
    d.type_into("#in-title", "Browser-tested drafting agent")
        .await;
    d.type_into("#in-function", "Communications").await;
    d.type_into(
        "#in-purpose",
        "Drafts and files routine correspondence for the registry team.",
    )
    .await;
    for (q, values) in ANSWERS {
        for v in *values {
            d.click(&format!("input[name='q_{q}'][value='{v}']")).await;
        }
    }
    // Each section's progress follows the answers.
    d.wait_until("the value section's progress follows", async || {
        d.text("#pg-value").await.starts_with("4 of 4")
    })
    .await;
    // "None of these" is exclusive, both ways.
    d.click("input[name='q_prohibited_practices'][value='social_scoring']")
        .await;
    assert!(!d
        .find("input[name='q_prohibited_practices'][value='none']")
        .await
        .is_selected()
        .await
        .unwrap());
    d.click("input[name='q_prohibited_practices'][value='none']")
        .await;
    assert!(!d
        .find("input[name='q_prohibited_practices'][value='social_scoring']")
        .await
        .is_selected()
        .await
        .unwrap());
    d.click("input[name='q_autonomy_level'][value='3']").await;
    d.wait_until("the agentic questions appear", async || {
        d.displayed("#q-tool_actions").await
    })
    .await;
    for (q, v) in [
        ("tool_actions", "read_internal"),
        ("tool_actions", "write_internal"),
        ("actions_reversible", "true"),
        ("action_limits", "enforced"),
        ("objective_observable", "true"),
        ("multi_agent", "no"),
    ] {
        d.click(&format!("input[name='q_{q}'][value='{v}']")).await;
    }
    d.wait_until("the live preview shows a tier", async || {
        d.text("#pv-tier").await == "High risk"
    })
    .await;
    // The live preview reads the text as it is typed and shows what it suggests.
    d.type_into(
        "#in-summary",
        "Drafts replies, and checks letters against criminal records before filing.",
    )
    .await;
    d.wait_until("the live preview shows a text hint", async || {
        d.text("#pv-hints").await.contains("criminal records")
    })
    .await;
    d.click("button[name=action][value=submit]").await;
    d.wait_until("the case page opens", async || {
        d.current().await.contains("done=submitted")
    })
    .await;
    let case_url = d.current().await;
    let case_path = case_url
        .trim_start_matches(&base)
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(d.text(".tier-line .badge").await, "High risk");
    // The hint stands beside the answer it concerns, saying it is not declared.
    assert!(d.text("dl.answers").await.contains("criminal records"));
    check.page(&d, "case").await;
    d.click("form[action='/logout'] button").await;
    d.wait_until("signed out", async || d.has("#email").await)
        .await;

    // A reviewer claims it from the queue and approves it.
    sign_in(&d, &base, "reviewer@unicc.demo", &password).await;
    d.goto(&format!("{base}/queue")).await;
    check.page(&d, "queue").await;
    d.click(&format!(
        "form[action='{case_path}/act'] button[value=claim]"
    ))
    .await;
    // The queue comes back with the case claimed: its button now releases it.
    d.wait_until("the queue shows the claim", async || {
        d.has(&format!(
            "form[action='{case_path}/act'] button[value=release]"
        ))
        .await
    })
    .await;
    d.click(&format!("table a[href='{case_path}']")).await;
    d.click("input[name=decision][value=approve]").await;
    d.type_into(
        "#rationale",
        "Prompt injection controls reviewed with the team.",
    )
    .await;
    d.click("form.decide button[type=submit]").await;
    d.wait_until("the decision is recorded", async || {
        d.current().await.contains("done=approve")
    })
    .await;
    assert!(
        d.text("dl.facts").await.contains("Approved"),
        "{}",
        d.text("dl.facts").await
    );

    // The portfolio: follow the case's point on the radar, by keyboard (points may overlap
    // for a pointer; every point is a focusable link).
    d.goto(&format!("{base}/portfolio")).await;
    check.page(&d, "portfolio").await;
    // A point's name shows on focus (CSS alone), from the layer drawn above every mark.
    let name = format!("a.point[href='{case_path}'] .name");
    assert!(!d.visible(&name).await, "names are hidden until asked for");
    d.focus(&format!("a.point[href='{case_path}']")).await;
    assert!(d.visible(&name).await, "a focused point shows its name");
    d.press_enter_on(&format!("a.point[href='{case_path}']"))
        .await;
    d.wait_until("the radar point leads to its case", async || {
        d.current().await.ends_with(&case_path)
    })
    .await;
    assert_eq!(d.text("h1").await, "Browser-tested drafting agent");
    // A part of the radar, as a group opens it, with the quadrant filter.
    d.goto(&format!(
        "{base}/portfolio?quadrant=reconsider&value_min=0&value_max=49&feasibility_min=0&feasibility_max=49#cases"
    ))
    .await;
    assert!(d.has("p.zoom").await);
    check.page(&d, "portfolio-part").await;
    // An unknown address: an HTML page with the menu, not raw JSON.
    d.goto(&format!("{base}/no/such/page")).await;
    assert!(d.has("nav a[href='/portfolio']").await, "the menu on a 404");
    check.page(&d, "not-found").await;
    // The administrator's own page.
    d.click("form[action='/logout'] button").await;
    d.wait_until("signed out", async || d.has("#email").await)
        .await;
    sign_in(&d, &base, "admin@unicc.demo", &password).await;
    d.click("nav a[href='/admin']").await;
    d.wait_until("the admin page opens", async || {
        d.has("form[action='/admin'] button[value=disable]").await
    })
    .await;
    check.page(&d, "admin").await;

    // An agentic case: its agents, tools and delegations as tables and a graph.
    let agentic = {
        use aitriage::db::schema::use_cases;
        use diesel::prelude::*;
        let mut c = app.pool.get().unwrap();
        use_cases::table
            .filter(use_cases::title.eq("Referral agent for partner services"))
            .select(use_cases::id)
            .first::<String>(&mut c)
            .unwrap()
    };
    d.goto(&format!("{base}/use-cases/{agentic}")).await;
    assert!(
        d.displayed("#h-agents").await,
        "the agents section is shown"
    );
    check.page(&d, "case-agents").await;

    d.close().await;
    assert!(
        check.violations.is_empty(),
        "axe-core found WCAG 2.1 AA violations:\n{}",
        check.violations.join("\n")
    );
}

/// Every page in each of the six languages: `<html lang dir>` as asked (Arabic right to left),
/// no sideways overflow at desktop (1280 px) and phone widths (390 and 320 px), axe-core clean
/// at desktop and 390 px; desktop screenshots of every page in Arabic, Chinese, English and
/// French in target/screenshots/ (`<lang>-<page>-desktop.png`), and Arabic at 320 px too.
#[actix_web::test]
#[cfg_attr(
    not(aitriage_browser),
    ignore = "needs Chromium, chromedriver and axe-core: set AXE_CORE_JS (.ci/run installs all three and sets it)"
)]
async fn every_page_in_every_language_passes_axe_and_fits_a_phone() {
    let (axe, dir, d) = browser().await;
    let app = TestApp::sqlite().await;
    let (base, _) = serve_demo(&app);
    let everyone = [
        aitriage::domain::access::Role::Submitter,
        aitriage::domain::access::Role::Reviewer,
        aitriage::domain::access::Role::PortfolioOwner,
    ];
    app.user(
        "UNICC",
        "all@unicc.test",
        &everyone,
        aitriage::domain::access::ReviewScope::All,
    );
    {
        let mut c = app.pool.get().unwrap();
        let id = aitriage::db::users::find_id_by_email(&mut c, "all@unicc.test")
            .unwrap()
            .unwrap();
        aitriage::db::users::set_password(&mut c, &id, "every language, every page").unwrap();
    }

    let mut problems = Vec::new();
    let mut visit = async |path: &str, name: &str, lang: &str| {
        d.goto(&format!(
            "{base}{path}{}lang={lang}",
            if path.contains('?') { "&" } else { "?" }
        ))
        .await;
        for (width, height) in [(1280, 900), (390, 844), (320, 700)] {
            d.size(width, height).await;
            let (over, html_lang, html_dir) = d.overflow().await;
            let dir_wanted = if lang == "ar" { "rtl" } else { "ltr" };
            if html_lang != lang || html_dir != dir_wanted {
                problems.push(format!(
                    "{lang} {name}: <html lang={html_lang} dir={html_dir}>"
                ));
            }
            if over > 0 {
                problems.push(format!(
                    "{lang} {name} at {width} px: {over} px wider than the window"
                ));
            }
            if width != 320 {
                for v in d.axe(&axe).await {
                    problems.push(format!("{lang} {name} at {width} px: {v}"));
                }
            }
            let shot = match width {
                1280 => ["ar", "zh", "en", "fr"].contains(&lang),
                320 => lang == "ar",
                _ => false,
            };
            if shot {
                let suffix = if width == 1280 {
                    "desktop"
                } else {
                    "phone-320"
                };
                d.screenshot(&dir.join(format!("{lang}-{name}-{suffix}.png")))
                    .await;
            }
        }
        d.size(1280, 900).await;
    };
    for lang in ["ar", "zh", "en", "fr", "ru", "es"] {
        visit("/login", "login", lang).await;
    }
    sign_in(&d, &base, "all@unicc.test", "every language, every page").await;
    d.goto(&format!("{base}/")).await;
    let case = d
        .find("table a[href^='/use-cases/']")
        .await
        .attr("href")
        .await
        .unwrap()
        .expect("a case to show");
    for lang in ["ar", "zh", "en", "fr", "ru", "es"] {
        for (path, name) in [
            ("/", "home"),
            ("/use-cases/new", "intake"),
            (case.as_str(), "case"),
            ("/queue", "queue"),
            ("/portfolio", "portfolio"),
        ] {
            visit(path, name, lang).await;
        }
    }
    d.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
