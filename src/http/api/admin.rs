//! Administration: the rule pack (what-if simulation and reload) and accounts (tokens issued
//! and revoked, users disabled, enabled and given roles). Admins only.

use actix_web::web::{self, Data};
use actix_web::HttpResponse;

use crate::app::users::{self, By};
use crate::http::extract::Body;

use crate::db::cases;
use crate::domain::access::{Principal, Role};
use crate::domain::simulate::Summary;
use crate::error::{AppError, AppResult};
use crate::http::error::responses as problem;
use crate::http::error::Problem;
use crate::http::AppState;
use crate::vocab::UserId;

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

/// A user's new roles.
#[derive(serde::Deserialize, validator::Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    /// submitter, reviewer, senior_reviewer, portfolio_owner, admin; empty leaves the user
    /// able to do nothing.
    roles: Vec<String>,
}

/// Runs an account change as the calling admin; 204 when done.
async fn account(
    state: Data<AppState>,
    who: Principal,
    change: impl FnOnce(&mut crate::db::DbConnection, By) -> AppResult<()> + Send + 'static,
) -> AppResult<HttpResponse> {
    state.db(move |c| change(c, By::Admin(&who))).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/admin/users/{id}/tokens`: a new API token for the user, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/tokens",
    tag = "accounts",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 201, description = "{user_id, token}: the token is never shown again"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn issue_token(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let user_id = UserId::from(path.into_inner());
    let (u, by) = (user_id.clone(), who);
    let token = state
        .db(move |c| users::issue_token(c, By::Admin(&by), &u))
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({ "user_id": user_id, "token": token })))
}

/// `GET /api/v1/admin/tokens`: API tokens (never the tokens themselves), of one user or all.
#[utoipa::path(
    get,
    path = "/api/v1/admin/tokens",
    tag = "accounts",
    params(("user_id" = Option<String>, Query, description = "Only this user's tokens")),
    responses(
        (status = 200, description = "{tokens: [{id, user_id, email, created_at, revoked_at}]}"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
    ),
)]
pub async fn tokens(
    state: Data<AppState>,
    who: Principal,
    req: actix_web::HttpRequest,
) -> AppResult<HttpResponse> {
    let user = crate::http::extract::query_params(req.query_string())?
        .remove("user_id")
        .map(UserId::from);
    let list = state
        .db(move |c| users::tokens(c, By::Admin(&who), user.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "tokens": list })))
}

/// `DELETE /api/v1/admin/tokens/{id}`: revokes the token; the next request with it is a 401,
/// on every instance.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/tokens/{id}",
    tag = "accounts",
    params(("id" = String, Path, description = "The token's id (from the list), not the token")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn revoke_token(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    account(state, who, move |c, by| users::revoke_token(c, by, &id)).await
}

/// `POST /api/v1/admin/users/{id}/disable`: the user's tokens stop working and their web
/// sessions end, on the next request.
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/disable",
    tag = "accounts",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
    ),
)]
pub async fn disable(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = UserId::from(path.into_inner());
    account(state, who, move |c, by| {
        users::set_disabled(c, by, &id, true)
    })
    .await
}

/// `POST /api/v1/admin/users/{id}/enable`
#[utoipa::path(
    post,
    path = "/api/v1/admin/users/{id}/enable",
    tag = "accounts",
    params(("id" = String, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Enabled"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
    ),
)]
pub async fn enable(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = UserId::from(path.into_inner());
    account(state, who, move |c, by| {
        users::set_disabled(c, by, &id, false)
    })
    .await
}

/// `PUT /api/v1/admin/users/{id}/roles`: replaces the user's roles.
#[utoipa::path(
    put,
    path = "/api/v1/admin/users/{id}/roles",
    tag = "accounts",
    params(("id" = String, Path, description = "The user's id")),
    request_body = RolesRequest,
    responses(
        (status = 204, description = "Roles replaced"),
        (status = 401, response = problem::Unauthorized),
        (status = 403, response = problem::Forbidden),
        (status = 404, response = problem::NotFound),
        (status = 409, response = problem::Conflict),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn set_roles(
    state: Data<AppState>,
    who: Principal,
    path: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = UserId::from(path.into_inner());
    let req: RolesRequest = body.json()?;
    let roles = req
        .roles
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| {
                AppError::invalid(
                    "roles",
                    "each one of submitter, reviewer, senior_reviewer, portfolio_owner, admin",
                )
            })
        })
        .collect::<AppResult<Vec<Role>>>()?;
    account(state, who, move |c, by| {
        users::set_roles(c, by, &id, &roles)
    })
    .await
}
