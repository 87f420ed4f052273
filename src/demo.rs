//! `serve --demo`: a demo portfolio (agencies, one user of each role, and the example cases
//! of the rule pack submitted across agencies), so a visitor can try every part at once.

use std::path::Path;

use crate::db::{agencies, cases, users, DbConnection};
use crate::domain::access::{Principal, ReviewScope, Role};
use crate::domain::answers;
use crate::error::{AppError, AppResult};
use crate::rules::cases::load_cases;
use crate::rules::RuleSet;

const AGENCIES: &[(&str, &str)] = &[
    ("UNICEF", "United Nations Children's Fund"),
    ("UNHCR", "United Nations High Commissioner for Refugees"),
    ("IMF", "International Monetary Fund"),
    ("WFP", "World Food Programme"),
    ("WHO", "World Health Organization"),
    ("UNICC", "United Nations International Computing Centre"),
];

const GROUPS: &[&str] = &["privacy", "security", "legal", "ethics", "technical"];

struct DemoUser {
    email: String,
    agency: &'static str,
    roles: Vec<Role>,
    all_scope: bool,
}

fn demo_users() -> Vec<DemoUser> {
    let mut v: Vec<DemoUser> = AGENCIES
        .iter()
        .map(|(code, _)| DemoUser {
            email: format!("submitter@{}.demo", code.to_lowercase()),
            agency: code,
            roles: vec![Role::Submitter],
            all_scope: false,
        })
        .collect();
    for (name, role) in [
        ("reviewer", Role::Reviewer),
        ("senior", Role::SeniorReviewer),
        ("portfolio", Role::PortfolioOwner),
        ("admin", Role::Admin),
    ] {
        v.push(DemoUser {
            email: format!("{name}@unicc.demo"),
            agency: "UNICC",
            roles: vec![role],
            all_scope: matches!(role, Role::Reviewer | Role::SeniorReviewer),
        });
    }
    v
}

pub struct DemoReport {
    pub seeded: bool,
    pub cases: usize,
    /// The password every demo user signs in with (new on each run).
    pub password: String,
    /// (e-mail, agency, roles, token)
    pub tokens: Vec<TokenLine>,
}

impl DemoReport {
    pub fn render(&self, bind: &str) -> String {
        let mut out = if self.seeded {
            format!(
                "Demo portfolio seeded: {} agencies, {} users, {} use cases.\n",
                AGENCIES.len(),
                self.tokens.len(),
                self.cases
            )
        } else {
            "The database already holds data: nothing seeded. New tokens for the demo users:\n"
                .to_string()
        };
        out += &format!(
            "Sign in at http://{bind}/login as any user below with the password: {}\n",
            self.password
        );
        out += "API tokens (send as Authorization: Bearer <token>):\n";
        for (email, agency, roles, token) in &self.tokens {
            out += &format!("  {email:<24} {agency:<7} {roles:<16} {token}\n");
        }
        if let Some((_, _, _, token)) = self.tokens.iter().find(|t| t.2 == "portfolio_owner") {
            out += &format!("Try:\n  curl -H 'Authorization: Bearer {token}' http://{bind}/api/v1/use-cases?limit=5\n");
        }
        out
    }
}

fn any_cases(conn: &mut DbConnection) -> AppResult<bool> {
    Ok(cases::table_counts(conn)?[0] > 0)
}

/// Seeds the demo into an empty database; on a database that already has data, only issues
/// fresh tokens for the demo users that exist (tokens are stored hashed, so old ones cannot
/// be shown again).
pub fn seed(conn: &mut DbConnection, rules: &RuleSet, cases_dir: &Path) -> AppResult<DemoReport> {
    let seeded = !any_cases(conn)?;
    let password = {
        let mut b = [0u8; 9];
        getrandom::fill(&mut b).map_err(|e| AppError::internal("random", e.to_string()))?;
        format!("demo-{}", users::hex(&b))
    };
    if seeded {
        for (code, name) in AGENCIES {
            if agencies::find_by_code(conn, code)?.is_none() {
                agencies::create(conn, code, name)?;
            }
        }
    }
    let mut tokens = Vec::new();
    let mut submitters = Vec::new();
    for u in demo_users() {
        if let Some((token, submitter)) = sign_up(conn, u, seeded, &password)? {
            tokens.push(token);
            submitters.extend(submitter);
        }
    }
    let cases = if seeded && !submitters.is_empty() {
        seed_cases(conn, rules, cases_dir, &submitters)?
    } else {
        0
    };
    Ok(DemoReport {
        seeded,
        cases,
        password,
        tokens,
    })
}

/// A demo user's line of the report: e-mail, agency, roles, API token.
type TokenLine = (String, String, String, String);

