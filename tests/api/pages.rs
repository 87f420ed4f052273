//! The web pages without a browser: sign-in, CSRF, role access, escaping, the no-script form.

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use aitriage::domain::access::{ReviewScope, Role};
use serde_json::json;

use crate::helpers::*;

/// A browser session for a user created with `roles`: the session cookie and its CSRF token.
pub(crate) fn session(
    app: &TestApp,
    agency: &str,
    email: &str,
    roles: &[Role],
) -> (String, String) {
    app.user(agency, email, roles, ReviewScope::All);
    let mut c = app.pool.get().unwrap();
    let id = aitriage::db::users::find_id_by_email(&mut c, email)
        .unwrap()
        .unwrap();
    let token = aitriage::db::users::open_session(&mut c, &id).unwrap();
    let (_, csrf) = aitriage::db::users::session(&mut c, &token)
        .unwrap()
        .unwrap();
    (token, csrf)
}

pub(crate) fn get(path: &str, cookie: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("Cookie", format!("aitriage_session={cookie}")))
}

pub(crate) fn post_form(path: &str, cookie: &str, pairs: &[(&str, &str)]) -> TestRequest {
    let body: String = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    TestRequest::post()
        .uri(path)
        .insert_header(("Cookie", format!("aitriage_session={cookie}")))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body)
}

/// A submitter of UNICEF who can sign in with `password`.
fn user_with_password(app: &TestApp, email: &str, password: &str) {
    app.user("UNICEF", email, &[Role::Submitter], ReviewScope::Own);
    let mut c = app.pool.get().unwrap();
    let id = aitriage::db::users::find_id_by_email(&mut c, email)
        .unwrap()
        .unwrap();
    aitriage::db::users::set_password(&mut c, &id, password).unwrap();
}

