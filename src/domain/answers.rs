//! Answers to the questionnaire: parsed from JSON against the questions' kinds, options and
//! ranges, and narrowed to the questions that are visible, which alone count.

use std::collections::BTreeMap;

use cel::Value;

use super::message::Says;
use super::FieldError;
use crate::rules::condition::{answers_value, Facts, LazyCel};
use crate::rules::declared::Declared;
use crate::rules::model::{Kind, Question, Questionnaire};
use crate::vocab::agents::Declarations;

pub use crate::vocab::Answer;

/// Answers keyed by question id, in a stable order.
pub type Answers = BTreeMap<String, Answer>;

impl Answer {
    pub fn to_cel(&self) -> Value {
        match self {
            Answer::Bool(b) => Value::Bool(*b),
            Answer::Int(i) => Value::Int(*i),
            Answer::Number(n) => Value::Float(*n),
            Answer::Text(s) => Value::from(s.as_str()),
            Answer::Choices(v) => Value::from(
                v.iter()
                    .map(|s| Value::from(s.as_str()))
                    .collect::<Vec<_>>(),
            ),
        }
    }
}

fn field(id: &str) -> String {
    format!("answers.{id}")
}

/// Parses a JSON object of answers. Every problem is reported, each under `answers.<id>`.
/// `null` means "no answer" and is dropped.
pub fn parse(
    q: &Questionnaire,
    json: &serde_json::Map<String, serde_json::Value>,
) -> Result<Answers, Vec<FieldError>> {
    let mut out = Answers::new();
    let mut errors = Vec::new();
    for (id, v) in json {
        let Some(question) = q.get(id) else {
            errors.push(FieldError::says(field(id), Says::UnknownQuestion));
            continue;
        };
        if v.is_null() {
            continue;
        }
        match parse_one(question, v) {
            Ok(a) => {
                out.insert(id.clone(), a);
            }
            Err(Invalid(says)) => errors.push(FieldError::says(field(id), says)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Why one answer does not fit its question.
#[derive(Debug, PartialEq)]
struct Invalid(Says);

impl From<Says> for Invalid {
    fn from(m: Says) -> Self {
        Invalid(m)
    }
}

fn parse_one(q: &crate::rules::model::Question, v: &serde_json::Value) -> Result<Answer, Invalid> {
    use serde_json::Value as J;
    let options = || {
        q.options
            .iter()
            .map(|o| o.value.clone())
            .collect::<Vec<_>>()
    };
    match (q.kind, v) {
        (Kind::Bool, J::Bool(b)) => Ok(Answer::Bool(*b)),
        (Kind::Bool, _) => Err(Says::TrueOrFalse.into()),
        (Kind::Text, J::String(s)) => {
            if s.chars().count() > q.max_length {
                Err(Says::TooLong { max: q.max_length }.into())
            } else {
                Ok(Answer::Text(s.trim().to_string()))
            }
        }
        (Kind::Text, _) => Err(Says::AString.into()),
        (Kind::Single, J::String(s)) => match q.option(s) {
            Some(_) => Ok(Answer::Text(s.clone())),
            None => Err(Says::NotOneOf {
                value: s.clone(),
                options: options(),
            }
            .into()),
        },
        (Kind::Single, _) => Err(Says::OneOf { options: options() }.into()),
        (Kind::Multi, J::Array(items)) => {
            let mut chosen: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let Some(s) = item.as_str() else {
                    return Err(Says::Strings.into());
                };
                if q.option(s).is_none() {
                    return Err(Says::NotOneOf {
                        value: s.to_string(),
                        options: options(),
                    }
                    .into());
                }
                if chosen.iter().any(|c| c == s) {
                    return Err(Says::GivenTwice {
                        value: s.to_string(),
                    }
                    .into());
                }
                chosen.push(s.to_string());
            }
            if chosen.len() > 1 && chosen.iter().any(|c| c == "none") {
                return Err(Says::NoneAlone.into());
            }
            // Store in questionnaire order so equal selections compare and hash equal.
            chosen.sort_by_key(|c| q.options.iter().position(|o| &o.value == c));
            Ok(Answer::Choices(chosen))
        }
        (Kind::Multi, _) => Err(Says::Strings.into()),
        (Kind::Scale, J::Number(n)) => {
            let Some(i) = n.as_i64() else {
                return Err(Says::WholeNumber.into());
            };
            in_range(q, i as f64)?;
            Ok(Answer::Int(i))
        }
        (Kind::Scale, _) => Err(Says::WholeNumber.into()),
        (Kind::Number, J::Number(n)) => {
            let f = n
                .as_f64()
                .filter(|f| f.is_finite())
                .ok_or(Invalid(Says::FiniteNumber))?;
            in_range(q, f)?;
            Ok(Answer::Number(f))
        }
        (Kind::Number, _) => Err(Says::ANumber.into()),
    }
}

fn in_range(q: &crate::rules::model::Question, v: f64) -> Result<(), Invalid> {
    match (q.min, q.max) {
        (Some(min), Some(max)) if v < min || v > max => Err(Invalid(Says::FromTo { min, max })),
        (Some(min), None) if v < min => Err(Invalid(Says::AtLeast { min })),
        (None, Some(max)) if v > max => Err(Invalid(Says::AtMost { max })),
        _ => Ok(()),
    }
}

/// The answers that count: those to visible questions, by question index, and which
/// questions are visible. Conditions read it directly; the CEL map is built only if a
/// condition without a native form needs it.
pub struct Effective<'a> {
    pub visible: Vec<bool>,
    values: Vec<Option<&'a Answer>>,
    q: &'a Questionnaire,
    cel: LazyCel,
    /// Per question, the options the case's text suggests and its answers do not declare.
    hinted: Vec<Vec<String>>,
    cel_hints: LazyCel,
    declared: Option<Declared>,
}

impl<'a> Effective<'a> {
    /// The case's agent declarations, as conditions read them.
    pub fn with_declarations(mut self, d: &Declarations) -> Self {
        if !d.is_empty() {
            self.declared = Some(Declared::of(d));
        }
        self
    }

    /// The answer that counts for the question at `slot`.
    pub fn value_at(&self, slot: usize) -> Option<&'a Answer> {
        self.values.get(slot).copied().flatten()
    }

    /// Records that the text suggests `option` for the question at `slot`, undeclared.
    pub fn add_hint(&mut self, slot: usize, option: &str) {
        if let Some(h) = self.hinted.get_mut(slot) {
            if !h.iter().any(|o| o == option) {
                h.push(option.to_string());
            }
        }
    }
}

/// The hints as CEL sees them: every choice question, with its (maybe empty) list.
fn cel_hints_of(q: &Questionnaire, hinted: &[Vec<String>]) -> Value {
    answers_value(
        q.questions
            .iter()
            .zip(hinted)
            .filter(|(question, _)| question.kind.has_options())
            .map(|(question, h)| {
                let list: Vec<Value> = h.iter().map(|o| Value::from(o.as_str())).collect();
                (question.id.clone(), Value::from(list))
            }),
    )
}

fn cel_of(q: &Questionnaire, values: &[Option<&Answer>]) -> Value {
    answers_value(
        q.questions
            .iter()
            .zip(values)
            .filter_map(|(question, v)| v.map(|a| (question.id.clone(), a.to_cel()))),
    )
}

impl Facts for Effective<'_> {
    fn value(&self, slot: usize) -> Option<&Answer> {
        self.values.get(slot).copied().flatten()
    }

    fn cel(&self) -> &Value {
        self.cel.get_or_build(|| cel_of(self.q, &self.values))
    }

    fn hinted(&self, slot: usize) -> &[String] {
        self.hinted.get(slot).map_or(&[], Vec::as_slice)
    }

    fn cel_hints(&self) -> &Value {
        self.cel_hints
            .get_or_build(|| cel_hints_of(self.q, &self.hinted))
    }

    fn declared(&self) -> &Declared {
        self.declared.as_ref().unwrap_or_else(|| Declared::none())
    }
}

