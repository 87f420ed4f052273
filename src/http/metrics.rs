//! Prometheus counters, kept in memory per process.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;

use super::AppState;
use crate::domain::case::Tier;

#[derive(Default)]
pub struct Metrics {
    /// Responses by status class (1xx…5xx).
    responses: [AtomicU64; 5],
    /// Submissions triaged, by tier.
    triaged: [AtomicU64; 5],
}

impl Metrics {
    pub fn triaged(&self, tier: Tier) {
        let i = Tier::ALL.iter().position(|t| *t == tier).unwrap_or(0);
        self.triaged[i].fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP aitriage_http_responses_total HTTP responses by status class.\n\
             # TYPE aitriage_http_responses_total counter\n",
        );
        for (i, c) in self.responses.iter().enumerate() {
            out += &format!(
                "aitriage_http_responses_total{{class=\"{}xx\"}} {}\n",
                i + 1,
                c.load(Ordering::Relaxed)
            );
        }
        out += "# HELP aitriage_triaged_total Use cases submitted and triaged, by tier.\n\
                # TYPE aitriage_triaged_total counter\n";
        for (t, c) in Tier::ALL.iter().zip(&self.triaged) {
            out += &format!(
                "aitriage_triaged_total{{tier=\"{t}\"}} {}\n",
                c.load(Ordering::Relaxed)
            );
        }
        out
    }
}

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(state) = state {
        let class = (res.status().as_u16() / 100).clamp(1, 5) as usize - 1;
        state.metrics.responses[class].fetch_add(1, Ordering::Relaxed);
    }
    Ok(res)
}
