//! Error pages in the site's layout (the menu of whoever is signed in, in their language), an
//! HTML "not found" for a browser asking for an unknown address (API clients still get
//! problem+json), and HEAD answered as GET without a body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use super::render::{Base, Detail, ErrorPage, PageError};
use super::session::{language, Viewer};
use crate::error::AppError;
use crate::http::AppState;

#[derive(Serialize)]
struct ErrorView<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    detail: String,
}

/// Middleware: a response marked as an error page is shown again in the layout, with the
/// menu of the signed-in viewer (if any) and in the page language.
pub async fn with_menu(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(page) = res.response().extensions().get::<ErrorPage>().cloned() else {
        return Ok(res);
    };
    let (req, res) = res.into_parts();
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return Ok(ServiceResponse::new(req, res));
    };
    let viewer = Viewer::from_request(&req, &mut Payload::None).await.ok();
    let lang = viewer.as_ref().map_or_else(|| language(&req), |v| v.lang);
    let pages = &state.pages;
    let status = res.status();
    let view = ErrorView {
        base: Base::new(
            pages,
            lang,
            pages
                .known(lang, &format!("error_{}", status.as_u16()))
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_string()),
            viewer.as_ref(),
        ),
        detail: match page.detail {
            Detail::Key(k) => pages.t(lang, k),
            Detail::Text(t) => t,
        },
    };
    // The page's body only: the headers already set (security, request id, cookies) stay.
    Ok(match pages.render("error", &view, status) {
        Ok(page) => ServiceResponse::new(req, res.set_body(page.into_body())),
        Err(_) => ServiceResponse::new(req, res),
    })
}

/// Any address no route has: an HTML page for a browser, problem+json for anything else.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let browser = !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if browser {
        PageError::App(AppError::NotFound).error_response()
    } else {
        AppError::NotFound.error_response()
    }
}

/// Middleware: HEAD is routed as GET, and answered with GET's status and headers, no body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let res = next.call(req).await?.map_into_boxed_body();
    Ok(if head {
        res.map_body(|_, _| BoxBody::new(()))
    } else {
        res
    })
}
