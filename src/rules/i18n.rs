//! The rule pack's own text in other languages (`rules/i18n/<lang>.toml`): section titles,
//! question prompts, help and option labels, taxonomy node titles, quadrant names, and rule
//! titles and rationales, by the English pack's ids. Evaluation never reads them: a
//! translation changes what people read, not how a case is triaged (nor the rules version).
//! A missing entry falls back to English.

use std::collections::HashMap;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::diag::{Diagnostic, Source};
use super::model::{Choice, Question, RuleSet};

/// One language's text, by key: `sections.<id>`, `questions.<id>.prompt`,
/// `questions.<id>.help`, `questions.<id>.options.<value>`, `nodes.<id>`, `quadrants.<id>`,
/// `rules.<id>.title`, `rules.<id>.rationale`; with the file it came from and where each entry
/// is in it, so that problems can be reported as `file:line:column`.
#[derive(Debug)]
pub struct Texts {
    source: Source,
    entries: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    text: String,
    /// Byte offsets of the entry's key and of the end of its value.
    key_at: usize,
    end: usize,
}

impl Texts {
    /// Reads a translation file: nested tables of text, flattened into dotted keys. A value
    /// that is not text is refused, where it is.
    pub fn parse(path: &Path, text: String) -> Result<Texts, Diagnostic> {
        let source = Source::new(path, text);
        let mut entries = HashMap::new();
        let table = DeTable::parse(&source.text).map_err(|e| {
            let at = e.span().map_or(0, |s| s.start);
            source.at(at, e.message().to_string())
        })?;
        walk(&source, "", table.get_ref(), &mut entries)?;
        Ok(Texts { source, entries })
    }

    /// The text of `key`, if this language has it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|e| e.text.as_str())
    }

    /// Every entry the pack has nothing to translate with (a renamed question, a removed
    /// rule), each where it is.
    pub fn extra(&self, rules: &RuleSet) -> Vec<Diagnostic> {
        let known: std::collections::HashSet<String> =
            keys(rules).into_iter().map(|(k, _)| k).collect();
        let mut extra: Vec<(&String, &Entry)> = self
            .entries
            .iter()
            .filter(|(k, _)| !known.contains(*k))
            .collect();
        extra.sort_by_key(|(_, e)| e.key_at);
        extra
            .into_iter()
            .map(|(k, e)| {
                self.source.at(
                    e.key_at,
                    format!("{k}: the pack has nothing with this id to translate"),
                )
            })
            .collect()
    }

    /// Every text of the pack this language lacks (English is shown instead), each reported
    /// on the line after the entry it would follow, with the English to translate.
    pub fn missing(&self, rules: &RuleSet) -> Vec<Diagnostic> {
        let mut after = None;
        let mut out = Vec::new();
        for (key, english) in keys(rules) {
            match self.entries.get(&key) {
                Some(e) => after = Some(e.end),
                None => {
                    let line = after.map_or(1, |end| self.source.line_col(end).0 + 1);
                    out.push(Diagnostic {
                        file: self.source.path.clone(),
                        line,
                        column: 1,
                        message: format!("{key}: missing (English: {english:?})"),
                    });
                }
            }
        }
        out
    }
}

fn walk(
    source: &Source,
    prefix: &str,
    table: &DeTable,
    out: &mut HashMap<String, Entry>,
) -> Result<(), Diagnostic> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        match v.get_ref() {
            DeValue::String(s) => {
                out.insert(
                    key,
                    Entry {
                        text: s.to_string(),
                        key_at: k.span().start,
                        end: v.span().end,
                    },
                );
            }
            DeValue::Table(inner) => walk(source, &key, inner, out)?,
            _ => {
                return Err(source.at(v.span().start, format!("{key}: a translation must be text")))
            }
        }
    }
    Ok(())
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
            .and_then(|t| t.get(&key))
            .unwrap_or(english)
            .to_string()
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
