//! HTML forms: answers read from form fields (`q_<question id>`), and the questionnaire as a
//! form to render, with what was typed and the errors next to their fields.

use crate::rules::i18n::Localizer;
use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::locale::{Formats, NumberError};
use super::render::Tr;
use crate::domain::answers::{self, Answer, Answers};
use crate::domain::message::Says;
use crate::domain::FieldError;
use crate::rules::model::{Kind, Question, Questionnaire};

/// A posted form.
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or("").trim().to_string()
    }
}

/// The answers in a form, as the JSON the API takes, plus fields that could not be read as
/// their kind (a number that is not one, in the page's language) and the raw text typed into
/// them.
pub fn answers_json(
    q: &Questionnaire,
    form: &Form,
    f: &Formats,
    t: Tr,
) -> (Map<String, Value>, Vec<FieldError>, HashMap<String, String>) {
    let mut out = Map::new();
    let mut errors = Vec::new();
    let mut raw = HashMap::new();
    for question in &q.questions {
        let name = format!("q_{}", question.id);
        let field = format!("answers.{}", question.id);
        match question.kind {
            Kind::Multi => {
                let picked = form.all(&name);
                if !picked.is_empty() {
                    out.insert(
                        question.id.clone(),
                        Value::from(picked.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                    );
                }
            }
            _ => {
                let Some(v) = form.get(&name).map(str::trim).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let parsed = match question.kind {
                    Kind::Scale => v
                        .parse::<i64>()
                        .map(Value::from)
                        .map_err(|_| FieldError::says(&field, Says::WholeNumber)),
                    Kind::Number => {
                        number(v, f, t).map_err(|Unreadable(m)| FieldError::new(&field, m))
                    }
                    Kind::Bool => match v {
                        "true" => Ok(Value::Bool(true)),
                        "false" => Ok(Value::Bool(false)),
                        _ => Err(FieldError::says(&field, Says::YesOrNo)),
                    },
                    _ => Ok(Value::from(v)),
                };
                match parsed {
                    Ok(val) => {
                        out.insert(question.id.clone(), val);
                    }
                    Err(e) => {
                        errors.push(e);
                        raw.insert(question.id.clone(), v.to_string());
                    }
                }
            }
        }
    }
    (out, errors, raw)
}

#[derive(Serialize)]
pub struct ChoiceView {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Serialize)]
pub struct QuestionView {
    pub id: String,
    pub prompt: String,
    pub help: String,
    pub required: bool,
    pub conditional: bool,
    pub is_choice: bool,
    pub is_multi: bool,
    pub is_text: bool,
    pub is_number: bool,
    pub choices: Vec<ChoiceView>,
    pub value: String,
    pub min: String,
    pub max: String,
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct SectionView {
    pub id: String,
    pub title: String,
    pub questions: Vec<QuestionView>,
    /// "3 of 5 required answered": the section's required questions that apply, answered.
    pub progress: String,
    pub complete: bool,
    /// The section after this one, for a link at its end (the form shows one section at a
    /// time on a phone).
    pub next: Option<SectionLink>,
}

#[derive(Serialize, Clone)]
pub struct SectionLink {
    pub id: String,
    /// "Next section: Business value".
    pub label: String,
}

/// A section's progress as the form and the live preview word it.
pub fn progress_text(p: &answers::Progress, template: &str) -> String {
    template
        .replace("{answered}", &p.answered.to_string())
        .replace("{required}", &p.required.to_string())
}

/// What each point of a scale means, as its help text says it: "0: not at all; 2: supports a
/// stated objective; 4: …" (the shipped pack words every scale's help this way, in every
/// language). Points the help does not name have no meaning shown.
fn scale_meanings(help: &str) -> HashMap<i64, String> {
    help.split(';')
        .filter_map(|part| {
            let (n, meaning) = part.split_once(':')?;
            let n = n.trim().parse::<i64>().ok()?;
            let meaning = meaning.trim().trim_end_matches('.').trim();
            (!meaning.is_empty()).then(|| (n, meaning.to_string()))
        })
        .collect()
}

/// Why a value typed into a form field could not be read as its question's kind, worded for
/// the person who typed it (shown beside the field).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
struct Unreadable(String);

/// A number typed in the page's language, or why it was not read, in that language: an
/// ambiguous one names both readings, each written so that it is no longer ambiguous.
fn number(typed: &str, f: &Formats, t: Tr) -> Result<Value, Unreadable> {
    let invalid = || Unreadable(t("number_invalid".into()));
    match f.read_number(typed) {
        Ok(n) => serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(invalid),
        Err(NumberError::NotANumber) => Err(invalid()),
        Err(NumberError::Ambiguous { whole }) => {
            let decimal = whole / 1000.0;
            let decimal = if decimal.fract() == 0.0 {
                f.number(decimal)
            } else {
                f.fixed(decimal, 4)
            };
            Err(Unreadable(
                t("number_ambiguous".into())
                    .replace("{typed}", typed)
                    .replace("{whole}", &f.number(whole))
                    .replace("{decimal}", &decimal),
            ))
        }
    }
}

/// The choices a choice question offers, those in `answer` checked.
fn choices(
    question: &Question,
    answer: Option<&Answer>,
    yes_no: (&str, &str),
    tx: Localizer,
) -> Vec<ChoiceView> {
    match question.kind {
        Kind::Single | Kind::Multi => question
            .options
            .iter()
            .map(|o| ChoiceView {
                value: o.value.clone(),
                label: tx.option(question, o),
                checked: match answer {
                    Some(Answer::Text(v)) => *v == o.value,
                    Some(Answer::Choices(vs)) => vs.contains(&o.value),
                    _ => false,
                },
            })
            .collect(),
        Kind::Scale => {
            let (lo, hi) = (
                question.min.unwrap_or(0.0) as i64,
                question.max.unwrap_or(5.0) as i64,
            );
            let meanings = scale_meanings(&tx.help(question));
            (lo..=hi)
                .map(|n| ChoiceView {
                    value: n.to_string(),
                    label: meanings
                        .get(&n)
                        .map_or_else(|| n.to_string(), |m| format!("{n} – {m}")),
                    checked: matches!(answer, Some(Answer::Int(a)) if *a == n),
                })
                .collect()
        }
        Kind::Bool => [("true", yes_no.0, true), ("false", yes_no.1, false)]
            .into_iter()
            .map(|(v, label, b)| ChoiceView {
                value: v.into(),
                label: label.into(),
                checked: matches!(answer, Some(Answer::Bool(a)) if *a == b),
            })
            .collect(),
        Kind::Text | Kind::Number => vec![],
    }
}

/// One question as a form field: what was typed (`raw`) wins over the stored answer.
fn question_view(
    question: &Question,
    answer: Option<&Answer>,
    raw: Option<&String>,
    error: Option<String>,
    yes_no: (&str, &str),
    tx: Localizer,
    f: &Formats,
) -> QuestionView {
    let value = raw.cloned().unwrap_or_else(|| match answer {
        Some(Answer::Text(t)) if question.kind == Kind::Text => t.clone(),
        Some(Answer::Number(n)) => f.editable(*n),
        Some(Answer::Int(n)) if question.kind == Kind::Number => f.integer(*n),
        _ => String::new(),
    });
    QuestionView {
        id: question.id.clone(),
        prompt: tx.prompt(question),
        help: tx.help(question),
        required: question.required,
        conditional: question.visible_when.is_some(),
        is_choice: matches!(question.kind, Kind::Single | Kind::Scale | Kind::Bool),
        is_multi: question.kind == Kind::Multi,
        is_text: question.kind == Kind::Text,
        is_number: question.kind == Kind::Number,
        choices: choices(question, answer, yes_no, tx),
        value,
        min: question.min.map(|m| m.to_string()).unwrap_or_default(),
        max: question.max.map(|m| m.to_string()).unwrap_or_default(),
        error,
    }
}

/// The words the form needs besides the pack's: yes, no, and the progress template.
pub struct FormWords<'a> {
    pub yes: &'a str,
    pub no: &'a str,
    pub progress: &'a str,
    /// "Next section: {title}".
    pub next: &'a str,
    /// A field's problem in the page's language.
    pub say: &'a dyn Fn(&FieldError) -> String,
}

