//! The portfolio: the prioritisation radar drawn on the server as SVG (feasibility across,
//! business value up, readiness as size, tier as colour and shape; crowded cells drawn as one
//! numbered group that opens onto its cases), filters, a sortable table of the same cases (the
//! chart's text alternative), and a CSV download.

use crate::rules::i18n::Localizer;

use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::locale::Formats;
use super::radar::{self, label_at, marker, Window, H, PAD, W};
use super::render::{form_urlencode, Base, PageError, Tr};
use super::session::Viewer;
use crate::db::portfolio::{self, Point, RadarFilter};
use crate::domain::case::{Status, Tier};
use crate::error::AppError;
use crate::http::AppState;
use crate::rules::model::Scoring;
use crate::vocab::{AgencyCode, CaseId};

#[derive(Deserialize, Default, Clone)]
pub struct Filters {
    agency: Option<String>,
    business_function: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    quadrant: Option<String>,
    /// The part of the radar shown (a group opened): score ranges, 0–100 each.
    value_min: Option<String>,
    value_max: Option<String>,
    feasibility_min: Option<String>,
    feasibility_max: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    /// The page of the table (from 1; the radar always shows every match).
    page: Option<String>,
}

/// Rows of the table on one page.
const TABLE_PAGE: usize = 100;

impl Filters {
    fn radar(&self) -> RadarFilter {
        let nonempty = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
        let w = self.window();
        RadarFilter {
            agency: nonempty(&self.agency).map(|a| AgencyCode::normalized(&a)),
            business_function: nonempty(&self.business_function),
            tier: nonempty(&self.tier).and_then(|t| Tier::parse(&t)),
            status: nonempty(&self.status).and_then(|s| Status::parse(&s)),
            quadrant: nonempty(&self.quadrant),
            window: (!w.is_full()).then_some((w.value, w.feasibility)),
        }
    }

    /// The window asked for; a bound that is missing or not a score leaves the full range.
    fn window(&self) -> Window {
        let score = |s: &Option<String>, default: i32| {
            s.as_deref()
                .and_then(|v| v.trim().parse::<i32>().ok())
                .map_or(default, |v| v.clamp(0, 100))
        };
        let range = |lo: &Option<String>, hi: &Option<String>| {
            let (a, b) = (score(lo, 0), score(hi, 100));
            (a.min(b), a.max(b))
        };
        Window {
            value: range(&self.value_min, &self.value_max),
            feasibility: range(&self.feasibility_min, &self.feasibility_max),
        }
    }

    /// The filters as a query string (without sorting), showing `window`.
    fn query_in(&self, window: Window) -> String {
        let mut pairs: Vec<(&str, String)> = [
            ("agency", &self.agency),
            ("business_function", &self.business_function),
            ("tier", &self.tier),
            ("status", &self.status),
            ("quadrant", &self.quadrant),
        ]
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| (*k, v.clone()))
        })
        .collect();
        if !window.is_full() {
            pairs.extend([
                ("value_min", window.value.0.to_string()),
                ("value_max", window.value.1.to_string()),
                ("feasibility_min", window.feasibility.0.to_string()),
                ("feasibility_max", window.feasibility.1.to_string()),
            ]);
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", form_urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The filters as a query string (without sorting), in the window shown.
    fn query(&self) -> String {
        self.query_in(self.window())
    }
}

/// Where the table is among the matching cases, and the links to its other pages.
#[derive(Serialize)]
struct Paging {
    /// "Rows 101–200 of 3,000".
    range: String,
    previous: Option<String>,
    next: Option<String>,
    /// Every page, numbered, when there are several (links but the current one).
    pages: Vec<PageLink>,
}

#[derive(Serialize)]
struct PageLink {
    label: String,
    href: String,
    current: bool,
}

/// The rows of the page asked for (the last one if it asks past the end) and the links to
/// the others, each keeping the filters, the window and the order.
fn paging(
    total: usize,
    q: &Filters,
    (sort, desc): (&str, bool),
    f: &Formats,
    t: Tr,
) -> (std::ops::Range<usize>, Option<Paging>) {
    let pages = total.div_ceil(TABLE_PAGE).max(1);
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let rows = (page - 1) * TABLE_PAGE..(page * TABLE_PAGE).min(total);
    if pages == 1 {
        return (rows, None);
    }
    let base = q.query();
    let sep = if base.is_empty() { "" } else { "&" };
    let dir = if desc { "desc" } else { "asc" };
    let href = |n: usize| format!("/portfolio?{base}{sep}sort={sort}&dir={dir}&page={n}#cases");
    let count = |n: usize| f.integer(i64::try_from(n).unwrap_or(i64::MAX));
    let range = t("table_range".into())
        .replace("{from}", &count(rows.start + 1))
        .replace("{to}", &count(rows.end))
        .replace("{total}", &count(total));
    let links = (1..=pages)
        .map(|n| PageLink {
            label: count(n),
            href: href(n),
            current: n == page,
        })
        .collect();
    let paging = Paging {
        range,
        previous: (page > 1).then(|| href(page - 1)),
        next: (page < pages).then(|| href(page + 1)),
        pages: links,
    };
    (rows, Some(paging))
}

