//! Scoring and triage on the shipped rule pack.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::json;

use super::answers::{self, Answers};
use super::case::{Route, Tier};
use super::*;
use crate::rules::{load_dir, RuleSet};

pub(crate) fn shipped() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        load_dir(&dir).unwrap_or_else(|errs| {
            panic!(
                "{}",
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
    })
}

/// A complete, benign back-office answer set: nothing in it should fire a risk rule.
pub(crate) fn benign() -> serde_json::Value {
    json!({
        "purpose": "Sort incoming procurement e-mails into folders for the team.",
        "intended_use": ["internal_operations"],
        "safety_impact": "none",
        "beneficiaries": ["staff"],
        "stage": "pilot",
        "mandate_alignment": 2,
        "people_served": 40,
        "efficiency_gain": "significant",
        "urgency": "medium",
        "replicability": "some_agencies",
        "data_availability": "available",
        "data_quality": 4,
        "model_maturity": "proven",
        "integration_complexity": "few_systems",
        "cost_estimate": "under_50k",
        "vendor_dependence": "replaceable",
        "executive_sponsor": true,
        "team_skills": "partial",
        "budget_secured": "yes",
        "governance_in_place": true,
        "change_management": "planned",
        "data_governance": "established",
        "autonomy_level": 1,
        "human_oversight": "human_in_the_loop",
        "tool_actions": ["read_internal"],
        "actions_reversible": true,
        "multi_agent": "no",
        "data_categories": ["internal"],
        "affects_individuals": "no",
        "public_facing": false,
        "generative": false,
        "deployment_context": ["headquarters"],
        "prohibited_practices": ["none"],
        "model_provenance": "in_house",
        "data_retention": "defined",
        "cross_border_transfer": false,
        "explainability_need": "low",
        "evaluation_done": ["accuracy"],
        "incident_response": true
    })
}

