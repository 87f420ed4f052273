//! `aitriage import FILE` and `aitriage export`: files in and out.
//!
//! Import reads JSON lines or CSV and recognises, per file: aitriage's own export (restored
//! exactly, so export → import round-trips), intake rows (`{"agency", "title", "summary",
//! "business_function", "answers", "external_id"}`), and the US federal AI use-case inventory
//! layouts of 2023 and 2024 (mapped onto the questionnaire as far as their columns allow; such
//! cases stay drafts until someone completes the risk questions).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::db::exchange::{self, CaseRecord, NewCase, Outcome, CSV_COLUMNS};
use crate::db::users::hex;
use crate::db::DbConnection;
use crate::domain::access::Scope;
use crate::error::AppError;
use crate::rules::RuleSet;

/// One row to import, or why it cannot be.
enum Row {
    Restore(Box<CaseRecord>),
    New(NewCase),
}

#[derive(Debug, Default)]
pub struct Report {
    pub rows: usize,
    pub restored: usize,
    pub drafts: usize,
    pub submitted: usize,
    pub present: usize,
    /// (line, reason)
    pub rejected: Vec<(u64, String)>,
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} row(s): {} restored, {} new draft(s), {} submitted and triaged, {} already present, {} rejected\n",
            self.rows,
            self.restored,
            self.drafts,
            self.submitted,
            self.present,
            self.rejected.len()
        );
        for (line, why) in &self.rejected {
            out += &format!("  line {line}: {why}\n");
        }
        out
    }
}

fn key_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex(&h.finalize()[..12])
}

/// Development stages of the inventories, onto the questionnaire's `stage`.
fn stage(s: &str) -> Option<&'static str> {
    let s = s.to_lowercase();
    Some(if s.contains("retired") {
        return None;
    } else if s.contains("operation")
        || s.contains("implementation")
        || s.contains("production")
        || s.contains("deployed")
    {
        "production"
    } else if s.contains("pilot") {
        "pilot"
    } else if s.contains("development") || s.contains("acquisition") {
        "proof_of_concept"
    } else if s.contains("initiat") || s.contains("planned") || s.contains("idea") {
        "idea"
    } else {
        return None;
    })
}

fn yes_no(s: &str) -> Option<bool> {
    let s = s.trim().to_lowercase();
    if s.starts_with("yes") {
        Some(true)
    } else if s.starts_with("no") {
        Some(false)
    } else {
        None
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.trim().chars().take(n).collect()
}

/// A column whose header starts with `prefix` (the 2024 headers are long questions).
fn col<'a>(row: &'a BTreeMap<String, String>, prefix: &str) -> &'a str {
    row.iter()
        .find(|(k, _)| k.starts_with(prefix))
        .map_or("", |(_, v)| v.as_str())
}

fn federal_2023(row: &BTreeMap<String, String>) -> Row {
    let summary = col(row, "Summary");
    let mut answers = Map::new();
    if !summary.trim().is_empty() {
        answers.insert("purpose".into(), json!(truncate(summary, 2000)));
    }
    if let Some(s) = stage(col(row, "Development_Stage")) {
        answers.insert("stage".into(), json!(s));
    }
    let office = col(row, "Office");
    Row::New(NewCase {
        agency: col(row, "Department_Code").to_string(),
        agency_name: col(row, "Department").to_string(),
        title: col(row, "Title").to_string(),
        summary: summary.to_string(),
        business_function: if office.trim().is_empty() {
            col(row, "Agency")
        } else {
            office
        }
        .to_string(),
        answers,
        import_key: format!("us-federal-2023:{}", col(row, "Use_Case_ID")),
    })
}

/// The 2024 inventory's topic area onto `intended_use`, where the topic names a use; topics
/// that say nothing about the use (science, energy, diplomacy, transportation, other) leave
/// the question unanswered.
fn intended_use_of_topic(topic: &str) -> Option<Vec<&'static str>> {
    let t = topic.trim().to_lowercase();
    Some(if t.starts_with("law & justice") {
        vec!["law_enforcement"]
    } else if t.starts_with("health & medical") {
        vec!["medical_clinical"]
    } else if t.starts_with("government services") {
        vec!["public_services_benefits"]
    } else if t.starts_with("education & workforce") {
        vec!["education", "employment"]
    } else if t.starts_with("emergency management") {
        vec!["emergency_response"]
    } else if t.starts_with("mission-enabling") {
        vec!["internal_operations"]
    } else {
        return None;
    })
}

/// Demographic variables used as model features: `None` when none are named; the categories
/// they add otherwise (race, ethnicity, religion, disability or the like are special categories).
fn demographic_categories(v: &str) -> Option<Vec<&'static str>> {
    let t = v.trim().to_lowercase();
    let none = ["", "none", "n/a", "na", "not applicable", "no", "[]"];
    if none.contains(&t.as_str()) || t.starts_with("does not use") || t.starts_with("none") {
        return None;
    }
    let special = [
        "race",
        "ethnic",
        "religio",
        "disab",
        "ability status",
        "sexual orientation",
    ];
    Some(if special.iter().any(|s| t.contains(s)) {
        vec!["personal", "sensitive_personal"]
    } else {
        vec!["personal"]
    })
}

