//! Property tests over thousands of random answer sets drawn from the shipped questionnaire:
//! adding a risk fact never lowers the tier, hidden answers never change a result, and the
//! same answers always give the same result. A failure names its seed so it can be replayed.

use serde_json::{json, Map, Value};

use super::answers::{self, Answers};
use super::assess;
use super::hints::CaseText;
use super::tests::shipped;
use crate::rules::model::{Kind, Question};

/// xorshift64*: small, fast, and enough to spread answers over the questionnaire.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn random_answer(q: &Question, rng: &mut Rng) -> Value {
    match q.kind {
        Kind::Single => json!(q.options[rng.below(q.options.len())].value),
        Kind::Multi => {
            let picked: Vec<&str> = q
                .options
                .iter()
                .filter(|o| o.value != "none" && rng.chance(25))
                .map(|o| o.value.as_str())
                .collect();
            if picked.is_empty() && q.option("none").is_some() {
                json!(["none"])
            } else if picked.is_empty() {
                json!([q.options[rng.below(q.options.len())].value])
            } else {
                json!(picked)
            }
        }
        Kind::Scale => {
            let (lo, hi) = (q.min.unwrap_or(0.0) as i64, q.max.unwrap_or(5.0) as i64);
            json!(lo + rng.below((hi - lo + 1) as usize) as i64)
        }
        Kind::Bool => json!(rng.chance(50)),
        Kind::Number => json!(rng.below(3_000_000) as f64),
        Kind::Text => json!("A use case."),
    }
}

/// A complete answer set: every question answered, visible or not.
fn random_answers(seed: u64) -> Map<String, Value> {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    shipped()
        .questionnaire
        .questions
        .iter()
        .map(|q| (q.id.clone(), random_answer(q, &mut rng)))
        .collect()
}

fn parse(m: &Map<String, Value>) -> Answers {
    answers::parse(&shipped().questionnaire, m).expect("generated answers are valid")
}

/// One step that only adds risk: more autonomy, less oversight, more data kinds, more tools…
fn add_risk_fact(m: &mut Map<String, Value>, rng: &mut Rng) -> String {
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
    match rng.below(6) {
        0 => {
            let a = m["autonomy_level"].as_i64().unwrap();
            m.insert("autonomy_level".into(), json!((a + 1).min(5)));
            "autonomy_level + 1".into()
        }
        1 => {
            let (id, ladder) = LADDERS[rng.below(LADDERS.len())];
            let at = ladder.iter().position(|v| m[id] == *v).unwrap();
            m.insert(id.into(), json!(ladder[(at + 1).min(ladder.len() - 1)]));
            format!("{id} one step up")
        }
        2 => {
            let id = [
                "public_facing",
                "generative",
                "cross_border_transfer",
                "energy_intensive",
            ][rng.below(4)];
            m.insert(id.into(), json!(true));
            format!("{id} = true")
        }
        3 => {
            m.insert("actions_reversible".into(), json!(false));
            "actions_reversible = false".into()
        }
        _ => {
            let id = SETS[rng.below(SETS.len())];
            let q = shipped().questionnaire.get(id).unwrap();
            let extra = &q.options[1 + rng.below(q.options.len() - 1)].value;
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

const RUNS: u64 = 1000;

#[test]
fn adding_a_risk_fact_never_lowers_the_tier() {
    for seed in 0..RUNS {
        let before = random_answers(seed);
        let mut after = before.clone();
        let mut rng = Rng(seed ^ 0xdead_beef);
        let step = add_risk_fact(&mut after, &mut rng);
        let a = assess(shipped(), &parse(&before), CaseText::default(), false)
            .unwrap()
            .triage;
        let b = assess(shipped(), &parse(&after), CaseText::default(), false)
            .unwrap()
            .triage;
        assert!(
            b.tier >= a.tier,
            "seed {seed}: {step} lowered the tier from {} to {}\nbefore fired {:?}\nafter fired {:?}",
            a.tier,
            b.tier,
            a.fired.iter().map(|f| &f.rule).collect::<Vec<_>>(),
            b.fired.iter().map(|f| &f.rule).collect::<Vec<_>>()
        );
    }
}

#[test]
fn answers_to_hidden_questions_never_change_a_result() {
    let q = &shipped().questionnaire;
    let mut hidden_seen = 0;
    for seed in 0..RUNS {
        let base = random_answers(seed);
        let parsed = parse(&base);
        let eff = answers::effective(q, &parsed);
        let mut rng = Rng(seed ^ 0x5eed);
        let mut changed = base.clone();
        for (question, shown) in q.questions.iter().zip(&eff.visible) {
            if !shown {
                hidden_seen += 1;
                changed.insert(question.id.clone(), random_answer(question, &mut rng));
            }
        }
        let mut removed = base.clone();
        for (question, shown) in q.questions.iter().zip(&eff.visible) {
            if !shown {
                removed.remove(&question.id);
            }
        }
        let a = assess(shipped(), &parsed, CaseText::default(), false).unwrap();
        assert_eq!(
            a,
            assess(shipped(), &parse(&changed), CaseText::default(), false).unwrap(),
            "seed {seed}: changing hidden answers changed the result"
        );
        assert_eq!(
            a,
            assess(shipped(), &parse(&removed), CaseText::default(), false).unwrap(),
            "seed {seed}: removing hidden answers changed the result"
        );
    }
    assert!(
        hidden_seen > RUNS as usize,
        "the generator must produce hidden questions to test"
    );
}

#[test]
fn the_same_answers_and_rules_always_give_the_same_result() {
    for seed in 0..RUNS / 3 {
        let m = random_answers(seed);
        let first = assess(shipped(), &parse(&m), CaseText::default(), false).unwrap();
        // Key order in the request does not matter either.
        let reversed: Map<String, Value> = m
            .iter()
            .rev()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(
            first,
            assess(shipped(), &parse(&m), CaseText::default(), false).unwrap(),
            "seed {seed}"
        );
        assert_eq!(
            first,
            assess(shipped(), &parse(&reversed), CaseText::default(), false).unwrap(),
            "seed {seed}"
        );
    }
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
    let mut fired = 0;
    for seed in 0..RUNS {
        // Drop some answers too, so absent answers are exercised.
        let mut m = random_answers(seed);
        let mut rng = Rng(seed ^ 0xabcd);
        m.retain(|_, _| !rng.chance(15));
        let a = parse(&m);
        let mut eff = answers::effective(&rules.questionnaire, &a);
        // Hints too: some options of some choice questions, as if the text suggested them.
        for (slot, q) in rules.questionnaire.questions.iter().enumerate() {
            for o in &q.options {
                if rng.chance(10) {
                    eff.add_hint(slot, &o.value);
                }
            }
        }
        for c in &conditions {
            let native = c.eval(&eff);
            let interpreted = c.eval_cel(eff.cel(), eff.cel_hints());
            assert_eq!(native, interpreted, "seed {seed}: `{}`", c.source());
            fired += usize::from(native == Ok(true));
        }
    }
    assert!(fired > 0);
}