pub(crate) fn with(base: serde_json::Value, changes: serde_json::Value) -> serde_json::Value {
    let mut b = base;
    for (k, v) in changes.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

fn parse(v: serde_json::Value) -> Answers {
    answers::parse(&shipped().questionnaire, v.as_object().unwrap()).unwrap()
}

fn assess_json(v: serde_json::Value) -> Assessment {
    assess(shipped(), &parse(v), CaseText::default(), true).unwrap()
}

fn fired(a: &Assessment) -> Vec<&str> {
    a.triage.fired.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn the_shipped_pack_loads_with_enough_content() {
    let r = shipped();
    assert!(r.questionnaire.questions.len() >= 30);
    assert!(r.taxonomy.rules.len() >= 40);
    let nodes: std::collections::BTreeSet<&str> =
        r.taxonomy.rules.iter().map(|x| x.node.as_str()).collect();
    assert!(nodes.len() >= 12, "{nodes:?}");
    assert_eq!(r.version.len(), 16);
}

#[test]
fn a_benign_back_office_tool_is_low_risk_and_cleared() {
    let a = assess_json(benign());
    assert_eq!(fired(&a), Vec::<&str>::new());
    assert_eq!(a.triage.tier, Tier::Low);
    assert_eq!(a.triage.route, Route::AutoClear);
    assert_eq!(a.triage.required_approvals, 0);
}

#[test]
fn each_route_is_reachable() {
    let medium = assess_json(with(
        benign(),
        json!({"data_categories": ["personal"], "legal_basis": "mandate"}),
    ));
    assert_eq!(
        (medium.triage.tier, medium.triage.route),
        (Tier::Medium, Route::FunctionalReview)
    );
    assert_eq!(medium.triage.review_groups, ["privacy"]);
    assert_eq!(medium.triage.required_approvals, 1);

    let high = assess_json(with(
        benign(),
        json!({"generative": true, "public_facing": true, "tool_actions": ["none"], "evaluation_done": ["accuracy", "red_teaming"]}),
    ));
    assert_eq!(
        (high.triage.tier, high.triage.route),
        (Tier::High, Route::HumanApproval),
        "{:?}",
        fired(&high)
    );
    assert_eq!(high.triage.required_approvals, 1);

    let critical = assess_json(with(
        benign(),
        json!({"affects_individuals": "determines_outcomes", "evaluation_done": ["accuracy", "bias"]}),
    ));
    assert_eq!(
        (critical.triage.tier, critical.triage.route),
        (Tier::Critical, Route::HumanApproval)
    );
    assert_eq!(critical.triage.required_approvals, 2);
    assert!(critical.triage.senior_required);

    let blocked = assess_json(with(
        benign(),
        json!({"prohibited_practices": ["social_scoring"]}),
    ));
    assert_eq!(
        (blocked.triage.tier, blocked.triage.route),
        (Tier::Prohibited, Route::Blocked)
    );
    assert_eq!(fired(&blocked), ["prohibited.social_scoring"]);
}

#[test]
fn a_hidden_questions_answer_is_ignored_by_scoring_and_triage() {
    // With autonomy 0 the agentic questions are hidden: an alarming answer to them changes nothing.
    let base = with(benign(), json!({"autonomy_level": 0}));
    let hidden = with(
        base.clone(),
        json!({"tool_actions": ["financial_transaction", "physical_world"], "actions_reversible": false, "multi_agent": "external_agents"}),
    );
    let mut base_no_agentic = base.clone();
    for k in ["tool_actions", "actions_reversible", "multi_agent"] {
        base_no_agentic.as_object_mut().unwrap().remove(k);
    }
    let a = assess_json(base_no_agentic);
    let b = assess_json(hidden.clone());
    assert_eq!(a, b);
    assert_eq!(b.triage.tier, Tier::Low);
    // The same answers with autonomy above zero are seen, and fire.
    let shown = assess_json(with(
        hidden,
        json!({"autonomy_level": 3, "action_limits": "enforced", "objective_observable": true, "agent_identity": true}),
    ));
    assert!(
        fired(&shown).contains(&"agentic.physical_world"),
        "{:?}",
        fired(&shown)
    );
    assert_eq!(shown.triage.tier, Tier::Critical);
}

#[test]
fn a_chain_of_hidden_questions_is_hidden_too() {
    // agent_identity depends on multi_agent, which depends on autonomy_level.
    let a = assess_json(with(
        benign(),
        json!({"autonomy_level": 0, "multi_agent": "external_agents", "agent_identity": false}),
    ));
    assert!(!fired(&a).contains(&"agentic.unverified_agent_identity"));
}

#[test]
fn missing_required_answers_block_submission_but_not_preview() {
    let mut v = benign();
    v.as_object_mut().unwrap().remove("human_oversight");
    let answers = parse(v);
    let errs = assess(shipped(), &answers, CaseText::default(), true).unwrap_err();
    assert_eq!(
        errs,
        [FieldError::new(
            "answers.human_oversight",
            "an answer is required"
        )]
        .map(|e| FieldError {
            says: Some(super::message::Says::Required),
            ..e
        })
    );
    assert!(assess(shipped(), &answers, CaseText::default(), false).is_ok());
}

#[test]
fn a_conditional_required_question_is_required_only_when_visible() {
    let v = with(benign(), json!({"data_categories": ["children"]}));
    let errs = assess(shipped(), &parse(v.clone()), CaseText::default(), true).unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.field == "answers.children_safeguards"),
        "{errs:?}"
    );
    let ok = assess_json(with(
        v.clone(),
        json!({"children_safeguards": "assessed", "legal_basis": "mandate"}),
    ));
    // Nobody is affected in the benign base: children's data is a privacy review there.
    assert!(fired(&ok).contains(&"privacy.sensitive_data_nobody_affected"));
    assert_eq!(ok.triage.route, Route::FunctionalReview);
    let affected = assess_json(with(
        with(
            v,
            json!({"children_safeguards": "assessed", "legal_basis": "mandate"}),
        ),
        json!({"affects_individuals": "informs_decisions"}),
    ));
    assert!(fired(&affected).contains(&"privacy.children"));
}

#[test]
fn answers_of_the_wrong_kind_or_out_of_range_are_refused_with_their_field() {
    let q = &shipped().questionnaire;
    let bad = json!({
        "autonomy_level": 9,
        "human_oversight": "sometimes",
        "tool_actions": "none",
        "public_facing": "yes",
        "nonexistent": 1,
        "data_categories": ["none", "personal"],
        "people_served": -5,
        "data_quality": 2.5
    });
    let errs = answers::parse(q, bad.as_object().unwrap()).unwrap_err();
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    for f in [
        "answers.autonomy_level",
        "answers.human_oversight",
        "answers.tool_actions",
        "answers.public_facing",
        "answers.nonexistent",
        "answers.data_categories",
        "answers.people_served",
        "answers.data_quality",
    ] {
        assert!(fields.contains(&f), "{f} missing from {errs:?}");
    }
}

