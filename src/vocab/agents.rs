//! The words of an agentic use case's declarations: its agents, the tools each may call, the
//! delegations between agents, and where a person must approve. Shared by the rules (which
//! read them in conditions), the domain (validation, derived answers, the guardrail policy),
//! storage and the API.

use serde::{Deserialize, Serialize};
use strum::{Display, EnumString, IntoStaticStr, VariantArray};
use utoipa::ToSchema;

/// What calling a tool does, the most consequential effect it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum Effect {
    Read,
    Write,
    Destructive,
    ExternalCommunication,
    Financial,
    CodeExecution,
    Physical,
}

words!(Effect);

/// Under whose identity an agent acts: its own service identity (a workload or service
/// account), or a person's identity delegated to it (it acts as that user).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum IdentityKind {
    Service,
    DelegatedUser,
}

words!(IdentityKind);

/// Where a person approves a tool's calls: never, each call, or a call whose amount is
/// above the tool's `approval_threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum ApprovalPoint {
    None,
    EveryCall,
    AboveThreshold,
}

words!(ApprovalPoint);

/// How the other side of a delegation proves who it is (the A2A security scheme types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum AuthScheme {
    None,
    ApiKey,
    Http,
    Oauth2,
    OpenidConnect,
    MutualTls,
}

words!(AuthScheme);

/// What a runtime gateway does with a call, from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum Guardrail {
    Allow,
    Approve,
    Deny,
}

words!(Guardrail);

/// An agentic use case's declarations. Empty for a system that declares no agents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    #[serde(default)]
    pub agents: Vec<Agent>,
    #[serde(default)]
    pub delegations: Vec<Delegation>,
}

impl Declarations {
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.delegations.is_empty()
    }

    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }
}

/// One agent of the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Agent {
    /// Stable within the use case: lower-case letters, digits, `-` and `_`.
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub purpose: String,
    /// The model it runs on, and who provides it.
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub provider: String,
    pub identity: Identity,
    /// 0 (only informs people) to 5 (chains actions with no person in the loop), as the
    /// questionnaire's `autonomy_level`.
    pub autonomy: u8,
    #[serde(default)]
    pub tools: Vec<Tool>,
}

/// The identity an agent acts under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub kind: IdentityKind,
    /// The service account, or whose identity is delegated (a role, not a person's name).
    #[serde(default)]
    pub name: String,
}

/// A tool an agent may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub effect: Effect,
    /// Whether every effect of a call can be undone; when absent, only reading is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversible: Option<bool>,
    /// Reaches outside the organisation (the web, other parties, any recipient).
    #[serde(default)]
    pub open_world: bool,
    /// The data categories it touches (the questionnaire's `data_categories` values).
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    /// Code runs isolated from the network and credentials it does not need.
    #[serde(default)]
    pub sandboxed: bool,
    #[serde(default = "no_approval")]
    pub approval: ApprovalPoint,
    /// With `approval = "above_threshold"`: the amount above which a person approves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_threshold: Option<f64>,
    /// The MCP tool annotations, as imported (the specification's defaults applied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
    /// The tool's input schema, as imported from MCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub input_schema: Option<serde_json::Value>,
}

fn no_approval() -> ApprovalPoint {
    ApprovalPoint::None
}

impl Tool {
    /// How fired rules and policies name this tool of `agent`: `agent/tool`.
    pub fn subject(&self, agent: &Agent) -> String {
        format!("{}/{}", agent.id, self.name)
    }

    /// Whether every effect of a call can be undone (undeclared: only reading can).
    pub fn is_reversible(&self) -> bool {
        self.reversible.unwrap_or(self.effect == Effect::Read)
    }
}

/// Limits enforced outside the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The largest amount one call may move or commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_per_hour: Option<u32>,
    /// How many recipients outside the organisation one call may reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_external_recipients: Option<u32>,
}

/// MCP tool annotations (`readOnlyHint`, `destructiveHint`, `idempotentHint`,
/// `openWorldHint`), with the specification's defaults where a hint was absent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Delegation {
    /// How fired rules and policies name this delegation: `agent->other`.
    pub fn subject(&self) -> String {
        format!("{}->{}", self.from, self.to)
    }
}

/// One agent handing work to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// The delegating agent's id.
    pub from: String,
    /// An agent of this use case (internal), or the other agent's name (external).
    pub to: String,
    /// Run by someone else: a partner, a vendor, anyone outside the organisation.
    #[serde(default)]
    pub external: bool,
    /// How the other side proves who it is.
    pub authentication: AuthScheme,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub provider: String,
    /// What the other agent says it can do (an A2A card's skills).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
}

/// What a rule evaluated once per declared element concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum Each {
    Agent,
    Tool,
    Delegation,
}

words!(Each);

/// What builders already have, to import as declarations: the result of an MCP server's
/// `tools/list` (its tools join an agent), or an A2A Agent Card (an agent delegates to the
/// agent it describes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[derive(Display, EnumString, IntoStaticStr, VariantArray)]
#[strum(serialize_all = "snake_case")]
#[derive(ToSchema)]
pub enum ImportFormat {
    McpToolsList,
    A2aAgentCard,
}

words!(ImportFormat);
