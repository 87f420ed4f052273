//! Use cases through their life as a submitter sees it: create a draft, edit it, submit it
//! for scoring and triage, withdraw it.

use serde_json::json;

use crate::db::cases::{self as store, Case, CaseFields, CasePatch, Writer};
use crate::db::exchange::{self, NewCase, Outcome};
use crate::db::{self, DbConnection};
use crate::domain::access::Principal;
use crate::domain::answers::{self, Answers};
use crate::domain::case::Status;
use crate::domain::hints::CaseText;
use crate::domain::message::Says;
use crate::domain::{agents, assess, assess_declared, Assessment, FieldError};
use crate::error::{AppError, AppResult};
use crate::rules::RuleSet;
use crate::vocab::agents::{Declarations, ImportFormat};
use crate::vocab::{AgencyCode, CaseId};

/// Loads a case the caller may read (404 otherwise) and may author (403 otherwise).
fn load_for_author(conn: &mut DbConnection, who: &Principal, id: &CaseId) -> AppResult<Case> {
    let case = store::get(conn, &who.read_scope(), id)?.ok_or(AppError::NotFound)?;
    if !who.may_author(&case.row.agency_id) {
        return Err(AppError::Forbidden(
            "only a submitter of the case's agency may change it".into(),
        ));
    }
    Ok(case)
}

/// Loads a case the caller may author, read at `version`, whose status allows `verb`
/// (`allowed`); a conflict otherwise.
fn load_to_change(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    version: Option<i32>,
    allowed: fn(Status) -> bool,
    verb: &str,
) -> AppResult<Case> {
    let case = load_for_author(conn, who, id)?;
    check_version(&case, version)?;
    let status = case.status()?;
    if !allowed(status) {
        return Err(AppError::conflict(
            format!("a case that is {status} cannot be {verb}"),
            Some(case.row.version),
        ));
    }
    Ok(case)
}

/// A change made at a version other than the case's current one is a conflict.
pub(crate) fn check_version(case: &Case, expected: Option<i32>) -> AppResult<()> {
    match expected {
        Some(v) if v != case.row.version => Err(store::stale(case.row.version)),
        _ => Ok(()),
    }
}

/// Checks a case's agent declarations and sets the answers they decide (so the two cannot
/// disagree).
fn declare(
    rules: &RuleSet,
    answers: &mut Answers,
    declarations: Declarations,
) -> AppResult<Declarations> {
    agents::declare(&rules.questionnaire, answers, declarations).map_err(AppError::Validation)
}

/// Creates a draft in the caller's agency, with the agents, tools and delegations it
/// declares.
pub fn create(
    conn: &mut DbConnection,
    who: &Principal,
    fields: CaseFields,
    mut answers: Answers,
    declarations: Declarations,
    rules: &RuleSet,
) -> AppResult<Case> {
    let declarations = declare(rules, &mut answers, declarations)?;
    create_keyed(conn, who, fields, (&answers, &declarations), None)
}

/// Creates a draft that records where it was imported from (importing it again finds it).
fn create_keyed(
    conn: &mut DbConnection,
    who: &Principal,
    fields: CaseFields,
    content: (&Answers, &Declarations),
    import_key: Option<&str>,
) -> AppResult<Case> {
    if !who.may_author(&who.agency_id) {
        return Err(AppError::Forbidden(
            "only submitters create use cases".into(),
        ));
    }
    let writer = Writer {
        user_id: &who.user_id,
        agency_id: &who.agency_id,
        agency_code: &who.agency_code,
    };
    store::insert_draft(conn, &writer, fields, content, import_key)
}

/// A case may be changed: a draft or a case returned for changes is edited; an approved one
/// is amended through its declarations (the change makes a new revision, triaged again at
/// once).
fn changeable(s: Status) -> bool {
    s.is_editable() || s == Status::Approved
}

