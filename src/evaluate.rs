//! `aitriage rules evaluate`: triage every row of an import file under a rule pack, storing
//! nothing, and compare with labels a risk office gave the same rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::domain::answers;
use crate::domain::calibration::{self, Label, Outcome};
use crate::domain::hints::CaseText;
use crate::rules::RuleSet;
use crate::transfer::{read_intake, IntakeRow};

/// Which rows to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    All,
    A,
    B,
}

impl Half {
    pub fn parse(s: &str) -> Option<Half> {
        match s.to_ascii_lowercase().as_str() {
            "all" => Some(Half::All),
            "a" => Some(Half::A),
            "b" => Some(Half::B),
            _ => None,
        }
    }

    /// Rows are split by their purpose text (or summary), so identical descriptions filed
    /// twice land in the same half and a rule fitted on one half is tested on unseen text.
    fn holds(self, row: &IntakeRow) -> bool {
        let key = row
            .answers
            .get("purpose")
            .and_then(|v| v.as_str())
            .unwrap_or(&row.summary)
            .trim()
            .to_lowercase();
        let first = Sha256::digest(key.as_bytes())[0];
        match self {
            Half::All => true,
            Half::A => first % 2 == 0,
            Half::B => first % 2 == 1,
        }
    }
}

pub struct Options {
    pub file: PathBuf,
    pub labels: PathBuf,
    pub half: Half,
    pub positive: Vec<String>,
    pub negative: Vec<String>,
    pub errors_out: PathBuf,
}

/// Labels by data row number: a CSV with a `row` column and a `label` (or `impact`) column.
fn read_labels(
    path: &Path,
    positive: &[String],
    negative: &[String],
) -> anyhow::Result<HashMap<usize, Label>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = r.headers()?.clone();
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let row_col = find(&["row"]).context("the labels file has no `row` column")?;
    let label_col = find(&["label", "impact"]).context("the labels file has no `label` column")?;
    let mut out = HashMap::new();
    for rec in r.records() {
        let rec = rec.with_context(|| path.display().to_string())?;
        let row: usize = rec
            .get(row_col)
            .unwrap_or("")
            .trim()
            .parse()
            .with_context(|| format!("{}: a row number is not a number", path.display()))?;
        let value = rec.get(label_col).unwrap_or("").trim().to_lowercase();
        if positive.contains(&value) {
            out.insert(row, Label::Positive);
        } else if negative.contains(&value) {
            out.insert(row, Label::Negative);
        }
    }
    Ok(out)
}

/// Triages every labelled row of the file and returns the report; writes the misses and false
/// positives to `errors_out`.
pub fn run(rules: &RuleSet, opts: &Options) -> anyhow::Result<String> {
    let labels = read_labels(&opts.labels, &opts.positive, &opts.negative)?;
    let rows = read_intake(&opts.file)?;
    let mut outcomes = Vec::new();
    let mut unreadable = 0;
    for (i, row) in rows.into_iter().enumerate() {
        let n = i + 1;
        let Some(&label) = labels.get(&n) else {
            continue;
        };
        let Ok(row) = row else {
            unreadable += 1;
            continue;
        };
        if !opts.half.holds(&row) {
            continue;
        }
        // Answers that do not fit the questionnaire are dropped one by one, as a partial
        // intake would be assessed.
        let mut parsed = answers::Answers::new();
        for (k, v) in &row.answers {
            let one = serde_json::Map::from_iter([(k.clone(), v.clone())]);
            if let Ok(a) = answers::parse(&rules.questionnaire, &one) {
                parsed.extend(a);
            }
        }
        let text = CaseText {
            title: &row.title,
            summary: &row.summary,
        };
        let (a, _) = crate::domain::preview(rules, &parsed, text);
        outcomes.push(Outcome::of(n, &row.title, label, &a.triage));
    }
    let file = std::fs::File::create(&opts.errors_out)
        .with_context(|| format!("cannot write {}", opts.errors_out.display()))?;
    let mut w = crate::csv_safe::Writer::new(file);
    for r in calibration::errors_csv(&outcomes) {
        w.row(&r)?;
    }
    w.finish()?;
    let mut out = calibration::report(&outcomes, rules.routing.medium_at, rules.routing.high_at);
    if unreadable > 0 {
        out += &format!("\n{unreadable} labelled row(s) could not be read and were left out\n");
    }
    out += &format!(
        "\nrules_version {}; misses and false positives written to {}\n",
        rules.version,
        opts.errors_out.display()
    );
    Ok(out)
}
