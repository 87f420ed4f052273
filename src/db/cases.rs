//! Use cases in storage: drafts inserted, edits, submissions and withdrawals stored (each in
//! one transaction with its audit event, at the version the case was read), cases read and
//! listed. Every read is filtered by a [`Scope`], so a case in another agency is simply not
//! found. Who may do what, and whether a change is legal, is decided in `app::cases`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, Event};
use super::schema::{agencies, assessments, use_cases};
use super::together::{write_guarded, write_together, Guard};
use super::{new_id, now, DbConnection};
use crate::domain::access::Scope;
use crate::domain::answers::Answers;
use crate::domain::case::{Status, Tier};
use crate::domain::scoring::Scores;
use crate::domain::triage::Triage;
use crate::error::{AppError, AppResult};
use crate::vocab::agents::{Agent, Declarations, Delegation};
use crate::vocab::{AgencyCode, CaseId, UserId};

/// A row of `use_cases`, the one place its columns are named: read with `as_select()`,
/// written whole with `insert_into(use_cases::table).values(&row)`, every column bound (a
/// `None` as NULL, never the column's default: the statement stays prepared).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = use_cases, treat_none_as_default_value = false)]
pub struct CaseRow {
    pub id: CaseId,
    pub agency_id: String,
    pub title: String,
    pub summary: String,
    pub business_function: String,
    pub status: String,
    pub version: i32,
    pub revision: i32,
    pub answers: String,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub business_value: Option<i32>,
    pub feasibility: Option<i32>,
    pub readiness: Option<i32>,
    pub priority: Option<i32>,
    pub quadrant: Option<String>,
    pub tier: Option<String>,
    pub route: Option<String>,
    pub rules_version: Option<String>,
    pub scores: Option<String>,
    pub triage: Option<String>,
    pub escalated: bool,
    pub claimed_by: Option<UserId>,
    pub claimed_at: Option<NaiveDateTime>,
    pub import_key: Option<String>,
    /// The agent declarations, JSON (`{}` when none).
    pub declarations: String,
}

/// A case and its agency's code.
#[derive(Debug, Clone)]
pub struct Case {
    pub row: CaseRow,
    pub agency: AgencyCode,
}

impl Case {
    /// The case's status; a value no status has (a corrupt row) is an internal error, never
    /// read as some default.
    pub fn status(&self) -> AppResult<Status> {
        stored_enum(
            self.row.id.as_str(),
            "status",
            &self.row.status,
            Status::parse,
        )
    }

    /// The tier of its triage, once triaged; a corrupt value is an internal error.
    pub fn tier(&self) -> AppResult<Option<Tier>> {
        let r = &self.row;
        r.tier
            .as_deref()
            .map(|t| stored_enum(r.id.as_str(), "tier", t, Tier::parse))
            .transpose()
    }

    pub fn answers(&self) -> AppResult<Answers> {
        Ok(serde_json::from_str(&self.row.answers)?)
    }

    /// Its agent declarations as they stand.
    pub fn declarations(&self) -> AppResult<Declarations> {
        Ok(serde_json::from_str(&self.row.declarations)?)
    }
}

/// A value stored as text for an enum; one no variant has (a corrupt row) is an internal
/// error naming the case and the column, never read as some default or skipped.
pub(crate) fn stored_enum<T>(
    id: &str,
    column: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> AppResult<T> {
    parse(value).ok_or_else(|| {
        AppError::broken(format!(
            "use case {id} has the unknown {column} value {value:?} in storage"
        ))
    })
}

/// The descriptive fields of a case.
pub struct CaseFields {
    pub title: String,
    pub summary: String,
    pub business_function: String,
}

/// A change to a draft: fields given are replaced; answers are merged (a `null` answer in the
/// request has already been turned into a removal by the caller).
pub struct CasePatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub business_function: Option<String>,
    pub set_answers: Answers,
    pub remove_answers: Vec<String>,
    /// Replace the declared agents (with their tools), the delegations.
    pub agents: Option<Vec<Agent>>,
    pub delegations: Option<Vec<Delegation>>,
}

