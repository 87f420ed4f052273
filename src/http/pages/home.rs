//! The home page: the use cases the viewer may read, newest first.

use actix_web::http::StatusCode;
use actix_web::web::Data;
use actix_web::HttpResponse;
use serde::Serialize;

use super::render::{form_urlencode, Base, PageError};
use super::session::Viewer;
use crate::db::cases::{self, Case};
use crate::domain::case::{Status, Tier};
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
        id: c.row.id.to_string(),
        title: c.row.title.clone(),
        agency: c.agency.to_string(),
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
        updated: state.pages.formats(lang).datetime(c.row.updated_at),
    }
}

#[derive(Serialize)]
struct HomePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    cases: Vec<CaseRowView>,
    /// What the list is filtered by, to fill the search form.
    search: String,
    statuses: Vec<Opt>,
    tiers: Vec<Opt>,
    /// The link to the next page, when there is one.
    next: Option<String>,
}

/// An option of a filter's select.
#[derive(Serialize)]
struct Opt {
    value: &'static str,
    label: String,
    selected: bool,
}

/// `GET /?q=&status=&tier=&cursor=`: the cases the viewer may read, newest first, 50 a page.
pub async fn page(
    state: Data<AppState>,
    viewer: Viewer,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, PageError> {
    let scope = viewer.user.read_scope();
    let mut filter = crate::http::api::list_filter(req.query_string())?;
    filter.limit = 50;
    let shown = (
        filter.search.clone().unwrap_or_default(),
        filter.status,
        filter.tier,
    );
    let (list, next) = state.db(move |c| cases::list(c, &scope, &filter)).await?;
    let lang = viewer.lang;
    let t = |k: String| state.pages.t(lang, &k);
    let (search, status, tier) = shown;
    let next = next.map(|cursor| {
        let mut q = format!("q={}", form_urlencode(&search));
        if let Some(s) = status {
            q += &format!("&status={}", s.as_str());
        }
        if let Some(x) = tier {
            q += &format!("&tier={}", x.as_str());
        }
        format!("/?{q}&cursor={cursor}")
    });
    let page = HomePage {
        base: Base::new(&state.pages, lang, t("nav_cases".into()), Some(&viewer)),
        cases: list.iter().map(|c| row_view(&state, lang, c)).collect(),
        statuses: Status::ALL
            .iter()
            .map(|s| Opt {
                value: s.as_str(),
                label: t(format!("status_{}", s.as_str())),
                selected: status == Some(*s),
            })
            .collect(),
        tiers: Tier::ALL
            .iter()
            .map(|x| Opt {
                value: x.as_str(),
                label: t(format!("tier_{}", x.as_str())),
                selected: tier == Some(*x),
            })
            .collect(),
        search,
        next,
    };
    state.pages.render("home", &page, StatusCode::OK)
}
