//! The portfolio API: the radar points and the summary counts, scoped to the caller.

use std::collections::HashMap;

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

use crate::db::portfolio::{self, RadarFilter};
use crate::domain::access::{Principal, Scope};
use crate::domain::case::{Status, Tier};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::http::AppState;

fn radar_filter(query: &str) -> AppResult<RadarFilter> {
    let params = web::Query::<HashMap<String, String>>::from_query(query)
        .map_err(|e| AppError::BadRequest(format!("unreadable query string: {e}")))?
        .into_inner();
    let mut f = RadarFilter::default();
    let mut errors = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "agency" => f.agency = Some(v),
            "business_function" => f.business_function = Some(v),
            "tier" => match Tier::parse(&v) {
                Some(t) => f.tier = Some(t),
                None => errors.push(FieldError::new(
                    k,
                    "one of low, medium, high, critical, prohibited",
                )),
            },
            "status" => match Status::parse(&v) {
                Some(s) => f.status = Some(s),
                None => errors.push(FieldError::new(k, "not a status")),
            },
            _ => errors.push(FieldError::new(
                k,
                "unknown parameter (agency, business_function, tier, status)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// The cache key part for a scope: who may see what.
fn scope_key(scope: &Scope) -> String {
    match scope {
        Scope::All => "*".into(),
        Scope::Agencies(ids) => ids.join(","),
    }
}

fn json(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// `GET /api/v1/portfolio/radar?agency=&business_function=&tier=&status=` → `{"points": […]}`.
pub async fn radar(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let f = radar_filter(req.query_string())?;
    let scope = who.read_scope();
    let key = format!("radar|{}|{f:?}", scope_key(&scope));
    #[derive(serde::Serialize)]
    struct Radar {
        points: Vec<portfolio::Point>,
    }
    let body = state
        .portfolio_json(key, move |c| {
            Ok(Radar {
                points: portfolio::radar(c, &scope, &f)?,
            })
        })
        .await?;
    Ok(json(body))
}

/// `GET /api/v1/portfolio/summary` → counts by tier, route, quadrant, status, agency; workload.
pub async fn summary(state: Data<AppState>, who: Principal) -> AppResult<HttpResponse> {
    let scope = who.read_scope();
    let key = format!("summary|{}", scope_key(&scope));
    let body = state
        .portfolio_json(key, move |c| portfolio::summary(c, &scope))
        .await?;
    Ok(json(body))
}
