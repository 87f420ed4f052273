//! Reads a rule pack from a folder, validates every part, and compiles it into a [`RuleSet`].
//! Every problem is collected (not just the first) with its file, line and column.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::condition::{answers_value, Condition, QuestionLookup};
use super::declared::{self, Declared};
use super::diag::{Diagnostic, Source};
use super::lexicon::{phrase_words, Fact, Lexicon};
use super::model::*;
use crate::vocab::agents::{Each, Guardrail};
use crate::vocab::{Route, Tier};

/// The question ids (and their kinds and option values) that other tools rely on.
pub const CORE_QUESTIONS: &[(&str, Kind, &[&str])] = &[
    ("autonomy_level", Kind::Scale, &[]),
    (
        "human_oversight",
        Kind::Single,
        &["human_in_the_loop", "human_on_the_loop", "none"],
    ),
    (
        "tool_actions",
        Kind::Multi,
        &[
            "none",
            "read_internal",
            "write_internal",
            "external_communication",
            "financial_transaction",
            "code_execution",
            "physical_world",
        ],
    ),
    ("actions_reversible", Kind::Bool, &[]),
    (
        "multi_agent",
        Kind::Single,
        &["no", "internal_agents", "external_agents"],
    ),
    (
        "data_categories",
        Kind::Multi,
        &[
            "none",
            "public",
            "internal",
            "personal",
            "sensitive_personal",
            "children",
            "refugees_or_displaced",
            "health",
            "biometric",
            "security_or_location",
        ],
    ),
    (
        "affects_individuals",
        Kind::Single,
        &["no", "informs_decisions", "determines_outcomes"],
    ),
    ("public_facing", Kind::Bool, &[]),
    ("generative", Kind::Bool, &[]),
    (
        "deployment_context",
        Kind::Multi,
        &["headquarters", "field", "crisis_or_conflict"],
    ),
    (
        "prohibited_practices",
        Kind::Multi,
        &[
            "none",
            "social_scoring",
            "manipulation",
            "exploit_vulnerabilities",
            "realtime_remote_biometric_id",
            "emotion_recognition_workplace",
            "predictive_policing_individuals",
            "untargeted_face_scraping",
            "biometric_categorisation_sensitive",
        ],
    ),
    (
        "model_provenance",
        Kind::Single,
        &[
            "in_house",
            "open_weights",
            "commercial_api",
            "vendor_embedded",
        ],
    ),
];

// ---- the files as written -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestionnaire {
    #[serde(default)]
    section: Vec<RawSection>,
    #[serde(default)]
    question: Vec<Spanned<RawQuestion>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDims {
    #[serde(default)]
    business_value: f64,
    #[serde(default)]
    feasibility: f64,
    #[serde(default)]
    readiness: f64,
}

