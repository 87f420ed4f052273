//! CEL conditions over `answers`: compiled once at load, checked against the questionnaire
//! (every question id and option value a condition names must exist), evaluated per case.
//!
//! The common shapes (`answers.x == "v"`, `"v" in answers.xs`, `answers.n >= 3`, a yes/no
//! answer, `answers.xs.exists(c, c in [...])`, and `&&`, `||`, `!` over them) are also compiled
//! to a native form evaluated straight over the case's answers, an order of magnitude faster
//! than the interpreter. It keeps CEL's meaning exactly, absent answers included (a
//! three-valued logic where "absent" is absorbed as CEL absorbs errors); anything else runs in
//! the CEL interpreter. A property test checks both agree on every shipped rule.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use std::cell::OnceCell;

use crate::rules::declared::{self, Declared, Values};
use crate::rules::model::Kind;
use crate::vocab::agents::Each;
use crate::vocab::Answer;
use cel::objects::Key;
use cel::{Context, ExecutionError, Program, Value};

/// Why a condition could not be evaluated for a case (a defect in the rule pack: the loader
/// evaluates every condition on a complete answer set, so these are rare).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("condition gave {0}, not a boolean")]
    NotBoolean(String),
    #[error("CEL: {0}")]
    Cel(#[source] ExecutionError),
}

impl PartialEq for EvalError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// A problem in a condition, at a character offset within its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// 1-based line and column inside the expression.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the analysis needs to know about a question: its option values, if it has options,
/// and its place and kind in the questionnaire.
pub trait QuestionLookup {
    /// `None` when no question has this id; `Some(None)` for a question without options.
    fn options_of(&self, id: &str) -> Option<Option<Vec<&str>>>;
    /// The question's index in the questionnaire and its kind.
    fn slot(&self, id: &str) -> Option<(usize, Kind)>;
}

/// A case's answers as conditions read them: by question index, absent when unanswered or
/// hidden; and, for conditions the native form does not cover, the same answers as a CEL map.
pub trait Facts {
    fn value(&self, slot: usize) -> Option<&Answer>;
    fn cel(&self) -> &Value;
    /// The options of a choice question that the case's text suggests and its answers do not
    /// declare (see `domain::hints`); empty when none.
    fn hinted(&self, slot: usize) -> &[String];
    /// The same as a CEL map keyed by question id (`hints.<id>` in conditions).
    fn cel_hints(&self) -> &Value;
    /// The case's agent declarations (`agents`, `tools`, `delegations` in conditions).
    fn declared(&self) -> &Declared {
        Declared::none()
    }
}

/// A compiled CEL condition, its native form where it has one, and the question ids it reads.
pub struct Condition {
    source: String,
    program: Program,
    native: Option<Native>,
    reads: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    /// The condition read an absent answer (CEL: a "no such key" error).
    Absent,
}

