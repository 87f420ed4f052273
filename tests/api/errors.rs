//! Every error status, as problem+json, with the database unchanged after each.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    /// 400, 401, 403, 404, 409, 413, 415 and 422 each come as problem+json and change nothing.
    async fn every_error_status_is_a_problem_and_changes_nothing(app) {
        let t = app.submitter("UNICEF");
        let reviewer = app.user("UNICEF", "rev@unicef.test", &[aitriage::domain::access::Role::Reviewer], aitriage::domain::access::ReviewScope::Own);
        let d = app.draft(&t, "back_office_email_sorting").await;
        let id = d["id"].as_str().unwrap().to_string();
        let url = format!("/api/v1/use-cases/{id}");
        let before = app.counts();

        // 400: malformed JSON, and an empty body where one is required.
        let r = app.send(TestRequest::post().uri("/api/v1/use-cases").insert_header(("Authorization", format!("Bearer {t}"))).insert_header(("Content-Type", "application/json")).set_payload("{\"title\": ")).await;
        assert_eq!(r.problem(400)["code"], "malformed_request");
        app.send(TestRequest::post().uri("/api/v1/use-cases").insert_header(("Authorization", format!("Bearer {t}"))).insert_header(("Content-Type", "application/json"))).await.problem(400);

        // 401: no token, a token never issued, a malformed header.
        app.call(Method::POST, "/api/v1/use-cases", None, Some(&case_body("back_office_email_sorting"))).await.problem(401);
        app.post("/api/v1/use-cases", "ait_0000000000000000000000000000000000000000000000000000000000000000", &case_body("back_office_email_sorting")).await.problem(401);
        app.send(TestRequest::get().uri(&url).insert_header(("Authorization", format!("Basic {t}")))).await.problem(401);
        // A token never issued is a 401 whatever the request, even on the handlers that check
        // the token in their own task, after reading the body: it learns nothing of the body.
        let unknown = "ait_0000000000000000000000000000000000000000000000000000000000000000";
        app.send(TestRequest::post().uri("/api/v1/use-cases").insert_header(("Authorization", format!("Bearer {unknown}"))).insert_header(("Content-Type", "application/json")).set_payload("{\"title\": ")).await.problem(401);
        app.post("/api/v1/use-cases", unknown, &json!({"title": 5})).await.problem(401);
        app.post("/api/v1/use-cases/not-a-uuid/submit", unknown, &json!({})).await.problem(401);
        app.post(&format!("{url}/submit"), unknown, &json!({"version": "one"})).await.problem(401);

        // 403: a reviewer may read the case but never author one.
        app.post("/api/v1/use-cases", &reviewer, &case_body("back_office_email_sorting")).await.problem(403);
        app.patch(&url, &reviewer, &json!({"version": 1, "title": "x"})).await.problem(403);
        app.post(&format!("{url}/submit"), &reviewer, &json!({})).await.problem(403);

        // 404: unknown ids, ids that are not UUIDs, unknown paths.
        app.get(&format!("/api/v1/use-cases/{}", uuid::Uuid::now_v7()), &t).await.problem(404);
        app.get("/api/v1/use-cases/not-a-uuid", &t).await.problem(404);
        app.get("/api/v1/nothing-here", &t).await.problem(404);

        // 409: a stale version.
        let stale = app.post(&format!("{url}/submit"), &t, &json!({"version": 7})).await;
        assert_eq!(stale.problem(409)["current_version"], 1);

        // 413: a body over the limit, declared or not.
        let big = json!({"title": "x", "summary": "y".repeat(300 * 1024)});
        app.post("/api/v1/use-cases", &t, &big).await.problem(413);

        // 415: not JSON.
        app.send(TestRequest::post().uri("/api/v1/use-cases").insert_header(("Authorization", format!("Bearer {t}"))).insert_header(("Content-Type", "text/plain")).set_payload("title=x")).await.problem(415);

        // 422: invalid fields, each named.
        for (body, field) in [
            (json!({"summary": "no title"}), "title"),
            (json!({"title": "   "}), "title"),
            (json!({"title": 5}), "title"),
            (json!({"title": "x".repeat(201)}), "title"),
            (json!({"title": "ok", "colour": "red"}), "colour"),
            (json!({"title": "ok", "answers": {"autonomy_level": 9}}), "answers.autonomy_level"),
            (json!({"title": "ok", "answers": {"no_such_question": 1}}), "answers.no_such_question"),
            (json!({"title": "ok", "answers": {"tool_actions": ["teleport"]}}), "answers.tool_actions"),
            (json!({"title": "ok", "answers": {"public_facing": "yes"}}), "answers.public_facing"),
            (json!({"title": "ok", "answers": []}), "answers"),
        ] {
            let r = app.post("/api/v1/use-cases", &t, &body).await;
            let p = r.problem(422);
            let fields: Vec<&str> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert!(fields.contains(&field), "{body}: expected {field} in {fields:?}");
        }
        let p = app.patch(&url, &t, &json!({"title": "no version"})).await;
        assert_eq!(p.problem(422)["errors"][0]["field"], "version", "the missing field is named");

        assert_eq!(app.counts(), before, "no failed request stored anything");
        let after = app.get(&url, &t).await;
        assert_eq!(after.json["version"], 1);
        assert_eq!(after.json["title"], d["title"]);
    }
}

