//! Rule pack administration: reload (refused when broken, audited when applied) and what-if.

use aitriage::domain::access::{ReviewScope, Role};
use serde_json::json;

use crate::helpers::*;

fn pack_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("rules");
    copy_dir(&rules_dir(), &pack);
    (dir, pack)
}

/// Makes personal data a high risk (severity 4 × likelihood 3 = 12) in the pack at `pack`.
fn raise_personal_data(pack: &std::path::Path) {
    let f = pack.join("risks/ai.toml");
    let text = std::fs::read_to_string(&f).unwrap();
    let old = "when = '\"personal\" in answers.data_categories'\nseverity = 2";
    assert!(text.contains(old));
    std::fs::write(
        &f,
        text.replace(
            old,
            "when = '\"personal\" in answers.data_categories'\nseverity = 4",
        ),
    )
    .unwrap();
}

#[actix_web::test]
async fn only_admins_reload_or_simulate() {
    let (_d, pack) = pack_copy();
    let app = TestApp::sqlite_with_rules(&pack).await;
    for role in [
        Role::Submitter,
        Role::Reviewer,
        Role::SeniorReviewer,
        Role::PortfolioOwner,
    ] {
        let t = app.user(
            "UNICC",
            &format!("{role}@unicc.test"),
            &[role],
            ReviewScope::All,
        );
        app.post("/api/v1/admin/rules/reload", &t, &json!({}))
            .await
            .problem(403);
        app.post("/api/v1/admin/rules/simulate", &t, &json!({}))
            .await
            .problem(403);
    }
}

#[actix_web::test]
async fn a_broken_pack_is_refused_and_the_running_rules_stay() {
    let (_d, pack) = pack_copy();
    let app = TestApp::sqlite_with_rules(&pack).await;
    let admin = app.user(
        "UNICC",
        "admin@unicc.test",
        &[Role::Admin],
        ReviewScope::Own,
    );
    let before = app.state.rules().version.clone();
    let f = pack.join("risks/genai.toml");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        text.replace(
            "severity = 4\nlikelihood = 4",
            "severity = 9\nlikelihood = 4",
        ),
    )
    .unwrap();
    let r = app
        .post("/api/v1/admin/rules/reload", &admin, &json!({}))
        .await;
    let p = r.problem(422);
    let first = &p["errors"][0];
    assert!(
        first["field"].as_str().unwrap().contains("genai.toml:"),
        "{}",
        r.text
    );
    assert!(
        first["message"].as_str().unwrap().contains("severity"),
        "{}",
        r.text
    );
    assert_eq!(app.state.rules().version, before);
    assert_eq!(app.counts()[2], 0, "no audit event for a refused reload");
}

#[actix_web::test]
async fn a_reload_puts_new_rules_in_force_audits_it_and_old_triages_keep_their_version() {
    let (_d, pack) = pack_copy();
    let app = TestApp::sqlite_with_rules(&pack).await;
    let admin = app.user(
        "UNICC",
        "admin@unicc.test",
        &[Role::Admin],
        ReviewScope::Own,
    );
    let t = app.submitter("UNICEF");
    let old_case = app.submitted(&t, "meeting_minutes_transcription").await;
    let old_version = app.state.rules().version.clone();
    assert_eq!(old_case["triaged_under_current_rules"], true);

    let same = app
        .post("/api/v1/admin/rules/reload", &admin, &json!({}))
        .await;
    assert_eq!(same.json["changed"], false, "{}", same.text);

    raise_personal_data(&pack);
    let r = app
        .post("/api/v1/admin/rules/reload", &admin, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["changed"], true);
    assert_eq!(r.json["previous_rules_version"], old_version.as_str());
    let new_version = app.state.rules().version.clone();
    assert_ne!(new_version, old_version);
    assert_eq!(r.json["rules_version"], new_version.as_str());

    let kept = app
        .get(
            &format!("/api/v1/use-cases/{}", old_case["id"].as_str().unwrap()),
            &t,
        )
        .await;
    assert_eq!(kept.json["triage"]["rules_version"], old_version.as_str());
    assert_eq!(kept.json["triage"]["tier"], "medium");
    assert_eq!(kept.json["triaged_under_current_rules"], false);

    let fresh = app.submitted(&t, "meeting_minutes_transcription").await;
    assert_eq!(fresh["triage"]["rules_version"], new_version.as_str());
    assert_eq!(fresh["triage"]["tier"], "high");

    use aitriage::db::schema::audit_events::dsl as ae;
    use diesel::prelude::*;
    let mut conn = app.pool.get().unwrap();
    let reloads: Vec<String> = ae::audit_events
        .filter(ae::action.eq("rules_reloaded"))
        .select(ae::details)
        .load(&mut conn)
        .unwrap();
    assert_eq!(reloads.len(), 1, "an unchanged reload is not an event");
    let d: serde_json::Value = serde_json::from_str(&reloads[0]).unwrap();
    assert_eq!(
        (
            d["previous_rules_version"].as_str(),
            d["rules_version"].as_str()
        ),
        (Some(old_version.as_str()), Some(new_version.as_str()))
    );
}