#[test]
fn scores_are_bounded_and_explained_by_their_breakdown() {
    let a = assess_json(benign());
    for s in [
        a.scores.business_value,
        a.scores.feasibility,
        a.scores.readiness,
        a.scores.priority,
    ] {
        assert!((0..=100).contains(&s), "{s}");
    }
    assert!(a
        .scores
        .breakdown
        .iter()
        .any(|c| c.question == "mandate_alignment" && c.business_value == 4.0));
    // A stronger case scores higher on each dimension.
    let strong = assess_json(with(
        benign(),
        json!({
            "mandate_alignment": 4, "urgency": "critical", "efficiency_gain": "transformative",
            "replicability": "system_wide", "people_served": 2000000,
            "data_availability": "available_curated", "data_quality": 5, "integration_complexity": "standalone",
            "team_skills": "in_house", "change_management": "underway"
        }),
    ));
    assert!(strong.scores.business_value > a.scores.business_value);
    assert!(strong.scores.feasibility > a.scores.feasibility);
    assert!(strong.scores.readiness > a.scores.readiness);
    assert_eq!(strong.scores.quadrant, "pursue_now");
    let weak = assess_json(with(
        benign(),
        json!({
            "mandate_alignment": 0, "urgency": "low", "efficiency_gain": "none", "replicability": "agency_specific",
            "beneficiaries": ["staff"], "people_served": 1,
            "data_availability": "not_available", "data_quality": 1, "model_maturity": "research",
            "integration_complexity": "legacy_core", "cost_estimate": "over_1m", "vendor_dependence": "locked_in"
        }),
    ));
    assert_eq!(weak.scores.quadrant, "reconsider");
}

#[test]
fn the_priority_follows_the_documented_formula() {
    let a = assess_json(benign());
    let s = &a.scores;
    let expected =
        0.5 * s.business_value as f64 + 0.25 * s.feasibility as f64 + 0.25 * s.readiness as f64;
    assert!((s.priority as f64 - expected).abs() <= 1.0, "{s:?}");
}

#[test]
fn many_nodes_firing_raise_the_tier() {
    // Four medium-scoring rules on four nodes: medium raised to high.
    let a = assess_json(with(
        benign(),
        json!({
            "data_categories": ["personal"],
            "legal_basis": "mandate",
            "public_facing": true,
            "vendor_dependence": "locked_in",
            "energy_intensive": true,
            "data_retention": "defined",
            "incident_response": true
        }),
    ));
    assert!(a.triage.raised, "{:?}", fired(&a));
    assert_eq!(a.triage.tier, Tier::High);
}

/// An example case's declarations with its imports applied, as the service applies them.
fn imported(
    c: &crate::rules::cases::ExampleCase,
) -> Result<crate::vocab::agents::Declarations, Vec<super::FieldError>> {
    let mut d = c.declarations.clone();
    for i in &c.imports {
        super::agents::import(&mut d, i.format, &i.agent, &i.document)?;
    }
    Ok(d)
}

/// Every example case in rules/cases gets exactly the tier, route and fired rules it states.
/// All mismatches are reported together, each as a readable diff.
#[test]
fn the_example_cases_get_their_expected_triage() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/cases");
    let cases = crate::rules::cases::load_cases(&dir).unwrap();
    assert!(cases.len() >= 30, "only {} example cases", cases.len());
    let mut report = Vec::new();
    for c in &cases {
        let q = &shipped().questionnaire;
        let (answers, declared) = match answers::parse(q, &c.answers) {
            Ok(mut a) => match imported(c).and_then(|d| super::agents::declare(q, &mut a, d)) {
                Ok(d) => (a, d),
                Err(e) => {
                    report.push(format!("{}: declarations do not check: {e:?}", c.name));
                    continue;
                }
            },
            Err(e) => {
                report.push(format!(
                    "{}: answers do not fit the questionnaire: {e:?}",
                    c.name
                ));
                continue;
            }
        };
        let text = CaseText {
            title: &c.title,
            summary: &c.summary,
        };
        let a = match super::assess_declared(shipped(), &answers, text, &declared, true) {
            Ok(a) => a,
            Err(e) => {
                report.push(format!("{}: incomplete answers: {e:?}", c.name));
                continue;
            }
        };
        let got: std::collections::BTreeSet<String> =
            a.triage.fired.iter().map(|f| f.rule.clone()).collect();
        let mut lines = Vec::new();
        if a.triage.tier != c.expect.tier {
            lines.push(format!(
                "  tier:  expected {}, got {} (risk score {}, raised {})",
                c.expect.tier, a.triage.tier, a.triage.risk_score, a.triage.raised
            ));
        }
        if a.triage.route != c.expect.route {
            lines.push(format!(
                "  route: expected {}, got {}",
                c.expect.route, a.triage.route
            ));
        }
        for r in c.expect.fired.difference(&got) {
            lines.push(format!("  - {r} (expected to fire, did not)"));
        }
        for r in got.difference(&c.expect.fired) {
            lines.push(format!("  + {r} (fired, not expected)"));
        }
        for (rule, subjects) in &c.expect.subjects {
            let fired_for = a.triage.fired.iter().find(|f| &f.rule == rule);
            let got = fired_for.map(|f| f.subjects.clone()).unwrap_or_default();
            if &got != subjects {
                lines.push(format!(
                    "  {rule}: fired for {got:?}, expected {subjects:?}"
                ));
            }
        }
        if !lines.is_empty() {
            for h in a.hints.iter().filter(|h| !h.declared) {
                lines.push(format!(
                    "  hint {} from \"{}\" in {}",
                    h.fact, h.words, h.field
                ));
            }
            report.push(format!("cases/{}.toml:\n{}", c.name, lines.join("\n")));
        }
    }
    assert!(
        report.is_empty(),
        "{} example case(s) differ:\n{}",
        report.len(),
        report.join("\n")
    );
}

