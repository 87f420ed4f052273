//! Agency scoping and roles: forbidden paths tested as carefully as allowed ones.

use aitriage::domain::access::{ReviewScope, Role};
use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

both_backends! {
    /// Another agency's case does not exist for a submitter: 404 everywhere, absent from lists.
    async fn another_agencys_case_is_invisible(app) {
        let unicef = app.submitter("UNICEF");
        let unhcr = app.submitter("UNHCR");
        let c = app.submitted(&unicef, "meeting_minutes_transcription").await;
        let d = app.draft(&unicef, "back_office_email_sorting").await;
        let before = app.counts();
        for id in [c["id"].as_str().unwrap(), d["id"].as_str().unwrap()] {
            let url = format!("/api/v1/use-cases/{id}");
            app.get(&url, &unhcr).await.problem(404);
            app.get(&format!("{url}/audit"), &unhcr).await.problem(404);
            app.patch(&url, &unhcr, &json!({"version": 1, "title": "hijack"})).await.problem(404);
            app.post(&format!("{url}/submit"), &unhcr, &json!({})).await.problem(404);
            app.post(&format!("{url}/withdraw"), &unhcr, &json!({})).await.problem(404);
        }
        let list = app.get("/api/v1/use-cases", &unhcr).await;
        assert_eq!(list.json["items"], json!([]));
        let filtered = app.get("/api/v1/use-cases?agency=UNICEF", &unhcr).await;
        assert_eq!(filtered.json["items"], json!([]), "an agency filter cannot widen the scope");
        assert_eq!(app.counts(), before);
    }
}

both_backends! {
    /// Reviewers read the agencies in their review scope, portfolio owners and admins read all.
    async fn read_scope_follows_role_and_review_scope(app) {
        let unicef = app.submitter("UNICEF");
        let c = app.submitted(&unicef, "public_faq_chatbot").await;
        let url = format!("/api/v1/use-cases/{}", c["id"].as_str().unwrap());
        let own_reviewer = app.user("UNHCR", "r1@unhcr.test", &[Role::Reviewer], ReviewScope::Own);
        let central = app.user("UNICC", "r2@unicc.test", &[Role::Reviewer], ReviewScope::All);
        let owner = app.user("UNICC", "po@unicc.test", &[Role::PortfolioOwner], ReviewScope::Own);
        let admin = app.user("UNICC", "ad@unicc.test", &[Role::Admin], ReviewScope::Own);
        let unicef_id = {
            let mut conn = app.pool.get().unwrap();
            aitriage::db::agencies::find_by_code(&mut conn, "UNICEF").unwrap().unwrap().id
        };
        let listed = app.user("UNHCR", "r3@unhcr.test", &[Role::SeniorReviewer], ReviewScope::Agencies(vec![unicef_id]));
        app.get(&url, &own_reviewer).await.problem(404);
        for t in [&central, &owner, &admin, &listed] {
            assert_eq!(app.get(&url, t).await.status, 200);
        }
        // Reading is not authoring.
        for t in [&central, &owner, &admin, &listed] {
            app.post(&format!("{url}/withdraw"), t, &json!({})).await.problem(403);
        }
    }
}

both_backends! {
    /// Only submitters create cases: every other role gets 403 and nothing is stored.
    async fn only_submitters_create_use_cases(app) {
        let before = app.counts();
        for (i, role) in [Role::Reviewer, Role::SeniorReviewer, Role::PortfolioOwner, Role::Admin].into_iter().enumerate() {
            let t = app.user("UNICC", &format!("u{i}@unicc.test"), &[role], ReviewScope::All);
            app.post("/api/v1/use-cases", &t, &case_body("back_office_email_sorting")).await.problem(403);
            // Everyone authenticated may read the questionnaire and preview.
            assert_eq!(app.get("/api/v1/questionnaire", &t).await.status, 200);
        }
        assert_eq!(app.counts()[0], before[0]);
    }
}

#[actix_web::test]
async fn every_api_route_refuses_a_request_without_a_token() {
    let app = TestApp::sqlite().await;
    let id = uuid::Uuid::now_v7().to_string();
    let public = ["/openapi.json"];
    let mut checked = 0;
    for (method, path) in aitriage::http::api::ROUTES
        .iter()
        .filter(|(_, p)| !public.contains(p))
    {
        let path = format!("/api/v1{}", path.replace("{id}", &id));
        let m = actix_web::http::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.call(m, &path, None, Some(&json!({}))).await;
        r.problem(401);
        assert_eq!(
            r.headers.get("www-authenticate").unwrap(),
            "Bearer realm=\"aitriage\"",
            "{method} {path}"
        );
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} routes checked");
}

#[actix_web::test]
async fn tokens_are_stored_only_as_hashes() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    use diesel::prelude::*;
    let mut conn = app.pool.get().unwrap();
    let stored: Vec<String> = aitriage::db::schema::api_tokens::table
        .select(aitriage::db::schema::api_tokens::token_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], t);
    assert_eq!(stored[0], aitriage::db::users::hash_token(&t));
    assert!(t.starts_with("ait_") && t.len() == 68);
}

/// The id of the user with `email`, and a web session cookie for them.
fn signed_in(app: &TestApp, email: &str) -> (String, String) {
    let mut c = app.pool.get().unwrap();
    let id = aitriage::db::users::find_id_by_email(&mut c, email)
        .unwrap()
        .unwrap();
    let cookie = aitriage::db::users::open_session(&mut c, &id).unwrap();
    (id.into_string(), cookie)
}

