//! Moving cases in and out: export records that hold everything a case holds (answers,
//! scores, triage, every assessment and decision), restoring such records exactly, and
//! importing new cases from intake rows. Every row is one transaction.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::audit::{self, Event};
use super::schema::{agencies, assessments, decisions, use_cases, users};
use super::{agencies as agency_db, cases, new_id, users as user_db, DbConnection};
use crate::domain::access::{Principal, ReviewScope, Role, Scope};
use crate::domain::case::Status;
use crate::error::{AppError, AppResult};
use crate::vocab::agents::Declarations;
use crate::vocab::{AgencyCode, CaseId, UserId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRecord {
    pub revision: i32,
    pub answers: Value,
    pub scores: Value,
    pub triage: Value,
    pub rules_version: String,
    pub created_at: DateTime<Utc>,
    /// The revision's agent declarations (`{}` when none).
    #[serde(default = "empty_object")]
    pub declarations: Value,
    /// When the revision was approved (its guardrail policy is served).
    #[serde(default)]
    pub approved_at: Option<DateTime<Utc>>,
}

fn empty_object() -> Value {
    json!({})
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub revision: i32,
    pub by: String,
    pub action: String,
    pub rationale: String,
    pub senior: bool,
    pub review_groups: String,
    pub created_at: DateTime<Utc>,
}

/// Everything a case holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub id: CaseId,
    pub agency: String,
    pub agency_name: String,
    pub title: String,
    pub summary: String,
    pub business_function: String,
    pub status: String,
    pub version: i32,
    pub revision: i32,
    pub escalated: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub import_key: Option<String>,
    pub answers: Value,
    pub scores: Option<Value>,
    pub triage: Option<Value>,
    pub assessments: Vec<AssessmentRecord>,
    pub decisions: Vec<DecisionRecord>,
    /// The agents, tools and delegations it declares (`{}` when none).
    #[serde(default = "empty_object")]
    pub declarations: Value,
}

fn json_of(s: &str) -> AppResult<Value> {
    Ok(serde_json::from_str(s)?)
}

/// A decision as exported: case, revision, by, action, rationale, senior, groups, when.
type DecisionRow = (
    CaseId,
    i32,
    String,
    String,
    String,
    bool,
    String,
    NaiveDateTime,
);

/// A page of cases for export: each row with its agency's code and name and its creator's
/// e-mail, after the case id `after`, in id order.
fn export_page(
    conn: &mut DbConnection,
    scope: &Scope,
    after: &str,
    batch: i64,
) -> AppResult<Vec<(cases::CaseRow, String, String, String)>> {
    let mut q = use_cases::table
        .inner_join(agencies::table)
        .inner_join(users::table.on(users::id.eq(use_cases::created_by)))
        .filter(use_cases::id.gt(after))
        .select((
            cases::CaseRow::as_select(),
            agencies::code,
            agencies::name,
            users::email,
        ))
        .into_boxed();
    if let Scope::Agencies(ids) = scope {
        q = q.filter(use_cases::agency_id.eq_any(ids));
    }
    Ok(q.order(use_cases::id.asc()).limit(batch).load(conn)?)
}

