//! The portfolio: every scored case the caller may see, for the radar, and counts for the
//! summary, computed in the database (indexed filters and GROUP BY).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{agencies, decisions, use_cases, users};
use super::DbConnection;
use crate::domain::access::Scope;
use crate::domain::case::{Status, Tier};
use crate::error::AppResult;
use crate::vocab::{AgencyCode, CaseId};

#[derive(Debug, Default, Clone)]
pub struct RadarFilter {
    pub agency: Option<AgencyCode>,
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

/// The agencies whose cases `f` and `scope` let through, by id: `None` for every agency.
/// Resolving the agency code first keeps the counting queries on `use_cases` alone.
fn agency_ids(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RadarFilter,
) -> AppResult<Option<Vec<String>>> {
    let mut ids = match scope {
        Scope::All => None,
        Scope::Agencies(ids) => Some(ids.clone()),
    };
    if let Some(a) = &f.agency {
        let id: Option<String> = agencies::table
            .filter(agencies::code.eq(super::agencies::code_key(a.as_str())))
            .select(agencies::id)
            .get_result(conn)
            .optional()?;
        ids = Some(match ids {
            None => id.into_iter().collect(),
            Some(v) => v.into_iter().filter(|x| Some(x) == id.as_ref()).collect(),
        });
    }
    Ok(ids)
}

/// Narrows a boxed query over `use_cases` to the scored cases of `ids` (see [`agency_ids`])
/// that match the filter `f`.
macro_rules! matching {
    ($q:expr, $ids:expr, $f:expr) => {{
        let (ids, f): (&Option<Vec<String>>, &RadarFilter) = ($ids, $f);
        let mut q = $q.filter(use_cases::priority.is_not_null());
        if let Some(ids) = ids {
            q = q.filter(use_cases::agency_id.eq_any(ids.clone()));
        }
        if let Some(b) = &f.business_function {
            q = q.filter(use_cases::business_function.eq(b.clone()));
        }
        if let Some(t) = f.tier {
            q = q.filter(use_cases::tier.eq(t.as_str()));
        }
        if let Some(s) = f.status {
            q = q.filter(use_cases::status.eq(s.as_str()));
        }
        if let Some(quadrant) = &f.quadrant {
            q = q.filter(use_cases::quadrant.eq(quadrant.clone()));
        }
        if let Some(((v0, v1), (f0, f1))) = f.window {
            q = q
                .filter(use_cases::business_value.between(v0, v1))
                .filter(use_cases::feasibility.between(f0, f1));
        }
        q
    }};
}

/// Every scored case in `scope` that matches `f`, highest priority first.
pub fn radar(conn: &mut DbConnection, scope: &Scope, f: &RadarFilter) -> AppResult<Vec<Point>> {
    let ids = agency_ids(conn, scope, f)?;
    points(conn, &ids, f, None)
}

/// The scored cases of `ids` that match `f`, highest priority first, at most `limit`.
fn points(
    conn: &mut DbConnection,
    ids: &Option<Vec<String>>,
    f: &RadarFilter,
    limit: Option<i64>,
) -> AppResult<Vec<Point>> {
    let q = use_cases::table
        .inner_join(agencies::table)
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
    let mut q = matching!(q, ids, f).order((use_cases::priority.desc(), use_cases::id.asc()));
    if let Some(n) = limit {
        q = q.limit(n);
    }
    let rows: Vec<PointRow> = q.load(conn)?;
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

/// The width of a radar cell on both axes, in score points.
pub const CELL: i32 = 10;

/// The cases in one cell of the radar's grid: business value and feasibility from the given
/// lower bounds, [`CELL`] points wide (the last cell also holds 100).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Cell {
    pub business_value: i32,
    pub feasibility: i32,
    pub count: i64,
    /// How many of them are in each risk tier.
    pub tiers: BTreeMap<String, i64>,
}

/// The radar at any portfolio size: how many cases match, the `limit` of highest priority as
/// points, and every match counted by cell and tier (so the whole portfolio stays visible
/// when the points are a part of it).
#[derive(Debug, Clone, Serialize)]
pub struct RadarView {
    pub total: i64,
    /// More cases match than `points` holds.
    pub truncated: bool,
    pub points: Vec<Point>,
    pub cells: Vec<Cell>,
}

/// Business value, feasibility, tier, and how many cases have them.
type CountedRow = (Option<i32>, Option<i32>, Option<String>, i64);

/// The radar of the cases in `scope` that match `f`, with at most `limit` points.
pub fn radar_view(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &RadarFilter,
    limit: i64,
) -> AppResult<RadarView> {
    let ids = agency_ids(conn, scope, f)?;
    let q = use_cases::table
        .group_by((
            use_cases::business_value,
            use_cases::feasibility,
            use_cases::tier,
        ))
        .select((
            use_cases::business_value,
            use_cases::feasibility,
            use_cases::tier,
            count_star(),
        ))
        .into_boxed();
    let counted: Vec<CountedRow> = matching!(q, &ids, f).load(conn)?;
    let bucket = |score: Option<i32>| (score.unwrap_or(0).clamp(0, 99) / CELL) * CELL;
    let mut grid: BTreeMap<(i32, i32), Cell> = BTreeMap::new();
    for (bv, fe, tier, n) in counted {
        let (bv, fe) = (bucket(bv), bucket(fe));
        let cell = grid.entry((bv, fe)).or_insert_with(|| Cell {
            business_value: bv,
            feasibility: fe,
            count: 0,
            tiers: BTreeMap::new(),
        });
        cell.count += n;
        *cell.tiers.entry(tier.unwrap_or_default()).or_default() += n;
    }
    let total = grid.values().map(|c| c.count).sum();
    let points = points(conn, &ids, f, Some(limit))?;
    Ok(RadarView {
        total,
        truncated: total > points.len() as i64,
        points,
        cells: grid.into_values().collect(),
    })
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

/// One group of the summary's counts: (quadrant, route, tier, status, agency id), how many.
type SummaryGroup = (
    (
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    ),
    i64,
);

/// Counts by key, in the order of the keys (cases without one last, as `none`).
fn tally<'a>(groups: impl Iterator<Item = (Option<&'a str>, i64)>) -> Vec<Count> {
    let mut by: BTreeMap<(bool, &str), i64> = BTreeMap::new();
    for (key, n) in groups {
        *by.entry((key.is_none(), key.unwrap_or("none")))
            .or_default() += n;
    }
    by.into_iter()
        .map(|((_, key), count)| Count {
            key: key.to_string(),
            count,
        })
        .collect()
}

