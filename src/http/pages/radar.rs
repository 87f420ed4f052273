//! The radar's geometry, pure: which part of the score plane is shown (a window), where each
//! case's marker goes, and which cases are drawn as one numbered group because they crowd one
//! cell of the plot. Kept apart from the page so the layout can be tested without a database.

use std::collections::{BTreeMap, HashMap};

use crate::db::portfolio::Point;

/// The chart's size in SVG user units, and the margin around the plot (axes, labels).
pub const W: f64 = 640.0;
pub const H: f64 = 480.0;
pub const PAD: f64 = 56.0;

/// Each axis of the window is cut into this many cells; a cell holding more than
/// [`PER_CELL`] cases is drawn as one group, so the chart holds at most about
/// `CELLS² × PER_CELL` markers whatever the portfolio's size.
pub const CELLS: i32 = 10;
pub const PER_CELL: usize = 4;

/// An inclusive range of scores on one axis.
pub type Range = (i32, i32);

/// The part of the score plane shown: the whole 0–100 square, or a group's cell opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub value: Range,
    pub feasibility: Range,
}

impl Window {
    pub const FULL: Window = Window {
        value: (0, 100),
        feasibility: (0, 100),
    };

    pub fn is_full(&self) -> bool {
        *self == Window::FULL
    }

    pub fn x(&self, feasibility: i32) -> f64 {
        PAD + (W - 2.0 * PAD) * share(feasibility, self.feasibility)
    }

    pub fn y(&self, value: i32) -> f64 {
        H - PAD - (H - 2.0 * PAD) * share(value, self.value)
    }

    /// The cell (column, row) holding a score, and the width of a cell in score points on
    /// each axis.
    fn cell_of(&self, p: &Point) -> (i32, i32) {
        let (cf, cv) = (cell_width(self.feasibility), cell_width(self.value));
        (
            (p.feasibility - self.feasibility.0) / cf,
            (p.business_value - self.value.0) / cv,
        )
    }

    /// The window of one cell, to open a group in.
    fn cell(&self, (col, row): (i32, i32)) -> Window {
        let (cf, cv) = (cell_width(self.feasibility), cell_width(self.value));
        let part = |(lo, hi): Range, w: i32, i: i32| (lo + i * w, (lo + (i + 1) * w - 1).min(hi));
        Window {
            value: part(self.value, cv, row),
            feasibility: part(self.feasibility, cf, col),
        }
    }

    /// A window can be split further while one of its cells spans more than one score.
    fn divisible(&self) -> bool {
        cell_width(self.feasibility) > 1 || cell_width(self.value) > 1
    }
}

/// Where `s` sits in `range`, from 0 to 1 (the middle for a range of one score).
fn share(s: i32, (lo, hi): Range) -> f64 {
    if hi == lo {
        0.5
    } else {
        f64::from(s - lo) / f64::from(hi - lo)
    }
}

/// The width of a cell in score points: the range cut into [`CELLS`] (at least one point).
fn cell_width((lo, hi): Range) -> i32 {
    ((hi - lo + 1) + CELLS - 1) / CELLS
}

/// A marker's radius: 5 to 14 units by organisational readiness.
pub fn radius(readiness: i32) -> f64 {
    5.0 + 9.0 * f64::from(readiness) / 100.0
}

/// Cases drawn as one numbered circle, with the window that shows them apart.
#[derive(Debug)]
pub struct Group<'a> {
    pub cases: Vec<&'a Point>,
    pub window: Window,
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
}

/// A case drawn on its own, at its position plus the offset that keeps it off its neighbours.
#[derive(Debug)]
pub struct Placed<'a> {
    pub point: &'a Point,
    pub cx: f64,
    pub cy: f64,
    pub r: f64,
}

/// The radar's contents for `points` (all inside `window`): groups for crowded cells, and the
/// other cases placed one by one, least severe first (drawn under the others).
pub fn layout<'a>(points: &'a [Point], window: Window) -> (Vec<Group<'a>>, Vec<Placed<'a>>) {
    let mut cells: BTreeMap<(i32, i32), Vec<&Point>> = BTreeMap::new();
    for p in points {
        cells.entry(window.cell_of(p)).or_default().push(p);
    }
    let mut groups = Vec::new();
    let mut single: Vec<&Point> = Vec::new();
    for (cell, cases) in cells {
        if cases.len() > PER_CELL && window.divisible() {
            let n = cases.len() as f64;
            let cx = cases.iter().map(|p| window.x(p.feasibility)).sum::<f64>() / n;
            let cy = cases
                .iter()
                .map(|p| window.y(p.business_value))
                .sum::<f64>()
                / n;
            groups.push(Group {
                window: window.cell(cell),
                r: (8.0 + 2.5 * n.ln()).min(18.0),
                cases,
                cx,
                cy,
            });
        } else {
            single.extend(cases);
        }
    }
    single.sort_by(|a, b| {
        severity(&a.tier)
            .cmp(&severity(&b.tier))
            .then_with(|| a.id.cmp(&b.id))
    });
    let offsets = spread(&single);
    let placed = single
        .into_iter()
        .map(|p| {
            let (dx, dy) = offsets.get(p.id.as_str()).copied().unwrap_or_default();
            Placed {
                cx: window.x(p.feasibility) + dx,
                cy: window.y(p.business_value) + dy,
                r: radius(p.readiness),
                point: p,
            }
        })
        .collect();
    (groups, placed)
}