/// Every assessment of these cases, by case, oldest revision first.
fn assessments_of(
    conn: &mut DbConnection,
    ids: &[&CaseId],
) -> AppResult<HashMap<CaseId, Vec<AssessmentRecord>>> {
    let mut assessed: HashMap<CaseId, Vec<AssessmentRecord>> = HashMap::new();
    type Row = (
        CaseId,
        i32,
        String,
        String,
        String,
        String,
        NaiveDateTime,
        String,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = assessments::table
        .filter(assessments::use_case_id.eq_any(ids))
        .order((assessments::use_case_id, assessments::revision))
        .select((
            assessments::use_case_id,
            assessments::revision,
            assessments::answers,
            assessments::scores,
            assessments::triage,
            assessments::rules_version,
            assessments::created_at,
            assessments::declarations,
            assessments::approved_at,
        ))
        .load(conn)?;
    for (cid, revision, answers, scores, triage, rules_version, at, declared, approved) in rows {
        assessed.entry(cid).or_default().push(AssessmentRecord {
            revision,
            answers: json_of(&answers)?,
            scores: json_of(&scores)?,
            triage: json_of(&triage)?,
            rules_version,
            created_at: at.and_utc(),
            declarations: json_of(&declared)?,
            approved_at: approved.map(|t| t.and_utc()),
        });
    }
    Ok(assessed)
}

/// Every decision on these cases, by case, in the order taken.
fn decisions_of(
    conn: &mut DbConnection,
    ids: &[&CaseId],
) -> AppResult<HashMap<CaseId, Vec<DecisionRecord>>> {
    let mut decided: HashMap<CaseId, Vec<DecisionRecord>> = HashMap::new();
    let rows: Vec<DecisionRow> = decisions::table
        .inner_join(users::table.on(users::id.eq(decisions::actor_id)))
        .filter(decisions::use_case_id.eq_any(ids))
        .order((decisions::use_case_id, decisions::created_at, decisions::id))
        .select((
            decisions::use_case_id,
            decisions::revision,
            users::email,
            decisions::action,
            decisions::rationale,
            decisions::senior,
            decisions::review_groups,
            decisions::created_at,
        ))
        .load(conn)?;
    for (cid, revision, by, action, rationale, senior, review_groups, at) in rows {
        decided.entry(cid).or_default().push(DecisionRecord {
            revision,
            by,
            action,
            rationale,
            senior,
            review_groups,
            created_at: at.and_utc(),
        });
    }
    Ok(decided)
}

/// Every case in `scope`, in id order, `batch` at a time, as complete records.
pub fn export(
    conn: &mut DbConnection,
    scope: &Scope,
    batch: i64,
    mut out: impl FnMut(CaseRecord) -> AppResult<()>,
) -> AppResult<usize> {
    let mut after = String::new();
    let mut n = 0;
    loop {
        let rows = export_page(conn, scope, &after, batch)?;
        let Some(last) = rows.last() else {
            return Ok(n);
        };
        after = last.0.id.to_string();
        let ids: Vec<&CaseId> = rows.iter().map(|r| &r.0.id).collect();
        let mut assessed = assessments_of(conn, &ids)?;
        let mut decided = decisions_of(conn, &ids)?;
        for (r, agency, agency_name, created_by) in rows {
            n += 1;
            out(CaseRecord {
                assessments: assessed.remove(&r.id).unwrap_or_default(),
                decisions: decided.remove(&r.id).unwrap_or_default(),
                answers: json_of(&r.answers)?,
                declarations: json_of(&r.declarations)?,
                scores: r.scores.as_deref().map(json_of).transpose()?,
                triage: r.triage.as_deref().map(json_of).transpose()?,
                id: r.id,
                agency,
                agency_name,
                title: r.title,
                summary: r.summary,
                business_function: r.business_function,
                status: r.status,
                version: r.version,
                revision: r.revision,
                escalated: r.escalated,
                created_by,
                created_at: r.created_at.and_utc(),
                updated_at: r.updated_at.and_utc(),
                submitted_at: r.submitted_at.map(|t| t.and_utc()),
                import_key: r.import_key,
            })?;
        }
    }
}

/// The CSV columns of an export; JSON-valued columns hold JSON text.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "agency",
    "agency_name",
    "title",
    "summary",
    "business_function",
    "status",
    "version",
    "revision",
    "escalated",
    "created_by",
    "created_at",
    "updated_at",
    "submitted_at",
    "import_key",
    "business_value",
    "feasibility",
    "readiness",
    "priority",
    "quadrant",
    "tier",
    "route",
    "rules_version",
    "answers",
    "scores",
    "triage",
    "assessments",
    "decisions",
    "declarations",
];

impl CaseRecord {
    /// The record as a CSV row in [`CSV_COLUMNS`] order.
    pub fn csv_row(&self) -> Vec<String> {
        let s = |v: &Option<Value>, k: &str| {
            v.as_ref()
                .and_then(|x| x.get(k))
                .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
                .unwrap_or_default()
        };
        vec![
            self.id.to_string(),
            self.agency.clone(),
            self.agency_name.clone(),
            self.title.clone(),
            self.summary.clone(),
            self.business_function.clone(),
            self.status.clone(),
            self.version.to_string(),
            self.revision.to_string(),
            self.escalated.to_string(),
            self.created_by.clone(),
            self.created_at.to_rfc3339(),
            self.updated_at.to_rfc3339(),
            self.submitted_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            self.import_key.clone().unwrap_or_default(),
            s(&self.scores, "business_value"),
            s(&self.scores, "feasibility"),
            s(&self.scores, "readiness"),
            s(&self.scores, "priority"),
            s(&self.scores, "quadrant"),
            s(&self.triage, "tier"),
            s(&self.triage, "route"),
            s(&self.triage, "rules_version"),
            self.answers.to_string(),
            self.scores
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            self.triage
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_default(),
            serde_json::to_string(&self.assessments).unwrap_or_default(),
            serde_json::to_string(&self.decisions).unwrap_or_default(),
            self.declarations.to_string(),
        ]
    }

