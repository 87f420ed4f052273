//! The portfolio API: the radar points and the summary counts, scoped to the caller.

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

use crate::db::portfolio::{self, RadarFilter};
use crate::domain::access::Principal;
use crate::domain::case::{Status, Tier};
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::http::api::use_cases::case_id;
use crate::http::error::responses as problem;
use crate::http::extract::Body;
use crate::http::{scope_key, AppState};
use crate::vocab::AgencyCode;

/// The radar's points when the caller does not say how many, and the most it may ask for.
const POINTS: i64 = 1_000;
const MAX_POINTS: i64 = 10_000;

/// A score bound of the radar's window: a whole number from 0 to 100.
fn score_bound(v: &str) -> Option<i32> {
    v.parse::<i32>().ok().filter(|n| (0..=100).contains(n))
}

/// The radar's filter and how many points to return; `quadrants` are the rule pack's.
fn radar_filter(query: &str, quadrants: &[String]) -> AppResult<(RadarFilter, i64)> {
    let params = crate::http::extract::query_params(query)?;
    let mut f = RadarFilter::default();
    let mut limit = POINTS;
    // Business value and feasibility, each inclusive from..to.
    let mut window = [(0, 100), (0, 100)];
    let mut windowed = false;
    let mut errors = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "quadrant" if quadrants.contains(&v) => f.quadrant = Some(v),
            "quadrant" => errors.push(FieldError::new(
                k,
                format!("one of the rule pack's quadrants: {}", quadrants.join(", ")),
            )),
            "value_min" | "value_max" | "feasibility_min" | "feasibility_max" => {
                match score_bound(&v) {
                    Some(n) => {
                        let axis = usize::from(k.starts_with("feasibility"));
                        if k.ends_with("_min") {
                            window[axis].0 = n;
                        } else {
                            window[axis].1 = n;
                        }
                        windowed = true;
                    }
                    None => errors.push(FieldError::new(k, "a whole number from 0 to 100")),
                }
            }
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_POINTS).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(
                    k,
                    format!("a whole number from 1 to {MAX_POINTS}"),
                )),
            },
            "agency" => f.agency = Some(AgencyCode::normalized(&v)),
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
                "unknown parameter (agency, business_function, tier, status, quadrant, value_min, value_max, feasibility_min, feasibility_max, limit)",
            )),
        }
    }
    for (axis, (from, to)) in ["value", "feasibility"].iter().zip(window) {
        if from > to {
            errors.push(FieldError::new(
                format!("{axis}_min"),
                format!("must not be above {axis}_max"),
            ));
        }
    }
    if windowed {
        f.window = Some((window[0], window[1]));
    }
    if errors.is_empty() {
        Ok((f, limit))
    } else {
        Err(AppError::Validation(errors))
    }
}

fn json(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// `GET /api/v1/portfolio/radar?agency=&business_function=&tier=&status=&quadrant=&value_min=&value_max=&feasibility_min=&feasibility_max=&limit=` →
/// `{"total", "truncated", "points": […], "cells": […]}`: the `limit` (1,000 unless given, at
/// most 10,000) highest-priority matching cases as points, and every match counted per
/// 10 × 10 cell of the grid by tier.
#[utoipa::path(
    get,
    path = "/api/v1/portfolio/radar",
    tag = "portfolio",
    params(
        ("agency" = Option<String>, Query, description = "An agency code"),
        ("business_function" = Option<String>, Query, description = "A business function"),
        ("tier" = Option<String>, Query, description = "A risk tier"),
        ("status" = Option<String>, Query, description = "A status"),
        ("quadrant" = Option<String>, Query, description = "A quadrant id of the rule pack"),
        ("value_min" = Option<i32>, Query, description = "Lowest business value, 0 to 100 (inclusive)"),
        ("value_max" = Option<i32>, Query, description = "Highest business value, 0 to 100 (inclusive)"),
        ("feasibility_min" = Option<i32>, Query, description = "Lowest technical feasibility, 0 to 100 (inclusive)"),
        ("feasibility_max" = Option<i32>, Query, description = "Highest technical feasibility, 0 to 100 (inclusive)"),
        ("limit" = Option<i64>, Query, description = "How many points, highest priority first: 1 to 10,000 (default 1,000)"),
    ),
    responses(
        (status = 200, description = "{total, truncated, points, cells}: how many scored cases the caller may see match; the highest-priority ones as points; every match counted per 10 × 10 cell by tier"),
        (status = 401, response = problem::Unauthorized),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn radar(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let quadrants: Vec<String> = (state.rules().scoring.quadrants.iter())
        .map(|q| q.id.clone())
        .collect();
    let (f, limit) = radar_filter(req.query_string(), &quadrants)?;
    let scope = who.read_scope();
    let key = format!("radar|{}|{f:?}|{limit}", scope_key(&scope));
    let body = state
        .portfolio_json(key, move |c| portfolio::radar_view(c, &scope, &f, limit))
        .await?;
    Ok(json(body))
}

/// `GET /api/v1/portfolio/summary` → counts by tier, route, quadrant, status, agency; workload.
#[utoipa::path(
    get,
    path = "/api/v1/portfolio/summary",
    tag = "portfolio",
    responses(
        (status = 200, description = "Counts by tier, route, quadrant, status and agency; reviewer workload"),
        (status = 401, response = problem::Unauthorized),
    ),
)]
pub async fn summary(state: Data<AppState>, who: Principal) -> AppResult<HttpResponse> {
    let scope = who.read_scope();
    let key = format!("summary|{}", scope_key(&scope));
    let body = state
        .portfolio_json(key, move |c| portfolio::summary(c, &scope))
        .await?;
    Ok(json(body))
}