/// The answers while visibility is being worked out (no caching: they still change).
struct Partial<'a, 'b> {
    values: &'b [Option<&'a Answer>],
    q: &'a Questionnaire,
    cel: LazyCel,
    cel_hints: LazyCel,
}

impl Facts for Partial<'_, '_> {
    fn value(&self, slot: usize) -> Option<&Answer> {
        self.values.get(slot).copied().flatten()
    }

    fn cel(&self) -> &Value {
        self.cel.get_or_build(|| cel_of(self.q, self.values))
    }

    // Visibility is settled before the text is read: no hints yet.
    fn hinted(&self, _slot: usize) -> &[String] {
        &[]
    }

    fn cel_hints(&self) -> &Value {
        self.cel_hints
            .get_or_build(|| cel_hints_of(self.q, &vec![Vec::new(); self.q.questions.len()]))
    }
}

/// Works out which questions are visible. A `visible_when` reads only earlier questions, so one
/// pass in order settles every question; a hidden answer is dropped before later conditions
/// (and triage) see it.
pub fn effective<'a>(q: &'a Questionnaire, answers: &'a Answers) -> Effective<'a> {
    let mut values: Vec<Option<&Answer>> = q
        .questions
        .iter()
        .map(|question| answers.get(&question.id))
        .collect();
    let mut visible = vec![true; q.questions.len()];
    for (i, question) in q.questions.iter().enumerate() {
        if let Some(c) = &question.visible_when {
            let facts = Partial {
                values: &values,
                q,
                cel: LazyCel::new(),
                cel_hints: LazyCel::new(),
            };
            // A condition that cannot be evaluated hides nothing: better to ask too much.
            if !c.eval(&facts).unwrap_or(true) {
                visible[i] = false;
                values[i] = None;
            }
        }
    }
    Effective {
        hinted: vec![Vec::new(); values.len()],
        visible,
        values,
        q,
        cel: LazyCel::new(),
        cel_hints: LazyCel::new(),
        declared: None,
    }
}