#[actix_web::test]
async fn a_simulation_reports_the_cases_that_would_change_and_writes_nothing() {
    let (_d, pack) = pack_copy();
    let app = TestApp::sqlite_with_rules(&pack).await;
    let admin = app.user(
        "UNICC",
        "admin@unicc.test",
        &[Role::Admin],
        ReviewScope::Own,
    );
    let t = app.submitter("UNICEF");
    let moved = app.submitted(&t, "meeting_minutes_transcription").await;
    app.submitted(&t, "back_office_email_sorting").await;
    app.submitted(&t, "staff_emotion_analytics").await;
    app.draft(&t, "cv_screening").await;
    raise_personal_data(&pack);
    let before = app.counts();
    let r = app
        .post("/api/v1/admin/rules/simulate", &admin, &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let s = &r.json;
    assert_eq!(s["cases"], 3, "drafts are not triaged: {s}");
    assert_eq!(
        (
            s["tier_changed"].as_u64(),
            s["tier_raised"].as_u64(),
            s["tier_lowered"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{s}"
    );
    assert_eq!(s["route_changed"], 1);
    let c = &s["changes"][0];
    assert_eq!(c["id"], moved["id"]);
    assert_eq!(
        (c["from_tier"].as_str(), c["to_tier"].as_str()),
        (Some("medium"), Some("high"))
    );
    assert_eq!(
        (c["from_route"].as_str(), c["to_route"].as_str()),
        (Some("functional_review"), Some("human_approval"))
    );
    assert_eq!(app.counts(), before, "a simulation writes nothing");
    assert_ne!(
        s["candidate_rules_version"],
        app.state.rules().version.as_str(),
        "and does not put the candidate in force"
    );
}

#[test]
fn rules_simulate_on_the_command_line_prints_the_changed_cases() {
    let (_d, pack) = pack_copy();
    let db = _d.path().join("sim.db");
    let db_url = db.to_string_lossy().to_string();
    // Seed a portfolio through the library on the same file, then simulate from the binary.
    {
        let pool = aitriage::db::connect(&db_url).unwrap();
        let mut conn = pool.get().unwrap();
        aitriage::demo::seed(&mut conn, &rules(), &rules_dir().join("cases")).unwrap();
    }
    raise_personal_data(&pack);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_aitriage"))
        .env("DATABASE_URL", &db_url)
        .env("RUST_LOG", "warn")
        .args(["rules", "simulate", "--rules"])
        .arg(&pack)
        .output()
        .unwrap();
    let text = stdout_of_success(&out);
    assert!(text.contains("tier changed:"), "{text}");
    assert!(
        text.contains("Meeting minutes from recordings") && text.contains("medium → high"),
        "{text}"
    );
}
