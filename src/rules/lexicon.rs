//! The text-hint lexicon: phrases, per language, that suggest a fact about a use case (an
//! intended use, a data category, that people are affected, a safety function). Loaded from
//! `rules/lexicon/*.toml` and compiled into one Aho-Corasick automaton over normalised text.
//!
//! A fact is `question.option` of the questionnaire, so a hint can be compared with what the
//! submitter declared. Matching is deterministic and explainable: text is lower-cased, Latin
//! diacritics are folded (`données` matches `donnees`), and any run of other characters counts
//! as one space. A phrase matches whole words; its last word also matches with a plural ending
//! (`s`, `es`, `x`), or, written with a trailing `*`, as a stem (`investigat*` matches
//! `investigation`, `investigators`).

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// A fact a hint suggests: an option of a single- or multiple-choice question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// `question.option`, as written in the lexicon.
    pub id: String,
    /// Index of the question in the questionnaire.
    pub slot: usize,
    pub question: String,
    pub option: String,
    /// Position of the option among its question's options (for single choices, a hint is
    /// met by the option or any later, stronger one).
    pub rank: usize,
}

/// One compiled phrase.
#[derive(Debug, Clone)]
struct Phrase {
    fact: usize,
    /// The last word matches as a stem (any continuation).
    stem: bool,
}

/// Where a phrase matched, in characters of the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub fact: usize,
    pub start: usize,
    pub end: usize,
}

/// The compiled lexicon of a rule pack.
#[derive(Debug, Default)]
pub struct Lexicon {
    pub facts: Vec<Fact>,
    phrases: Vec<Phrase>,
    automaton: Option<AhoCorasick>,
    /// Languages the lexicon has phrases for.
    pub languages: Vec<String>,
}

/// Normalises one character into `out` (lower case, Latin diacritics folded, anything not a
/// letter or digit as a space).
fn fold(c: char, out: &mut String) {
    if !c.is_alphanumeric() {
        out.push(' ');
        return;
    }
    for l in c.to_lowercase() {
        let f = match l {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => "a",
            'ç' => "c",
            'è' | 'é' | 'ê' | 'ë' => "e",
            'ì' | 'í' | 'î' | 'ï' => "i",
            'ñ' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => "o",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'œ' => "oe",
            'æ' => "ae",
            'ß' => "ss",
            other => {
                out.push(other);
                continue;
            }
        };
        out.push_str(f);
    }
}

/// A phrase's words as the automaton looks for them (lower case, folded), and whether its last
/// word is a stem. Empty when the phrase has no letter or digit.
pub fn phrase_words(p: &str) -> (Vec<String>, bool) {
    let p = p.trim();
    let (body, stem) = match p.strip_suffix('*') {
        Some(b) => (b, true),
        None => (p, false),
    };
    let mut folded = String::with_capacity(body.len() + 1);
    for c in body.chars() {
        fold(c, &mut folded);
    }
    let words = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect();
    (words, stem)
}

/// The patterns of a phrase: one leading space, words separated by one space, and each word
/// before the last also in its plural (`demandeur d'asile` finds `demandeurs d'asile`).
fn patterns_of(words: &[String]) -> Vec<String> {
    let mut out = vec![String::new()];
    for (i, w) in words.iter().enumerate() {
        let forms: &[&str] = if i + 1 < words.len() && !w.ends_with('s') {
            &["", "s"]
        } else {
            &[""]
        };
        out = out
            .iter()
            .flat_map(|p| forms.iter().map(move |f| format!("{p} {w}{f}")))
            .collect();
    }
    out
}

/// Text normalised for matching, and for each of its bytes the character index it came from.
struct Normalised {
    text: String,
    origin: Vec<u32>,
}

fn normalise(text: &str) -> Normalised {
    let mut out = String::with_capacity(text.len() + 2);
    let mut origin = Vec::with_capacity(text.len() + 2);
    out.push(' ');
    origin.push(0);
    let mut buf = String::new();
    for (i, c) in text.chars().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            origin.push(i);
            continue;
        }
        buf.clear();
        fold(c, &mut buf);
        if buf == " " && out.ends_with(' ') {
            continue;
        }
        out.push_str(&buf);
        origin.extend(std::iter::repeat_n(i, buf.len()));
    }
    if !out.ends_with(' ') {
        out.push(' ');
        origin.push(u32::try_from(text.chars().count()).unwrap_or(u32::MAX));
    }
    Normalised { text: out, origin }
}

/// Plural endings accepted after a phrase's last word.
const ENDINGS: [&str; 3] = ["s", "es", "x"];

