//! The command line: rules check, agencies and users.

use std::path::Path;
use std::process::Command;

use crate::helpers::{broken_pack, rules_dir, stdout_of_success};

fn aitriage() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aitriage"));
    c.env_remove("DATABASE_URL")
        .env_remove("RULES_DIR")
        .env("RUST_LOG", "warn");
    c
}

fn check(pack: &Path) -> (bool, String) {
    let out = aitriage()
        .args(["rules", "check", "--rules"])
        .arg(pack)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

#[test]
fn rules_check_passes_on_the_shipped_pack() {
    let (ok, out) = check(&rules_dir());
    assert!(ok, "{out}");
    assert!(out.contains(": ok"), "{out}");
}

#[test]
fn rules_check_names_file_line_and_column_for_each_kind_of_mistake() {
    let cases = [
        (
            "risks/ai.toml",
            "when = 'answers.public_facing'",
            "when = 'answers.public_facng'",
            "unknown question id `public_facng`",
        ),
        (
            "risks/prohibited.toml",
            "when = '\"social_scoring\" in answers.prohibited_practices'",
            "when = '\"social_scorin\" in answers.prohibited_practices'",
            "has no option \"social_scorin\"",
        ),
        (
            "risks/genai.toml",
            "when = 'answers.generative && answers.public_facing'",
            "when = 'answers.generative && && answers.public_facing'",
            "CEL syntax error",
        ),
        (
            "risks/declarations.toml",
            "when = 'tool.effect == \"code_execution\" && !tool.sandboxed'",
            "when = 'tool.effect == \"code_execution\" && !tool.sandbox'",
            "tool has no field `sandbox`",
        ),
        (
            "risks/declarations.toml",
            "each = \"delegation\"\nguardrail = \"deny\"",
            "guardrail = \"deny\"",
            "give the rule `each`",
        ),
        (
            "risks/declarations.toml",
            "each = \"agent\"",
            "each = \"agnet\"",
            "`agnet` is not one of agent, tool, delegation",
        ),
        ("risks/agentic.toml", "severity = 4\nlikelihood = 3\nreview_group = \"security\"\nrationale = \"The system acts without", "severity = 7\nlikelihood = 3\nreview_group = \"security\"\nrationale = \"The system acts without", "severity must be from 1 to 5"),
        (
            "questionnaire.toml",
            "visible_when = \"answers.autonomy_level > 0\"",
            "visible_when = \"answers.autonomy_levl > 0\"",
            "unknown question id `autonomy_levl`",
        ),
        (
            "lexicon/en.toml",
            "fact = \"intended_use.law_enforcement\"",
            "fact = \"intended_use.law_enforcment\"",
            "unknown fact `intended_use.law_enforcment`",
        ),
        (
            "lexicon/en.toml",
            "\"law enforcement\", \"criminal investigat*\"",
            "\"law enforcement\", \" -- \", \"criminal investigat*\"",
            "empty phrase",
        ),
        (
            "lexicon/fr.toml",
            "\"recrutement\", \"embauche\"",
            "\"recrutement\", \"Recrutement!\"",
            "duplicate phrase \"Recrutement!\"",
        ),
        (
            "risks/declared.toml",
            "when = '\"informs_decisions\" in hints.affects_individuals'",
            "when = '\"informs_decision\" in hints.affects_individuals'",
            "has no option \"informs_decision\"",
        ),
    ];
    for (file, old, new, message) in cases {
        let (_dir, pack, line) = broken_pack(file, old, new);
        let (ok, out) = check(&pack);
        assert!(!ok, "{file}: check passed on a broken pack");
        let expected = format!("{}:{line}:", pack.join(file).display());
        let hit = out
            .lines()
            .find(|l| l.contains(message))
            .unwrap_or_else(|| panic!("{message} not in:\n{out}"));
        assert!(hit.starts_with(&expected), "expected {expected}… got {hit}");
        let column: usize = hit[expected.len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(column >= 1, "{hit}");
    }
}

#[test]
fn rules_check_refuses_a_rule_that_cites_no_framework() {
    let (_dir, pack, _) = broken_pack(
        "risks/ai.toml",
        "frameworks = { nist_ai_rmf = \"GOVERN 6.2\", iso_42001 = \"A.10.3\", mit_ai_risk = \"6.1 Power centralization and unfair distribution of benefits\" }",
        "",
    );
    let (ok, out) = check(&pack);
    assert!(!ok);
    assert!(
        out.contains("third_party.vendor_lock_in` cites no framework"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.contains("risks/ai.toml:")), "{out}");
}

#[test]
fn agencies_and_users_are_created_from_the_command_line_and_the_token_is_the_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        aitriage()
            .env("DATABASE_URL", &db)
            .args(args)
            .output()
            .unwrap()
    };
    let a = run(&[
        "agencies",
        "create",
        "--code",
        "UNICEF",
        "--name",
        "United Nations Children's Fund",
    ]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let dup = run(&["agencies", "create", "--code", "UNICEF", "--name", "Again"]);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let u = run(&[
        "users",
        "create",
        "--agency",
        "UNICEF",
        "--email",
        "ana@unicef.org",
        "--role",
        "submitter,reviewer",
        "--groups",
        "privacy",
        "--reviews",
        "all",
    ]);
    assert!(u.status.success(), "{}", String::from_utf8_lossy(&u.stderr));
    let stdout = String::from_utf8_lossy(&u.stdout);
    let token = stdout.lines().last().unwrap();
    assert!(token.starts_with("ait_") && token.len() == 68, "{stdout}");
    let bad_role = run(&[
        "users",
        "create",
        "--agency",
        "UNICEF",
        "--email",
        "b@unicef.org",
        "--role",
        "overlord",
    ]);
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role `overlord`"));
    let no_agency = run(&[
        "users",
        "create",
        "--agency",
        "NOPE",
        "--email",
        "c@x.org",
        "--role",
        "submitter",
    ]);
    assert!(!no_agency.status.success());
}

#[test]
fn a_bad_bind_address_stops_start_up_naming_the_variable() {
    let out = aitriage()
        .env("BIND", "not-an-address")
        .args(["serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BIND="));
}

#[test]
fn the_benchmark_harness_runs_its_quick_version_and_prints_every_figure() {
    // No timing is asserted: this keeps the harness from rotting.
    let out = aitriage()
        .args(["bench", "--quick"])
        .env("RULES_DIR", rules_dir())
        .output()
        .unwrap();
    let text = stdout_of_success(&out);
    for figure in [
        "triage (scoring + every rule)",
        "raw ceiling",
        "intake over HTTP (create + submit), 1 client",
        "of the raw ceiling",
        "radar at",
        "summary at",
        "rules simulate over",
        "resident memory",
    ] {
        assert!(text.contains(figure), "missing {figure:?} in\n{text}");
    }
}

#[test]
fn a_password_given_on_standard_input_lets_the_user_sign_in() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pw.db");
    let ok = aitriage()
        .env("DATABASE_URL", &db)
        .args(["agencies", "create", "--code", "UNHCR", "--name", "UNHCR"])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let create = |email: &str, password: &str| {
        let mut child = aitriage()
            .env("DATABASE_URL", &db)
            .args([
                "users",
                "create",
                "--agency",
                "UNHCR",
                "--email",
                email,
                "--role",
                "reviewer",
                "--password-stdin",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = create("short@unhcr.org", "too short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: at least 12 characters"));
    let made = create("lea@unhcr.org", "a long enough passphrase");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let pool = aitriage::db::connect(&db.to_string_lossy()).unwrap();
    let mut c = pool.get().unwrap();
    assert!(aitriage::db::users::check_password(
        &mut c,
        "lea@unhcr.org",
        "a long enough passphrase"
    )
    .unwrap()
    .is_some());
    assert!(
        aitriage::db::users::check_password(&mut c, "lea@unhcr.org", "a wrong passphrase!")
            .unwrap()
            .is_none()
    );
    assert!(
        aitriage::db::users::find_id_by_email(&mut c, "short@unhcr.org")
            .unwrap()
            .is_none(),
        "a refused password creates no user"
    );
}

/// Writes `rows` (intake JSON lines) and their labels; returns (file, labels).
fn labelled(dir: &Path, rows: &[(&str, &str, &str)]) -> (std::path::PathBuf, std::path::PathBuf) {
    let file = dir.join("cases.jsonl");
    let labels = dir.join("labels.csv");
    let mut lines = String::new();
    let mut csv = String::from("row,label\n");
    for (i, (title, summary, label)) in rows.iter().enumerate() {
        lines += &serde_json::json!({"agency": "UNHCR", "title": title, "summary": summary, "answers": {}}).to_string();
        lines += "\n";
        csv += &format!("{},{label}\n", i + 1);
    }
    std::fs::write(&file, lines).unwrap();
    std::fs::write(&labels, csv).unwrap();
    (file, labels)
}

#[test]
fn rules_evaluate_measures_agreement_with_labels_and_writes_the_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (file, labels) = labelled(
        dir.path(),
        &[
            (
                "Face matching at checkpoints",
                "Facial recognition of travellers against a watchlist.",
                "rights",
            ),
            (
                "Asylum claim triage",
                "Scores asylum applicants for eligibility and flags suspects.",
                "rights",
            ),
            (
                "Meeting notes",
                "Summarises internal meetings for staff.",
                "neither",
            ),
            (
                "Warehouse stock forecast",
                "Forecasts stock levels of tents and blankets.",
                "neither",
            ),
            (
                "Court records search",
                "Searches court records to decide claims of applicants.",
                "neither",
            ),
            (
                "Office chatbot",
                "Answers questions about the travel policy.",
                "too_new",
            ),
        ],
    );
    let errors = dir.path().join("errors.csv");
    let db = dir.path().join("never.db");
    let out = aitriage()
        .env("DATABASE_URL", &db)
        .args(["rules", "evaluate"])
        .arg(&file)
        .arg("--labels")
        .arg(&labels)
        .arg("--errors")
        .arg(&errors)
        .output()
        .unwrap();
    let text = stdout_of_success(&out);
    // Unlabelled values (too_new) are left out.
    assert!(
        text.contains("5 labelled case(s): 2 positive, 3 negative"),
        "{text}"
    );
    assert!(text.contains("recall of human approval"), "{text}");
    assert!(text.contains("as the high threshold moves"), "{text}");
    let written = std::fs::read_to_string(&errors).unwrap();
    assert!(written.starts_with("row,kind,tier,route"), "{written}");
    // Nothing was stored: the database was never even opened.
    assert!(!db.exists());
}

#[test]
fn rules_evaluate_refuses_labels_without_a_row_column() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = labelled(dir.path(), &[("a", "b", "rights")]);
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,label\n1,rights\n").unwrap();
    let out = aitriage()
        .args(["rules", "evaluate"])
        .arg(&file)
        .arg("--labels")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `row` column"));
}

