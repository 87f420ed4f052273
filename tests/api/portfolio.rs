//! The portfolio API: radar points and summary counts match the stored cases for each role,
//! and a cached response never outlives a change.

use aitriage::domain::access::{ReviewScope, Role};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn ids(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

fn count(summary: &Value, dim: &str, key: &str) -> i64 {
    summary[dim]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .map_or(0, |c| c["count"].as_i64().unwrap())
}

both_backends! {
    async fn the_radar_and_summary_match_the_stored_cases_for_each_role(app) {
        let unicef = app.submitter("UNICEF");
        let unhcr = app.submitter("UNHCR");
        let owner = app.user("UNICC", "po@unicc.test", &[Role::PortfolioOwner], ReviewScope::Own);
        let mut mine = vec![
            app.submitted(&unicef, "public_faq_chatbot").await["id"].as_str().unwrap().to_string(),
            app.submitted(&unicef, "back_office_email_sorting").await["id"].as_str().unwrap().to_string(),
        ];
        let theirs = app.submitted(&unhcr, "staff_emotion_analytics").await["id"].as_str().unwrap().to_string();
        app.draft(&unicef, "cv_screening").await; // drafts have no scores: not on the radar
        mine.sort();

        let r = app.get("/api/v1/portfolio/radar", &unicef).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids(&r.json), mine, "a submitter sees only their agency");
        let p = &r.json["points"][0];
        for k in ["id", "agency", "title", "business_function", "business_value", "feasibility", "readiness", "priority", "quadrant", "tier", "status"] {
            assert!(!p[k].is_null(), "point without {k}");
        }
        let all = app.get("/api/v1/portfolio/radar", &owner).await;
        let mut everything = mine.clone();
        everything.push(theirs.clone());
        everything.sort();
        assert_eq!(ids(&all.json), everything, "a portfolio owner sees every agency");
        // Every match is counted on the grid, whatever the points show.
        assert_eq!(all.json["total"], 3);
        assert_eq!(all.json["truncated"], false);
        let cells = all.json["cells"].as_array().unwrap();
        let counted: i64 = cells.iter().map(|c| c["count"].as_i64().unwrap()).sum();
        assert_eq!(counted, 3, "{}", all.text);
        for c in cells {
            let by_tier: i64 = c["tiers"].as_object().unwrap().values().map(|n| n.as_i64().unwrap()).sum();
            assert_eq!(by_tier, c["count"].as_i64().unwrap(), "{c}");
            assert_eq!(c["business_value"].as_i64().unwrap() % 10, 0, "{c}");
        }
        let top = app.get("/api/v1/portfolio/radar?limit=1", &owner).await;
        assert_eq!(top.json["points"].as_array().unwrap().len(), 1);
        assert_eq!(top.json["points"][0]["id"], all.json["points"][0]["id"], "the highest priority first");
        assert_eq!((top.json["total"].as_i64(), top.json["truncated"].as_bool()), (Some(3), Some(true)));
        for bad in ["0", "10001", "-1", "many"] {
            app.get(&format!("/api/v1/portfolio/radar?limit={bad}"), &owner).await.problem(422);
        }
        // The quadrant and score window filters keep exactly the points inside them.
        let quadrant = all.json["points"][0]["quadrant"].as_str().unwrap().to_string();
        let inside = app.get(&format!("/api/v1/portfolio/radar?quadrant={quadrant}"), &owner).await;
        let expected: Vec<&Value> = all.json["points"].as_array().unwrap().iter().filter(|p| p["quadrant"] == quadrant.as_str()).collect();
        assert_eq!(inside.json["points"].as_array().unwrap().len(), expected.len(), "{}", inside.text);
        let p = &all.json["points"][0];
        let (v, f) = (p["business_value"].as_i64().unwrap(), p["feasibility"].as_i64().unwrap());
        let window = app.get(&format!("/api/v1/portfolio/radar?value_min={v}&value_max={v}&feasibility_min={f}&feasibility_max={f}"), &owner).await;
        let points = window.json["points"].as_array().unwrap();
        assert!(points.iter().any(|q| q["id"] == p["id"]), "{}", window.text);
        assert!(points.iter().all(|q| q["business_value"] == v && q["feasibility"] == f), "{}", window.text);
        let outside = app.get(&format!("/api/v1/portfolio/radar?value_min={}", (v + 1).min(100)), &owner).await;
        if v < 100 {
            assert!(!outside.json["points"].as_array().unwrap().iter().any(|q| q["id"] == p["id"]));
        }
        for bad in ["quadrant=nowhere", "value_min=101", "feasibility_max=-3", "value_min=60&value_max=40", "value_max=high"] {
            app.get(&format!("/api/v1/portfolio/radar?{bad}"), &owner).await.problem(422);
        }
        let blocked = app.get("/api/v1/portfolio/radar?tier=prohibited", &owner).await;
        assert_eq!(ids(&blocked.json), std::slice::from_ref(&theirs));
        app.get("/api/v1/portfolio/radar?tier=severe", &owner).await.problem(422);

        let s = app.get("/api/v1/portfolio/summary", &owner).await;
        assert_eq!(s.status, 200, "{}", s.text);
        assert_eq!(s.json["total"], 4);
        assert_eq!(count(&s.json, "by_status", "draft"), 1);
        assert_eq!(count(&s.json, "by_tier", "prohibited"), 1);
        assert_eq!(count(&s.json, "by_agency", "UNICEF"), 3);
        assert_eq!(count(&s.json, "by_route", "blocked"), 1);
        let own = app.get("/api/v1/portfolio/summary", &unicef).await;
        assert_eq!(own.json["total"], 3);
        assert_eq!(count(&own.json, "by_agency", "UNHCR"), 0);

        // A change after a response was cached shows at once.
        let new = app.submitted(&unicef, "meeting_minutes_transcription").await;
        let again = app.get("/api/v1/portfolio/radar", &owner).await;
        assert!(ids(&again.json).contains(&new["id"].as_str().unwrap().to_string()), "stale radar served");
        let after = app.get("/api/v1/portfolio/summary", &owner).await;
        assert_eq!(after.json["total"], 5);
        // And a decision moves the workload.
        let reviewer = app.user("UNICC", "rev@unicc.test", &[Role::Reviewer], ReviewScope::All);
        app.post(&format!("/api/v1/use-cases/{}/decisions", mine_high(&app, &owner).await), &reviewer, &json!({"action": "reject", "rationale": "not ready", "version": 2})).await;
        let w = app.get("/api/v1/portfolio/summary", &owner).await;
        let workload = w.json["workload"].as_array().unwrap();
        assert!(workload.iter().any(|r| r["reviewer"] == "rev@unicc.test" && r["decisions_last_30_days"] == 1), "{}", w.text);
    }
}