#[actix_web::test]
async fn internal_detail_never_reaches_the_client() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let r = app
        .get("/api/v1/use-cases/00000000-0000-0000-0000-000000000000", &t)
        .await;
    let p = r.problem(404);
    assert!(
        !r.text.to_lowercase().contains("diesel") && !r.text.contains("sql"),
        "{}",
        r.text
    );
    assert_eq!(p["type"], "urn:aitriage:problem:not_found");
}

both_backends! {
    /// Every response names its request; a problem quotes the same id, so a report can be
    /// found in the logs. A well-formed incoming id is kept; anything else is replaced.
    async fn every_response_carries_a_request_id_and_problems_quote_it(app) {
        let t = app.submitter("UNICEF");
        let ok = app.get("/api/v1/questionnaire", &t).await;
        let id = ok.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an X-Request-Id header").to_string();
        assert!(id.len() >= 16, "{id}");
        let missing = app.get(&format!("/api/v1/use-cases/{}", uuid::Uuid::now_v7()), &t).await;
        let header = missing.headers.get("x-request-id").unwrap().to_str().unwrap().to_string();
        assert_ne!(header, id, "each request gets its own id");
        assert_eq!(missing.problem(404)["request_id"], json!(header));
        let kept = app.send(TestRequest::get().uri("/healthz").insert_header(("X-Request-Id", "client-trace-0001"))).await;
        assert_eq!(kept.headers.get("x-request-id").unwrap(), "client-trace-0001");
        let replaced = app.send(TestRequest::get().uri("/healthz").insert_header(("X-Request-Id", "bad id\twith tab"))).await;
        assert_ne!(replaced.headers.get("x-request-id").unwrap(), "bad id\twith tab");
        // Per-caller answers are never cached; the static stylesheet is.
        assert_eq!(ok.headers.get("cache-control").unwrap(), "no-store");
        assert_eq!(missing.headers.get("cache-control").unwrap(), "no-store");
        let css = app.send(TestRequest::get().uri("/static/style.css")).await;
        assert!(css.headers.get("cache-control").unwrap().to_str().unwrap().starts_with("public"));
    }
}

both_backends! {
    /// A status value no status has (a corrupt row) is a 500 with a request id, never read as
    /// a draft; the body says nothing internal.
    async fn a_corrupt_status_in_storage_answers_500_not_a_silent_default(app) {
        use diesel::prelude::*;
        let t = app.submitter("UNICEF");
        let d = app.draft(&t, "back_office_email_sorting").await;
        let id = d["id"].as_str().unwrap().to_string();
        {
            let mut c = app.pool.get().unwrap();
            diesel::sql_query(format!("UPDATE use_cases SET status = 'drafty' WHERE id = '{id}'")).execute(&mut c).unwrap();
        }
        let r = app.post(&format!("/api/v1/use-cases/{id}/submit"), &t, &json!({})).await;
        let p = r.problem(500);
        assert_eq!(p["code"], "internal_error");
        assert!(p["request_id"].as_str().is_some_and(|s| !s.is_empty()), "{p}");
        assert!(!p.to_string().contains("drafty"), "the cause stays in the log: {p}");
        let edit = app.patch(&format!("/api/v1/use-cases/{id}"), &t, &json!({"version": 1, "title": "x"})).await;
        edit.problem(500);
        // A corrupt tier is as loud: the queue that sorts by it answers 500, never a guess.
        let c = app.submitted(&t, "cv_screening").await;
        let cid = c["id"].as_str().unwrap().to_string();
        {
            let mut conn = app.pool.get().unwrap();
            diesel::sql_query(format!("UPDATE use_cases SET tier = 'hihg' WHERE id = '{cid}'")).execute(&mut conn).unwrap();
        }
        let senior = app.user("UNICC", "senior@unicc.test", &[aitriage::domain::access::Role::SeniorReviewer], aitriage::domain::access::ReviewScope::All);
        app.get("/api/v1/review-queue", &senior).await.problem(500);
    }
}

