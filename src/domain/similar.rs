//! Similar use cases: TF-IDF over each case's normalised text (title, summary, purpose and
//! business function), cosine similarity through an inverted index, and the reasons a person
//! can check (the shared terms that weigh most, the same business function). Explainable and
//! fast: one query touches only the cases that share a term with it.

use super::message::Says;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::vocab::CaseId;

/// Two cases as one unordered pair: the smaller id first, so (a, b) and (b, a) are the same.
pub fn pair(a: &CaseId, b: &CaseId) -> (CaseId, CaseId) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

/// A case as the similarity search sees it.
#[derive(Debug, Clone)]
pub struct Doc {
    pub id: CaseId,
    pub agency: String,
    pub title: String,
    pub business_function: String,
    pub status: String,
    /// Title, summary and purpose, as written.
    pub text: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Match {
    pub id: CaseId,
    pub agency: String,
    pub title: String,
    pub status: String,
    /// Cosine similarity of the TF-IDF vectors, plus a small bonus for the same business
    /// function; 0 to 1.
    pub score: f64,
    /// `why`, in English (what the API says).
    pub reasons: Vec<String>,
    /// Why the case looks alike, for pages to say in their language.
    #[serde(skip)]
    pub why: Vec<Says>,
}

const STOPWORDS: &[&str] = &[
    "a", "about", "across", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be",
    "been", "being", "between", "both", "but", "by", "can", "could", "data", "each", "for", "from",
    "has", "have", "how", "in", "into", "is", "it", "its", "may", "more", "most", "new", "no",
    "not", "of", "on", "one", "or", "other", "our", "out", "over", "per", "so", "such", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "through",
    "to", "under", "up", "use", "used", "uses", "using", "via", "was", "we", "were", "what",
    "when", "where", "which", "while", "who", "will", "with", "within", "would", "ai", "system",
    "systems", "tool", "tools", "model", "models", "based",
];

/// Lower-case words of three letters or more, stop words removed, with their stems:
/// plurals and common suffixes folded ("screening", "screened", "screens" → "screen").
fn words(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(|w| w.to_lowercase())
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && !w.chars().all(|c| c.is_ascii_digit()))
        .map(|w| (stem(&w), w))
}

/// The stems of a text's words.
pub fn terms(text: &str) -> Vec<String> {
    words(text).map(|(s, _)| s).collect()
}

fn stem(w: &str) -> String {
    let long = |r: &str| r.chars().count() >= 4;
    let mut s = w.to_string();
    if let Some(r) = s.strip_suffix("ies").filter(|r| long(r)) {
        s = format!("{r}y");
    } else if let Some(r) = ["sses", "xes", "ches", "shes", "zes"]
        .iter()
        .find_map(|suf| {
            s.strip_suffix(suf)
                .map(|r| format!("{r}{}", &suf[..suf.len() - 2]))
        })
    {
        s = r;
    } else if s.ends_with('s') && !s.ends_with("ss") && long(&s[..s.len() - 1]) {
        s.pop();
    }
    for suffix in ["ation", "ing", "ed"] {
        if let Some(r) = s.strip_suffix(suffix).filter(|r| long(r)) {
            s = r.to_string();
            break;
        }
    }
    if s.ends_with('e') && s.chars().count() >= 5 {
        s.pop();
    }
    s
}

/// The index of a set of cases.
pub struct Index {
    docs: Vec<Doc>,
    /// Per term: a word it stands for, as written (for reasons people read).
    vocab: Vec<String>,
    /// Per document: (term, weight), L2-normalised.
    vectors: Vec<Vec<(u32, f32)>>,
    /// Per term: (document, weight).
    postings: Vec<Vec<(u32, f32)>>,
}