#[derive(Default)]
pub struct ListFilter {
    pub status: Option<Status>,
    /// Any of these statuses (for the review queue); empty means no constraint.
    pub statuses: Vec<String>,
    pub tier: Option<Tier>,
    pub agency: Option<AgencyCode>,
    pub limit: i64,
    pub cursor: Option<String>,
    /// Words the title or summary must contain, whatever their case.
    pub search: Option<String>,
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A LIKE pattern that finds `text` anywhere, its own `%`, `_` and `\` taken literally.
fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

fn scope_ids(scope: &Scope) -> Option<&[String]> {
    match scope {
        Scope::All => None,
        Scope::Agencies(ids) => Some(ids),
    }
}

/// One case, if it exists and is within `scope`. The lookup is by id alone, so its statement
/// is prepared once per connection (a list of agencies in SQL would make it a new statement
/// each time); the scope is applied here, to the row found, before anything is returned.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: &CaseId) -> AppResult<Option<Case>> {
    let found: Option<(CaseRow, AgencyCode)> = native!(conn, |c| use_cases::table
        .inner_join(agencies::table)
        .filter(use_cases::id.eq(id))
        .select((CaseRow::as_select(), agencies::code))
        .get_result(c)
        .optional())?;
    let found = found.filter(|(row, _)| scope.includes(&row.agency_id));
    Ok(found.map(|(row, agency)| Case { row, agency }))
}

/// Cases within `scope`, newest first, with a cursor for the next page.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    f: &ListFilter,
) -> AppResult<(Vec<Case>, Option<String>)> {
    let mut q = use_cases::table
        .inner_join(agencies::table)
        .select((CaseRow::as_select(), agencies::code))
        .into_boxed();
    if let Some(ids) = scope_ids(scope) {
        q = q.filter(use_cases::agency_id.eq_any(ids));
    }
    if let Some(s) = f.status {
        q = q.filter(use_cases::status.eq(s.as_str()));
    }
    if !f.statuses.is_empty() {
        q = q.filter(use_cases::status.eq_any(&f.statuses));
    }
    if let Some(t) = f.tier {
        q = q.filter(use_cases::tier.eq(t.as_str()));
    }
    if let Some(code) = &f.agency {
        q = q.filter(agencies::code.eq(super::agencies::code_key(code.as_str())));
    }
    if let Some(c) = &f.cursor {
        q = q.filter(use_cases::id.lt(c));
    }
    if let Some(words) = f.search.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        let pattern = contains_pattern(words);
        q = q.filter(
            lower(use_cases::title)
                .like(pattern.clone())
                .escape('\\')
                .or(lower(use_cases::summary).like(pattern).escape('\\')),
        );
    }
    let mut rows: Vec<(CaseRow, AgencyCode)> = q
        .order(use_cases::id.desc())
        .limit(f.limit + 1)
        .load(conn)?;
    let next = if rows.len() as i64 > f.limit {
        rows.truncate(f.limit as usize);
        rows.last().map(|(r, _)| r.id.to_string())
    } else {
        None
    };
    Ok((
        rows.into_iter()
            .map(|(row, agency)| Case { row, agency })
            .collect(),
        next,
    ))
}

/// The conflict of a change made to a case that has moved on to version `current`.
pub fn stale(current: i32) -> AppError {
    AppError::conflict(
        format!("the case has changed since you read it; it is now at version {current}"),
        Some(current),
    )
}

/// Re-reads the current version after a conditional update matched no row.
pub(crate) fn conflict_after_race(conn: &mut DbConnection, id: &str) -> AppError {
    match use_cases::table
        .filter(use_cases::id.eq(id))
        .select(use_cases::version)
        .first::<i32>(conn)
    {
        Ok(v) => stale(v),
        Err(e) => e.into(),
    }
}

/// Who writes a change, as the audit trail records them.
pub struct Writer<'a> {
    pub user_id: &'a UserId,
    pub agency_id: &'a str,
    pub agency_code: &'a AgencyCode,
}

/// Stores a new draft and its audit event in one transaction (`import_key` is unique).
pub fn insert_draft(
    conn: &mut DbConnection,
    who: &Writer,
    fields: CaseFields,
    content: (&Answers, &Declarations),
    import_key: Option<&str>,
) -> AppResult<Case> {
    let t = now();
    let row = CaseRow {
        id: CaseId::generate(),
        agency_id: who.agency_id.to_string(),
        title: fields.title,
        summary: fields.summary,
        business_function: fields.business_function,
        status: Status::Draft.as_str().to_string(),
        version: 1,
        revision: 0,
        answers: serde_json::to_string(content.0)?,
        created_by: who.user_id.clone(),
        created_at: t,
        updated_at: t,
        submitted_at: None,
        business_value: None,
        feasibility: None,
        readiness: None,
        priority: None,
        quadrant: None,
        tier: None,
        route: None,
        rules_version: None,
        scores: None,
        triage: None,
        escalated: false,
        claimed_by: None,
        claimed_at: None,
        import_key: import_key.map(String::from),
        declarations: serde_json::to_string(content.1)?,
    };
    // One round trip on PostgreSQL: nothing is read back.
    let created = [Event {
        use_case_id: Some(&row.id),
        actor_id: Some(who.user_id),
        action: "created",
        from_status: None,
        to_status: Some(Status::Draft),
        details: json!({ "title": row.title }),
    }];
    write_together(conn, |w| {
        w.push(diesel::insert_into(use_cases::table).values(&row))?;
        audit::append_to(w, &created)
    })?;
    // The row as written (reading it back would cost a query on the intake path).
    Ok(Case {
        row,
        agency: who.agency_code.clone(),
    })
}

/// Stores an edit of a case read at `case.row.version`, with its audit event; a concurrent
/// change makes it a conflict. `details` says what changed.
pub fn store_edit(
    conn: &mut DbConnection,
    user_id: &UserId,
    case: &Case,
    patch: &CaseFields,
    content: (&Answers, &Declarations),
    details: serde_json::Value,
) -> AppResult<Case> {
    let id = case.row.id.as_str();
    let version = case.row.version;
    let status = case.status()?;
    let answers_json = serde_json::to_string(content.0)?;
    let declarations_json = serde_json::to_string(content.1)?;
    super::write(conn, |conn| {
        update_at_version!(
            conn,
            id,
            version,
            (
                use_cases::title.eq(&patch.title),
                use_cases::summary.eq(&patch.summary),
                use_cases::business_function.eq(&patch.business_function),
                use_cases::answers.eq(&answers_json),
                use_cases::declarations.eq(&declarations_json),
                use_cases::updated_at.eq(now()),
            )
        );
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(&case.row.id),
                actor_id: Some(user_id),
                action: "edited",
                from_status: Some(status),
                to_status: Some(status),
                details,
            }],
        )
    })?;
    get(conn, &Scope::All, &case.row.id)?.ok_or(AppError::NotFound)
}

/// The row of `case` once submitted: new status, revision and version, scores and triage.
fn submitted_row(
    case: &Case,
    scores: &Scores,
    triage: &Triage,
    to: Status,
    t: NaiveDateTime,
    json: (String, String),
) -> CaseRow {
    let mut r = case.row.clone();
    r.status = to.as_str().to_string();
    r.version += 1;
    r.revision += 1;
    r.updated_at = t;
    r.submitted_at = Some(t);
    r.business_value = Some(scores.business_value);
    r.feasibility = Some(scores.feasibility);
    r.readiness = Some(scores.readiness);
    r.priority = Some(scores.priority);
    r.quadrant = Some(scores.quadrant.clone());
    r.tier = Some(triage.tier.as_str().to_string());
    r.route = Some(triage.route.as_str().to_string());
    r.rules_version = Some(triage.rules_version.clone());
    (r.scores, r.triage) = (Some(json.0), Some(json.1));
    r.escalated = false;
    r.claimed_by = None;
    r.claimed_at = None;
    r
}

/// The webhook payload announcing a submission.
fn submitted_event(case: &Case, r: &CaseRow, triage: &Triage) -> serde_json::Value {
    json!({
        "agency": case.agency,
        "title": r.title,
        "revision": r.revision,
        "status": r.status,
        "tier": triage.tier,
        "route": triage.route,
        "review_groups": triage.review_groups,
        "required_approvals": triage.required_approvals,
    })
}

/// The digest of a case's declarations JSON that its "triaged" audit event records, when it
/// declares anything.
pub fn declarations_digest(json: &str) -> Option<String> {
    (json != "{}" && json != r#"{"agents":[],"delegations":[]}"#)
        .then(|| super::users::sha256_hex(json))
}

/// The audit events of a submission: submitted, then triaged.
fn submission_events<'a>(
    r: &'a CaseRow,
    user_id: &'a UserId,
    from: Status,
    to: Status,
    scores: &Scores,
    triage: &Triage,
) -> [Event<'a>; 2] {
    [
        Event {
            use_case_id: Some(&r.id),
            actor_id: Some(user_id),
            action: "submitted",
            from_status: Some(from),
            to_status: Some(Status::Submitted),
            details: json!({ "revision": r.revision }),
        },
        Event {
            use_case_id: Some(&r.id),
            actor_id: None,
            action: "triaged",
            from_status: Some(Status::Submitted),
            to_status: Some(to),
            details: json!({
                "revision": r.revision,
                "rules_version": triage.rules_version,
                "tier": triage.tier,
                "route": triage.route,
                "fired": triage.fired.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>(),
                "triage_sha256": r.triage.as_deref().map(super::users::sha256_hex),
                "declarations_sha256": declarations_digest(&r.declarations),
                "scores": [scores.business_value, scores.feasibility, scores.readiness, scores.priority],
            }),
        },
    ]
}

/// Stores a submission: the case's new status, scores and triage, the assessment of this
/// revision, the webhook event and the audit events, in one transaction, at the version the
/// case was read. Returns the case as written.
pub fn store_submission(
    conn: &mut DbConnection,
    user_id: &UserId,
    case: Case,
    scores: &Scores,
    triage: &Triage,
    to: Status,
) -> AppResult<Case> {
    let from = case.status()?;
    let t = now();
    let (scores_json, triage_json) = (
        serde_json::to_string(scores)?,
        serde_json::to_string(triage)?,
    );
    let json = (scores_json.clone(), triage_json.clone());
    let r = submitted_row(&case, scores, triage, to, t, json);
    let (id, v) = (r.id.as_str(), case.row.version);
    let events = submission_events(&r, user_id, from, to, scores, triage);
    let update = diesel::update(
        use_cases::table
            .filter(use_cases::id.eq(id))
            .filter(use_cases::version.eq(v)),
    )
    .set((
        use_cases::status.eq(&r.status),
        use_cases::revision.eq(r.revision),
        use_cases::updated_at.eq(t),
        use_cases::submitted_at.eq(t),
        use_cases::business_value.eq(r.business_value),
        use_cases::feasibility.eq(r.feasibility),
        use_cases::readiness.eq(r.readiness),
        use_cases::priority.eq(r.priority),
        use_cases::quadrant.eq(&r.quadrant),
        use_cases::tier.eq(&r.tier),
        use_cases::route.eq(&r.route),
        use_cases::rules_version.eq(&r.rules_version),
        use_cases::scores.eq(&r.scores),
        use_cases::triage.eq(&r.triage),
        use_cases::escalated.eq(false),
        use_cases::claimed_by.eq(None::<String>),
        use_cases::claimed_at.eq(None::<NaiveDateTime>),
        use_cases::version.eq(v + 1),
    ));
    // The case's update at the version read guards the rest: the assessment takes the case's
    // id from it, so if the case has moved on nothing is stored (one statement on PostgreSQL).
    let guard = Guard {
        update: update.clone(),
        returning: update.returning(use_cases::id),
        id,
        column: "use_case_id",
    };
    write_guarded(
        conn,
        guard,
        |w, case_id| {
            w.push(diesel::insert_into(assessments::table).values((
                assessments::id.eq(new_id()),
                assessments::use_case_id.eq(case_id),
                assessments::revision.eq(r.revision),
                assessments::answers.eq(&r.answers),
                assessments::scores.eq(&scores_json),
                assessments::triage.eq(&triage_json),
                assessments::tier.eq(triage.tier.as_str()),
                assessments::route.eq(triage.route.as_str()),
                assessments::rules_version.eq(&triage.rules_version),
                assessments::created_at.eq(t),
                assessments::declarations.eq(&r.declarations),
                assessments::approved_at.eq((to == Status::Approved).then_some(t)),
            )))?;
            super::outbox::enqueue_to(
                w,
                "case.submitted",
                Some(&case.row.id),
                &submitted_event(&case, &r, triage),
            )?;
            audit::append_to(w, &events)
        },
        |conn| conflict_after_race(conn, id),
    )?;
    Ok(Case {
        row: r,
        agency: case.agency,
    })
}

/// Stores a withdrawal of a case read at `case.row.version`, with its audit event.
pub fn store_withdrawal(
    conn: &mut DbConnection,
    user_id: &UserId,
    case: &Case,
    reason: &str,
) -> AppResult<Case> {
    let id = case.row.id.as_str();
    let from = case.status()?;
    let v = case.row.version;
    super::write(conn, |conn| {
        update_at_version!(
            conn,
            id,
            v,
            (
                use_cases::status.eq(Status::Withdrawn.as_str()),
                use_cases::updated_at.eq(now()),
            )
        );
        audit::append(
            conn,
            &[Event {
                use_case_id: Some(&case.row.id),
                actor_id: Some(user_id),
                action: "withdrawn",
                from_status: Some(from),
                to_status: Some(Status::Withdrawn),
                details: json!({ "reason": reason }),
            }],
        )
    })?;
    get(conn, &Scope::All, &case.row.id)?.ok_or(AppError::NotFound)
}

/// Every triaged case, in id order, a batch at a time: the input of a what-if simulation.
/// Reading in batches keeps memory flat at any portfolio size.
pub fn for_each_triaged(
    conn: &mut DbConnection,
    batch: i64,
    mut f: impl FnMut(Vec<crate::domain::simulate::Stored>),
) -> AppResult<()> {
    type Row = (
        CaseId,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
    );
    let mut after = String::new();
    loop {
        let rows: Vec<Row> = use_cases::table
            .inner_join(agencies::table)
            .filter(use_cases::tier.is_not_null())
            .filter(use_cases::id.gt(&after))
            .order(use_cases::id.asc())
            .limit(batch)
            .select((
                use_cases::id,
                agencies::code,
                use_cases::title,
                use_cases::tier,
                use_cases::route,
                use_cases::rules_version,
                use_cases::answers,
                use_cases::declarations,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.0.to_string();
        let mut stored = Vec::with_capacity(rows.len());
        for (id, agency, title, tier, route, version, answers, declarations) in rows {
            let (Some(tier), Some(route)) = (tier, route) else {
                continue;
            };
            let tier = stored_enum(id.as_str(), "tier", &tier, Tier::parse)?;
            let route = stored_enum(
                id.as_str(),
                "route",
                &route,
                crate::domain::case::Route::parse,
            )?;
            stored.push(crate::domain::simulate::Stored {
                id,
                agency,
                title,
                tier,
                route,
                rules_version: version.unwrap_or_default(),
                answers: serde_json::from_str(&answers)?,
                declarations: serde_json::from_str(&declarations)?,
            });
        }
        f(stored);
    }
}

/// A stored assessment: one per submission.
pub struct Revision {
    pub revision: i32,
    pub tier: String,
    pub route: String,
    pub rules_version: String,
    pub at: NaiveDateTime,
}

/// A case's assessments, first submission first.
pub fn revisions(conn: &mut DbConnection, id: &CaseId) -> AppResult<Vec<Revision>> {
    let rows: Vec<(i32, String, String, String, NaiveDateTime)> = assessments::table
        .filter(assessments::use_case_id.eq(id))
        .order(assessments::revision.asc())
        .select((
            assessments::revision,
            assessments::tier,
            assessments::route,
            assessments::rules_version,
            assessments::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(revision, tier, route, rules_version, at)| Revision {
            revision,
            tier,
            route,
            rules_version,
            at,
        })
        .collect())
}

/// A submitted revision as its assessment stored it.
pub struct StoredRevision {
    pub revision: i32,
    pub tier: String,
    pub rules_version: String,
    pub triage: String,
    pub declarations: String,
    pub approved_at: Option<NaiveDateTime>,
}

/// Revision `revision` of a case, or its latest approved one.
pub fn stored_revision(
    conn: &mut DbConnection,
    id: &CaseId,
    revision: Option<i32>,
) -> AppResult<Option<StoredRevision>> {
    let mut q = assessments::table
        .filter(assessments::use_case_id.eq(id))
        .select((
            assessments::revision,
            assessments::tier,
            assessments::rules_version,
            assessments::triage,
            assessments::declarations,
            assessments::approved_at,
        ))
        .into_boxed();
    q = match revision {
        Some(r) => q.filter(assessments::revision.eq(r)),
        None => q
            .filter(assessments::approved_at.is_not_null())
            .order(assessments::revision.desc()),
    };
    type Row = (i32, String, String, String, String, Option<NaiveDateTime>);
    let row: Option<Row> = q.first(conn).optional()?;
    Ok(row.map(
        |(revision, tier, rules_version, triage, declarations, approved_at)| StoredRevision {
            revision,
            tier,
            rules_version,
            triage,
            declarations,
            approved_at,
        },
    ))
}

/// Counts rows in every table, for tests that check a failed request changed nothing.
pub fn table_counts(conn: &mut DbConnection) -> AppResult<[i64; 5]> {
    use super::schema::{audit_events, outbox, users};
    Ok([
        use_cases::table.count().get_result(conn)?,
        assessments::table.count().get_result(conn)?,
        audit_events::table.count().get_result(conn)?,
        users::table.count().get_result(conn)?,
        outbox::table.count().get_result(conn)?,
    ])
}
