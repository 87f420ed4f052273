//! PRISM-style scoring: business value, technical feasibility and organisational readiness,
//! each 0–100, a weighted priority, and a radar quadrant.
//!
//! Each visible question contributes points to the dimensions (per option, per step of a
//! scale, per band of a number, for yes or no). A dimension's score is where the case's points
//! fall between the least and the most the visible questions could have given, so a question
//! hidden by a condition neither helps nor hurts. An unanswered visible question counts as its
//! least (no evidence of value is not evidence of value).

use serde::{Deserialize, Serialize};

use super::answers::{Answer, Answers, Effective};
use crate::rules::model::{Dims, Kind, Question, RuleSet};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub question: String,
    pub business_value: f64,
    pub feasibility: f64,
    pub readiness: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub business_value: i32,
    pub feasibility: i32,
    pub readiness: i32,
    pub priority: i32,
    pub quadrant: String,
    pub quadrant_label: String,
    /// What each visible question gave each dimension.
    pub breakdown: Vec<Contribution>,
}

/// The least and most a question can give each dimension.
fn range(q: &Question) -> (Dims, Dims) {
    let candidates: Vec<Dims> = match q.kind {
        Kind::Single => q.options.iter().map(|o| o.contributes).collect(),
        Kind::Multi => {
            let lo = Dims::from_fn(|i| {
                q.options
                    .iter()
                    .map(|o| o.contributes.get(i).min(0.0))
                    .sum()
            });
            let hi = Dims::from_fn(|i| {
                q.options
                    .iter()
                    .map(|o| o.contributes.get(i).max(0.0))
                    .sum()
            });
            vec![lo, hi]
        }
        Kind::Scale => {
            let steps = q.max.unwrap_or(0.0) - q.min.unwrap_or(0.0);
            vec![Dims::default(), q.per_step.scale(steps)]
        }
        Kind::Bool => vec![q.if_true, q.if_false],
        Kind::Number => std::iter::once(Dims::default())
            .chain(q.bands.iter().map(|b| b.contributes))
            .collect(),
        Kind::Text => vec![Dims::default()],
    };
    let lo = Dims::from_fn(|i| {
        candidates
            .iter()
            .map(|d| d.get(i))
            .fold(f64::INFINITY, f64::min)
    });
    let hi = Dims::from_fn(|i| {
        candidates
            .iter()
            .map(|d| d.get(i))
            .fold(f64::NEG_INFINITY, f64::max)
    });
    (lo, hi)
}

fn contribution(q: &Question, a: &Answer) -> Dims {
    match (q.kind, a) {
        (Kind::Single, Answer::Text(v)) => q.option(v).map(|o| o.contributes).unwrap_or_default(),
        (Kind::Multi, Answer::Choices(vs)) => vs
            .iter()
            .filter_map(|v| q.option(v))
            .fold(Dims::default(), |acc, o| acc.add(&o.contributes)),
        (Kind::Scale, Answer::Int(i)) => q.per_step.scale(*i as f64 - q.min.unwrap_or(0.0)),
        (Kind::Bool, Answer::Bool(true)) => q.if_true,
        (Kind::Bool, Answer::Bool(false)) => q.if_false,
        (Kind::Number, a) => {
            let v = match a {
                Answer::Number(n) => *n,
                Answer::Int(i) => *i as f64,
                _ => return Dims::default(),
            };
            q.bands
                .iter()
                .rev()
                .find(|b| v >= b.at_least)
                .map(|b| b.contributes)
                .unwrap_or_default()
        }
        _ => Dims::default(),
    }
}

/// Scores a case's answers under a rule pack.
pub fn score(rules: &RuleSet, answers: &Answers, eff: &Effective) -> Scores {
    let mut raw = Dims::default();
    let mut lo = Dims::default();
    let mut hi = Dims::default();
    let mut breakdown = Vec::new();
    for (q, &shown) in rules.questionnaire.questions.iter().zip(&eff.visible) {
        if !shown {
            continue;
        }
        let (qlo, qhi) = range(q);
        if qlo.is_zero() && qhi.is_zero() {
            continue;
        }
        lo = lo.add(&qlo);
        hi = hi.add(&qhi);
        let got = answers.get(&q.id).map_or(qlo, |a| contribution(q, a));
        raw = raw.add(&got);
        breakdown.push(Contribution {
            question: q.id.clone(),
            business_value: got.business_value,
            feasibility: got.feasibility,
            readiness: got.readiness,
        });
    }
    let norm = Dims::from_fn(|i| {
        let span = hi.get(i) - lo.get(i);
        if span <= 0.0 {
            0.0
        } else {
            (100.0 * (raw.get(i) - lo.get(i)) / span).clamp(0.0, 100.0)
        }
    });
    let s = &rules.scoring;
    let priority = (0..3)
        .map(|i| s.priority_weights.get(i) * norm.get(i))
        .sum::<f64>();
    let high_value = norm.business_value >= s.value_threshold;
    let high_feasibility = norm.feasibility >= s.feasibility_threshold;
    // The loader guarantees one quadrant for each of the four combinations.
    let quadrant = s
        .quadrants
        .iter()
        .find(|q| q.high_value == high_value && q.high_feasibility == high_feasibility)
        .expect("the loader checks that the quadrants cover every combination");
    Scores {
        business_value: norm.business_value.round() as i32,
        feasibility: norm.feasibility.round() as i32,
        readiness: norm.readiness.round() as i32,
        priority: priority.round() as i32,
        quadrant: quadrant.id.clone(),
        quadrant_label: quadrant.label.clone(),
        breakdown,
    }
}
