//! The layers of ARCHITECTURE.md, enforced: a module may not name a layer above it.

use std::path::{Path, PathBuf};

/// Top-level modules a layer may not name, by the folder or file the layer lives in.
const RULES: &[(&str, &[&str])] = &[
    (
        "vocab.rs",
        &[
            "rules", "domain", "db", "app", "http", "cli", "startup", "notify", "transfer",
        ],
    ),
    (
        "rules",
        &[
            "domain", "db", "app", "http", "cli", "startup", "notify", "transfer",
        ],
    ),
    (
        "domain",
        &["db", "app", "http", "cli", "startup", "notify", "transfer"],
    ),
    (
        "db",
        &["app", "http", "cli", "startup", "notify", "transfer"],
    ),
    ("app", &["http", "cli", "startup"]),
    ("notify.rs", &["app", "http", "cli", "startup"]),
];

/// The forbidden modules `code` names (`crate::x`, or `super::…::x` climbing to the crate
/// root from `depth` folders down), one per line that does; comments are skipped.
fn forbidden_uses(code: &str, depth: usize, forbidden: &[&str]) -> Vec<String> {
    let to_root = "super::".repeat(depth);
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let text = line.split("//").next().unwrap_or("");
        for m in forbidden {
            let named = [format!("crate::{m}"), format!("{to_root}{m}")]
                .iter()
                .filter(|p| depth > 0 || p.starts_with("crate::"))
                .any(|p| {
                    text.match_indices(p.as_str()).any(|(i, _)| {
                        let after = text[i + p.len()..].chars().next();
                        let before = text[..i].chars().last();
                        !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                            && !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                    })
                });
            if named {
                found.push(format!("line {}: names `{m}`: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (layer, forbidden) in RULES {
        let root = src.join(layer);
        let mut files = Vec::new();
        if root.is_dir() {
            rust_files(&root, &mut files);
        } else {
            files.push(root);
        }
        for f in files {
            // How many `super::` reach the crate root: one per folder, one more unless the
            // file is its folder's mod.rs.
            let rel = f.strip_prefix(&src).unwrap();
            let folders = rel.components().count() - 1;
            let depth = folders + usize::from(f.file_name().is_some_and(|n| n != "mod.rs"));
            let code = std::fs::read_to_string(&f).unwrap();
            for p in forbidden_uses(&code, depth, forbidden) {
                problems.push(format!("{}: {p}", rel.display()));
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} files checked");
    assert!(
        problems.is_empty(),
        "layering broken:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_layering_check_catches_a_forbidden_import() {
    let forbidden = &["db", "http"];
    assert_eq!(
        forbidden_uses("use crate::db::cases;", 0, forbidden).len(),
        1
    );
    assert_eq!(
        forbidden_uses(
            "    let x = crate::http::error::Problem::new();",
            1,
            forbidden
        )
        .len(),
        1
    );
    assert_eq!(
        forbidden_uses("use super::super::db::users;", 2, forbidden).len(),
        1
    );
    assert!(
        forbidden_uses("use crate::dbx::y; // crate::db in a comment", 0, forbidden).is_empty()
    );
    assert!(
        forbidden_uses("use super::db::x;", 2, forbidden).is_empty(),
        "a sibling module named db"
    );
    assert!(forbidden_uses("use crate::domain::db_free;", 0, forbidden).is_empty());
}
