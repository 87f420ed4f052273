//! The portfolio: every scored case the caller may see, for the radar, and counts for the
//! summary, computed in the database (indexed filters and GROUP BY).

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{agencies, decisions, use_cases, users};
use super::DbConnection;
use crate::domain::access::Scope;
use crate::domain::case::{Status, Tier};
use crate::error::AppResult;

#[derive(Debug, Default, Clone)]
pub struct RadarFilter {
    pub agency: Option<String>,
    pub business_function: Option<String>,
    pub tier: Option<Tier>,
    pub status: Option<Status>,
    /// A quadrant id of the rule pack.
    pub quadrant: Option<String>,
    /// Inclusive score ranges: (business value, feasibility).
    pub window: Option<((i32, i32), (i32, i32))>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub id: String,
    pub agency: String,
    pub title: String,
    pub business_function: String,
    pub business_value: i32,
    pub feasibility: i32,
    pub readiness: i32,
    pub priority: i32,
    pub quadrant: String,
    pub tier: String,
    pub route: String,
    pub status: String,
    #[serde(skip)]
    pub submitted_at: Option<NaiveDateTime>,
}

type PointRow = (
    String,
    String,
    String,
    String,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<i32>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<NaiveDateTime>,
);

/// Every scored case in `scope` that matches `f`, highest priority first.
pub fn radar(conn: &mut DbConnection, scope: &Scope, f: &RadarFilter) -> AppResult<Vec<Point>> {
    let mut q = use_cases::table
        .inner_join(agencies::table)
        .filter(use_cases::priority.is_not_null())
        .select((
            use_cases::id,
            agencies::code,
            use_cases::title,
            use_cases::business_function,
            use_cases::business_value,
            use_cases::feasibility,
            use_cases::readiness,
            use_cases::priority,
            use_cases::quadrant,
            use_cases::tier,
            use_cases::route,
            use_cases::status,
            use_cases::submitted_at,
        ))
        .into_boxed();
    if let Scope::Agencies(ids) = scope {
        q = q.filter(use_cases::agency_id.eq_any(ids));
    }
    if let Some(a) = &f.agency {
        q = q.filter(agencies::code.eq(super::agencies::code_key(a)));
    }
    if let Some(b) = &f.business_function {
        q = q.filter(use_cases::business_function.eq(b));
    }
    if let Some(t) = f.tier {
        q = q.filter(use_cases::tier.eq(t.as_str()));
    }
    if let Some(s) = f.status {
        q = q.filter(use_cases::status.eq(s.as_str()));
    }
    if let Some(quadrant) = &f.quadrant {
        q = q.filter(use_cases::quadrant.eq(quadrant));
    }
    if let Some(((v0, v1), (f0, f1))) = f.window {
        q = q
            .filter(use_cases::business_value.between(v0, v1))
            .filter(use_cases::feasibility.between(f0, f1));
    }
    let rows: Vec<PointRow> = q
        .order((use_cases::priority.desc(), use_cases::id.asc()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                agency,
                title,
                business_function,
                bv,
                fe,
                re,
                pr,
                quadrant,
                tier,
                route,
                status,
                submitted_at,
            )| Point {
                id,
                agency,
                title,
                business_function,
                business_value: bv.unwrap_or(0),
                feasibility: fe.unwrap_or(0),
                readiness: re.unwrap_or(0),
                priority: pr.unwrap_or(0),
                quadrant: quadrant.unwrap_or_default(),
                tier: tier.unwrap_or_default(),
                route: route.unwrap_or_default(),
                status,
                submitted_at,
            },
        )
        .collect())
}

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct Workload {
    pub reviewer: String,
    pub claimed_open: i64,
    pub decisions_last_30_days: i64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub total: i64,
    pub by_tier: Vec<Count>,
    pub by_route: Vec<Count>,
    pub by_quadrant: Vec<Count>,
    pub by_status: Vec<Count>,
    pub by_agency: Vec<Count>,
    pub workload: Vec<Workload>,
    /// Cases stored as cleared automatically that their audit trail does not vouch for
    /// (changed outside aitriage): counted in `by_route` as stored, listed here to be checked.
    pub auto_clear_unverified: Vec<String>,
}

fn counts(rows: Vec<(Option<String>, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(k, count)| Count {
            key: k.unwrap_or_else(|| "none".into()),
            count,
        })
        .collect()
}

