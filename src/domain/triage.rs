//! Triage: evaluate every rule of the taxonomy against a case's visible answers, derive the
//! risk tier, and route the case.
//!
//! The tier comes from the worst fired rule's risk score (severity × likelihood) against the
//! routing thresholds; when rules from `raise_at_nodes` or more distinct taxonomy nodes fire,
//! the tier is raised by one (never past critical). Any fired prohibited rule makes the case
//! `prohibited`, whatever else fired.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::answers::Effective;
use super::case::{Route, Tier};
use super::hints::Hint;
use crate::rules::condition::{EvalError, Facts};
use crate::rules::model::{Frameworks, Rule, RuleSet};
use crate::vocab::agents::{Each, Guardrail};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    pub rule: String,
    pub node: String,
    pub title: String,
    pub severity: u8,
    pub likelihood: u8,
    pub score: u8,
    pub review_group: String,
    pub rationale: String,
    #[serde(default)]
    pub prohibited: bool,
    pub frameworks: serde_json::Value,
    /// For a rule evaluated per declared element: the elements it fired for (`agent`,
    /// `agent/tool`, `agent->other`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    /// What the guardrail policy does with those elements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardrail: Option<Guardrail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub tier: Tier,
    pub route: Route,
    pub required_approvals: u32,
    pub senior_required: bool,
    pub review_groups: Vec<String>,
    pub rules_version: String,
    /// The worst fired rule's severity × likelihood (0 when nothing fired).
    pub risk_score: u8,
    /// Whether the tier was raised because rules fired across many nodes.
    pub raised: bool,
    pub fired: Vec<Fired>,
    /// Rules whose condition could not be evaluated (a defect in the rule pack, logged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// The text hints the rules saw (stored with the triage: what the engine read).
    #[serde(default)]
    pub hints: Vec<Hint>,
}

fn frameworks_json(f: &Frameworks) -> serde_json::Value {
    serde_json::to_value(f).unwrap_or_default()
}

/// Evaluates a rule once per declared element of its kind: it fires when any element meets
/// its condition, naming those that do. An element whose evaluation fails is reported, and
/// the others still count.
fn fired_for(r: &Rule, each: Each, eff: &Effective) -> (Result<bool, EvalError>, Vec<String>) {
    let declared = eff.declared();
    let mut subjects = Vec::new();
    let mut failed = None;
    for item in declared.items(each) {
        match r.when.eval_each(eff, &declared.bindings(each, item)) {
            Ok(true) => subjects.push(item.subject.clone()),
            Ok(false) => {}
            Err(e) => failed = Some(e),
        }
    }
    match failed {
        Some(e) if subjects.is_empty() => (Err(e), subjects),
        _ => (Ok(!subjects.is_empty()), subjects),
    }
}

pub fn triage(rules: &RuleSet, eff: &Effective) -> Triage {
    let mut fired = Vec::new();
    let mut errors = Vec::new();
    for r in &rules.taxonomy.rules {
        let (outcome, subjects) = match r.each {
            None => (r.when.eval(eff), Vec::new()),
            Some(each) => fired_for(r, each, eff),
        };
        match outcome {
            Ok(true) => fired.push(Fired {
                rule: r.id.clone(),
                node: r.node.clone(),
                title: r.title.clone(),
                severity: r.severity,
                likelihood: r.likelihood,
                score: r.severity * r.likelihood,
                review_group: r.review_group.clone(),
                rationale: r.rationale.clone(),
                prohibited: r.prohibited,
                frameworks: frameworks_json(&r.frameworks),
                subjects,
                guardrail: r.guardrail,
            }),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(rule = %r.id, error = %e, "rule condition could not be evaluated");
                errors.push(format!("{}: {e}", r.id));
            }
        }
    }
    let rt = &rules.routing;
    let risk_score = fired.iter().map(|f| f.score).max().unwrap_or(0);
    let nodes: BTreeSet<&str> = fired.iter().map(|f| f.node.as_str()).collect();
    let mut raised = false;
    let tier = if fired.iter().any(|f| f.prohibited) {
        Tier::Prohibited
    } else {
        let base = if risk_score >= rt.critical_at {
            Tier::Critical
        } else if risk_score >= rt.high_at {
            Tier::High
        } else if risk_score >= rt.medium_at {
            Tier::Medium
        } else {
            Tier::Low
        };
        if nodes.len() >= rt.raise_at_nodes && base < Tier::Critical {
            raised = true;
            base.raised()
        } else {
            base
        }
    };
    let spec = rt.route_for(tier);
    let review_groups: Vec<String> = fired
        .iter()
        .map(|f| f.review_group.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let required_approvals = match spec.route {
        Route::FunctionalReview => review_groups.len().max(1) as u32,
        Route::HumanApproval => spec.approvals,
        Route::AutoClear | Route::Blocked => 0,
    };
    fired.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.rule.cmp(&b.rule)));
    Triage {
        tier,
        route: spec.route,
        required_approvals,
        senior_required: spec.senior_required,
        review_groups,
        rules_version: rules.version.clone(),
        risk_score,
        raised,
        fired,
        errors,
        hints: Vec::new(),
    }
}
