//! Agent declarations: checked before they are stored, turned into the questionnaire answers
//! they imply (so the two cannot disagree), and imported from what builders already have: an
//! MCP `tools/list` result and an A2A Agent Card.

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use super::answers::Answers;
use super::message::Says;
use super::FieldError;
use crate::rules::model::Questionnaire;
use crate::vocab::agents::{
    Annotations, AuthScheme, Declarations, Delegation, Effect, ImportFormat, Limits, Tool,
};
use crate::vocab::Answer;

/// The most agents, tools per agent and delegations a use case declares.
pub const MAX_AGENTS: usize = 50;
pub const MAX_TOOLS: usize = 200;
pub const MAX_DELEGATIONS: usize = 200;

/// The questionnaire's data categories a declared tool may touch (all but `none`).
fn data_categories(q: &Questionnaire) -> Vec<&str> {
    q.get("data_categories")
        .map(|d| {
            d.options
                .iter()
                .map(|o| o.value.as_str())
                .filter(|v| *v != "none")
                .collect()
        })
        .unwrap_or_default()
}

struct Checker<'a> {
    errors: Vec<FieldError>,
    data: Vec<&'a str>,
}

impl Checker<'_> {
    fn text(&mut self, field: &str, value: &str, max: usize, required: bool) {
        if required && value.trim().is_empty() {
            self.errors.push(FieldError::says(field, Says::Blank));
        } else if value.chars().count() > max {
            self.errors
                .push(FieldError::says(field, Says::LongerThan { max }));
        }
    }

    fn amount(&mut self, field: &str, value: Option<f64>) {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            self.errors.push(FieldError::says(field, Says::NotNegative));
        }
    }

    fn tool(&mut self, at: &str, t: &mut Tool, names: &mut HashSet<String>) {
        self.text(&format!("{at}.name"), &t.name, 128, true);
        if !names.insert(t.name.clone()) {
            self.errors.push(FieldError::says(
                format!("{at}.name"),
                Says::ToolTwice {
                    name: t.name.clone(),
                },
            ));
        }
        self.text(&format!("{at}.description"), &t.description, 2000, false);
        for (i, d) in t.data.iter().enumerate() {
            if !self.data.contains(&d.as_str()) {
                self.errors.push(FieldError::says(
                    format!("{at}.data[{i}]"),
                    Says::NotADataCategory {
                        value: d.clone(),
                        options: self.data.iter().map(|s| s.to_string()).collect(),
                    },
                ));
            }
        }
        t.data.sort();
        t.data.dedup();
        let l = &t.limits;
        self.amount(&format!("{at}.limits.max_amount"), l.max_amount);
        if let Some(c) = &l.currency {
            self.text(&format!("{at}.limits.currency"), c, 3, true);
        }
        self.amount(&format!("{at}.approval_threshold"), t.approval_threshold);
        use crate::vocab::agents::ApprovalPoint;
        match (t.approval, t.approval_threshold) {
            (ApprovalPoint::AboveThreshold, None) => self.errors.push(FieldError::says(
                format!("{at}.approval_threshold"),
                Says::ThresholdNeeded,
            )),
            (ApprovalPoint::None | ApprovalPoint::EveryCall, Some(_)) => self.errors.push(
                FieldError::says(format!("{at}.approval_threshold"), Says::ThresholdOnlyAbove),
            ),
            _ => {}
        }
        t.reversible = Some(t.is_reversible());
    }

    fn delegation(&mut self, at: &str, g: &Delegation, agents: &[&str]) {
        if !agents.contains(&g.from.as_str()) {
            self.errors.push(FieldError::says(
                format!("{at}.from"),
                Says::NoSuchAgent { id: g.from.clone() },
            ));
        }
        self.text(&format!("{at}.to"), &g.to, 200, true);
        if !g.external && !agents.contains(&g.to.as_str()) {
            self.errors.push(FieldError::says(
                format!("{at}.to"),
                Says::InternalDelegation,
            ));
        }
        if !g.external && g.to == g.from {
            self.errors
                .push(FieldError::says(format!("{at}.to"), Says::SelfDelegation));
        }
        self.text(&format!("{at}.url"), &g.url, 2000, false);
        self.text(&format!("{at}.provider"), &g.provider, 200, false);
        if g.skills.len() > 100 {
            self.errors.push(FieldError::says(
                format!("{at}.skills"),
                Says::TooManySkills { max: 100 },
            ));
        }
        for (i, s) in g.skills.iter().enumerate() {
            self.text(&format!("{at}.skills[{i}]"), s, 200, true);
        }
    }
}

