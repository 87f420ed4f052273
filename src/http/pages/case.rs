//! The case page: scores with their breakdown, the triage trace, answers, revisions, decisions
//! and the audit trail; and the actions the viewer may take, as forms.

use crate::rules::i18n::Localizer;
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::forms::Form;
use super::locale::Formats;
use super::render::{redirect, Base, PageError, Tr};
use super::session::Viewer;
use crate::app;
use crate::db::{audit, cases, integrity, reviews, users};
use crate::domain::access::Principal;
use crate::domain::answers::Answer;
use crate::domain::answers::Answers;
use crate::domain::case::Status;
use crate::domain::hints::{describe, CaseText, HintView};
use crate::domain::hints_of;
use crate::domain::message::Says;
use crate::domain::scoring::Scores;
use crate::domain::triage::{Fired, Triage};
use crate::domain::workflow::Action;
use crate::domain::FieldError;
use crate::error::AppError;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::rules::model::Questionnaire;
use crate::rules::RuleSet;
use crate::vocab::agents::Declarations;
use crate::vocab::{CaseId, UserId};

/// A similar use case as the page shows it: its score written the language's way, the reasons
/// in the language.
#[derive(Serialize)]
struct SimilarView {
    id: String,
    title: String,
    agency: String,
    score: String,
    reasons: Vec<String>,
}

impl SimilarView {
    fn of(m: crate::domain::similar::Match, pages: &super::Pages, lang: &str) -> SimilarView {
        SimilarView {
            score: pages.formats(lang).number(m.score),
            reasons: m.why.iter().map(|w| pages.say(lang, w)).collect(),
            id: m.id.to_string(),
            title: m.title,
            agency: m.agency,
        }
    }
}

#[derive(Serialize)]
struct Labelled {
    label: String,
    value: String,
}

/// An answer, with the text hints that concern its question.
#[derive(Serialize)]
struct AnswerView {
    label: String,
    value: String,
    hints: Vec<HintView>,
}

#[derive(Serialize)]
struct FiredView {
    rule: String,
    title: String,
    node: String,
    severity: u8,
    likelihood: u8,
    score: u8,
    review_group: String,
    rationale: String,
    prohibited: bool,
    frameworks: Vec<Labelled>,
    /// The declared elements it fired for, linked to their rows.
    subjects: Vec<super::agents::SubjectLink>,
}

#[derive(Serialize)]
struct TriageView {
    /// Approvals given on the current revision, out of `required_approvals`.
    approvals_given: usize,
    tier: String,
    tier_label: String,
    route_label: String,
    required_approvals: u32,
    senior_required: bool,
    review_groups: String,
    rules_version: String,
    current_rules: bool,
    risk_score: u8,
    raised: bool,
    fired: Vec<FiredView>,
}

#[derive(Serialize)]
struct BreakdownRow {
    question: String,
    business_value: String,
    feasibility: String,
    readiness: String,
}

#[derive(Serialize)]
struct ScoresView {
    business_value: i32,
    feasibility: i32,
    readiness: i32,
    priority: i32,
    quadrant: String,
    breakdown: Vec<BreakdownRow>,
}

#[derive(Serialize)]
struct EventView {
    at: String,
    action: String,
    by: String,
    change: String,
    hash: String,
}

#[derive(Serialize)]
struct DecisionView {
    at: String,
    by: String,
    action: String,
    rationale: String,
    revision: i32,
    groups: String,
}

#[derive(Serialize)]
struct RevisionView {
    revision: i32,
    tier_label: String,
    route_label: String,
    rules_version: String,
    at: String,
}

