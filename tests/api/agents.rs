//! Agent declarations: declared with a case, derived answers, per-element rules, MCP and A2A
//! import, amendment after approval, and the guardrail policy of an approved revision.

use aitriage::domain::access::{ReviewScope, Role};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

/// A creation body from an example case, with its declarations.
fn declared_body(name: &str) -> Value {
    let c = example(name);
    let mut body = case_body(name);
    body["agents"] = serde_json::to_value(&c.declarations.agents).unwrap();
    body["delegations"] = serde_json::to_value(&c.declarations.delegations).unwrap();
    body
}

fn import_document(name: &str, index: usize) -> Value {
    example(name).imports[index].document.clone()
}

fn senior(app: &TestApp) -> String {
    let mut c = app.pool.get().unwrap();
    let agency = match aitriage::db::agencies::find_by_code(&mut c, "UNICC").unwrap() {
        Some(a) => a,
        None => aitriage::db::agencies::create(&mut c, "UNICC", "UNICC").unwrap(),
    };
    let groups: Vec<String> = ["privacy", "security", "legal", "ethics", "technical"]
        .iter()
        .map(|g| g.to_string())
        .collect();
    let id = aitriage::db::users::create(
        &mut c,
        aitriage::db::users::NewUser {
            agency_id: &agency.id,
            email: "senior@unicc.test",
            roles: &[Role::SeniorReviewer],
            review_groups: &groups,
            review_scope: ReviewScope::All,
        },
    )
    .unwrap();
    aitriage::db::users::issue_token(&mut c, &id).unwrap()
}

/// Recomputes a policy's digest as a runtime would: its JSON without `digest`, keys sorted.
fn recomputed_digest(policy: &Value) -> String {
    let mut v = policy.clone();
    v.as_object_mut().unwrap().remove("digest");
    format!(
        "sha256:{}",
        aitriage::domain::digest::sha256_hex(&v.to_string())
    )
}

fn tool<'a>(policy: &'a Value, agent: &str, name: &str) -> &'a Value {
    policy["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == agent)
        .and_then(|a| {
            a["tools"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == name)
        })
        .unwrap_or_else(|| panic!("no tool {agent}/{name} in {policy}"))
}