#[test]
fn a_number_below_its_minimum_says_the_minimum_in_words() {
    let mut v = benign();
    v["people_served"] = json!(-5);
    let errs = answers::parse(&shipped().questionnaire, v.as_object().unwrap()).unwrap_err();
    let e = errs
        .iter()
        .find(|e| e.field == "answers.people_served")
        .unwrap();
    assert_eq!(e.message, "must be at least 0");
}

/// A what-if under the rules in force changes nothing, agentic cases included: simulation
/// reads a case's declarations as triage does.
#[test]
fn simulating_the_rules_in_force_changes_no_example_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/cases");
    let q = &shipped().questionnaire;
    let mut stored = Vec::new();
    for c in crate::rules::cases::load_cases(&dir).unwrap() {
        let mut a = answers::parse(q, &c.answers).unwrap();
        let d = super::agents::declare(q, &mut a, imported(&c).unwrap()).unwrap();
        stored.push(super::simulate::Stored {
            id: c.name.clone().into(),
            agency: "X".into(),
            title: c.title.clone(),
            tier: c.expect.tier,
            route: c.expect.route,
            rules_version: shipped().version.clone(),
            answers: a,
            declarations: d,
        });
    }
    let agentic: Vec<crate::vocab::CaseId> = stored
        .iter()
        .filter(|s| !s.declarations.is_empty())
        .map(|s| s.id.clone())
        .collect();
    assert!(agentic.len() >= 4, "{agentic:?}");
    let mut s = super::simulate::Summary::new(shipped());
    s.add_all(shipped(), stored);
    // Text hints are not simulated (stored cases are re-triaged on their answers), so a case
    // whose triage depends on its text may differ; none of the agentic ones does.
    for c in &s.changes {
        assert!(
            !agentic.contains(&c.id),
            "{} changed under the same rules",
            c.id
        );
    }
}

#[test]
fn progress_counts_the_required_questions_that_apply_in_each_section() {
    let q = &shipped().questionnaire;
    let parse = |v: serde_json::Value| answers::parse(q, v.as_object().unwrap()).unwrap();
    let full = parse(benign());
    let eff = answers::effective(q, &full);
    let all = answers::progress(q, &full, &eff);
    assert_eq!(all.len(), q.sections.len());
    assert!(
        all.iter()
            .all(|p| p.answered == p.required && p.required > 0),
        "{all:?}"
    );
    // No automation: the agentic questions do not apply, and nothing is answered yet.
    let some = parse(json!({"autonomy_level": 0, "urgency": "high"}));
    let eff = answers::effective(q, &some);
    let part = answers::progress(q, &some, &eff);
    let risk = part.iter().find(|p| p.section == "risk").unwrap();
    let risk_full = all.iter().find(|p| p.section == "risk").unwrap();
    assert_eq!(risk.answered, 1);
    assert!(risk.required < risk_full.required, "{risk:?} {risk_full:?}");
    assert_eq!(
        part.iter().find(|p| p.section == "value").unwrap().answered,
        1
    );
}
