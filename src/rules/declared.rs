//! An agentic case's declarations as conditions read them. Every condition may read the lists
//! `agents`, `tools` (every agent's tools, each with its `agent`) and `delegations`; a rule
//! evaluated once per element (`each = "tool"`, `"agent"` or `"delegation"`) also reads that
//! element as `tool` (with its `agent`), `agent`, or `delegation` (with the delegating
//! `agent`). The fields each element has, and the values a field may take, are checked when
//! the rules load, as question ids and options are.

use std::sync::{Arc, LazyLock};

use cel::Value;

use super::condition::answers_value;
use crate::vocab::agents::{
    Agent, ApprovalPoint, AuthScheme, Declarations, Delegation, Each, Effect, IdentityKind, Tool,
};

/// The values a field may take: any, a fixed list, or the options of a question.
pub enum Values {
    Any,
    Of(Vec<&'static str>),
    OptionsOf(&'static str),
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Values {
    Values::Of(all.iter().map(|v| name(*v)).collect())
}

type Fields = Vec<(&'static str, Values)>;

static TOOL: LazyLock<Fields> = LazyLock::new(|| {
    vec![
        ("agent", Values::Any),
        ("name", Values::Any),
        ("description", Values::Any),
        ("effect", names(Effect::ALL, Effect::as_str)),
        ("reversible", Values::Any),
        ("open_world", Values::Any),
        ("data", Values::OptionsOf("data_categories")),
        ("sandboxed", Values::Any),
        ("approval", names(ApprovalPoint::ALL, ApprovalPoint::as_str)),
        ("approval_threshold", Values::Any),
        ("max_amount", Values::Any),
        ("calls_per_hour", Values::Any),
        ("max_external_recipients", Values::Any),
        ("annotations", Values::Any),
    ]
});

static AGENT: LazyLock<Fields> = LazyLock::new(|| {
    vec![
        ("id", Values::Any),
        ("name", Values::Any),
        ("purpose", Values::Any),
        ("model", Values::Any),
        ("provider", Values::Any),
        ("identity", names(IdentityKind::ALL, IdentityKind::as_str)),
        ("identity_name", Values::Any),
        ("autonomy", Values::Any),
        ("data", Values::OptionsOf("data_categories")),
        ("effects", names(Effect::ALL, Effect::as_str)),
        ("open_world", Values::Any),
        ("tools", Values::Any),
    ]
});

static DELEGATION: LazyLock<Fields> = LazyLock::new(|| {
    vec![
        ("from", Values::Any),
        ("to", Values::Any),
        ("external", Values::Any),
        ("authentication", names(AuthScheme::ALL, AuthScheme::as_str)),
        ("url", Values::Any),
        ("provider", Values::Any),
        ("skills", Values::Any),
    ]
});

/// The fields of an element as conditions see them.
pub fn fields(kind: Each) -> &'static [(&'static str, Values)] {
    match kind {
        Each::Tool => &TOOL,
        Each::Agent => &AGENT,
        Each::Delegation => &DELEGATION,
    }
}

/// The element a list variable holds: `agents`, `tools`, `delegations`.
pub fn list_of(name: &str) -> Option<Each> {
    match name {
        "agents" => Some(Each::Agent),
        "tools" => Some(Each::Tool),
        "delegations" => Some(Each::Delegation),
        _ => None,
    }
}

/// The element variable a rule evaluated per element reads: `agent`, `tool`, `delegation`.
pub fn element_of(name: &str) -> Option<Each> {
    Each::parse(name)
}

/// One declared element as a condition reads it.
pub struct Item {
    /// What a fired rule names: `agent`, `agent/tool`, or `agent->other`.
    pub subject: String,
    /// The agent it belongs to (a tool's, a delegation's delegating agent), by index.
    pub agent: Option<usize>,
    pub value: Value,
}

/// A case's declarations as CEL values: the lists every condition reads, and each element,
/// for rules evaluated per element.
pub struct Declared {
    pub agents: Value,
    pub tools: Value,
    pub delegations: Value,
    pub agent_items: Vec<Item>,
    pub tool_items: Vec<Item>,
    pub delegation_items: Vec<Item>,
}

static EMPTY: LazyLock<Declared> = LazyLock::new(|| Declared::of(&Declarations::default()));

fn list(items: &[Item]) -> Value {
    Value::from(items.iter().map(|i| i.value.clone()).collect::<Vec<_>>())
}

impl Declared {
    /// The declarations of a case that declares none.
    pub fn none() -> &'static Declared {
        &EMPTY
    }

    pub fn of(d: &Declarations) -> Declared {
        let mut agent_items = Vec::with_capacity(d.agents.len());
        let mut tool_items = Vec::new();
        for (i, a) in d.agents.iter().enumerate() {
            let tools: Vec<Value> = a.tools.iter().map(|t| tool_value(a, t)).collect();
            tool_items.extend(a.tools.iter().zip(&tools).map(|(t, v)| Item {
                subject: t.subject(a),
                agent: Some(i),
                value: v.clone(),
            }));
            agent_items.push(Item {
                subject: a.id.clone(),
                agent: Some(i),
                value: agent_value(a, tools),
            });
        }
        let delegation_items: Vec<Item> = d
            .delegations
            .iter()
            .map(|g| Item {
                subject: g.subject(),
                agent: d.agents.iter().position(|a| a.id == g.from),
                value: delegation_value(g),
            })
            .collect();
        Declared {
            agents: list(&agent_items),
            tools: list(&tool_items),
            delegations: list(&delegation_items),
            agent_items,
            tool_items,
            delegation_items,
        }
    }

    /// The elements a rule evaluated per `each` runs over.
    pub fn items(&self, each: Each) -> &[Item] {
        match each {
            Each::Agent => &self.agent_items,
            Each::Tool => &self.tool_items,
            Each::Delegation => &self.delegation_items,
        }
    }

    /// The variables bound while evaluating for `item`: the element, and its agent.
    pub fn bindings<'a>(&'a self, each: Each, item: &'a Item) -> Vec<(&'static str, &'a Value)> {
        let mut b = vec![(each.as_str(), &item.value)];
        if each != Each::Agent {
            if let Some(a) = item.agent.and_then(|i| self.agent_items.get(i)) {
                b.push(("agent", &a.value));
            }
        }
        b
    }
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    answers_value(entries.into_iter().map(|(k, v)| (k.to_string(), v)))
}

