//! The questionnaire, and a triage preview that stores nothing.

use actix_web::web::Data;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::domain::access::Principal;
use crate::domain::answers;
use crate::domain::hints::CaseText;
use crate::error::{AppError, AppResult};
use crate::http::error::responses as problem;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::rules::model::{Kind, Question, RuleSet};

#[derive(Serialize)]
struct OptionView<'a> {
    value: &'a str,
    label: &'a str,
}

#[derive(Serialize)]
struct QuestionView<'a> {
    id: &'a str,
    kind: Kind,
    prompt: &'a str,
    help: &'a str,
    required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Vec<OptionView<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_length: Option<usize>,
    /// A CEL condition over earlier answers; absent when always shown.
    visible_when: Option<&'a str>,
}

#[derive(Serialize)]
struct SectionView<'a> {
    id: &'a str,
    title: &'a str,
    questions: Vec<QuestionView<'a>>,
}

#[derive(Serialize)]
struct QuestionnaireView<'a> {
    rules_version: &'a str,
    sections: Vec<SectionView<'a>>,
}

fn question_view(q: &Question) -> QuestionView<'_> {
    QuestionView {
        id: &q.id,
        kind: q.kind,
        prompt: &q.prompt,
        help: &q.help,
        required: q.required,
        options: q.kind.has_options().then(|| {
            q.options
                .iter()
                .map(|o| OptionView {
                    value: &o.value,
                    label: &o.label,
                })
                .collect()
        }),
        min: q.kind.has_range().then_some(q.min).flatten(),
        max: q.kind.has_range().then_some(q.max).flatten(),
        max_length: (q.kind == Kind::Text).then_some(q.max_length),
        visible_when: q.visible_when.as_ref().map(|c| c.source()),
    }
}

fn view(rules: &RuleSet) -> QuestionnaireView<'_> {
    let q = &rules.questionnaire;
    QuestionnaireView {
        rules_version: &rules.version,
        sections: q
            .sections
            .iter()
            .map(|s| SectionView {
                id: &s.id,
                title: &s.title,
                questions: s
                    .questions
                    .iter()
                    .map(|&i| question_view(&q.questions[i]))
                    .collect(),
            })
            .collect(),
    }
}

/// `GET /api/v1/questionnaire`
#[utoipa::path(
    get,
    path = "/api/v1/questionnaire",
    tag = "intake",
    responses(
        (status = 200, description = "Sections and questions, with rules_version"),
        (status = 401, response = problem::Unauthorized),
    ),
)]
pub async fn get(state: Data<AppState>, _who: Principal) -> HttpResponse {
    let rules = state.rules();
    HttpResponse::Ok().json(view(&rules))
}

#[derive(Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[schema(value_type = Object)]
    answers: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    #[validate(length(max = 200, message = "at most 200 characters"))]
    title: Option<String>,
    #[serde(default)]
    #[validate(length(max = 5000, message = "at most 5000 characters"))]
    summary: Option<String>,
    #[serde(default)]
    #[validate(length(max = 100, message = "at most 100 characters"))]
    business_function: Option<String>,
    /// The agents of an agentic system, with the tools each may call.
    #[serde(default)]
    agents: Vec<crate::vocab::agents::Agent>,
    /// Agents handing work to other agents.
    #[serde(default)]
    delegations: Vec<crate::vocab::agents::Delegation>,
}

/// `POST /api/v1/triage/preview`: scores and triage of answers as they stand; nothing stored.
/// `complete` says whether they could be submitted; `missing` lists required answers to give.
#[utoipa::path(
    post,
    path = "/api/v1/triage/preview",
    tag = "intake",
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "Scores and triage of the answers so far; complete and missing. Nothing stored"),
        (status = 400, response = problem::MalformedJson),
        (status = 401, response = problem::Unauthorized),
        (status = 413, response = problem::TooLarge),
        (status = 422, response = problem::Invalid),
    ),
)]
pub async fn preview(
    state: Data<AppState>,
    _who: Principal,
    body: Body,
) -> AppResult<HttpResponse> {
    let req: PreviewRequest = body.json()?;
    let rules = state.rules();
    let q = &rules.questionnaire;
    let mut answers = answers::parse(q, &req.answers).map_err(AppError::Validation)?;
    let declared = crate::vocab::agents::Declarations {
        agents: req.agents,
        delegations: req.delegations,
    };
    let declared =
        crate::domain::agents::declare(q, &mut answers, declared).map_err(AppError::Validation)?;
    let text = CaseText {
        title: req.title.as_deref().unwrap_or_default(),
        summary: req.summary.as_deref().unwrap_or_default(),
    };
    let (a, missing) = crate::domain::preview_declared(&rules, &answers, text, &declared);
    let missing: Vec<String> = missing
        .into_iter()
        .map(|e| e.field.trim_start_matches("answers.").to_string())
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "scores": a.scores,
        "triage": a.triage,
        "hints": a.hints,
        "complete": missing.is_empty(),
        "missing": missing,
    })))
}
