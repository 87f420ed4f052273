//! The rule pack's own text in other languages (`rules/i18n/<lang>.toml`): section titles,
//! question prompts, help and option labels, taxonomy node titles, quadrant names, and rule
//! titles and rationales, by the English pack's ids. Evaluation never reads them: a
//! translation changes what people read, not how a case is triaged (nor the rules version).
//! A missing entry falls back to English.

use std::collections::HashMap;

use super::model::{Choice, Question, RuleSet};

/// One language's text, by key: `sections.<id>`, `questions.<id>.prompt`,
/// `questions.<id>.help`, `questions.<id>.options.<value>`, `nodes.<id>`, `quadrants.<id>`,
/// `rules.<id>.title`, `rules.<id>.rationale`.
#[derive(Debug, Default)]
pub struct Texts(pub HashMap<String, String>);

impl Texts {
    /// Flattens a parsed translation file into keys; a value that is not text is refused.
    pub fn from_table(table: &toml::Table) -> Result<Texts, String> {
        fn walk(
            prefix: &str,
            t: &toml::Table,
            out: &mut HashMap<String, String>,
        ) -> Result<(), String> {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::String(s) => {
                        out.insert(key, s.clone());
                    }
                    toml::Value::Table(inner) => walk(&key, inner, out)?,
                    _ => return Err(format!("{key}: a translation must be text")),
                }
            }
            Ok(())
        }
        let mut out = HashMap::new();
        walk("", table, &mut out)?;
        Ok(Texts(out))
    }
}

/// Every key the pack can translate, with its English text: what a translation must cover.
pub fn keys(rules: &RuleSet) -> Vec<(String, String)> {
    let q = &rules.questionnaire;
    let mut out: Vec<(String, String)> = Vec::new();
    for s in &q.sections {
        out.push((format!("sections.{}", s.id), s.title.clone()));
    }
    for x in &q.questions {
        out.push((format!("questions.{}.prompt", x.id), x.prompt.clone()));
        if !x.help.is_empty() {
            out.push((format!("questions.{}.help", x.id), x.help.clone()));
        }
        for o in &x.options {
            out.push((
                format!("questions.{}.options.{}", x.id, o.value),
                o.label.clone(),
            ));
        }
    }
    for n in &rules.taxonomy.nodes {
        out.push((format!("nodes.{}", n.id), n.title.clone()));
    }
    for qd in &rules.scoring.quadrants {
        out.push((format!("quadrants.{}", qd.id), qd.label.clone()));
    }
    for r in &rules.taxonomy.rules {
        out.push((format!("rules.{}.title", r.id), r.title.clone()));
        out.push((format!("rules.{}.rationale", r.id), r.rationale.clone()));
    }
    out
}

/// The pack's text in one language, English where it has no translation.
#[derive(Clone, Copy)]
pub struct Localizer<'a>(Option<&'a Texts>);

impl<'a> Localizer<'a> {
    /// The text of `lang` in `rules` (English, or a language without a file, reads the pack).
    pub fn of(rules: &'a RuleSet, lang: &str) -> Localizer<'a> {
        Localizer(rules.translations.get(lang))
    }

    fn get(&self, key: String, english: &str) -> String {
        self.0
            .and_then(|t| t.0.get(&key))
            .cloned()
            .unwrap_or_else(|| english.to_string())
    }

    pub fn section(&self, id: &str, english: &str) -> String {
        self.get(format!("sections.{id}"), english)
    }

    pub fn prompt(&self, q: &Question) -> String {
        self.get(format!("questions.{}.prompt", q.id), &q.prompt)
    }

    pub fn help(&self, q: &Question) -> String {
        self.get(format!("questions.{}.help", q.id), &q.help)
    }

    pub fn option(&self, q: &Question, o: &Choice) -> String {
        self.get(format!("questions.{}.options.{}", q.id, o.value), &o.label)
    }

    pub fn node(&self, id: &str, english: &str) -> String {
        self.get(format!("nodes.{id}"), english)
    }

    pub fn quadrant(&self, id: &str, english: &str) -> String {
        self.get(format!("quadrants.{id}"), english)
    }

    pub fn rule_title(&self, id: &str, english: &str) -> String {
        self.get(format!("rules.{id}.title"), english)
    }

    pub fn rule_rationale(&self, id: &str, english: &str) -> String {
        self.get(format!("rules.{id}.rationale"), english)
    }
}
