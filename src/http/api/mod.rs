//! The JSON API under `/api/v1`, plus `/healthz` and `/metrics`.

mod admin;
pub mod portfolio;
mod questionnaire;
mod reviews;
mod use_cases;
pub(crate) use use_cases::list_filter;
pub mod views;

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::error::AppError;
use crate::http::error::responses as problem;

/// Declares the API's routes once: they are registered from this table, listed in [`ROUTES`],
/// and a test checks that the OpenAPI document describes every one.
macro_rules! api_routes {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every route under `/api/v1`, as (method, path).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn register(scope: actix_web::Scope) -> actix_web::Scope {
            scope$(.route($path, web::$method().to($handler)))*
        }
    };
}

api_routes! {
    get "/openapi.json" => openapi;
    get "/questionnaire" => questionnaire::get;
    post "/triage/preview" => questionnaire::preview;
    post "/use-cases" => use_cases::create;
    get "/use-cases" => use_cases::list;
    get "/use-cases/{id}" => use_cases::read;
    patch "/use-cases/{id}" => use_cases::edit;
    post "/use-cases/{id}/submit" => use_cases::submit;
    post "/use-cases/{id}/withdraw" => use_cases::withdraw;
    get "/use-cases/{id}/audit" => use_cases::audit;
    post "/use-cases/{id}/agents/import" => use_cases::import_agents;
    get "/use-cases/{id}/policy" => use_cases::policy;
    post "/use-cases/{id}/decisions" => reviews::decide;
    post "/use-cases/{id}/claim" => reviews::claim;
    post "/use-cases/{id}/release" => reviews::release;
    get "/use-cases/{id}/similar" => portfolio::similar;
    post "/use-cases/{id}/not-duplicate" => portfolio::not_duplicate;
    get "/review-queue" => reviews::queue;
    get "/portfolio/radar" => portfolio::radar;
    get "/portfolio/summary" => portfolio::summary;
    get "/portfolio/duplicates" => portfolio::duplicates;
    get "/portfolio/export" => portfolio::export;
    post "/admin/rules/reload" => admin::reload;
    post "/admin/rules/simulate" => admin::simulate;
    post "/admin/users/{id}/tokens" => admin::issue_token;
    get "/admin/tokens" => admin::tokens;
    delete "/admin/tokens/{id}" => admin::revoke_token;
    post "/admin/users/{id}/disable" => admin::disable;
    post "/admin/users/{id}/enable" => admin::enable;
    put "/admin/users/{id}/roles" => admin::set_roles;
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .service(register(web::scope("/api/v1")).default_service(web::to(not_found)));
}

/// Bearer tokens, as `aitriage users create` prints them.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "aitriage", description = "Intake and risk triage for AI and agentic-AI use cases. Errors are RFC 9457 problem details (application/problem+json)."),
    paths(
        healthz, metrics, openapi,
        questionnaire::get, questionnaire::preview,
        use_cases::create, use_cases::list, use_cases::read, use_cases::edit, use_cases::submit, use_cases::withdraw, use_cases::audit,
        use_cases::import_agents, use_cases::policy,
        reviews::decide, reviews::claim, reviews::release, reviews::queue,
        portfolio::similar, portfolio::not_duplicate, portfolio::radar, portfolio::summary, portfolio::duplicates, portfolio::export,
        admin::reload, admin::simulate,
        admin::issue_token, admin::tokens, admin::revoke_token, admin::disable, admin::enable, admin::set_roles,
    ),
    components(
        schemas(crate::http::error::Problem, crate::domain::FieldError, views::CaseView, crate::domain::policy::Policy),
        responses(
            problem::MalformedJson, problem::Unauthorized, problem::Forbidden, problem::NotFound,
            problem::Conflict, problem::TooLarge, problem::Invalid,
        ),
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The OpenAPI document of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses(
        (status = 200, description = "OpenAPI 3.1 document"),
    ),
)]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(<ApiDoc as utoipa::OpenApi>::openapi())
}

/// Liveness: `{"status":"ok"}`.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "meta",
    security(()),
    responses(
        (status = 200, description = "The service is up"),
    ),
)]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// Prometheus counters (no per-agency figures), only with `Authorization: Bearer
/// <METRICS_TOKEN>`; without METRICS_TOKEN configured, 403.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "meta",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
    ),
)]
async fn metrics(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, AppError> {
    use subtle::ConstantTimeEq;
    // Deny by default: counters say how the service is used, so only a configured scraper
    // reads them.
    let Some(expected) = &state.config.metrics_token else {
        return Err(AppError::Forbidden(
            "metrics are off: set METRICS_TOKEN and send it as a bearer token".into(),
        ));
    };
    let sent = crate::http::auth::bearer(&req)?;
    if !bool::from(sent.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(AppError::Unauthorized(
            "send Authorization: Bearer <METRICS_TOKEN>".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}

/// Any path or method the API does not have.
async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