/// A row of the table.
#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    agency: String,
    business_value: i32,
    feasibility: i32,
    readiness: i32,
    priority: i32,
    quadrant: String,
    tier: String,
    tier_label: String,
    status_label: String,
}

/// Where a marker's visible name is written (shown on hover and focus).
#[derive(Serialize)]
struct NameAt {
    x: f64,
    y: f64,
    anchor: &'static str,
}

/// One case on the radar: its marker, and the link over it with its name.
#[derive(Serialize)]
struct MarkerView {
    id: String,
    tier: String,
    path: String,
    /// The accessible name: title, agency, scores and tier.
    label: String,
    /// The name shown on hover and focus.
    name: String,
    name_at: NameAt,
}

/// Several cases in one crowded cell: a numbered circle linking to them.
#[derive(Serialize)]
struct GroupView {
    cx: f64,
    cy: f64,
    r: f64,
    count: usize,
    /// The most severe tier among its cases (the circle's ring).
    worst: String,
    href: String,
    label: String,
    name_at: NameAt,
}

/// The window shown when it is not the whole radar, and the way back.
#[derive(Serialize)]
struct Zoom {
    text: String,
    whole_href: String,
    /// The window as hidden fields, so the filter form keeps it.
    fields: Vec<(String, i32)>,
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
    /// Written the page's language's way.
    score: String,
}

#[derive(Serialize)]
struct PortfolioPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    /// The radar's single cases, least severe first (drawn under the others), spread apart
    /// where cases share a position.
    markers: Vec<MarkerView>,
    /// Crowded cells, each one numbered circle.
    groups: Vec<GroupView>,
    zoom: Option<Zoom>,
    /// The table's rows on this page, in the order asked for.
    points: Vec<Row>,
    paging: Option<Paging>,
    /// "2,950 use cases found": how many cases match, in a sentence of the page's language.
    found: String,
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
    /// The quadrants' boundaries, where they fall inside the window.
    x_threshold: Option<f64>,
    y_threshold: Option<f64>,
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
    quadrant_options: Vec<Option_>,
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

fn similar_views(
    index: &crate::domain::similar::Index,
    apart: &std::collections::HashSet<(CaseId, CaseId)>,
    f: &Formats,
) -> SimilarViews {
    let link = |i: usize| {
        let d = index.doc(i);
        CaseLink {
            id: d.id.to_string(),
            title: d.title.clone(),
            agency: d.agency.clone(),
        }
    };
    SimilarViews {
        clusters: index
            .clusters(crate::http::api::portfolio::DUPLICATE, apart)
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
                    id: m.id.into_string(),
                    title: m.title,
                    agency: m.agency,
                },
                score: f.number(m.score),
            })
            .collect(),
    }
}

fn row(p: &Point, sc: &Scoring, t: Tr, tx: Localizer) -> Row {
    Row {
        id: p.id.clone(),
        title: p.title.clone(),
        agency: p.agency.clone(),
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
        tier_label: t(format!("tier_{}", p.tier)),
        status_label: t(format!("status_{}", p.status)),
    }
}

fn name_at(cx: f64, cy: f64, r: f64) -> NameAt {
    let (x, y, anchor) = label_at(cx, cy, r);
    NameAt { x, y, anchor }
}

