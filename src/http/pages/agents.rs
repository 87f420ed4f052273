//! The case page's agents: a table of each agent and the tools it may call, the delegations
//! between agents, and a small graph of the same facts with the risky edges marked. The
//! table carries everything the graph shows, for people who cannot see it; each element a
//! fired rule concerns says which rules, and each rule links back to it.

use std::collections::HashMap;

use serde::Serialize;

use super::render::Tr;
use crate::domain::triage::Fired;
use crate::rules::i18n::Localizer;
use crate::rules::model::Questionnaire;
use crate::vocab::agents::{Agent, ApprovalPoint, Declarations, Delegation, Tool};

#[derive(Serialize)]
pub struct AgentsView {
    agents: Vec<AgentRow>,
    delegations: Vec<DelegationRow>,
    graph: Graph,
}

#[derive(Serialize)]
struct AgentRow {
    anchor: String,
    id: String,
    name: String,
    purpose: String,
    model: String,
    identity: String,
    autonomy: u8,
    flags: Vec<String>,
    tools: Vec<ToolRow>,
}

#[derive(Serialize)]
struct ToolRow {
    anchor: String,
    name: String,
    description: String,
    effect: String,
    reversible: String,
    open_world: String,
    data: String,
    limits: String,
    approval: String,
    flags: Vec<String>,
}

#[derive(Serialize)]
struct DelegationRow {
    anchor: String,
    from: String,
    to: String,
    external: String,
    authentication: String,
    flags: Vec<String>,
}

/// A link from a fired rule to the element it concerns.
#[derive(Serialize)]
pub struct SubjectLink {
    pub label: String,
    pub anchor: String,
}

#[derive(Serialize)]
struct Graph {
    width: u32,
    height: u32,
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
}

#[derive(Serialize)]
struct GraphNode {
    x: u32,
    y: u32,
    label: String,
    /// `agent`, `tool` or `external`.
    kind: &'static str,
    risky: bool,
}

#[derive(Serialize)]
struct GraphEdge {
    /// An SVG path.
    d: String,
    risky: bool,
    delegation: bool,
}

const ROW: u32 = 34;
const COLUMNS: [u32; 3] = [10, 250, 490];
const BOX: u32 = 200;

fn short(s: &str) -> String {
    if s.chars().count() > 26 {
        format!("{}…", s.chars().take(25).collect::<String>())
    } else {
        s.to_string()
    }
}

fn agent_anchor(i: usize) -> String {
    format!("agent-{i}")
}

fn tool_anchor(i: usize, j: usize) -> String {
    format!("tool-{i}-{j}")
}

fn delegation_anchor(k: usize) -> String {
    format!("delegation-{k}")
}

/// The row anchor of every declared element, keyed by the subject name fired rules use.
pub fn anchors(d: &Declarations) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for (i, a) in d.agents.iter().enumerate() {
        m.insert(a.id.clone(), agent_anchor(i));
        for (j, t) in a.tools.iter().enumerate() {
            m.insert(t.subject(a), tool_anchor(i, j));
        }
    }
    for (k, g) in d.delegations.iter().enumerate() {
        m.insert(g.subject(), delegation_anchor(k));
    }
    m
}

/// Where a fired rule points: its subjects, linked to their rows (`anchors` of the case).
pub fn subject_links(anchors: &HashMap<String, String>, f: &Fired) -> Vec<SubjectLink> {
    f.subjects
        .iter()
        .filter_map(|s| {
            anchors.get(s).map(|a| SubjectLink {
                label: s.clone(),
                anchor: a.clone(),
            })
        })
        .collect()
}

fn limits_text(t: &Tool, tr: Tr) -> String {
    let l = &t.limits;
    let mut parts = Vec::new();
    if let Some(m) = l.max_amount {
        let currency = l.currency.as_deref().unwrap_or("");
        parts.push(
            format!("{} {m} {currency}", tr("limit_amount".into()))
                .trim()
                .to_string(),
        );
    }
    if let Some(c) = l.calls_per_hour {
        parts.push(format!("{} {c}", tr("limit_calls".into())));
    }
    if let Some(r) = l.max_external_recipients {
        parts.push(format!("{} {r}", tr("limit_recipients".into())));
    }
    parts.join(&tr("list_separator".into()))
}

