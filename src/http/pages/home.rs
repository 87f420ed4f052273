//! The home page: the use cases the viewer may read, newest first.

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde::Serialize;

use super::render::{Base, PageError};
use super::session::Viewer;
use crate::db::cases::{self, Case, ListFilter};
use crate::http::AppState;

#[derive(Serialize)]
pub struct CaseRowView {
    pub id: String,
    pub title: String,
    pub agency: String,
    pub business_function: String,
    pub status: String,
    pub status_label: String,
    pub tier: String,
    pub tier_label: String,
    pub priority: String,
    pub updated: String,
}

pub fn row_view(state: &AppState, lang: &str, c: &Case) -> CaseRowView {
    let t = |k: String| state.pages.t(lang, &k);
    let tier = c.row.tier.clone().unwrap_or_default();
    CaseRowView {
        id: c.row.id.clone(),
        title: c.row.title.clone(),
        agency: c.agency.clone(),
        business_function: c.row.business_function.clone(),
        status_label: t(format!("status_{}", c.row.status)),
        status: c.row.status.clone(),
        tier_label: if tier.is_empty() {
            "—".into()
        } else {
            t(format!("tier_{tier}"))
        },
        tier,
        priority: c
            .row
            .priority
            .map(|p| p.to_string())
            .unwrap_or_else(|| "—".into()),
        updated: c.row.updated_at.format("%Y-%m-%d %H:%M").to_string(),
    }
}

#[derive(Serialize)]
struct HomePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    cases: Vec<CaseRowView>,
}

/// `GET /`
pub async fn page(state: Data<AppState>, viewer: Viewer) -> Result<HttpResponse, PageError> {
    let scope = viewer.user.read_scope();
    let (list, _) = state
        .db(move |c| {
            cases::list(
                c,
                &scope,
                &ListFilter {
                    limit: 100,
                    ..Default::default()
                },
            )
        })
        .await?;
    let lang = viewer.lang;
    let page = HomePage {
        base: Base::new(
            &state.pages,
            lang,
            state.pages.t(lang, "nav_cases"),
            Some(&viewer),
        ),
        cases: list.iter().map(|c| row_view(&state, lang, c)).collect(),
    };
    state.pages.render("home", &page, StatusCode::OK)
}
