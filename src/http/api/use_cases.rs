//! Use cases: create, read, list, edit, submit, withdraw, and their audit trail.
//! Each handler authenticates, parses its input, and calls the data layer, which applies
//! the caller's scope (404 outside it) and authorship (403).

use actix_web::http::header;
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use validator::{Validate, ValidationError};

use super::views::{CaseView, EventView};
use crate::app;
use crate::db::{audit, cases};
use crate::domain::access::Principal;
use crate::domain::answers::{self, Answers};
use crate::domain::case::{Status, Tier};
use crate::domain::policy::Policy;
use crate::error::{AppError, AppResult};
use crate::http::auth::Bearer;
use crate::http::error::responses as problem;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::vocab::agents::{Agent, Declarations, Delegation};
use crate::vocab::{AgencyCode, CaseId};

fn not_blank(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Err(ValidationError::new("blank")
            .with_message(crate::domain::message::Says::Blank.english().into()));
    }
    Ok(())
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    #[validate(
        custom(function = "not_blank"),
        length(max = 200, message = "at most 200 characters")
    )]
    title: String,
    #[serde(default)]
    #[validate(length(max = 5000, message = "at most 5000 characters"))]
    summary: String,
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 characters"))]
    business_function: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    answers: serde_json::Map<String, serde_json::Value>,
    /// The agents of an agentic system, with the tools each may call.
    #[serde(default)]
    agents: Vec<Agent>,
    /// Agents handing work to other agents.
    #[serde(default)]
    delegations: Vec<Delegation>,
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    version: i32,
    #[validate(
        custom(function = "not_blank"),
        length(max = 200, message = "at most 200 characters")
    )]
    title: Option<String>,
    #[validate(length(max = 5000, message = "at most 5000 characters"))]
    summary: Option<String>,
    #[validate(length(max = 100, message = "at most 100 characters"))]
    business_function: Option<String>,
    /// Merged into the stored answers; `null` removes an answer.
    #[schema(value_type = Object)]
    answers: Option<serde_json::Map<String, serde_json::Value>>,
    /// Replaces the declared agents when given.
    agents: Option<Vec<Agent>>,
    /// Replaces the declared delegations when given.
    delegations: Option<Vec<Delegation>>,
}

#[derive(Deserialize, Validate, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionRequest {
    version: Option<i32>,
    #[serde(default)]
    #[validate(length(max = 2000, message = "at most 2000 characters"))]
    reason: String,
}

/// A case id from the path; anything that is not a UUID cannot name a case.
/// `Idempotency-Replayed: true` on an answer given again for a repeated key, else `false`.
pub(super) fn replayed(outcome: app::idempotency::Outcome) -> (&'static str, &'static str) {
    let again = outcome == app::idempotency::Outcome::Replayed;
    ("Idempotency-Replayed", if again { "true" } else { "false" })
}

/// The case a path names: a UUID in any of its written forms (none names no case).
pub(super) fn case_id(path: &str) -> AppResult<CaseId> {
    CaseId::parse(path).ok_or(AppError::NotFound)
}

fn parse_answers(
    state: &AppState,
    json: &serde_json::Map<String, serde_json::Value>,
) -> AppResult<Answers> {
    answers::parse(&state.rules().questionnaire, json).map_err(AppError::Validation)
}

/// 200 with the case as the API shows it.
pub(super) fn ok(state: &AppState, case: cases::Case) -> AppResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(CaseView::of(case, &state.rules())?))
}

