//! Administration of the rule pack: what-if simulation and reload. Admins only.

use actix_web::web::Data;
use actix_web::HttpResponse;

use crate::db::cases;
use crate::domain::access::{Principal, Role};
use crate::domain::simulate::Summary;
use crate::error::{AppError, AppResult};
use crate::http::error::responses as problem;
use crate::http::error::Problem;
use crate::http::AppState;

fn require_admin(who: &Principal) -> AppResult<()> {
    if who.has(Role::Admin) {
        Ok(())
    } else {
        Err(AppError::Forbidden("only admins manage the rules".into()))
    }
}

/// `POST /api/v1/admin/rules/reload`: put the rules on disk in force, or refuse them (422 with
/// every problem as `file:line:column`) and keep the running ones.
#[utoipa::path(
    post,
    path = "/api/v1/admin/rules/reload",
    tag = "rules",
    responses(
        (status = 200, description = "{previous_rules_version, rules_version, changed}"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 422, description = "The pack on disk failed its check; errors name file:line:column", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn reload(state: Data<AppState>, who: Principal) -> AppResult<HttpResponse> {
    require_admin(&who)?;
    let (old, new) = state.reload_rules(Some(who.user_id)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "previous_rules_version": old,
        "rules_version": new,
        "changed": old != new,
    })))
}

/// `POST /api/v1/admin/rules/simulate`: re-triage every stored case under the rules on disk
/// (the candidate pack) without writing anything; the counts and every changed case.
#[utoipa::path(
    post,
    path = "/api/v1/admin/rules/simulate",
    tag = "rules",
    responses(
        (status = 200, description = "What would change under the rules on disk; nothing written"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn simulate(state: Data<AppState>, who: Principal) -> AppResult<HttpResponse> {
    require_admin(&who)?;
    let dir = state.config.rules_dir.clone();
    let summary = state
        .db(move |conn| {
            let candidate = crate::rules::load_dir(&dir).map_err(AppError::rules_refused)?;
            let mut summary = Summary::new(&candidate);
            cases::for_each_triaged(conn, 1000, |batch| summary.add_all(&candidate, batch))?;
            Ok(summary)
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