    /// A record from a CSV row with [`CSV_COLUMNS`] headers.
    pub fn from_csv(row: &BTreeMap<String, String>) -> AppResult<CaseRecord> {
        let get = |k: &str| row.get(k).cloned().unwrap_or_default();
        let opt_json = |k: &str| -> AppResult<Option<Value>> {
            let v = get(k);
            if v.is_empty() {
                Ok(None)
            } else {
                serde_json::from_str(&v)
                    .map(Some)
                    .map_err(|e| AppError::invalid(k, &e.to_string()))
            }
        };
        let time = |k: &str| -> AppResult<Option<DateTime<Utc>>> {
            let v = get(k);
            if v.is_empty() {
                Ok(None)
            } else {
                DateTime::parse_from_rfc3339(&v)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|e| AppError::invalid(k, &e.to_string()))
            }
        };
        let int = |k: &str| {
            get(k)
                .parse::<i32>()
                .map_err(|_| AppError::invalid(k, "not a whole number"))
        };
        Ok(CaseRecord {
            id: get("id").into(),
            agency: get("agency"),
            agency_name: get("agency_name"),
            title: get("title"),
            summary: get("summary"),
            business_function: get("business_function"),
            status: get("status"),
            version: int("version")?,
            revision: int("revision")?,
            escalated: get("escalated") == "true",
            created_by: get("created_by"),
            created_at: time("created_at")?
                .ok_or_else(|| AppError::invalid("created_at", "is empty"))?,
            updated_at: time("updated_at")?
                .ok_or_else(|| AppError::invalid("updated_at", "is empty"))?,
            submitted_at: time("submitted_at")?,
            import_key: Some(get("import_key")).filter(|k| !k.is_empty()),
            answers: opt_json("answers")?.unwrap_or_else(|| json!({})),
            scores: opt_json("scores")?,
            triage: opt_json("triage")?,
            assessments: opt_json("assessments")?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| AppError::invalid("assessments", &e.to_string()))?
                .unwrap_or_default(),
            decisions: opt_json("decisions")?
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| AppError::invalid("decisions", &e.to_string()))?
                .unwrap_or_default(),
            declarations: opt_json("declarations")?.unwrap_or_else(empty_object),
        })
    }
}

/// What became of one imported row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Restored,
    Draft,
    Submitted,
    /// Already present: nothing new created.
    Present,
}

fn agency_id(conn: &mut DbConnection, code: &str, name: &str) -> AppResult<String> {
    match agency_db::find_by_code(conn, code)? {
        Some(a) => Ok(a.id),
        None => {
            Ok(agency_db::create(conn, code, if name.trim().is_empty() { code } else { name })?.id)
        }
    }
}

/// A user by e-mail, created (without token or password, so unable to sign in) if missing.
fn user_id(conn: &mut DbConnection, email: &str, agency: &str, role: Role) -> AppResult<UserId> {
    match user_db::find_id_by_email(conn, email)? {
        Some(id) => Ok(id),
        None => user_db::create(
            conn,
            user_db::NewUser {
                agency_id: agency,
                email,
                roles: &[role],
                review_groups: &[],
                review_scope: ReviewScope::Own,
            },
        ),
    }
}