/// `POST /api/v1/use-cases` → 201 with the new draft.
#[utoipa::path(
    post,
    path = "/api/v1/use-cases",
    tag = "intake",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: the same key and body give the same case (Idempotency-Replayed: true); the key with another body is a 422")),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "The new draft", body = CaseView),
        (status = 400, response = problem::MalformedJson),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 413, response = problem::TooLarge),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn create(
    state: Data<AppState>,
    who: Bearer,
    http: actix_web::HttpRequest,
    body: Body,
) -> AppResult<HttpResponse> {
    // What is wrong with the body is told only once the token has been checked.
    let parsed = (|| {
        let keyed = crate::http::extract::idempotency(&http, &body)?;
        let req: CreateRequest = body.json()?;
        let answers = parse_answers(&state, &req.answers)?;
        let declarations = Declarations {
            agents: req.agents,
            delegations: req.delegations,
        };
        let fields = cases::CaseFields {
            title: req.title.trim().to_string(),
            summary: req.summary.trim().to_string(),
            business_function: req.business_function.trim().to_string(),
        };
        AppResult::Ok((keyed, fields, answers, declarations))
    })();
    let rules = state.rules();
    let (case, outcome) = state
        .db_as(who, move |c, who| {
            let (keyed, fields, answers, declarations) = parsed?;
            app::idempotency::once(c, &who, keyed.as_ref(), |c| {
                app::cases::create(c, &who, fields, answers, declarations, &rules)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/use-cases/{}", case.row.id),
        ))
        .insert_header(replayed(outcome))
        .json(CaseView::of(case, &state.rules())?))
}

/// `GET /api/v1/use-cases/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/use-cases/{id}",
    tag = "intake",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    responses(
        (status = 200, description = "The use case", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn read(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let case = state
        .db(move |c| cases::get(c, &who.read_scope(), &id))
        .await?
        .ok_or(AppError::NotFound)?;
    ok(&state, case)
}

/// `PATCH /api/v1/use-cases/{id}` with the `version` the client read.
#[utoipa::path(
    patch,
    path = "/api/v1/use-cases/{id}",
    tag = "intake",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    request_body = EditRequest,
    responses(
        (status = 200, description = "The use case", body = CaseView),
        (status = 400, response = problem::MalformedJson),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn edit(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let req: EditRequest = body.json()?;
    let json = req.answers.unwrap_or_default();
    let set_answers = parse_answers(&state, &json)?;
    let remove_answers = json
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    let patch = cases::CasePatch {
        title: req.title.map(|t| t.trim().to_string()),
        summary: req.summary.map(|t| t.trim().to_string()),
        business_function: req.business_function.map(|t| t.trim().to_string()),
        set_answers,
        remove_answers,
        agents: req.agents,
        delegations: req.delegations,
    };
    let version = req.version;
    let rules = state.rules();
    let case = state
        .db(move |c| app::cases::edit(c, &who, &id, version, patch, &rules))
        .await?;
    ok(&state, case)
}

/// `POST /api/v1/use-cases/{id}/submit` (body optional: `{"version"}`).
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/submit",
    tag = "intake",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    request_body(content = Option<VersionRequest>, description = "Optional: the version read"),
    responses(
        (status = 200, description = "The case, scored, triaged and routed", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn submit(
    state: Data<AppState>,
    who: Bearer,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    // What is wrong with the request is told only once the token has been checked.
    let parsed = case_id(&path).and_then(|id| Ok((id, body.json_opt::<VersionRequest>()?)));
    let rules = state.rules();
    let case = state
        .db_as(who, move |c, who| {
            let (id, req) = parsed?;
            let version = req.unwrap_or_default().version;
            app::cases::submit(c, &who, &id, version, &rules)
        })
        .await?;
    if let Some(t) = case.tier()? {
        state.metrics.triaged(t);
    }
    ok(&state, case)
}

/// `POST /api/v1/use-cases/{id}/withdraw` (body optional: `{"version", "reason"}`).
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/withdraw",
    tag = "intake",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    request_body(content = Option<VersionRequest>, description = "Optional: the version read and a reason"),
    responses(
        (status = 200, description = "The use case", body = CaseView),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
    ),
)]
pub async fn withdraw(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let req: VersionRequest = body.json_opt()?.unwrap_or_default();
    let case = state
        .db(move |c| app::cases::withdraw(c, &who, &id, req.version, req.reason.trim()))
        .await?;
    ok(&state, case)
}

/// `GET /api/v1/use-cases/{id}/audit` → `{"events": […]}`, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/use-cases/{id}/audit",
    tag = "audit",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    responses(
        (status = 200, description = "{events}: the case's hash-chained audit events, oldest first"),
        (status = 401, response = problem::Unauthorized),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn audit(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let events = state
        .db(move |c| {
            cases::get(c, &who.read_scope(), &id)?.ok_or(AppError::NotFound)?;
            audit::for_case(c, &id)
        })
        .await?;
    let events = events
        .into_iter()
        .map(EventView::of)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "events": events })))
}

const MAX_LIMIT: i64 = 200;

/// The list's filters from a query string (the API's and the home page's).
pub(crate) fn list_filter(query: &str) -> AppResult<cases::ListFilter> {
    let params = crate::http::extract::query_params(query)?;
    let mut f = cases::ListFilter {
        limit: 50,
        ..Default::default()
    };
    let mut errors = Vec::new();
    for (k, v) in params {
        let bad = |msg: &str| crate::domain::FieldError::new(k.clone(), msg);
        match k.as_str() {
            "status" => match Status::parse(&v) {
                Some(s) => f.status = Some(s),
                None => errors.push(bad("not a status")),
            },
            "tier" => match Tier::parse(&v) {
                Some(t) => f.tier = Some(t),
                None => errors.push(bad("one of low, medium, high, critical, prohibited")),
            },
            "agency" => f.agency = Some(AgencyCode::normalized(&v)),
            "q" => match v.chars().count() {
                0..=200 => f.search = Some(v),
                _ => errors.push(bad("at most 200 characters")),
            },
            "lang" => {}
            "limit" => match v.parse::<i64>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => f.limit = n,
                _ => errors.push(bad("a whole number from 1 to 200")),
            },
            "cursor" => match uuid::Uuid::parse_str(&v) {
                Ok(u) => f.cursor = Some(u.hyphenated().to_string()),
                Err(_) => errors.push(bad("not a cursor returned by this endpoint")),
            },
            _ => errors.push(bad(
                "unknown parameter (status, tier, agency, q, limit, cursor)",
            )),
        }
    }
    if errors.is_empty() {
        Ok(f)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// `GET /api/v1/use-cases?status=&tier=&agency=&limit=&cursor=` → `{"items", "next_cursor"}`.
#[utoipa::path(
    get,
    path = "/api/v1/use-cases",
    tag = "intake",
    params(
        ("status" = Option<String>, Query, description = "A status"),
        ("tier" = Option<String>, Query, description = "A risk tier"),
        ("agency" = Option<String>, Query, description = "An agency code"),
        ("q" = Option<String>, Query, description = "Words the title or summary contains, whatever their case"),
        ("limit" = Option<i64>, Query, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "{items, next_cursor}, newest first"),
        (status = 401, response = problem::Unauthorized),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn list(
    state: Data<AppState>,
    who: Principal,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let filter = list_filter(req.query_string())?;
    let (items, next) = state
        .db(move |c| cases::list(c, &who.read_scope(), &filter))
        .await?;
    let rules = state.rules();
    let items = items
        .into_iter()
        .map(|c| CaseView::of(c, &rules))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items, "next_cursor": next })))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The version read (optional).
    version: Option<i32>,
    format: crate::vocab::agents::ImportFormat,
    /// The case's agent the tools join (`mcp_tools_list`), or that delegates
    /// (`a2a_agent_card`).
    #[validate(custom(function = "not_blank"))]
    agent: String,
    /// The MCP `tools/list` result (the JSON-RPC response or its `result`), or the Agent Card.
    #[schema(value_type = Object)]
    document: serde_json::Value,
}

