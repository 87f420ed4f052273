//! Webhook delivery: a sender drains the outbox (`db::outbox`) to the webhook. Delivery is at
//! least once: each request carries the row's id as `Idempotency-Key`, so a receiver can drop
//! the duplicate a crash between sending and recording may cause; nothing is ever lost, and
//! nothing is re-sent silently.

use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::users::hex;
use crate::db::{now, outbox, DbConnection, Pool};
use crate::error::AppResult;

/// Where and how to deliver.
#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    /// Signs each body: `X-Aitriage-Signature: sha256=<hex HMAC-SHA256>`.
    pub secret: Option<String>,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    pub sent: usize,
    pub failed: usize,
}

/// Wait after failed attempt number `attempts`: 2, 4, 8 … seconds, at most 512.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds(1i64 << attempts.clamp(1, 9))
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body.as_bytes());
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Why a delivery failed (recorded on the outbox row, then retried).
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error("HTTP {0}")]
    Status(u16),
    #[error("{0}")]
    Transport(#[from] ureq::Error),
}

fn post(hook: &Webhook, id: &str, body: &str) -> Result<(), DeliveryError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(hook.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent
        .post(&hook.url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", id);
    if let Some(secret) = &hook.secret {
        req = req.header("X-Aitriage-Signature", &sign(secret, body));
    }
    match req.send(body) {
        Ok(res) if res.status().is_success() => Ok(()),
        Ok(res) => Err(DeliveryError::Status(res.status().as_u16())),
        Err(e) => Err(e.into()),
    }
}

/// Delivers the notifications that are due at `at`, strictly oldest first, up to `limit`;
/// stops at the first failure or at a row whose retry is not due yet. Each row is
/// leased before it is sent (its next attempt pushed past the send timeout), so several
/// instances draining one database do not send the same row at once.
pub fn deliver_due(
    conn: &mut DbConnection,
    hook: &Webhook,
    at: NaiveDateTime,
    limit: i64,
) -> AppResult<Delivery> {
    // Undelivered rows in order, due or not: a row waiting for its retry holds back the rows
    // behind it, so the receiver sees notifications in the order the changes happened.
    let pending = outbox::pending(conn, limit)?;
    let mut report = Delivery::default();
    let lease =
        Duration::from_std(hook.timeout).unwrap_or(Duration::seconds(30)) + Duration::seconds(5);
    for (id, body, attempts, next) in pending {
        if next > at {
            break;
        }
        if !outbox::lease(conn, &id, next, at + lease)? {
            continue; // another sender has it
        }
        match post(hook, &id, &body) {
            Ok(()) => {
                outbox::delivered(conn, &id, attempts + 1)?;
                report.sent += 1;
            }
            Err(e) => {
                tracing::warn!(notification = %id, attempt = attempts + 1, error = %e, "webhook delivery failed; will retry");
                let error = e.to_string();
                outbox::failed(conn, &id, attempts + 1, at + backoff(attempts + 1), &error)?;
                report.failed += 1;
                break;
            }
        }
    }
    Ok(report)
}

/// Drains the outbox forever on its own thread (started by `serve` when WEBHOOK_URL is set).
pub fn spawn_sender(pool: Pool, hook: Webhook) {
    std::thread::Builder::new()
        .name("outbox".into())
        .spawn(move || loop {
            let delivered = crate::db::with_conn(&pool, |c| deliver_due(c, &hook, now(), 100));
            match delivered {
                Ok(d) if d.sent > 0 && d.failed == 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "outbox sender"),
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        })
        .expect("spawn the outbox thread");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(3), Duration::seconds(8));
        assert_eq!(backoff(30), Duration::seconds(512));
    }

    #[test]
    fn bodies_are_signed_with_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