/// A sign-in form post with its CSRF cookie, going to `/portfolio` on success.
fn sign_in_attempt(email: &str, password: &str) -> TestRequest {
    TestRequest::post()
        .uri("/login")
        .insert_header(("Cookie", "aitriage_login=abc123"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(format!(
            "login_csrf=abc123&email={}&next=%2Fportfolio&password={}",
            enc(email),
            enc(password)
        ))
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The benign example case as form fields.
pub(crate) fn benign_form(title: &str) -> Vec<(String, String)> {
    let mut v = vec![
        ("title".to_string(), title.to_string()),
        ("business_function".into(), "Procurement".into()),
    ];
    for (k, val) in example("back_office_email_sorting").answers {
        match val {
            serde_json::Value::Array(items) => {
                for i in items {
                    v.push((format!("q_{k}"), i.as_str().unwrap().to_string()));
                }
            }
            serde_json::Value::String(s) => v.push((format!("q_{k}"), s)),
            other => v.push((format!("q_{k}"), other.to_string())),
        }
    }
    v
}

#[actix_web::test]
async fn pages_need_a_session_and_send_strict_security_headers() {
    let app = TestApp::sqlite().await;
    for path in ["/", "/queue", "/portfolio", "/use-cases/new"] {
        let r = app.send(TestRequest::get().uri(path)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            r.headers.get("location").unwrap(),
            &format!("/login?next={}", enc(path))
        );
    }
    let login = app.send(TestRequest::get().uri("/login")).await;
    assert_eq!(login.status, 200);
    let csp = login
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let set = login.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
}

#[actix_web::test]
async fn signing_in_sets_an_http_only_session_and_repeated_failures_slow_down() {
    let app = TestApp::sqlite().await;
    user_with_password(&app, "ana@unicef.test", "correct horse battery");
    let attempt = |password: &str| sign_in_attempt("ana@unicef.test", password);
    let ok = app.send(attempt("correct horse battery")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert_eq!(ok.headers.get("location").unwrap(), "/portfolio");
    let cookie = ok
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("aitriage_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );

    // Without the sign-in form's own CSRF cookie the post is refused.
    let forged = app
        .send(
            TestRequest::post()
                .uri("/login")
                .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
                .set_payload("login_csrf=abc123&email=ana%40unicef.test&password=x"),
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);

    for _ in 0..5 {
        let bad = app.send(attempt("wrong password here")).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(bad.text.contains("do not match"), "{}", bad.text);
    }
    let slowed = app.send(attempt("correct horse battery")).await;
    assert_eq!(
        slowed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(slowed.text.contains("Try again in"), "{}", slowed.text);
}

#[actix_web::test]
async fn a_title_with_markup_is_shown_as_text_everywhere() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let mut body = case_body("public_faq_chatbot");
    body["title"] = json!("<script>alert('x')</script> & <b>bold</b>");
    let r = app.post("/api/v1/use-cases", &t, &body).await;
    let id = r.json["id"].as_str().unwrap().to_string();
    app.post(&format!("/api/v1/use-cases/{id}/submit"), &t, &json!({}))
        .await;
    let (cookie, _) = session(
        &app,
        "UNICC",
        "senior@unicc.test",
        &[Role::SeniorReviewer, Role::PortfolioOwner],
    );
    for path in [
        "/".to_string(),
        format!("/use-cases/{id}"),
        "/queue".into(),
        "/portfolio".into(),
    ] {
        let page = app.send(get(&path, &cookie)).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.text.contains("<script>alert"),
            "{path} renders the title as markup"
        );
        assert!(
            page.text.contains("&lt;script&gt;alert"),
            "{path} does not show the title"
        );
        assert!(!page.text.contains("<b>bold</b>"), "{path}");
    }
    let csv = app.send(get("/portfolio.csv", &cookie)).await;
    assert!(
        csv.text
            .contains("\"<script>alert('x')</script> & <b>bold</b>\"")
            || csv
                .text
                .contains("<script>alert('x')</script> & <b>bold</b>")
    );
    assert_eq!(
        csv.headers.get("content-type").unwrap(),
        "text/csv; charset=utf-8"
    );
}

#[actix_web::test]
async fn a_form_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let before = app.counts();
    let fields = benign_form("No token");
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app.send(post_form("/use-cases/new", &cookie, &pairs)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut wrong = pairs.clone();
    wrong.push(("csrf", "0000"));
    assert_eq!(
        app.send(post_form("/use-cases/new", &cookie, &wrong))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(post_form("/logout", &cookie, &[])).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.counts(), before);
    // With it, the same post works.
    let mut right = pairs.clone();
    right.push(("csrf", &csrf));
    right.push(("action", "submit"));
    let ok = app.send(post_form("/use-cases/new", &cookie, &right)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    assert!(ok
        .headers
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .ends_with("?done=submitted"));
    assert_eq!(app.counts()[1], before[1] + 1, "submitted and triaged");
}

#[actix_web::test]
async fn pages_a_role_may_not_use_answer_403() {
    let app = TestApp::sqlite().await;
    let (submitter, _) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let (owner, owner_csrf) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    assert_eq!(
        app.send(get("/queue", &submitter)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(get("/use-cases/new", &owner)).await.status,
        StatusCode::FORBIDDEN
    );
    let fields = benign_form("Not mine to submit");
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("csrf", &owner_csrf));
    assert_eq!(
        app.send(post_form("/use-cases/new", &owner, &pairs))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.send(get("/portfolio", &owner)).await.status, 200);
    // Another agency's case is not found, on the page as in the API.
    let other = app.submitter("UNHCR");
    let c = app.submitted(&other, "public_faq_chatbot").await;
    let mut conn = app.pool.get().unwrap();
    let id = aitriage::db::users::find_id_by_email(&mut conn, "ana@unicef.test")
        .unwrap()
        .unwrap();
    let token = aitriage::db::users::open_session(&mut conn, &id).unwrap();
    assert_eq!(
        app.send(get(
            &format!("/use-cases/{}", c["id"].as_str().unwrap()),
            &token
        ))
        .await
        .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn without_scripts_the_form_keeps_what_was_typed_shows_errors_and_ignores_hidden_answers() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    // Missing required answers: the page comes back with a summary and every typed value.
    let partial = [
        ("csrf", csrf.as_str()),
        ("title", "Half-typed <case>"),
        ("q_purpose", "Kept text"),
        ("q_people_served", "lots"),
        ("action", "submit"),
    ];
    let r = app
        .send(post_form("/use-cases/new", &cookie, &partial))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text.contains("There is a problem") && r.text.contains("href=\"#q-people_served\""),
        "{}",
        r.text
    );
    assert!(r.text.contains("value=\"Half-typed &lt;case&gt;\""));
    assert!(r.text.contains(">Kept text</textarea>"));
    assert!(
        r.text.contains("value=\"lots\""),
        "an unreadable number is kept as typed"
    );
    assert_eq!(app.counts()[0], 0, "nothing stored");

    // Every question is on the page; answers to hidden ones are ignored by triage.
    let form = app.send(get("/use-cases/new", &cookie)).await;
    assert!(
        form.text.contains("name=\"q_tool_actions\"")
            && form.text.contains("data-conditional=\"true\"")
    );
    let mut fields = benign_form("Hidden answers");
    fields.retain(|(k, _)| k != "q_autonomy_level" && k != "q_tool_actions");
    fields.push(("q_autonomy_level".into(), "0".into()));
    fields.push(("q_tool_actions".into(), "financial_transaction".into()));
    fields.push(("q_tool_actions".into(), "physical_world".into()));
    fields.push(("csrf".into(), csrf.clone()));
    fields.push(("action".into(), "submit".into()));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ok = app.send(post_form("/use-cases/new", &cookie, &pairs)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let page = app
        .send(get(
            ok.headers.get("location").unwrap().to_str().unwrap(),
            &cookie,
        ))
        .await;
    assert!(
        page.text.contains("Low risk"),
        "hidden agentic answers did not count"
    );
}

/// What is wrong with a field is said in the page's language, numbers written its way, on the
/// intake form and on the case page; the API says the same problems in English, as always.
#[actix_web::test]
async fn field_problems_are_said_in_the_pages_language_and_the_api_keeps_its_english() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let out_of_range = [
        ("csrf", csrf.as_str()),
        ("title", "Half done"),
        ("q_people_served", "-5"),
        ("q_autonomy_level", "9"),
        ("action", "submit"),
    ];
    let incomplete = [
        ("csrf", csrf.as_str()),
        ("title", "Half done"),
        ("action", "submit"),
    ];
    let said = |lang: &'static str| {
        let app = &app;
        let cookie = cookie.clone();
        let (out_of_range, incomplete) = (&out_of_range, &incomplete);
        async move {
            let mut text = String::new();
            for fields in [&out_of_range[..], &incomplete[..]] {
                let r = app
                    .send(post_form(
                        &format!("/use-cases/new?lang={lang}"),
                        &cookie,
                        fields,
                    ))
                    .await;
                assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
                text.push_str(&r.text);
            }
            text
        }
    };
    let ru = said("ru").await;
    for words in [
        "требуется ответ",
        "должно быть не меньше 0",
        "должно быть в пределах от 0 до 5",
    ] {
        assert!(ru.contains(words), "{words}: {ru}");
    }
    let ar = said("ar").await;
    assert!(
        ar.contains("الإجابة مطلوبة") && ar.contains("يجب ألا تقل القيمة عن 0"),
        "{ar}"
    );
    for (lang, text) in [("ru", &ru), ("ar", &ar), ("zh", &said("zh").await)] {
        for english in ["an answer is required", "must be at least", "must be from"] {
            assert!(!text.contains(english), "{lang}: {english}");
        }
    }
    let en = said("en").await;
    assert!(en.contains("an answer is required") && en.contains("must be from 0 to 5"));

    // A draft submitted from its page names what is missing in French.
    let token = app.submitter("UNICEF");
    let d = app
        .post(
            "/api/v1/use-cases",
            &token,
            &json!({"title": "Draft", "summary": "", "business_function": "", "answers": {}}),
        )
        .await;
    let id = d.json["id"].as_str().unwrap().to_string();
    let r = app
        .send(post_form(
            &format!("/use-cases/{id}/act?lang=fr"),
            &cookie,
            &[("csrf", &csrf), ("op", "submit"), ("version", "1")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("une réponse est requise") && !r.text.contains("an answer is required"),
        "{}",
        r.text
    );

    // The API: the same problems, in English.
    let api = app
        .post(
            &format!("/api/v1/use-cases/{id}/submit"),
            &token,
            &json!({}),
        )
        .await;
    let p = api.problem(422);
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["message"] == "an answer is required"),
        "{}",
        api.text
    );
    let bad = app
        .post(
            "/api/v1/use-cases",
            &token,
            &json!({"title": "Bad", "answers": {"people_served": -5, "autonomy_level": 9}}),
        )
        .await;
    let messages: Vec<String> = bad.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert!(
        messages.contains(&"must be at least 0".to_string())
            && messages.contains(&"must be from 0 to 5".to_string()),
        "{messages:?}"
    );
}

#[actix_web::test]
async fn the_script_preview_reports_visibility_and_triage() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let r = app
        .send(post_form(
            "/use-cases/preview",
            &cookie,
            &[
                ("csrf", &csrf),
                ("q_autonomy_level", "3"),
                ("q_prohibited_practices", "social_scoring"),
            ],
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["visible"]["tool_actions"], true);
    assert_eq!(r.json["visible"]["children_safeguards"], false);
    assert_eq!(r.json["tier"], "Prohibited");
    assert_eq!(
        r.json["tier_code"], "prohibited",
        "the badge gets the tier's colour"
    );
    // "None of these" ticked beside a prohibited practice does not hide it.
    let both = app
        .send(post_form(
            "/use-cases/preview",
            &cookie,
            &[
                ("csrf", &csrf),
                ("q_prohibited_practices", "none"),
                ("q_prohibited_practices", "social_scoring"),
            ],
        ))
        .await;
    assert_eq!(both.json["tier_code"], "prohibited", "{}", both.text);
    let none = app
        .send(post_form("/use-cases/preview", &cookie, &[("csrf", &csrf)]))
        .await;
    assert!(
        none.json["missing"].as_u64().unwrap() > 0,
        "an empty form is provisional, not simply low risk"
    );
    // How many answers are missing, worded as the count needs in the page's language.
    let ru = app
        .send(post_form(
            "/use-cases/preview?lang=ru",
            &cookie,
            &[("csrf", &csrf)],
        ))
        .await;
    let n = ru.json["missing"].as_u64().unwrap();
    let text = ru.json["missing_text"].as_str().unwrap().to_string();
    let form = match (n % 10, n % 100) {
        (1, m) if m != 11 => "обязательный ответ еще не дан",
        (2..=4, m) if !(12..=14).contains(&m) => "обязательных ответа еще не даны",
        _ => "обязательных ответов еще не дано",
    };
    assert_eq!(text, format!("{n} {form}"));
    assert_eq!(
        none.json["visible"]["tool_actions"], false,
        "autonomy unanswered: agentic questions hidden"
    );
    assert_eq!(
        app.send(post_form("/use-cases/preview", &cookie, &[]))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn pages_speak_french_and_every_language_has_every_string() {
    let app = TestApp::sqlite().await;
    let (cookie, _) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let fr = app.send(get("/?lang=fr", &cookie)).await;
    assert!(
        fr.text.contains("<html lang=\"fr\" dir=\"ltr\">") && fr.text.contains("Portefeuille"),
        "{}",
        fr.text
    );
    let by_header = app
        .send(get("/", &cookie).insert_header(("Accept-Language", "fr-CH, fr;q=0.9")))
        .await;
    assert!(by_header.text.contains("<html lang=\"fr\""));
    let table = |text: &str| -> toml::Table { toml::from_str(text).unwrap() };
    let mut en = table(include_str!("../../templates/i18n/en.toml"));
    // The messages about fields have their English in the domain, once.
    for (key, english) in aitriage::domain::message::MESSAGES {
        en.insert(format!("says_{key}"), toml::Value::from(*english));
    }
    // A key that depends on a count has one key per plural form the language has
    // (`age_days-one`, `age_days-few`…): they are compared by their stem, and the forms each
    // language needs are checked against CLDR's rules by the unit tests of `pages::render`.
    let stem = |k: &str| -> String {
        match k.rsplit_once('-') {
            Some((stem, form))
                if ["zero", "one", "two", "few", "many", "other"].contains(&form) =>
            {
                stem.to_string()
            }
            _ => k.to_string(),
        }
    };
    let placeholders = |v: &toml::Value| -> Vec<String> {
        let v = v.as_str().unwrap_or_default();
        let mut found: Vec<String> = v
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(p, _)| p.to_string()))
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let by_stem =
        |t: &toml::Table| -> std::collections::BTreeMap<String, Vec<(String, toml::Value)>> {
            let mut m = std::collections::BTreeMap::<String, Vec<(String, toml::Value)>>::new();
            for (k, v) in t {
                m.entry(stem(k)).or_default().push((k.clone(), v.clone()));
            }
            m
        };
    let en_stems = by_stem(&en);
    for (lang, text) in [
        ("ar", include_str!("../../templates/i18n/ar.toml")),
        ("zh", include_str!("../../templates/i18n/zh.toml")),
        ("fr", include_str!("../../templates/i18n/fr.toml")),
        ("ru", include_str!("../../templates/i18n/ru.toml")),
        ("es", include_str!("../../templates/i18n/es.toml")),
    ] {
        let other = by_stem(&table(text));
        let missing: Vec<&String> = en_stems
            .keys()
            .filter(|k| !other.contains_key(*k))
            .collect();
        let extra: Vec<&String> = other
            .keys()
            .filter(|k| !en_stems.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "templates/i18n/{lang}.toml: missing {missing:?}; not in en.toml {extra:?}"
        );
        for (key, forms) in &en_stems {
            // The English `other` form (or the one text) says which placeholders there are; a
            // form for exactly one number (Arabic's zero, one, two) may spell the number out.
            let english = placeholders(&forms.last().unwrap().1);
            for (name, value) in &other[key] {
                let mut found = placeholders(value);
                let exact = ["-zero", "-one", "-two"].iter().any(|s| name.ends_with(s));
                if exact && !found.contains(&"n".to_string()) && english.contains(&"n".to_string())
                {
                    found.push("n".into());
                    found.sort();
                }
                assert_eq!(
                    english, found,
                    "templates/i18n/{lang}.toml: {name} keeps the English placeholders"
                );
            }
        }
    }
}

/// The six languages: `<html lang dir>` say which one the page is in, Arabic runs right to
/// left, and every page links to every language, each named in itself.
#[actix_web::test]
async fn every_page_says_its_language_and_direction_and_links_to_every_language() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "cv_screening").await;
    let (cookie, _) = session(
        &app,
        "UNICEF",
        "all@unicef.test",
        &[Role::Submitter, Role::Reviewer, Role::PortfolioOwner],
    );
    let case = format!("/use-cases/{}", c["id"].as_str().unwrap());
    let names = [
        ("ar", "العربية"),
        ("zh", "中文"),
        ("en", "English"),
        ("fr", "Français"),
        ("ru", "Русский"),
        ("es", "Español"),
    ];
    for (lang, _) in names {
        let dir = if lang == "ar" { "rtl" } else { "ltr" };
        for path in [
            "/",
            "/use-cases/new",
            case.as_str(),
            "/queue",
            "/portfolio",
            "/login",
        ] {
            let r = app.send(get(&format!("{path}?lang={lang}"), &cookie)).await;
            assert_eq!(r.status, StatusCode::OK, "{path} {lang}");
            assert!(
                r.text
                    .contains(&format!("<html lang=\"{lang}\" dir=\"{dir}\">")),
                "{path} in {lang}"
            );
            for (code, name) in names {
                let link = format!("lang=\"{code}\" hreflang=\"{code}\"");
                assert!(
                    r.text.contains(&link) && r.text.contains(&format!(">{name}</a>")),
                    "{path} in {lang} links to {code}"
                );
            }
            assert!(
                r.text.contains(&format!(
                    "hreflang=\"{lang}\" dir=\"{dir}\" aria-current=\"true\""
                )),
                "{path}: the current language is marked"
            );
        }
    }
    let ar = app.send(get("/?lang=ar", &cookie)).await;
    assert!(
        ar.text.contains("حالات الاستخدام"),
        "Arabic text on an Arabic page"
    );
    let zh = app.send(get("/portfolio?lang=zh", &cookie)).await;
    assert!(
        zh.text.contains("优先级雷达图"),
        "Chinese text on a Chinese page"
    );
}

/// With no cookie and no `?lang=`, the browser's Accept-Language decides, by its quality
/// values; languages the service does not have are passed over, never refused.
#[actix_web::test]
async fn without_a_choice_the_browsers_preferred_language_is_used() {
    let app = TestApp::sqlite().await;
    let lang_of = |header: &'static str| {
        let req = TestRequest::get()
            .uri("/login")
            .insert_header(("Accept-Language", header));
        let app = &app;
        async move {
            let r = app.send(req).await;
            assert_eq!(r.status, StatusCode::OK, "{header}");
            let at = r.text.find("<html lang=\"").unwrap() + 12;
            r.text[at..at + 2].to_string()
        }
    };
    assert_eq!(lang_of("de-DE, ru;q=0.9, en;q=0.8").await, "ru");
    assert_eq!(lang_of("en;q=0.2, es-419;q=0.7").await, "es");
    assert_eq!(lang_of("ar-EG").await, "ar");
    assert_eq!(lang_of("zh-CN;q=0, fr;q=0.1").await, "fr");
    assert_eq!(lang_of("de, pt;q=0.5").await, "en");
    assert_eq!(lang_of("*").await, "en");
    let unknown = app.send(TestRequest::get().uri("/login?lang=xx")).await;
    assert_eq!(unknown.status, StatusCode::OK);
    assert!(unknown.text.contains("<html lang=\"en\""));
    assert_eq!(
        cookie_set(&unknown, "aitriage_lang"),
        None,
        "an unknown language is not remembered"
    );
}

/// The `name=value` of the cookie `name` a response sets, if it sets one.
fn cookie_set(r: &Resp, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    r.headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&prefix))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

/// A language chosen on the sign-in page stays chosen: through sign-in, to the page it leads
/// to, and on the pages linked from there; the switch keeps the page's other parameters.
#[actix_web::test]
async fn a_language_chosen_before_signing_in_stays_chosen_after() {
    let app = TestApp::sqlite().await;
    user_with_password(&app, "ana@unicef.test", "correct horse battery");
    let login = app
        .send(TestRequest::get().uri("/login?next=%2Fportfolio&lang=ru"))
        .await;
    assert!(login.text.contains("<html lang=\"ru\""));
    assert!(
        login.text.contains(&format!(
            "href=\"{}\"",
            handlebars::html_escape("?next=%2Fportfolio&lang=ar")
        )),
        "switching language on the sign-in page keeps where it leads"
    );
    let lang_cookie = cookie_set(&login, "aitriage_lang").expect("the choice is remembered");
    assert_eq!(lang_cookie, "aitriage_lang=ru");
    let signed_in = app
        .send(
            sign_in_attempt("ana@unicef.test", "correct horse battery")
                .insert_header(("Cookie", format!("aitriage_login=abc123; {lang_cookie}"))),
        )
        .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.text
    );
    let session = cookie_set(&signed_in, "aitriage_session").expect("a session");
    let cookies = format!("{session}; {lang_cookie}");
    let with = |path: &str| {
        TestRequest::get()
            .uri(path)
            .insert_header(("Cookie", cookies.clone()))
    };
    let after = app.send(with("/portfolio")).await;
    assert!(after.text.contains("<html lang=\"ru\""), "after sign-in");
    assert!(after.text.contains("Радар приоритизации"));
    let linked = app.send(with("/")).await;
    assert!(
        linked.text.contains("<html lang=\"ru\""),
        "on a linked page"
    );
    let filtered = app.send(with("/?status=draft")).await;
    assert!(
        filtered.text.contains(&format!(
            "href=\"{}\"",
            handlebars::html_escape("?status=draft&lang=es")
        )),
        "the switch keeps the list's filter"
    );
}

