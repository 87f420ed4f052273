//! Example cases (`rules/cases/*.toml`): answer sets with the tier, route and rules they are
//! expected to get. The test suite checks every one against the pack; the demo seeds them.
//!
//! A case may `extends = "<other case file stem>"` to start from that case's answers and
//! change only what differs, so each file reads as "like that one, except…".

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::vocab::agents::{Agent, Declarations, Delegation, ImportFormat};
use crate::vocab::{Route, Tier};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub tier: Tier,
    pub route: Route,
    pub fired: BTreeSet<String>,
    /// For rules evaluated per declared element: the elements each fires for.
    #[serde(default)]
    pub subjects: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    title: String,
    summary: String,
    business_function: String,
    extends: Option<String>,
    #[serde(default)]
    answers: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    agents: Vec<Agent>,
    #[serde(default)]
    delegations: Vec<Delegation>,
    #[serde(default)]
    imports: Vec<RawImport>,
    expect: Expect,
}

/// A document to import into the case's declarations, from a file beside the cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImport {
    format: ImportFormat,
    agent: String,
    file: String,
}

/// A document imported into an example case's declarations, as a submitter would import it.
#[derive(Debug, Clone)]
pub struct Import {
    pub format: ImportFormat,
    pub agent: String,
    pub document: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct ExampleCase {
    /// The file stem.
    pub name: String,
    pub title: String,
    pub summary: String,
    pub business_function: String,
    pub answers: serde_json::Map<String, serde_json::Value>,
    /// Its agents, tools and delegations (its own; a case extended does not pass them on).
    pub declarations: Declarations,
    /// Documents imported into the declarations once the case exists, in order.
    pub imports: Vec<Import>,
    pub expect: Expect,
}

/// Why the example cases cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    #[error("{path}")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("cases/{0}.toml: `extends` chain too long or circular")]
    Circular(String),
    #[error("cases/{from}.toml: no example case named `{name}`")]
    Unknown { from: String, name: String },
}

/// Reads every example case under `dir` (usually `rules/cases`), resolving `extends`.
/// A folder that does not exist holds no cases.
pub fn load_cases(dir: &Path) -> Result<Vec<ExampleCase>, CasesError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut raw = BTreeMap::new();
    for e in entries.filter_map(Result::ok) {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let text = fs::read_to_string(&path).map_err(|source| CasesError::Read {
            path: path.clone(),
            source,
        })?;
        let case: RawCase = toml::from_str(&text).map_err(|e| CasesError::Parse {
            path: path.clone(),
            message: e.message().to_string(),
        })?;
        raw.insert(name, case);
    }
    raw.keys()
        .map(|name| {
            let c = &raw[name];
            Ok(ExampleCase {
                name: name.clone(),
                title: c.title.clone(),
                summary: c.summary.clone(),
                business_function: c.business_function.clone(),
                answers: resolve(&raw, name, name, 0)?,
                declarations: Declarations {
                    agents: c.agents.clone(),
                    delegations: c.delegations.clone(),
                },
                imports: c
                    .imports
                    .iter()
                    .map(|i| read_import(dir, name, i))
                    .collect::<Result<_, _>>()?,
                expect: c.expect.clone(),
            })
        })
        .collect()
}

/// Reads an imported document (JSON) named relative to the cases folder.
fn read_import(dir: &Path, name: &str, i: &RawImport) -> Result<Import, CasesError> {
    let path = dir.join(&i.file);
    let text = fs::read_to_string(&path).map_err(|source| CasesError::Read {
        path: path.clone(),
        source,
    })?;
    let document = serde_json::from_str(&text).map_err(|e| CasesError::Parse {
        path,
        message: format!("imported by cases/{name}.toml: {e}"),
    })?;
    Ok(Import {
        format: i.format,
        agent: i.agent.clone(),
        document,
    })
}

/// The answers of case `name` with those of the cases it extends; `from` names the case that
/// started the chain, for messages.
fn resolve(
    raw: &BTreeMap<String, RawCase>,
    from: &str,
    name: &str,
    depth: usize,
) -> Result<serde_json::Map<String, serde_json::Value>, CasesError> {
    if depth > 8 {
        return Err(CasesError::Circular(from.to_string()));
    }
    let c = raw.get(name).ok_or_else(|| CasesError::Unknown {
        from: from.to_string(),
        name: name.to_string(),
    })?;
    let mut answers = match &c.extends {
        Some(parent) => resolve(raw, from, parent, depth + 1)?,
        None => serde_json::Map::new(),
    };
    for (k, v) in &c.answers {
        answers.insert(k.clone(), v.clone());
    }
    Ok(answers)
}
