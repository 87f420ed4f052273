//! Intake end to end: create, edit, submit, read back, list, withdraw.

use actix_web::http::Method;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    /// A case created, submitted and read back carries its scores and triage.
    async fn a_case_is_created_submitted_and_read_back_with_scores_and_triage(app) {
        let t = app.submitter("UNICEF");
        let draft = app.draft(&t, "meeting_minutes_transcription").await;
        assert_eq!(draft["status"], "draft");
        assert_eq!(draft["version"], 1);
        assert_eq!(draft["agency"], "UNICEF");
        assert!(draft["scores"].is_null() && draft["triage"].is_null());
        let id = draft["id"].as_str().unwrap();
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

        let submitted = app.post(&format!("/api/v1/use-cases/{id}/submit"), &t, &json!({"version": 1})).await;
        assert_eq!(submitted.status, 200, "{}", submitted.text);

        let read = app.get(&format!("/api/v1/use-cases/{id}"), &t).await;
        assert_eq!(read.status, 200);
        let c = &read.json;
        assert_eq!(c["status"], "in_review");
        assert_eq!(c["version"], 2);
        assert_eq!(c["revision"], 1);
        for k in ["business_value", "feasibility", "readiness", "priority"] {
            let v = c["scores"][k].as_i64().unwrap();
            assert!((0..=100).contains(&v), "{k} = {v}");
        }
        assert!(c["scores"]["quadrant"].is_string());
        assert!(!c["scores"]["breakdown"].as_array().unwrap().is_empty());
        let tr = &c["triage"];
        assert_eq!(tr["tier"], "medium");
        assert_eq!(tr["route"], "functional_review");
        assert_eq!(tr["review_groups"], json!(["privacy"]));
        assert_eq!(tr["required_approvals"], 1);
        assert_eq!(tr["rules_version"], app.state.rules().version.as_str());
        let fired = &tr["fired"][0];
        assert_eq!(fired["rule"], "privacy.personal_data");
        assert_eq!(fired["node"], "ai_privacy");
        for k in ["severity", "likelihood", "rationale", "frameworks"] {
            assert!(!fired[k].is_null(), "fired rule without {k}");
        }
        assert_eq!(read.json, submitted.json, "what submit returned is what was stored");
        assert_eq!(app.counts()[1], 1, "one assessment stored");
    }
}

both_backends! {
    /// Each of the four routes is reached, and the status follows it.
    async fn each_route_is_reached_and_sets_the_status(app) {
        let t = app.submitter("UNHCR");
        for (example, tier, route, status) in [
            ("back_office_email_sorting", "low", "auto_clear", "approved"),
            ("meeting_minutes_transcription", "medium", "functional_review", "in_review"),
            ("public_faq_chatbot", "high", "human_approval", "awaiting_approval"),
            ("refugee_eligibility_screening", "critical", "human_approval", "awaiting_approval"),
            ("staff_emotion_analytics", "prohibited", "blocked", "blocked"),
        ] {
            let c = app.submitted(&t, example).await;
            assert_eq!((c["triage"]["tier"].as_str(), c["triage"]["route"].as_str(), c["status"].as_str()), (Some(tier), Some(route), Some(status)), "{example}");
        }
    }
}

both_backends! {
    /// PATCH merges answers (null removes one), bumps the version, and is refused after submission.
    async fn a_draft_is_edited_at_its_version_and_frozen_once_submitted(app) {
        let t = app.submitter("WFP");
        let d = app.draft(&t, "back_office_email_sorting").await;
        let id = d["id"].as_str().unwrap();
        let url = format!("/api/v1/use-cases/{id}");
        let r = app.patch(&url, &t, &json!({"version": 1, "title": "  Renamed  ", "answers": {"generative": true, "people_served": null}})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["version"], 2);
        assert_eq!(r.json["title"], "Renamed");
        assert_eq!(r.json["answers"]["generative"], true);
        assert!(r.json["answers"].get("people_served").is_none());
        assert_eq!(r.json["answers"]["purpose"], d["answers"]["purpose"], "other answers kept");

        let stale = app.patch(&url, &t, &json!({"version": 1, "title": "Lost update"})).await;
        assert_eq!(stale.problem(409)["current_version"], 2);

        app.post(&format!("{url}/submit"), &t, &json!({})).await;
        let frozen = app.patch(&url, &t, &json!({"version": 3, "title": "Too late"})).await;
        frozen.problem(409);
        assert_eq!(app.get(&url, &t).await.json["title"], "Renamed");
    }
}