#[actix_web::test]
async fn the_case_page_shows_a_tampered_audit_trail_without_failing() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "public_faq_chatbot").await;
    app.pool
        .get()
        .unwrap()
        .batch_execute("UPDATE audit_events SET hash = 'é' WHERE seq = 1")
        .unwrap();
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app
        .send(get(
            &format!("/use-cases/{}", c["id"].as_str().unwrap()),
            &cookie,
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        aitriage::db::audit::verify(&mut app.pool.get().unwrap(), None)
            .unwrap()
            .is_err(),
        "and verify reports it"
    );
}

#[actix_web::test]
async fn the_portfolio_page_lists_likely_duplicates_across_agencies() {
    let app = TestApp::sqlite().await;
    let unicef = app.submitter("UNICEF");
    let wfp = app.submitter("WFP");
    let mut a = case_body("back_office_email_sorting");
    a["title"] = json!("Supplier invoice matching");
    a["summary"] = json!(
        "Reconciles supplier invoices with purchase orders and flags discrepancies for finance."
    );
    let mut b = a.clone();
    b["title"] = json!("Vendor invoice three-way match");
    b["summary"] = json!("Matches vendor invoices against purchase orders and receipts; discrepancies go to finance.");
    app.post("/api/v1/use-cases", &unicef, &a).await;
    app.post("/api/v1/use-cases", &wfp, &b).await;
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app.send(get("/portfolio", &cookie)).await;
    assert_eq!(page.status, 200);
    let section = page
        .text
        .split("id=\"h-duplicates\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        section.contains("Supplier invoice matching")
            && section.contains("Vendor invoice three-way match"),
        "{section}"
    );
}

#[actix_web::test]
async fn forms_keep_the_apis_length_limits_and_the_notice_shows_only_known_messages() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNICEF");
    let c = app.submitted(&submitter, "cv_screening").await;
    let id = c["id"].as_str().unwrap();
    let (cookie, csrf) = session(&app, "UNICC", "rev@unicc.test", &[Role::SeniorReviewer]);
    let before = app.counts();
    let long = "x".repeat(200_000);
    let version = c["version"].to_string();
    let r = app
        .send(post_form(
            &format!("/use-cases/{id}/act"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("op", "decide"),
                ("decision", "comment"),
                ("version", &version),
                ("rationale", &long),
            ],
        ))
        .await;
    assert_eq!(
        r.status.as_u16(),
        422,
        "{}",
        &r.text[..r.text.len().min(300)]
    );
    assert!(r.text.contains("Rationale: at most 5,000 characters"));
    assert_eq!(app.counts(), before, "nothing stored");
    let page = app
        .send(get(
            &format!("/use-cases/{id}?done=%3Cb%3Eyou+were+hacked%3C%2Fb%3E"),
            &cookie,
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text.contains("you were hacked"),
        "unknown notices are not echoed"
    );
    let known = app
        .send(get(&format!("/use-cases/{id}?done=claim"), &cookie))
        .await;
    assert!(
        known.text.contains("You have claimed this use case."),
        "a known notice is shown in words"
    );
}