/// Counts of the cases in `scope` by tier, route, quadrant, status and agency, and each
/// reviewer's open claims and decisions over the last 30 days on those cases. The counts come
/// from one pass over an index that holds the five columns (`use_cases_summary`).
pub fn summary(conn: &mut DbConnection, scope: &Scope) -> AppResult<Summary> {
    let ids = match scope {
        Scope::All => None,
        Scope::Agencies(ids) => Some(ids.clone()),
    };
    let columns = (
        use_cases::quadrant,
        use_cases::route,
        use_cases::tier,
        use_cases::status,
        use_cases::agency_id,
    );
    let mut q = use_cases::table
        .group_by(columns)
        .select((columns, count_star()))
        .into_boxed();
    if let Some(ids) = &ids {
        q = q.filter(use_cases::agency_id.eq_any(ids));
    }
    let groups: Vec<SummaryGroup> = q.load(conn)?;
    let mut agency_ids: Vec<&str> = groups.iter().map(|(g, _)| g.4.as_str()).collect();
    agency_ids.sort_unstable();
    agency_ids.dedup();
    let codes: BTreeMap<String, String> = agencies::table
        .filter(agencies::id.eq_any(&agency_ids))
        .select((agencies::id, agencies::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let by_agency = tally(
        groups
            .iter()
            .map(|(g, n)| (codes.get(&g.4).map(String::as_str), *n)),
    );
    let by_status = tally(groups.iter().map(|(g, n)| (Some(g.3.as_str()), *n)));
    let workload = workload(conn, ids.as_deref())?;
    Ok(Summary {
        total: by_status.iter().map(|c| c.count).sum(),
        by_tier: tally(groups.iter().map(|(g, n)| (g.2.as_deref(), *n))),
        by_route: tally(groups.iter().map(|(g, n)| (g.1.as_deref(), *n))),
        by_quadrant: tally(groups.iter().map(|(g, n)| (g.0.as_deref(), *n))),
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
    let rows: Vec<(CaseId, String, String, String, String, String, String)> =
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_by_key_in_key_order_with_cases_without_one_last() {
        let counts = tally([(Some("b"), 1), (None, 2), (Some("a"), 3), (Some("b"), 4)].into_iter());
        let counts: Vec<(&str, i64)> = counts.iter().map(|c| (c.key.as_str(), c.count)).collect();
        assert_eq!(counts, [("a", 3), ("b", 5), ("none", 2)]);
    }
}