fn approval_text(t: &Tool, tr: Tr) -> String {
    match (t.approval, t.approval_threshold) {
        (ApprovalPoint::AboveThreshold, Some(x)) => {
            format!("{} {x}", tr("approval_above_threshold".into()))
        }
        (a, _) => tr(format!("approval_{a}")),
    }
}

/// The agents section of a case that declares agents; `None` when it declares none.
pub fn view(
    d: &Declarations,
    fired: &[Fired],
    q: &Questionnaire,
    tr: Tr,
    tx: Localizer,
) -> Option<AgentsView> {
    if d.is_empty() {
        return None;
    }
    let rows = Rows {
        flags: flags_by_subject(fired, tx),
        q,
        tr,
        tx,
    };
    let agents = d
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| rows.agent(i, a))
        .collect();
    let delegations = d
        .delegations
        .iter()
        .enumerate()
        .map(|(k, g)| rows.delegation(k, g))
        .collect();
    Some(AgentsView {
        graph: graph(d, &rows.flags),
        agents,
        delegations,
    })
}

/// The titles of the rules that fired for each subject (agent id, tool subject, delegation
/// subject), in the reader's language.
fn flags_by_subject<'f>(fired: &'f [Fired], tx: Localizer) -> HashMap<&'f str, Vec<String>> {
    let mut flags: HashMap<&str, Vec<String>> = HashMap::new();
    for f in fired {
        for s in &f.subjects {
            flags
                .entry(s.as_str())
                .or_default()
                .push(tx.rule_title(&f.rule, &f.title));
        }
    }
    flags
}

/// What the table rows are built from: the rules fired per subject and the reader's language.
struct Rows<'a> {
    flags: HashMap<&'a str, Vec<String>>,
    q: &'a Questionnaire,
    tr: Tr<'a>,
    tx: Localizer<'a>,
}

impl Rows<'_> {
    fn flags_of(&self, subject: &str) -> Vec<String> {
        self.flags.get(subject).cloned().unwrap_or_default()
    }

    fn yes_no(&self, b: bool) -> String {
        (self.tr)(if b { "yes".into() } else { "no".into() })
    }

    /// A data category as the questionnaire names it, or its value when it names none.
    fn data_label(&self, v: &str) -> String {
        self.q
            .get("data_categories")
            .and_then(|qu| {
                qu.options
                    .iter()
                    .find(|o| o.value == v)
                    .map(|o| self.tx.option(qu, o))
            })
            .unwrap_or_else(|| v.to_string())
    }

    fn agent(&self, i: usize, a: &Agent) -> AgentRow {
        let tr = self.tr;
        AgentRow {
            anchor: agent_anchor(i),
            id: a.id.clone(),
            name: a.name.clone(),
            purpose: a.purpose.clone(),
            model: [a.model.as_str(), a.provider.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" · "),
            identity: format!(
                "{}{}",
                tr(format!("identity_{}", a.identity.kind)),
                if a.identity.name.is_empty() {
                    String::new()
                } else {
                    format!(": {}", a.identity.name)
                }
            ),
            autonomy: a.autonomy,
            flags: self.flags_of(&a.id),
            tools: a
                .tools
                .iter()
                .enumerate()
                .map(|(j, t)| self.tool(i, j, a, t))
                .collect(),
        }
    }

    fn tool(&self, i: usize, j: usize, a: &Agent, t: &Tool) -> ToolRow {
        let tr = self.tr;
        ToolRow {
            anchor: tool_anchor(i, j),
            name: t.name.clone(),
            description: t.description.clone(),
            effect: tr(format!("effect_{}", t.effect)),
            reversible: self.yes_no(t.is_reversible()),
            open_world: self.yes_no(t.open_world),
            data: t
                .data
                .iter()
                .map(|v| self.data_label(v))
                .collect::<Vec<_>>()
                .join(&tr("list_separator".into())),
            limits: limits_text(t, tr),
            approval: approval_text(t, tr),
            flags: self.flags_of(&t.subject(a)),
        }
    }

    fn delegation(&self, k: usize, g: &Delegation) -> DelegationRow {
        DelegationRow {
            anchor: delegation_anchor(k),
            from: g.from.clone(),
            to: g.to.clone(),
            external: self.yes_no(g.external),
            authentication: (self.tr)(format!("auth_{}", g.authentication)),
            flags: self.flags_of(&g.subject()),
        }
    }
}