impl Index {
    pub fn build(docs: Vec<Doc>) -> Index {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut vocab = Vec::new();
        let counts: Vec<HashMap<u32, u32>> = docs
            .iter()
            .map(|d| {
                let mut tf: HashMap<u32, u32> = HashMap::new();
                for (t, word) in words(&d.text) {
                    let next = ids.len() as u32;
                    let id = *ids.entry(t).or_insert_with(|| {
                        vocab.push(word);
                        next
                    });
                    *tf.entry(id).or_default() += 1;
                }
                tf
            })
            .collect();
        let mut df = vec![0u32; vocab.len()];
        for tf in &counts {
            for t in tf.keys() {
                df[*t as usize] += 1;
            }
        }
        let n = docs.len() as f32;
        let idf: Vec<f32> = df
            .iter()
            .map(|&d| ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0)
            .collect();
        let mut postings = vec![Vec::new(); vocab.len()];
        let vectors = counts
            .into_iter()
            .enumerate()
            .map(|(i, tf)| {
                let mut v: Vec<(u32, f32)> = tf
                    .into_iter()
                    .map(|(t, c)| (t, (1.0 + (c as f32).ln()) * idf[t as usize]))
                    .collect();
                let norm = v
                    .iter()
                    .map(|(_, w)| w * w)
                    .sum::<f32>()
                    .sqrt()
                    .max(f32::MIN_POSITIVE);
                for (t, w) in &mut v {
                    *w /= norm;
                    postings[*t as usize].push((i as u32, *w));
                }
                v.sort_by_key(|(t, _)| *t);
                v
            })
            .collect();
        Index {
            docs,
            vocab,
            vectors,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn position(&self, id: &CaseId) -> Option<usize> {
        self.docs.iter().position(|d| d.id == *id)
    }

    /// The `k` cases most similar to document `i` (itself excluded) scoring at least `min`.
    pub fn similar_to(&self, i: usize, k: usize, min: f64) -> Vec<Match> {
        let mut scores: HashMap<u32, f32> = HashMap::new();
        for (t, w) in &self.vectors[i] {
            for (d, w2) in &self.postings[*t as usize] {
                if *d as usize != i {
                    *scores.entry(*d).or_default() += w * w2;
                }
            }
        }
        let me = &self.docs[i];
        let mut ranked: Vec<(usize, f64)> = scores
            .into_iter()
            .map(|(d, s)| {
                let other = &self.docs[d as usize];
                let same_function = !me.business_function.is_empty()
                    && me
                        .business_function
                        .eq_ignore_ascii_case(&other.business_function);
                (
                    d as usize,
                    (s as f64 * 0.9 + if same_function { 0.1 } else { 0.0 }).min(1.0),
                )
            })
            .filter(|(_, s)| *s >= min)
            .collect();
        ranked.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.docs[a.0].id.cmp(&self.docs[b.0].id))
        });
        ranked.truncate(k);
        ranked
            .into_iter()
            .map(|(d, score)| self.explain(i, d, score))
            .collect()
    }

    fn explain(&self, i: usize, d: usize, score: f64) -> Match {
        let (a, b) = (&self.vectors[i], &self.vectors[d]);
        let mut shared: Vec<(f32, &str)> = Vec::new();
        let (mut x, mut y) = (0, 0);
        while x < a.len() && y < b.len() {
            match a[x].0.cmp(&b[y].0) {
                std::cmp::Ordering::Less => x += 1,
                std::cmp::Ordering::Greater => y += 1,
                std::cmp::Ordering::Equal => {
                    shared.push((a[x].1 * b[y].1, &self.vocab[a[x].0 as usize]));
                    x += 1;
                    y += 1;
                }
            }
        }
        shared.sort_by(|p, q| q.0.total_cmp(&p.0));
        let other = &self.docs[d];
        let mut why = Vec::new();
        if !shared.is_empty() {
            why.push(Says::SharedTerms {
                terms: shared.iter().take(6).map(|(_, t)| t.to_string()).collect(),
            });
        }
        let me = &self.docs[i];
        if !me.business_function.is_empty()
            && me
                .business_function
                .eq_ignore_ascii_case(&other.business_function)
        {
            why.push(Says::SameFunction {
                function: other.business_function.clone(),
            });
        }
        if me.agency != other.agency {
            why.push(Says::OtherAgency {
                agency: other.agency.clone(),
            });
        }
        Match {
            id: other.id.clone(),
            agency: other.agency.clone(),
            title: other.title.clone(),
            status: other.status.clone(),
            score: (score * 1000.0).round() / 1000.0,
            reasons: why.iter().map(Says::english).collect(),
            why,
        }
    }

    /// Groups of likely duplicates across agencies: cases linked (transitively) by a
    /// similarity of at least `min` to a case in another agency, except pairs in `apart` (said
    /// not to be duplicates, as [`pair`] orders them). Largest groups first.
    pub fn clusters(&self, min: f64, apart: &HashSet<(CaseId, CaseId)>) -> Vec<Vec<usize>> {
        let mut parent: Vec<usize> = (0..self.docs.len()).collect();
        fn root(p: &mut [usize], mut i: usize) -> usize {
            while p[i] != i {
                p[i] = p[p[i]];
                i = p[i];
            }
            i
        }
        for i in 0..self.docs.len() {
            for m in self.similar_to(i, 5, min) {
                let j = self.position_fast(&m.id, i);
                if self.docs[i].agency != self.docs[j].agency
                    && !apart.contains(&pair(&self.docs[i].id, &m.id))
                {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a] = b;
                }
            }
        }
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..self.docs.len() {
            let r = root(&mut parent, i);
            groups.entry(r).or_default().push(i);
        }
        let mut out: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
        out.sort_by(|a, b| {
            b.len()
                .cmp(&a.len())
                .then_with(|| self.docs[a[0]].id.cmp(&self.docs[b[0]].id))
        });
        out
    }

    /// Open cases (not yet decided) with an approved case in another agency at least `min`
    /// similar: work that could be reused instead of built again. Best match per open case.
    pub fn reuse_candidates(&self, min: f64) -> Vec<(usize, Match)> {
        const OPEN: [&str; 5] = [
            "draft",
            "submitted",
            "in_review",
            "awaiting_approval",
            "changes_requested",
        ];
        (0..self.docs.len())
            .filter(|&i| OPEN.contains(&self.docs[i].status.as_str()))
            .filter_map(|i| {
                let me = &self.docs[i];
                self.similar_to(i, 10, min)
                    .into_iter()
                    .find(|m| m.status == "approved" && m.agency != me.agency)
                    .map(|m| (i, m))
            })
            .collect()
    }

    fn position_fast(&self, id: &CaseId, near: usize) -> usize {
        // Matches come from this index, so the id is always present.
        self.position(id).unwrap_or(near)
    }

    pub fn doc(&self, i: usize) -> &Doc {
        &self.docs[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, agency: &str, function: &str, text: &str) -> Doc {
        Doc {
            id: id.into(),
            agency: agency.into(),
            title: text.split('.').next().unwrap_or_default().into(),
            business_function: function.into(),
            status: "approved".into(),
            text: text.into(),
        }
    }

    #[test]
    fn terms_are_normalised() {
        assert_eq!(
            terms("Screening refugees' applications, screened by AI models"),
            ["screen", "refuge", "applic", "screen"]
        );
        assert_eq!(
            terms("invoice invoices invoiced matches matching"),
            ["invoic", "invoic", "invoic", "match", "match"]
        );
    }

    #[test]
    fn the_paraphrase_ranks_first_with_its_reasons() {
        let idx = Index::build(vec![
            doc("1", "UNICEF", "Procurement", "Invoice matching. Matches supplier invoices against purchase orders automatically."),
            doc("2", "WFP", "Procurement", "Automatic matching of purchase orders and vendor invoices for finance teams."),
            doc("3", "UNHCR", "Protection", "Chatbot answering refugees' questions about registration appointments."),
            doc("4", "IMF", "Research", "Nowcasting GDP from satellite night lights."),
        ]);
        let m = idx.similar_to(0, 3, 0.05);
        assert_eq!(m[0].id, "2");
        assert!(
            m[0].reasons.iter().any(|r| r.contains("invoice")),
            "{:?}",
            m[0].reasons
        );
        assert!(m[0]
            .reasons
            .iter()
            .any(|r| r == "same business function: Procurement"));
        assert!(m[0].reasons.iter().any(|r| r == "in another agency: WFP"));
        assert!(
            m.iter().all(|x| x.id != "1"),
            "a case is not similar to itself"
        );
        assert_eq!(idx.clusters(0.3, &HashSet::new()), vec![vec![0, 1]]);
        let apart = [pair(&idx.doc(1).id, &idx.doc(0).id)].into_iter().collect();
        assert!(
            idx.clusters(0.3, &apart).is_empty(),
            "a pair said apart is no cluster"
        );
    }
}