both_backends! {
    /// A case declares an agent and its tools; the answers they decide follow them; a rule
    /// evaluated per tool names the tool; the approved revision's policy denies that tool and
    /// allows the other; an amendment makes a new revision while the approved one keeps its
    /// policy, byte for byte.
    async fn an_approved_revision_has_a_policy_that_later_revisions_do_not_change(app) {
        let submitter = app.submitter("UNICEF");
        let reviewer = senior(&app);
        let mut body = declared_body("analytics_agent_runs_code");
        // The answers say nothing runs code; the declared tools say otherwise, and win.
        body["answers"]["tool_actions"] = json!(["read_internal"]);
        let created = app.post("/api/v1/use-cases", &submitter, &body).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let case = created.json;
        let id = case["id"].as_str().unwrap();
        assert_eq!(case["agents"][0]["id"], "analyst");
        assert_eq!(case["answers"]["tool_actions"], json!(["code_execution", "read_internal"]));
        assert_eq!(case["answers"]["autonomy_level"], 4);
        assert!(case["derived_answers"].as_array().unwrap().contains(&json!("tool_actions")));

        let policy_url = format!("/api/v1/use-cases/{id}/policy");
        app.get(&policy_url, &submitter).await.problem(409);

        let submitted = app.post(&format!("/api/v1/use-cases/{id}/submit"), &submitter, &json!({})).await;
        assert_eq!(submitted.status, 200, "{}", submitted.text);
        let fired = submitted.json["triage"]["fired"].as_array().unwrap().clone();
        let unsandboxed = fired.iter().find(|f| f["rule"] == "agents.code_execution_unsandboxed").expect("fired");
        assert_eq!(unsandboxed["subjects"], json!(["analyst/run_python"]));
        assert_eq!(unsandboxed["guardrail"], "deny");
        assert!(fired.iter().all(|f| f["rule"] != "agents.irreversible_tool_without_approval"));
        app.get(&policy_url, &reviewer).await.problem(409);

        let approved = app.post(
            &format!("/api/v1/use-cases/{id}/decisions"),
            &reviewer,
            &json!({"action": "approve", "rationale": "Sandbox to follow", "version": submitted.json["version"]}),
        ).await;
        assert_eq!(approved.json["status"], "approved", "{}", approved.text);

        let p = app.get(&policy_url, &submitter).await;
        assert_eq!(p.status, 200, "{}", p.text);
        let policy = p.json;
        assert_eq!(policy["default"], "deny");
        assert_eq!(policy["use_case"]["revision"], 1);
        assert_eq!(policy["use_case"]["id"], id);
        assert_eq!(policy["agents"][0]["identity"]["name"], "svc-analytics");
        let run = tool(&policy, "analyst", "run_python");
        assert_eq!(run["decision"], "deny");
        assert_eq!(run["rules"], json!(["agents.code_execution_unsandboxed"]));
        assert_eq!(tool(&policy, "analyst", "read_dataset")["decision"], "allow");
        assert_eq!(policy["digest"], recomputed_digest(&policy));
        // The reviewer reads the same document.
        assert_eq!(app.get(&policy_url, &reviewer).await.json, policy);

        // Amended: the tool now runs in a sandbox. A new revision, triaged again.
        let mut agents = body["agents"].clone();
        agents[0]["tools"][0]["sandboxed"] = json!(true);
        let amended = app.patch(
            &format!("/api/v1/use-cases/{id}"),
            &submitter,
            &json!({"version": approved.json["version"], "agents": agents}),
        ).await;
        assert_eq!(amended.status, 200, "{}", amended.text);
        assert_eq!(amended.json["revision"], 2);
        assert_ne!(amended.json["status"], "approved");
        assert!(amended.json["triage"]["fired"].as_array().unwrap().iter()
            .all(|f| f["rule"] != "agents.code_execution_unsandboxed"));

        // The amendment is in the trail: the case still agrees with its audit events.
        let disagreements =
            aitriage::db::integrity::check_all(&mut app.pool.get().unwrap(), 100).unwrap();
        assert!(disagreements.is_empty(), "{disagreements:?}");

        let pending = app.get(&policy_url, &submitter).await;
        assert!(pending.problem(409)["detail"].as_str().unwrap().contains("?revision=1"), "{}", pending.text);
        let first = app.get(&format!("{policy_url}?revision=1"), &submitter).await;
        assert_eq!(first.json, policy, "an approved revision's policy never changes");
        app.get(&format!("{policy_url}?revision=2"), &submitter).await.problem(409);
        app.get(&format!("{policy_url}?revision=7"), &submitter).await.problem(404);
        app.get(&format!("{policy_url}?revision=two"), &submitter).await.problem(422);

        // Outside the agency, the case and its policy do not exist.
        let other = app.submitter("UNHCR");
        app.get(&format!("{policy_url}?revision=1"), &other).await.problem(404);
    }
}

