//! The reviewer's queue: the cases they may decide, with filters, ages, SLA and claims.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::locale::Formats;
use super::render::{Base, PageError, Tr};
use super::session::Viewer;
use crate::app::reviews::{self, QueueFilter};
use crate::db::users;
use crate::domain::case::Tier;
use crate::error::AppError;
use crate::http::AppState;
use crate::vocab::{AgencyCode, UserId};

#[derive(Deserialize)]
pub struct Filters {
    tier: Option<String>,
    agency: Option<String>,
    group: Option<String>,
    mine: Option<String>,
}

#[derive(Serialize)]
struct Item {
    id: String,
    title: String,
    agency: String,
    tier: String,
    tier_label: String,
    status_label: String,
    age: String,
    sla: String,
    overdue: bool,
    escalated: bool,
    claimed_by: Option<String>,
    claimed_by_me: bool,
    pending: String,
    version: i32,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct QueuePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    items: Vec<Item>,
    tiers: Vec<Choice>,
    agency: String,
    group: String,
    mine: bool,
}

/// How long a case has waited, in words: hours within the first working day, then working
/// days with one decimal, written as the language writes numbers.
fn waited(age_hours: i64, working_days: f64, t: Tr, f: &Formats) -> String {
    if working_days >= 1.0 {
        f.counted(t, "age_days", working_days, 1)
    } else if age_hours >= 1 {
        t("age_hours".into()).replace("{n}", &f.integer(age_hours))
    } else {
        t("age_under_an_hour".into())
    }
}

/// `GET /queue`
pub async fn page(
    state: Data<AppState>,
    viewer: Viewer,
    q: Query<Filters>,
) -> Result<HttpResponse, PageError> {
    if !viewer.user.is_reviewer() {
        return Err(AppError::Forbidden("the review queue is for reviewers".into()).into());
    }
    let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let filter = QueueFilter {
        tier: nonempty(&q.tier).and_then(|t| Tier::parse(&t)),
        agency: nonempty(&q.agency).map(|a| AgencyCode::normalized(&a)),
        group: nonempty(&q.group),
        older_than_hours: None,
        claimed_by_me: q.mine.as_deref() == Some("1"),
    };
    let selected_tier = filter.tier;
    let who = viewer.user.clone();
    let rules = state.rules();
    let (entries, emails) = state
        .db(move |c| {
            let entries = reviews::queue(c, &who, &filter, &rules)?;
            let ids: Vec<UserId> = entries
                .iter()
                .filter_map(|e| e.case.row.claimed_by.clone())
                .collect();
            Ok((entries, users::emails(c, &ids)?))
        })
        .await?;
    let lang = viewer.lang;
    let pages = &state.pages;
    let t = |k: String| pages.t(lang, &k);
    let page = QueuePage {
        base: Base::new(pages, lang, t("nav_queue".into()), Some(&viewer)),
        items: entries
            .into_iter()
            .map(|e| {
                let tier = e.case.row.tier.clone().unwrap_or_default();
                Item {
                    id: e.case.row.id.to_string(),
                    title: e.case.row.title.clone(),
                    agency: e.case.agency.to_string(),
                    tier_label: t(format!("tier_{tier}")),
                    tier,
                    status_label: t(format!("status_{}", e.case.row.status)),
                    age: waited(e.age_hours, e.working_days, &t, pages.formats(lang)),
                    sla: e
                        .sla_working_days
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "—".into()),
                    overdue: e.overdue,
                    escalated: e.case.row.escalated,
                    claimed_by_me: e.case.row.claimed_by.as_ref() == Some(&viewer.user.user_id),
                    claimed_by: e
                        .case
                        .row
                        .claimed_by
                        .as_ref()
                        .map(|u| emails.get(u).cloned().unwrap_or_else(|| u.to_string())),
                    pending: e.pending_groups.join(&t("list_separator".into())),
                    version: e.case.row.version,
                }
            })
            .collect(),
        tiers: Tier::ALL
            .iter()
            .map(|tier| Choice {
                value: tier.to_string(),
                label: t(format!("tier_{tier}")),
                selected: selected_tier == Some(*tier),
            })
            .collect(),
        agency: q.agency.clone().unwrap_or_default(),
        group: q.group.clone().unwrap_or_default(),
        mine: q.mine.as_deref() == Some("1"),
    };
    pages.render("queue", &page, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_time_reads_in_hours_then_working_days_in_the_languages_decimal_mark() {
        let pages = crate::http::pages::Pages::new().unwrap();
        let waited_in = |lang: &str, hours, days| {
            waited(
                hours,
                days,
                &|k: String| pages.t(lang, &k),
                pages.formats(lang),
            )
        };
        assert_eq!(waited_in("en", 0, 0.0), "under an hour");
        assert_eq!(waited_in("en", 5, 0.4), "5 h");
        assert_eq!(waited_in("en", 40, 2.5), "2.5 working days");
        assert_eq!(waited_in("fr", 40, 2.5), "2,5 jours ouvrés");
        assert_eq!(waited_in("ru", 40, 2.46), "2,5 рабочего дня");
        assert_eq!(waited_in("es", 40, 12.0), "12,0 días hábiles");
    }
}