async fn page_status(app: &TestApp, cookie: &str) -> u16 {
    let req = actix_web::test::TestRequest::get()
        .uri("/")
        .insert_header(("Cookie", format!("aitriage_session={cookie}")));
    app.send(req).await.status.as_u16()
}

both_backends! {
    /// Two instances on one database: a token revoked, a user disabled or left without a role
    /// on one is refused by the other on the very next request, and a disabled user's web
    /// session ends. Only admins manage accounts, and an admin cannot lock themselves out.
    async fn revocation_applies_on_the_next_request_on_every_instance(app) {
        use actix_web::http::Method;
        let other = app.another_instance();
        let admin = app.user("UNICC", "admin@unicc.test", &[Role::Admin], ReviewScope::All);
        let ana = app.user("UNICEF", "ana@unicef.test", &[Role::Submitter], ReviewScope::Own);
        let ben = app.user("UNICEF", "ben@unicef.test", &[Role::Submitter], ReviewScope::Own);
        let (ana_id, ana_cookie) = signed_in(&app, "ana@unicef.test");
        let (ben_id, _) = signed_in(&app, "ben@unicef.test");
        let (admin_id, _) = signed_in(&app, "admin@unicc.test");
        app.submitted(&ben, "back_office_email_sorting").await;
        // Warm the other instance: it has served both users before anything changes.
        assert_eq!(other.get("/api/v1/use-cases", &ana).await.status, 200);
        assert_eq!(other.get("/api/v1/use-cases", &ben).await.status, 200);
        assert_eq!(page_status(&other, &ana_cookie).await, 200);

        // Only admins manage accounts.
        app.call(Method::POST, &format!("/api/v1/admin/users/{ben_id}/disable"), Some(&ana), None).await.problem(403);
        app.get("/api/v1/admin/tokens", &ana).await.problem(403);

        // A revoked token: 401 on the other instance at once; the user's other tokens still work.
        let listed = app.get(&format!("/api/v1/admin/tokens?user_id={ana_id}"), &admin).await;
        let token_id = listed.json["tokens"][0]["id"].as_str().unwrap().to_string();
        assert!(listed.json["tokens"][0].get("token").is_none(), "a listing never shows a token");
        let fresh = app.call(Method::POST, &format!("/api/v1/admin/users/{ana_id}/tokens"), Some(&admin), None).await;
        assert_eq!(fresh.status, 201, "{}", fresh.text);
        let fresh = fresh.json["token"].as_str().unwrap().to_string();
        let revoked = app.call(Method::DELETE, &format!("/api/v1/admin/tokens/{token_id}"), Some(&admin), None).await;
        assert_eq!(revoked.status, 204, "{}", revoked.text);
        other.get("/api/v1/use-cases", &ana).await.problem(401);
        assert_eq!(other.get("/api/v1/use-cases", &fresh).await.status, 200);
        app.call(Method::DELETE, &format!("/api/v1/admin/tokens/{token_id}"), Some(&admin), None).await.problem(404);

        // A disabled user: tokens refused and the web session over, on the other instance.
        let disabled = app.call(Method::POST, &format!("/api/v1/admin/users/{ana_id}/disable"), Some(&admin), None).await;
        assert_eq!(disabled.status, 204, "{}", disabled.text);
        other.get("/api/v1/use-cases", &fresh).await.problem(401);
        assert_eq!(page_status(&other, &ana_cookie).await, 303, "sent to sign in again");
        app.call(Method::POST, &format!("/api/v1/admin/users/{ana_id}/enable"), Some(&admin), None).await;
        assert_eq!(other.get("/api/v1/use-cases", &fresh).await.status, 200, "enabled again");

        // No role: the user can do nothing, not even read or export their agency's cases.
        let roles = app.call(Method::PUT, &format!("/api/v1/admin/users/{ben_id}/roles"), Some(&admin), Some(&json!({"roles": []}))).await;
        assert_eq!(roles.status, 204, "{}", roles.text);
        other.get("/api/v1/use-cases", &ben).await.problem(403);
        other.get("/api/v1/portfolio/export?format=csv", &ben).await.problem(403);
        app.call(Method::PUT, &format!("/api/v1/admin/users/{ben_id}/roles"), Some(&admin), Some(&json!({"roles": ["overlord"]}))).await.problem(422);

        // An admin cannot lock themselves out.
        app.call(Method::POST, &format!("/api/v1/admin/users/{admin_id}/disable"), Some(&admin), None).await.problem(409);
        app.call(Method::PUT, &format!("/api/v1/admin/users/{admin_id}/roles"), Some(&admin), Some(&json!({"roles": ["reviewer"]}))).await.problem(409);

        // Each change is in the audit trail, which still holds.
        app.chained();
        use aitriage::db::schema::audit_events::dsl as ae;
        use diesel::prelude::*;
        let actions: Vec<String> = ae::audit_events
            .filter(ae::use_case_id.is_null())
            .order(ae::seq.asc())
            .select(ae::action)
            .load(&mut app.pool.get().unwrap())
            .unwrap();
        assert_eq!(actions, ["token_issued", "token_revoked", "user_disabled", "user_enabled", "roles_set"]);
        assert!(aitriage::db::audit::verify(&mut app.pool.get().unwrap(), None).unwrap().is_ok());
    }
}
