//! Server-rendered pages (handlebars), usable without JavaScript: sign-in, the intake form,
//! the case page, the review queue and the portfolio radar. Every form carries a CSRF token;
//! every page is sent with a strict Content-Security-Policy (no inline script or style).

mod admin;
mod agents;
mod case;
mod errors;
mod forms;
mod home;
mod intake;
mod locale;
mod login;
mod portfolio;
mod queue;
mod radar;
mod render;
mod session;
pub use errors::{head_as_get, not_found, with_menu};
pub use session::remember_language;

use actix_web::{web, HttpResponse};

pub use login::Throttle;
pub use render::{Pages, PagesError};

const STYLE: &str = include_str!("../../../templates/static/style.css");
const SCRIPT: &str = include_str!("../../../templates/static/intake.js");

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/static/style.css",
        web::get().to(|| async { asset("text/css; charset=utf-8", STYLE) }),
    )
    .route(
        "/static/intake.js",
        web::get().to(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
    )
    .route("/login", web::get().to(login::form))
    .route("/login", web::post().to(login::submit))
    .route("/logout", web::post().to(login::logout))
    .route("/", web::get().to(home::page))
    .route("/use-cases/new", web::get().to(intake::new_form))
    .route("/use-cases/new", web::post().to(intake::create))
    .route("/use-cases/preview", web::post().to(intake::preview))
    .route("/use-cases/{id}", web::get().to(case::page))
    .route("/use-cases/{id}/edit", web::get().to(intake::edit_form))
    .route("/use-cases/{id}/edit", web::post().to(intake::update))
    .route("/use-cases/{id}/act", web::post().to(case::act))
    .route("/use-cases/{id}/act", web::get().to(case::act_page))
    .route("/queue", web::get().to(queue::page))
    .route("/portfolio", web::get().to(portfolio::page))
    .route("/portfolio.csv", web::get().to(portfolio::csv))
    .route("/admin", web::get().to(admin::page))
    .route("/admin", web::post().to(admin::act));
}