fn federal_2024(row: &BTreeMap<String, String>) -> Row {
    let purpose = col(row, "What is the intended purpose");
    let outputs = col(row, "Describe the AI system");
    let mut answers = Map::new();
    if let Some(uses) = intended_use_of_topic(col(row, "Use Case Topic Area")) {
        answers.insert("intended_use".into(), json!(uses));
    }
    if !purpose.trim().is_empty() {
        answers.insert("purpose".into(), json!(truncate(purpose, 2000)));
    }
    if let Some(s) = stage(col(row, "Stage of Development")) {
        answers.insert("stage".into(), json!(s));
    }
    let public = yes_no(col(row, "Is this AI use case supporting a High-Impact")).unwrap_or(false)
        || yes_no(col(row, "Does this AI use case disseminate information")).unwrap_or(false);
    let public_known = yes_no(col(row, "Is this AI use case supporting a High-Impact")).is_some();
    if public_known {
        answers.insert("public_facing".into(), json!(public));
    }
    let pii = yes_no(col(
        row,
        "Does this AI use case involve personally identifiable",
    ));
    let demographic = demographic_categories(col(row, "Which, if any, demographic variables"));
    let categories: Option<Vec<&str>> = match (pii, demographic) {
        (_, Some(d)) => Some(d),
        (Some(true), None) => Some(vec!["personal"]),
        (Some(false), None) => Some(vec!["internal"]),
        (None, None) => None,
    };
    if let Some(c) = categories {
        answers.insert("data_categories".into(), json!(c));
    }
    let built = col(row, "Was the AI system involved in this use case developed").to_lowercase();
    if built.contains("in-house") && !built.contains("contract") {
        answers.insert("model_provenance".into(), json!("in_house"));
    } else if built.contains("contract") && !built.contains("in-house") {
        answers.insert("model_provenance".into(), json!("vendor_embedded"));
    }
    let agency = col(row, "Agency Abbreviation");
    let name = col(row, "Use Case Name");
    Row::New(NewCase {
        agency: agency.to_string(),
        agency_name: col(row, "Agency").to_string(),
        title: name.to_string(),
        summary: [purpose.trim(), outputs.trim()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" Outputs: "),
        business_function: col(row, "Use Case Topic Area").to_string(),
        answers,
        import_key: format!(
            "us-federal-2024:{}",
            key_of(&[agency, col(row, "Bureau"), name, purpose])
        ),
    })
}

/// Why one row of a file cannot be imported (the file itself is fine).
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("not an aitriage export record: {0}")]
    NotExport(serde_json::Error),
    #[error("answers must be an object")]
    AnswersNotObject,
    #[error("unreadable CSV row: {0}")]
    Csv(csv::Error),
    #[error("{}", .0.describe())]
    Rejected(AppError),
}

fn intake_json(v: Value, line: &str) -> Result<Row, RowError> {
    if v.get("id").is_some() && v.get("status").is_some() {
        return serde_json::from_value(v)
            .map(|r| Row::Restore(Box::new(r)))
            .map_err(RowError::NotExport);
    }
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let answers = match v.get("answers") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(RowError::AnswersNotObject),
    };
    let key = match v.get("external_id").and_then(|x| x.as_str()) {
        Some(id) => format!("external:{}:{id}", text("agency").to_uppercase()),
        None => format!("row:{}", key_of(&[line])),
    };
    Ok(Row::New(NewCase {
        agency: text("agency"),
        agency_name: text("agency_name"),
        title: text("title"),
        summary: text("summary"),
        business_function: text("business_function"),
        answers,
        import_key: key,
    }))
}

/// A row of a file with its line number, or why it could not be read.
type NumberedRow = (u64, Result<Row, RowError>);