impl From<bool> for Tri {
    fn from(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    fn flipped(self) -> Cmp {
        match self {
            Cmp::Lt => Cmp::Gt,
            Cmp::Le => Cmp::Ge,
            Cmp::Gt => Cmp::Lt,
            Cmp::Ge => Cmp::Le,
            other => other,
        }
    }

    fn test(self, a: i64, b: i64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn of(func: &str) -> Option<Cmp> {
        Some(match func {
            "_==_" => Cmp::Eq,
            "_!=_" => Cmp::Ne,
            "_<_" => Cmp::Lt,
            "_<=_" => Cmp::Le,
            "_>_" => Cmp::Gt,
            "_>=_" => Cmp::Ge,
            _ => return None,
        })
    }
}

/// Which list a multiple-choice check reads: the declared answer, or the text's hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    Answer,
    Hints,
}

impl List {
    fn of(self, f: &dyn Facts, slot: usize) -> Option<&[String]> {
        match self {
            List::Hints => Some(f.hinted(slot)),
            List::Answer => match f.value(slot) {
                Some(Answer::Choices(cs)) => Some(cs),
                _ => None,
            },
        }
    }
}

/// The native form of a condition.
#[derive(Debug, Clone)]
enum Native {
    Lit(bool),
    And(Box<Native>, Box<Native>),
    Or(Box<Native>, Box<Native>),
    Not(Box<Native>),
    /// A single-choice or text answer equals (or, negated, differs from) a string.
    StrEq {
        slot: usize,
        value: String,
        negate: bool,
    },
    /// A single-choice answer is one of these.
    OneOf {
        slot: usize,
        values: Vec<String>,
    },
    /// A multiple-choice answer (or a question's hints) includes any of these (`"v" in xs`,
    /// `xs.exists(c, c in [...])`).
    AnyOf {
        slot: usize,
        values: Vec<String>,
        list: List,
    },
    /// A multiple-choice answer (or a question's hints) includes something other than these.
    AnyExcept {
        slot: usize,
        values: Vec<String>,
        list: List,
    },
    /// A scale answer compared with a whole number.
    Scale {
        slot: usize,
        cmp: Cmp,
        k: i64,
    },
    /// A yes/no answer.
    Flag {
        slot: usize,
    },
    /// `has(answers.x)`: whether the question is answered (and visible).
    Has {
        slot: usize,
    },
}

impl Native {
    fn eval(&self, f: &dyn Facts) -> Tri {
        match self {
            Native::Lit(b) => (*b).into(),
            // CEL's commutative && and ||: false (or true) wins over an error; else errors win.
            Native::And(a, b) => match (a.eval(f), b.eval(f)) {
                (Tri::False, _) | (_, Tri::False) => Tri::False,
                (Tri::Absent, _) | (_, Tri::Absent) => Tri::Absent,
                _ => Tri::True,
            },
            Native::Or(a, b) => match (a.eval(f), b.eval(f)) {
                (Tri::True, _) | (_, Tri::True) => Tri::True,
                (Tri::Absent, _) | (_, Tri::Absent) => Tri::Absent,
                _ => Tri::False,
            },
            Native::Not(a) => match a.eval(f) {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Absent => Tri::Absent,
            },
            Native::StrEq {
                slot,
                value,
                negate,
            } => match f.value(*slot) {
                Some(Answer::Text(t)) => ((t == value) != *negate).into(),
                _ => Tri::Absent,
            },
            Native::OneOf { slot, values } => match f.value(*slot) {
                Some(Answer::Text(t)) => values.iter().any(|v| v == t).into(),
                _ => Tri::Absent,
            },
            Native::AnyOf { slot, values, list } => match list.of(f, *slot) {
                Some(cs) => cs.iter().any(|c| values.contains(c)).into(),
                None => Tri::Absent,
            },
            Native::AnyExcept { slot, values, list } => match list.of(f, *slot) {
                Some(cs) => cs.iter().any(|c| !values.contains(c)).into(),
                None => Tri::Absent,
            },
            Native::Scale { slot, cmp, k } => match f.value(*slot) {
                Some(Answer::Int(i)) => cmp.test(*i, *k).into(),
                _ => Tri::Absent,
            },
            Native::Flag { slot } => match f.value(*slot) {
                Some(Answer::Bool(b)) => (*b).into(),
                _ => Tri::Absent,
            },
            Native::Has { slot } => f.value(*slot).is_some().into(),
        }
    }
}

fn string_lit(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Expr::Literal(LiteralValue::String(s)) => Some(s.inner().to_string()),
        _ => None,
    }
}

fn int_lit(e: &IdedExpr) -> Option<i64> {
    match &e.expr {
        Expr::Literal(LiteralValue::Int(i)) => Some(**i),
        _ => None,
    }
}

fn string_list(e: &IdedExpr) -> Option<Vec<String>> {
    match &e.expr {
        Expr::List(l) if l.optional_indices.is_empty() => {
            l.elements.iter().map(string_lit).collect()
        }
        _ => None,
    }
}

/// `answers.<id>` → the question's slot and kind.
fn answer_ref(e: &IdedExpr, q: &dyn QuestionLookup) -> Option<(usize, Kind)> {
    match &e.expr {
        Expr::Select(s) if !s.test => match &s.operand.expr {
            Expr::Ident(root) if root == "answers" => q.slot(&s.field),
            _ => None,
        },
        _ => None,
    }
}

