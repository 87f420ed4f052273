//! The compiled, typed form of a rule pack. Built once by the loader, read-only afterwards.

use std::collections::HashMap;

use serde::Serialize;

use super::condition::{Condition, QuestionLookup};
use super::lexicon::Lexicon;
use crate::vocab::{Route, Tier};

/// The three PRISM dimensions, in the order used by [`Dims`].
pub const DIMENSIONS: [&str; 3] = ["business_value", "feasibility", "readiness"];

/// A value per PRISM dimension: business value, technical feasibility, organisational readiness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Dims {
    pub business_value: f64,
    pub feasibility: f64,
    pub readiness: f64,
}

impl Dims {
    pub fn get(&self, i: usize) -> f64 {
        [self.business_value, self.feasibility, self.readiness][i]
    }

    pub fn from_fn(mut f: impl FnMut(usize) -> f64) -> Self {
        Dims {
            business_value: f(0),
            feasibility: f(1),
            readiness: f(2),
        }
    }

    pub fn add(&self, other: &Dims) -> Dims {
        Dims::from_fn(|i| self.get(i) + other.get(i))
    }

    pub fn scale(&self, k: f64) -> Dims {
        Dims::from_fn(|i| self.get(i) * k)
    }

    pub fn is_zero(&self) -> bool {
        (0..3).all(|i| self.get(i) == 0.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Single,
    Multi,
    Scale,
    Bool,
    Text,
    Number,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "single" => Kind::Single,
            "multi" => Kind::Multi,
            "scale" => Kind::Scale,
            "bool" => Kind::Bool,
            "text" => Kind::Text,
            "number" => Kind::Number,
            _ => return None,
        })
    }

    pub fn has_options(self) -> bool {
        matches!(self, Kind::Single | Kind::Multi)
    }

    pub fn has_range(self) -> bool {
        matches!(self, Kind::Scale | Kind::Number)
    }
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub contributes: Dims,
}

/// A band of a number question: contributes when the answer is at least `at_least`.
#[derive(Debug, Clone)]
pub struct Band {
    pub at_least: f64,
    pub contributes: Dims,
}

#[derive(Debug)]
pub struct Question {
    pub id: String,
    pub section: String,
    pub kind: Kind,
    pub prompt: String,
    pub help: String,
    pub required: bool,
    pub options: Vec<Choice>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Scale: points per step above `min`.
    pub per_step: Dims,
    /// Bool: points for yes and for no.
    pub if_true: Dims,
    pub if_false: Dims,
    /// Number: the highest band reached contributes.
    pub bands: Vec<Band>,
    pub max_length: usize,
    pub visible_when: Option<Condition>,
}

impl Question {
    pub fn option(&self, value: &str) -> Option<&Choice> {
        self.options.iter().find(|o| o.value == value)
    }
}

#[derive(Debug)]
pub struct Section {
    pub id: String,
    pub title: String,
    /// Indexes into [`Questionnaire::questions`], in order.
    pub questions: Vec<usize>,
}

#[derive(Debug, Default)]
pub struct Questionnaire {
    pub sections: Vec<Section>,
    /// Every question in questionnaire order (a `visible_when` only reads earlier questions).
    pub questions: Vec<Question>,
    pub index: HashMap<String, usize>,
}

impl Questionnaire {
    pub fn get(&self, id: &str) -> Option<&Question> {
        self.index.get(id).map(|&i| &self.questions[i])
    }
}

impl QuestionLookup for Questionnaire {
    fn options_of(&self, id: &str) -> Option<Option<Vec<&str>>> {
        self.get(id).map(|q| {
            q.kind
                .has_options()
                .then(|| q.options.iter().map(|o| o.value.as_str()).collect())
        })
    }

    fn slot(&self, id: &str) -> Option<(usize, Kind)> {
        self.index.get(id).map(|&i| (i, self.questions[i].kind))
    }
}

#[derive(Debug, Clone)]
pub struct Quadrant {
    pub id: String,
    pub label: String,
    pub high_value: bool,
    pub high_feasibility: bool,
}

#[derive(Debug)]
pub struct Scoring {
    /// Weights of the three dimensions in the priority (they sum to 1).
    pub priority_weights: Dims,
    pub value_threshold: f64,
    pub feasibility_threshold: f64,
    pub quadrants: Vec<Quadrant>,
}

#[derive(Debug)]
pub struct Node {
    pub id: String,
    pub title: String,
    pub parent: Option<String>,
    pub layer: String,
}

/// References to the external frameworks a rule comes from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Frameworks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eu_ai_act: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nist_ai_rmf: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iso_42001: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mit_ai_risk: Option<String>,
}

#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub node: String,
    pub title: String,
    pub when: Condition,
    pub severity: u8,
    pub likelihood: u8,
    pub review_group: String,
    pub rationale: String,
    pub frameworks: Frameworks,
    /// A prohibited practice: the case is blocked whatever else fires.
    pub prohibited: bool,
    /// Evaluated once per declared agent, tool or delegation; it fires when any does, and
    /// says which.
    pub each: Option<crate::vocab::agents::Each>,
    /// What the guardrail policy does with the elements it fires for.
    pub guardrail: Option<crate::vocab::agents::Guardrail>,
}

#[derive(Debug, Default)]
pub struct Taxonomy {
    pub nodes: Vec<Node>,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub route: Route,
    pub approvals: u32,
    pub senior_required: bool,
    /// Working days within which a review should be decided; past it the case is overdue.
    pub sla_working_days: Option<u32>,
}

#[derive(Debug)]
pub struct Routing {
    /// Lowest risk score (severity × likelihood of the worst fired rule) for medium, high, critical.
    pub medium_at: u8,
    pub high_at: u8,
    pub critical_at: u8,
    /// Raise the tier by one (from medium or high) when rules from this many distinct nodes fire.
    pub raise_at_nodes: usize,
    pub routes: HashMap<Tier, RouteSpec>,
}

impl Routing {
    pub fn route_for(&self, tier: Tier) -> &RouteSpec {
        // The loader refuses a pack without a route for every tier.
        &self.routes[&tier]
    }
}

/// A whole, validated rule pack.
#[derive(Debug)]
pub struct RuleSet {
    pub version: String,
    pub questionnaire: Questionnaire,
    pub scoring: Scoring,
    pub taxonomy: Taxonomy,
    pub routing: Routing,
    /// Phrases that suggest facts in a case's text (`rules/lexicon/*.toml`).
    pub lexicon: Lexicon,
    /// The pack's text in other languages (`rules/i18n/<lang>.toml`), by language code.
    pub translations: std::collections::HashMap<String, super::i18n::Texts>,
}