/// Edits a draft (or a case returned for changes) at the version the caller read: given
/// fields are replaced, answers merged (`remove_answers` dropped), agents and delegations
/// replaced when given. An approved case is amended when its agents or delegations change:
/// the edit and a new submission, one transaction; its earlier approved revisions keep their
/// policies. Any other change to an approved case is a conflict.
pub fn edit(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    version: i32,
    patch: CasePatch,
    rules: &RuleSet,
) -> AppResult<Case> {
    let case = load_to_change(conn, who, id, Some(version), changeable, "edited")?;
    let redeclared = patch.agents.is_some() || patch.delegations.is_some();
    if case.status()? == Status::Approved && !redeclared {
        return Err(AppError::conflict(
            "an approved case is amended by changing its agents or delegations; anything else is frozen",
            Some(case.row.version),
        ));
    }
    let mut answers = case.answers()?;
    for k in &patch.remove_answers {
        answers.remove(k);
    }
    let changed_answers: Vec<&String> = patch
        .set_answers
        .keys()
        .chain(patch.remove_answers.iter())
        .collect();
    let fields: Vec<&str> = [
        patch.title.as_ref().map(|_| "title"),
        patch.summary.as_ref().map(|_| "summary"),
        patch
            .business_function
            .as_ref()
            .map(|_| "business_function"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let details = json!({ "fields": fields, "answers": changed_answers });
    let r = &case.row;
    let merged = CaseFields {
        title: patch.title.clone().unwrap_or_else(|| r.title.clone()),
        summary: patch.summary.clone().unwrap_or_else(|| r.summary.clone()),
        business_function: patch
            .business_function
            .clone()
            .unwrap_or_else(|| r.business_function.clone()),
    };
    answers.extend(patch.set_answers);
    let mut declarations = case.declarations()?;
    if let Some(a) = patch.agents {
        declarations.agents = a;
    }
    if let Some(d) = patch.delegations {
        declarations.delegations = d;
    }
    let declarations = declare(rules, &mut answers, declarations)?;
    let mut details = details;
    details["declarations"] = json!(redeclared);
    store_change(
        conn,
        who,
        &case,
        &merged,
        (&answers, &declarations),
        details,
        rules,
    )
}

/// Stores a change; an approved case is submitted again with it, in the same transaction.
fn store_change(
    conn: &mut DbConnection,
    who: &Principal,
    case: &Case,
    fields: &CaseFields,
    content: (&Answers, &Declarations),
    details: serde_json::Value,
    rules: &RuleSet,
) -> AppResult<Case> {
    if case.status()? != Status::Approved {
        return store::store_edit(conn, &who.user_id, case, fields, content, details);
    }
    db::write(conn, |conn| {
        let edited = store::store_edit(conn, &who.user_id, case, fields, content, details)?;
        resubmit(conn, who, edited, rules)
    })
}

/// Adds the tools of an MCP `tools/list` result to one of the case's agents, or the
/// delegation an A2A Agent Card describes to another agent, at the version the caller read.
/// Like any change, it amends an approved case.
pub fn import_agents(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    import: &AgentImport,
    rules: &RuleSet,
) -> AppResult<Case> {
    let case = load_to_change(conn, who, id, import.version, changeable, "edited")?;
    let mut declarations = case.declarations()?;
    let imported = agents::import(
        &mut declarations,
        import.format,
        &import.agent,
        &import.document,
    )
    .map_err(AppError::Validation)?;
    let mut answers = case.answers()?;
    let declarations = declare(rules, &mut answers, declarations)?;
    let details = json!({
        "fields": [],
        "answers": [],
        "declarations": true,
        "imported": { "format": import.format, "agent": import.agent, "added": imported },
    });
    let r = &case.row;
    let fields = CaseFields {
        title: r.title.clone(),
        summary: r.summary.clone(),
        business_function: r.business_function.clone(),
    };
    store_change(
        conn,
        who,
        &case,
        &fields,
        (&answers, &declarations),
        details,
        rules,
    )
}

/// An import of declarations into a case.
pub struct AgentImport {
    pub version: Option<i32>,
    pub format: ImportFormat,
    /// The case's agent the tools join, or that delegates.
    pub agent: String,
    pub document: serde_json::Value,
}

/// Submits a case: its answers must be complete; it is scored and triaged under `rules`
/// (its text read for hints) and takes the status its route gives.
pub fn submit(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    version: Option<i32>,
    rules: &RuleSet,
) -> AppResult<Case> {
    let case = load_to_change(conn, who, id, version, Status::can_submit, "submitted")?;
    resubmit(conn, who, case, rules)
}

/// Scores and triages a case the caller may submit, and stores the submission.
fn resubmit(
    conn: &mut DbConnection,
    who: &Principal,
    case: Case,
    rules: &RuleSet,
) -> AppResult<Case> {
    let answers = case.answers()?;
    let declarations = case.declarations()?;
    let text = CaseText {
        title: &case.row.title,
        summary: &case.row.summary,
    };
    let Assessment { scores, triage, .. } =
        assess_declared(rules, &answers, text, &declarations, true)
            .map_err(AppError::Validation)?;
    let to = triage.route.status_after_submit();
    store::store_submission(conn, &who.user_id, case, &scores, &triage, to)
}

/// The longest withdrawal reason kept, in characters.
pub const MAX_REASON: usize = 2000;

/// Withdraws an open case.
pub fn withdraw(
    conn: &mut DbConnection,
    who: &Principal,
    id: &CaseId,
    version: Option<i32>,
    reason: &str,
) -> AppResult<Case> {
    crate::app::reviews::check_length("reason", reason, MAX_REASON)?;
    let case = load_to_change(conn, who, id, version, Status::can_withdraw, "withdrawn")?;
    store::store_withdrawal(conn, &who.user_id, &case, reason)
}

/// Creates a case from an intake row, and submits it when its answers are complete, in one
/// transaction. Created by the agency's import user.
pub fn import_new(conn: &mut DbConnection, rules: &RuleSet, row: &NewCase) -> AppResult<Outcome> {
    if row.title.trim().is_empty() {
        return Err(AppError::Validation(vec![FieldError::says(
            "title",
            Says::Blank,
        )]));
    }
    let code = AgencyCode::normalized(&row.agency);
    if code.as_str().is_empty() {
        return Err(AppError::Validation(vec![FieldError::says(
            "agency",
            Says::Blank,
        )]));
    }
    let parsed =
        answers::parse(&rules.questionnaire, &row.answers).map_err(AppError::Validation)?;
    if exchange::imported(conn, &row.import_key)? {
        return Ok(Outcome::Present);
    }
    let text = CaseText {
        title: &row.title,
        summary: &row.summary,
    };
    let complete = assess(rules, &parsed, text, true).is_ok();
    db::write(conn, |conn| {
        let who = exchange::importer(conn, &code, &row.agency_name)?;
        let fields = CaseFields {
            title: row.title.trim().chars().take(200).collect(),
            summary: row.summary.trim().chars().take(5000).collect(),
            business_function: row.business_function.trim().chars().take(100).collect(),
        };
        let none = Declarations::default();
        let case = create_keyed(conn, &who, fields, (&parsed, &none), Some(&row.import_key))?;
        if complete {
            submit(conn, &who, &case.row.id, None, rules)?;
            Ok(Outcome::Submitted)
        } else {
            Ok(Outcome::Draft)
        }
    })
}
