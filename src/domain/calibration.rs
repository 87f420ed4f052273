//! Calibration of a rule pack against past determinations: how often triage sends to a person
//! (human approval, or blocked) the cases a risk office itself judged impacting, and how often
//! it sends those it did not.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::case::{Route, Tier};
use super::triage::Triage;

/// A past determination: impacting (should reach a person) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Positive,
    Negative,
}

/// One labelled case and what triage made of it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub row: usize,
    pub title: String,
    pub label: Label,
    pub tier: Tier,
    pub route: Route,
    pub risk_score: u8,
    pub raised: bool,
    pub fired: Vec<String>,
    /// The hinted facts, each with the words that suggested it.
    pub hints: Vec<(String, String)>,
}

impl Outcome {
    pub fn of(row: usize, title: &str, label: Label, t: &Triage) -> Outcome {
        Outcome {
            row,
            title: title.to_string(),
            label,
            tier: t.tier,
            route: t.route,
            risk_score: t.risk_score,
            raised: t.raised,
            fired: t.fired.iter().map(|f| f.rule.clone()).collect(),
            hints: t
                .hints
                .iter()
                .filter(|h| !h.declared)
                .map(|h| (h.fact.clone(), h.words.clone()))
                .collect(),
        }
    }

    /// Sent to a person: human approval, or blocked outright.
    pub fn flagged(&self) -> bool {
        matches!(self.route, Route::HumanApproval | Route::Blocked)
    }

    /// Whether it would be sent to a person if the high tier began at `high_at` (the medium
    /// threshold and the many-nodes raise unchanged).
    fn flagged_at(&self, high_at: u8, medium_at: u8) -> bool {
        self.tier == Tier::Prohibited
            || self.risk_score >= high_at
            || (self.raised && self.risk_score >= medium_at)
    }
}

/// Agreement figures over a set of outcomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub positives: usize,
    pub negatives: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub auto_cleared_negatives: usize,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Figures {
    pub fn of(outcomes: &[Outcome]) -> Figures {
        Self::count(outcomes, Outcome::flagged)
    }

    fn count(outcomes: &[Outcome], flagged: impl Fn(&Outcome) -> bool) -> Figures {
        let pos = outcomes.iter().filter(|o| o.label == Label::Positive);
        let neg = || outcomes.iter().filter(|o| o.label == Label::Negative);
        Figures {
            positives: pos.clone().count(),
            negatives: neg().count(),
            true_positives: pos.filter(|o| flagged(o)).count(),
            false_positives: neg().filter(|o| flagged(o)).count(),
            auto_cleared_negatives: neg().filter(|o| o.route == Route::AutoClear).count(),
        }
    }

    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.positives)
    }

    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.false_positives, self.negatives)
    }

    pub fn auto_clear_rate(&self) -> f64 {
        ratio(self.auto_cleared_negatives, self.negatives)
    }
}

/// The most frequent items, best first, as `item (count)`.
fn top<'a>(items: impl Iterator<Item = &'a str>, n: usize) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in items {
        *counts.entry(i).or_default() += 1;
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .take(n)
        .map(|(k, c)| format!("{k} ({c})"))
        .collect::<Vec<_>>()
        .join(", ")
}

const LABELS: [(&str, Label); 2] = [("positive", Label::Positive), ("negative", Label::Negative)];

/// The headline figures.
fn headline(out: &mut String, f: &Figures) {
    let _ = writeln!(
        out,
        "{} labelled case(s): {} positive, {} negative\n",
        f.positives + f.negatives,
        f.positives,
        f.negatives
    );
    let sent = f.true_positives + f.false_positives;
    let lines = [
        (
            "recall of human approval  ",
            f.recall(),
            format!(
                "{} of {} positives sent to a person",
                f.true_positives, f.positives
            ),
        ),
        (
            "precision                 ",
            f.precision(),
            format!("{} of {sent} sent are positive", f.true_positives),
        ),
        (
            "false-positive rate       ",
            f.false_positive_rate(),
            format!(
                "{} of {} negatives sent to a person",
                f.false_positives, f.negatives
            ),
        ),
        (
            "auto-clear rate, negatives",
            f.auto_clear_rate(),
            format!("{} of {}", f.auto_cleared_negatives, f.negatives),
        ),
    ];
    for (name, value, why) in lines {
        let _ = writeln!(out, "{name} {value:.3}  ({why})");
    }
}

/// Routes and tiers per label.
fn confusion(out: &mut String, outcomes: &[Outcome]) {
    let _ = writeln!(
        out,
        "\n{:<10} {:>11} {:>18} {:>15} {:>8}",
        "label", "auto_clear", "functional_review", "human_approval", "blocked"
    );
    let count = |label: Label, keep: &dyn Fn(&Outcome) -> bool| {
        outcomes
            .iter()
            .filter(|o| o.label == label && keep(o))
            .count()
    };
    for (name, label) in LABELS {
        let n = |r: Route| count(label, &|o| o.route == r);
        let _ = writeln!(
            out,
            "{name:<10} {:>11} {:>18} {:>15} {:>8}",
            n(Route::AutoClear),
            n(Route::FunctionalReview),
            n(Route::HumanApproval),
            n(Route::Blocked)
        );
    }
    let _ = writeln!(out, "\ntiers per label:");
    for (name, label) in LABELS {
        let tiers: Vec<String> = Tier::ALL
            .iter()
            .map(|t| format!("{t} {}", count(label, &|o| o.tier == *t)))
            .collect();
        let _ = writeln!(out, "  {name:<9} {}", tiers.join(", "));
    }
}