fn utc(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// Restores a case's assessments and decisions (decisions by their reviewers, created in the
/// case's agency when unknown).
fn restore_history(conn: &mut DbConnection, r: &CaseRecord, agency: &str) -> AppResult<()> {
    let text_of = |v: &Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    for a in &r.assessments {
        diesel::insert_into(assessments::table)
            .values((
                assessments::id.eq(new_id()),
                assessments::use_case_id.eq(&r.id),
                assessments::revision.eq(a.revision),
                assessments::answers.eq(a.answers.to_string()),
                assessments::scores.eq(a.scores.to_string()),
                assessments::triage.eq(a.triage.to_string()),
                assessments::tier.eq(text_of(&a.triage, "tier")),
                assessments::route.eq(text_of(&a.triage, "route")),
                assessments::rules_version.eq(&a.rules_version),
                assessments::created_at.eq(utc(a.created_at)),
                assessments::declarations.eq(a.declarations.to_string()),
                assessments::approved_at.eq(a.approved_at.map(utc)),
            ))
            .execute(conn)?;
    }
    for d in &r.decisions {
        let actor = user_id(conn, &d.by, agency, Role::Reviewer)?;
        diesel::insert_into(decisions::table)
            .values((
                decisions::id.eq(new_id()),
                decisions::use_case_id.eq(&r.id),
                decisions::revision.eq(d.revision),
                decisions::actor_id.eq(&actor),
                decisions::action.eq(&d.action),
                decisions::rationale.eq(&d.rationale),
                decisions::senior.eq(d.senior),
                decisions::review_groups.eq(&d.review_groups),
                decisions::created_at.eq(utc(d.created_at)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Restores an exported record exactly (same id, status, version, scores, triage, assessments
/// and decisions). A case whose id is already present is left as it is.
pub fn restore(conn: &mut DbConnection, r: &CaseRecord) -> AppResult<Outcome> {
    check_record(r)?;
    if use_cases::table
        .filter(use_cases::id.eq(&r.id))
        .count()
        .get_result::<i64>(conn)?
        > 0
    {
        return Ok(Outcome::Present);
    }
    super::write(conn, |conn| {
        let agency = agency_id(conn, &r.agency, &r.agency_name)?;
        let creator = user_id(conn, &r.created_by, &agency, Role::Submitter)?;
        diesel::insert_into(use_cases::table)
            .values(&case_row(r, agency.clone(), creator))
            .execute(conn)?;
        restore_history(conn, r, &agency)?;
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(&r.id),
                actor_id: None,
                action: "imported",
                from_status: None,
                to_status: Status::parse(&r.status),
                details: json!({
                    "restored": true,
                    "revision": r.revision,
                    "decisions": r.decisions.len(),
                    "tier": json_string(&r.triage, "tier"),
                    "route": json_string(&r.triage, "route"),
                    "triage_sha256": json_text(&r.triage).as_deref().map(super::users::sha256_hex),
                }),
            }],
        )
    })?;
    Ok(Outcome::Restored)
}

/// Refuses a record whose id, status or declarations (the case's or a revision's) could not
/// have been exported.
fn check_record(r: &CaseRecord) -> AppResult<()> {
    if CaseId::parse(r.id.as_str()).is_none() {
        return Err(AppError::invalid("id", "not a UUID"));
    }
    if Status::parse(&r.status).is_none() {
        return Err(AppError::invalid("status", "not a status"));
    }
    let declared =
        std::iter::once(&r.declarations).chain(r.assessments.iter().map(|a| &a.declarations));
    for d in declared {
        if let Err(e) = serde_json::from_value::<Declarations>(d.clone()) {
            return Err(AppError::invalid("declarations", &e.to_string()));
        }
    }
    Ok(())
}

/// The case row a record restores, in the agency and with the creator it names (as stored).
fn case_row(r: &CaseRecord, agency_id: String, created_by: UserId) -> cases::CaseRow {
    cases::CaseRow {
        id: r.id.clone(),
        agency_id,
        title: r.title.clone(),
        summary: r.summary.clone(),
        business_function: r.business_function.clone(),
        status: r.status.clone(),
        version: r.version,
        revision: r.revision,
        answers: r.answers.to_string(),
        created_by,
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
        submitted_at: r.submitted_at.map(utc),
        business_value: json_int(&r.scores, "business_value"),
        feasibility: json_int(&r.scores, "feasibility"),
        readiness: json_int(&r.scores, "readiness"),
        priority: json_int(&r.scores, "priority"),
        quadrant: json_string(&r.scores, "quadrant"),
        tier: json_string(&r.triage, "tier"),
        route: json_string(&r.triage, "route"),
        rules_version: json_string(&r.triage, "rules_version"),
        scores: json_text(&r.scores),
        triage: json_text(&r.triage),
        escalated: r.escalated,
        claimed_by: None,
        claimed_at: None,
        import_key: r.import_key.clone(),
        declarations: r.declarations.to_string(),
    }
}

/// A JSON column as stored (text), when present.
fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(|x| x.to_string())
}

fn json_field(v: &Option<Value>, k: &str) -> Option<Value> {
    v.as_ref().and_then(|x| x.get(k)).cloned()
}

fn json_int(v: &Option<Value>, k: &str) -> Option<i32> {
    json_field(v, k).and_then(|x| x.as_i64()).map(|x| x as i32)
}

fn json_string(v: &Option<Value>, k: &str) -> Option<String> {
    json_field(v, k).and_then(|x| x.as_str().map(String::from))
}

/// A new use case from an intake row (an inventory, a spreadsheet); `app::cases::import_new`
/// creates it.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub agency: String,
    pub agency_name: String,
    pub title: String,
    pub summary: String,
    pub business_function: String,
    pub answers: Map<String, Value>,
    /// Where it came from; importing the same key again creates nothing.
    pub import_key: String,
}

/// Whether a case was already imported under this key.
pub fn imported(conn: &mut DbConnection, import_key: &str) -> AppResult<bool> {
    Ok(use_cases::table
        .filter(use_cases::import_key.eq(import_key))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The agency's import user (created, with the agency, when missing; it has no token or
/// password, so it cannot sign in), as the principal imported cases are created by.
pub fn importer(
    conn: &mut DbConnection,
    code: &AgencyCode,
    agency_name: &str,
) -> AppResult<Principal> {
    let email = format!("import@{}.aitriage.invalid", code.as_str().to_lowercase());
    let agency = agency_id(conn, code.as_str(), agency_name)?;
    let importer = user_id(conn, &email, &agency, Role::Submitter)?;
    Ok(Principal {
        user_id: importer,
        email,
        agency_id: agency,
        agency_code: code.clone(),
        roles: vec![Role::Submitter],
        review_groups: vec![],
        review_scope: ReviewScope::Own,
    })
}