both_backends! {
    /// Tools imported from an MCP tools/list result take the annotations' meaning (and the
    /// specification's defaults); an A2A card becomes an external delegation authenticated as
    /// the card requires. Bad imports are refused and change nothing.
    async fn mcp_tools_and_agent_cards_are_imported(app) {
        let submitter = app.submitter("UNHCR");
        let created = app.post("/api/v1/use-cases", &submitter, &declared_body("case_records_assistant_mcp")).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.json["id"].as_str().unwrap().to_string();
        let url = format!("/api/v1/use-cases/{id}/agents/import");
        let mcp = import_document("case_records_assistant_mcp", 0);

        let reviewer = senior(&app);
        let stranger = app.submitter("UNICEF");
        let before = app.counts();
        let unknown_agent = app.post(&url, &submitter, &json!({"format": "mcp_tools_list", "agent": "nobody", "document": mcp})).await;
        assert_eq!(unknown_agent.problem(422)["errors"][0]["field"], "agent");
        let not_tools = app.post(&url, &submitter, &json!({"format": "mcp_tools_list", "agent": "records", "document": {"tools": "none"}})).await;
        assert_eq!(not_tools.problem(422)["errors"][0]["field"], "document");
        app.post(&url, &submitter, &json!({"format": "openapi", "agent": "records", "document": {}})).await.problem(422);
        app.post(&url, &submitter, &json!({"format": "mcp_tools_list", "agent": "records", "document": mcp, "version": 99})).await.problem(409);
        app.post(&url, &reviewer, &json!({"format": "mcp_tools_list", "agent": "records", "document": mcp})).await.problem(403);
        app.post(&url, &stranger, &json!({"format": "mcp_tools_list", "agent": "records", "document": mcp})).await.problem(404);
        assert_eq!(app.counts(), before, "refused imports store nothing");

        let r = app.post(&url, &submitter, &json!({"format": "mcp_tools_list", "agent": "records", "document": mcp})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let tools = r.json["agents"][0]["tools"].as_array().unwrap().clone();
        let by_name = |n: &str| tools.iter().find(|t| t["name"] == n).unwrap().clone();
        assert_eq!(by_name("search_cases")["effect"], "read");
        assert_eq!(by_name("add_case_note")["effect"], "write");
        assert_eq!(by_name("add_case_note")["reversible"], true);
        let close = by_name("close_case");
        assert_eq!(close["effect"], "destructive", "no annotations: destructive by default");
        assert_eq!(close["open_world"], true, "no annotations: open-world by default");
        assert_eq!(close["annotations"]["destructive"], true);
        assert_eq!(close["reversible"], false);
        assert!(close["input_schema"]["properties"]["case_id"].is_object());
        assert!(r.json["answers"]["tool_actions"].as_array().unwrap().contains(&json!("write_internal")));

        // Importing the same list again replaces the tools, it does not duplicate them.
        let again = app.post(&url, &submitter, &json!({"format": "mcp_tools_list", "agent": "records", "document": mcp})).await;
        assert_eq!(again.json["agents"][0]["tools"].as_array().unwrap().len(), 3);

        let card = import_document("referral_agent_external_partners", 0);
        let d = app.post(&url, &submitter, &json!({"format": "a2a_agent_card", "agent": "records", "document": card})).await;
        assert_eq!(d.status, 200, "{}", d.text);
        let g = &d.json["delegations"][0];
        assert_eq!(g["to"], "Legal aid intake agent");
        assert_eq!(g["external"], true);
        assert_eq!(g["authentication"], "oauth2");
        assert_eq!(g["provider"], "Legal aid partner NGO");
        assert_eq!(d.json["answers"]["multi_agent"], "external_agents");
        assert_eq!(d.json["answers"]["agent_identity"], true);

        // A card that requires nothing admits anyone.
        let mut open = card.clone();
        open["name"] = json!("Open intake bot");
        open.as_object_mut().unwrap().remove("security");
        let o = app.post(&url, &submitter, &json!({"format": "a2a_agent_card", "agent": "records", "document": open})).await;
        let g = o.json["delegations"].as_array().unwrap().iter().find(|g| g["to"] == "Open intake bot").unwrap().clone();
        assert_eq!(g["authentication"], "none");
        assert_eq!(o.json["answers"]["agent_identity"], false);

        let audit = app.get(&format!("/api/v1/use-cases/{id}/audit"), &submitter).await;
        let imports = audit.json["events"].as_array().unwrap().iter()
            .filter(|e| e["details"]["imported"].is_object()).count();
        assert_eq!(imports, 4, "each import is audited");
    }
}

/// Declarations that do not hold together are refused, each error naming its element, and
/// nothing is stored.
#[actix_web::test]
async fn inconsistent_declarations_are_refused_with_their_paths() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNICEF");
    let before = app.counts();
    let mut body = declared_body("cash_assistance_disbursement_agent");
    body["agents"][0]["tools"][0]["data"] = json!(["genomes"]);
    body["agents"][0]["tools"][1]["approval_threshold"] = Value::Null;
    body["agents"][0]["tools"][2]["name"] = json!("send_payment");
    body["delegations"] = json!([{"from": "disburser", "to": "ledger", "authentication": "none"}]);
    let mut second = body["agents"][0].clone();
    second["autonomy"] = json!(9);
    body["agents"].as_array_mut().unwrap().push(second);
    let r = app.post("/api/v1/use-cases", &submitter, &body).await;
    let fields: Vec<String> = r.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "agents[0].tools[0].data[0]",
        "agents[0].tools[1].approval_threshold",
        "agents[0].tools[2].name",
        "agents[1].id",
        "agents[1].autonomy",
        "delegations[0].to",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} not in {fields:?}");
    }
    let bad_effect = app
        .post(
            "/api/v1/use-cases",
            &submitter,
            &json!({"title": "x", "agents": [{"id": "a", "name": "A", "identity": {"kind": "service"}, "autonomy": 1,
                "tools": [{"name": "t", "effect": "teleport"}]}]}),
        )
        .await;
    bad_effect.problem(422);
    assert_eq!(app.counts(), before);

    // The preview reads declarations too, and stores nothing.
    let p = app
        .post(
            "/api/v1/triage/preview",
            &submitter,
            &json!({"answers": case_body("analytics_agent_runs_code")["answers"], "agents": declared_body("analytics_agent_runs_code")["agents"]}),
        )
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert!(p.json["triage"]["fired"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "agents.code_execution_unsandboxed"));
    assert_eq!(app.counts(), before);
}