both_backends! {
    /// An incomplete case cannot be submitted; the missing answers are named.
    async fn an_incomplete_case_is_refused_at_submission_and_stays_a_draft(app) {
        let t = app.submitter("IMF");
        let r = app.post("/api/v1/use-cases", &t, &json!({"title": "Half done", "answers": {"autonomy_level": 2}})).await;
        assert_eq!(r.status, 201);
        let id = r.json["id"].as_str().unwrap();
        let before = app.counts();
        let s = app.call(Method::POST, &format!("/api/v1/use-cases/{id}/submit"), Some(&t), None).await;
        let p = s.problem(422);
        let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"answers.human_oversight"), "{fields:?}");
        assert!(fields.contains(&"answers.tool_actions"), "visible conditional question required: {fields:?}");
        assert_eq!(app.counts(), before);
        assert_eq!(app.get(&format!("/api/v1/use-cases/{id}"), &t).await.json["status"], "draft");
    }
}

both_backends! {
    /// Withdrawal closes a case for good.
    async fn a_withdrawn_case_cannot_be_submitted_or_withdrawn_again(app) {
        let t = app.submitter("WHO");
        let c = app.submitted(&t, "public_faq_chatbot").await;
        let id = c["id"].as_str().unwrap();
        let w = app.post(&format!("/api/v1/use-cases/{id}/withdraw"), &t, &json!({"version": c["version"], "reason": "Superseded"})).await;
        assert_eq!(w.status, 200, "{}", w.text);
        assert_eq!(w.json["status"], "withdrawn");
        app.post(&format!("/api/v1/use-cases/{id}/withdraw"), &t, &json!({})).await.problem(409);
        app.post(&format!("/api/v1/use-cases/{id}/submit"), &t, &json!({})).await.problem(409);
    }
}

both_backends! {
    /// The list filters by status, tier and agency and pages with a cursor, newest first.
    async fn the_list_filters_and_pages_with_a_cursor(app) {
        let a = app.submitter("UNICEF");
        let owner = app.user("UNICC", "owner@unicc.test", &[aitriage::domain::access::Role::PortfolioOwner], aitriage::domain::access::ReviewScope::Own);
        let b = app.submitter("UNHCR");
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(app.submitted(&a, "back_office_email_sorting").await["id"].clone());
        }
        app.submitted(&b, "staff_emotion_analytics").await;
        app.draft(&a, "public_faq_chatbot").await;

        let page1 = app.get("/api/v1/use-cases?agency=UNICEF&status=approved&limit=2", &owner).await;
        assert_eq!(page1.status, 200, "{}", page1.text);
        let items = page1.json["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], ids[2], "newest first");
        let cursor = page1.json["next_cursor"].as_str().unwrap();
        let page2 = app.get(&format!("/api/v1/use-cases?agency=UNICEF&status=approved&limit=2&cursor={cursor}"), &owner).await;
        assert_eq!(page2.json["items"].as_array().unwrap().len(), 1);
        assert_eq!(page2.json["items"][0]["id"], ids[0]);
        assert!(page2.json["next_cursor"].is_null());

        // Agency codes are matched whatever their case (codes are stored upper case).
        let lower = app.get("/api/v1/use-cases?agency=%20unicef&status=approved&limit=2", &owner).await;
        assert_eq!(lower.json["items"], page1.json["items"]);

        let blocked = app.get("/api/v1/use-cases?tier=prohibited", &owner).await;
        assert_eq!(blocked.json["items"].as_array().unwrap().len(), 1);
        assert_eq!(blocked.json["items"][0]["agency"], "UNHCR");
        let all = app.get("/api/v1/use-cases", &owner).await;
        assert_eq!(all.json["items"].as_array().unwrap().len(), 5);

        for bad in ["tier=severe", "status=done", "limit=0", "limit=500", "cursor=nope", "colour=red"] {
            app.get(&format!("/api/v1/use-cases?{bad}"), &owner).await.problem(422);
        }
    }
}