/// The questionnaire as a form, filled with `answers` (and `raw` text for unreadable fields).
pub fn questionnaire_form(
    q: &Questionnaire,
    answers: &Answers,
    raw: &HashMap<String, String>,
    errors: &[FieldError],
    words: &FormWords,
    tx: Localizer,
    f: &Formats,
) -> Vec<SectionView> {
    let yes_no = (words.yes, words.no);
    let eff = answers::effective(q, answers);
    let progress = answers::progress(q, answers, &eff);
    let error_for = |id: &str| {
        let field = format!("answers.{id}");
        errors.iter().find(|e| e.field == field).map(words.say)
    };
    let link = |s: &crate::rules::model::Section| SectionLink {
        id: s.id.clone(),
        label: words.next.replace("{title}", &tx.section(&s.id, &s.title)),
    };
    q.sections
        .iter()
        .zip(&progress)
        .enumerate()
        .map(|(i, (s, p))| SectionView {
            id: s.id.clone(),
            title: tx.section(&s.id, &s.title),
            progress: progress_text(p, words.progress),
            complete: p.answered == p.required,
            next: q.sections.get(i + 1).map(link),
            questions: s
                .questions
                .iter()
                .map(|&i| {
                    let question = &q.questions[i];
                    question_view(
                        question,
                        answers.get(&question.id),
                        raw.get(&question.id),
                        error_for(&question.id),
                        yes_no,
                        tx,
                        f,
                    )
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ambiguous_number_is_refused_naming_both_readings_in_the_pages_language() {
        let pages = crate::http::pages::Pages::new().unwrap();
        let said = |lang: &str, typed: &str| {
            number(typed, pages.formats(lang), &|k: String| pages.t(lang, &k))
                .unwrap_err()
                .0
        };
        let en = said("en", "250.000");
        assert!(en.contains("250,000") && en.contains(" 250"), "{en}");
        let fr = said("fr", "250,000");
        assert!(fr.contains("250\u{202f}000") && fr.contains("250"), "{fr}");
        let es = said("es", "1,125");
        assert!(es.contains("1125") && es.contains("1,1250"), "{es}");
        assert_eq!(said("en", "abc"), pages.t("en", "number_invalid"));
        assert_eq!(
            number("250.000", pages.formats("es"), &|k: String| pages
                .t("es", &k)),
            Ok(Value::from(250000.0))
        );
    }

    #[test]
    fn a_scale_help_names_what_its_points_mean() {
        let m = scale_meanings(
            "0: not at all; 2: supports a stated objective; 4: central to a top priority.",
        );
        assert_eq!(m.len(), 3);
        assert_eq!(m[&2], "supports a stated objective");
        assert_eq!(m[&4], "central to a top priority");
        let fr = scale_meanings("1\u{a0}: incomplètes ; 5\u{a0}: complètes.");
        assert_eq!(fr[&1], "incomplètes");
        assert!(scale_meanings("Think of the systems it reads from.").is_empty());
    }
}
