//! Text risk hints: what a case's own words suggest about it (an intended use, a data category,
//! that people are affected, a safety function), found with the rule pack's lexicon.
//!
//! A hint never changes an answer. It is reported with the exact words, the field and the
//! character offsets that produced it, and whether it contradicts a declared answer. Hints the
//! answers do not already declare become facts for the rules (`hints.<question>` in CEL), so
//! the rule pack decides what an under-declared case needs.

use serde::{Deserialize, Serialize};

use super::answers::{Answer, Effective};
use crate::rules::lexicon::Fact;
use crate::rules::model::{Kind, RuleSet};

/// The most hints reported for one case (the rules see every fact regardless).
pub const MAX_HINTS: usize = 60;

/// The free text of a case besides its text answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseText<'a> {
    pub title: &'a str,
    pub summary: &'a str,
}

/// One hint: a suggested fact and the words that suggest it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hint {
    /// `question.option`, e.g. `intended_use.law_enforcement`.
    pub fact: String,
    /// The words as they appear in the text.
    pub words: String,
    /// `title`, `summary` or `answers.<question id>`.
    pub field: String,
    /// Character offsets of the words in the field (end exclusive).
    pub start: usize,
    pub end: usize,
    /// Whether the answers already declare the fact.
    pub declared: bool,
    /// The answer this hint disagrees with (`answers.<question id>`), when one is given.
    pub contradicts: Option<String>,
}

/// Whether an answer declares a fact: a multiple choice includes the option; a single choice is
/// the option or a later, stronger one (`determines_outcomes` declares `informs_decisions`).
fn declares(answer: &Answer, fact: &Fact, kind: Kind, options: &[&str]) -> bool {
    match (answer, kind) {
        (Answer::Choices(cs), _) => cs.iter().any(|c| c == &fact.option),
        (Answer::Text(t), Kind::Single) => options
            .iter()
            .position(|o| o == t)
            .is_some_and(|r| r >= fact.rank),
        _ => false,
    }
}

/// Finds the hints in a case's text and records, in `eff`, the facts its answers do not
/// declare.
pub fn extract(rules: &RuleSet, text: CaseText, eff: &mut Effective) -> Vec<Hint> {
    let lexicon = &rules.lexicon;
    if lexicon.facts.is_empty() {
        return Vec::new();
    }
    let q = &rules.questionnaire;
    let mut fields: Vec<(String, &str)> = vec![
        ("title".into(), text.title),
        ("summary".into(), text.summary),
    ];
    let mut texts = Vec::new();
    for (i, question) in q.questions.iter().enumerate() {
        if question.kind == Kind::Text {
            if let Some(Answer::Text(t)) = eff.value_at(i) {
                texts.push((format!("answers.{}", question.id), t.as_str()));
            }
        }
    }
    fields.extend(texts);
    let mut hints = Vec::new();
    let mut undeclared: Vec<(usize, &str)> = Vec::new();
    for (field, body) in fields {
        if body.is_empty() {
            continue;
        }
        let mut seen: Vec<usize> = Vec::new();
        for f in lexicon.find(body) {
            if seen.contains(&f.fact) {
                continue;
            }
            seen.push(f.fact);
            let fact = &lexicon.facts[f.fact];
            let question = &q.questions[fact.slot];
            let options: Vec<&str> = question.options.iter().map(|o| o.value.as_str()).collect();
            let answer = eff.value_at(fact.slot);
            let declared = answer.is_some_and(|a| declares(a, fact, question.kind, &options));
            if !declared && !undeclared.contains(&(fact.slot, fact.option.as_str())) {
                undeclared.push((fact.slot, fact.option.as_str()));
            }
            if hints.len() < MAX_HINTS {
                hints.push(Hint {
                    fact: fact.id.clone(),
                    words: body.chars().skip(f.start).take(f.end - f.start).collect(),
                    field: field.clone(),
                    start: f.start,
                    end: f.end,
                    declared,
                    contradicts: (answer.is_some() && !declared)
                        .then(|| format!("answers.{}", question.id)),
                });
            }
        }
    }
    for (slot, option) in undeclared {
        eff.add_hint(slot, option);
    }
    hints
}