/// The case page shows each agent's tools and the delegations as tables and a graph, marks
/// the elements rules fired for, and links each such rule to them; in French too.
#[actix_web::test]
async fn the_case_page_shows_agents_tools_and_risky_delegations() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNHCR");
    let r = app
        .post(
            "/api/v1/use-cases",
            &submitter,
            &declared_body("referral_agent_external_partners"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().unwrap().to_string();
    let submitted = app
        .post(
            &format!("/api/v1/use-cases/{id}/submit"),
            &submitter,
            &json!({}),
        )
        .await;
    assert_eq!(submitted.status, 200, "{}", submitted.text);
    senior(&app);
    let cookie = {
        let mut c = app.pool.get().unwrap();
        let uid = aitriage::db::users::find_id_by_email(&mut c, "senior@unicc.test")
            .unwrap()
            .unwrap();
        let token = aitriage::db::users::open_session(&mut c, &uid).unwrap();
        format!("aitriage_session={token}")
    };
    let page = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/use-cases/{id}"))
                .insert_header(("cookie", cookie.clone())),
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    let html = &page.text;
    assert!(html.contains("id=\"h-agents\""), "{html}");
    assert!(html.contains("<svg") && html.contains("agents-graph-desc"));
    assert!(html.contains("<code>read_referral_form</code>"));
    // The unauthenticated external delegation is marked, and its rule links to it.
    assert!(
        html.contains("<tr id=\"delegation-0\" class=\"risky\">"),
        "{html}"
    );
    assert!(html.contains("href=\"#delegation-0\""));
    assert!(html.contains("class=\"node external risky\""));
    let fr = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/use-cases/{id}?lang=fr"))
                .insert_header(("cookie", cookie)),
        )
        .await;
    assert!(fr.text.contains("Agents et outils"), "{}", fr.text);
    assert!(fr.text.contains("Délègue à un agent externe"));
}

/// A policy is served only for what the audit trail vouches for: a revision's declarations
/// changed in the database after approval make its policy an error, never a silently wider
/// guardrail.
#[actix_web::test]
async fn a_policy_is_refused_when_its_revision_was_changed_in_storage() {
    use diesel::RunQueryDsl;
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNICEF");
    let reviewer = senior(&app);
    let c = app
        .post(
            "/api/v1/use-cases",
            &submitter,
            &declared_body("analytics_agent_runs_code"),
        )
        .await;
    let id = c.json["id"].as_str().unwrap().to_string();
    let s = app
        .post(
            &format!("/api/v1/use-cases/{id}/submit"),
            &submitter,
            &json!({}),
        )
        .await;
    let a = app
        .post(
            &format!("/api/v1/use-cases/{id}/decisions"),
            &reviewer,
            &json!({"action": "approve", "rationale": "ok", "version": s.json["version"]}),
        )
        .await;
    assert_eq!(a.json["status"], "approved", "{}", a.text);
    let url = format!("/api/v1/use-cases/{id}/policy");
    let served = app.get(&url, &submitter).await;
    assert_eq!(served.status, 200);

    // The command line prints the same document.
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aitriage"))
            .env("DATABASE_URL", &app.state.config.database_url)
            .env_remove("RULES_DIR")
            .env("RUST_LOG", "error")
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&["policy", "export", &id]);
    let printed: Value = serde_json::from_str(&stdout_of_success(&out)).unwrap();
    assert_eq!(printed, served.json);
    let not_yet = cli(&["policy", "export", &id, "--revision", "3"]);
    assert!(
        !not_yet.status.success(),
        "a revision the case does not have"
    );
    assert!(not_yet.stdout.is_empty());

    // Someone with database access declares the code sandboxed, to lift the deny.
    let mut conn = app.pool.get().unwrap();
    let n = diesel::sql_query(
        "UPDATE assessments SET declarations = replace(declarations, '\"sandboxed\":false', '\"sandboxed\":true')",
    )
    .execute(&mut conn)
    .unwrap();
    assert_eq!(n, 1);
    let r = app.get(&url, &submitter).await;
    let p = r.problem(500);
    assert!(p["request_id"].is_string());
    assert!(
        !r.text.contains("sandboxed"),
        "the cause is logged, not shown"
    );
}