/// Each reviewer's open claims and decisions over the last 30 days, on cases of `ids` (every
/// agency when `None`).
fn workload(conn: &mut DbConnection, ids: Option<&[String]>) -> AppResult<Vec<Workload>> {
    let open = [Status::InReview.as_str(), Status::AwaitingApproval.as_str()];
    let mut claims = use_cases::table
        .inner_join(users::table.on(use_cases::claimed_by.eq(users::id.nullable())))
        .filter(use_cases::status.eq_any(open))
        .group_by(users::email)
        .select((users::email, count_star()))
        .into_boxed();
    if let Some(ids) = ids {
        claims = claims.filter(use_cases::agency_id.eq_any(ids));
    }
    let claims: Vec<(String, i64)> = claims.load(conn)?;
    let since = super::now() - chrono::Duration::days(30);
    let mut decided = decisions::table
        .inner_join(users::table.on(decisions::actor_id.eq(users::id)))
        .inner_join(use_cases::table.on(decisions::use_case_id.eq(use_cases::id)))
        .filter(decisions::created_at.ge(since))
        .filter(decisions::action.ne("comment"))
        .group_by(users::email)
        .select((users::email, count_star()))
        .into_boxed();
    if let Some(ids) = ids {
        decided = decided.filter(use_cases::agency_id.eq_any(ids));
    }
    let decided: Vec<(String, i64)> = decided.load(conn)?;
    let mut reviewers: Vec<String> = claims
        .iter()
        .chain(&decided)
        .map(|(e, _)| e.clone())
        .collect();
    reviewers.sort();
    reviewers.dedup();
    let find = |v: &[(String, i64)], e: &str| v.iter().find(|(x, _)| x == e).map_or(0, |(_, n)| *n);
    Ok(reviewers
        .into_iter()
        .map(|r| Workload {
            claimed_open: find(&claims, &r),
            decisions_last_30_days: find(&decided, &r),
            reviewer: r,
        })
        .collect())
}

/// Counts of the cases in `scope` by tier, route, quadrant, status and agency, and each
/// reviewer's open claims and decisions over the last 30 days on those cases.
pub fn summary(conn: &mut DbConnection, scope: &Scope) -> AppResult<Summary> {
    let ids = match scope {
        Scope::All => None,
        Scope::Agencies(ids) => Some(ids.clone()),
    };
    macro_rules! by {
        ($col:expr) => {{
            let mut q = use_cases::table
                .group_by($col)
                .select(($col, count_star()))
                .into_boxed();
            if let Some(ids) = &ids {
                q = q.filter(use_cases::agency_id.eq_any(ids));
            }
            let rows: Vec<(Option<String>, i64)> = q.order($col.asc()).load(conn)?;
            counts(rows)
        }};
    }
    let by_tier = by!(use_cases::tier);
    let by_route = by!(use_cases::route);
    let by_quadrant = by!(use_cases::quadrant);
    let by_status: Vec<Count> = {
        let mut q = use_cases::table
            .group_by(use_cases::status)
            .select((use_cases::status, count_star()))
            .into_boxed();
        if let Some(ids) = &ids {
            q = q.filter(use_cases::agency_id.eq_any(ids));
        }
        q.order(use_cases::status.asc())
            .load::<(String, i64)>(conn)?
            .into_iter()
            .map(|(key, count)| Count { key, count })
            .collect()
    };
    let by_agency: Vec<Count> = {
        let mut q = use_cases::table
            .inner_join(agencies::table)
            .group_by(agencies::code)
            .select((agencies::code, count_star()))
            .into_boxed();
        if let Some(ids) = &ids {
            q = q.filter(use_cases::agency_id.eq_any(ids));
        }
        q.order(agencies::code.asc())
            .load::<(String, i64)>(conn)?
            .into_iter()
            .map(|(key, count)| Count { key, count })
            .collect()
    };
    let workload = workload(conn, ids.as_deref())?;
    Ok(Summary {
        total: by_status.iter().map(|c| c.count).sum(),
        by_tier,
        by_route,
        by_quadrant,
        by_status,
        by_agency,
        workload,
        auto_clear_unverified: super::integrity::unvouched_auto_clear(conn, scope)?,
    })
}

/// Every case in `scope` as the similarity search reads it: title, summary and purpose.
pub fn documents(
    conn: &mut DbConnection,
    scope: &Scope,
) -> AppResult<Vec<crate::domain::similar::Doc>> {
    let mut q = use_cases::table
        .inner_join(agencies::table)
        .select((
            use_cases::id,
            agencies::code,
            use_cases::title,
            use_cases::summary,
            use_cases::business_function,
            use_cases::status,
            use_cases::answers,
        ))
        .into_boxed();
    if let Scope::Agencies(ids) = scope {
        q = q.filter(use_cases::agency_id.eq_any(ids));
    }
    let rows: Vec<(String, String, String, String, String, String, String)> =
        q.order(use_cases::id.asc()).load(conn)?;
    #[derive(serde::Deserialize)]
    struct Purpose {
        purpose: Option<String>,
    }
    Ok(rows
        .into_iter()
        .map(
            |(id, agency, title, summary, business_function, status, answers)| {
                let purpose = serde_json::from_str::<Purpose>(&answers)
                    .ok()
                    .and_then(|p| p.purpose)
                    .unwrap_or_default();
                crate::domain::similar::Doc {
                    text: format!("{title}. {summary} {purpose}"),
                    id,
                    agency,
                    title,
                    business_function,
                    status,
                }
            },
        )
        .collect())
}