both_backends! {
    /// Every change leaves an audit event; the triage event names the rules version.
    async fn the_audit_trail_records_creation_submission_and_triage_in_a_chain(app) {
        let t = app.submitter("UNICEF");
        let c = app.submitted(&t, "cv_screening").await;
        let id = c["id"].as_str().unwrap();
        app.chained();
        let r = app.get(&format!("/api/v1/use-cases/{id}/audit"), &t).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let events = r.json["events"].as_array().unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["created", "submitted", "triaged"]);
        assert_eq!(events[2]["details"]["rules_version"], app.state.rules().version.as_str());
        assert_eq!(events[2]["to_status"], "awaiting_approval");
        assert_eq!(events[1]["hash"], events[2]["prev_hash"], "each event chains to the one before");
        assert_eq!(events[0]["hash"], events[1]["prev_hash"]);
    }
}

both_backends! {
    /// Two submissions of the same draft at once: exactly one is applied.
    async fn concurrent_submissions_apply_exactly_once(app) {
        let t = app.submitter("UNICEF");
        let d = app.draft(&t, "public_faq_chatbot").await;
        let url = format!("/api/v1/use-cases/{}/submit", d["id"].as_str().unwrap());
        let body = json!({"version": 1});
        let before = app.counts();
        let results = futures_util::future::join_all((0..8).map(|_| app.post(&url, &t, &body))).await;
        let ok = results.iter().filter(|r| r.status == 200).count();
        let conflicts = results.iter().filter(|r| r.status == 409).count();
        assert_eq!((ok, conflicts), (1, 7), "{:?}", results.iter().map(|r| r.status).collect::<Vec<_>>());
        let after = app.counts();
        // A submission that lost the race left none of its rows: one assessment, the two
        // audit events (submitted, triaged) and one notification.
        assert_eq!(
            (after[1] - before[1], after[2] - before[2], after[4] - before[4]),
            (1, 2, 1),
            "{before:?} -> {after:?}"
        );
    }
}

both_backends! {
    /// A submission stored for a case that changed after it was read is a conflict, and none
    /// of its rows stays: the check comes from the database, after the rows were sent (on
    /// PostgreSQL they go as one statement with the case's update).
    async fn a_submission_racing_a_change_is_a_conflict_and_stores_nothing(app) {
        use aitriage::db::cases;
        use aitriage::domain::access::Scope;
        let t = app.submitter("UNICEF");
        let d = app.draft(&t, "public_faq_chatbot").await;
        let id = aitriage::vocab::CaseId::parse(d["id"].as_str().unwrap()).unwrap();
        let mut conn = app.pool.get().unwrap();
        let read = cases::get(&mut conn, &Scope::All, &id).unwrap().unwrap();
        let text = aitriage::domain::hints::CaseText { title: &read.row.title, summary: &read.row.summary };
        let a = aitriage::domain::assess_declared(&app.state.rules(), &read.answers().unwrap(), text, &read.declarations().unwrap(), true).unwrap();
        // Someone else changes the case meanwhile.
        diesel::connection::SimpleConnection::batch_execute(&mut *conn, "UPDATE use_cases SET version = version + 1").unwrap();
        let before = app.counts();
        let user = read.row.created_by.clone();
        let err = cases::store_submission(&mut conn, &user, read, &a.scores, &a.triage, a.triage.route.status_after_submit()).unwrap_err();
        assert!(matches!(err, aitriage::error::AppError::Conflict { current_version: Some(2), .. }), "{err:?}");
        assert_eq!(app.counts(), before, "nothing stored");
        let now = cases::get(&mut conn, &Scope::All, &id).unwrap().unwrap();
        assert_eq!((now.row.status.as_str(), now.row.revision), ("draft", 0));
    }
}

both_backends! {
    /// A preview scores and triages without storing anything.
    async fn a_preview_stores_nothing(app) {
        let t = app.submitter("UNICEF");
        let before = app.counts();
        let body = json!({"answers": example("refugee_eligibility_screening").answers});
        let r = app.post("/api/v1/triage/preview", &t, &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["triage"]["tier"], "critical");
        assert_eq!(r.json["complete"], true);
        let partial = app.post("/api/v1/triage/preview", &t, &json!({"answers": {"autonomy_level": 5}})).await;
        assert_eq!(partial.json["complete"], false);
        assert!(partial.json["missing"].as_array().unwrap().iter().any(|m| m == "human_oversight"));
        assert_eq!(app.counts(), before);
    }
}

