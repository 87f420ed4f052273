//! Property tests over thousands of answer sets generated from the shipped questionnaire
//! (proptest, which shrinks a failure to a small case): adding a risk fact never lowers the
//! tier, hidden answers never change a result, the same answers always give the same result,
//! and native conditions agree with the CEL interpreter.

use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

use super::answers::{self, Answers};
use super::assess;
use super::hints::CaseText;
use super::tests::shipped;
use crate::rules::model::{Kind, Question};

const RUNS: u32 = 1000;

/// An answer to `q`, drawn from what its kind allows.
fn answer(q: &'static Question) -> BoxedStrategy<Value> {
    let n = q.options.len();
    match q.kind {
        // Half the time the first option (usually the least risky), so that many answer sets
        // are not saturated with risk and the properties about tiers have room to show.
        Kind::Single => prop_oneof![Just(0), 0..n]
            .prop_map(move |i| json!(q.options[i].value))
            .boxed(),
        Kind::Multi => (vec(proptest::bool::weighted(0.15), n), 0..n)
            .prop_map(move |(picks, fallback)| {
                let picked: Vec<&str> = q
                    .options
                    .iter()
                    .zip(picks)
                    .filter(|(o, p)| *p && o.value != "none")
                    .map(|(o, _)| o.value.as_str())
                    .collect();
                if picked.is_empty() && q.option("none").is_some() {
                    json!(["none"])
                } else if picked.is_empty() {
                    json!([q.options[fallback].value])
                } else {
                    json!(picked)
                }
            })
            .boxed(),
        Kind::Scale => {
            let (lo, hi) = (q.min.unwrap_or(0.0) as i64, q.max.unwrap_or(5.0) as i64);
            (lo..=hi).prop_map(|v| json!(v)).boxed()
        }
        Kind::Bool => any::<bool>().prop_map(|b| json!(b)).boxed(),
        Kind::Number => (0u32..3_000_000).prop_map(|v| json!(f64::from(v))).boxed(),
        Kind::Text => Just(json!("A use case.")).boxed(),
    }
}

/// A complete answer set: every question answered, visible or not. Prohibited practices are
/// mostly "none": a blocked case hides every other change, and would make the properties
/// about tiers vacuous.
fn answer_set() -> impl Strategy<Value = Map<String, Value>> {
    let questions = &shipped().questionnaire.questions;
    let ids: Vec<String> = questions.iter().map(|q| q.id.clone()).collect();
    questions
        .iter()
        .map(|q| match q.id.as_str() {
            "prohibited_practices" => {
                prop_oneof![9 => Just(json!(["none"])), 1 => answer(q)].boxed()
            }
            _ => answer(q),
        })
        .collect::<Vec<_>>()
        .prop_map(move |values| ids.iter().cloned().zip(values).collect())
}

fn parse(m: &Map<String, Value>) -> Answers {
    answers::parse(&shipped().questionnaire, m).expect("generated answers are valid")
}

fn run<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config::with_cases(RUNS));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// One step that only adds risk: more autonomy, less oversight, a higher-impact use, more
/// data kinds, more tools… `step` chooses the kind of step, `pick` what it picks.
fn add_risk_fact(m: &mut Map<String, Value>, step: usize, pick: usize) -> String {
    const LADDERS: &[(&str, &[&str])] = &[
        (
            "human_oversight",
            &["human_in_the_loop", "human_on_the_loop", "none"],
        ),
        (
            "affects_individuals",
            &["no", "informs_decisions", "determines_outcomes"],
        ),
        ("multi_agent", &["no", "internal_agents", "external_agents"]),
        (
            "safety_impact",
            &["none", "informs_safety_decisions", "safety_function"],
        ),
    ];
    const SETS: &[&str] = &[
        "intended_use",
        "tool_actions",
        "data_categories",
        "deployment_context",
        "prohibited_practices",
    ];
    const FLAGS: [&str; 4] = [
        "public_facing",
        "generative",
        "cross_border_transfer",
        "energy_intensive",
    ];
    match step {
        0 => {
            let a = m["autonomy_level"].as_i64().unwrap();
            m.insert("autonomy_level".into(), json!((a + 1).min(5)));
            "autonomy_level + 1".into()
        }
        1 => {
            let (id, ladder) = LADDERS[pick % LADDERS.len()];
            let at = ladder.iter().position(|v| m[id] == *v).unwrap();
            m.insert(id.into(), json!(ladder[(at + 1).min(ladder.len() - 1)]));
            format!("{id} one step up")
        }
        2 => {
            let id = FLAGS[pick % FLAGS.len()];
            m.insert(id.into(), json!(true));
            format!("{id} = true")
        }
        3 => {
            m.insert("actions_reversible".into(), json!(false));
            "actions_reversible = false".into()
        }
        _ => {
            let id = SETS[pick % SETS.len()];
            let q = shipped().questionnaire.get(id).unwrap();
            let extra = &q.options[1 + (pick / SETS.len()) % (q.options.len() - 1)].value;
            let mut now: Vec<Value> = m[id]
                .as_array()
                .unwrap()
                .iter()
                .filter(|v| *v != "none")
                .cloned()
                .collect();
            if !now.contains(&json!(extra)) {
                now.push(json!(extra));
            }
            m.insert(id.into(), Value::Array(now));
            format!("{extra} added to {id}")
        }
    }
}