/// A hint as people read it: the words, where they are, and what they suggest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HintView {
    pub words: String,
    /// `title`, `summary`, or the prompt of the text question the words are in.
    pub place: String,
    /// The id of the question the hint concerns.
    pub question: String,
    /// The suggested option's label.
    pub suggests: String,
    pub declared: bool,
    pub contradicts: bool,
}

/// Describes hints with the questionnaire's own prompts and labels, in `lang`; `title` and
/// `summary` are what the page calls those fields in its language.
pub fn describe(
    rules: &RuleSet,
    lang: &str,
    hints: &[Hint],
    title: &str,
    summary: &str,
) -> Vec<HintView> {
    let q = &rules.questionnaire;
    let tx = crate::rules::i18n::Localizer::of(rules, lang);
    hints
        .iter()
        .map(|h| {
            let (question, option) = h.fact.split_once('.').unwrap_or((&h.fact, ""));
            let place = match h.field.as_str() {
                "title" => title.to_string(),
                "summary" => summary.to_string(),
                f => {
                    let id = f.trim_start_matches("answers.");
                    q.get(id).map_or_else(|| id.to_string(), |x| tx.prompt(x))
                }
            };
            HintView {
                words: h.words.clone(),
                place,
                question: question.to_string(),
                suggests: q
                    .get(question)
                    .and_then(|x| x.option(option).map(|o| tx.option(x, o)))
                    .unwrap_or_else(|| h.fact.clone()),
                declared: h.declared,
                contradicts: h.contradicts.is_some(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::answers::{effective, parse};
    use crate::domain::tests::shipped;
    use serde_json::json;

    fn hints_of(title: &str, summary: &str, answers: serde_json::Value) -> Vec<Hint> {
        let rules = shipped();
        let a = parse(&rules.questionnaire, answers.as_object().unwrap()).unwrap();
        let mut eff = effective(&rules.questionnaire, &a);
        extract(rules, CaseText { title, summary }, &mut eff)
    }

    fn facts(h: &[Hint]) -> Vec<&str> {
        h.iter().map(|h| h.fact.as_str()).collect()
    }

    #[test]
    fn text_suggests_an_intended_use_with_its_words_field_and_offsets() {
        let h = hints_of(
            "Name matching",
            "Matches names against criminal records for investigators.",
            json!({}),
        );
        let le = h
            .iter()
            .find(|h| h.fact == "intended_use.law_enforcement")
            .expect("a law-enforcement hint");
        assert_eq!(le.field, "summary");
        let summary = "Matches names against criminal records for investigators.";
        let words: String = summary
            .chars()
            .skip(le.start)
            .take(le.end - le.start)
            .collect();
        assert_eq!(words, le.words);
        assert!(!le.declared);
        assert_eq!(
            le.contradicts, None,
            "nothing declared, nothing contradicted"
        );
    }

    #[test]
    fn a_hint_that_disagrees_with_an_answer_names_it() {
        let h = hints_of(
            "Benefits helper",
            "Determines the eligibility of applicants for housing benefits.",
            json!({"affects_individuals": "no"}),
        );
        let a = h
            .iter()
            .find(|h| h.fact.starts_with("affects_individuals."))
            .expect("an affects-individuals hint");
        assert_eq!(
            a.contradicts.as_deref(),
            Some("answers.affects_individuals")
        );
        let consistent = hints_of(
            "Benefits helper",
            "Determines the eligibility of applicants for housing benefits.",
            json!({"affects_individuals": "determines_outcomes"}),
        );
        let a = consistent
            .iter()
            .find(|h| h.fact.starts_with("affects_individuals."))
            .unwrap();
        assert!(a.declared, "a stronger declared answer covers the hint");
        assert_eq!(a.contradicts, None);
    }

    #[test]
    fn a_hint_is_described_with_the_questionnaires_own_labels() {
        let h = hints_of("Face matching", "", json!({}));
        let v = describe(shipped(), "en", &h, "Title", "Summary");
        let bio = v
            .iter()
            .find(|v| v.question == "intended_use")
            .expect("a use hint");
        assert_eq!(bio.place, "Title");
        assert!(bio.suggests.contains("biometrics"), "{bio:?}");
        assert!(!bio.contradicts);
    }

    #[test]
    fn french_text_gives_the_same_facts() {
        let h = hints_of(
            "Tri des demandes",
            "Évalue l'éligibilité des demandeurs d'asile à partir de leurs empreintes digitales.",
            json!({}),
        );
        let f = facts(&h);
        assert!(f.contains(&"intended_use.migration_border"), "{f:?}");
        assert!(f.contains(&"data_categories.biometric"), "{f:?}");
    }

    #[test]
    fn spanish_text_gives_the_same_facts() {
        assert!(shipped().lexicon.languages.iter().any(|l| l == "es"));
        let summary = "Determina la elegibilidad de los solicitantes de asilo a partir de sus \
                       huellas dactilares y prioriza la asistencia a niños no acompañados.";
        let h = hints_of("Cribado de solicitudes", summary, json!({}));
        let f = facts(&h);
        for fact in [
            "intended_use.migration_border",
            "data_categories.biometric",
            "intended_use.child_protection",
            "affects_individuals.informs_decisions",
            "data_categories.refugees_or_displaced",
        ] {
            assert!(f.contains(&fact), "{fact}: {f:?}");
        }
        let bio = h
            .iter()
            .find(|h| h.fact == "data_categories.biometric")
            .unwrap();
        assert_eq!(bio.words, "huellas dactilares");
        // Spanish words found without their accents, as people sometimes type them.
        let plain = hints_of(
            "",
            "Videovigilancia y reconocimiento facial en la via publica; deteccion de vida.",
            json!({}),
        );
        assert!(
            facts(&plain).contains(&"intended_use.surveillance"),
            "{plain:?}"
        );
        assert!(facts(&plain).contains(&"intended_use.biometric_identification"));
    }

    #[test]
    fn russian_text_gives_the_same_facts_in_its_cases() {
        assert!(shipped().lexicon.languages.iter().any(|l| l == "ru"));
        let h = hints_of(
            "Отбор заявлений",
            "Система определяет право на получение помощи для беженцев и ищущих убежища по \
             отпечаткам пальцев; ведет видеонаблюдение в местах содержания под стражей.",
            json!({}),
        );
        let f = facts(&h);
        for fact in [
            "affects_individuals.informs_decisions",
            "data_categories.refugees_or_displaced",
            "intended_use.migration_border",
            "intended_use.surveillance",
            "intended_use.detention_monitoring",
        ] {
            assert!(f.contains(&fact), "{fact}: {f:?}");
        }
        let refugees = h
            .iter()
            .find(|h| h.fact == "data_categories.refugees_or_displaced")
            .unwrap();
        assert_eq!(refugees.words, "беженцев", "a stem takes the case ending");
        // A word that only begins like a stem's phrase is not it.
        let plain = hints_of(
            "",
            "Санкционированный доступ к отчетам для сотрудников.",
            json!({}),
        );
        assert!(plain.is_empty(), "{plain:?}");
    }

    #[test]
    fn text_answers_are_read_and_plain_text_gives_no_hints() {
        let h = hints_of(
            "Meeting notes",
            "Summarises internal meeting notes for staff.",
            json!({"purpose": "Triage of patients in the emergency department."}),
        );
        assert!(h.iter().any(|h| h.field == "answers.purpose"), "{h:?}");
        assert!(hints_of(
            "Meeting notes",
            "Summarises internal meeting notes.",
            json!({})
        )
        .is_empty());
    }
}
