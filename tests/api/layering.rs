//! The layering of ARCHITECTURE.md, enforced: reads every source file under `src/` and fails
//! when a lower layer names a higher one. `domain` and `rules` know nothing of storage, HTTP,
//! the service layer, the command line or any other effectful module; `db` knows nothing of
//! HTTP, the service layer, the command line or the modules built on top of it.
//!
//! A reference is a path that reaches the crate root and names a top-level module:
//! `use crate::db::…`, `crate::http::server(…)`, `$crate::app::…`, `use crate::{db, …}`, or
//! enough `super::` to climb out of the layer (`super::super::db` from `src/domain/x.rs`).
//! Comments are skipped.

use std::path::{Path, PathBuf};

/// The top-level modules each layer must not name (ARCHITECTURE.md): the vocabulary names no
/// layer; `rules` not even `domain`; `db` stores what the service decided and calls nothing
/// above it; the service layer knows nothing of HTTP or the command line.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "vocab",
        &[
            "rules", "domain", "db", "app", "http", "cli", "startup", "notify", "transfer",
            "evaluate", "bench", "demo",
        ],
    ),
    (
        "rules",
        &[
            "domain", "db", "app", "http", "cli", "startup", "notify", "transfer", "evaluate",
            "bench", "demo",
        ],
    ),
    (
        "domain",
        &[
            "db", "app", "http", "cli", "startup", "notify", "transfer", "evaluate", "bench",
            "demo",
        ],
    ),
    (
        "db",
        &[
            "app", "http", "cli", "startup", "notify", "transfer", "evaluate", "bench", "demo",
        ],
    ),
    ("app", &["http", "cli", "startup", "bench", "demo"]),
    ("notify", &["app", "http", "cli", "startup"]),
];

/// The module path of a file under `src/`: `domain/answers.rs` is `[domain, answers]`,
/// `db/mod.rs` is `[db]`, `lib.rs` is `[]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if !matches!(stem, "mod" | "lib" | "main") {
            parts.push(stem.to_string());
        }
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The source without comments and without the contents of string and character literals
/// (their quotes stay); line breaks are kept so that line numbers stay right.
fn strip_comments(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let keep_lines = |out: &mut String, skipped: &[char]| {
        out.extend(skipped.iter().filter(|c| **c == '\n'));
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(chars[i - 1]);
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let (start, mut depth) = (i, 0);
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            keep_lines(&mut out, &chars[start..i]);
        } else if c == 'r' && !after_ident && matches!(next, Some('#' | '"')) {
            // A raw string: r"…", r#"…"#, …
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let start = i;
            i += hashes + 2;
            let closes =
                |k: usize| chars[k] == '"' && (1..=hashes).all(|h| chars.get(k + h) == Some(&'#'));
            while i < chars.len() && !closes(i) {
                i += 1;
            }
            i = (i + 1 + hashes).min(chars.len());
            out.push_str("\"\"");
            keep_lines(&mut out, &chars[start..i]);
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            out.push_str("\"\"");
            keep_lines(&mut out, &chars[start..i]);
        } else if c == '\'' && next == Some('\\') {
            // A character literal with an escape: '\n', '\'', '\u{…}'.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
            out.push_str("' '");
        } else {
            // Anything else, lifetimes ('a) included.
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The first path segment of each item of a `{…}` group that starts at `text[0]`.
fn group_heads(text: &str) -> Vec<String> {
    let mut depth = 0;
    let mut heads = Vec::new();
    let mut item = String::new();
    for c in text.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    heads.push(std::mem::take(&mut item));
                    break;
                }
            }
            ',' if depth == 1 => {
                heads.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        if depth >= 1 {
            item.push(c);
        }
    }
    heads
        .iter()
        .map(|i| i.trim().chars().take_while(|c| is_ident(*c)).collect())
        .filter(|h: &String| !h.is_empty())
        .collect()
}

/// The top-level modules that `after` (the text right after a path that reached the crate
/// root) names: one identifier, or the heads of a `{…}` group.
fn heads_after(after: &str) -> Vec<String> {
    let after = after.trim_start();
    if after.starts_with('{') {
        group_heads(after)
    } else {
        let ident: String = after.chars().take_while(|c| is_ident(*c)).collect();
        if ident.is_empty() {
            vec![]
        } else {
            vec![ident]
        }
    }
}