impl Lexicon {
    /// Builds the lexicon from `(fact, words, stem)` entries (see [`phrase_words`]).
    pub fn build(
        facts: Vec<Fact>,
        entries: &[(usize, Vec<String>, bool)],
        languages: Vec<String>,
    ) -> Result<Self, aho_corasick::BuildError> {
        let mut patterns = Vec::new();
        let mut phrases = Vec::new();
        for (fact, words, stem) in entries {
            for p in patterns_of(words) {
                patterns.push(p);
                phrases.push(Phrase {
                    fact: *fact,
                    stem: *stem,
                });
            }
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            Some(
                // A contiguous NFA: for the pack's 3,896 patterns it takes 0.65 MB, where a DFA
                // took 26 MB, more than a core's cache; every instance holds one, and every
                // intake reads it.
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&patterns)?,
            )
        };
        Ok(Lexicon {
            facts,
            phrases,
            automaton,
            languages,
        })
    }

    /// Every phrase found in `text`, in order of position.
    pub fn find(&self, text: &str) -> Vec<Found> {
        let Some(ac) = &self.automaton else {
            return Vec::new();
        };
        let n = normalise(text);
        let bytes = n.text.as_bytes();
        let mut found = Vec::new();
        for m in ac.find_overlapping_iter(&n.text) {
            let phrase = &self.phrases[m.pattern().as_usize()];
            let rest = &n.text[m.end()..];
            let end = if phrase.stem {
                m.end() + rest.find(' ').unwrap_or(rest.len())
            } else if rest.starts_with(' ') {
                m.end()
            } else if let Some(e) = ENDINGS
                .iter()
                .find(|e| rest.strip_prefix(**e).is_some_and(|r| r.starts_with(' ')))
            {
                m.end() + e.len()
            } else {
                continue;
            };
            // The match starts at the space before its first word.
            let start = m.start() + 1;
            if start >= end || end > bytes.len() {
                continue;
            }
            found.push(Found {
                fact: phrase.fact,
                start: n.origin[start] as usize,
                end: n.origin[end - 1] as usize + 1,
            });
        }
        // At one place, the longest phrase first: it is the one a hint quotes.
        found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end), f.fact));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(phrases: &[(&str, usize)]) -> Lexicon {
        let facts = (0..3)
            .map(|i| Fact {
                id: format!("q.o{i}"),
                slot: 0,
                question: "q".into(),
                option: format!("o{i}"),
                rank: i,
            })
            .collect();
        let entries: Vec<_> = phrases
            .iter()
            .map(|(p, f)| {
                let (words, stem) = phrase_words(p);
                (*f, words, stem)
            })
            .collect();
        Lexicon::build(facts, &entries, vec!["en".into()]).unwrap()
    }

    fn words(text: &str, f: &Found) -> String {
        text.chars().skip(f.start).take(f.end - f.start).collect()
    }

    #[test]
    fn a_phrase_matches_whole_words_across_case_spacing_and_punctuation() {
        let l = lexicon(&[("law enforcement", 0)]);
        let t = "Supports LAW\n  enforcement officers; not lawenforcement.";
        let f = l.find(t);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(words(t, &f[0]), "LAW\n  enforcement");
        assert!(l.find("outlaw enforcementality").is_empty());
    }

    #[test]
    fn the_last_word_takes_plural_endings_and_stems_take_any_ending() {
        let l = lexicon(&[("applicant", 0), ("investigat*", 1)]);
        let t = "Screens applicants and investigators; applicantship is not it.";
        let got: Vec<(usize, String)> = l.find(t).iter().map(|f| (f.fact, words(t, f))).collect();
        assert_eq!(
            got,
            vec![(0, "applicants".into()), (1, "investigators".into())]
        );
    }

    #[test]
    fn french_text_matches_with_or_without_accents_at_the_right_offsets() {
        let l = lexicon(&[("données biométriques", 2), ("demandeur d'asile", 1)]);
        let t = "Analyse des données biometriques des demandeurs d’asile.";
        let f = l.find(t);
        let got: Vec<String> = f.iter().map(|x| words(t, x)).collect();
        assert_eq!(got, vec!["données biometriques", "demandeurs d’asile"]);
        assert_eq!(f[0].fact, 2);
        // Offsets are in characters of the original text, accents included.
        assert_eq!(f[0].start, "Analyse des ".chars().count());
    }

    #[test]
    fn overlapping_phrases_each_match() {
        let l = lexicon(&[("facial recognition", 0), ("recognition", 1)]);
        assert_eq!(l.find("uses facial recognition").len(), 2);
    }

    #[test]
    fn an_empty_lexicon_finds_nothing() {
        assert!(lexicon(&[]).find("anything at all").is_empty());
    }
}