/// Where each case's marker goes when several share a position: the first stays, the others
/// spiral out from it (sunflower seeds: even spacing, no two on top of each other), so every
/// case can be seen and clicked. Keyed by case id: the offset in units.
fn spread<'a>(points: &[&'a Point]) -> HashMap<&'a str, (f64, f64)> {
    const GOLDEN_ANGLE: f64 = 2.399_963_229_728_653;
    let mut seen: HashMap<(i32, i32), usize> = HashMap::new();
    points
        .iter()
        .map(|p| {
            let k = seen.entry((p.feasibility, p.business_value)).or_default();
            let n = *k as f64;
            *k += 1;
            let (rho, theta) = (11.0 * n.sqrt(), n * GOLDEN_ANGLE);
            (p.id.as_str(), (rho * theta.cos(), rho * theta.sin()))
        })
        .collect()
}

/// Tiers from least to most severe: markers are drawn in this order, so a prohibited or
/// critical case is never hidden under a low one.
pub fn severity(tier: &str) -> usize {
    ["low", "medium", "high", "critical", "prohibited"]
        .iter()
        .position(|t| *t == tier)
        .unwrap_or(0)
}

/// Where a marker's name is written: above it, or below when too near the top, and anchored so
/// that it stays inside the chart. Returns (x, y, text-anchor).
pub fn label_at(cx: f64, cy: f64, r: f64) -> (f64, f64, &'static str) {
    let y = if cy - r - 6.0 < 14.0 {
        cy + r + 16.0
    } else {
        cy - r - 6.0
    };
    if cx < W / 3.0 {
        (cx - r, y, "start")
    } else if cx > 2.0 * W / 3.0 {
        (cx + r, y, "end")
    } else {
        (cx, y, "middle")
    }
}

/// A tier's marker as an SVG path centred on (cx, cy): shape as well as colour tells tiers apart.
pub fn marker(tier: &str, cx: f64, cy: f64, r: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: usize, value: i32, feasibility: i32, tier: &str) -> Point {
        Point {
            id: format!("{id:05}"),
            agency: "UNICEF".into(),
            title: format!("Case {id}"),
            business_function: String::new(),
            business_value: value,
            feasibility,
            readiness: 50,
            priority: 50,
            quadrant: String::new(),
            tier: tier.into(),
            route: String::new(),
            status: "approved".into(),
            submitted_at: None,
        }
    }

    /// Every case of `points` inside `w`, drawn alone or in a group.
    fn drawn(points: &[Point], w: Window) -> usize {
        let (groups, placed) = layout(points, w);
        groups.iter().map(|g| g.cases.len()).sum::<usize>() + placed.len()
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

    #[test]
    fn a_few_cases_are_drawn_one_by_one_most_severe_last() {
        let points = vec![
            point(1, 80, 80, "prohibited"),
            point(2, 80, 80, "low"),
            point(3, 20, 30, "medium"),
        ];
        let (groups, placed) = layout(&points, Window::FULL);
        assert!(groups.is_empty());
        let order: Vec<&str> = placed.iter().map(|p| p.point.tier.as_str()).collect();
        assert_eq!(order, ["low", "medium", "prohibited"]);
        let (a, b) = (&placed[0], &placed[2]);
        assert!(
            (a.cx - b.cx).abs() + (a.cy - b.cy).abs() > 5.0,
            "spread apart"
        );
    }

    #[test]
    fn a_crowded_cell_becomes_one_group_whose_window_holds_exactly_its_cases() {
        let mut points: Vec<Point> = (0..7).map(|i| point(i, 34 + i as i32, 52, "low")).collect();
        points.push(point(99, 90, 10, "high"));
        let (groups, placed) = layout(&points, Window::FULL);
        assert_eq!(groups.len(), 1);
        assert_eq!(placed.len(), 1);
        let g = &groups[0];
        assert_eq!(g.cases.len(), 7);
        assert_eq!(
            g.window,
            Window {
                value: (33, 43),
                feasibility: (44, 54)
            }
        );
        let inside = |p: &Point| {
            (g.window.value.0..=g.window.value.1).contains(&p.business_value)
                && (g.window.feasibility.0..=g.window.feasibility.1).contains(&p.feasibility)
        };
        assert_eq!(points.iter().filter(|p| inside(p)).count(), 7);
    }

    #[test]
    fn opening_groups_again_and_again_reaches_every_case_and_ends() {
        let points: Vec<Point> = (0..3000)
            .map(|i: i32| point(i as usize, (i * 37) % 101, (i * 61 + i / 7) % 101, "low"))
            .collect();
        let mut windows = vec![(Window::FULL, 0)];
        let mut seen = 0;
        while let Some((w, depth)) = windows.pop() {
            assert!(depth < 5, "opening groups ends");
            let inside: Vec<Point> = points
                .iter()
                .filter(|p| {
                    (w.value.0..=w.value.1).contains(&p.business_value)
                        && (w.feasibility.0..=w.feasibility.1).contains(&p.feasibility)
                })
                .cloned()
                .collect();
            assert_eq!(drawn(&inside, w), inside.len());
            let (groups, placed) = layout(&inside, w);
            if w.divisible() {
                assert!(groups.len() + placed.len() <= (CELLS * CELLS) as usize * PER_CELL);
            }
            seen += placed.len();
            windows.extend(groups.iter().map(|g| (g.window, depth + 1)));
        }
        assert_eq!(seen, points.len());
    }
}