fn text(s: &str) -> Value {
    Value::String(Arc::new(s.to_string()))
}

fn texts<'a>(items: impl IntoIterator<Item = &'a str>) -> Value {
    Value::from(items.into_iter().map(text).collect::<Vec<_>>())
}

fn tool_value(a: &Agent, t: &Tool) -> Value {
    let mut e = vec![
        ("agent", text(&a.id)),
        ("name", text(&t.name)),
        ("description", text(&t.description)),
        ("effect", text(t.effect.as_str())),
        ("reversible", Value::Bool(t.is_reversible())),
        ("open_world", Value::Bool(t.open_world)),
        ("data", texts(t.data.iter().map(String::as_str))),
        ("sandboxed", Value::Bool(t.sandboxed)),
        ("approval", text(t.approval.as_str())),
    ];
    let l = &t.limits;
    let optional = [
        ("approval_threshold", t.approval_threshold),
        ("max_amount", l.max_amount),
        ("calls_per_hour", l.calls_per_hour.map(f64::from)),
        (
            "max_external_recipients",
            l.max_external_recipients.map(f64::from),
        ),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            e.push((k, Value::Float(v)));
        }
    }
    if let Some(n) = t.annotations {
        e.push((
            "annotations",
            map(vec![
                ("read_only", Value::Bool(n.read_only)),
                ("destructive", Value::Bool(n.destructive)),
                ("idempotent", Value::Bool(n.idempotent)),
                ("open_world", Value::Bool(n.open_world)),
            ]),
        ));
    }
    map(e)
}

fn agent_value(a: &Agent, tools: Vec<Value>) -> Value {
    let mut data: Vec<&str> = a
        .tools
        .iter()
        .flat_map(|t| t.data.iter().map(String::as_str))
        .collect();
    data.sort_unstable();
    data.dedup();
    let mut effects: Vec<&str> = a.tools.iter().map(|t| t.effect.as_str()).collect();
    effects.sort_unstable();
    effects.dedup();
    map(vec![
        ("id", text(&a.id)),
        ("name", text(&a.name)),
        ("purpose", text(&a.purpose)),
        ("model", text(&a.model)),
        ("provider", text(&a.provider)),
        ("identity", text(a.identity.kind.as_str())),
        ("identity_name", text(&a.identity.name)),
        ("autonomy", Value::Int(i64::from(a.autonomy))),
        ("data", texts(data)),
        ("effects", texts(effects)),
        (
            "open_world",
            Value::Bool(a.tools.iter().any(|t| t.open_world)),
        ),
        ("tools", Value::from(tools)),
    ])
}

fn delegation_value(g: &Delegation) -> Value {
    map(vec![
        ("from", text(&g.from)),
        ("to", text(&g.to)),
        ("external", Value::Bool(g.external)),
        ("authentication", text(g.authentication.as_str())),
        ("url", text(&g.url)),
        ("provider", text(&g.provider)),
        ("skills", texts(g.skills.iter().map(String::as_str))),
    ])
}

/// A declaration with every field set, for checking conditions when the rules load.
pub fn sample() -> Declarations {
    use crate::vocab::agents::{Annotations, Identity, Limits};
    Declarations {
        agents: vec![Agent {
            id: "sample".into(),
            name: "Sample agent".into(),
            purpose: "checks conditions".into(),
            model: "model".into(),
            provider: "provider".into(),
            identity: Identity {
                kind: IdentityKind::Service,
                name: "svc".into(),
            },
            autonomy: 3,
            tools: vec![Tool {
                name: "tool".into(),
                description: "a tool".into(),
                effect: Effect::Write,
                reversible: Some(true),
                open_world: true,
                data: vec!["personal".into()],
                limits: Limits {
                    max_amount: Some(1.0),
                    currency: Some("USD".into()),
                    calls_per_hour: Some(1),
                    max_external_recipients: Some(1),
                },
                sandboxed: true,
                approval: ApprovalPoint::AboveThreshold,
                approval_threshold: Some(1.0),
                annotations: Some(Annotations {
                    read_only: false,
                    destructive: true,
                    idempotent: false,
                    open_world: true,
                }),
                input_schema: None,
            }],
        }],
        delegations: vec![Delegation {
            from: "sample".into(),
            to: "other".into(),
            external: true,
            authentication: AuthScheme::Oauth2,
            url: "https://example.org".into(),
            provider: "partner".into(),
            skills: vec!["skill".into()],
        }],
    }
}