impl RawDims {
    fn dims(&self) -> Dims {
        Dims {
            business_value: self.business_value,
            feasibility: self.feasibility,
            readiness: self.readiness,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: Spanned<String>,
    label: String,
    #[serde(default)]
    business_value: f64,
    #[serde(default)]
    feasibility: f64,
    #[serde(default)]
    readiness: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    at_least: f64,
    #[serde(default)]
    business_value: f64,
    #[serde(default)]
    feasibility: f64,
    #[serde(default)]
    readiness: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    section: Spanned<String>,
    kind: Spanned<String>,
    prompt: String,
    help: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    options: Vec<RawOption>,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(default)]
    per_step: RawDims,
    #[serde(default)]
    if_true: RawDims,
    #[serde(default)]
    if_false: RawDims,
    #[serde(default)]
    bands: Vec<RawBand>,
    max_length: Option<usize>,
    visible_when: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScoring {
    priority: Spanned<RawDims>,
    quadrants: RawThresholds,
    quadrant: Spanned<Vec<Spanned<RawQuadrant>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    value_threshold: Spanned<f64>,
    feasibility_threshold: Spanned<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuadrant {
    id: String,
    label: String,
    value: Spanned<String>,
    feasibility: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxonomy {
    #[serde(default)]
    node: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    id: Spanned<String>,
    title: String,
    parent: Option<Spanned<String>>,
    layer: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    node: Spanned<String>,
    title: String,
    when: Spanned<String>,
    severity: Spanned<i64>,
    likelihood: Spanned<i64>,
    review_group: Spanned<String>,
    rationale: Spanned<String>,
    #[serde(default)]
    prohibited: bool,
    frameworks: Option<RawFrameworks>,
    each: Option<Spanned<String>>,
    guardrail: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrameworks {
    eu_ai_act: Option<String>,
    nist_ai_rmf: Option<String>,
    iso_42001: Option<String>,
    mit_ai_risk: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLexicon {
    language: Spanned<String>,
    #[serde(default)]
    hint: Vec<RawHint>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHint {
    fact: Spanned<String>,
    phrases: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    tiers: RawTiers,
    route: Spanned<HashMap<String, Spanned<RawRoute>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTiers {
    medium: Spanned<i64>,
    high: Spanned<i64>,
    critical: Spanned<i64>,
    raise_at_nodes: Spanned<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    action: Spanned<String>,
    #[serde(default)]
    approvals: u32,
    #[serde(default)]
    senior_required: bool,
    sla_working_days: Option<u32>,
}

// ---- loading ---------------------------------------------------------------------------------

/// Loads and validates the rule pack in `dir`.
pub fn load_dir(dir: &Path) -> Result<RuleSet, Vec<Diagnostic>> {
    let mut l = Loader::default();
    let questionnaire = l.read(dir, "questionnaire.toml");
    let scoring = l.read(dir, "scoring.toml");
    let taxonomy = l.read(dir, "taxonomy.toml");
    let routing = l.read(dir, "routing.toml");
    let risk_files = toml_files(&dir.join("risks"));
    if risk_files.is_empty() {
        l.diags.push(Diagnostic {
            file: dir.join("risks"),
            line: 1,
            column: 1,
            message: "no rule files (risks/*.toml) found".into(),
        });
    }
    let risks: Vec<Source> = risk_files.iter().filter_map(|p| l.read_path(p)).collect();
    let lexicon_files = toml_files(&dir.join("lexicon"));
    let lexicon_sources: Vec<Source> = lexicon_files
        .iter()
        .filter_map(|p| l.read_path(p))
        .collect();

    let q = questionnaire
        .map(|s| l.questionnaire(&s))
        .unwrap_or_default();
    let sc = scoring.and_then(|s| l.scoring(&s));
    let nodes = taxonomy.map(|s| l.nodes(&s)).unwrap_or_default();
    let mut rules = Vec::new();
    let mut rule_ids = HashSet::new();
    for src in &risks {
        l.rules(src, &q, &nodes, &mut rule_ids, &mut rules);
    }
    let rt = routing.and_then(|s| l.routing(&s));
    let lexicon = l.lexicon(&lexicon_sources, &q);

    match (sc, rt) {
        (Some(scoring), Some(routing)) if l.diags.is_empty() => {
            let mut all: Vec<&Source> = l.sources.iter().collect();
            all.sort_by(|a, b| a.path.cmp(&b.path));
            let mut set = RuleSet {
                version: version_of(dir, &all),
                questionnaire: q,
                scoring,
                taxonomy: Taxonomy { nodes, rules },
                routing,
                lexicon,
                translations: Default::default(),
            };
            set.translations = translations(dir, &set)?;
            Ok(set)
        }
        _ => Err(l.diags),
    }
}

/// The pack's translations (`i18n/<lang>.toml`). They are not part of the rules version: they
/// change what people read, not a triage. A key the pack does not have (a renamed question,
/// a removed rule) is refused, so a stale translation is noticed; a missing one shows English
/// (`rules check` reports it: `Texts::missing`).
fn translations(
    dir: &Path,
    set: &RuleSet,
) -> Result<HashMap<String, crate::rules::i18n::Texts>, Vec<Diagnostic>> {
    let mut out = HashMap::new();
    let mut diags = Vec::new();
    let mut gaps = Vec::new();
    for path in toml_files(&dir.join("i18n")) {
        let parsed = fs::read_to_string(&path)
            .map_err(|e| Diagnostic {
                file: path.clone(),
                line: 1,
                column: 1,
                message: e.to_string(),
            })
            .and_then(|text| crate::rules::i18n::Texts::parse(&path, text));
        let texts = match parsed {
            Ok(t) => t,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        diags.extend(texts.extra(set));
        gaps.extend(texts.missing(set));
        let lang = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        out.insert(lang, texts);
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        // Refused anyway: say every gap too, so one `rules check` lists all that is to do.
        diags.extend(gaps);
        Err(diags)
    }
}

/// The `.toml` files of a folder, sorted; none when it does not exist.
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A content hash of every rule file (paths relative to the pack), so a stored triage can say
/// exactly which rules produced it.
fn version_of(dir: &Path, sources: &[&Source]) -> String {
    let mut h = Sha256::new();
    for s in sources {
        let rel = s.path.strip_prefix(dir).unwrap_or(&s.path);
        h.update(rel.to_string_lossy().replace('\\', "/").as_bytes());
        h.update([0]);
        h.update(s.text.as_bytes());
        h.update([0]);
    }
    let digest = h.finalize();
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Default)]
struct Loader {
    diags: Vec<Diagnostic>,
    sources: Vec<Source>,
}

/// The questions defined before a given one: what its `visible_when` may read.
struct Earlier<'a>(&'a Questionnaire);

impl QuestionLookup for Earlier<'_> {
    fn options_of(&self, id: &str) -> Option<Option<Vec<&str>>> {
        self.0.options_of(id)
    }

    fn slot(&self, id: &str) -> Option<(usize, Kind)> {
        self.0.slot(id)
    }
}

impl Loader {
    fn read(&mut self, dir: &Path, name: &str) -> Option<Source> {
        self.read_path(&dir.join(name))
    }

    fn read_path(&mut self, path: &Path) -> Option<Source> {
        match fs::read_to_string(path) {
            Ok(text) => {
                self.sources.push(Source::new(path, text.clone()));
                Some(Source::new(path, text))
            }
            Err(e) => {
                self.diags.push(Diagnostic {
                    file: path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: format!("cannot read: {e}"),
                });
                None
            }
        }
    }

    fn parse<T: DeserializeOwned>(&mut self, src: &Source) -> Option<T> {
        match toml::from_str::<T>(&src.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                self.diags.push(src.at(at, e.message().trim().to_string()));
                None
            }
        }
    }

    fn err(&mut self, src: &Source, span: Range<usize>, msg: impl Into<String>) {
        self.diags.push(src.at(span.start, msg));
    }

    /// Compiles a condition, placing any error at its position inside the file.
    fn condition(
        &mut self,
        src: &Source,
        text: &Spanned<String>,
        lookup: &dyn QuestionLookup,
    ) -> Option<Condition> {
        self.condition_for(src, text, lookup, None)
    }

    /// A rule's `each`; a guardrail needs one (it says what the runtime does with the
    /// elements the rule fired for).
    fn each(&mut self, src: &Source, r: &RawRule) -> Option<Each> {
        let each = self.named(src, r.each.as_ref(), Each::ALL, Each::parse);
        if let (None, Some(g)) = (each, &r.guardrail) {
            self.err(
                src,
                g.span(),
                "a guardrail applies to the elements a rule fires for: give the rule `each`",
            );
        }
        each
    }

    /// A value that must be one of an enum's names.
    fn named<T: Copy + std::fmt::Display>(
        &mut self,
        src: &Source,
        value: Option<&Spanned<String>>,
        all: &[T],
        parse: fn(&str) -> Option<T>,
    ) -> Option<T> {
        let v = value?;
        let parsed = parse(v.get_ref());
        if parsed.is_none() {
            let names: Vec<String> = all.iter().map(ToString::to_string).collect();
            self.err(
                src,
                v.span(),
                format!("`{}` is not one of {}", v.get_ref(), names.join(", ")),
            );
        }
        parsed
    }

    fn condition_for(
        &mut self,
        src: &Source,
        text: &Spanned<String>,
        lookup: &dyn QuestionLookup,
        each: Option<Each>,
    ) -> Option<Condition> {
        match Condition::compile_for(text.get_ref(), lookup, each) {
            Ok(c) => Some(c),
            Err(errs) => {
                for e in errs {
                    let (line, column) =
                        position_in_string(src, text.span().start, e.line, e.column);
                    self.diags.push(Diagnostic {
                        file: src.path.clone(),
                        line,
                        column,
                        message: e.message,
                    });
                }
                None
            }
        }
    }

    fn questionnaire(&mut self, src: &Source) -> Questionnaire {
        let mut q = Questionnaire::default();
        let Some(raw) = self.parse::<RawQuestionnaire>(src) else {
            return q;
        };
        let mut section_index = HashMap::new();
        for s in raw.section {
            if section_index.contains_key(s.id.get_ref()) {
                self.err(
                    src,
                    s.id.span(),
                    format!("duplicate section id `{}`", s.id.get_ref()),
                );
                continue;
            }
            section_index.insert(s.id.get_ref().clone(), q.sections.len());
            q.sections.push(Section {
                id: s.id.into_inner(),
                title: s.title,
                questions: Vec::new(),
            });
        }
        for rq in raw.question {
            let span = rq.span();
            let rq = rq.into_inner();
            if let Some(question) = self.question(src, span, rq, &q, &section_index) {
                let si = section_index[&question.section];
                q.sections[si].questions.push(q.questions.len());
                q.index.insert(question.id.clone(), q.questions.len());
                q.questions.push(question);
            }
        }
        for (id, kind, values) in CORE_QUESTIONS {
            match q.get(id) {
                None => self.err(
                    src,
                    0..0,
                    format!("the core question `{id}` is missing (other tools rely on it)"),
                ),
                Some(question) if question.kind != *kind => self.err(
                    src,
                    0..0,
                    format!("the core question `{id}` must be of kind {kind:?}"),
                ),
                Some(question) => {
                    for v in *values {
                        if question.option(v).is_none() {
                            self.err(
                                src,
                                0..0,
                                format!("the core question `{id}` must offer the option \"{v}\""),
                            );
                        }
                    }
                }
            }
        }
        q
    }

    /// Checks a question's id, section and help text.
    fn question_names(
        &mut self,
        src: &Source,
        rq: &RawQuestion,
        q: &Questionnaire,
        sections: &HashMap<String, usize>,
    ) {
        let id = rq.id.get_ref();
        if !is_identifier(id) {
            self.err(
                src,
                rq.id.span(),
                format!("question id `{id}` must be lower_snake_case"),
            );
        }
        if q.index.contains_key(id) {
            self.err(src, rq.id.span(), format!("duplicate question id `{id}`"));
        }
        if !sections.contains_key(rq.section.get_ref()) {
            self.err(
                src,
                rq.section.span(),
                format!("unknown section `{}`", rq.section.get_ref()),
            );
        }
        if rq.help.get_ref().trim().is_empty() {
            self.err(
                src,
                rq.help.span(),
                format!("question `{id}` needs help text"),
            );
        }
    }

    /// Checks that a question's options and range fit its kind.
    fn question_shape(&mut self, src: &Source, span: Range<usize>, rq: &RawQuestion, kind: Kind) {
        let id = rq.id.get_ref();
        if kind.has_options() {
            if rq.options.len() < 2 {
                self.err(
                    src,
                    span.clone(),
                    format!("{:?} question `{id}` needs at least two options", kind),
                );
            }
            let mut seen = HashSet::new();
            for o in &rq.options {
                if !seen.insert(o.value.get_ref().as_str()) {
                    self.err(
                        src,
                        o.value.span(),
                        format!("duplicate option \"{}\"", o.value.get_ref()),
                    );
                }
            }
        } else if !rq.options.is_empty() {
            self.err(
                src,
                span.clone(),
                format!("only single and multi questions have options (`{id}`)"),
            );
        }
        if kind == Kind::Scale {
            match (rq.min, rq.max) {
                (Some(lo), Some(hi)) if lo < hi && lo.fract() == 0.0 && hi.fract() == 0.0 => {}
                _ => self.err(
                    src,
                    span.clone(),
                    format!("scale question `{id}` needs whole-number min < max"),
                ),
            }
        }
        if let (Some(lo), Some(hi)) = (rq.min, rq.max) {
            if lo > hi {
                self.err(src, span, format!("question `{id}`: min is above max"));
            }
        }
    }

    fn question(
        &mut self,
        src: &Source,
        span: Range<usize>,
        rq: RawQuestion,
        q: &Questionnaire,
        sections: &HashMap<String, usize>,
    ) -> Option<Question> {
        let before = self.diags.len();
        self.question_names(src, &rq, q, sections);
        let Some(kind) = Kind::parse(rq.kind.get_ref()) else {
            self.err(
                src,
                rq.kind.span(),
                format!(
                    "unknown kind `{}` (single, multi, scale, bool, text, number)",
                    rq.kind.get_ref()
                ),
            );
            return None;
        };
        self.question_shape(src, span, &rq, kind);
        let visible_when = rq
            .visible_when
            .as_ref()
            .and_then(|v| self.condition(src, v, &Earlier(q)));
        if self.diags.len() > before {
            return None;
        }
        Some(build_question(rq, kind, visible_when))
    }

    fn scoring(&mut self, src: &Source) -> Option<Scoring> {
        let raw = self.parse::<RawScoring>(src)?;
        let before = self.diags.len();
        let w = raw.priority.get_ref().dims();
        let sum: f64 = (0..3).map(|i| w.get(i)).sum();
        if (0..3).any(|i| w.get(i) < 0.0) || (sum - 1.0).abs() > 1e-6 {
            self.err(
                src,
                raw.priority.span(),
                format!("priority weights must be non-negative and sum to 1 (they sum to {sum})"),
            );
        }
        for t in [
            &raw.quadrants.value_threshold,
            &raw.quadrants.feasibility_threshold,
        ] {
            if !(0.0..=100.0).contains(t.get_ref()) {
                self.err(src, t.span(), "thresholds are scores from 0 to 100");
            }
        }
        let mut quadrants = Vec::new();
        let mut seen = HashSet::new();
        for rq in raw.quadrant.get_ref() {
            let level = |s: &Spanned<String>| match s.get_ref().as_str() {
                "high" => Some(true),
                "low" => Some(false),
                _ => None,
            };
            let (Some(v), Some(f)) = (level(&rq.get_ref().value), level(&rq.get_ref().feasibility))
            else {
                self.err(
                    src,
                    rq.span(),
                    "quadrant value and feasibility must each be \"high\" or \"low\"",
                );
                continue;
            };
            if !seen.insert((v, f)) {
                self.err(
                    src,
                    rq.span(),
                    "two quadrants cover the same value/feasibility combination",
                );
            }
            quadrants.push(Quadrant {
                id: rq.get_ref().id.clone(),
                label: rq.get_ref().label.clone(),
                high_value: v,
                high_feasibility: f,
            });
        }
        if seen.len() != 4 {
            self.err(
                src,
                raw.quadrant.span(),
                "exactly four quadrants are needed: every high/low value × feasibility combination",
            );
        }
        (self.diags.len() == before).then(|| Scoring {
            priority_weights: w,
            value_threshold: *raw.quadrants.value_threshold.get_ref(),
            feasibility_threshold: *raw.quadrants.feasibility_threshold.get_ref(),
            quadrants,
        })
    }

    fn nodes(&mut self, src: &Source) -> Vec<Node> {
        let Some(raw) = self.parse::<RawTaxonomy>(src) else {
            return Vec::new();
        };
        let mut nodes: Vec<Node> = Vec::new();
        for n in raw.node {
            if nodes.iter().any(|x| &x.id == n.id.get_ref()) {
                self.err(
                    src,
                    n.id.span(),
                    format!("duplicate node id `{}`", n.id.get_ref()),
                );
                continue;
            }
            if let Some(p) = &n.parent {
                if !nodes.iter().any(|x| &x.id == p.get_ref()) {
                    self.err(
                        src,
                        p.span(),
                        format!(
                            "unknown parent node `{}` (a parent is defined before its children)",
                            p.get_ref()
                        ),
                    );
                }
            }
            if !["enterprise", "ai", "genai", "agentic"].contains(&n.layer.get_ref().as_str()) {
                self.err(
                    src,
                    n.layer.span(),
                    "layer must be enterprise, ai, genai or agentic",
                );
            }
            nodes.push(Node {
                id: n.id.into_inner(),
                title: n.title,
                parent: n.parent.map(Spanned::into_inner),
                layer: n.layer.into_inner(),
            });
        }
        nodes
    }

    /// Checks a rule's id, node, scores, review group and rationale.
    fn rule_fields(
        &mut self,
        src: &Source,
        r: &RawRule,
        nodes: &[Node],
        ids: &mut HashSet<String>,
    ) {
        if !ids.insert(r.id.get_ref().clone()) {
            self.err(
                src,
                r.id.span(),
                format!("duplicate rule id `{}`", r.id.get_ref()),
            );
        }
        if !nodes.iter().any(|n| &n.id == r.node.get_ref()) {
            self.err(
                src,
                r.node.span(),
                format!("unknown taxonomy node `{}`", r.node.get_ref()),
            );
        }
        for (name, v) in [("severity", &r.severity), ("likelihood", &r.likelihood)] {
            if !(1..=5).contains(v.get_ref()) {
                self.err(
                    src,
                    v.span(),
                    format!("{name} must be from 1 to 5, not {}", v.get_ref()),
                );
            }
        }
        if !is_identifier(r.review_group.get_ref()) {
            self.err(
                src,
                r.review_group.span(),
                "review_group must be a lower_snake_case group name",
            );
        }
        if r.rationale.get_ref().trim().len() < 20 {
            self.err(
                src,
                r.rationale.span(),
                "the rationale must tell a submitter what to do (20 characters at least)",
            );
        }
    }

    /// The frameworks a rule cites; citing none is a problem.
    fn frameworks(&mut self, src: &Source, span: Range<usize>, r: &mut RawRule) -> Frameworks {
        match r.frameworks.take() {
            Some(f)
                if f.eu_ai_act.is_some()
                    || f.nist_ai_rmf.is_some()
                    || f.iso_42001.is_some()
                    || f.mit_ai_risk.is_some() =>
            {
                Frameworks {
                    eu_ai_act: f.eu_ai_act,
                    nist_ai_rmf: f.nist_ai_rmf,
                    iso_42001: f.iso_42001,
                    mit_ai_risk: f.mit_ai_risk,
                }
            }
            _ => {
                self.err(src, span, format!("rule `{}` cites no framework (eu_ai_act, nist_ai_rmf, iso_42001, mit_ai_risk)", r.id.get_ref()));
                Frameworks::default()
            }
        }
    }

    fn rules(
        &mut self,
        src: &Source,
        q: &Questionnaire,
        nodes: &[Node],
        ids: &mut HashSet<String>,
        out: &mut Vec<Rule>,
    ) {
        let Some(raw) = self.parse::<RawRules>(src) else {
            return;
        };
        let sample = sample_answers(q);
        let sample_hints = sample_hints(q);
        for rr in raw.rule {
            let span = rr.span();
            let mut r = rr.into_inner();
            let before = self.diags.len();
            self.rule_fields(src, &r, nodes, ids);
            let frameworks = self.frameworks(src, span, &mut r);
            let each = self.each(src, &r);
            let guardrail = self.named(src, r.guardrail.as_ref(), Guardrail::ALL, Guardrail::parse);
            let when = self.condition_for(src, &r.when, q, each);
            if let Some(c) = &when {
                if let Err(e) = sample_eval(c, each, &sample, &sample_hints) {
                    self.err(
                        src,
                        r.when.span(),
                        format!("condition fails on a complete answer set: {e}"),
                    );
                }
            }
            if self.diags.len() > before {
                continue;
            }
            if let Some(when) = when {
                out.push(Rule {
                    id: r.id.into_inner(),
                    node: r.node.into_inner(),
                    title: r.title,
                    when,
                    severity: *r.severity.get_ref() as u8,
                    likelihood: *r.likelihood.get_ref() as u8,
                    review_group: r.review_group.into_inner(),
                    rationale: r.rationale.into_inner(),
                    frameworks,
                    prohibited: r.prohibited,
                    each,
                    guardrail,
                });
            }
        }
    }

    /// Reads the lexicon files: each hint's fact must be `question.option` of a choice question,
    /// each phrase must have a word, and no phrase may be given twice for one fact.
    fn lexicon(&mut self, sources: &[Source], q: &Questionnaire) -> Lexicon {
        let mut facts: Vec<Fact> = Vec::new();
        let mut entries: Vec<(usize, Vec<String>, bool)> = Vec::new();
        let mut seen: HashSet<(usize, Vec<String>, bool)> = HashSet::new();
        let mut languages = Vec::new();
        for src in sources {
            let Some(raw) = self.parse::<RawLexicon>(src) else {
                continue;
            };
            let lang = raw.language.get_ref();
            if lang.len() != 2 || !lang.chars().all(|c| c.is_ascii_lowercase()) {
                self.err(
                    src,
                    raw.language.span(),
                    format!("language `{lang}` must be a two-letter code such as en or fr"),
                );
            } else if !languages.contains(lang) {
                languages.push(lang.clone());
            }
            for h in raw.hint {
                let Some(fact) = self.fact(src, &h.fact, q, &mut facts) else {
                    continue;
                };
                if h.phrases.is_empty() {
                    self.err(src, h.fact.span(), "a hint needs at least one phrase");
                }
                for p in &h.phrases {
                    let (words, stem) = phrase_words(p.get_ref());
                    if words.is_empty() {
                        self.err(src, p.span(), "empty phrase: it has no letter or digit");
                    } else if stem && words.last().is_some_and(|w| w.chars().count() < 4) {
                        self.err(
                            src,
                            p.span(),
                            format!("the stem in \"{}\" is too short to mean anything (4 letters at least)", p.get_ref()),
                        );
                    } else if !seen.insert((fact, words.clone(), stem)) {
                        self.err(
                            src,
                            p.span(),
                            format!(
                                "duplicate phrase \"{}\" for `{}`",
                                p.get_ref(),
                                h.fact.get_ref()
                            ),
                        );
                    } else {
                        entries.push((fact, words, stem));
                    }
                }
            }
        }
        match Lexicon::build(facts, &entries, languages) {
            Ok(l) => l,
            Err(e) => {
                if let Some(src) = sources.first() {
                    self.err(src, 0..0, format!("the lexicon cannot be compiled: {e}"));
                }
                Lexicon::default()
            }
        }
    }

    /// The index of the fact `question.option` in `facts`, adding it on first use.
    fn fact(
        &mut self,
        src: &Source,
        id: &Spanned<String>,
        q: &Questionnaire,
        facts: &mut Vec<Fact>,
    ) -> Option<usize> {
        if let Some(i) = facts.iter().position(|f| &f.id == id.get_ref()) {
            return Some(i);
        }
        let found = id.get_ref().split_once('.').and_then(|(question, option)| {
            let slot = *q.index.get(question)?;
            let qu = &q.questions[slot];
            let rank = qu.options.iter().position(|o| o.value == option)?;
            Some(Fact {
                id: id.get_ref().clone(),
                slot,
                question: question.to_string(),
                option: option.to_string(),
                rank,
            })
        });
        match found {
            Some(f) => {
                facts.push(f);
                Some(facts.len() - 1)
            }
            None => {
                self.err(
                    src,
                    id.span(),
                    format!("unknown fact `{}`: a fact is `question.option` of a single- or multiple-choice question", id.get_ref()),
                );
                None
            }
        }
    }

    /// One tier's route, checked: a known tier and action, approvals for human approval, an
    /// SLA only where reviewers wait, and prohibited practices blocked.
    fn route(
        &mut self,
        src: &Source,
        name: &str,
        spec: &Spanned<RawRoute>,
    ) -> Option<(Tier, RouteSpec)> {
        let Some(tier) = Tier::parse(name) else {
            self.err(src, spec.span(), format!("unknown tier `{name}`"));
            return None;
        };
        let s = spec.get_ref();
        let Some(route) = Route::parse(s.action.get_ref()) else {
            self.err(
                src,
                s.action.span(),
                "action must be auto_clear, functional_review, human_approval or blocked",
            );
            return None;
        };
        if route == Route::HumanApproval && s.approvals == 0 {
            self.err(
                src,
                spec.span(),
                "human approval needs approvals of 1 or more",
            );
        }
        if s.sla_working_days == Some(0)
            || (s.sla_working_days.is_some() && matches!(route, Route::AutoClear | Route::Blocked))
        {
            self.err(
                src,
                spec.span(),
                "sla_working_days is 1 or more, and only for routes that wait for reviewers",
            );
        }
        if tier == Tier::Prohibited && route != Route::Blocked {
            self.err(src, spec.span(), "prohibited practices must be blocked");
        }
        let approvals = if route == Route::HumanApproval {
            s.approvals
        } else {
            0
        };
        Some((
            tier,
            RouteSpec {
                route,
                approvals,
                senior_required: s.senior_required,
                sla_working_days: s.sla_working_days,
            },
        ))
    }

    fn routing(&mut self, src: &Source) -> Option<Routing> {
        let raw = self.parse::<RawRouting>(src)?;
        let before = self.diags.len();
        let t = &raw.tiers;
        let (m, h, c) = (
            *t.medium.get_ref(),
            *t.high.get_ref(),
            *t.critical.get_ref(),
        );
        if !(1 <= m && m < h && h < c && c <= 25) {
            self.err(src, t.medium.span(), "tier thresholds are risk scores (severity × likelihood, 1–25) with medium < high < critical");
        }
        if *t.raise_at_nodes.get_ref() < 2 {
            self.err(
                src,
                t.raise_at_nodes.span(),
                "raise_at_nodes must be 2 or more",
            );
        }
        let mut routes = HashMap::new();
        for (name, spec) in raw.route.get_ref() {
            if let Some((tier, route)) = self.route(src, name, spec) {
                routes.insert(tier, route);
            }
        }
        for tier in Tier::ALL {
            if !routes.contains_key(tier) {
                self.err(src, raw.route.span(), format!("no route for tier `{tier}`"));
            }
        }
        (self.diags.len() == before).then(|| Routing {
            medium_at: m as u8,
            high_at: h as u8,
            critical_at: c as u8,
            raise_at_nodes: *t.raise_at_nodes.get_ref() as usize,
            routes,
        })
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Where a position inside a TOML string value lies in its file.
fn position_in_string(
    src: &Source,
    value_start: usize,
    line: usize,
    column: usize,
) -> (usize, usize) {
    let rest = &src.text[value_start.min(src.text.len())..];
    let mut open = if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
        3
    } else {
        1
    };
    if open == 3 && rest[3..].starts_with('\n') {
        open += 1;
    }
    let (l0, c0) = src.line_col(value_start + open);
    if line <= 1 {
        (l0, c0 + column - 1)
    } else {
        (l0 + line - 1, column)
    }
}

/// A hint for every choice question (its first option), as conditions see them.
fn sample_hints(q: &Questionnaire) -> cel::Value {
    use cel::Value;
    answers_value(
        q.questions
            .iter()
            .filter(|qu| qu.kind.has_options())
            .map(|qu| {
                let first = qu.options.first().map_or("", |o| o.value.as_str());
                (qu.id.clone(), Value::from(vec![Value::from(first)]))
            }),
    )
}

/// The typed question of a checked raw one.
fn build_question(rq: RawQuestion, kind: Kind, visible_when: Option<Condition>) -> Question {
    let mut bands: Vec<Band> = rq
        .bands
        .into_iter()
        .map(|b| Band {
            at_least: b.at_least,
            contributes: Dims {
                business_value: b.business_value,
                feasibility: b.feasibility,
                readiness: b.readiness,
            },
        })
        .collect();
    bands.sort_by(|x, y| x.at_least.total_cmp(&y.at_least));
    Question {
        id: rq.id.into_inner(),
        section: rq.section.into_inner(),
        kind,
        prompt: rq.prompt,
        help: rq.help.into_inner(),
        required: rq.required,
        options: rq
            .options
            .into_iter()
            .map(|o| Choice {
                value: o.value.into_inner(),
                label: o.label,
                contributes: Dims {
                    business_value: o.business_value,
                    feasibility: o.feasibility,
                    readiness: o.readiness,
                },
            })
            .collect(),
        min: rq.min,
        max: rq.max,
        per_step: rq.per_step.dims(),
        if_true: rq.if_true.dims(),
        if_false: rq.if_false.dims(),
        bands,
        max_length: rq.max_length.unwrap_or(4000),
        visible_when,
    }
}

/// One answer for every question, of its kind: evaluating each rule against it at load time
/// catches type mistakes (`answers.flag > 2`) that parsing cannot.
/// Evaluates a condition on a complete answer set and a declaration with every field set
/// (for a rule evaluated per element, on its first element): it must give a boolean.
fn sample_eval(
    c: &Condition,
    each: Option<Each>,
    answers: &cel::Value,
    hints: &cel::Value,
) -> Result<bool, crate::rules::condition::EvalError> {
    let d = Declared::of(&declared::sample());
    let bound = match each {
        None => Vec::new(),
        Some(e) => d.bindings(e, &d.items(e)[0]),
    };
    c.eval_in(answers, hints, &d, &bound)
}

fn sample_answers(q: &Questionnaire) -> cel::Value {
    use cel::Value;
    answers_value(q.questions.iter().map(|qu| {
        let v = match qu.kind {
            Kind::Single => Value::from(qu.options[0].value.as_str()),
            Kind::Multi => Value::from(vec![Value::from(qu.options[0].value.as_str())]),
            Kind::Scale => Value::Int(qu.min.unwrap_or(0.0) as i64),
            Kind::Number => Value::Float(qu.min.unwrap_or(0.0)),
            Kind::Bool => Value::Bool(true),
            Kind::Text => Value::from("text"),
        };
        (qu.id.clone(), v)
    }))
}