/// Recall and false-positive rate as the high threshold moves.
fn sweep(out: &mut String, outcomes: &[Outcome], medium_at: u8, high_at: u8) {
    let _ = writeln!(
        out,
        "\nas the high threshold moves (now {high_at}): threshold, recall, false-positive rate"
    );
    for t in [medium_at, 8, 9, 10, 12, 15, 16, 20] {
        let g = Figures::count(outcomes, |o| o.flagged_at(t, medium_at));
        let mark = if t == high_at { "  <- in force" } else { "" };
        let _ = writeln!(
            out,
            "  {t:>2}  {:.3}  {:.3}{mark}",
            g.recall(),
            g.false_positive_rate()
        );
    }
}

/// The rules and hints most often behind false positives and misses.
fn causes(out: &mut String, outcomes: &[Outcome]) {
    let errors = |label: Label, flagged: bool| -> Vec<&Outcome> {
        outcomes
            .iter()
            .filter(|o| o.label == label && o.flagged() == flagged)
            .collect()
    };
    for (name, set) in [
        ("false positives", errors(Label::Negative, true)),
        ("misses", errors(Label::Positive, false)),
    ] {
        let rules = top(
            set.iter().flat_map(|o| o.fired.iter().map(String::as_str)),
            8,
        );
        let hints = top(
            set.iter()
                .flat_map(|o| o.hints.iter().map(|(f, _)| f.as_str())),
            8,
        );
        let _ = writeln!(out, "\nrules fired most on {name}: {rules}");
        let _ = writeln!(out, "hints found most on {name}: {hints}");
    }
}

/// The report printed by `aitriage rules evaluate`.
pub fn report(outcomes: &[Outcome], medium_at: u8, high_at: u8) -> String {
    let mut out = String::new();
    headline(&mut out, &Figures::of(outcomes));
    confusion(&mut out, outcomes);
    sweep(&mut out, outcomes, medium_at, high_at);
    causes(&mut out, outcomes);
    out
}

/// The misses and false positives as CSV rows (with a header row first).
pub fn errors_csv(outcomes: &[Outcome]) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "row",
        "kind",
        "tier",
        "route",
        "risk_score",
        "title",
        "fired",
        "hints",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    for o in outcomes {
        let kind = match (o.label, o.flagged()) {
            (Label::Positive, false) => "miss",
            (Label::Negative, true) => "false_positive",
            _ => continue,
        };
        rows.push(vec![
            o.row.to_string(),
            kind.into(),
            o.tier.to_string(),
            o.route.to_string(),
            o.risk_score.to_string(),
            o.title.clone(),
            o.fired.join("; "),
            o.hints
                .iter()
                .map(|(f, w)| format!("{f}: {w}"))
                .collect::<Vec<_>>()
                .join("; "),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(label: Label, route: Route, score: u8) -> Outcome {
        Outcome {
            row: 1,
            title: "t".into(),
            label,
            tier: Tier::Medium,
            route,
            risk_score: score,
            raised: false,
            fired: vec!["r".into()],
            hints: vec![],
        }
    }

    #[test]
    fn figures_count_what_reaches_a_person_against_the_labels() {
        let set = [
            o(Label::Positive, Route::HumanApproval, 12),
            o(Label::Positive, Route::Blocked, 25),
            o(Label::Positive, Route::FunctionalReview, 9),
            o(Label::Negative, Route::HumanApproval, 12),
            o(Label::Negative, Route::AutoClear, 0),
            o(Label::Negative, Route::AutoClear, 0),
            o(Label::Negative, Route::FunctionalReview, 6),
        ];
        let f = Figures::of(&set);
        assert_eq!((f.positives, f.negatives), (3, 4));
        assert!((f.recall() - 2.0 / 3.0).abs() < 1e-9);
        assert!((f.precision() - 2.0 / 3.0).abs() < 1e-9);
        assert!((f.false_positive_rate() - 0.25).abs() < 1e-9);
        assert!((f.auto_clear_rate() - 0.5).abs() < 1e-9);
        let csv = errors_csv(&set);
        assert_eq!(csv.len(), 3, "a header, one miss, one false positive");
        let r = report(&set, 6, 12);
        assert!(r.contains("recall of human approval   0.667"), "{r}");
        // Lowering the high threshold to 9 would catch the functional-review positive.
        assert!(r.contains("   9  1.000"), "{r}");
    }

    #[test]
    fn no_labelled_cases_give_zero_not_a_division_by_zero() {
        let f = Figures::of(&[]);
        assert_eq!(f.recall(), 0.0);
        assert_eq!(f.false_positive_rate(), 0.0);
    }
}