/// The id of the high-risk case awaiting approval.
async fn mine_high(app: &TestApp, owner: &str) -> String {
    let r = app.get("/api/v1/portfolio/radar?tier=high", owner).await;
    r.json["points"][0]["id"].as_str().unwrap().to_string()
}

/// The demo portfolio spreads over the radar's four quadrants, several cases in each, while
/// every case keeps the risk tier its example expects (only value and feasibility vary).
#[actix_web::test]
async fn the_demo_portfolio_fills_every_quadrant_and_keeps_each_examples_tier() {
    use aitriage::db::portfolio::{radar, RadarFilter};
    use aitriage::domain::access::Scope;
    let app = TestApp::sqlite().await;
    let mut c = app.pool.get().unwrap();
    aitriage::demo::seed(&mut c, &rules(), &rules_dir().join("cases")).unwrap();
    let points = radar(&mut c, &Scope::All, &RadarFilter::default()).unwrap();
    let mut by_quadrant = std::collections::BTreeMap::new();
    for p in &points {
        *by_quadrant.entry(p.quadrant.as_str()).or_insert(0) += 1;
    }
    assert_eq!(by_quadrant.len(), 4, "{by_quadrant:?}");
    assert!(by_quadrant.values().all(|n| *n >= 5), "{by_quadrant:?}");
    let examples = aitriage::rules::cases::load_cases(&rules_dir().join("cases")).unwrap();
    for p in &points {
        let ex = examples.iter().find(|e| e.title == p.title).unwrap();
        assert_eq!(p.tier, ex.expect.tier.as_str(), "{}", ex.name);
    }
}
