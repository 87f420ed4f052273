//! Notifications: written with each submission and decision, delivered to a webhook once it
//! is reachable, in order, signed, each with an idempotency key.

use std::net::TcpListener;

use aitriage::domain::access::{ReviewScope, Role};
use aitriage::notify::{deliver_due, Webhook};
use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

/// A fake webhook receiver on `listener`: answers each POST /hook with `status`, records every
/// request, and checks when dropped that it got `expected` of them.
async fn receiver(listener: TcpListener, status: u16, expected: u64) -> MockServer {
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(status))
        .expect(expected)
        .mount(&server)
        .await;
    server
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .expect("the receiver records requests")
}

fn header<'a>(r: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn body(r: &wiremock::Request) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn outbox_state(app: &TestApp) -> Vec<(String, i32, bool, Option<String>)> {
    use aitriage::db::schema::outbox::dsl as o;
    let mut conn = app.pool.get().unwrap();
    o::outbox
        .order(o::created_at.asc())
        .select((
            o::id,
            o::attempts,
            o::delivered_at.is_not_null(),
            o::last_error,
        ))
        .load(&mut conn)
        .unwrap()
}

#[actix_web::test]
async fn notifications_reach_the_webhook_after_it_was_down_in_order_signed_and_once() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    let reviewer = app.user("UNICC", "r@unicc.test", &[Role::Reviewer], ReviewScope::All);
    let c = app.submitted(&t, "public_faq_chatbot").await;
    let d = app
        .post(
            &format!("/api/v1/use-cases/{}/decisions", c["id"].as_str().unwrap()),
            &reviewer,
            &json!({"action": "approve", "rationale": "fine", "version": c["version"]}),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    app.submitted(&t, "back_office_email_sorting").await;
    assert_eq!(
        outbox_state(&app).len(),
        3,
        "one row per submission and per decision"
    );

    // The receiver is down: the port is closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let hook = Webhook {
        url: format!("http://127.0.0.1:{port}/hook"),
        secret: Some("s3cret".into()),
        timeout: std::time::Duration::from_secs(5),
    };
    let start = aitriage::db::now();
    let mut conn = app.pool.get().unwrap();
    let first = deliver_due(&mut conn, &hook, start, 100).unwrap();
    assert_eq!(
        (first.sent, first.failed),
        (0, 1),
        "the first row fails and the others wait behind it"
    );
    let rows = outbox_state(&app);
    assert_eq!(rows[0].1, 1);
    assert!(rows[0].3.is_some(), "the error is recorded");
    assert_eq!(
        deliver_due(&mut conn, &hook, start, 100).unwrap(),
        Default::default(),
        "nothing is due before the backoff"
    );

    // It comes back; a later pass delivers everything, oldest first.
    let got = receiver(TcpListener::bind(("127.0.0.1", port)).unwrap(), 200, 3).await;
    let later = deliver_due(&mut conn, &hook, start + Duration::seconds(3), 100).unwrap();
    assert_eq!((later.sent, later.failed), (3, 0));
    let received = requests(&got).await;
    assert_eq!(received.len(), 3);
    let events: Vec<String> = received
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(&body(r)).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(events, ["case.submitted", "case.decided", "case.submitted"]);
    let rows = outbox_state(&app);
    for (r, row) in received.iter().zip(&rows) {
        assert_eq!(header(r, "Idempotency-Key"), Some(row.0.as_str()));
        assert!(row.2, "marked delivered");
        let sig = header(r, "X-Aitriage-Signature").unwrap();
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(&r.body);
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sig, format!("sha256={expected}"));
    }
    let decided: Value = serde_json::from_str(&body(&received[1])).unwrap();
    assert_eq!(decided["data"]["status"], "approved");
    assert_eq!(decided["use_case_id"], c["id"]);

    // Delivered rows are never sent again.
    assert_eq!(
        deliver_due(&mut conn, &hook, start + Duration::seconds(60), 100).unwrap(),
        Default::default()
    );
    assert_eq!(requests(&got).await.len(), 3);
}

#[actix_web::test]
async fn a_receiver_that_answers_with_an_error_is_retried_later() {
    let app = TestApp::sqlite().await;
    let t = app.submitter("UNICEF");
    app.submitted(&t, "back_office_email_sorting").await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = Webhook {
        url: format!("http://{}/hook", listener.local_addr().unwrap()),
        secret: None,
        timeout: std::time::Duration::from_secs(5),
    };
    let got = receiver(listener, 500, 1).await;
    let mut conn = app.pool.get().unwrap();
    let r = deliver_due(&mut conn, &hook, aitriage::db::now(), 10).unwrap();
    assert_eq!((r.sent, r.failed), (0, 1));
    let received = requests(&got).await;
    assert_eq!(received.len(), 1);
    assert!(header(&received[0], "X-Aitriage-Signature").is_none());
    let rows = outbox_state(&app);
    assert_eq!(
        (rows[0].1, rows[0].2, rows[0].3.as_deref()),
        (1, false, Some("HTTP 500"))
    );
}