#[derive(Serialize)]
struct ActionOption {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct CasePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    id: String,
    disagreements: Vec<String>,
    /// What the reviewers asked for, while the case waits for its submitter's changes.
    requested: Option<Requested>,
    /// When a decision is due (the tier's SLA, in working days from submission).
    due: Option<String>,
    case_title: String,
    summary: String,
    business_function: String,
    agency: String,
    status_label: String,
    version: i32,
    revision: i32,
    escalated: bool,
    claimed_by: Option<String>,
    scores: Option<ScoresView>,
    triage: Option<TriageView>,
    /// The agents, tools and delegations it declares, when it declares any.
    agents: Option<super::agents::AgentsView>,
    answers: Vec<AnswerView>,
    revisions: Vec<RevisionView>,
    decisions: Vec<DecisionView>,
    events: Vec<EventView>,
    #[serde(flatten)]
    able: Abilities,
    notice: Option<String>,
    error: Option<String>,
    rationale_value: String,
    similar: Vec<SimilarView>,
    /// A reviewer may say that a similar case is not a duplicate.
    may_mark_distinct: bool,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn case_id(path: &str) -> Result<CaseId, PageError> {
    Ok(CaseId::parse(path).ok_or(AppError::NotFound)?)
}

/// A moment as the page's language writes it; times are kept in UTC and say so.
fn stamp(f: &Formats, t: chrono::NaiveDateTime) -> String {
    format!("{} UTC", f.datetime(t))
}

fn points(v: f64) -> String {
    if v == 0.0 {
        String::new()
    } else {
        format!("{v:+}")
    }
}

fn answer_text(
    a: &Answer,
    q: Option<&crate::rules::model::Question>,
    (yes, no): (&str, &str),
    tx: Localizer,
    f: &Formats,
) -> String {
    let label = |v: &str| {
        q.and_then(|q| q.option(v).map(|o| tx.option(q, o)))
            .unwrap_or_else(|| v.to_string())
    };
    match a {
        Answer::Bool(b) => (if *b { yes } else { no }).to_string(),
        Answer::Int(i) => f.integer(*i),
        Answer::Number(n) => f.number(*n),
        Answer::Text(t) => label(t),
        Answer::Choices(v) => v.iter().map(|c| label(c)).collect::<Vec<_>>().join("; "),
    }
}

/// Everything the case page shows about one case, as loaded for the viewer.
struct Loaded {
    case: cases::Case,
    events: Vec<audit::StoredEvent>,
    emails: HashMap<UserId, String>,
    decisions: Vec<reviews::DecisionRecord>,
    revisions: Vec<cases::Revision>,
    allowed: Vec<Action>,
    /// Where the stored case disagrees with its audit trail (tampering out of band).
    disagreements: Vec<integrity::Disagreement>,
}

async fn load(state: &AppState, viewer: &Viewer, id: CaseId) -> Result<Loaded, PageError> {
    let who = viewer.user.clone();
    Ok(state
        .db(move |c| {
            let case = cases::get(c, &who.read_scope(), &id)?.ok_or(AppError::NotFound)?;
            let events = audit::for_case(c, &id)?;
            let ids: Vec<UserId> = events
                .iter()
                .filter_map(|e| e.actor_id.clone())
                .chain(case.row.claimed_by.clone())
                .collect();
            let disagreements = integrity::disagreements(
                &integrity::CaseState::of(&case.row),
                &events,
                &integrity::decision_facts(c, &id)?,
            );
            Ok(Loaded {
                disagreements,
                emails: users::emails(c, &ids)?,
                decisions: reviews::decisions_for(c, &id)?,
                revisions: cases::revisions(c, &id)?,
                allowed: app::reviews::allowed_actions(c, &who, &case)?,
                events,
                case,
            })
        })
        .await?)
}

fn scores_view(s: Scores, q: &Questionnaire, tx: Localizer) -> ScoresView {
    ScoresView {
        business_value: s.business_value,
        feasibility: s.feasibility,
        readiness: s.readiness,
        priority: s.priority,
        quadrant: tx.quadrant(&s.quadrant, &s.quadrant_label),
        breakdown: s
            .breakdown
            .iter()
            .map(|b| BreakdownRow {
                question: q
                    .get(&b.question)
                    .map_or(b.question.clone(), |x| tx.prompt(x)),
                business_value: points(b.business_value),
                feasibility: points(b.feasibility),
                readiness: points(b.readiness),
            })
            .collect(),
    }
}

fn fired_view(
    f: Fired,
    rules: &RuleSet,
    anchors: &HashMap<String, String>,
    t: Tr,
    tx: Localizer,
) -> FiredView {
    FiredView {
        subjects: super::agents::subject_links(anchors, &f),
        node: rules
            .taxonomy
            .nodes
            .iter()
            .find(|n| n.id == f.node)
            .map_or(f.node.clone(), |n| tx.node(&n.id, &n.title)),
        frameworks: f
            .frameworks
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| Labelled {
                        label: t(format!("fw_{k}")),
                        value: v.as_str().unwrap_or_default().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        title: tx.rule_title(&f.rule, &f.title),
        rationale: tx.rule_rationale(&f.rule, &f.rationale),
        rule: f.rule,
        severity: f.severity,
        likelihood: f.likelihood,
        score: f.score,
        review_group: f.review_group,
        prohibited: f.prohibited,
    }
}

fn triage_view(
    tr: Triage,
    approvals_given: usize,
    (rules, declared): (&RuleSet, &Declarations),
    t: Tr,
    tx: Localizer,
) -> TriageView {
    let anchors = super::agents::anchors(declared);
    TriageView {
        approvals_given,
        tier_label: t(format!("tier_{}", tr.tier)),
        tier: tr.tier.to_string(),
        route_label: t(format!("route_{}", tr.route)),
        required_approvals: tr.required_approvals,
        senior_required: tr.senior_required,
        review_groups: tr.review_groups.join(&t("list_separator".into())),
        current_rules: tr.rules_version == rules.version,
        rules_version: tr.rules_version,
        risk_score: tr.risk_score,
        raised: tr.raised,
        fired: tr
            .fired
            .into_iter()
            .map(|f| fired_view(f, rules, &anchors, t, tx))
            .collect(),
    }
}

/// Each answer with the hints about its question beside it; a question left unanswered is
/// listed too when the text suggests something about it.
fn answer_views(
    q: &Questionnaire,
    answers: &Answers,
    mut hints: Vec<HintView>,
    t: Tr,
    tx: Localizer,
    f: &Formats,
) -> Vec<AnswerView> {
    let (yes, no) = (t("yes".into()), t("no".into()));
    q.questions
        .iter()
        .filter_map(|question| {
            let (about, rest): (Vec<HintView>, Vec<HintView>) =
                hints.drain(..).partition(|h| h.question == question.id);
            hints = rest;
            let value = answers
                .get(&question.id)
                .map(|a| answer_text(a, Some(question), (&yes, &no), tx, f));
            (value.is_some() || !about.is_empty()).then(|| AnswerView {
                label: tx.prompt(question),
                value: value.unwrap_or_else(|| t("not_answered".into())),
                hints: about,
            })
        })
        .collect()
}

fn event_views(
    events: Vec<audit::StoredEvent>,
    emails: &HashMap<UserId, String>,
    t: Tr,
    f: &Formats,
) -> Vec<EventView> {
    events
        .into_iter()
        .map(|e| EventView {
            at: stamp(f, e.created_at),
            by: e.actor_id.as_ref().map_or_else(
                || t("system".into()),
                |u| emails.get(u).cloned().unwrap_or_else(|| u.to_string()),
            ),
            change: match (&e.from_status, &e.to_status) {
                (Some(a), Some(b)) if a != b => format!(
                    "{} → {}",
                    t(format!("status_{a}")),
                    t(format!("status_{b}"))
                ),
                (None, Some(b)) => t(format!("status_{b}")),
                _ => String::new(),
            },
            action: t(format!("event_{}", e.action)),
            hash: e.hash.chars().take(12).collect(),
        })
        .collect()
}

fn history_views(
    revisions: Vec<cases::Revision>,
    decisions: Vec<reviews::DecisionRecord>,
    t: Tr,
    f: &Formats,
) -> (Vec<RevisionView>, Vec<DecisionView>) {
    let revisions = revisions
        .into_iter()
        .map(|r| RevisionView {
            revision: r.revision,
            tier_label: t(format!("tier_{}", r.tier)),
            route_label: t(format!("route_{}", r.route)),
            rules_version: r.rules_version,
            at: stamp(f, r.at),
        })
        .collect();
    let decisions = decisions
        .into_iter()
        .map(|d| DecisionView {
            at: stamp(f, d.at),
            by: d.by,
            action: t(format!("action_{}", d.action)),
            rationale: d.rationale,
            revision: d.revision,
            groups: d
                .review_groups
                .split(',')
                .filter(|g| !g.is_empty())
                .collect::<Vec<_>>()
                .join(&t("list_separator".into())),
        })
        .collect();
    (revisions, decisions)
}

/// A disagreement between the case and its trail, in the page's language (values by their
/// labels: "Approved", not `approved`).
fn disagreement(d: &integrity::Disagreement, t: Tr, f: &Formats) -> String {
    use integrity::Disagreement as D;
    let n_of = |key: &str, n: &i64| f.counted(t, key, *n as f64, 0);
    match d {
        D::Value {
            field,
            stored,
            trail,
        } => {
            let label = |v: &str| t(format!("{field}_{v}"));
            t(format!("disagree_{field}"))
                .replace("{stored}", &label(stored))
                .replace("{trail}", &label(trail))
        }
        D::Triage => t("disagree_triage".into()),
        D::Unrecorded(n) => n_of("disagree_unrecorded", n),
        D::Missing(n) => n_of("disagree_missing", n),
    }
}

/// A reviewer's request for changes, shown first to the submitter who must act on it.
#[derive(Serialize)]
struct Requested {
    by: String,
    at: String,
    rationale: String,
}

/// The next step the page puts first: the changes asked for, and when a decision is due.
fn next_step(
    case: &cases::Case,
    decisions: &[reviews::DecisionRecord],
    rules: &RuleSet,
    f: &Formats,
) -> Result<(Option<Requested>, Option<String>), AppError> {
    let status = case.status()?;
    let requested = if status == Status::ChangesRequested {
        decisions
            .iter()
            .rev()
            .find(|d| d.action == Action::RequestChanges.as_str())
            .map(|d| Requested {
                by: d.by.clone(),
                at: stamp(f, d.at),
                rationale: d.rationale.clone(),
            })
    } else {
        None
    };
    let waiting = matches!(status, Status::InReview | Status::AwaitingApproval);
    let due = match (waiting, case.row.submitted_at, case.tier()?) {
        (true, Some(at), Some(tier)) => rules
            .routing
            .route_for(tier)
            .sla_working_days
            .map(|days| stamp(f, crate::domain::workflow::add_working_days(at, days))),
        _ => None,
    };
    Ok((requested, due))
}

/// What the viewer may do on the page.
#[derive(Serialize)]
struct Abilities {
    can_edit: bool,
    can_submit: bool,
    can_withdraw: bool,
    decide_options: Vec<ActionOption>,
    can_comment: bool,
    can_claim: bool,
    can_release: bool,
}

fn abilities(
    case: &cases::Case,
    me: &Principal,
    allowed: &[Action],
    t: Tr,
) -> Result<Abilities, PageError> {
    let status = case.status()?;
    let may_author = me.may_author(&case.row.agency_id);
    let claimed = case.row.claimed_by.as_ref().map(UserId::as_str);
    Ok(Abilities {
        can_edit: may_author && status.is_editable(),
        can_submit: may_author && status.can_submit(),
        can_withdraw: may_author && status.can_withdraw(),
        decide_options: allowed
            .iter()
            .filter(|a| **a != Action::Comment)
            .map(|a| ActionOption {
                value: a.to_string(),
                label: t(format!("action_{a}")),
            })
            .collect(),
        can_comment: allowed.contains(&Action::Comment),
        can_claim: allowed.contains(&Action::Approve) && claimed.is_none(),
        can_release: claimed == Some(me.user_id.as_str())
            && matches!(status, Status::InReview | Status::AwaitingApproval),
    })
}

/// Parses a stored JSON column (scores, triage) when present.
fn stored<T: serde::de::DeserializeOwned>(json: Option<&str>) -> Result<Option<T>, AppError> {
    Ok(json.map(serde_json::from_str).transpose()?)
}

/// The cases most like this one in the viewer's read scope (five at most), without the pairs
/// a reviewer has said are not duplicates.
async fn similar_cases(
    state: &AppState,
    viewer: &Viewer,
    id: &CaseId,
) -> Result<Vec<SimilarView>, PageError> {
    let index = state.similar_index(viewer.user.read_scope()).await?;
    let distinct = state.db(crate::db::duplicates::distinct).await?;
    Ok(index
        .position(id)
        .map(|i| index.similar_to(i, 5 + distinct.len().min(20), 0.15))
        .unwrap_or_default()
        .into_iter()
        .filter(|m| !distinct.contains(&crate::domain::similar::pair(id, &m.id)))
        .take(5)
        .map(|m| SimilarView::of(m, &state.pages, viewer.lang))
        .collect())
}

/// The text hints of the case's title, summary and answers, in the page's language.
fn hint_views(
    rules: &RuleSet,
    lang: &str,
    case: &cases::Case,
    answers: &Answers,
    t: Tr,
) -> Vec<HintView> {
    let text = CaseText {
        title: &case.row.title,
        summary: &case.row.summary,
    };
    describe(
        rules,
        lang,
        &hints_of(rules, answers, text),
        &t("field_title".into()),
        &t("field_summary".into()),
    )
}

async fn render(
    state: &AppState,
    viewer: &Viewer,
    id: CaseId,
    notice: Option<String>,
    error: Option<String>,
    rationale: String,
    http_status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let Loaded {
        case,
        events,
        emails,
        decisions,
        revisions,
        allowed,
        disagreements,
    } = load(state, viewer, id).await?;
    let similar = similar_cases(state, viewer, &case.row.id).await?;
    let (lang, pages, rules) = (viewer.lang, &state.pages, state.rules());
    let t = |k: String| pages.t(lang, &k);
    let tx = Localizer::of(&rules, lang);
    let f = pages.formats(lang);
    let answers = case.answers()?;
    let hints = hint_views(&rules, lang, &case, &answers, &t);
    let approvals_given = decisions
        .iter()
        .filter(|d| d.action == "approve" && d.revision == case.row.revision)
        .count();
    let (requested, due) = next_step(&case, &decisions, &rules, f)?;
    let declared = case.declarations()?;
    let triage = stored::<Triage>(case.row.triage.as_deref())?;
    let (revisions, decisions) = history_views(revisions, decisions, &t, f);
    let able = abilities(&case, &viewer.user, &allowed, &t)?;
    let r = &case.row;
    let page = CasePage {
        base: Base::new(pages, lang, r.title.clone(), Some(viewer)),
        id: r.id.to_string(),
        disagreements: disagreements
            .iter()
            .map(|d| disagreement(d, &t, f))
            .collect(),
        requested,
        due,
        case_title: r.title.clone(),
        summary: r.summary.clone(),
        business_function: r.business_function.clone(),
        agency: case.agency.to_string(),
        status_label: t(format!("status_{}", r.status)),
        version: r.version,
        revision: r.revision,
        escalated: r.escalated,
        claimed_by: r
            .claimed_by
            .as_ref()
            .map(|u| emails.get(u).cloned().unwrap_or_else(|| u.to_string())),
        scores: stored::<Scores>(r.scores.as_deref())?
            .map(|s| scores_view(s, &rules.questionnaire, tx)),
        agents: super::agents::view(
            &declared,
            triage.as_ref().map_or(&[], |tr| tr.fired.as_slice()),
            &rules.questionnaire,
            &t,
            tx,
        ),
        triage: triage.map(|tr| triage_view(tr, approvals_given, (&rules, &declared), &t, tx)),
        answers: answer_views(&rules.questionnaire, &answers, hints, &t, tx, f),
        revisions,
        decisions,
        events: event_views(events, &emails, &t, f),
        able,
        notice,
        error,
        rationale_value: rationale,
        similar,
        may_mark_distinct: viewer.user.is_reviewer(),
    };
    pages.render("case", &page, http_status)
}

/// `GET /use-cases/{id}`
pub async fn page(
    state: Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, PageError> {
    let id = case_id(&path)?;
    let notice = q
        .done
        .as_deref()
        .and_then(|d| state.pages.known(viewer.lang, &format!("done_{d}")));
    render(
        &state,
        &viewer,
        id,
        notice,
        None,
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// Invalid fields as people read them, in the page's language: each answer by its question's
/// prompt (not its id), under what to do before submitting; any other field by its label.
fn in_words(state: &AppState, lang: &str, errors: &[crate::domain::FieldError]) -> String {
    let rules = state.rules();
    let tx = Localizer::of(&rules, lang);
    let say = |e: &crate::domain::FieldError| state.pages.field_message(lang, e);
    let (answers, others): (Vec<_>, Vec<_>) =
        errors.iter().partition(|e| e.field.starts_with("answers."));
    let mut parts: Vec<String> = others
        .iter()
        .map(|e| {
            let label = state.pages.known(lang, &e.field).unwrap_or(e.field.clone());
            format!("{label}: {}", say(e))
        })
        .collect();
    if !answers.is_empty() {
        let missing: Vec<String> = answers
            .iter()
            .map(|e| {
                let id = e.field.trim_start_matches("answers.");
                let what = rules
                    .questionnaire
                    .get(id)
                    .map_or_else(|| e.field.clone(), |q| tx.prompt(q));
                format!("{what} ({})", say(e))
            })
            .collect();
        parts.push(format!(
            "{} {}",
            state.pages.t(lang, "fix_before_submitting"),
            missing.join(" · ")
        ));
    }
    parts.join(" ")
}

/// `GET /use-cases/{id}/act`: the address a re-shown case page was posted to (its language
/// links point here); it leads to the case page, keeping the query (`?lang=`).
pub async fn act_page(req: actix_web::HttpRequest, path: web::Path<String>) -> HttpResponse {
    let id = CaseId::parse(&path).map_or_else(String::new, CaseId::into_string);
    match req.query_string() {
        "" => redirect(&format!("/use-cases/{id}")),
        q => redirect(&format!("/use-cases/{id}?{q}")),
    }
}

/// `POST /use-cases/{id}/act`: `op` is submit, withdraw, decide, claim or release.
pub async fn act(
    state: Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let id = case_id(&path)?;
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    let op = form.text("op");
    let version: Option<i32> = form.get("version").and_then(|v| v.parse().ok());
    let rationale = form.text("rationale");
    let who = viewer.user.clone();
    let rules = state.rules();
    let case_id = id.clone();
    let action = form.get("decision").and_then(Action::parse);
    let done = match op.as_str() {
        "decide" => action.map_or("decide", |a| a.as_str()),
        other => other,
    }
    .to_string();
    let text = rationale.clone();
    // Any other text names no case: refused as not found, as a case outside the scope is.
    let other = CaseId::from(form.text("other"));
    let result = state
        .db(move |c| match op.as_str() {
            "submit" => app::cases::submit(c, &who, &case_id, version, &rules).map(|_| ()),
            "withdraw" => app::cases::withdraw(c, &who, &case_id, version, &text).map(|_| ()),
            "decide" => {
                let action = action.ok_or_else(|| {
                    AppError::Validation(vec![FieldError::says("decision", Says::ChooseDecision)])
                })?;
                app::reviews::decide(c, &who, &case_id, version.unwrap_or(0), action, &text)
                    .map(|_| ())
            }
            "claim" => app::reviews::claim(c, &who, &case_id, true).map(|_| ()),
            "release" => app::reviews::claim(c, &who, &case_id, false).map(|_| ()),
            "not_duplicate" => app::duplicates::mark_not_duplicate(c, &who, &case_id, &other),
            _ => Err(AppError::BadRequest("unknown operation".into())),
        })
        .await;
    match result {
        Ok(()) if form.get("back") == Some("/queue") => Ok(redirect("/queue")),
        Ok(()) => Ok(redirect(&format!("/use-cases/{id}?done={done}"))),
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(
            e @ (AppError::Forbidden(_)
            | AppError::Conflict { .. }
            | AppError::Validation(_)
            | AppError::BadRequest(_)),
        ) => {
            let status = e.status_code_of();
            let message = match &e {
                AppError::Validation(errors) => in_words(&state, viewer.lang, errors),
                other => other.describe(),
            };
            render(&state, &viewer, id, None, Some(message), rationale, status).await
        }
        Err(e) => Err(e.into()),
    }
}
