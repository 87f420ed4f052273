//! The review workflow over HTTP: decisions, claims, and the reviewer's queue.

use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::use_cases::{case_id, ok};
use super::views::CaseView;
use crate::app;
use crate::app::reviews::{self, QueueFilter};
use crate::domain::access::Principal;
use crate::domain::case::Tier;
use crate::domain::workflow::Action;
use crate::domain::FieldError;
use crate::error::{AppError, AppResult};
use crate::http::error::responses as problem;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::vocab::{AgencyCode, UserId};

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    action: String,
    #[serde(default)]
    #[validate(length(max = 5000, message = "at most 5000 characters"))]
    rationale: String,
    version: i32,
}

/// `POST /api/v1/use-cases/{id}/decisions` `{"action", "rationale", "version"}`.
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/decisions",
    tag = "review",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: the same key and body record the decision once"),
    ),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "The updated case", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn decide(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    http: actix_web::HttpRequest,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let keyed = crate::http::extract::idempotency(&http, &body)?;
    let req: DecisionRequest = body.json()?;
    let action = Action::parse(&req.action).ok_or_else(|| {
        AppError::invalid(
            "action",
            "one of approve, reject, request_changes, escalate, comment",
        )
    })?;
    let (case, outcome) = state
        .db(move |c| {
            app::idempotency::once(c, &who, keyed.as_ref(), |c| {
                app::reviews::decide(c, &who, &id, req.version, action, &req.rationale)
            })
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(super::use_cases::replayed(outcome))
        .json(crate::http::api::views::CaseView::of(case, &state.rules())?))
}

async fn claim_or_release(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    take: bool,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let case = state
        .db(move |c| app::reviews::claim(c, &who, &id, take))
        .await?;
    ok(&state, case)
}

/// `POST /api/v1/use-cases/{id}/claim`
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/claim",
    tag = "review",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The use case", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
    ),
)]
pub async fn claim(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    claim_or_release(state, who, path, true).await
}

/// `POST /api/v1/use-cases/{id}/release`
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/release",
    tag = "review",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The use case", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
    ),
)]
pub async fn release(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    claim_or_release(state, who, path, false).await
}

#[derive(Serialize)]
struct Review {
    age_hours: i64,
    working_days: f64,
    sla_working_days: Option<u32>,
    overdue: bool,
    escalated: bool,
    claimed_by: Option<String>,
    pending_groups: Vec<String>,
    approvals: Vec<String>,
}

#[derive(Serialize)]
struct QueueItem {
    #[serde(flatten)]
    case: CaseView,
    review: Review,
}

/// The queue's filters and its page: `limit` (1–500, default 100) and `cursor`.
fn queue_filter(query: &str) -> AppResult<(QueueFilter, usize, Option<String>)> {
    let params = crate::http::extract::query_params(query)?;
    let mut f = QueueFilter::default();
    let (mut limit, mut cursor) = (100, None);
    let mut errors = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "limit" => match v.parse::<usize>() {
                Ok(n) if (1..=500).contains(&n) => limit = n,
                _ => errors.push(FieldError::new(k, "a whole number from 1 to 500")),
            },
            "cursor" => cursor = Some(v),
            "tier" => match Tier::parse(&v) {
                Some(t) => f.tier = Some(t),
                None => errors.push(FieldError::new(
                    k,
                    "one of low, medium, high, critical, prohibited",
                )),
            },
            "agency" => f.agency = Some(AgencyCode::normalized(&v)),
            "group" => f.group = Some(v),
            "mine" => match v.as_str() {
                "true" => f.claimed_by_me = true,
                "false" => {}
                _ => errors.push(FieldError::new(k, "true or false")),
            },
            "older_than_hours" => match v.parse::<i64>() {
                Ok(h) if h >= 0 => f.older_than_hours = Some(h),
                _ => errors.push(FieldError::new(k, "a whole number of hours, 0 or more")),
            },
            _ => errors.push(FieldError::new(
                k,
                "unknown parameter (tier, agency, group, older_than_hours, mine, limit, cursor)",
            )),
        }
    }
    if errors.is_empty() {
        Ok((f, limit, cursor))
    } else {
        Err(AppError::Validation(errors))
    }
}

/// `GET /api/v1/review-queue?tier=&agency=&group=&older_than_hours=&limit=&cursor=` →
/// `{"items": [case + review], "next_cursor"}`.
#[utoipa::path(
    get,
    path = "/api/v1/review-queue",
    tag = "review",
    params(
        ("tier" = Option<String>, Query, description = "A risk tier"),
        ("agency" = Option<String>, Query, description = "An agency code"),
        ("group" = Option<String>, Query, description = "A review group still to sign off"),
        ("older_than_hours" = Option<i64>, Query, description = "Only cases waiting at least this long"),
        ("mine" = Option<bool>, Query, description = "true: only the cases the caller has claimed"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 500 (default 100)"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "{items, next_cursor}: cases the caller may decide, each with review: age, SLA, overdue, claim, pending groups, approvals"),
        (status = 401, response = problem::Unauthorized),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn queue(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let (filter, limit, cursor) = queue_filter(req.query_string())?;
    let rules = state.rules();
    let for_queue = rules.clone();
    let entries = state
        .db(move |c| reviews::queue(c, &who, &filter, &for_queue))
        .await?;
    let (entries, next_cursor) = reviews::page(entries, cursor.as_deref(), limit)?;
    let items = entries
        .into_iter()
        .map(|e| {
            Ok(QueueItem {
                review: Review {
                    age_hours: e.age_hours,
                    working_days: (e.working_days * 100.0).round() / 100.0,
                    sla_working_days: e.sla_working_days,
                    overdue: e.overdue,
                    escalated: e.case.row.escalated,
                    claimed_by: e.case.row.claimed_by.clone().map(UserId::into_string),
                    pending_groups: e.pending_groups,
                    approvals: e.approvals.into_iter().map(UserId::into_string).collect(),
                },
                case: CaseView::of(e.case, &rules)?,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": next_cursor })))
}
