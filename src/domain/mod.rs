//! Pure logic: answers, scoring, triage, access and the case vocabulary. No database, no HTTP.

pub mod access;
pub mod agents;
pub mod answers;
pub mod calibration;
pub mod case;
pub mod digest;
pub mod hints;
pub mod message;
pub mod policy;
pub mod scoring;
pub mod similar;
pub mod simulate;
pub mod triage;
pub mod workflow;

use serde::Serialize;

use crate::rules::RuleSet;
use crate::vocab::agents::Declarations;
use answers::Answers;
use hints::{CaseText, Hint};
use scoring::Scores;
use triage::Triage;

/// A problem with one input field, reported to clients as `{field, message}` (English); pages
/// say a message of [`message::MESSAGES`] in their own language, from `says`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(skip)]
    #[schema(ignore)]
    pub says: Option<message::Says>,
}

impl FieldError {
    /// A message that exists only in English (the API's own, or one already translated).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            says: None,
        }
    }

    /// A message pages translate; `message` is its English.
    pub fn says(field: impl Into<String>, says: message::Says) -> Self {
        FieldError {
            field: field.into(),
            message: says.english(),
            says: Some(says),
        }
    }
}

/// Scores, triage and text hints of one case under one rule pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub scores: Scores,
    pub triage: Triage,
    pub hints: Vec<Hint>,
}

/// Scores and triages a case's answers and text. With `complete`, every visible required
/// question must be answered (a submission); without, partial answers are assessed as they
/// stand (a preview).
pub fn assess(
    rules: &RuleSet,
    answers: &Answers,
    text: CaseText,
    complete: bool,
) -> Result<Assessment, Vec<FieldError>> {
    assess_declared(rules, answers, text, &Declarations::default(), complete)
}

/// [`assess`] for a case that declares agents, tools and delegations.
pub fn assess_declared(
    rules: &RuleSet,
    answers: &Answers,
    text: CaseText,
    declared: &Declarations,
    complete: bool,
) -> Result<Assessment, Vec<FieldError>> {
    let (assessment, missing) = preview_declared(rules, answers, text, declared);
    if complete && !missing.is_empty() {
        Err(missing)
    } else {
        Ok(assessment)
    }
}

/// Scores and triages answers as they stand (a preview), and lists the visible required
/// questions still unanswered.
pub fn preview(
    rules: &RuleSet,
    answers: &Answers,
    text: CaseText,
) -> (Assessment, Vec<FieldError>) {
    preview_declared(rules, answers, text, &Declarations::default())
}

/// [`preview`] for a case that declares agents, tools and delegations.
pub fn preview_declared(
    rules: &RuleSet,
    answers: &Answers,
    text: CaseText,
    declared: &Declarations,
) -> (Assessment, Vec<FieldError>) {
    let mut eff = answers::effective(&rules.questionnaire, answers).with_declarations(declared);
    let missing = answers::check_complete(&rules.questionnaire, answers, &eff)
        .err()
        .unwrap_or_default();
    let hints = hints::extract(rules, text, &mut eff);
    let mut triage = triage::triage(rules, &eff);
    triage.hints.clone_from(&hints);
    let assessment = Assessment {
        scores: scoring::score(rules, answers, &eff),
        triage,
        hints,
    };
    (assessment, missing)
}

/// The text hints of a case as it stands (a draft's, or a triaged case's current text).
pub fn hints_of(rules: &RuleSet, answers: &Answers, text: CaseText) -> Vec<Hint> {
    let mut eff = answers::effective(&rules.questionnaire, answers);
    hints::extract(rules, text, &mut eff)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
