//! The guardrail policy of an approved revision: what a runtime gateway enforces for each
//! agent, tool and delegation the revision declared. Anything it does not list is denied.
//!
//! A tool is allowed, needs a person's approval (for each call, or above a stated amount), or
//! is denied. The declaration sets the starting point (its approval point); every rule that
//! fired for the tool, or for its agent, with a guardrail can only make it stricter, and the
//! policy names those rules. The digest is the SHA-256 of the policy's JSON without its
//! `digest` member, keys sorted, no whitespace: the runtime can show which approval it runs
//! under, and anyone can recompute it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::digest::sha256_hex;
use super::triage::{Fired, Triage};
use crate::vocab::agents::{
    Agent, ApprovalPoint, AuthScheme, Declarations, Delegation, Effect, Guardrail, Identity,
    Limits, Tool,
};
use crate::vocab::{AgencyCode, CaseId, Tier};

/// The format of the policy document; it changes only when a member changes meaning.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Policy {
    pub format: u32,
    pub use_case: Approval,
    /// What the runtime does with an agent, tool or delegation the policy does not list.
    pub default: Guardrail,
    pub agents: Vec<AgentPolicy>,
    /// `sha256:` and the hex SHA-256 of this document without `digest`, keys sorted, no
    /// whitespace.
    pub digest: String,
}

/// The approval a policy comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Approval {
    #[schema(value_type = String)]
    pub id: CaseId,
    #[schema(value_type = String)]
    pub agency: AgencyCode,
    pub title: String,
    pub revision: i32,
    pub rules_version: String,
    #[schema(value_type = String)]
    pub tier: Tier,
    /// When the revision was approved (UTC, RFC 3339).
    pub approved_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AgentPolicy {
    pub id: String,
    pub name: String,
    pub model: String,
    pub provider: String,
    /// The identity the runtime lets it act under.
    pub identity: Identity,
    pub autonomy: u8,
    pub tools: Vec<ToolPolicy>,
    pub delegations: Vec<DelegationPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ToolPolicy {
    pub name: String,
    pub effect: Effect,
    pub decision: Guardrail,
    /// With `decision = "approve"`: a person approves calls whose amount is above this; when
    /// absent, a person approves every call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approve_above: Option<f64>,
    pub limits: Limits,
    pub open_world: bool,
    pub reversible: bool,
    pub data: Vec<String>,
    /// The rules whose guardrails made the decision stricter than the declaration.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DelegationPolicy {
    pub to: String,
    pub external: bool,
    pub authentication: AuthScheme,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    pub decision: Guardrail,
    pub rules: Vec<String>,
}

/// The guardrails of fired rules that concern `subject`, strictest first considered.
fn guardrails<'a>(
    fired: &'a [Fired],
    subject: &'a str,
) -> impl Iterator<Item = (&'a str, Guardrail)> {
    fired.iter().filter_map(move |f| {
        let g = f.guardrail?;
        f.subjects
            .iter()
            .any(|s| s == subject)
            .then_some((f.rule.as_str(), g))
    })
}

/// Makes a decision stricter with each guardrail, recording the rules that did.
fn apply<'a>(
    decision: &mut Guardrail,
    approve_above: &mut Option<f64>,
    rules: &mut Vec<String>,
    found: impl Iterator<Item = (&'a str, Guardrail)>,
) {
    for (rule, g) in found {
        // A rule asking for approval finds the declared approval point insufficient: a
        // person approves every call.
        if g > *decision || (g == Guardrail::Approve && approve_above.is_some()) {
            *decision = (*decision).max(g);
            *approve_above = None;
            rules.push(rule.to_string());
        }
    }
}

/// The policy of the approved revision whose declarations and triage are given.
pub fn policy(approval: Approval, d: &Declarations, triage: &Triage) -> Policy {
    let fired = &triage.fired;
    let agents = d
        .agents
        .iter()
        .map(|a| AgentPolicy {
            id: a.id.clone(),
            name: a.name.clone(),
            model: a.model.clone(),
            provider: a.provider.clone(),
            identity: a.identity.clone(),
            autonomy: a.autonomy,
            tools: a.tools.iter().map(|t| tool_policy(a, t, fired)).collect(),
            delegations: d
                .delegations
                .iter()
                .filter(|g| g.from == a.id)
                .map(|g| delegation_policy(g, fired))
                .collect(),
        })
        .collect();
    let mut p = Policy {
        format: FORMAT,
        use_case: approval,
        default: Guardrail::Deny,
        agents,
        digest: String::new(),
    };
    p.digest = digest(&p);
    p
}

/// A tool's decision: its declared approval point, made stricter by the guardrails of the
/// rules that fired for its agent or for the tool.
fn tool_policy(a: &Agent, t: &Tool, fired: &[Fired]) -> ToolPolicy {
    let (mut decision, mut approve_above) = match t.approval {
        ApprovalPoint::None => (Guardrail::Allow, None),
        ApprovalPoint::EveryCall => (Guardrail::Approve, None),
        ApprovalPoint::AboveThreshold => (Guardrail::Approve, t.approval_threshold),
    };
    let mut rules = Vec::new();
    let subject = t.subject(a);
    apply(
        &mut decision,
        &mut approve_above,
        &mut rules,
        guardrails(fired, &a.id).chain(guardrails(fired, &subject)),
    );
    ToolPolicy {
        name: t.name.clone(),
        effect: t.effect,
        decision,
        approve_above,
        limits: t.limits.clone(),
        open_world: t.open_world,
        reversible: t.is_reversible(),
        data: t.data.clone(),
        rules,
    }
}

/// A delegation's decision: allowed, unless a rule that fired for it has a stricter guardrail.
fn delegation_policy(g: &Delegation, fired: &[Fired]) -> DelegationPolicy {
    let mut decision = Guardrail::Allow;
    let mut rules = Vec::new();
    let subject = g.subject();
    apply(
        &mut decision,
        &mut None,
        &mut rules,
        guardrails(fired, &subject),
    );
    DelegationPolicy {
        to: g.to.clone(),
        external: g.external,
        authentication: g.authentication,
        url: g.url.clone(),
        decision,
        rules,
    }
}

/// The digest of a policy: SHA-256 over its JSON without `digest`, keys sorted (serde_json's
/// maps are ordered), no whitespace.
pub fn digest(p: &Policy) -> String {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.remove("digest");
    }
    format!("sha256:{}", sha256_hex(&v.to_string()))
}
