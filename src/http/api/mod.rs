//! The JSON API under `/api/v1`, plus `/healthz` and `/metrics`.

mod admin;
mod portfolio;
mod questionnaire;
mod reviews;
mod use_cases;
pub mod views;

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .service(
            web::scope("/api/v1")
                .configure(admin::routes)
                .route("/questionnaire", web::get().to(questionnaire::get))
                .route("/triage/preview", web::post().to(questionnaire::preview))
                .route("/use-cases", web::post().to(use_cases::create))
                .route("/use-cases", web::get().to(use_cases::list))
                .route("/use-cases/{id}", web::get().to(use_cases::read))
                .route("/use-cases/{id}", web::patch().to(use_cases::edit))
                .route("/use-cases/{id}/submit", web::post().to(use_cases::submit))
                .route(
                    "/use-cases/{id}/withdraw",
                    web::post().to(use_cases::withdraw),
                )
                .route("/use-cases/{id}/audit", web::get().to(use_cases::audit))
                .route("/use-cases/{id}/decisions", web::post().to(reviews::decide))
                .route("/use-cases/{id}/claim", web::post().to(reviews::claim))
                .route("/use-cases/{id}/release", web::post().to(reviews::release))
                .route("/review-queue", web::get().to(reviews::queue))
                .route("/portfolio/radar", web::get().to(portfolio::radar))
                .route("/portfolio/summary", web::get().to(portfolio::summary))
                .route(
                    "/portfolio/duplicates",
                    web::get().to(portfolio::duplicates),
                )
                .route("/portfolio/export", web::get().to(portfolio::export))
                .route("/use-cases/{id}/similar", web::get().to(portfolio::similar))
                .default_service(web::to(not_found)),
        );
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// Any path or method the API does not have.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