#[actix_web::test]
async fn guesses_sent_all_at_once_use_up_the_free_attempts_like_guesses_one_by_one() {
    let app = TestApp::sqlite().await;
    user_with_password(&app, "ana@unicef.test", "correct horse battery");
    let attempt = |password: &str| sign_in_attempt("ana@unicef.test", password);
    // 60 wrong guesses and the right one, all in flight together.
    let mut guesses: Vec<String> = (0..60).map(|i| format!("wrong guess {i}")).collect();
    guesses.push("correct horse battery".into());
    let results =
        futures_util::future::join_all(guesses.iter().map(|g| app.send(attempt(g)))).await;
    let checked = results
        .iter()
        .filter(|r| r.status != StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(checked <= 5, "{checked} guesses had their password checked");
    assert_eq!(
        results.last().unwrap().status,
        StatusCode::TOO_MANY_REQUESTS,
        "the right password, sent among 60 wrong ones, did not sign in"
    );
}

#[actix_web::test]
async fn submitting_an_incomplete_new_form_stores_nothing_and_names_what_is_missing() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let incomplete = [
        ("csrf", csrf.as_str()),
        ("title", "Half done"),
        ("q_purpose", "Sorts mail."),
        ("action", "submit"),
    ];
    for _ in 0..2 {
        let r = app
            .send(post_form("/use-cases/new", &cookie, &incomplete))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
        assert!(
            r.text.contains("href=\"#q-intended_use\""),
            "missing answers are linked"
        );
        assert_eq!(
            app.counts()[0],
            0,
            "no draft is saved by a failed submit, however often"
        );
    }
    // Saving a draft on purpose still works with the same answers.
    let mut save = incomplete.to_vec();
    save.retain(|(k, _)| *k != "action");
    save.push(("action", "save"));
    let saved = app.send(post_form("/use-cases/new", &cookie, &save)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    assert_eq!(app.counts()[0], 1);
}

#[actix_web::test]
async fn submitting_an_incomplete_draft_from_its_page_names_the_questions_not_their_ids() {
    let app = TestApp::sqlite().await;
    let token = app.submitter("UNICEF");
    let d = app
        .post(
            "/api/v1/use-cases",
            &token,
            &serde_json::json!({"title": "Draft", "summary": "", "business_function": "", "answers": {}}),
        )
        .await;
    let id = d.json["id"].as_str().unwrap().to_string();
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let r = app
        .send(post_form(
            &format!("/use-cases/{id}/act"),
            &cookie,
            &[("csrf", &csrf), ("op", "submit"), ("version", "1")],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains("What problem does the AI system solve"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("answers.purpose"), "no raw ids");
}

#[actix_web::test]
async fn the_case_page_counts_approvals_given_out_of_those_needed() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNHCR");
    let c = app
        .submitted(&submitter, "refugee_eligibility_screening")
        .await;
    assert_eq!(c["triage"]["required_approvals"], 2);
    let id = c["id"].as_str().unwrap();
    let senior = app.user(
        "UNICC",
        "senior@unicc.test",
        &[Role::SeniorReviewer],
        ReviewScope::All,
    );
    let r = app
        .post(
            &format!("/api/v1/use-cases/{id}/decisions"),
            &senior,
            &serde_json::json!({"action": "approve", "rationale": "Safeguards checked.", "version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app.send(get(&format!("/use-cases/{id}"), &cookie)).await;
    assert!(
        page.text.contains("<dd>1 / 2"),
        "one of two approvals shown"
    );
}

#[actix_web::test]
async fn a_case_changed_outside_aitriage_warns_on_its_page() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "public_faq_chatbot").await;
    let id = c["id"].as_str().unwrap();
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let before = app.send(get(&format!("/use-cases/{id}"), &cookie)).await;
    assert!(!before.text.contains("does not agree with its audit trail"));
    app.pool
        .get()
        .unwrap()
        .batch_execute(&format!(
            "UPDATE use_cases SET tier = 'low', route = 'auto_clear', status = 'approved' WHERE id = '{id}'"
        ))
        .unwrap();
    let page = app.send(get(&format!("/use-cases/{id}"), &cookie)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("does not agree with its audit trail")
            && page
                .text
                .contains("Its risk tier is “Low risk”, but its trail says “"),
        "{}",
        page.text
    );
}

#[actix_web::test]
async fn the_portfolio_names_cases_cleared_automatically_that_their_trail_does_not_vouch_for() {
    use diesel::connection::SimpleConnection;
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let genuine = app.submitted(&t, "back_office_email_sorting").await;
    assert_eq!(
        genuine["triage"]["route"], "auto_clear",
        "a genuinely cleared case"
    );
    let forged = app.submitted(&t, "public_faq_chatbot").await;
    let id = forged["id"].as_str().unwrap();
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let clean = app.send(get("/portfolio", &cookie)).await;
    assert!(!clean.text.contains("not according to the audit trail"));
    app.pool
        .get()
        .unwrap()
        .batch_execute(&format!(
            "UPDATE use_cases SET tier = 'low', route = 'auto_clear', status = 'approved' WHERE id = '{id}'"
        ))
        .unwrap();
    let page = app.send(get("/portfolio", &cookie)).await;
    assert_eq!(page.status, 200);
    let warning = page
        .text
        .split("not according to the audit trail")
        .nth(1)
        .expect("the portfolio warns")
        .split("</div>")
        .next()
        .unwrap();
    assert!(warning.contains(&format!("/use-cases/{id}")), "{warning}");
    assert!(
        !warning.contains(genuine["id"].as_str().unwrap()),
        "{warning}"
    );
    let owner = app.user(
        "UNICC",
        "po2@unicc.test",
        &[Role::PortfolioOwner],
        ReviewScope::All,
    );
    let summary = app.get("/api/v1/portfolio/summary", &owner).await;
    assert_eq!(
        summary.json["auto_clear_unverified"],
        serde_json::json!([id])
    );
}

#[actix_web::test]
async fn a_language_chosen_with_lang_is_remembered_for_the_next_pages() {
    let app = TestApp::sqlite().await;
    let first = app.send(TestRequest::get().uri("/login?lang=fr")).await;
    let cookie = first
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("aitriage_lang="))
        .expect("the choice is kept in a cookie")
        .to_string();
    assert!(
        cookie.starts_with("aitriage_lang=fr;") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let next = app
        .send(
            TestRequest::get()
                .uri("/login")
                .insert_header(("Cookie", "aitriage_lang=fr")),
        )
        .await;
    assert!(
        next.text.contains("lang=\"fr\""),
        "the next page, without ?lang, is French"
    );
}

/// The shipped pack is whole in the five languages besides English: every text it can
/// translate has an entry in each (what `rules check` reports otherwise).
#[test]
fn the_rule_pack_is_translated_whole_into_every_official_language() {
    let rules = rules();
    for lang in ["ar", "zh", "fr", "ru", "es"] {
        let texts = rules
            .translations
            .get(lang)
            .unwrap_or_else(|| panic!("rules/i18n/{lang}.toml"));
        let missing: Vec<String> = texts
            .missing(&rules)
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}

/// A translation changes what people read, never a triage: not the rules version either; a
/// translation of something the pack does not have is refused, naming it.
#[test]
fn translations_are_outside_the_rules_version_and_stale_ones_are_refused() {
    let (_d, pack, _) = broken_pack(
        "i18n/fr.toml",
        "prompt = \"Quel problème",
        "prompt = \"Quel autre problème",
    );
    let changed = aitriage::rules::load_dir(&pack).expect("still a valid pack");
    assert_eq!(changed.version, rules().version);
    let (_d, pack, _) = broken_pack("i18n/fr.toml", "[questions.purpose]", "[questions.porpose]");
    let diags = aitriage::rules::load_dir(&pack).unwrap_err();
    assert!(
        diags
            .iter()
            .any(|d| d.message.starts_with("questions.porpose.prompt:")),
        "{diags:?}"
    );
}

#[actix_web::test]
async fn french_pages_show_the_questionnaire_and_the_rules_in_french() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "cv_screening").await;
    let (cookie, _) = session(&app, "UNICEF", "sub@unicef.test", &[Role::Submitter]);
    let fr = |path: &str| {
        get(path, &cookie).insert_header((
            "Cookie",
            format!("aitriage_session={cookie}; aitriage_lang=fr"),
        ))
    };
    let form = app.send(fr("/use-cases/new")).await;
    assert!(
        form.text
            .contains("Quel problème le système d’IA résout-il, et pour qui"),
        "{}",
        form.text
    );
    assert!(!form.text.contains("What problem does the AI system solve"));
    let rules = rules();
    let fired = c["triage"]["fired"][0]["rule"].as_str().unwrap();
    let english = &rules
        .taxonomy
        .rules
        .iter()
        .find(|r| r.id == fired)
        .unwrap()
        .title;
    let french = rules.translations["fr"]
        .get(&format!("rules.{fired}.title"))
        .unwrap();
    let page = app
        .send(fr(&format!("/use-cases/{}", c["id"].as_str().unwrap())))
        .await;
    assert_eq!(page.status, 200);
    let escaped = french.replace('\'', "&#x27;");
    assert!(
        page.text.contains(french) || page.text.contains(&escaped),
        "{french}"
    );
    assert!(!page.text.contains(english.as_str()), "{english}");
    let (owner, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let radar = app
        .send(get("/portfolio", &owner).insert_header((
            "Cookie",
            format!("aitriage_session={owner}; aitriage_lang=fr"),
        )))
        .await;
    assert!(
        radar.text.contains(">À préparer\u{a0}:</tspan><tspan")
            && radar
                .text
                .contains(">forte valeur, pas encore faisable</tspan>"),
        "a quadrant's name over its description, in French: {}",
        &radar.text[radar.text.find("class=\"quadrant\"").unwrap_or(0)..][..400]
    );
}

/// The next step comes first: the decision's due date while reviewers have it, the actions
/// above the rules, and, once changes are requested, the reviewer's message at the top of the
/// submitter's page with the way to make them.
#[actix_web::test]
async fn the_case_page_puts_the_next_step_first() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNHCR");
    let c = app
        .submitted(&submitter, "refugee_eligibility_screening")
        .await;
    let id = c["id"].as_str().unwrap();
    let (reviewer, _) = session(&app, "UNICC", "senior@unicc.test", &[Role::SeniorReviewer]);
    let page = app.send(get(&format!("/use-cases/{id}"), &reviewer)).await;
    assert!(page.text.contains("Decision due by"), "{}", page.text);
    let (actions, rules) = (
        page.text.find("id=\"h-actions\"").unwrap(),
        page.text.find("id=\"h-fired\"").unwrap(),
    );
    assert!(
        actions < rules,
        "a reviewer's actions come before the rules"
    );

    let senior = app.user(
        "UNICC",
        "senior2@unicc.test",
        &[Role::SeniorReviewer],
        ReviewScope::All,
    );
    let asked = "Please attach the fairness test results per nationality.";
    let r = app
        .post(
            &format!("/api/v1/use-cases/{id}/decisions"),
            &senior,
            &serde_json::json!({"action": "request_changes", "rationale": asked, "version": c["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (own, _) = session(&app, "UNHCR", "author@unhcr.test", &[Role::Submitter]);
    let page = app.send(get(&format!("/use-cases/{id}"), &own)).await;
    let top = page
        .text
        .find("id=\"h-requested\"")
        .expect("the request is shown");
    assert!(
        top < page.text.find("id=\"h-fired\"").unwrap(),
        "above the rules"
    );
    assert!(page.text[top..].contains(asked));
    assert!(
        !page.text.contains("Decision due by"),
        "not while the submitter has it"
    );
}

#[actix_web::test]
async fn the_home_list_pages_by_fifty_and_filters() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    for i in 0..52 {
        let mut body = case_body("back_office_email_sorting");
        body["title"] = json!(format!("Case number {i:02}"));
        app.post("/api/v1/use-cases", &t, &body).await;
    }
    let (cookie, _) = session(&app, "UNICEF", "reader@unicef.test", &[Role::Submitter]);
    let first = app.send(get("/", &cookie)).await;
    assert_eq!(first.text.matches("Case number").count(), 50);
    let next = first
        .text
        .split("rel=\"next\"")
        .next()
        .and_then(|s| s.rsplit("href=\"").next())
        .map(|h| {
            h.trim_end_matches("\" ")
                .replace("&#x3D;", "=")
                .replace("&amp;", "&")
        })
        .expect("a next page link");
    let second = app.send(get(&next, &cookie)).await;
    assert_eq!(second.status, 200, "{next}");
    assert_eq!(second.text.matches("Case number").count(), 2, "{next}");
    assert!(!second.text.contains("rel=\"next\""));
    let found = app.send(get("/?q=NUMBER%2007&status=draft", &cookie)).await;
    assert_eq!(found.text.matches("Case number").count(), 1);
    assert!(
        found.text.contains("value=\"NUMBER 07\""),
        "the search stays in its box"
    );
}

/// Cases at the same position on the radar are spread apart (each visible and clickable),
/// and the most severe are drawn last, on top.
#[actix_web::test]
async fn radar_markers_do_not_hide_each_other() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let mut same = Vec::new();
    for _ in 0..3 {
        let c = app.submitted(&t, "back_office_email_sorting").await;
        same.push(c["id"].as_str().unwrap().to_string());
    }
    let banned = app.submitted(&t, "staff_emotion_analytics").await;
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app.send(get("/portfolio", &cookie)).await;
    let svg = &page.text[page.text.find("<svg").unwrap()..page.text.find("</svg>").unwrap()];
    let path_of = |id: &str| -> String {
        let at = svg
            .find(&format!("href=\"/use-cases/{id}\""))
            .expect("a marker per case");
        let d = &svg[at..];
        let d = &d[d.find(" d=\"").unwrap() + 4..];
        d[..d.find('"').unwrap()].to_string()
    };
    let paths: std::collections::HashSet<String> = same.iter().map(|id| path_of(id)).collect();
    assert_eq!(
        paths.len(),
        3,
        "three cases at one position, three distinct markers"
    );
    let low_at = svg
        .find(&format!("href=\"/use-cases/{}\"", same[0]))
        .unwrap();
    let banned_at = svg
        .find(&format!(
            "href=\"/use-cases/{}\"",
            banned["id"].as_str().unwrap()
        ))
        .unwrap();
    assert!(banned_at > low_at, "the prohibited case is drawn on top");
}

/// A case page shown again after a form post has language links to the address it was posted
/// to; following one leads back to the case page in that language.
#[actix_web::test]
async fn a_language_link_on_a_re_shown_case_page_leads_to_the_case() {
    let app = TestApp::sqlite().await;
    let (cookie, _) = session(&app, "UNICEF", "s@unicef.test", &[Role::Submitter]);
    let id = "01a20ee0-c79b-70f0-91dd-1b3d5c0abb89";
    let r = app
        .send(get(&format!("/use-cases/{id}/act?lang=fr"), &cookie))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers.get("location").unwrap(),
        &format!("/use-cases/{id}?lang=fr")
    );
}
/// `n` copies of the submitted case `id`, at scattered scores (the same spread each run) and
/// every tier, with titles that share no word, inserted directly.
fn scatter_copies(app: &TestApp, id: &str, n: usize) {
    use diesel::connection::SimpleConnection;
    const COLUMNS: &[&str] = &[
        "id",
        "agency_id",
        "title",
        "summary",
        "business_function",
        "status",
        "version",
        "revision",
        "answers",
        "created_by",
        "created_at",
        "updated_at",
        "submitted_at",
        "business_value",
        "feasibility",
        "readiness",
        "priority",
        "quadrant",
        "tier",
        "route",
        "rules_version",
        "scores",
        "triage",
        "escalated",
        "claimed_by",
        "claimed_at",
        "import_key",
    ];
    let value = |c: &str| {
        match c {
        "id" => "'bulk-' || printf('%05d', i)".to_string(),
        // Distinct words, so that the duplicate finder sees no clusters to form.
        "title" => "'Q' || printf('%05d', i)".into(),
        "summary" => "''".into(),
        "answers" => "'{}'".into(),
        "business_value" => "(i * 37) % 101".into(),
        "feasibility" => "(i * 61 + i / 7) % 101".into(),
        "readiness" => "(i * 13) % 101".into(),
        "quadrant" => "CASE WHEN (i * 37) % 101 >= 50 THEN CASE WHEN (i * 61 + i / 7) % 101 >= 50 THEN 'pursue_now' ELSE 'prepare' END ELSE CASE WHEN (i * 61 + i / 7) % 101 >= 50 THEN 'quick_win' ELSE 'reconsider' END END".into(),
        "tier" => "CASE i % 5 WHEN 0 THEN 'low' WHEN 1 THEN 'medium' WHEN 2 THEN 'high' WHEN 3 THEN 'critical' ELSE 'prohibited' END".into(),
        // Not cleared automatically: the trail of a copy would not vouch for that.
        "route" => "'functional_review'".into(),
        "import_key" => "NULL".into(),
        other => format!("c.{other}"),
    }
    };
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         INSERT INTO use_cases ({}) SELECT {} FROM n, use_cases c WHERE c.id = '{id}'",
        COLUMNS.join(", "),
        COLUMNS
            .iter()
            .map(|c| value(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    app.pool.get().unwrap().batch_execute(&sql).unwrap();
}

/// The links of the radar's SVG: (case ids of single markers, hrefs of groups).
fn radar_links(page: &str) -> (Vec<String>, Vec<String>) {
    let svg = &page[page.find("<svg").unwrap()..page.find("</svg>").unwrap()];
    let links = &svg[svg.find("class=\"links\"").expect("a link layer")..];
    let mut cases = Vec::new();
    let mut groups = Vec::new();
    for part in links.split("<a href=\"").skip(1) {
        let href = part[..part.find('"').unwrap()]
            .replace("&#x3D;", "=")
            .replace("&amp;", "&");
        match href.strip_prefix("/use-cases/") {
            Some(id) => cases.push(id.to_string()),
            None => groups.push(href),
        }
    }
    (cases, groups)
}

/// At 3,000 cases the radar draws a bounded number of marks (crowded cells become numbered
/// groups), and opening groups reaches every case.
#[actix_web::test]
async fn a_radar_of_three_thousand_cases_stays_bounded_and_its_groups_reach_every_case() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let first = app.submitted(&t, "back_office_email_sorting").await;
    scatter_copies(&app, first["id"].as_str().unwrap(), 2999);
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app.send(get("/portfolio", &cookie)).await;
    assert_eq!(page.status, 200);
    let (cases, groups) = radar_links(&page.text);
    assert!(!groups.is_empty(), "crowded cells are grouped");
    assert!(
        cases.len() + groups.len() <= 400,
        "{} marks for 3,000 cases",
        cases.len() + groups.len()
    );
    assert!(
        page.text.contains("class=\"group worst-prohibited\""),
        "a group is ringed in its most severe tier"
    );
    let mut reached: std::collections::HashSet<String> = cases.into_iter().collect();
    let mut open = groups;
    let mut pages = 0;
    while let Some(href) = open.pop() {
        pages += 1;
        assert!(pages < 1000, "opening groups ends");
        let inner = app.send(get(&href, &cookie)).await;
        assert_eq!(inner.status, 200, "{href}");
        assert!(
            inner.text.contains("id=\"cases\""),
            "{href} lists its cases"
        );
        let (cases, groups) = radar_links(&inner.text);
        reached.extend(cases);
        open.extend(groups);
    }
    assert_eq!(
        reached.len(),
        3000,
        "every case is reachable from the radar"
    );
}

/// Each mark's name is in the link layer drawn after every mark, and the quadrant filter
/// keeps only the cases of that quadrant.
#[actix_web::test]
async fn radar_names_are_drawn_above_every_mark_and_quadrants_filter() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "back_office_email_sorting").await;
    let quadrant = c["scores"]["quadrant"].as_str().unwrap().to_string();
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app.send(get("/portfolio", &cookie)).await;
    let svg = &page.text[page.text.find("<svg").unwrap()..page.text.find("</svg>").unwrap()];
    let last_mark = svg.rfind("class=\"marker").unwrap();
    let name = svg
        .find("class=\"name\">Procurement e-mail sorting")
        .expect("a visible name");
    assert!(name > last_mark, "names come after every mark");
    let others = ["pursue_now", "prepare", "quick_win", "reconsider"]
        .into_iter()
        .find(|q| *q != quadrant)
        .unwrap();
    let same = app
        .send(get(&format!("/portfolio?quadrant={quadrant}"), &cookie))
        .await;
    assert_eq!(radar_links(&same.text).0.len(), 1);
    let other = app
        .send(get(&format!("/portfolio?quadrant={others}"), &cookie))
        .await;
    assert!(radar_links(&other.text).0.is_empty());
    assert!(other
        .text
        .contains(&format!("<option value=\"{others}\" selected>")));
}

/// Uptime monitors and link checkers use HEAD: every page answers it as it answers GET, with
/// the same status and headers and no body.
#[actix_web::test]
async fn head_on_every_page_answers_like_get_without_a_body() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let c = app.submitted(&t, "back_office_email_sorting").await;
    let id = c["id"].as_str().unwrap();
    let (cookie, _) = session(
        &app,
        "UNICEF",
        "all@unicef.test",
        &[
            Role::Submitter,
            Role::Reviewer,
            Role::PortfolioOwner,
            Role::Admin,
        ],
    );
    let case = format!("/use-cases/{id}");
    for path in [
        "/login",
        "/",
        "/use-cases/new",
        case.as_str(),
        "/queue",
        "/portfolio",
        "/portfolio.csv",
        "/static/style.css",
        "/healthz",
    ] {
        let got = app.send(get(path, &cookie)).await;
        let head = app
            .send(get(path, &cookie).method(actix_web::http::Method::HEAD))
            .await;
        assert_eq!(head.status, got.status, "{path}");
        assert_eq!(head.status, 200, "{path}");
        assert_eq!(
            head.headers.get("content-type"),
            got.headers.get("content-type"),
            "{path}"
        );
        assert!(head.text.is_empty(), "{path}: HEAD has no body");
        assert!(!got.text.is_empty(), "{path}");
    }
    let anonymous = app
        .send(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/"),
        )
        .await;
    assert_eq!(
        anonymous.status,
        StatusCode::SEE_OTHER,
        "HEAD / signs in first, as GET does"
    );
}

/// An unknown address asked for by a browser is an HTML page with the menu; an API client
/// still gets problem+json; a page's error (here a case that does not exist) has the menu too.
#[actix_web::test]
async fn unknown_addresses_and_page_errors_are_html_pages_with_the_menu_for_browsers() {
    let app = TestApp::sqlite().await;
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let html = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";
    let page = app
        .send(get("/no/such/page?lang=fr", &cookie).insert_header(("Accept", html)))
        .await;
    assert_eq!(page.status, 404);
    assert!(
        page.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(page.text.contains("<html lang=\"fr\""), "{}", page.text);
    assert!(
        page.text.contains("href=\"/portfolio\""),
        "the menu: {}",
        page.text
    );
    assert!(page.text.contains("Page introuvable"), "{}", page.text);
    assert!(page.headers.get("x-request-id").is_some());
    let api = app
        .send(get("/no/such/page", &cookie).insert_header(("Accept", "application/json")))
        .await;
    api.problem(404);
    let under_api = app
        .send(get("/api/v1/nothing", &cookie).insert_header(("Accept", html)))
        .await;
    under_api.problem(404);
    let anonymous = app
        .send(
            TestRequest::get()
                .uri("/nowhere")
                .insert_header(("Accept", html)),
        )
        .await;
    assert_eq!(anonymous.status, 404);
    assert!(
        anonymous.text.contains("class=\"site\""),
        "{}",
        anonymous.text
    );
    let missing = app
        .send(get(
            "/use-cases/00000000-0000-0000-0000-000000000000",
            &cookie,
        ))
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.text.contains("href=\"/portfolio\""),
        "{}",
        missing.text
    );
    assert!(missing.text.contains("Page not found"), "{}", missing.text);
}

/// The intake form lists its sections with how many required questions each has answered
/// (rendered by the server, updated by the preview), links each section to the next, and
/// says beside each point of a scale what it means.
#[actix_web::test]
async fn the_intake_form_shows_sections_with_progress_and_what_scale_points_mean() {
    let app = TestApp::sqlite().await;
    let (cookie, csrf) = session(&app, "UNICEF", "ana@unicef.test", &[Role::Submitter]);
    let form = app.send(get("/use-cases/new", &cookie)).await;
    assert_eq!(form.status, 200);
    assert!(
        form.text
            .contains("<a href=\"#s-value\">Business value</a>"),
        "{}",
        form.text
    );
    assert!(form
        .text
        .contains("id=\"pg-value\">0 of 4 required answered<"));
    assert!(form
        .text
        .contains("<section aria-labelledby=\"h-value\" class=\"card\" id=\"s-value\">"));
    assert!(form
        .text
        .contains("href=\"#s-feasibility\">Next section: Technical feasibility<"));
    assert!(
        form.text.contains("<span>0 – not at all</span>"),
        "scale points say what they mean"
    );
    assert!(form
        .text
        .contains("<span>4 – central to a top strategic priority</span>"));
    let typed = app
        .send(post_form(
            "/use-cases/new",
            &cookie,
            &[
                ("csrf", &csrf),
                ("title", "Half-filled"),
                ("action", "submit"),
                ("q_urgency", "high"),
                ("q_replicability", "system_wide"),
            ],
        ))
        .await;
    assert_eq!(typed.status, 422);
    assert!(
        typed
            .text
            .contains("id=\"pg-value\">2 of 4 required answered<"),
        "{}",
        typed.text
    );
    let live = app
        .send(post_form(
            "/use-cases/preview",
            &cookie,
            &[("csrf", &csrf), ("q_urgency", "high")],
        ))
        .await;
    let value = live.json["progress"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "value")
        .cloned()
        .unwrap();
    assert_eq!(value[1], "1 of 4 required answered", "{}", live.text);
    let fr = app.send(get("/use-cases/new?lang=fr", &cookie)).await;
    assert!(
        fr.text.contains("0 sur 4 réponses obligatoires"),
        "{}",
        fr.text
    );
    assert!(fr.text.contains("<span>0 – pas du tout</span>"));
}

/// "None" beside another option of the same question is refused, naming the question, and
/// nothing is stored.
#[actix_web::test]
async fn none_with_another_option_is_refused_naming_the_question() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let mut body = case_body("back_office_email_sorting");
    body["answers"]["prohibited_practices"] = json!(["none", "social_scoring"]);
    let before = app.counts();
    let r = app.post("/api/v1/use-cases", &t, &body).await;
    let p = r.problem(422);
    assert!(
        p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "answers.prohibited_practices"),
        "{}",
        r.text
    );
    assert_eq!(app.counts(), before);
}