/// The intake form takes declarations as pasted JSON and imports an MCP tools/list document
/// into them; declarations that do not check come back on the form, naming the element, and
/// nothing is stored.
#[actix_web::test]
async fn the_intake_form_takes_declarations_and_imports() {
    use crate::pages::{benign_form, get, post_form, session};
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNHCR", "sub@unhcr.test", &[Role::Submitter]);
    let form = app.send(get("/use-cases/new", &cookie)).await;
    assert!(
        form.text.contains("id=\"in-declarations\"")
            && form.text.contains("id=\"in-import-document\"")
    );

    let case = example("case_records_assistant_mcp");
    let declared = serde_json::to_string(&case.declarations).unwrap();
    let mcp = case.imports[0].document.to_string();
    let mut pairs = benign_form("Records assistant");
    pairs.push(("csrf".into(), csrf.clone()));
    pairs.push(("action".into(), "save".into()));
    let before = app.counts();

    let mut bad = pairs.clone();
    bad.push((
        "declarations".into(),
        declared.replace("\"autonomy\":3", "\"autonomy\":8"),
    ));
    let refused = app
        .send(post_form(
            "/use-cases/new",
            &cookie,
            &bad.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(
        refused.text.contains("agents[0].autonomy"),
        "{}",
        refused.text
    );
    assert!(
        refused.text.contains("&quot;autonomy&quot;:8"),
        "what was typed is kept"
    );
    assert_eq!(app.counts(), before);
    // In another language, the element's problem is said in it, with the element's path.
    let said = |lang: &'static str, extra: Vec<(String, String)>| {
        let (app, cookie) = (&app, cookie.clone());
        let mut fields = bad.clone();
        fields.extend(extra);
        async move {
            let r = app
                .send(post_form(
                    &format!("/use-cases/new?lang={lang}"),
                    &cookie,
                    &fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                ))
                .await;
            assert_eq!(r.status, 422, "{}", r.text);
            r.text
        }
    };
    let ru = said("ru", vec![]).await;
    assert!(
        ru.contains("agents[0].autonomy: должно быть в пределах от 0 до 5")
            && !ru.contains("must be from 0 to 5"),
        "{ru}"
    );
    let es = said(
        "es",
        vec![
            ("import_format".into(), "mcp_tools_list".into()),
            ("import_document".into(), "{not json".into()),
        ],
    )
    .await;
    assert!(es.contains("JSON no válido: "), "{es}");
    let zh = said("zh", vec![("import_document".into(), "{}".into())]).await;
    assert!(zh.contains("请选择文档类型"), "{zh}");
    assert_eq!(app.counts(), before);

    let mut good = pairs.clone();
    good.push(("declarations".into(), declared));
    good.push(("import_format".into(), "mcp_tools_list".into()));
    good.push(("import_agent".into(), "records".into()));
    good.push(("import_document".into(), mcp));
    let saved = app
        .send(post_form(
            "/use-cases/new",
            &cookie,
            &good
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        ))
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let location = saved.headers.get("location").unwrap().to_str().unwrap();
    let id = location
        .trim_start_matches("/use-cases/")
        .split('?')
        .next()
        .unwrap();
    let owner = app.user(
        "UNICC",
        "po@unicc.test",
        &[Role::PortfolioOwner],
        ReviewScope::All,
    );
    let got = app.get(&format!("/api/v1/use-cases/{id}"), &owner).await;
    assert_eq!(got.status, 200, "{}", got.text);
    let tools = got.json["agents"][0]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 3, "{}", got.text);
    assert_eq!(
        got.json["answers"]["autonomy_level"], 3,
        "derived from the agent"
    );

    // The edit form shows the stored declarations, ready to change.
    let edit = app
        .send(get(&format!("/use-cases/{id}/edit"), &cookie))
        .await;
    assert!(edit.text.contains("close_case"), "{}", edit.text);
}
