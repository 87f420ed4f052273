//! Similar use cases: precision on a labelled set of paraphrased pairs, and the API.

use std::path::Path;

use aitriage::domain::access::{ReviewScope, Role};
use aitriage::domain::similar::{Doc, Index};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::*;

fn doc(id: String, agency: &str, text: &str) -> Doc {
    Doc {
        id: id.into(),
        agency: agency.into(),
        title: text.split('.').next().unwrap_or_default().into(),
        business_function: String::new(),
        status: "approved".into(),
        text: text.into(),
    }
}

/// The 2023 federal inventory's title and summary per row, when the shared data is present.
fn federal_2023() -> Option<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/us-federal-ai-inventory-2023.csv");
    let mut r = csv::Reader::from_path(&path).ok()?;
    let h = r.headers().ok()?.clone();
    let (ti, si) = (
        h.iter().position(|c| c == "Title")?,
        h.iter().position(|c| c == "Summary")?,
    );
    Some(
        r.records()
            .filter_map(Result::ok)
            .map(|rec| format!("{}. {}", &rec[ti], &rec[si]))
            .collect(),
    )
}

#[test]
fn paraphrased_pairs_find_each_other_first() {
    #[derive(serde::Deserialize)]
    struct Pairs {
        pair: Vec<Pair>,
    }
    #[derive(serde::Deserialize)]
    struct Pair {
        a: String,
        b: String,
    }
    let pairs: Pairs = toml::from_str(include_str!("../fixtures/paraphrases.toml")).unwrap();
    let mut docs = Vec::new();
    for (i, p) in pairs.pair.iter().enumerate() {
        docs.push(doc(format!("p{i}a"), "AGENCY-A", &p.a));
        docs.push(doc(format!("p{i}b"), "AGENCY-B", &p.b));
    }
    let distractors = match federal_2023() {
        Some(rows) => rows,
        None => {
            eprintln!("../shared/data not present: measuring among the pairs only");
            Vec::new()
        }
    };
    let n_distractors = distractors.len();
    for (i, text) in distractors.iter().enumerate() {
        docs.push(doc(format!("d{i}"), "US", text));
    }
    // (Not the rule pack's example cases: several describe the same systems as these pairs,
    // so they would be true duplicates counted as misses.)
    let idx = Index::build(docs);
    let mut hits = 0;
    let mut misses = Vec::new();
    for i in 0..pairs.pair.len() * 2 {
        let me = idx.doc(i).id.to_string();
        let partner = format!(
            "{}{}",
            &me[..me.len() - 1],
            if me.ends_with('a') { 'b' } else { 'a' }
        );
        let top = idx.similar_to(i, 1, 0.0);
        if top.first().is_some_and(|m| m.id == partner.as_str()) {
            hits += 1;
        } else {
            misses.push(format!(
                "{me} → {:?}",
                top.first().map(|m| (&m.id, &m.title, m.score))
            ));
        }
    }
    let precision = hits as f64 / (pairs.pair.len() * 2) as f64;
    eprintln!(
        "similarity precision@1 on {} paraphrased pairs among {} cases: {:.2}",
        pairs.pair.len(),
        idx.len(),
        precision
    );
    eprintln!("misses: {misses:#?}");
    assert!(
        precision >= 0.85,
        "precision@1 {precision:.2} with {n_distractors} distractors; misses: {misses:#?}"
    );
}