/// Two agencies' cases, alike enough to be offered as duplicates of each other.
async fn twin_cases(app: &TestApp) -> (String, String) {
    let a = app
        .submitted(&app.submitter("UNICEF"), "back_office_email_sorting")
        .await;
    let b = app
        .submitted(&app.submitter("UNHCR"), "back_office_email_sorting")
        .await;
    (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    )
}

/// The case page shows each similar case with its score and reasons; a reviewer may say it is
/// not a duplicate: stored with an audit event, and the pair is no longer offered, on the case
/// page or among the portfolio's duplicates.
#[actix_web::test]
async fn a_reviewer_says_two_similar_cases_are_not_duplicates_and_they_are_no_longer_offered() {
    let app = TestApp::sqlite().await;
    let (a, b) = twin_cases(&app).await;
    let (cookie, csrf) = session(&app, "UNICC", "rev@unicc.test", &[Role::Reviewer]);
    let page = app.send(get(&format!("/use-cases/{a}"), &cookie)).await;
    let panel = &page.text[page.text.find("id=\"h-similar\"").unwrap()..];
    assert!(
        panel.contains(&format!("href=\"/use-cases/{b}\"")),
        "{panel}"
    );
    assert!(
        panel.contains("similarity") && panel.contains("shared terms"),
        "{panel}"
    );
    assert!(
        panel.contains("value=\"not_duplicate\""),
        "a reviewer may say so"
    );
    let owner = app.user(
        "UNICC",
        "po@unicc.test",
        &[Role::PortfolioOwner],
        ReviewScope::Own,
    );
    let dupes = app.get("/api/v1/portfolio/duplicates", &owner).await;
    let before = dupes.text.clone();
    assert!(before.contains(&b), "offered as duplicates: {before}");
    let events_before = app.counts()[2];
    let r = app
        .send(post_form(
            &format!("/use-cases/{a}/act"),
            &cookie,
            &[("csrf", &csrf), ("op", "not_duplicate"), ("other", &b)],
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.counts()[2], events_before + 1, "one audit event");
    let after = app
        .send(get(&format!("/use-cases/{a}?done=not_duplicate"), &cookie))
        .await;
    let panel = &after.text[after.text.find("id=\"h-similar\"").unwrap()..];
    assert!(
        !panel.contains(&format!("href=\"/use-cases/{b}\"")),
        "{panel}"
    );
    assert!(after.text.contains("Marked not a duplicate"));
    assert!(after.text.contains("The pair is no longer offered"));
    let other_side = app.send(get(&format!("/use-cases/{b}"), &cookie)).await;
    let panel = &other_side.text[other_side.text.find("id=\"h-similar\"").unwrap()..];
    assert!(
        !panel.contains(&format!("href=\"/use-cases/{a}\"")),
        "either way round"
    );
    let dupes = app.get("/api/v1/portfolio/duplicates", &owner).await;
    assert!(!dupes.text.contains(&b), "{}", dupes.text);
    // Saying it again changes nothing.
    app.send(post_form(
        &format!("/use-cases/{a}/act"),
        &cookie,
        &[("csrf", &csrf), ("op", "not_duplicate"), ("other", &b)],
    ))
    .await;
    assert_eq!(app.counts()[2], events_before + 1);
}

/// Only reviewers may say it, with the form's CSRF token, about two different cases they can
/// see; every refusal stores nothing.
#[actix_web::test]
async fn saying_not_a_duplicate_is_refused_to_other_roles_and_for_bad_pairs() {
    let app = TestApp::sqlite().await;
    let (a, b) = twin_cases(&app).await;
    let mark = |cookie: &str, csrf: &str, other: &str| {
        post_form(
            &format!("/use-cases/{a}/act"),
            cookie,
            &[("csrf", csrf), ("op", "not_duplicate"), ("other", other)],
        )
    };
    let before = app.counts();
    for (email, role) in [
        ("po@unicc.test", Role::PortfolioOwner),
        ("admin@unicc.test", Role::Admin),
    ] {
        let (cookie, csrf) = session(&app, "UNICC", email, &[role]);
        let page = app.send(get(&format!("/use-cases/{a}"), &cookie)).await;
        assert!(!page.text.contains("value=\"not_duplicate\""), "{email}");
        let r = app.send(mark(&cookie, &csrf, &b)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{email}: {}", r.text);
    }
    let (cookie, csrf) = session(&app, "UNICEF", "sub@unicef.test", &[Role::Submitter]);
    let r = app.send(mark(&cookie, &csrf, &b)).await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.status
    );
    let (cookie, csrf) = session(&app, "UNICC", "rev@unicc.test", &[Role::Reviewer]);
    assert_eq!(
        app.send(mark(&cookie, "wrong", &b)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.send(mark(&cookie, &csrf, &a)).await.status, 422);
    let missing = app
        .send(mark(&cookie, &csrf, "00000000-0000-0000-0000-000000000000"))
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(app.counts()[2], before[2], "no audit event");
    let mut c = app.pool.get().unwrap();
    assert!(aitriage::db::duplicates::distinct(&mut c)
        .unwrap()
        .is_empty());
}

/// The admin's page lists users and tokens and changes them through the same service as the
/// admin API: disable and enable a user, set roles, revoke a token; each takes effect at once.
#[actix_web::test]
async fn an_admin_manages_users_and_tokens_from_their_page() {
    let app = TestApp::sqlite().await;
    let token = app.submitter("UNICEF");
    let (cookie, csrf) = session(&app, "UNICC", "admin@unicc.test", &[Role::Admin]);
    let page = app.send(get("/admin", &cookie)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("href=\"/admin\""),
        "the menu links the page"
    );
    let mut c = app.pool.get().unwrap();
    let users = aitriage::db::users::list(&mut c).unwrap();
    let sub = users
        .iter()
        .find(|u| u.email.ends_with("@unicef.test"))
        .unwrap();
    assert!(page.text.contains(&sub.email));
    let me = users
        .iter()
        .find(|u| u.email == "admin@unicc.test")
        .unwrap();
    let act = |pairs: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(pairs);
        post_form("/admin", &cookie, &all)
    };
    let r = app.send(act(&[("op", "disable"), ("id", &sub.id)])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    assert_eq!(app.get("/api/v1/use-cases", &token).await.status, 401);
    app.send(act(&[("op", "enable"), ("id", &sub.id)])).await;
    assert_eq!(app.get("/api/v1/use-cases", &token).await.status, 200);
    app.send(act(&[
        ("op", "roles"),
        ("id", &sub.id),
        ("role", "submitter"),
        ("role", "reviewer"),
    ]))
    .await;
    assert_eq!(app.get("/api/v1/review-queue", &token).await.status, 200);
    let tokens = aitriage::db::users::tokens(&mut c, Some(&sub.id.as_str().into())).unwrap();
    app.send(act(&[("op", "revoke"), ("id", &tokens[0].id)]))
        .await;
    assert_eq!(app.get("/api/v1/use-cases", &token).await.status, 401);
    let after = app.send(get("/admin?done=revoke", &cookie)).await;
    assert!(after.text.contains("The token is revoked."));
    // An admin cannot lock themselves out, and bad requests change nothing.
    let events = app.counts()[2];
    let own = app.send(act(&[("op", "disable"), ("id", &me.id)])).await;
    assert_eq!(own.status, 409);
    assert!(
        own.text.contains("href=\"/admin\""),
        "the error page has the menu"
    );
    assert_eq!(
        app.send(act(&[("op", "disable"), ("id", "nobody")]))
            .await
            .status,
        404
    );
    assert_eq!(
        app.send(act(&[("op", "explode"), ("id", &sub.id)]))
            .await
            .status,
        400
    );
    assert_eq!(app.counts()[2], events);
}

/// Deny by default: every other role gets 403 on the page and on its form, and a post without
/// the CSRF token is refused; nothing changes.
#[actix_web::test]
async fn the_admin_page_is_refused_to_every_other_role_and_without_csrf() {
    let app = TestApp::sqlite().await;
    let token = app.submitter("UNICEF");
    let mut c = app.pool.get().unwrap();
    let sub = aitriage::db::users::list(&mut c).unwrap().remove(0);
    let events = app.counts()[2];
    for (email, role) in [
        ("s@unicc.test", Role::Submitter),
        ("r@unicc.test", Role::Reviewer),
        ("sr@unicc.test", Role::SeniorReviewer),
        ("po@unicc.test", Role::PortfolioOwner),
    ] {
        let (cookie, csrf) = session(&app, "UNICC", email, &[role]);
        let page = app.send(get("/admin", &cookie)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{email}");
        assert!(
            !page.text.contains("href=\"/admin\""),
            "{email}: no menu entry"
        );
        let r = app
            .send(post_form(
                "/admin",
                &cookie,
                &[("csrf", &csrf), ("op", "disable"), ("id", &sub.id)],
            ))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{email}");
    }
    let (cookie, _) = session(&app, "UNICC", "admin@unicc.test", &[Role::Admin]);
    let forged = app
        .send(post_form(
            "/admin",
            &cookie,
            &[("op", "disable"), ("id", &sub.id)],
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.counts()[2], events, "no audit event");
    assert_eq!(app.get("/api/v1/use-cases", &token).await.status, 200);
    let signed_out = app.send(TestRequest::get().uri("/admin")).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
}

/// Similar cases are explained in the page's language with their score written its way, and
/// lists and pairs on the case page use the language's separator, never a Latin comma on an
/// Arabic page.
#[actix_web::test]
async fn similarity_and_lists_on_the_case_page_speak_the_pages_language() {
    let app = TestApp::sqlite().await;
    let (a, b) = twin_cases(&app).await;
    let (cookie, _) = session(&app, "UNICC", "rev@unicc.test", &[Role::Reviewer]);
    let panel = |text: &str| -> String {
        let from = text.find("id=\"h-similar\"").unwrap();
        let to = from + text[from..].find("</section>").unwrap();
        text[from..to].to_string()
    };
    let fr = panel(
        &app.send(get(&format!("/use-cases/{a}?lang=fr"), &cookie))
            .await
            .text,
    );
    assert!(fr.contains(&format!("href=\"/use-cases/{b}\"")), "{fr}");
    assert!(
        fr.contains("termes communs\u{a0}: ")
            && fr.contains("dans un autre organisme\u{a0}: UNHCR"),
        "{fr}"
    );
    assert!(
        !fr.contains("shared terms") && !fr.contains("in another agency"),
        "{fr}"
    );
    assert!(
        fr.contains("similarité 1") || fr.contains("similarité 0,"),
        "a French decimal: {fr}"
    );

    let senior = app.user(
        "UNICC",
        "senior@unicc.test",
        &[Role::SeniorReviewer],
        ReviewScope::All,
    );
    let c = app.get(&format!("/api/v1/use-cases/{a}"), &senior).await;
    let r = app
        .post(
            &format!("/api/v1/use-cases/{a}/decisions"),
            &senior,
            &json!({"action": "comment", "rationale": "Looked at it.", "version": c.json["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ar = app
        .send(get(&format!("/use-cases/{a}?lang=ar"), &cookie))
        .await
        .text;
    let similar = panel(&ar);
    assert!(similar.contains("في وكالة أخرى: UNHCR"), "{similar}");
    assert!(similar.contains("(UNHCR، التشابه "), "{similar}");
    assert!(!similar.contains(", "), "no Latin comma: {similar}");
    let timeline = &ar[ar.find("class=\"timeline\"").unwrap()..];
    assert!(timeline.contains("senior@unicc.test</bdi>، "), "{timeline}");
    // The API says the same reasons in English, as before.
    let api = app
        .get(&format!("/api/v1/use-cases/{a}/similar"), &senior)
        .await;
    assert!(
        api.text.contains("in another agency: UNHCR") && api.text.contains("shared terms: "),
        "{}",
        api.text
    );
}

/// The rows of the portfolio's table on a page: its `<tbody>`'s links to cases.
fn table_rows(page: &str) -> Vec<String> {
    let body = &page[page.find("<tbody>").unwrap()..page.find("</tbody>").unwrap()];
    body.split("<td><a href=\"/use-cases/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The portfolio's table lists a hundred rows a page, with links to the other pages that
/// keep the filters and the order; the radar above still counts every match.
#[actix_web::test]
async fn the_portfolio_table_is_paged_and_its_links_keep_the_filters() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let first = app.submitted(&t, "back_office_email_sorting").await;
    scatter_copies(&app, first["id"].as_str().unwrap(), 249);
    let (cookie, _) = session(&app, "UNICC", "po@unicc.test", &[Role::PortfolioOwner]);
    let page = app
        .send(get("/portfolio?sort=title&dir=asc", &cookie))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(table_rows(&page.text).len(), 100);
    assert!(
        page.text.contains("250 use cases found"),
        "the count is every match"
    );
    assert!(page.text.contains("Rows 1–100 of 250"), "{}", page.text);
    let pages_nav = &page.text[page.text.find("class=\"pages\"").unwrap()..];
    assert!(
        pages_nav.contains("page&#x3D;2#cases\" rel=\"next\""),
        "{}",
        &pages_nav[..800]
    );
    assert!(page.text.contains("<span aria-current=\"page\">1</span>"));
    let mut seen: std::collections::HashSet<String> = table_rows(&page.text).into_iter().collect();
    for n in [2, 3] {
        let next = app
            .send(get(
                &format!("/portfolio?sort=title&dir=asc&page={n}"),
                &cookie,
            ))
            .await;
        seen.extend(table_rows(&next.text));
    }
    assert_eq!(seen.len(), 250, "every case on some page, none twice");
    let past = app
        .send(get("/portfolio?sort=title&dir=asc&page=99", &cookie))
        .await;
    assert_eq!(
        table_rows(&past.text).len(),
        50,
        "past the end: the last page"
    );
    assert!(past.text.contains("rel=\"prev\"") && !past.text.contains("rel=\"next\""));

    // Filters are kept by every page link; a filtered list of one page has no links.
    let low = app.send(get("/portfolio?tier=high", &cookie)).await;
    assert!(
        low.text.contains("50 use cases found"),
        "one in five is high"
    );
    assert!(!low.text.contains("class=\"pages\""));
    let all = app
        .send(get("/portfolio?agency=UNICEF&page=2", &cookie))
        .await;
    assert!(
        all.text.contains(
            "href=\"/portfolio?agency&#x3D;UNICEF&amp;sort&#x3D;priority&amp;dir&#x3D;desc&amp;page&#x3D;1#cases\" rel=\"prev\""
        ) && all.text.contains("Rows 101–200 of 250"),
        "{}",
        &all.text[all.text.find("class=\"pages\"").unwrap_or(0)..][..600]
    );
}

/// A decision sent from the case page without its reasons, or without a decision, or with too
/// long a text, is refused in the page's language, naming the field; the API says the same
/// in English.
#[actix_web::test]
async fn a_refused_decision_is_explained_in_the_pages_language() {
    let app = TestApp::sqlite().await;
    let submitter = app.submitter("UNICEF");
    let c = app.submitted(&submitter, "cv_screening").await;
    let id = c["id"].as_str().unwrap();
    let version = c["version"].to_string();
    let (cookie, csrf) = session(&app, "UNICC", "rev@unicc.test", &[Role::SeniorReviewer]);
    let before = app.counts();
    let decide = |lang: &'static str, fields: Vec<(&'static str, String)>| {
        let (app, cookie, csrf, version) = (&app, cookie.clone(), csrf.clone(), version.clone());
        async move {
            let mut pairs = vec![
                ("csrf", csrf),
                ("op", "decide".to_string()),
                ("version", version),
            ];
            pairs.extend(fields);
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = app
                .send(post_form(
                    &format!("/use-cases/{id}/act?lang={lang}"),
                    &cookie,
                    &pairs,
                ))
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
            r.text
        }
    };
    let fr = decide(
        "fr",
        vec![("decision", "approve".into()), ("rationale", " ".into())],
    )
    .await;
    assert!(
        fr.contains("Justification: une justification est requise pour «\u{a0}Approuver\u{a0}»"),
        "{}",
        &fr[fr.find("role=\"alert\"").unwrap_or(0)..][..400]
    );
    assert!(!fr.contains("a rationale is required") && !fr.contains("Avant de la soumettre"));
    let ru = decide("ru", vec![("rationale", "Почему".into())]).await;
    assert!(
        ru.contains("Решение: выберите решение"),
        "a decision must be chosen"
    );
    let ar = decide(
        "ar",
        vec![
            ("decision", "comment".into()),
            ("rationale", "x".repeat(6000)),
        ],
    )
    .await;
    assert!(
        ar.contains("المسوّغات: الحد الأقصى لعدد الأحرف 5,000"),
        "{}",
        &ar[ar.find("role=\"alert\"").unwrap_or(0)..][..400]
    );
    assert_eq!(app.counts(), before, "nothing stored");

    let senior = app.user(
        "UNICC",
        "senior@unicc.test",
        &[Role::SeniorReviewer],
        ReviewScope::All,
    );
    let api = app
        .post(
            &format!("/api/v1/use-cases/{id}/decisions"),
            &senior,
            &json!({"action": "request_changes", "rationale": "", "version": c["version"]}),
        )
        .await;
    assert_eq!(
        api.problem(422)["errors"][0]["message"],
        "a rationale is required to request_changes"
    );
}
