//! `cargo bench`: the pure parts on the shipped rule pack — full triage of one case, answer
//! validation, similarity search, and audit hashing. (`aitriage bench` measures the service.)

use std::path::Path;

use aitriage::db::audit::event_hash;
use aitriage::domain::answers;
use aitriage::domain::assess;
use aitriage::domain::hints::CaseText;
use aitriage::domain::similar::{Doc, Index};
use aitriage::rules::cases::load_cases;
use aitriage::rules::load_dir;
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn pure(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let rules = load_dir(&dir).expect("the shipped rules load");
    let examples = load_cases(&dir.join("cases")).expect("example cases");
    let heavy = examples
        .iter()
        .find(|e| e.name == "beneficiary_cash_chatbot")
        .expect("a case that fires many rules");
    let parsed = answers::parse(&rules.questionnaire, &heavy.answers).expect("valid answers");

    let text = CaseText {
        title: &heavy.title,
        summary: &heavy.summary,
    };
    c.bench_function("triage one case (scoring + every rule + hints)", |b| {
        b.iter(|| assess(&rules, black_box(&parsed), text, true).unwrap())
    });
    // A 5,000-character description made of every example's summary, as a long intake reads.
    let long: String = examples
        .iter()
        .map(|e| e.summary.as_str())
        .cycle()
        .flat_map(|s| [s, " "])
        .flat_map(str::chars)
        .take(5000)
        .collect();
    let long_text = CaseText {
        title: &heavy.title,
        summary: &long,
    };
    c.bench_function(
        "triage one case with hints over a 5,000-character text",
        |b| b.iter(|| assess(&rules, black_box(&parsed), long_text, true).unwrap()),
    );
    c.bench_function("validate one answer set against the questionnaire", |b| {
        b.iter(|| answers::parse(&rules.questionnaire, black_box(&heavy.answers)).unwrap())
    });

    let docs: Vec<Doc> = (0..20)
        .flat_map(|copy| {
            examples.iter().map(move |e| Doc {
                id: format!("{}-{copy}", e.name).into(),
                agency: format!("A{}", copy % 7),
                title: e.title.clone(),
                business_function: e.business_function.clone(),
                status: "approved".into(),
                text: format!(
                    "{}. {} {}",
                    e.title,
                    e.summary,
                    e.answers
                        .get("purpose")
                        .and_then(|p| p.as_str())
                        .unwrap_or("")
                ),
            })
        })
        .collect();
    let n = docs.len();
    c.bench_function(&format!("build the similarity index of {n} cases"), |b| {
        b.iter(|| Index::build(black_box(docs.clone())))
    });
    let index = Index::build(docs);
    c.bench_function(&format!("find the 10 most similar among {n} cases"), |b| {
        b.iter(|| index.similar_to(black_box(17), 10, 0.1))
    });

    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_micro_opt(3, 4, 5, 6)
        .unwrap();
    let details = r#"{"revision":1,"rules_version":"5d9f8a7da846b762","tier":"high"}"#;
    let key = aitriage::config::AuditKey::new(&[7u8; 32]).unwrap();
    for (name, key) in [
        ("hash one audit event", None),
        ("seal one audit event (HMAC)", Some(&key)),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                event_hash(
                    key,
                    black_box(42),
                    "01a2067b-e2a2-75a8-8f40-15a76f90d91a",
                    Some("case"),
                    Some("user"),
                    "triaged",
                    Some("submitted"),
                    Some("awaiting_approval"),
                    details,
                    at,
                    "prev",
                )
            })
        });
    }
}

criterion_group!(benches, pure);
criterion_main!(benches);