both_backends! {
    /// U+0000 anywhere in text is a 422 naming the field, on every backend (PostgreSQL cannot
    /// store it); data after the JSON value is a 400. Nothing is stored.
    async fn nul_characters_and_trailing_data_are_refused_naming_the_field(app) {
        let t = app.submitter("UNICEF");
        let before = app.counts();
        let mut body = case_body("back_office_email_sorting");
        body["title"] = json!("bad\u{0}title");
        let r = app.post("/api/v1/use-cases", &t, &body).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "title", "{}", r.text);
        let mut body = case_body("back_office_email_sorting");
        body["answers"]["purpose"] = json!("x\u{0}y");
        let r = app.post("/api/v1/use-cases", &t, &body).await;
        assert_eq!(r.problem(422)["errors"][0]["field"], "answers.purpose", "{}", r.text);
        for q in ["agency=%00", "tier=high&agency=UN%00ICEF"] {
            let r = app.get(&format!("/api/v1/use-cases?{q}"), &t).await;
            assert_eq!(r.problem(422)["errors"][0]["field"], "agency", "{q}: {}", r.text);
        }
        let trailing = app.send(TestRequest::post().uri("/api/v1/use-cases").insert_header(("Authorization", format!("Bearer {t}"))).insert_header(("Content-Type", "application/json")).set_payload(format!("{}garbage", case_body("back_office_email_sorting")))).await;
        trailing.problem(400);
        // An escaped backslash before "u0000" is ordinary text.
        let mut body = case_body("back_office_email_sorting");
        body["summary"] = json!("path C:\\u0000 is fine");
        assert_eq!(app.post("/api/v1/use-cases", &t, &body).await.status, 201);
        let after = app.counts();
        assert_eq!(after[0], before[0] + 1, "only the well-formed case was stored");
    }
}

both_backends! {
    /// The sign-in form is read before anything touches storage: U+0000 in the e-mail is a
    /// 4xx on every backend, never a 500.
    async fn a_nul_in_the_sign_in_form_is_refused(app) {
        let r = app
            .send(
                TestRequest::post()
                    .uri("/login")
                    .insert_header(("Cookie", "aitriage_login=abc123"))
                    .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                    .set_payload("login_csrf=abc123&email=ana%00%40unicef.test&password=x"),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.text);
    }
}

#[actix_web::test]
async fn hsts_is_sent_only_when_configured() {
    let plain = TestApp::sqlite().await;
    let r = plain.send(TestRequest::get().uri("/healthz")).await;
    assert!(r.headers.get("strict-transport-security").is_none());
    let behind_tls = TestApp::sqlite_with_settings(&[("HSTS_MAX_AGE", "31536000")]).await;
    let r = behind_tls.send(TestRequest::get().uri("/healthz")).await;
    assert_eq!(
        r.headers.get("strict-transport-security").unwrap(),
        "max-age=31536000; includeSubDomains"
    );
    let page = behind_tls.send(TestRequest::get().uri("/login")).await;
    assert!(page.headers.get("strict-transport-security").is_some());
}

#[actix_web::test]
async fn a_request_body_that_stalls_is_answered_408_and_changes_nothing() {
    use actix_web::dev::{Payload, Service};
    use actix_web::error::PayloadError;
    use actix_web::web::Bytes;
    let app = TestApp::sqlite_with_settings(&[("BODY_TIMEOUT", "1")]).await;
    let t = app.submitter("UNICEF");
    let before = app.counts();
    let svc = actix_web::test::init_service(
        actix_web::App::new().configure(aitriage::http::configure(app.state.clone())),
    )
    .await;
    let req = TestRequest::post()
        .uri("/api/v1/use-cases")
        .insert_header(("Authorization", format!("Bearer {t}")))
        .insert_header(("Content-Type", "application/json"))
        .to_request();
    // A client that sends its headers, then nothing.
    let stalled: std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(futures_util::stream::pending());
    let (req, _) = req.replace_payload(Payload::from(stalled));
    let res = svc.call(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 408);
    let body = actix_web::test::read_body(res).await;
    let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["code"], "request_timeout");
    assert_eq!(app.counts(), before);
}