#[actix_web::test]
async fn the_questionnaire_carries_the_contract_fields_and_every_core_question() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let r = app.get("/api/v1/questionnaire", &t).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["rules_version"], app.state.rules().version.as_str());
    let questions: Vec<&serde_json::Value> = r.json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["questions"].as_array().unwrap())
        .collect();
    for (id, kind, values) in aitriage::rules::CORE_QUESTIONS {
        let q = questions
            .iter()
            .find(|q| q["id"] == *id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(q["kind"], format!("{kind:?}").to_lowercase());
        for k in ["prompt", "help", "required"] {
            assert!(!q[k].is_null(), "{id} has no {k}");
        }
        for v in *values {
            assert!(
                q["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|o| o["value"] == *v && o["label"].is_string()),
                "{id}: {v}"
            );
        }
    }
    let autonomy = questions
        .iter()
        .find(|q| q["id"] == "autonomy_level")
        .unwrap();
    assert_eq!(
        (autonomy["min"].as_f64(), autonomy["max"].as_f64()),
        (Some(0.0), Some(5.0))
    );
    let tools = questions
        .iter()
        .find(|q| q["id"] == "tool_actions")
        .unwrap();
    assert_eq!(tools["visible_when"], "answers.autonomy_level > 0");
}

#[actix_web::test]
async fn health_answers_without_a_token_and_metrics_are_off_unless_configured() {
    let app = TestApp::sqlite().await;
    let h = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (h.status.as_u16(), h.json.clone()),
        (200, json!({"status": "ok"}))
    );
    app.call(Method::GET, "/metrics", None, None)
        .await
        .problem(403);
    let t = app.submitter("UNICEF");
    app.call(Method::GET, "/metrics", Some(&t), None)
        .await
        .problem(403);
}

#[actix_web::test]
async fn with_a_metrics_token_set_metrics_answer_only_to_it() {
    let app = TestApp::sqlite_with_settings(&[("METRICS_TOKEN", "scraper-secret")]).await;
    app.call(Method::GET, "/metrics", None, None)
        .await
        .problem(401);
    app.call(Method::GET, "/metrics", Some("wrong"), None)
        .await
        .problem(401);
    let t = app.submitter("UNICEF");
    app.submitted(&t, "staff_emotion_analytics").await;
    let m = app
        .call(Method::GET, "/metrics", Some("scraper-secret"), None)
        .await;
    assert_eq!(m.status, 200);
    assert!(
        m.text
            .contains("aitriage_triaged_total{tier=\"prohibited\"} 1"),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("aitriage_http_responses_total"),
        "{}",
        m.text
    );
}

both_backends! {
    /// `q` finds cases by words in their title or summary, whatever the case, with `%` and `_`
    /// taken literally.
    async fn the_list_searches_titles_and_summaries(app) {
        let t = app.submitter("UNICEF");
        for (title, summary) in [
            ("Cash Transfer chatbot", "Answers questions"),
            ("Email sorting", "Routes mail about CASH TRANSFERS to finance"),
            ("100% literal", "under_score"),
        ] {
            let mut body = case_body("back_office_email_sorting");
            body["title"] = json!(title);
            body["summary"] = json!(summary);
            assert_eq!(app.post("/api/v1/use-cases", &t, &body).await.status, 201);
        }
        let titles = |r: &Resp| -> Vec<String> {
            let mut v: Vec<String> = r.json["items"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_string()).collect();
            v.sort();
            v
        };
        let found = app.get("/api/v1/use-cases?q=cash%20transfer", &t).await;
        assert_eq!(titles(&found), ["Cash Transfer chatbot", "Email sorting"]);
        assert_eq!(titles(&app.get("/api/v1/use-cases?q=0%25", &t).await), ["100% literal"]);
        // As a wildcard, `_` would find "transfers" in a summary.
        assert_eq!(titles(&app.get("/api/v1/use-cases?q=e_s", &t).await), Vec::<String>::new());
        let p = app.get(&format!("/api/v1/use-cases?q={}", "x".repeat(201)), &t).await;
        assert_eq!(p.problem(422)["errors"][0]["field"], "q");
    }
}