/// Agents in the first column, their tools in the second, the agents they delegate to
/// outside the use case in the third; an edge is risky when a rule fired for its element.
fn graph(d: &Declarations, flags: &HashMap<&str, Vec<String>>) -> Graph {
    let mut layout = Layout::default();
    for a in &d.agents {
        layout.agent(a, flags);
    }
    layout.delegations(&d.delegations, flags)
}

/// The graph as it is laid out: the nodes and edges so far, where each agent's box ends,
/// and how many rows the tool column has used.
#[derive(Default)]
struct Layout<'a> {
    nodes: Vec<GraphNode>,
    edges: Vec<GraphEdge>,
    agent_pos: HashMap<&'a str, (u32, u32)>,
    row_tool: u32,
}

impl<'a> Layout<'a> {
    /// An agent in the first column, centred beside its tools in the second, an edge to each.
    fn agent(&mut self, a: &'a Agent, flags: &HashMap<&str, Vec<String>>) {
        let first = self.row_tool;
        let y_tools: Vec<u32> = a
            .tools
            .iter()
            .map(|_| {
                self.row_tool += 1;
                (self.row_tool - 1) * ROW + 20
            })
            .collect();
        let span = self.row_tool.max(first + 1) - first;
        let y = first * ROW + 20 + (span - 1) * ROW / 2;
        if a.tools.is_empty() {
            self.row_tool += 1;
        }
        let risky = flags.contains_key(a.id.as_str());
        self.nodes.push(GraphNode {
            x: COLUMNS[0],
            y,
            label: short(&a.name),
            kind: "agent",
            risky,
        });
        self.agent_pos.insert(a.id.as_str(), (COLUMNS[0] + BOX, y));
        for (t, ty) in a.tools.iter().zip(y_tools) {
            let risky = flags.contains_key(t.subject(a).as_str());
            self.nodes.push(GraphNode {
                x: COLUMNS[1],
                y: ty,
                label: short(&t.name),
                kind: "tool",
                risky,
            });
            self.edges.push(GraphEdge {
                d: format!(
                    "M{} {} L{} {}",
                    COLUMNS[0] + BOX,
                    y + 12,
                    COLUMNS[1],
                    ty + 12
                ),
                risky,
                delegation: false,
            });
        }
    }

    /// Delegations leave the agent's box from below, run along a lane of their own under
    /// every tool, and enter the other agent from the left: they never cross a tool's box.
    /// External agents get a node each in the third column.
    fn delegations(
        mut self,
        delegations: &[Delegation],
        flags: &HashMap<&str, Vec<String>>,
    ) -> Graph {
        let rows = self.row_tool.max(1);
        let lanes_top = rows * ROW + 16;
        let mut row_ext = 0u32;
        let mut lane = 0u32;
        for g in delegations {
            let Some(&(fx, fy)) = self.agent_pos.get(g.from.as_str()) else {
                continue;
            };
            let risky = flags.contains_key(g.subject().as_str());
            let (x2, y2) = match self.agent_pos.get(g.to.as_str()).filter(|_| !g.external) {
                Some(&(tx, ty)) => (tx - BOX, ty + 12),
                None => {
                    let y = row_ext * ROW + 20;
                    row_ext += 1;
                    self.nodes.push(GraphNode {
                        x: COLUMNS[2],
                        y,
                        label: short(&g.to),
                        kind: "external",
                        risky,
                    });
                    (COLUMNS[2], y + 12)
                }
            };
            let lane_y = lanes_top + lane * 10;
            let turn = x2.saturating_sub(14 + lane * 4);
            let start = fx - BOX / 2 + lane * 6;
            lane += 1;
            self.edges.push(GraphEdge {
                d: format!("M{start} {} V{lane_y} H{turn} V{y2} H{x2}", fy + 24),
                risky,
                delegation: true,
            });
        }
        Graph {
            width: COLUMNS[2] + BOX + 10,
            height: (self.row_tool.max(row_ext).max(1) * ROW + 30).max(lanes_top + lane * 10 + 10),
            nodes: self.nodes,
            edges: self.edges,
        }
    }
}
