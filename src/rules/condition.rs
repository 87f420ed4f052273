//! CEL conditions over `answers`: compiled once at load, checked against the questionnaire
//! (every question id and option value a condition names must exist), evaluated per case.

use std::collections::HashMap;
use std::sync::Arc;

use cel::common::ast::{Expr, IdedExpr, LiteralValue};
use cel::objects::Key;
use cel::{Context, ExecutionError, Program, Value};

/// A problem in a condition, at a character offset within its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// 1-based line and column inside the expression.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the analysis needs to know about a question: its option values, if it has options.
pub trait QuestionLookup {
    /// `None` when no question has this id; `Some(None)` for a question without options.
    fn options_of(&self, id: &str) -> Option<Option<Vec<&str>>>;
}

/// A compiled CEL condition and the question ids it reads.
pub struct Condition {
    source: String,
    program: Program,
    reads: Vec<String>,
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
            bound: Vec::new(),
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
        Ok(Condition {
            source: source.to_string(),
            program,
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

    /// Evaluates against `answers` (a CEL map keyed by question id). An answer that is absent
    /// (unanswered or hidden) makes a comparison that reads it false, never an error.
    pub fn eval(&self, answers: &Value) -> Result<bool, String> {
        ROOT.with(|root| {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("answers", answers.clone());
            match self.program.execute(&ctx) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!("condition gave {other:?}, not a boolean")),
                Err(ExecutionError::NoSuchKey(_)) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

thread_local! {
    // Building a root context registers every built-in function (tens of microseconds);
    // do it once per thread and evaluate each case in a cheap inner scope.
    static ROOT: Context<'static, 'static> = Context::default();
}

/// Builds the CEL value of an answer map.
pub fn answers_value(entries: impl Iterator<Item = (String, Value)>) -> Value {
    let map: HashMap<Key, Value> = entries
        .map(|(k, v)| (Key::String(Arc::new(k)), v))
        .collect();
    Value::Map(cel::objects::Map { map: Arc::new(map) })
}

struct Walker<'a> {
    source: &'a str,
    program: &'a Program,
    questions: &'a dyn QuestionLookup,
    /// Comprehension variables in scope, with the question they iterate over, if any.
    bound: Vec<(String, Option<String>)>,
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

    /// The question id when `e` is `answers.<id>` (or a variable bound to iterate over one).
    fn question_of(&self, e: &IdedExpr) -> Option<String> {
        match &e.expr {
            Expr::Select(s) => match &s.operand.expr {
                Expr::Ident(root) if root == "answers" && !self.is_bound("answers") => {
                    Some(s.field.clone())
                }
                _ => None,
            },
            Expr::Ident(name) => self
                .bound
                .iter()
                .rev()
                .find(|(v, _)| v == name)
                .and_then(|(_, q)| q.clone()),
            _ => None,
        }
    }

    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|(v, _)| v == name)
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

    fn walk(&mut self, e: &IdedExpr) {
        match &e.expr {
            Expr::Ident(name) => {
                if name != "answers" && !self.is_bound(name) {
                    self.error(
                        e.id,
                        format!(
                            "unknown variable `{name}`: conditions read `answers.<question id>`"
                        ),
                    );
                }
            }
            Expr::Select(s) => {
                if matches!(&s.operand.expr, Expr::Ident(r) if r == "answers" && !self.is_bound("answers"))
                {
                    if self.questions.options_of(&s.field).is_none() {
                        self.error(e.id, format!("unknown question id `{}`", s.field));
                    } else {
                        self.reads.push(s.field.clone());
                    }
                } else {
                    self.walk(&s.operand);
                }
            }
            Expr::Call(c) => {
                let args: Vec<&IdedExpr> =
                    c.target.iter().map(|t| &**t).chain(c.args.iter()).collect();
                match c.func_name.as_str() {
                    "_==_" | "_!=_" if args.len() == 2 => {
                        if let Some(q) = self.question_of(args[0]) {
                            self.check_literal(&q, args[1]);
                        }
                        if let Some(q) = self.question_of(args[1]) {
                            self.check_literal(&q, args[0]);
                        }
                    }
                    "@in" if args.len() == 2 => {
                        if let Some(q) = self.question_of(args[1]) {
                            self.check_literal(&q, args[0]);
                        }
                        if let (Some(q), Expr::List(list)) =
                            (self.question_of(args[0]), &args[1].expr)
                        {
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
            Expr::Comprehension(c) => {
                self.walk(&c.iter_range);
                self.walk(&c.accu_init);
                let over = self.question_of(&c.iter_range);
                self.bound.push((c.iter_var.clone(), over));
                if let Some(v2) = &c.iter_var2 {
                    self.bound.push((v2.clone(), None));
                }
                self.bound.push((c.accu_var.clone(), None));
                self.walk(&c.loop_cond);
                self.walk(&c.loop_step);
                self.walk(&c.result);
                self.bound.pop();
                if c.iter_var2.is_some() {
                    self.bound.pop();
                }
                self.bound.pop();
            }
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
    }

    fn answers(pairs: &[(&str, Value)]) -> Value {
        answers_value(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
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
        assert_eq!(c.eval(&yes), Ok(true));
        let no = answers(&[("autonomy_level", Value::Int(4))]);
        assert_eq!(
            c.eval(&no),
            Ok(false),
            "an absent answer never fires a rule"
        );
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
            .eval(&answers(&[("autonomy_level", Value::Int(1))]))
            .is_err());
    }
}
