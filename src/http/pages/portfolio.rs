//! The portfolio: the prioritisation radar drawn on the server as SVG (feasibility across,
//! business value up, readiness as size, tier as colour and shape), filters, a sortable table
//! of the same cases (the chart's text alternative), and a CSV download.

use crate::rules::i18n::Localizer;
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::render::{form_urlencode, Base, PageError, Tr};
use super::session::Viewer;
use crate::db::portfolio::{self, Point, RadarFilter};
use crate::domain::case::{Status, Tier};
use crate::error::AppError;
use crate::http::AppState;
use crate::rules::model::Scoring;

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    agency: Option<String>,
    business_function: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
}

impl Filters {
    fn radar(&self) -> RadarFilter {
        let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        RadarFilter {
            agency: nonempty(&self.agency),
            business_function: nonempty(&self.business_function),
            tier: nonempty(&self.tier).and_then(|t| Tier::parse(&t)),
            status: nonempty(&self.status).and_then(|s| Status::parse(&s)),
        }
    }

    /// The filters as a query string (without sorting).
    fn query(&self) -> String {
        [
            ("agency", &self.agency),
            ("business_function", &self.business_function),
            ("tier", &self.tier),
            ("status", &self.status),
        ]
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", form_urlencode(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

const W: f64 = 640.0;
const H: f64 = 480.0;
const PAD: f64 = 56.0;

fn x(feasibility: i32) -> f64 {
    PAD + (W - 2.0 * PAD) * feasibility as f64 / 100.0
}

fn y(value: i32) -> f64 {
    H - PAD - (H - 2.0 * PAD) * value as f64 / 100.0
}

/// A tier's marker as an SVG path centred on (cx, cy): shape as well as colour tells tiers apart.
fn marker(tier: &str, cx: f64, cy: f64, r: f64) -> String {
    match tier {
        "low" => format!(
            "M{:.1},{cy:.1}a{r:.1},{r:.1} 0 1,0 {:.1},0a{r:.1},{r:.1} 0 1,0 {:.1},0z",
            cx - r,
            2.0 * r,
            -2.0 * r
        ),
        "medium" => format!(
            "M{:.1},{:.1}h{:.1}v{:.1}h{:.1}z",
            cx - r,
            cy - r,
            2.0 * r,
            2.0 * r,
            -2.0 * r
        ),
        "high" => format!(
            "M{cx:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}z",
            cy - r * 1.2,
            cx + r * 1.1,
            cy + r * 0.9,
            cx - r * 1.1,
            cy + r * 0.9
        ),
        "critical" => format!(
            "M{cx:.1},{:.1}L{:.1},{cy:.1}L{cx:.1},{:.1}L{:.1},{cy:.1}z",
            cy - r * 1.3,
            cx + r * 1.3,
            cy + r * 1.3,
            cx - r * 1.3
        ),
        _ => {
            let d = r * 0.9;
            let w = (r * 0.35).max(1.5);
            format!(
                "M{:.1},{:.1}L{cx:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}L{cx:.1},{:.1}L{:.1},{:.1}z",
                cx - d,
                cy - d + w,
                cy - w,
                cx + d,
                cy - d + w,
                cx + d - w,
                cy - d,
                cy - w,
                cx - d + w,
                cy - d
            ) + &format!(
                "M{:.1},{:.1}L{cx:.1},{:.1}L{:.1},{:.1}L{:.1},{:.1}L{cx:.1},{:.1}L{:.1},{:.1}z",
                cx - d,
                cy + d - w,
                cy + w,
                cx + d,
                cy + d - w,
                cx + d - w,
                cy + d,
                cy + w,
                cx - d + w,
                cy + d
            )
        }
    }
}

#[derive(Serialize)]
struct PointView {
    id: String,
    title: String,
    agency: String,
    business_function: String,
    business_value: i32,
    feasibility: i32,
    readiness: i32,
    priority: i32,
    quadrant: String,
    tier: String,
    tier_label: String,
    status_label: String,
    path: String,
    label: String,
}

#[derive(Serialize)]
struct Tick {
    pos: f64,
    label: String,
}

#[derive(Serialize)]
struct QuadrantLabel {
    x: f64,
    /// Where the name's line and the description's line sit.
    y: f64,
    y2: f64,
    /// "Prepare: valuable, not yet feasible" is drawn as "Prepare:" over its description, so
    /// a long label (French runs longer) stays inside its quadrant.
    name: String,
    detail: String,
}

#[derive(Serialize)]
struct Option_ {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct SortLink {
    label: String,
    href: String,
    sort: &'static str,
}

#[derive(Serialize)]
struct Legend {
    tier: String,
    label: String,
    path: String,
}

#[derive(Serialize)]
struct CaseLink {
    id: String,
    title: String,
    agency: String,
}

#[derive(Serialize)]
struct Reuse {
    case: CaseLink,
    candidate: CaseLink,
    score: f64,
}

#[derive(Serialize)]
struct PortfolioPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    /// The radar's markers, least severe first (drawn under the others), spread apart where
    /// cases share a position.
    markers: Vec<PointView>,
    /// The table's rows, in the order asked for.
    points: Vec<PointView>,
    /// How many cases are shown, as the page's language writes numbers.
    count: String,
    #[serde(flatten)]
    chart: Chart,
    #[serde(flatten)]
    filters: FilterOptions,
    columns: Vec<SortLink>,
    csv_href: String,
    #[serde(flatten)]
    similar: SimilarViews,
    /// Cases shown as cleared automatically that their audit trail does not vouch for.
    unverified: Vec<Link>,
}

/// A case to look at, by its title.
#[derive(Serialize)]
struct Link {
    href: String,
    title: String,
}

/// The radar's frame: size, plot area, thresholds, ticks, quadrant names and the legend.
#[derive(Serialize)]
struct Chart {
    width: f64,
    height: f64,
    plot_left: f64,
    plot_right: f64,
    plot_top: f64,
    plot_bottom: f64,
    x_threshold: f64,
    y_threshold: f64,
    ticks_x: Vec<Tick>,
    ticks_y: Vec<Tick>,
    quadrants: Vec<QuadrantLabel>,
    legend: Vec<Legend>,
}

/// The choices of the filter form, the current ones selected.
#[derive(Serialize)]
struct FilterOptions {
    agencies: Vec<Option_>,
    functions: Vec<Option_>,
    tiers: Vec<Option_>,
    statuses: Vec<Option_>,
}

/// Likely duplicates across agencies and reuse candidates.
#[derive(Serialize)]
struct SimilarViews {
    clusters: Vec<Vec<CaseLink>>,
    reuse: Vec<Reuse>,
}

fn sort_points(points: &mut [Point], sort: &str, desc: bool) {
    points.sort_by(|a, b| {
        let o = match sort {
            "title" => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
            "agency" => a.agency.cmp(&b.agency),
            "value" => a.business_value.cmp(&b.business_value),
            "feasibility" => a.feasibility.cmp(&b.feasibility),
            "readiness" => a.readiness.cmp(&b.readiness),
            "tier" => Tier::parse(&a.tier).cmp(&Tier::parse(&b.tier)),
            _ => a.priority.cmp(&b.priority),
        };
        if desc {
            o.reverse()
        } else {
            o
        }
    });
}

fn similar_views(index: &crate::domain::similar::Index) -> SimilarViews {
    let link = |i: usize| {
        let d = index.doc(i);
        CaseLink {
            id: d.id.clone(),
            title: d.title.clone(),
            agency: d.agency.clone(),
        }
    };
    SimilarViews {
        clusters: index
            .clusters(crate::http::api::portfolio::DUPLICATE)
            .into_iter()
            .take(20)
            .map(|g| g.into_iter().map(link).collect())
            .collect(),
        reuse: index
            .reuse_candidates(crate::http::api::portfolio::REUSE)
            .into_iter()
            .take(20)
            .map(|(i, m)| Reuse {
                case: link(i),
                candidate: CaseLink {
                    id: m.id,
                    title: m.title,
                    agency: m.agency,
                },
                score: m.score,
            })
            .collect(),
    }
}

/// Where each case's marker goes when several share a position: the first stays, the others
/// spiral out from it (sunflower seeds: even spacing, no two on top of each other), so every
/// case can be seen and clicked. Keyed by case id: the offset in pixels.
fn spread(points: &[Point]) -> HashMap<String, (f64, f64)> {
    const GOLDEN_ANGLE: f64 = 2.399_963_229_728_653;
    let mut seen: HashMap<(i32, i32), usize> = HashMap::new();
    points
        .iter()
        .map(|p| {
            let k = seen.entry((p.feasibility, p.business_value)).or_default();
            let n = *k as f64;
            *k += 1;
            let (rho, theta) = (11.0 * n.sqrt(), n * GOLDEN_ANGLE);
            (p.id.clone(), (rho * theta.cos(), rho * theta.sin()))
        })
        .collect()
}

/// Tiers from least to most severe: markers are drawn in this order, so a prohibited or
/// critical case is never hidden under a low one.
fn severity(tier: &str) -> usize {
    ["low", "medium", "high", "critical", "prohibited"]
        .iter()
        .position(|t| *t == tier)
        .unwrap_or(0)
}

fn point_view(p: &Point, sc: &Scoring, t: Tr, tx: Localizer, (dx, dy): (f64, f64)) -> PointView {
    let r = 5.0 + 9.0 * p.readiness as f64 / 100.0;
    let tier_label = t(format!("tier_{}", p.tier));
    PointView {
        path: marker(&p.tier, x(p.feasibility) + dx, y(p.business_value) + dy, r),
        label: format!(
            "{} ({}): {} {}, {} {}, {} {}, {}",
            p.title,
            p.agency,
            t("business_value".into()),
            p.business_value,
            t("feasibility".into()),
            p.feasibility,
            t("readiness".into()),
            p.readiness,
            tier_label
        ),
        id: p.id.clone(),
        title: p.title.clone(),
        agency: p.agency.clone(),
        business_function: p.business_function.clone(),
        business_value: p.business_value,
        feasibility: p.feasibility,
        readiness: p.readiness,
        priority: p.priority,
        quadrant: sc
            .quadrants
            .iter()
            .find(|qd| qd.id == p.quadrant)
            .map_or(p.quadrant.clone(), |qd| tx.quadrant(&qd.id, &qd.label)),
        tier: p.tier.clone(),
        tier_label,
        status_label: t(format!("status_{}", p.status)),
    }
}

fn chart(sc: &Scoring, t: Tr, tx: Localizer) -> Chart {
    let quadrant_label = |hv: bool, hf: bool| {
        sc.quadrants
            .iter()
            .find(|q| q.high_value == hv && q.high_feasibility == hf)
            .map_or(String::new(), |q| tx.quadrant(&q.id, &q.label))
    };
    let ticks = |at: fn(i32) -> f64| {
        (0..=4)
            .map(|i| Tick {
                pos: at(i * 25),
                label: (i * 25).to_string(),
            })
            .collect()
    };
    let split = x(sc.feasibility_threshold as i32) - 6.0;
    let quadrant = |x: f64, y: f64, hv: bool, hf: bool| {
        let label = quadrant_label(hv, hf);
        let (name, detail) = match label.split_once(':') {
            Some((n, d)) => (format!("{n}:"), d.trim().to_string()),
            None => (label, String::new()),
        };
        // A label at the top reads downwards; one at the bottom ends on the plot's edge.
        let (y, y2) = match (hv, detail.is_empty()) {
            (true, _) | (false, true) => (y, y + 16.0),
            (false, false) => (y - 16.0, y),
        };
        QuadrantLabel {
            x,
            y,
            y2,
            name,
            detail,
        }
    };
    Chart {
        width: W,
        height: H,
        plot_left: PAD,
        plot_right: W - PAD,
        plot_top: PAD,
        plot_bottom: H - PAD,
        x_threshold: x(sc.feasibility_threshold as i32),
        y_threshold: y(sc.value_threshold as i32),
        ticks_x: ticks(x),
        ticks_y: ticks(y),
        quadrants: vec![
            quadrant(W - PAD - 6.0, PAD + 16.0, true, true),
            quadrant(split, PAD + 16.0, true, false),
            quadrant(W - PAD - 6.0, H - PAD - 8.0, false, true),
            quadrant(split, H - PAD - 8.0, false, false),
        ],
        legend: ["low", "medium", "high", "critical", "prohibited"]
            .iter()
            .map(|tier| Legend {
                tier: tier.to_string(),
                label: t(format!("tier_{tier}")),
                path: marker(tier, 10.0, 10.0, 7.0),
            })
            .collect(),
    }
}

fn filter_options(everything: &[Point], q: &Filters, t: Tr) -> FilterOptions {
    let distinct = |f: fn(&Point) -> &String, current: &Option<String>| {
        let mut v: Vec<String> = everything
            .iter()
            .map(|p| f(p).clone())
            .filter(|s| !s.is_empty())
            .collect();
        v.sort();
        v.dedup();
        v.into_iter()
            .map(|s| Option_ {
                selected: current.as_deref() == Some(s.as_str()),
                label: s.clone(),
                value: s,
            })
            .collect::<Vec<_>>()
    };
    FilterOptions {
        agencies: distinct(|p| &p.agency, &q.agency),
        functions: distinct(|p| &p.business_function, &q.business_function),
        tiers: Tier::ALL
            .iter()
            .map(|tier| Option_ {
                value: tier.to_string(),
                label: t(format!("tier_{tier}")),
                selected: q.tier.as_deref() == Some(tier.as_str()),
            })
            .collect(),
        statuses: Status::ALL
            .iter()
            .filter(|s| **s != Status::Draft)
            .map(|s| Option_ {
                value: s.to_string(),
                label: t(format!("status_{s}")),
                selected: q.status.as_deref() == Some(s.as_str()),
            })
            .collect(),
    }
}

/// The table's column headers, each a link that sorts by it (toggling the direction).
fn columns(base_query: &str, sort: &str, desc: bool, t: Tr) -> Vec<SortLink> {
    let column = |key: &'static str, label: String| {
        let next_desc = !(sort == key && desc);
        let sep = if base_query.is_empty() { "" } else { "&" };
        SortLink {
            label,
            href: format!(
                "/portfolio?{base_query}{sep}sort={key}&dir={}",
                if next_desc { "desc" } else { "asc" }
            ),
            sort: match (sort == key, desc) {
                (true, true) => "descending",
                (true, false) => "ascending",
                (false, _) => "none",
            },
        }
    };
    [
        ("title", "col_title"),
        ("agency", "col_agency"),
        ("value", "business_value"),
        ("feasibility", "feasibility"),
        ("readiness", "readiness"),
        ("priority", "priority"),
        ("tier", "col_tier"),
    ]
    .into_iter()
    .map(|(key, label)| column(key, t(label.into())))
    .collect()
}

/// `GET /portfolio`
pub async fn page(
    state: Data<AppState>,
    viewer: Viewer,
    q: Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let scope = viewer.user.read_scope();
    let filter = q.radar();
    let all_scope = scope.clone();
    let (mut points, everything, unverified) = state
        .db(move |c| {
            Ok((
                portfolio::radar(c, &scope, &filter)?,
                portfolio::radar(c, &all_scope, &RadarFilter::default())?,
                crate::db::integrity::unvouched_auto_clear(c, &all_scope)?,
            ))
        })
        .await?;
    let unverified: Vec<Link> = everything
        .iter()
        .filter(|p| unverified.binary_search(&p.id).is_ok())
        .map(|p| Link {
            href: format!("/use-cases/{}", p.id),
            title: p.title.clone(),
        })
        .collect();
    let index = state.similar_index(viewer.user.read_scope()).await?;
    let sort = q.sort.clone().unwrap_or_else(|| "priority".into());
    let desc = q.dir.as_deref() != Some("asc");
    sort_points(&mut points, &sort, desc);
    let (lang, pages, rules) = (viewer.lang, &state.pages, state.rules());
    let t = |k: String| pages.t(lang, &k);
    let tx = Localizer::of(&rules, lang);
    let base_query = q.query();
    let page = PortfolioPage {
        base: Base::new(pages, lang, t("nav_portfolio".into()), Some(&viewer)),
        count: pages
            .formats(lang)
            .integer(i64::try_from(points.len()).unwrap_or(i64::MAX)),
        markers: {
            let mut by_severity: Vec<&Point> = points.iter().collect();
            by_severity.sort_by_key(|p| severity(&p.tier));
            let offsets = spread(&points);
            by_severity
                .into_iter()
                .map(|p| {
                    let at = offsets.get(&p.id).copied().unwrap_or_default();
                    point_view(p, &rules.scoring, &t, tx, at)
                })
                .collect()
        },
        points: points
            .iter()
            .map(|p| point_view(p, &rules.scoring, &t, tx, (0.0, 0.0)))
            .collect(),
        chart: chart(&rules.scoring, &t, tx),
        filters: filter_options(&everything, &q, &t),
        columns: columns(&base_query, &sort, desc, &t),
        csv_href: format!("/portfolio.csv?{base_query}"),
        similar: similar_views(&index),
        unverified,
    };
    pages.render("portfolio", &page, StatusCode::OK)
}

/// The radar's cases as CSV rows.
pub fn csv_of(points: &[Point]) -> Result<String, csv::Error> {
    let mut w = crate::csv_safe::Writer::new(Vec::new());
    w.row([
        "id",
        "agency",
        "title",
        "business_function",
        "status",
        "tier",
        "route",
        "business_value",
        "feasibility",
        "readiness",
        "priority",
        "quadrant",
        "submitted_at",
    ])?;
    for p in points {
        w.row([
            p.id.clone(),
            p.agency.clone(),
            p.title.clone(),
            p.business_function.clone(),
            p.status.clone(),
            p.tier.clone(),
            p.route.clone(),
            p.business_value.to_string(),
            p.feasibility.to_string(),
            p.readiness.to_string(),
            p.priority.to_string(),
            p.quadrant.clone(),
            p.submitted_at
                .map(|t| t.and_utc().to_rfc3339())
                .unwrap_or_default(),
        ])?;
    }
    Ok(String::from_utf8_lossy(&w.finish()?).into_owned())
}

/// `GET /portfolio.csv` (the same filters as the page).
pub async fn csv(
    state: Data<AppState>,
    viewer: Viewer,
    q: Query<Filters>,
) -> Result<HttpResponse, PageError> {
    let scope = viewer.user.read_scope();
    let filter = q.radar();
    let points = state
        .db(move |c| portfolio::radar(c, &scope, &filter))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"aitriage-portfolio.csv\"",
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(csv_of(&points).map_err(|e| AppError::internal("writing the CSV", e))?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell as the page's CSV writes it.
    fn cell(s: &str) -> String {
        let mut w = crate::csv_safe::Writer::new(Vec::new());
        w.row([s]).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        text.trim_end_matches('\n').to_string()
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a, b"), "\"a, b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
    }

    #[test]
    fn every_tier_has_a_distinct_marker_shape() {
        let shapes: Vec<String> = ["low", "medium", "high", "critical", "prohibited"]
            .iter()
            .map(|t| marker(t, 0.0, 0.0, 5.0))
            .collect();
        for (i, a) in shapes.iter().enumerate() {
            for b in &shapes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