both_backends! {
    /// The similar cases API: best first, with reasons, within the caller's scope.
    async fn similar_cases_are_found_across_agencies_for_those_who_may_see_them(app) {
        let unicef = app.submitter("UNICEF");
        let wfp = app.submitter("WFP");
        let owner = app.user("UNICC", "po@unicc.test", &[Role::PortfolioOwner], ReviewScope::Own);
        let mut a = case_body("back_office_email_sorting");
        a["title"] = json!("Supplier invoice matching");
        a["summary"] = json!("Automatically reconciles supplier invoices with purchase orders and flags discrepancies for finance.");
        a["business_function"] = json!("Finance");
        let mut b = a.clone();
        b["title"] = json!("Three-way match for vendor invoices");
        b["summary"] = json!("Compares vendor invoices against purchase orders and receipts; mismatches go to finance.");
        let first = app.post("/api/v1/use-cases", &unicef, &a).await.json;
        let second = app.post("/api/v1/use-cases", &wfp, &b).await.json;
        app.submitted(&wfp, "staff_emotion_analytics").await;
        let r = app.get(&format!("/api/v1/use-cases/{}/similar", first["id"].as_str().unwrap()), &owner).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let top = &r.json["items"][0];
        assert_eq!(top["id"], second["id"]);
        assert_eq!(top["agency"], "WFP");
        assert!(top["score"].as_f64().unwrap() > 0.3, "{top}");
        let reasons = top["reasons"].as_array().unwrap();
        assert!(reasons.iter().any(|x| x.as_str().unwrap().contains("invoice")), "{reasons:?}");
        assert!(reasons.iter().any(|x| x == "same business function: Finance"));
        // The submitter sees only what their scope holds: not WFP's case.
        let own = app.get(&format!("/api/v1/use-cases/{}/similar", first["id"].as_str().unwrap()), &unicef).await;
        assert!(own.json["items"].as_array().unwrap().iter().all(|m| m["agency"] == "UNICEF"), "{}", own.text);
        app.get(&format!("/api/v1/use-cases/{}/similar", second["id"].as_str().unwrap()), &unicef).await.problem(404);
        // Portfolio-wide: the two form a duplicate cluster across agencies.
        let d = app.get("/api/v1/portfolio/duplicates", &owner).await;
        assert_eq!(d.status, 200, "{}", d.text);
        let cluster: Vec<&str> = d.json["clusters"][0]["cases"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert!(cluster.contains(&first["id"].as_str().unwrap()) && cluster.contains(&second["id"].as_str().unwrap()), "{}", d.text);

        // A reviewer says they are not duplicates: neither list offers the pair again.
        let (a_id, b_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
        let url = format!("/api/v1/use-cases/{a_id}/not-duplicate");
        let senior = reviewer(&app, "senior@unicc.test", &[Role::SeniorReviewer], &["privacy"]);
        let before = app.counts();
        app.post(&url, &owner, &json!({"other": b_id})).await.problem(403);
        app.post(&url, &unicef, &json!({"other": b_id})).await.problem(403);
        app.post(&url, &senior, &json!({"other": "not-an-id"})).await.problem(422);
        app.post(&url, &senior, &json!({"other": a_id})).await.problem(422);
        app.post(&url, &senior, &json!({"other": uuid::Uuid::now_v7().to_string()})).await.problem(404);
        // An unknown member is a field error, as everywhere in the API (422 naming it).
        let extra = app.post(&url, &senior, &json!({"other": b_id, "extra": 1})).await;
        assert_eq!(extra.problem(422)["errors"][0]["field"], "extra");
        assert_eq!(app.counts(), before, "a refused request changes nothing");
        for _ in 0..2 {
            let r = app.post(&url, &senior, &json!({"other": b_id})).await;
            assert_eq!(r.status, 204, "{}", r.text);
        }
        assert_eq!(app.counts()[2], before[2] + 1, "one audit event, however often it is said");
        let r = app.get(&format!("/api/v1/use-cases/{a_id}/similar"), &owner).await;
        assert!(!r.json["items"].as_array().unwrap().iter().any(|m| m["id"] == b_id), "{}", r.text);
        let d = app.get("/api/v1/portfolio/duplicates", &owner).await;
        let together = d.json["clusters"].as_array().unwrap().iter().any(|c| {
            let ids: Vec<&str> = c["cases"].as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
            ids.contains(&a_id) && ids.contains(&b_id)
        });
        assert!(!together, "{}", d.text);
    }
}

both_backends! {
    /// The similarity index is kept between requests, but never outlives a change: a case
    /// created after the index was built is found at once, in every scope that may see it.
    async fn a_change_rebuilds_the_similarity_index(app) {
        let unicef = app.submitter("UNICEF");
        let owner = app.user("UNICC", "po@unicc.test", &[Role::PortfolioOwner], ReviewScope::Own);
        let first = app.post("/api/v1/use-cases", &unicef, &case_body("back_office_email_sorting")).await.json;
        let similar = |id: &Value| format!("/api/v1/use-cases/{}/similar", id["id"].as_str().unwrap());
        for who in [&owner, &unicef] {
            assert_eq!(app.get(&similar(&first), who).await.status, 200);
            assert_eq!(app.get(&similar(&first), who).await.status, 200, "served from the cache");
        }
        let second = app.post("/api/v1/use-cases", &unicef, &case_body("public_faq_chatbot")).await.json;
        for who in [&owner, &unicef] {
            let r = app.get(&similar(&second), who).await;
            assert_eq!(r.status, 200, "a stale similarity index was served: {}", r.text);
        }
    }
}