/// Creates (on a fresh database) or finds a demo user, sets the demo password and issues a
/// token; returns the report line and, for a submitter, the principal to create cases as.
fn sign_up(
    conn: &mut DbConnection,
    u: DemoUser,
    seeded: bool,
    password: &str,
) -> AppResult<Option<(TokenLine, Option<Principal>)>> {
    let Some(agency) = agencies::find_by_code(conn, u.agency)? else {
        return Ok(None);
    };
    let id = match users::find_id_by_email(conn, &u.email)? {
        Some(id) => id,
        None if seeded => users::create(
            conn,
            users::NewUser {
                agency_id: &agency.id,
                email: &u.email,
                roles: &u.roles,
                review_groups: &GROUPS.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
                review_scope: if u.all_scope {
                    ReviewScope::All
                } else {
                    ReviewScope::Own
                },
            },
        )?,
        None => return Ok(None),
    };
    users::set_password(conn, &id, password)?;
    let token = users::issue_token(conn, &id)?;
    let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
    let line = (
        u.email.clone(),
        u.agency.to_string(),
        roles.join(","),
        token,
    );
    let submitter = u.roles.contains(&Role::Submitter).then(|| Principal {
        user_id: id,
        email: u.email,
        agency_id: agency.id,
        agency_code: agency.code,
        roles: u.roles,
        review_groups: vec![],
        review_scope: ReviewScope::Own,
    });
    Ok(Some((line, submitter)))
}

/// Where a demo case stands on value and feasibility: its answers to the questions that give
/// those two dimensions their points. The rule pack's example cases are written to test the
/// risk rules and nearly all describe the same modest pilot; a real portfolio also holds
/// flagships, strategic bets not yet feasible, quick wins and long shots. None of these
/// questions is read by a risk rule, so each case keeps the tier its example expects.
fn profile(i: usize) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let valuable = [
        ("mandate_alignment", json!(4)),
        ("people_served", json!(250_000)),
        ("efficiency_gain", json!("transformative")),
        ("urgency", json!("high")),
        ("replicability", json!("system_wide")),
    ];
    let modest = [
        ("mandate_alignment", json!(1)),
        ("people_served", json!(300)),
        ("efficiency_gain", json!("some")),
        ("urgency", json!("low")),
        ("replicability", json!("agency_specific")),
    ];
    let ready = [
        ("stage", json!("production")),
        ("data_availability", json!("available_curated")),
        ("integration_complexity", json!("standalone")),
        ("cost_estimate", json!("under_50k")),
    ];
    let far_off = [
        ("stage", json!("idea")),
        ("data_availability", json!("partial")),
        ("integration_complexity", json!("legacy_core")),
        ("cost_estimate", json!("over_1m")),
    ];
    let (value, feasibility) = match i % 4 {
        0 => (valuable, ready),
        1 => (valuable, far_off),
        2 => (modest, ready),
        _ => (modest, far_off),
    };
    value.into_iter().chain(feasibility).collect()
}

/// Creates the example cases, shared round the submitters and each given one of the four
/// value-and-feasibility profiles in turn; every fifth stays a draft, so the demo shows work
/// in progress too. Returns how many were created.
fn seed_cases(
    conn: &mut DbConnection,
    rules: &RuleSet,
    cases_dir: &Path,
    submitters: &[Principal],
) -> AppResult<usize> {
    let examples = load_cases(cases_dir).map_err(|e| AppError::internal("example cases", e))?;
    let mut count = 0;
    for (i, ex) in examples.iter().enumerate() {
        let who = &submitters[i % submitters.len()];
        let mut given = ex.answers.clone();
        given.extend(profile(i).into_iter().map(|(q, v)| (q.to_string(), v)));
        let Ok(parsed) = answers::parse(&rules.questionnaire, &given) else {
            tracing::warn!(case = %ex.name, "example case does not fit the questionnaire; not seeded");
            continue;
        };
        let fields = cases::CaseFields {
            title: ex.title.clone(),
            summary: ex.summary.clone(),
            business_function: ex.business_function.clone(),
        };
        let declared = ex.declarations.clone();
        let mut case = crate::app::cases::create(conn, who, fields, parsed, declared, rules)?;
        for i in &ex.imports {
            let import = crate::app::cases::AgentImport {
                version: Some(case.row.version),
                format: i.format,
                agent: i.agent.clone(),
                document: i.document.clone(),
            };
            case = crate::app::cases::import_agents(conn, who, &case.row.id, &import, rules)?;
        }
        count += 1;
        if i % 5 != 4 {
            crate::app::cases::submit(conn, who, &case.row.id, None, rules)?;
        }
    }
    Ok(count)
}