/// `GET /api/v1/use-cases/{id}/similar` → `{"items": [{id, agency, title, status, score, reasons}]}`,
/// best first, among the cases the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/use-cases/{id}/similar",
    tag = "portfolio",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    responses(
        (status = 200, description = "{items}: the most similar cases the caller may see, best first, with score and reasons"),
        (status = 401, response = problem::Unauthorized),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn similar(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let idx = state.similar_index(who.read_scope()).await?;
    let i = idx.position(&id).ok_or(AppError::NotFound)?;
    let apart = state.db(crate::db::duplicates::distinct).await?;
    // Pairs a reviewer has said are not duplicates are not offered again.
    let items: Vec<_> = idx
        .similar_to(i, 10 + apart.len().min(20), 0.1)
        .into_iter()
        .filter(|m| !apart.contains(&crate::domain::similar::pair(&id, &m.id)))
        .take(10)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// Which use case a reviewer says is not a duplicate of the one in the path.
#[derive(serde::Deserialize, validator::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotDuplicate {
    /// The other use case's id.
    other: String,
}

/// `POST /api/v1/use-cases/{id}/not-duplicate` `{"other": id}` → 204: a reviewer says the two
/// are not duplicates; the pair is no longer offered as similar or clustered as duplicates.
/// Saying it again changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/not-duplicate",
    tag = "portfolio",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    request_body(content = NotDuplicate, description = "The other use case"),
    responses(
        (status = 204, description = "Recorded (or recorded before)"),
        (status = 400, response = problem::MalformedJson),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn not_duplicate(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let req: NotDuplicate = body.json()?;
    let other = case_id(&req.other).map_err(|_| {
        AppError::Validation(vec![FieldError::new("other", "not a use case id (a UUID)")])
    })?;
    state
        .db(move |c| crate::app::duplicates::mark_not_duplicate(c, &who, &id, &other))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(serde::Serialize)]
struct CaseRef<'a> {
    id: &'a str,
    agency: &'a str,
    title: &'a str,
    status: &'a str,
}

fn case_ref(d: &crate::domain::similar::Doc) -> CaseRef<'_> {
    CaseRef {
        id: d.id.as_str(),
        agency: &d.agency,
        title: &d.title,
        status: &d.status,
    }
}

/// Cases at least this similar to one in another agency are likely duplicates.
pub const DUPLICATE: f64 = 0.5;
/// An approved case elsewhere at least this similar to an open one may be reused.
pub const REUSE: f64 = 0.35;

/// `GET /api/v1/portfolio/duplicates` → `{"clusters": [{"cases": […]}], "reuse": [{case, candidate}]}`:
/// groups of likely duplicates across agencies, and open cases with an approved match elsewhere.
#[utoipa::path(
    get,
    path = "/api/v1/portfolio/duplicates",
    tag = "portfolio",
    responses(
        (status = 200, description = "{clusters, reuse}: likely duplicates across agencies, and approved cases elsewhere to reuse"),
        (status = 401, response = problem::Unauthorized),
    ),
)]
pub async fn duplicates(state: Data<AppState>, who: Principal) -> AppResult<HttpResponse> {
    let idx = state.similar_index(who.read_scope()).await?;
    let apart = state.db(crate::db::duplicates::distinct).await?;
    let clusters: Vec<serde_json::Value> = idx
        .clusters(DUPLICATE, &apart)
        .iter()
        .map(|g| serde_json::json!({ "size": g.len(), "cases": g.iter().map(|&i| case_ref(idx.doc(i))).collect::<Vec<_>>() }))
        .collect();
    let reuse: Vec<serde_json::Value> = idx
        .reuse_candidates(REUSE)
        .into_iter()
        .map(|(i, m)| serde_json::json!({ "case": case_ref(idx.doc(i)), "candidate": m }))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "clusters": clusters, "reuse": reuse })))
}

/// `GET /api/v1/portfolio/export?format=jsonl|csv`: every case the caller may see, with
/// scores, triage, assessments and decisions (the format `aitriage import` restores).
#[utoipa::path(
    get,
    path = "/api/v1/portfolio/export",
    tag = "portfolio",
    params(
        ("format" = Option<String>, Query, description = "jsonl (default) or csv"),
    ),
    responses(
        (status = 200, description = "Every case the caller may see, as aitriage import restores it"),
        (status = 401, response = problem::Unauthorized),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn export(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let params = crate::http::extract::query_params(req.query_string())?;
    let mut format = crate::transfer::Format::Jsonl;
    for (k, v) in params {
        match (k.as_str(), crate::transfer::Format::parse(&v)) {
            ("format", Some(f)) => format = f,
            ("format", None) => return Err(AppError::invalid("format", "csv or jsonl")),
            _ => return Err(AppError::invalid(&k, "unknown parameter (format)")),
        }
    }
    let body = state
        .db(move |c| {
            let mut out = Vec::new();
            crate::transfer::export(c, &who.read_scope(), format, &mut out)?;
            Ok(out)
        })
        .await?;
    let (ct, name) = match format {
        crate::transfer::Format::Csv => ("text/csv; charset=utf-8", "aitriage-export.csv"),
        crate::transfer::Format::Jsonl => ("application/x-ndjson", "aitriage-export.jsonl"),
    };
    Ok(HttpResponse::Ok()
        .content_type(ct)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}