/// `hints.<id>` → the question's slot, when it is a choice question.
fn hint_ref(e: &IdedExpr, q: &dyn QuestionLookup) -> Option<usize> {
    match &e.expr {
        Expr::Select(s) if !s.test => match &s.operand.expr {
            Expr::Ident(root) if root == "hints" => match q.slot(&s.field)? {
                (slot, Kind::Single | Kind::Multi) => Some(slot),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// A list a comprehension or `in` can read natively: a multiple-choice answer or hints.
fn list_ref(e: &IdedExpr, q: &dyn QuestionLookup) -> Option<(usize, List)> {
    match answer_ref(e, q) {
        Some((slot, Kind::Multi)) => Some((slot, List::Answer)),
        Some(_) => None,
        None => hint_ref(e, q).map(|slot| (slot, List::Hints)),
    }
}

fn is_var(e: &IdedExpr, name: &str) -> bool {
    matches!(&e.expr, Expr::Ident(n) if n == name)
}

/// The predicate of `xs.exists(v, p)` over the loop variable `v`, natively.
fn exists_predicate(p: &IdedExpr, v: &str, slot: usize, list: List) -> Option<Native> {
    let Expr::Call(c) = &p.expr else { return None };
    if c.target.is_some() {
        return None;
    }
    match (c.func_name.as_str(), c.args.as_slice()) {
        ("@in", [x, items]) if is_var(x, v) => Some(Native::AnyOf {
            slot,
            values: string_list(items)?,
            list,
        }),
        ("_==_", [x, lit]) | ("_==_", [lit, x]) if is_var(x, v) => Some(Native::AnyOf {
            slot,
            values: vec![string_lit(lit)?],
            list,
        }),
        ("_!=_", [x, lit]) if is_var(x, v) => Some(Native::AnyExcept {
            slot,
            values: vec![string_lit(lit)?],
            list,
        }),
        ("_&&_", [a, b]) => match (
            exists_predicate(a, v, slot, list)?,
            exists_predicate(b, v, slot, list)?,
        ) {
            (Native::AnyExcept { values: mut x, .. }, Native::AnyExcept { values: y, .. }) => {
                x.extend(y);
                Some(Native::AnyExcept {
                    slot,
                    values: x,
                    list,
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// `answers.x OP literal` (either way round): a single choice or text equal or not, a scale
/// compared with a whole number.
fn comparison(f: &str, a: &IdedExpr, b: &IdedExpr, q: &dyn QuestionLookup) -> Option<Native> {
    let cmp = Cmp::of(f)?;
    let (r, lit, cmp) = match (answer_ref(a, q), answer_ref(b, q)) {
        (Some(r), None) => (r, b, cmp),
        (None, Some(r)) => (r, a, cmp.flipped()),
        _ => return None,
    };
    match (r.1, cmp) {
        (Kind::Single | Kind::Text, Cmp::Eq | Cmp::Ne) => Some(Native::StrEq {
            slot: r.0,
            value: string_lit(lit)?,
            negate: matches!(cmp, Cmp::Ne),
        }),
        (Kind::Scale, _) => Some(Native::Scale {
            slot: r.0,
            cmp,
            k: int_lit(lit)?,
        }),
        _ => None,
    }
}

/// `xs.exists(v, p)` over a multiple-choice answer or hints, as CEL expands it.
fn exists(c: &cel::common::ast::ComprehensionExpr, q: &dyn QuestionLookup) -> Option<Native> {
    let (slot, list) = list_ref(&c.iter_range, q)?;
    let init_false = matches!(&c.accu_init.expr, Expr::Literal(LiteralValue::Boolean(b)) if !**b);
    if c.iter_var2.is_some() || !init_false || !is_var(&c.result, &c.accu_var) {
        return None;
    }
    let Expr::Call(step) = &c.loop_step.expr else {
        return None;
    };
    match (step.func_name.as_str(), step.args.as_slice()) {
        ("_||_", [acc, p]) if is_var(acc, &c.accu_var) => {
            exists_predicate(p, &c.iter_var, slot, list)
        }
        _ => None,
    }
}

/// The native form of `e`, if every part of it has one.
fn native(e: &IdedExpr, q: &dyn QuestionLookup) -> Option<Native> {
    match &e.expr {
        Expr::Literal(LiteralValue::Boolean(b)) => Some(Native::Lit(**b)),
        Expr::Select(s) if s.test => match &s.operand.expr {
            Expr::Ident(root) if root == "answers" => Some(Native::Has {
                slot: q.slot(&s.field)?.0,
            }),
            _ => None,
        },
        Expr::Select(_) => match answer_ref(e, q)? {
            (slot, Kind::Bool) => Some(Native::Flag { slot }),
            _ => None,
        },
        Expr::Call(c) if c.target.is_none() => {
            let args = c.args.as_slice();
            match (c.func_name.as_str(), args) {
                ("_&&_", [a, b]) => Some(Native::And(
                    Box::new(native(a, q)?),
                    Box::new(native(b, q)?),
                )),
                ("_||_", [a, b]) => {
                    Some(Native::Or(Box::new(native(a, q)?), Box::new(native(b, q)?)))
                }
                ("!_", [a]) => Some(Native::Not(Box::new(native(a, q)?))),
                ("@in", [lit, xs]) => match (string_lit(lit), list_ref(xs, q)) {
                    (Some(v), Some((slot, list))) => Some(Native::AnyOf {
                        slot,
                        values: vec![v],
                        list,
                    }),
                    _ => match (answer_ref(lit, q), string_list(xs)) {
                        (Some((slot, Kind::Single)), Some(values)) => {
                            Some(Native::OneOf { slot, values })
                        }
                        _ => None,
                    },
                },
                (f, [a, b]) => comparison(f, a, b, q),
                _ => None,
            }
        }
        Expr::Comprehension(c) => exists(c, q),
        _ => None,
    }
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Condition")
            .field("source", &self.source)
            .finish()
    }
}

impl Condition {
    /// Compiles `source` and checks every `answers.<id>` and option literal it names.
    pub fn compile(
        source: &str,
        questions: &dyn QuestionLookup,
    ) -> Result<Self, Vec<ConditionError>> {
        Self::compile_for(source, questions, None)
    }

    /// Compiles a condition that may also read the element it is evaluated for (`each`):
    /// `tool` and its `agent`, `agent`, or `delegation` and its `agent`.
    pub fn compile_for(
        source: &str,
        questions: &dyn QuestionLookup,
        each: Option<Each>,
    ) -> Result<Self, Vec<ConditionError>> {
        let program = Program::compile(source).map_err(|errs| {
            errs.errors
                .iter()
                .map(|e| ConditionError {
                    line: e.pos.0.max(1) as usize,
                    column: e.pos.1.max(1) as usize,
                    message: format!("CEL syntax error: {}", e.msg),
                })
                .collect::<Vec<_>>()
        })?;
        let mut walker = Walker {
            source,
            program: &program,
            questions,
            bound: element_roots(each),
            reads: Vec::new(),
            errors: Vec::new(),
        };
        walker.walk(program.expression());
        if !walker.errors.is_empty() {
            return Err(walker.errors);
        }
        let mut reads = walker.reads;
        reads.sort();
        reads.dedup();
        let native = native(program.expression(), questions);
        Ok(Condition {
            source: source.to_string(),
            program,
            native,
            reads,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The question ids this condition reads, sorted.
    pub fn reads(&self) -> &[String] {
        &self.reads
    }

    /// Whether the condition runs natively (else in the CEL interpreter).
    pub fn is_native(&self) -> bool {
        self.native.is_some()
    }

    /// Evaluates against a case's answers. An answer that is absent (unanswered or hidden)
    /// makes a comparison that reads it false, never an error.
    pub fn eval(&self, facts: &dyn Facts) -> Result<bool, EvalError> {
        match &self.native {
            Some(n) => Ok(n.eval(facts) == Tri::True),
            None => self.eval_each(facts, &[]),
        }
    }

    /// Evaluates in the CEL interpreter with an element bound (`tool`, `agent`,
    /// `delegation`), for a rule evaluated once per declared element.
    pub fn eval_each(
        &self,
        facts: &dyn Facts,
        bound: &[(&str, &Value)],
    ) -> Result<bool, EvalError> {
        self.eval_in(facts.cel(), facts.cel_hints(), facts.declared(), bound)
    }

    /// Evaluates in the CEL interpreter against `answers` and `hints` (CEL maps keyed by
    /// question id), with no agents declared.
    pub fn eval_cel(&self, answers: &Value, hints: &Value) -> Result<bool, EvalError> {
        self.eval_in(answers, hints, Declared::none(), &[])
    }

    /// Evaluates in the CEL interpreter against every variable a condition may read.
    pub fn eval_in(
        &self,
        answers: &Value,
        hints: &Value,
        declared: &Declared,
        bound: &[(&str, &Value)],
    ) -> Result<bool, EvalError> {
        ROOT.with(|root| {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("answers", answers.clone());
            ctx.add_variable_from_value("hints", hints.clone());
            ctx.add_variable_from_value("agents", declared.agents.clone());
            ctx.add_variable_from_value("tools", declared.tools.clone());
            ctx.add_variable_from_value("delegations", declared.delegations.clone());
            for (name, value) in bound {
                ctx.add_variable_from_value(*name, (*value).clone());
            }
            match self.program.execute(&ctx) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(EvalError::NotBoolean(format!("{other:?}"))),
                Err(ExecutionError::NoSuchKey(_)) => Ok(false),
                Err(e) => Err(EvalError::Cel(e)),
            }
        })
    }
}

thread_local! {
    // Building a root context registers every built-in function (tens of microseconds);
    // do it once per thread and evaluate each case in a cheap inner scope.
    static ROOT: Context<'static, 'static> = Context::default();
}

/// Builds the CEL map of a case's answers once, when a condition first needs it.
pub struct LazyCel(OnceCell<Value>);

impl LazyCel {
    pub fn new() -> Self {
        LazyCel(OnceCell::new())
    }

    pub fn get_or_build(&self, build: impl FnOnce() -> Value) -> &Value {
        self.0.get_or_init(build)
    }
}

impl Default for LazyCel {
    fn default() -> Self {
        Self::new()
    }
}

/// Builds the CEL value of an answer map.
pub fn answers_value(entries: impl Iterator<Item = (String, Value)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .map(|(k, v)| (Key::String(Arc::new(k)), v))
        .collect();
    Value::Map(cel::objects::Map { map: Arc::new(map) })
}

/// The variables a condition may read.
const ROOTS: [&str; 2] = ["answers", "hints"];

/// What a variable in scope stands for.
#[derive(Clone)]
enum Binding {
    /// An option of the question a comprehension ranges over.
    Option(String),
    /// A declared element: an agent, a tool, a delegation.
    Element(Each),
    /// A list of declared elements (`agents`, `tools`, `delegations`, `agent.tools`).
    Elements(Each),
    Other,
}

/// The element variables a rule evaluated per element reads, and the lists every rule reads.
fn element_roots(each: Option<Each>) -> Vec<(String, Binding)> {
    let mut roots: Vec<(String, Binding)> = [Each::Agent, Each::Tool, Each::Delegation]
        .into_iter()
        .map(|e| (format!("{e}s"), Binding::Elements(e)))
        .collect();
    if let Some(e) = each {
        roots.push((e.to_string(), Binding::Element(e)));
        if e != Each::Agent {
            roots.push(("agent".into(), Binding::Element(Each::Agent)));
        }
    }
    roots
}

struct Walker<'a> {
    source: &'a str,
    program: &'a Program,
    questions: &'a dyn QuestionLookup,
    /// Variables in scope: the declared elements, and comprehension variables with what they
    /// range over.
    bound: Vec<(String, Binding)>,
    reads: Vec<String>,
    errors: Vec<ConditionError>,
}

impl Walker<'_> {
    fn error(&mut self, id: u64, message: String) {
        let offset = self
            .program
            .source_info()
            .offset_for(id)
            .map_or(0, |(start, _)| start as usize);
        let before: String = self.source.chars().take(offset).collect();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        self.errors.push(ConditionError {
            line,
            column,
            message,
        });
    }

    /// The question id when `e` is `answers.<id>` or `hints.<id>` (or a variable bound to
    /// iterate over one).
    fn question_of(&self, e: &IdedExpr) -> Option<String> {
        match &e.expr {
            Expr::Select(s) => match &s.operand.expr {
                Expr::Ident(root) if ROOTS.contains(&root.as_str()) && !self.is_bound(root) => {
                    Some(s.field.clone())
                }
                _ => None,
            },
            Expr::Ident(name) => match self.binding(name) {
                Some(Binding::Option(q)) => Some(q),
                _ => None,
            },
            _ => None,
        }
    }

    fn binding(&self, name: &str) -> Option<Binding> {
        self.bound
            .iter()
            .rev()
            .find(|(v, _)| v == name)
            .map(|(_, b)| b.clone())
    }

    /// What `e` stands for when it is a declared element, a list of them, or one's field.
    fn element_of(&self, e: &IdedExpr) -> Option<Binding> {
        match &e.expr {
            Expr::Ident(name) => self.binding(name),
            Expr::Select(s) if s.field == "tools" => match self.element_of(&s.operand) {
                Some(Binding::Element(Each::Agent)) => Some(Binding::Elements(Each::Tool)),
                _ => None,
            },
            _ => None,
        }
    }

    /// The values an element's field may take, when `e` is `<element>.<field>`.
    fn field_values(&self, e: &IdedExpr) -> Option<Vec<String>> {
        let Expr::Select(s) = &e.expr else {
            return None;
        };
        let Some(Binding::Element(kind)) = self.element_of(&s.operand) else {
            return None;
        };
        let (_, values) = declared::fields(kind).iter().find(|(f, _)| *f == s.field)?;
        match values {
            Values::Any => None,
            Values::Of(v) => Some(v.iter().map(|x| x.to_string()).collect()),
            Values::OptionsOf(q) => self
                .questions
                .options_of(q)
                .flatten()
                .map(|o| o.into_iter().map(String::from).collect()),
        }
    }

    /// A string literal compared with an element's field must be one of its values.
    fn check_field_literal(&mut self, field: &IdedExpr, lit: &IdedExpr) {
        let (Some(values), Expr::Literal(LiteralValue::String(s))) =
            (self.field_values(field), &lit.expr)
        else {
            return;
        };
        if !values.iter().any(|v| v == s.inner()) {
            let msg = format!(
                "\"{}\" is not a value of this field (values: {})",
                s.inner(),
                values.join(", ")
            );
            self.error(lit.id, msg);
        }
    }

    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|(v, _)| v == name)
    }

    /// `<element>.<field>` must name a field the element has.
    fn check_field(&mut self, e: &IdedExpr, s: &cel::common::ast::SelectExpr) -> bool {
        let Some(Binding::Element(kind)) = self.element_of(&s.operand) else {
            return false;
        };
        let fields = declared::fields(kind);
        if !fields.iter().any(|(f, _)| *f == s.field) {
            let names: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            self.error(
                e.id,
                format!(
                    "{kind} has no field `{}` (fields: {})",
                    s.field,
                    names.join(", ")
                ),
            );
        }
        true
    }

    fn check_literal(&mut self, question: &str, lit: &IdedExpr) {
        if let Expr::Literal(LiteralValue::String(s)) = &lit.expr {
            if let Some(Some(options)) = self.questions.options_of(question) {
                if !options.contains(&s.inner()) {
                    let msg = format!(
                        "question `{question}` has no option \"{}\" (options: {})",
                        s.inner(),
                        options.join(", ")
                    );
                    self.error(lit.id, msg);
                }
            }
        }
    }

    /// `answers.<id>` must name a question; `hints.<id>` a choice question.
    fn walk_select(&mut self, e: &IdedExpr, s: &cel::common::ast::SelectExpr) {
        let root = match &s.operand.expr {
            Expr::Ident(r) if ROOTS.contains(&r.as_str()) && !self.is_bound(r) => Some(r.as_str()),
            _ => None,
        };
        match root {
            Some("answers") if self.questions.options_of(&s.field).is_none() => {
                self.error(e.id, format!("unknown question id `{}`", s.field));
            }
            Some("answers") => self.reads.push(s.field.clone()),
            Some(_) if !matches!(self.questions.options_of(&s.field), Some(Some(_))) => {
                self.error(
                    e.id,
                    format!(
                        "`hints.{}`: hints exist only for single- and multiple-choice questions",
                        s.field
                    ),
                );
            }
            Some(_) => {}
            None if self.check_field(e, s) => {}
            None => self.walk(&s.operand),
        }
    }

    /// Option literals compared with a question (`==`, `!=`, `in`) must be its options.
    fn walk_call(&mut self, c: &cel::common::ast::CallExpr) {
        let args: Vec<&IdedExpr> = c.target.iter().map(|t| &**t).chain(c.args.iter()).collect();
        match c.func_name.as_str() {
            "_==_" | "_!=_" if args.len() == 2 => {
                if let Some(q) = self.question_of(args[0]) {
                    self.check_literal(&q, args[1]);
                }
                if let Some(q) = self.question_of(args[1]) {
                    self.check_literal(&q, args[0]);
                }
                self.check_field_literal(args[0], args[1]);
                self.check_field_literal(args[1], args[0]);
            }
            "@in" if args.len() == 2 => {
                self.check_field_literal(args[1], args[0]);
                if let (Some(_), Expr::List(list)) = (self.field_values(args[0]), &args[1].expr) {
                    for item in &list.elements {
                        self.check_field_literal(args[0], item);
                    }
                }
                if let Some(q) = self.question_of(args[1]) {
                    self.check_literal(&q, args[0]);
                }
                if let (Some(q), Expr::List(list)) = (self.question_of(args[0]), &args[1].expr) {
                    for item in &list.elements {
                        self.check_literal(&q, item);
                    }
                }
            }
            _ => {}
        }
        for a in args {
            self.walk(a);
        }
    }

    /// A comprehension's variables are in scope inside it, bound to the question they range over.
    fn walk_comprehension(&mut self, c: &cel::common::ast::ComprehensionExpr) {
        self.walk(&c.iter_range);
        self.walk(&c.accu_init);
        let over = match self.element_of(&c.iter_range) {
            Some(Binding::Elements(kind)) => Binding::Element(kind),
            _ => self
                .question_of(&c.iter_range)
                .map_or(Binding::Other, Binding::Option),
        };
        self.bound.push((c.iter_var.clone(), over));
        if let Some(v2) = &c.iter_var2 {
            self.bound.push((v2.clone(), Binding::Other));
        }
        self.bound.push((c.accu_var.clone(), Binding::Other));
        self.walk(&c.loop_cond);
        self.walk(&c.loop_step);
        self.walk(&c.result);
        self.bound.pop();
        if c.iter_var2.is_some() {
            self.bound.pop();
        }
        self.bound.pop();
    }

    fn walk(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Ident(name) => {
                if !ROOTS.contains(&name.as_str()) && !self.is_bound(name) {
                    self.error(
                        e.id,
                        format!(
                            "unknown variable `{name}`: conditions read `answers.<question id>`, `hints.<question id>`, `agents`, `tools` and `delegations` (and `agent`, `tool` or `delegation` in a rule evaluated for each)"
                        ),
                    );
                }
            }
            Expr::Select(s) => self.walk_select(e, s),
            Expr::Call(c) => self.walk_call(c),
            Expr::Comprehension(c) => self.walk_comprehension(c),
            Expr::List(l) => {
                for item in &l.elements {
                    self.walk(item);
                }
            }
            Expr::Map(m) => {
                for entry in &m.entries {
                    if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                        self.walk(&me.key);
                        self.walk(&me.value);
                    }
                }
            }
            Expr::Struct(_) => self.error(
                e.id,
                "message literals are not supported in conditions".into(),
            ),
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Qs;
    impl QuestionLookup for Qs {
        fn options_of(&self, id: &str) -> Option<Option<Vec<&str>>> {
            match id {
                "human_oversight" => Some(Some(vec!["human_in_the_loop", "none"])),
                "data_categories" => Some(Some(vec!["personal", "health"])),
                "autonomy_level" => Some(None),
                _ => None,
            }
        }

        fn slot(&self, id: &str) -> Option<(usize, Kind)> {
            match id {
                "human_oversight" => Some((0, Kind::Single)),
                "data_categories" => Some((1, Kind::Multi)),
                "autonomy_level" => Some((2, Kind::Scale)),
                _ => None,
            }
        }
    }

    fn answers(pairs: &[(&str, Value)]) -> Value {
        answers_value(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    fn no_hints() -> Value {
        answers(&[])
    }

    /// Answers and hints for one case, readable natively and as CEL.
    struct Case {
        values: Vec<Option<Answer>>,
        hinted: Vec<Vec<String>>,
        cel: Value,
        cel_hints: Value,
    }

    impl Facts for Case {
        fn value(&self, slot: usize) -> Option<&Answer> {
            self.values.get(slot).and_then(Option::as_ref)
        }
        fn cel(&self) -> &Value {
            &self.cel
        }
        fn hinted(&self, slot: usize) -> &[String] {
            self.hinted.get(slot).map_or(&[], Vec::as_slice)
        }
        fn cel_hints(&self) -> &Value {
            &self.cel_hints
        }
    }

    #[test]
    fn hints_are_read_natively_and_in_cel_alike() {
        let hinted = vec!["health".to_string()];
        let case = Case {
            values: vec![None, Some(Answer::Choices(vec!["personal".into()])), None],
            hinted: vec![vec![], hinted.clone(), vec![]],
            cel: answers(&[(
                "data_categories",
                Value::from(vec![Value::from("personal")]),
            )]),
            cel_hints: answers(&[
                ("human_oversight", Value::from(Vec::<Value>::new())),
                ("data_categories", Value::from(vec![Value::from("health")])),
            ]),
        };
        for (src, want, native) in [
            (r#""health" in hints.data_categories"#, true, true),
            (
                r#"hints.data_categories.exists(c, c in ["health", "personal"])"#,
                true,
                true,
            ),
            (r#""health" in answers.data_categories"#, false, true),
            (
                "has(answers.data_categories) && !has(answers.human_oversight)",
                true,
                true,
            ),
            (r#""none" in hints.human_oversight"#, false, true),
            (
                r#"size(hints.data_categories) > 0 && "personal" in answers.data_categories"#,
                true,
                false,
            ),
        ] {
            let c = Condition::compile(src, &Qs).unwrap();
            assert_eq!(c.is_native(), native, "{src}");
            assert_eq!(c.eval(&case), Ok(want), "{src}");
            assert_eq!(c.eval_cel(&case.cel, &case.cel_hints), Ok(want), "{src}");
        }
    }

    #[test]
    fn hints_of_unknown_or_non_choice_questions_and_unknown_options_are_errors() {
        for (src, msg) in [
            ("\"x\" in hints.nope", "hints exist only"),
            ("\"x\" in hints.autonomy_level", "hints exist only"),
            (r#""helth" in hints.data_categories"#, "has no option"),
        ] {
            let errs = Condition::compile(src, &Qs).unwrap_err();
            assert!(errs[0].message.contains(msg), "{src}: {errs:?}");
        }
    }

    #[test]
    fn a_condition_reads_answers_and_lists_what_it_reads() {
        let c = Condition::compile(
            r#"answers.autonomy_level >= 3 && "health" in answers.data_categories"#,
            &Qs,
        )
        .unwrap();
        assert_eq!(c.reads(), ["autonomy_level", "data_categories"]);
        let yes = answers(&[
            ("autonomy_level", Value::Int(4)),
            ("data_categories", Value::from(vec![Value::from("health")])),
        ]);
        assert_eq!(c.eval_cel(&yes, &no_hints()), Ok(true));
        let no = answers(&[("autonomy_level", Value::Int(4))]);
        assert_eq!(
            c.eval_cel(&no, &no_hints()),
            Ok(false),
            "an absent answer never fires a rule"
        );
    }

    #[test]
    fn declared_elements_are_checked_like_questions() {
        let ok = [
            (
                None,
                r#"tools.exists(t, t.effect == "financial" && !has(t.max_amount))"#,
            ),
            (None, r#"agents.exists(a, a.tools.exists(t, t.open_world))"#),
            (
                Some(Each::Tool),
                r#"tool.effect in ["read", "write"] && agent.autonomy >= 3"#,
            ),
            (Some(Each::Tool), r#"agent.data.exists(d, d == "health")"#),
            (
                Some(Each::Delegation),
                r#"delegation.external && delegation.authentication == "none""#,
            ),
        ];
        for (each, src) in ok {
            assert!(Condition::compile_for(src, &Qs, each).is_ok(), "{src}");
        }
        for (each, src, msg) in [
            (
                Some(Each::Tool),
                r#"tool.efect == "read""#,
                "tool has no field `efect`",
            ),
            (
                Some(Each::Tool),
                r#"tool.effect == "teleport""#,
                "\"teleport\" is not a value",
            ),
            (
                Some(Each::Tool),
                r#"tool.effect in ["read", "nuke"]"#,
                "\"nuke\" is not a value",
            ),
            (
                None,
                r#"tools.exists(t, t.approval == "sometimes")"#,
                "\"sometimes\" is not a value",
            ),
            (
                Some(Each::Agent),
                r#""genomes" in agent.data"#,
                "\"genomes\" is not a value",
            ),
            (None, r#"tool.open_world"#, "unknown variable `tool`"),
            (
                Some(Each::Agent),
                r#"delegation.external"#,
                "unknown variable `delegation`",
            ),
        ] {
            let errs = Condition::compile_for(src, &Qs, each).unwrap_err();
            assert!(errs[0].message.contains(msg), "{src}: {:?}", errs);
        }
    }

    #[test]
    fn an_unknown_question_id_is_an_error_at_its_position() {
        let errs =
            Condition::compile("answers.autonomy_level > 1 && answers.autonmy", &Qs).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].message.contains("unknown question id `autonmy`"),
            "{errs:?}"
        );
        assert_eq!(errs[0].line, 1);
        assert!(errs[0].column > 29, "{errs:?}");
    }

    #[test]
    fn an_unknown_option_value_is_an_error() {
        for src in [
            r#"answers.human_oversight == "nobody""#,
            r#""helth" in answers.data_categories"#,
            r#"answers.human_oversight in ["none", "nobody"]"#,
            r#"answers.data_categories.exists(c, c == "helth")"#,
        ] {
            let errs = Condition::compile(src, &Qs).unwrap_err();
            assert!(errs[0].message.contains("has no option"), "{src}: {errs:?}");
        }
    }

    #[test]
    fn a_syntax_error_and_a_stray_variable_are_errors() {
        assert!(
            Condition::compile("answers.autonomy_level >", &Qs).unwrap_err()[0]
                .message
                .contains("syntax")
        );
        assert!(
            Condition::compile("autonomy_level > 1", &Qs).unwrap_err()[0]
                .message
                .contains("unknown variable")
        );
    }

    #[test]
    fn a_non_boolean_result_is_an_evaluation_error() {
        let c = Condition::compile("answers.autonomy_level + 1", &Qs).unwrap();
        assert!(c
            .eval_cel(&answers(&[("autonomy_level", Value::Int(1))]), &no_hints())
            .is_err());
    }
}