/// Every top-level module that the file at `module` (its module path) names in `source`,
/// with the 1-based line of the reference.
fn referenced_modules(module: &[String], source: &str) -> Vec<(String, usize)> {
    let code = strip_comments(source);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let boundary = code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !is_ident(c) && c != ':');
        if boundary && rest.starts_with("crate::") {
            for h in heads_after(&rest["crate::".len()..]) {
                found.push((h, line_of(i)));
            }
            i += "crate::".len();
            continue;
        }
        if boundary && rest.starts_with("super::") {
            let mut supers = 0;
            let mut j = 0;
            while rest[j..].starts_with("super::") {
                supers += 1;
                j += "super::".len();
            }
            // Climbing as many levels as the file is deep reaches the crate root. (Inside an
            // inline `mod tests`, one more would be needed: counted as reaching it too.)
            if supers >= module.len() {
                for h in heads_after(&rest[j..]) {
                    found.push((h, line_of(i)));
                }
            }
            i += j;
            continue;
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    found
}

/// The layering violations in one file: `path:line: layer must not use crate::module`.
fn violations(relative: &Path, source: &str) -> Vec<String> {
    let module = module_path(relative);
    let Some(layer) = module.first() else {
        return vec![];
    };
    let Some((_, forbidden)) = FORBIDDEN.iter().find(|(l, _)| l == layer) else {
        return vec![];
    };
    referenced_modules(&module, source)
        .into_iter()
        .filter(|(m, _)| forbidden.contains(&m.as_str()))
        .map(|(m, line)| {
            format!(
                "src/{}:{line}: {layer} must not use crate::{m}",
                relative.display()
            )
        })
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_a_layer_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let checked = files
        .iter()
        .filter(|f| {
            let m = module_path(f.strip_prefix(&src).unwrap());
            m.first()
                .is_some_and(|l| FORBIDDEN.iter().any(|(x, _)| x == l))
        })
        .count();
    assert!(
        checked >= 10,
        "only {checked} files in the checked layers: is src/ laid out as ARCHITECTURE.md says?"
    );
    let found: Vec<String> = files
        .iter()
        .flat_map(|f| {
            violations(
                f.strip_prefix(&src).unwrap(),
                &std::fs::read_to_string(f).unwrap(),
            )
        })
        .collect();
    assert!(
        found.is_empty(),
        "imports that break the layering of ARCHITECTURE.md:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_layering_check_catches_every_form_of_a_forbidden_import() {
    let domain = Path::new("domain/answers.rs");
    for snippet in [
        "use crate::db::cases;",
        "use crate::db;",
        "let x = crate::http::server(state, l);",
        "fn f() -> crate::app::Outcome { todo!() }",
        "use crate::{domain::case::Tier, db::cases::get};",
        "use crate::{\n    rules::RuleSet,\n    cli::main,\n};",
        "use super::super::db::cases;",
        "macro_rules! m { () => { $crate::http::x() } }",
        "pub(crate) fn g() { let _ = crate::notify::send; }",
    ] {
        assert!(
            !violations(domain, snippet).is_empty(),
            "not caught in src/domain/answers.rs: {snippet}"
        );
    }
    assert!(!violations(Path::new("rules/mod.rs"), "use super::db;").is_empty());
    assert!(!violations(Path::new("db/cases.rs"), "use crate::http::AppState;").is_empty());
    assert!(!violations(Path::new("db/mod.rs"), "use super::cli;").is_empty());
    let line = violations(domain, "//! docs\n\nuse crate::db::cases;\n");
    assert_eq!(
        line,
        ["src/domain/answers.rs:3: domain must not use crate::db"]
    );
}

#[test]
fn the_layering_check_allows_what_the_layers_may_use() {
    let domain = Path::new("domain/answers.rs");
    for snippet in [
        "use crate::domain::case::Tier;",
        "use crate::rules::RuleSet;",
        "use crate::error::AppError;",
        "use super::case::Status;",
        "use super::{case, scoring};",
        "// use crate::db::cases;",
        "/// Unlike crate::db, this is pure.",
        "/* crate::http */ use crate::domain::case;",
        "let url = \"http://x\"; use crate::domain::case;",
        "use mycrate::db::x;",
        "use crate::dbx::y;",
        "let s = \"not a path: crate::db\";",
    ] {
        assert_eq!(
            violations(domain, snippet),
            Vec::<String>::new(),
            "wrongly caught: {snippet}"
        );
    }
    // db may use domain, rules and error; http may use anything.
    assert!(violations(
        Path::new("db/cases.rs"),
        "use crate::domain::x; use crate::rules::y; use crate::error::z; use super::schema;"
    )
    .is_empty());
    assert!(violations(Path::new("http/mod.rs"), "use crate::db::cases;").is_empty());
}