/// `POST /api/v1/use-cases/{id}/agents/import`: adds an MCP server's tools to an agent, or a
/// delegation to the agent an A2A Agent Card describes. Like any change it amends an approved
/// case (a new revision, triaged again).
#[utoipa::path(
    post,
    path = "/api/v1/use-cases/{id}/agents/import",
    tag = "agents",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
    ),
    request_body = ImportRequest,
    responses(
        (status = 200, description = "The use case with the imported declarations", body = CaseView),
        (status = 400, response = problem::MalformedJson),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 413, response = problem::TooLarge),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn import_agents(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let req: ImportRequest = body.json()?;
    let import = app::cases::AgentImport {
        version: req.version,
        format: req.format,
        agent: req.agent,
        document: req.document,
    };
    let rules = state.rules();
    let case = state
        .db(move |c| app::cases::import_agents(c, &who, &id, &import, &rules))
        .await?;
    ok(&state, case)
}

/// `GET /api/v1/use-cases/{id}/policy[?revision=N]`: the guardrail policy of the approved
/// revision (the current one when it is approved), for a runtime gateway to enforce.
#[utoipa::path(
    get,
    path = "/api/v1/use-cases/{id}/policy",
    tag = "agents",
    params(
        ("id" = String, Path, description = "The use case id (a UUID)"),
        ("revision" = Option<i32>, Query, description = "An approved revision; the current one when absent"),
    ),
    responses(
        (status = 200, description = "The policy of the approved revision", body = Policy),
        (status = 401, response = problem::Unauthorized),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn policy(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    http: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = case_id(&path)?;
    let params = crate::http::extract::query_params(http.query_string())?;
    let revision = params
        .get("revision")
        .map(|r| {
            r.parse::<i32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                AppError::invalid("revision", "must be a revision number (1 or more)")
            })
        })
        .transpose()?;
    let p = state
        .db(move |c| app::policy::of(c, &who.read_scope(), &id, revision))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}