fn is_agent_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Checks declarations before they are stored, and returns them normalised (each tool's
/// reversibility stated, data categories sorted). Field paths name the offending element:
/// `agents[0].tools[2].effect`.
pub fn check(q: &Questionnaire, mut d: Declarations) -> Result<Declarations, Vec<FieldError>> {
    let mut c = Checker {
        errors: Vec::new(),
        data: data_categories(q),
    };
    if d.agents.len() > MAX_AGENTS {
        c.errors.push(FieldError::says(
            "agents",
            Says::TooManyAgents { max: MAX_AGENTS },
        ));
    }
    if d.delegations.len() > MAX_DELEGATIONS {
        c.errors.push(FieldError::says(
            "delegations",
            Says::TooManyDelegations {
                max: MAX_DELEGATIONS,
            },
        ));
    }
    let mut ids = HashSet::new();
    for (i, a) in d.agents.iter_mut().enumerate() {
        let at = format!("agents[{i}]");
        if !is_agent_id(&a.id) {
            c.errors
                .push(FieldError::says(format!("{at}.id"), Says::AgentId));
        } else if !ids.insert(a.id.clone()) {
            c.errors.push(FieldError::says(
                format!("{at}.id"),
                Says::AgentIdTaken { id: a.id.clone() },
            ));
        }
        c.text(&format!("{at}.name"), &a.name, 200, true);
        c.text(&format!("{at}.purpose"), &a.purpose, 2000, false);
        c.text(&format!("{at}.model"), &a.model, 200, false);
        c.text(&format!("{at}.provider"), &a.provider, 200, false);
        c.text(&format!("{at}.identity.name"), &a.identity.name, 200, false);
        if a.autonomy > 5 {
            c.errors.push(FieldError::says(
                format!("{at}.autonomy"),
                Says::FromTo { min: 0.0, max: 5.0 },
            ));
        }
        if a.tools.len() > MAX_TOOLS {
            c.errors.push(FieldError::says(
                format!("{at}.tools"),
                Says::TooManyTools { max: MAX_TOOLS },
            ));
        }
        let mut names = HashSet::new();
        for (j, t) in a.tools.iter_mut().enumerate() {
            c.tool(&format!("{at}.tools[{j}]"), t, &mut names);
        }
    }
    let agents: Vec<&str> = d.agents.iter().map(|a| a.id.as_str()).collect();
    let mut pairs = HashSet::new();
    for (i, g) in d.delegations.iter().enumerate() {
        let at = format!("delegations[{i}]");
        c.delegation(&at, g, &agents);
        if !pairs.insert((g.from.as_str(), g.to.as_str())) {
            c.errors.push(FieldError::says(
                at,
                Says::DelegatesTwice {
                    from: g.from.clone(),
                    to: g.to.clone(),
                },
            ));
        }
    }
    if c.errors.is_empty() {
        Ok(d)
    } else {
        Err(c.errors)
    }
}

/// The questionnaire option a tool's effect declares.
fn tool_action(e: Effect) -> &'static str {
    match e {
        Effect::Read => "read_internal",
        Effect::Write | Effect::Destructive => "write_internal",
        Effect::ExternalCommunication => "external_communication",
        Effect::Financial => "financial_transaction",
        Effect::CodeExecution => "code_execution",
        Effect::Physical => "physical_world",
    }
}

/// The question ids whose answers a case's declarations decide.
pub const DERIVED: [&str; 6] = [
    "autonomy_level",
    "tool_actions",
    "actions_reversible",
    "multi_agent",
    "agent_identity",
    "data_categories",
];