/// The operator's path to a keyed trail: a trail written without a key is refused by a
/// keyed process until `audit seal`; checkpoints go to a directory; `audit verify
/// --checkpoint` then holds, and catches events removed from the end afterwards.
#[test]
fn an_operator_seals_the_trail_checkpoints_it_and_verify_catches_a_truncation() {
    use diesel::connection::SimpleConnection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db").to_string_lossy().to_string();
    let checkpoints = dir.path().join("checkpoints");
    std::fs::create_dir(&checkpoints).unwrap();
    {
        let pool = aitriage::db::connect(&db).unwrap();
        let mut conn = pool.get().unwrap();
        aitriage::demo::seed(
            &mut conn,
            &crate::helpers::rules(),
            &rules_dir().join("cases"),
        )
        .unwrap();
    }
    let key = "0123456789abcdef0123456789abcdef-operator";
    let run = |args: &[&str]| {
        let out = aitriage()
            .env("DATABASE_URL", &db)
            .env("AUDIT_KEY", key)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let cp = checkpoints.to_string_lossy().to_string();
    let (ok, out) = run(&["audit", "checkpoint", "--out", &cp]);
    assert!(
        !ok && out.contains("audit seal"),
        "an unsealed trail is refused first: {out}"
    );
    let (ok, out) = run(&["audit", "seal"]);
    assert!(ok && out.contains("sealed with key"), "{out}");
    let (ok, out) = run(&["audit", "checkpoint", "--out", &cp]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["audit", "verify", "--checkpoint", &cp]);
    assert!(
        ok && out.contains("each sealed with the audit key") && out.contains("holds"),
        "{out}"
    );
    {
        let pool = aitriage::db::connect(&db).unwrap();
        pool.get()
            .unwrap()
            .batch_execute(
                "DELETE FROM audit_events WHERE seq = (SELECT seq FROM audit_head);
                 UPDATE audit_head SET seq = seq - 1, hash = (SELECT hash FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events))",
            )
            .unwrap();
    }
    let (ok, out) = run(&["audit", "verify", "--checkpoint", &cp]);
    assert!(!ok && out.contains("removed from the end"), "{out}");
}