/// Checks that every visible required question is answered (for submission, not for drafts).
pub fn check_complete(
    q: &Questionnaire,
    answers: &Answers,
    eff: &Effective,
) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = q
        .questions
        .iter()
        .zip(&eff.visible)
        .filter(|(question, &shown)| {
            shown && question.required && !answered(answers.get(&question.id))
        })
        .map(|(question, _)| FieldError::says(field(&question.id), Says::Required))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Whether an answer says something (an empty text or an empty choice says nothing).
fn answered(answer: Option<&Answer>) -> bool {
    match answer {
        None => false,
        Some(Answer::Text(s)) => !s.is_empty(),
        Some(Answer::Choices(v)) => !v.is_empty(),
        Some(_) => true,
    }
}

/// How far a section of the form is filled in: its required questions that apply to this case,
/// and how many of them are answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub section: String,
    pub answered: usize,
    pub required: usize,
}

/// Each section's progress, in questionnaire order.
pub fn progress(q: &Questionnaire, answers: &Answers, eff: &Effective) -> Vec<Progress> {
    q.sections
        .iter()
        .map(|s| {
            let due: Vec<&Question> = s
                .questions
                .iter()
                .filter(|&&i| eff.visible[i] && q.questions[i].required)
                .map(|&i| &q.questions[i])
                .collect();
            Progress {
                section: s.id.clone(),
                answered: due
                    .iter()
                    .filter(|question| answered(answers.get(&question.id)))
                    .count(),
                required: due.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_answers_read_back_as_the_same_kinds() {
        let a: Answers =
            serde_json::from_str(r#"{"b":true,"i":3,"n":2.5,"t":"x","c":["a","b"]}"#).unwrap();
        assert_eq!(a["b"], Answer::Bool(true));
        assert_eq!(a["i"], Answer::Int(3));
        assert_eq!(a["n"], Answer::Number(2.5));
        assert_eq!(a["t"], Answer::Text("x".into()));
        assert_eq!(a["c"], Answer::Choices(vec!["a".into(), "b".into()]));
        assert_eq!(
            serde_json::from_str::<Answers>(&serde_json::to_string(&a).unwrap()).unwrap(),
            a
        );
        assert!(serde_json::from_str::<Answers>(r#"{"x":{"y":1}}"#).is_err());
    }
}