#[test]
fn adding_a_risk_fact_never_lowers_the_tier() {
    run(
        (answer_set(), 0usize..6, any::<usize>()),
        |(before, step, pick)| {
            let mut after = before.clone();
            let change = add_risk_fact(&mut after, step, pick);
            let tier = |m: &Map<String, Value>| {
                assess(shipped(), &parse(m), CaseText::default(), false)
                    .unwrap()
                    .triage
            };
            let (a, b) = (tier(&before), tier(&after));
            prop_assert!(
                b.tier >= a.tier,
                "{change} lowered the tier from {} to {}\nbefore fired {:?}\nafter fired {:?}",
                a.tier,
                b.tier,
                a.fired.iter().map(|f| &f.rule).collect::<Vec<_>>(),
                b.fired.iter().map(|f| &f.rule).collect::<Vec<_>>()
            );
            Ok(())
        },
    );
}

#[test]
fn answers_to_hidden_questions_never_change_a_result() {
    let q = &shipped().questionnaire;
    let hidden_seen = AtomicUsize::new(0);
    run((answer_set(), answer_set()), |(base, other)| {
        let parsed = parse(&base);
        let eff = answers::effective(q, &parsed);
        let (mut changed, mut removed) = (base.clone(), base.clone());
        for (question, shown) in q.questions.iter().zip(&eff.visible) {
            if !shown {
                hidden_seen.fetch_add(1, Ordering::Relaxed);
                changed.insert(question.id.clone(), other[&question.id].clone());
                removed.remove(&question.id);
            }
        }
        let a = assess(shipped(), &parsed, CaseText::default(), false).unwrap();
        let with = |m: &Map<String, Value>| {
            assess(shipped(), &parse(m), CaseText::default(), false).unwrap()
        };
        prop_assert_eq!(
            &a,
            &with(&changed),
            "changing hidden answers changed the result"
        );
        prop_assert_eq!(
            &a,
            &with(&removed),
            "removing hidden answers changed the result"
        );
        Ok(())
    });
    assert!(
        hidden_seen.into_inner() > RUNS as usize,
        "the generator must produce hidden questions to test"
    );
}

#[test]
fn the_same_answers_and_rules_always_give_the_same_result() {
    run(answer_set(), |m| {
        let first = assess(shipped(), &parse(&m), CaseText::default(), false).unwrap();
        // Key order in the request does not matter either.
        let reversed: Map<String, Value> = m
            .iter()
            .rev()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let again = assess(shipped(), &parse(&m), CaseText::default(), false).unwrap();
        prop_assert_eq!(&first, &again);
        let reordered = assess(shipped(), &parse(&reversed), CaseText::default(), false).unwrap();
        prop_assert_eq!(&first, &reordered);
        Ok(())
    });
}

#[test]
fn native_conditions_agree_with_the_cel_interpreter() {
    use crate::rules::condition::Facts;
    let rules = shipped();
    let conditions: Vec<&crate::rules::condition::Condition> = rules
        .taxonomy
        .rules
        .iter()
        .map(|r| &r.when)
        .chain(
            rules
                .questionnaire
                .questions
                .iter()
                .filter_map(|q| q.visible_when.as_ref()),
        )
        .collect();
    let native = conditions.iter().filter(|c| c.is_native()).count();
    assert!(
        native * 10 >= conditions.len() * 9,
        "only {native} of {} conditions run natively",
        conditions.len()
    );
    let questions = rules.questionnaire.questions.len();
    let options: usize = rules
        .questionnaire
        .questions
        .iter()
        .map(|q| q.options.len())
        .sum();
    let fired = AtomicUsize::new(0);
    // Some answers dropped (absent answers), and some options hinted as if the text said so.
    let strategy = (
        answer_set(),
        vec(proptest::bool::weighted(0.15), questions),
        vec(proptest::bool::weighted(0.10), options),
    );
    run(strategy, |(mut m, drop, hint)| {
        for (q, d) in rules.questionnaire.questions.iter().zip(&drop) {
            if *d {
                m.remove(&q.id);
            }
        }
        let a = parse(&m);
        let mut eff = answers::effective(&rules.questionnaire, &a);
        let mut flags = hint.iter();
        for (slot, q) in rules.questionnaire.questions.iter().enumerate() {
            for o in &q.options {
                if flags.next() == Some(&true) {
                    eff.add_hint(slot, &o.value);
                }
            }
        }
        for c in &conditions {
            let native = c.eval(&eff);
            let interpreted = c.eval_cel(eff.cel(), eff.cel_hints());
            prop_assert_eq!(&native, &interpreted, "`{}`", c.source());
            fired.fetch_add(usize::from(native == Ok(true)), Ordering::Relaxed);
        }
        Ok(())
    });
    assert!(fired.into_inner() > 0);
}