/// A translation's gaps fail `rules check`, each named with its file, line and column and
/// the English to translate; the same pack still loads for `serve`, which shows English there.
#[test]
fn rules_check_reports_a_missing_translation_where_it_belongs_and_fails() {
    let prompt = "prompt = \"Quel problème le système d’IA résout-il, et pour qui\u{a0}?\"\n";
    let (_dir, pack, _) = broken_pack("i18n/fr.toml", prompt, "\n");
    let (ok, out) = check(&pack);
    assert!(!ok, "{out}");
    // Reported on the line after the entry it would follow (`safeguards`, the line before
    // `[questions.purpose]` and its blank line).
    let file = pack.join("i18n/fr.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let after = text
        .lines()
        .position(|l| l.starts_with("safeguards = "))
        .unwrap()
        + 1;
    let expected = format!(
        "{}:{}:1: questions.purpose.prompt: missing (English: \"What problem does the AI system solve, and for whom?\")",
        file.display(),
        after + 1
    );
    assert!(
        out.lines().any(|l| l == expected),
        "{expected}\nnot in:\n{out}"
    );
    assert!(out.contains("i18n/fr.toml: "), "{out}");
    let rules = aitriage::rules::load_dir(&pack).expect("serve still loads the pack");
    assert_eq!(
        aitriage::rules::i18n::Localizer::of(&rules, "fr")
            .prompt(rules.questionnaire.get("purpose").unwrap()),
        "What problem does the AI system solve, and for whom?"
    );
}

/// A translation of something the pack does not have is an error where it is written.
#[test]
fn rules_check_reports_an_extra_translation_at_its_key() {
    for lang in ["ar", "zh", "fr", "ru", "es"] {
        let file = format!("i18n/{lang}.toml");
        let (_dir, pack, line) = broken_pack(
            &file,
            "[questions.purpose]\n",
            "[questions.purpose]\n  subtitle = \"?\"\n",
        );
        let (ok, out) = check(&pack);
        assert!(!ok, "{out}");
        let expected = format!(
            "{}:{}:3: questions.purpose.subtitle: the pack has nothing with this id to translate",
            pack.join(&file).display(),
            line + 1
        );
        assert!(
            out.lines().any(|l| l == expected),
            "{expected}\nnot in:\n{out}"
        );
    }
}

/// Each migration has its own version (diesel runs one migration per version, so two folders
/// sharing one silently skip the second), and both backends have the same migrations.
#[test]
fn migrations_have_distinct_versions_and_both_backends_the_same() {
    let names = |backend: &str| -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert_eq!(sqlite, postgres);
    let mut versions: Vec<&str> = sqlite
        .iter()
        .map(|n| n.split_once('_').map_or(n.as_str(), |(v, _)| v))
        .collect();
    versions.dedup();
    assert_eq!(versions.len(), sqlite.len(), "{sqlite:?}");
}