/// Sets the answers the declarations decide, so the two cannot disagree: the highest
/// autonomy of any agent, the actions its tools take, whether all of them can be undone,
/// whether agents work with agents (and external ones prove who they are), and the data its
/// tools touch (added to the data the answers declare). A case that declares no agent keeps
/// its answers. Returns the ids set.
pub fn derive(q: &Questionnaire, d: &Declarations, answers: &mut Answers) -> Vec<&'static str> {
    if d.agents.is_empty() {
        return Vec::new();
    }
    let tools: Vec<&Tool> = d.agents.iter().flat_map(|a| &a.tools).collect();
    let mut actions: BTreeSet<String> = tools
        .iter()
        .map(|t| tool_action(t.effect).to_string())
        .collect();
    if actions.is_empty() {
        actions.insert("none".into());
    }
    let external: Vec<&Delegation> = d.delegations.iter().filter(|g| g.external).collect();
    let multi = if !external.is_empty() {
        "external_agents"
    } else if d.agents.len() > 1 || !d.delegations.is_empty() {
        "internal_agents"
    } else {
        "no"
    };
    let mut data: BTreeSet<String> = match answers.get("data_categories") {
        Some(Answer::Choices(c)) => c.iter().cloned().collect(),
        _ => BTreeSet::new(),
    };
    data.extend(tools.iter().flat_map(|t| t.data.iter().cloned()));
    if data.len() > 1 {
        data.remove("none");
    }
    let autonomy = d.agents.iter().map(|a| a.autonomy).max().unwrap_or(0);
    let mut set = vec![
        ("autonomy_level", Answer::Int(i64::from(autonomy))),
        (
            "tool_actions",
            Answer::Choices(actions.into_iter().collect()),
        ),
        (
            "actions_reversible",
            Answer::Bool(tools.iter().all(|t| t.is_reversible())),
        ),
        ("multi_agent", Answer::Text(multi.into())),
    ];
    if !external.is_empty() {
        let proven = external
            .iter()
            .all(|g| g.authentication != AuthScheme::None);
        set.push(("agent_identity", Answer::Bool(proven)));
    }
    if !data.is_empty() {
        set.push((
            "data_categories",
            Answer::Choices(data.into_iter().collect()),
        ));
    }
    let mut derived = Vec::new();
    for (id, value) in set {
        if q.get(id).is_some() {
            answers.insert(id.to_string(), value);
            derived.push(id);
        }
    }
    derived
}

/// Checks declarations ([`check`]) and sets the answers they decide ([`derive`]).
pub fn declare(
    q: &Questionnaire,
    answers: &mut Answers,
    d: Declarations,
) -> Result<Declarations, Vec<FieldError>> {
    let d = check(q, d)?;
    derive(q, &d, answers);
    Ok(d)
}

fn field_error(field: &str, says: Says) -> Vec<FieldError> {
    vec![FieldError::says(field, says)]
}

fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// An MCP hint: its value when given as a boolean, the specification's default otherwise.
fn hint(annotations: Option<&Value>, key: &str, default: bool) -> bool {
    annotations
        .and_then(|a| a.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// The tools of an MCP `tools/list` result (the JSON-RPC response, or its `result`). Absent
/// annotations take the MCP specification's defaults: not read-only, destructive,
/// not idempotent, open-world. A read-only tool reads; a destructive one destroys; any other
/// writes, and is taken as reversible only when its changes are additive and stay inside the
/// organisation. What data they touch, their limits and approval points are for the submitter to
/// add.
pub fn from_mcp_tools_list(doc: &Value) -> Result<Vec<Tool>, Vec<FieldError>> {
    let result = doc.get("result").unwrap_or(doc);
    let Some(list) = result.get("tools").and_then(Value::as_array) else {
        return Err(field_error("document", Says::McpToolsArray));
    };
    let mut tools = Vec::with_capacity(list.len());
    let mut errors = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let name = str_at(t, "name");
        if name.trim().is_empty() {
            errors.push(FieldError::says(
                format!("document.tools[{i}].name"),
                Says::McpToolName,
            ));
            continue;
        }
        let a = t.get("annotations");
        let read_only = hint(a, "readOnlyHint", false);
        // destructiveHint and idempotentHint mean something only for a tool that writes.
        let destructive = !read_only && hint(a, "destructiveHint", true);
        let annotations = Annotations {
            read_only,
            destructive,
            idempotent: !read_only && hint(a, "idempotentHint", false),
            open_world: hint(a, "openWorldHint", true),
        };
        let effect = if read_only {
            Effect::Read
        } else if destructive {
            Effect::Destructive
        } else {
            Effect::Write
        };
        let description = match str_at(t, "description") {
            "" => str_at(a.unwrap_or(&Value::Null), "title"),
            d => d,
        };
        tools.push(Tool {
            name: name.to_string(),
            description: description.chars().take(2000).collect(),
            effect,
            // Reading changes nothing; an additive change inside the organisation (not
            // destructive, not open-world) can be taken back. Anything else cannot be assumed to.
            reversible: Some(read_only || (!destructive && !annotations.open_world)),
            open_world: annotations.open_world,
            data: Vec::new(),
            limits: Limits::default(),
            sandboxed: false,
            approval: crate::vocab::agents::ApprovalPoint::None,
            approval_threshold: None,
            annotations: Some(annotations),
            input_schema: t.get("inputSchema").cloned(),
        });
    }
    if errors.is_empty() {
        Ok(tools)
    } else {
        Err(errors)
    }
}

/// How an A2A security scheme's `type` authenticates.
fn scheme(kind: &str) -> Option<AuthScheme> {
    match kind {
        "apiKey" => Some(AuthScheme::ApiKey),
        "http" => Some(AuthScheme::Http),
        "oauth2" => Some(AuthScheme::Oauth2),
        "openIdConnect" => Some(AuthScheme::OpenidConnect),
        "mutualTLS" => Some(AuthScheme::MutualTls),
        _ => None,
    }
}

/// The delegation from agent `from` to the agent an A2A Agent Card describes: external, its
/// name, URL, provider and skills, and how it is authenticated. The card's security
/// requirements are alternatives, any of which admits a caller, so the weakest one counts;
/// a card that requires none is unauthenticated.
pub fn from_agent_card(doc: &Value, from: &str) -> Result<Delegation, Vec<FieldError>> {
    let name = str_at(doc, "name").trim();
    if name.is_empty() {
        return Err(field_error("document.name", Says::CardName));
    }
    let schemes = doc.get("securitySchemes");
    let mut weakest: Option<AuthScheme> = None;
    let requirements = doc
        .get("security")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, req) in requirements.iter().enumerate() {
        let Some(names) = req.as_object() else {
            return Err(field_error(
                &format!("document.security[{i}]"),
                Says::SecurityRequirement,
            ));
        };
        // An empty requirement ({}) admits anyone.
        let strength = names
            .keys()
            .map(|n| {
                let kind = schemes
                    .and_then(|s| s.get(n))
                    .map_or("", |s| str_at(s, "type"));
                scheme(kind).ok_or_else(|| {
                    field_error(
                        &format!("document.security[{i}]"),
                        Says::NotAScheme {
                            name: n.to_string(),
                        },
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .max()
            .unwrap_or(AuthScheme::None);
        weakest = Some(weakest.map_or(strength, |w| w.min(strength)));
    }
    let skills = doc
        .get("skills")
        .and_then(Value::as_array)
        .map(|s| {
            s.iter()
                .map(|k| match str_at(k, "name") {
                    "" => str_at(k, "id").to_string(),
                    n => n.to_string(),
                })
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Delegation {
        from: from.to_string(),
        to: name.chars().take(200).collect(),
        external: true,
        authentication: weakest.unwrap_or(AuthScheme::None),
        url: str_at(doc, "url").chars().take(2000).collect(),
        provider: doc
            .get("provider")
            .map_or("", |p| str_at(p, "organization"))
            .chars()
            .take(200)
            .collect(),
        skills,
    })
}

/// Imports a document into the declarations: an MCP `tools/list` result's tools join agent
/// `agent`; an A2A Agent Card becomes a delegation from `agent`. Returns what was added.
pub fn import(
    d: &mut Declarations,
    format: ImportFormat,
    agent: &str,
    document: &Value,
) -> Result<Value, Vec<FieldError>> {
    match format {
        ImportFormat::McpToolsList => {
            let tools = from_mcp_tools_list(document)?;
            let names: Vec<String> = tools.iter().map(|t| t.name.clone()).collect();
            merge_tools(d, agent, tools)?;
            Ok(serde_json::json!({ "tools": names }))
        }
        ImportFormat::A2aAgentCard => {
            let g = from_agent_card(document, agent)?;
            let to = g.to.clone();
            merge_delegation(d, g)?;
            Ok(serde_json::json!({ "delegation_to": to }))
        }
    }
}

/// Adds imported tools to an agent (a tool of the same name is replaced), or replaces the
/// delegation to the same agent. The result still has to pass [`check`].
fn merge_tools(d: &mut Declarations, agent: &str, tools: Vec<Tool>) -> Result<(), Vec<FieldError>> {
    let Some(a) = d.agents.iter_mut().find(|a| a.id == agent) else {
        return Err(field_error(
            "agent",
            Says::DeclareAgentFirst {
                id: agent.to_string(),
            },
        ));
    };
    for t in tools {
        match a.tools.iter_mut().find(|x| x.name == t.name) {
            Some(x) => *x = t,
            None => a.tools.push(t),
        }
    }
    Ok(())
}

/// Adds a delegation, replacing one between the same two agents.
fn merge_delegation(d: &mut Declarations, g: Delegation) -> Result<(), Vec<FieldError>> {
    if d.agent(&g.from).is_none() {
        return Err(field_error(
            "agent",
            Says::DeclareAgentFirst { id: g.from.clone() },
        ));
    }
    match d
        .delegations
        .iter_mut()
        .find(|x| x.from == g.from && x.to == g.to)
    {
        Some(x) => *x = g,
        None => d.delegations.push(g),
    }
    Ok(())
}
