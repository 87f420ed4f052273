//! Import and export: intake rows, idempotence, round trips, the real inventories, the API.

use std::path::{Path, PathBuf};

use aitriage::domain::access::{ReviewScope, Role, Scope};
use aitriage::transfer::{self, Format};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

fn export_text(app: &TestApp, format: Format) -> String {
    let mut out = Vec::new();
    transfer::export(&mut app.pool.get().unwrap(), &Scope::All, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn import(app: &TestApp, path: &Path) -> transfer::Report {
    transfer::import(&mut app.pool.get().unwrap(), &rules(), path).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

both_backends! {
    /// Intake rows: complete ones are submitted, partial ones stay drafts, bad ones are
    /// reported by line; a second import creates nothing.
    async fn intake_rows_import_each_all_or_nothing_and_only_once(app) {
        let dir = tempfile::tempdir().unwrap();
        let complete = json!({"agency": "UNICEF", "external_id": "U-1", "title": "Invoice matching", "business_function": "Finance", "answers": example("back_office_email_sorting").answers});
        let partial = json!({"agency": "unhcr", "agency_name": "UNHCR", "external_id": "H-7", "title": "Registration chatbot", "answers": {"autonomy_level": 2}});
        let bad_answer = json!({"agency": "WFP", "title": "Bad", "answers": {"autonomy_level": 99}});
        let no_title = json!({"agency": "WFP", "answers": {}});
        let text = format!("{complete}\n{partial}\n\nnot json\n{bad_answer}\n{no_title}\n");
        let file = write(dir.path(), "rows.jsonl", &text);
        let r = import(&app, &file);
        assert_eq!((r.rows, r.submitted, r.drafts, r.present), (5, 1, 1, 0), "{}", r.render());
        let lines: Vec<u64> = r.rejected.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [4, 5, 6], "{}", r.render());
        assert!(r.rejected[1].1.contains("answers.autonomy_level"), "{}", r.render());
        assert!(r.rejected[2].1.contains("title"), "{}", r.render());
        let before = app.counts();
        let again = import(&app, &file);
        assert_eq!((again.present, again.submitted, again.drafts), (2, 0, 0), "{}", again.render());
        assert_eq!(app.counts(), before, "importing twice creates nothing");
        let owner = app.user("UNICC", "po@unicc.test", &[Role::PortfolioOwner], ReviewScope::Own);
        let list = app.get("/api/v1/use-cases?agency=UNHCR", &owner).await;
        assert_eq!(list.json["items"][0]["status"], "draft");
    }
}

both_backends! {
    /// Export, import into an empty database, export again: identical, in both formats.
    async fn export_and_import_round_trip_every_field(app) {
        let t = app.submitter("UNICEF");
        let reviewer = app.user("UNICC", "rev@unicc.test", &[Role::Reviewer], ReviewScope::All);
        app.submitted(&t, "back_office_email_sorting").await;
        let c = app.submitted(&t, "refugee_eligibility_screening").await;
        let id = c["id"].as_str().unwrap();
        let e = app.post(&format!("/api/v1/use-cases/{id}/decisions"), &reviewer, &json!({"action": "escalate", "rationale": "No, senior: check scope.", "version": 2})).await;
        assert_eq!(e.status, 200, "{}", e.text);
        let n = app.post(&format!("/api/v1/use-cases/{id}/decisions"), &reviewer, &json!({"action": "comment", "rationale": "Noted \"quotes\", commas, and\nnew lines.", "version": 3})).await;
        assert_eq!(n.status, 200, "{}", n.text);
        app.draft(&t, "cv_screening").await;
        // An agentic case: its declarations, and each revision's, travel too.
        let mut agentic = case_body("cash_assistance_disbursement_agent");
        agentic["agents"] = serde_json::to_value(&example("cash_assistance_disbursement_agent").declarations.agents).unwrap();
        let a = app.post("/api/v1/use-cases", &t, &agentic).await;
        assert_eq!(a.status, 201, "{}", a.text);
        let agentic_id = a.json["id"].as_str().unwrap().to_string();
        let s = app.post(&format!("/api/v1/use-cases/{agentic_id}/submit"), &t, &json!({})).await;
        assert_eq!(s.status, 200, "{}", s.text);
        // A title that a spreadsheet would run as a formula.
        let mut body = case_body("public_faq_chatbot");
        body["title"] = json!("=HYPERLINK(\"http://evil.example\",\"open\")");
        body["summary"] = json!("-1+2 @risk");
        assert_eq!(app.post("/api/v1/use-cases", &t, &body).await.status, 201);
        let csv = export_text(&app, Format::Csv);
        assert!(csv.contains("'=HYPERLINK") && csv.contains("'-1+2"), "{csv}");
        let api_csv = app.get("/api/v1/portfolio/export?format=csv", &reviewer).await.text;
        assert!(api_csv.contains("'=HYPERLINK") && !api_csv.contains(",=HYPERLINK") && !api_csv.contains(",\"=HYPERLINK"), "{api_csv}");
        for format in [Format::Jsonl, Format::Csv] {
            let first = export_text(&app, format);
            let dir = tempfile::tempdir().unwrap();
            let file = write(dir.path(), if format == Format::Csv { "x.csv" } else { "x.jsonl" }, &first);
            let empty = TestApp::sqlite().await;
            let r = import(&empty, &file);
            assert_eq!((r.restored, r.rejected.len()), (5, 0), "{}", r.render());
            let second = export_text(&empty, format);
            assert_eq!(first, second, "the round trip lost something");
            assert_eq!(import(&empty, &file).present, 5, "restoring twice creates nothing");
        }
        let line = export_text(&app, Format::Jsonl).lines().find(|l| l.contains(id)).unwrap().to_string();
        let rec: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(rec["decisions"].as_array().unwrap().len(), 2);
        assert_eq!(rec["assessments"][0]["triage"]["tier"], "critical");
        assert_eq!(rec["escalated"], true);
        let line = export_text(&app, Format::Jsonl).lines().find(|l| l.contains(&agentic_id)).unwrap().to_string();
        let rec: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(rec["declarations"]["agents"][0]["tools"][1]["name"], "send_payment");
        assert_eq!(rec["assessments"][0]["declarations"], rec["declarations"]);
    }
}

fn shared_inventory(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping {name}: ../shared/data is not present");
        None
    }
}

#[actix_web::test]
async fn both_federal_inventories_import_with_a_report_and_again_create_nothing() {
    for (name, rows) in [
        ("us-federal-ai-inventory-2023.csv", 710),
        ("us-federal-ai-inventory-2024.csv", 2133),
    ] {
        let Some(path) = shared_inventory(name) else {
            continue;
        };
        let app = TestApp::sqlite().await;
        let r = import(&app, &path);
        eprintln!("{name}: {}", r.render().lines().next().unwrap());
        assert_eq!(r.rows, rows, "{name}");
        let created = r.drafts + r.submitted;
        assert_eq!(created + r.present + r.rejected.len(), rows);
        assert!(
            created as f64 >= rows as f64 * 0.95,
            "{name}: only {created} of {rows} imported:\n{}",
            r.render()
        );
        for (line, why) in &r.rejected {
            assert!(*line > 1 && !why.is_empty());
        }
        let again = import(&app, &path);
        assert_eq!(
            again.drafts + again.submitted,
            0,
            "{name}: the second import created cases"
        );
        // Every row that was not rejected is present now (rows repeated within the file too).
        assert_eq!(again.present, rows - r.rejected.len(), "{name}");
        let counts = app.counts();
        assert_eq!(
            counts[0] as usize, created,
            "{name}: one case per imported row"
        );
    }
}

#[actix_web::test]
async fn the_export_api_is_scoped_and_offers_both_formats() {
    let app = TestApp::sqlite().await;
    let unicef = app.submitter("UNICEF");
    let unhcr = app.submitter("UNHCR");
    let owner = app.user(
        "UNICC",
        "po@unicc.test",
        &[Role::PortfolioOwner],
        ReviewScope::Own,
    );
    app.submitted(&unicef, "public_faq_chatbot").await;
    app.submitted(&unhcr, "staff_emotion_analytics").await;
    let all = app.get("/api/v1/portfolio/export", &owner).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.text.lines().count(), 2);
    let own = app.get("/api/v1/portfolio/export", &unicef).await;
    assert_eq!(own.text.lines().count(), 1);
    assert!(own.text.contains("\"agency\":\"UNICEF\"") && !own.text.contains("UNHCR"));
    let csv = app.get("/api/v1/portfolio/export?format=csv", &owner).await;
    assert!(
        csv.text.starts_with("id,agency,agency_name,title"),
        "{}",
        csv.text
    );
    app.get("/api/v1/portfolio/export?format=xml", &owner)
        .await
        .problem(422);
}