/// The rows of a file, each with its line number.
fn read_rows(path: &Path) -> anyhow::Result<Vec<NumberedRow>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = text.trim_start_matches('\u{feff}');
    let looks_json = path
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "json" || e == "ndjson")
        || text.trim_start().starts_with('{');
    if looks_json {
        return Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let row = serde_json::from_str::<Value>(l)
                    .map_err(RowError::NotJson)
                    .and_then(|v| intake_json(v, l));
                (i as u64 + 1, row)
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .context("not CSV")?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let layout = if headers.iter().any(|h| h == "Use_Case_ID") {
        "federal-2023"
    } else if headers.iter().any(|h| h == "Use Case Name") {
        "federal-2024"
    } else if CSV_COLUMNS.iter().all(|c| headers.iter().any(|h| h == c)) {
        "export"
    } else {
        anyhow::bail!("unknown CSV layout: expected an aitriage export or a US federal AI use-case inventory (2023 or 2024)");
    };
    let mut rows = Vec::new();
    for rec in reader.records() {
        let (line, row) = match rec {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                // An aitriage export's cells were neutralised against formulas: undo it.
                let restore = |c: &str| match layout {
                    "export" => crate::csv_safe::restore(c).to_string(),
                    _ => c.to_string(),
                };
                let map: BTreeMap<String, String> =
                    headers.iter().cloned().zip(r.iter().map(restore)).collect();
                let row = match layout {
                    "federal-2023" => Ok(federal_2023(&map)),
                    "federal-2024" => Ok(federal_2024(&map)),
                    _ => CaseRecord::from_csv(&map)
                        .map(|r| Row::Restore(Box::new(r)))
                        .map_err(RowError::Rejected),
                };
                (line, row)
            }
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(RowError::Csv(e))),
        };
        rows.push((line, row));
    }
    Ok(rows)
}

/// An intake row of any layout the importer knows, as evaluation reads it.
pub struct IntakeRow {
    pub title: String,
    pub summary: String,
    pub answers: Map<String, Value>,
}

/// The rows of a file in order (the first data row is number 1), each an intake row or why it
/// cannot be read. Exports give their cases' current answers and text.
pub fn read_intake(path: &Path) -> anyhow::Result<Vec<Result<IntakeRow, RowError>>> {
    Ok(read_rows(path)?
        .into_iter()
        .map(|(_, row)| {
            row.map(|r| match r {
                Row::New(n) => IntakeRow {
                    title: n.title,
                    summary: n.summary,
                    answers: n.answers,
                },
                Row::Restore(rec) => IntakeRow {
                    title: rec.title,
                    summary: rec.summary,
                    answers: match rec.answers {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    },
                },
            })
        })
        .collect())
}

/// Imports a file, each row all or nothing, with a progress bar on standard error.
pub fn import(conn: &mut DbConnection, rules: &RuleSet, path: &Path) -> anyhow::Result<Report> {
    let rows = read_rows(path)?;
    let mut report = Report {
        rows: rows.len(),
        ..Default::default()
    };
    let mut progress = Progress::new(rows.len());
    for (i, (line, row)) in rows.into_iter().enumerate() {
        let done = row.and_then(|r| {
            match r {
                Row::Restore(rec) => exchange::restore(conn, &rec),
                Row::New(new) => crate::app::cases::import_new(conn, rules, &new),
            }
            .map_err(RowError::Rejected)
        });
        match done {
            Ok(Outcome::Restored) => report.restored += 1,
            Ok(Outcome::Draft) => report.drafts += 1,
            Ok(Outcome::Submitted) => report.submitted += 1,
            Ok(Outcome::Present) => report.present += 1,
            Err(why) => report.rejected.push((line, why.to_string())),
        }
        progress.update(i + 1);
    }
    progress.finish();
    Ok(report)
}

/// A progress bar on standard error when it is a terminal; a line per tenth otherwise.
struct Progress {
    total: usize,
    tty: bool,
    shown: usize,
}

impl Progress {
    fn new(total: usize) -> Self {
        Progress {
            total,
            tty: std::io::stderr().is_terminal(),
            shown: 0,
        }
    }

    fn update(&mut self, done: usize) {
        let pct = (done * 100).checked_div(self.total).unwrap_or(100);
        let mut err = std::io::stderr();
        if self.tty {
            if pct != self.shown || done == self.total {
                let bar = "#".repeat(pct / 4);
                let _ = write!(
                    err,
                    "\rimporting [{bar:<25}] {done}/{} ({pct}%)",
                    self.total
                );
                let _ = err.flush();
                self.shown = pct;
            }
        } else if pct / 10 != self.shown / 10 {
            let _ = writeln!(err, "importing: {done}/{} ({pct}%)", self.total);
            self.shown = pct;
        }
    }

    fn finish(&self) {
        if self.tty {
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// Writes every case in `scope` to `out`; returns how many.
pub fn export(
    conn: &mut DbConnection,
    scope: &Scope,
    format: Format,
    out: &mut dyn Write,
) -> Result<usize, AppError> {
    let io = |e: std::io::Error| AppError::internal("writing the export", e);
    match format {
        Format::Jsonl => exchange::export(conn, scope, 1000, |r| {
            serde_json::to_writer(&mut *out, &r)?;
            out.write_all(b"\n").map_err(io)
        }),
        Format::Csv => {
            let csv_err = |e: csv::Error| AppError::internal("writing the export", e);
            let mut w = crate::csv_safe::Writer::new(out);
            w.row(CSV_COLUMNS).map_err(csv_err)?;
            let n = exchange::export(conn, scope, 1000, |r| w.row(r.csv_row()).map_err(csv_err))?;
            w.finish().map_err(csv_err)?.flush().map_err(io)?;
            Ok(n)
        }
    }
}