/// A title short enough to be written on the chart (the accessible name keeps it whole).
fn short(title: &str) -> String {
    const MAX: usize = 40;
    if title.chars().count() <= MAX {
        title.to_string()
    } else {
        let cut: String = title.chars().take(MAX - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

fn marker_view(m: &radar::Placed, t: Tr) -> MarkerView {
    let p = m.point;
    MarkerView {
        id: p.id.clone(),
        tier: p.tier.clone(),
        path: marker(&p.tier, m.cx, m.cy, m.r),
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
            t(format!("tier_{}", p.tier))
        ),
        name: format!("{} ({})", short(&p.title), p.agency),
        name_at: name_at(m.cx, m.cy, m.r),
    }
}

/// "30–39", or "30" for a range of one score.
fn span((lo, hi): radar::Range) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

/// The text that says which window is shown: "business value 30–39, feasibility 50–59".
fn window_text(w: Window, key: &str, t: Tr) -> String {
    in_window(t(key.into()), w)
}

/// `{value}` and `{feasibility}` in `text` replaced by the window's ranges.
fn in_window(text: String, w: Window) -> String {
    text.replace("{value}", &span(w.value))
        .replace("{feasibility}", &span(w.feasibility))
}

fn group_view(g: &radar::Group, q: &Filters, t: Tr, f: &Formats) -> GroupView {
    let worst = g
        .cases
        .iter()
        .map(|p| p.tier.as_str())
        .max_by_key(|tier| radar::severity(tier))
        .unwrap_or("low")
        .to_string();
    GroupView {
        cx: g.cx,
        cy: g.cy,
        r: g.r,
        count: g.cases.len(),
        href: format!("/portfolio?{}#cases", q.query_in(g.window)),
        label: in_window(
            f.counted(t, "radar_group", g.cases.len() as f64, 0),
            g.window,
        )
        .replace("{tier}", &t(format!("tier_{worst}"))),
        worst,
        name_at: name_at(g.cx, g.cy, g.r),
    }
}

fn chart(sc: &Scoring, w: Window, t: Tr, tx: Localizer) -> Chart {
    let quadrant_label = |hv: bool, hf: bool| {
        sc.quadrants
            .iter()
            .find(|q| q.high_value == hv && q.high_feasibility == hf)
            .map_or(String::new(), |q| tx.quadrant(&q.id, &q.label))
    };
    let ticks = |(lo, hi): radar::Range, at: &dyn Fn(i32) -> f64| {
        let mut v: Vec<i32> = (0..=4).map(|i| lo + (hi - lo) * i / 4).collect();
        v.dedup();
        v.into_iter()
            .map(|s| Tick {
                pos: at(s),
                label: s.to_string(),
            })
            .collect()
    };
    let inside = |s: f64, (lo, hi): radar::Range| s > f64::from(lo) && s < f64::from(hi);
    let split = w.x(sc.feasibility_threshold as i32) - 6.0;
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
        x_threshold: inside(sc.feasibility_threshold, w.feasibility)
            .then(|| w.x(sc.feasibility_threshold as i32)),
        y_threshold: inside(sc.value_threshold, w.value).then(|| w.y(sc.value_threshold as i32)),
        ticks_x: ticks(w.feasibility, &|s| w.x(s)),
        ticks_y: ticks(w.value, &|s| w.y(s)),
        // Quadrant names only fit, and only mean what they say, on the whole radar.
        quadrants: if w.is_full() {
            vec![
                quadrant(W - PAD - 6.0, PAD + 16.0, true, true),
                quadrant(split, PAD + 16.0, true, false),
                quadrant(W - PAD - 6.0, H - PAD - 8.0, false, true),
                quadrant(split, H - PAD - 8.0, false, false),
            ]
        } else {
            Vec::new()
        },
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

fn filter_options(
    everything: &[Point],
    q: &Filters,
    sc: &Scoring,
    t: Tr,
    tx: Localizer,
) -> FilterOptions {
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
        quadrant_options: sc
            .quadrants
            .iter()
            .map(|qd| Option_ {
                value: qd.id.clone(),
                label: tx.quadrant(&qd.id, &qd.label),
                selected: q.quadrant.as_deref() == Some(qd.id.as_str()),
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
    let apart = state.db(crate::db::duplicates::distinct).await?;
    let sort = q.sort.clone().unwrap_or_else(|| "priority".into());
    let desc = q.dir.as_deref() != Some("asc");
    sort_points(&mut points, &sort, desc);
    let (lang, pages, rules) = (viewer.lang, &state.pages, state.rules());
    let t = |k: String| pages.t(lang, &k);
    let tx = Localizer::of(&rules, lang);
    let base_query = q.query();
    let window = q.window();
    let (groups, placed) = radar::layout(&points, window);
    let (rows, paging) = paging(points.len(), &q, (&sort, desc), pages.formats(lang), &t);
    let page = PortfolioPage {
        base: Base::new(pages, lang, t("nav_portfolio".into()), Some(&viewer)),
        found: pages
            .formats(lang)
            .counted(&t, "cases_found", points.len() as f64, 0),
        markers: placed.iter().map(|m| marker_view(m, &t)).collect(),
        groups: groups
            .iter()
            .map(|g| group_view(g, &q, &t, pages.formats(lang)))
            .collect(),
        zoom: (!window.is_full()).then(|| Zoom {
            text: window_text(window, "radar_zoomed", &t),
            whole_href: format!("/portfolio?{}", q.query_in(Window::FULL)),
            fields: vec![
                ("value_min".into(), window.value.0),
                ("value_max".into(), window.value.1),
                ("feasibility_min".into(), window.feasibility.0),
                ("feasibility_max".into(), window.feasibility.1),
            ],
        }),
        points: points[rows]
            .iter()
            .map(|p| row(p, &rules.scoring, &t, tx))
            .collect(),
        paging,
        chart: chart(&rules.scoring, window, &t, tx),
        filters: filter_options(&everything, &q, &rules.scoring, &t, tx),
        columns: columns(&base_query, &sort, desc, &t),
        csv_href: format!("/portfolio.csv?{base_query}"),
        similar: similar_views(&index, &apart, pages.formats(lang)),
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
}
