//! The intake form: generated from the questionnaire; save as a draft or submit. Errors show
//! next to their fields and in a summary at the top, and nothing typed is lost. Without
//! JavaScript every question is shown and hidden ones are ignored by the server; with it, the
//! form asks `/use-cases/preview` which questions are visible and what the triage would be.

use crate::rules::i18n::Localizer;
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use actix_web::HttpResponse;
use serde::Serialize;

use super::forms::{
    answers_json, progress_text, questionnaire_form, Form, FormWords, SectionLink, SectionView,
};
use super::render::{redirect, Base, PageError};
use super::session::Viewer;
use crate::app;
use crate::db::cases::{self, CaseFields, CasePatch};
use crate::domain::agents;
use crate::domain::answers::{self, Answers};
use crate::domain::hints::{describe, CaseText, HintView};
use crate::domain::message::Says;
use crate::domain::FieldError;
use crate::error::AppError;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::rules::model::Questionnaire;
use crate::vocab::agents::{Declarations, ImportFormat};
use crate::vocab::CaseId;

#[derive(Serialize)]
struct ErrorView {
    anchor: String,
    message: String,
}

#[derive(Serialize)]
struct IntakePage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    action: String,
    version: Option<i32>,
    title_value: String,
    summary_value: String,
    function_value: String,
    title_error: Option<String>,
    summary_error: Option<String>,
    function_error: Option<String>,
    declarations_value: String,
    declarations_error: Option<String>,
    import_agent_value: String,
    import_document_value: String,
    import_mcp: bool,
    import_a2a: bool,
    import_error: Option<String>,
    errors: Vec<ErrorView>,
    /// The link at the end of the overview to the questionnaire's first section.
    first_section: Option<SectionLink>,
    sections: Vec<SectionView>,
}

/// What the form holds: fields, answers as far as they are valid, and text that was not.
struct Filled {
    title: String,
    summary: String,
    function: String,
    answers: Answers,
    raw: HashMap<String, String>,
    /// The agent declarations as typed (JSON), and a document to import into them.
    declarations: String,
    import: [String; 3],
}

impl Filled {
    /// A form holding a stored case (or nothing, for a new one).
    fn of(case: Option<&cases::Case>) -> Result<Filled, PageError> {
        let Some(c) = case else {
            return Ok(Filled {
                title: String::new(),
                summary: String::new(),
                function: String::new(),
                answers: Answers::new(),
                raw: HashMap::new(),
                declarations: String::new(),
                import: Default::default(),
            });
        };
        let d = c.declarations()?;
        Ok(Filled {
            title: c.row.title.clone(),
            summary: c.row.summary.clone(),
            function: c.row.business_function.clone(),
            answers: c.answers()?,
            raw: HashMap::new(),
            declarations: if d.is_empty() {
                String::new()
            } else {
                serde_json::to_string_pretty(&d).map_err(AppError::from)?
            },
            import: Default::default(),
        })
    }
}

/// Each answer on its own, keeping the valid ones: a form with one bad answer keeps the rest.
fn lenient(q: &Questionnaire, json: &serde_json::Map<String, serde_json::Value>) -> Answers {
    json.iter()
        .filter_map(|(k, v)| {
            // "None of these" ticked beside real choices: the real choices count (submitting
            // such a pair is refused; the preview must not show the safer reading).
            let v = match v.as_array() {
                Some(items) if items.len() > 1 && items.iter().any(|i| i == "none") => {
                    serde_json::Value::Array(
                        items.iter().filter(|i| *i != "none").cloned().collect(),
                    )
                }
                _ => v.clone(),
            };
            let one: serde_json::Map<_, _> = [(k.clone(), v)].into_iter().collect();
            answers::parse(q, &one)
                .ok()
                .and_then(|mut a| a.remove(k).map(|a| (k.clone(), a)))
        })
        .collect()
}

/// The summary of the form's errors at the top: each linked to its field, an answer named by
/// its question's prompt, any other field by its label (`t` of `field_<name>`).
fn error_views(
    errors: &[FieldError],
    q: &Questionnaire,
    tx: Localizer,
    t: impl Fn(&str) -> String,
    say: impl Fn(&FieldError) -> String,
) -> Vec<ErrorView> {
    errors
        .iter()
        .map(|e| {
            let (anchor, label) = match e.field.strip_prefix("answers.") {
                Some(id) => (
                    format!("q-{id}"),
                    q.get(id).map_or(id.to_string(), |q| tx.prompt(q)),
                ),
                None => (e.field.replace('_', "-"), t(&format!("field_{}", e.field))),
            };
            ErrorView {
                anchor,
                message: format!("{label}: {}", say(e)),
            }
        })
        .collect()
}

fn render(
    state: &AppState,
    viewer: &Viewer,
    action: String,
    version: Option<i32>,
    f: &Filled,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let lang = viewer.lang;
    let pages = &state.pages;
    let rules = state.rules();
    let tx = Localizer::of(&rules, lang);
    let say = |e: &FieldError| pages.field_message(lang, e);
    let err = |field: &str| errors.iter().find(|e| e.field == field).map(say);
    let title_key = if version.is_some() {
        "edit_case"
    } else {
        "nav_new"
    };
    let next = pages.t(lang, "next_section");
    let sections = questionnaire_form(
        &rules.questionnaire,
        &f.answers,
        &f.raw,
        errors,
        &FormWords {
            yes: &pages.t(lang, "yes"),
            no: &pages.t(lang, "no"),
            progress: &pages.t(lang, "section_progress"),
            next: &next,
            say: &say,
        },
        tx,
        pages.formats(lang),
    );
    let page = IntakePage {
        base: Base::new(pages, lang, pages.t(lang, title_key), Some(viewer)),
        action,
        version,
        title_value: f.title.clone(),
        summary_value: f.summary.clone(),
        function_value: f.function.clone(),
        title_error: err("title"),
        summary_error: err("summary"),
        function_error: err("business_function"),
        declarations_value: f.declarations.clone(),
        declarations_error: err("declarations"),
        import_mcp: f.import[0] == "mcp_tools_list",
        import_a2a: f.import[0] == "a2a_agent_card",
        import_agent_value: f.import[1].clone(),
        import_document_value: f.import[2].clone(),
        import_error: err("import"),
        errors: error_views(errors, &rules.questionnaire, tx, |k| pages.t(lang, k), say),
        first_section: sections.first().map(|s| SectionLink {
            id: s.id.clone(),
            label: next.replace("{title}", &s.title),
        }),
        sections,
    };
    pages.render("intake", &page, status)
}

fn require_submitter(viewer: &Viewer) -> Result<(), PageError> {
    if viewer.user.may_author(&viewer.user.agency_id) {
        Ok(())
    } else {
        Err(PageError::App(AppError::Forbidden(
            "only submitters create and edit use cases".into(),
        )))
    }
}

/// The agent declarations a form holds, with the document it imports merged in, checked.
/// A problem is reported on the declarations box or the import, naming the element.
fn read_declarations(
    q: &Questionnaire,
    text: &str,
    import: &[String; 3],
) -> Result<Declarations, Vec<FieldError>> {
    let on = |field: &str, e: Vec<FieldError>| -> Vec<FieldError> {
        e.into_iter()
            .map(|e| match e.says {
                Some(inner) => FieldError::says(
                    field,
                    Says::At {
                        path: e.field,
                        inner: Box::new(inner),
                    },
                ),
                None => FieldError::new(field, format!("{}: {}", e.field, e.message)),
            })
            .collect()
    };
    let mut d: Declarations = if text.is_empty() {
        Declarations::default()
    } else {
        serde_json::from_str(text).map_err(|e| {
            vec![FieldError::says(
                "declarations",
                Says::NotDeclarations {
                    detail: e.to_string(),
                },
            )]
        })?
    };
    let [format, agent, document] = import;
    if !document.is_empty() {
        let format = ImportFormat::parse(format)
            .ok_or_else(|| vec![FieldError::says("import", Says::ChooseFormat)])?;
        let doc: serde_json::Value = serde_json::from_str(document).map_err(|e| {
            vec![FieldError::says(
                "import",
                Says::NotJson {
                    detail: e.to_string(),
                },
            )]
        })?;
        agents::import(&mut d, format, agent, &doc).map_err(|e| on("import", e))?;
    }
    agents::check(q, d).map_err(|e| on("declarations", e))
}

fn import_fields(form: &Form) -> [String; 3] {
    [
        form.text("import_format"),
        form.text("import_agent"),
        form.text("import_document"),
    ]
}

/// Reads the form; returns what was filled and every problem with it.
fn read(
    state: &AppState,
    lang: &str,
    form: &Form,
) -> (Filled, Result<(Answers, Declarations), Vec<FieldError>>) {
    let rules = state.rules();
    let q = &rules.questionnaire;
    let t = |k: String| state.pages.t(lang, &k);
    let (json, mut errors, raw) = answers_json(q, form, state.pages.formats(lang), &t);
    let filled = Filled {
        title: form.text("title"),
        summary: form.text("summary"),
        function: form.text("business_function"),
        answers: lenient(q, &json),
        raw,
        declarations: form.text("declarations"),
        import: import_fields(form),
    };
    if filled.title.is_empty() {
        errors.push(FieldError::says("title", Says::Blank));
    }
    for (field, value, max) in [
        ("title", &filled.title, 200),
        ("summary", &filled.summary, 5000),
        ("business_function", &filled.function, 100),
    ] {
        if value.chars().count() > max {
            errors.push(FieldError::says(field, Says::LongerThan { max }));
        }
    }
    let parsed = answers::parse(q, &json);
    if let Err(e) = &parsed {
        errors.extend(e.iter().cloned());
    }
    let declared = read_declarations(q, &filled.declarations, &filled.import);
    if let Err(e) = &declared {
        errors.extend(e.iter().cloned());
    }
    let result = match (parsed, declared) {
        (Ok(mut a), Ok(d)) if errors.is_empty() => {
            agents::derive(q, &d, &mut a);
            Ok((a, d))
        }
        _ => Err(errors),
    };
    (filled, result)
}

/// `GET /use-cases/new`
pub async fn new_form(state: Data<AppState>, viewer: Viewer) -> Result<HttpResponse, PageError> {
    require_submitter(&viewer)?;
    let empty = Filled::of(None)?;
    render(
        &state,
        &viewer,
        "/use-cases/new".into(),
        None,
        &empty,
        &[],
        StatusCode::OK,
    )
}

/// Submits a saved draft if the form asked to; on missing answers, shows the form again.
async fn finish(
    state: Data<AppState>,
    viewer: Viewer,
    form: &Form,
    case: cases::Case,
    filled: Filled,
) -> Result<HttpResponse, PageError> {
    let id = case.row.id.clone();
    if form.get("action") != Some("submit") {
        return Ok(redirect(&format!("/use-cases/{id}?done=saved")));
    }
    let rules = state.rules();
    let who = viewer.user.clone();
    let case_id = id.clone();
    match state
        .db(move |c| app::cases::submit(c, &who, &case_id, None, &rules))
        .await
    {
        Ok(_) => Ok(redirect(&format!("/use-cases/{id}?done=submitted"))),
        Err(AppError::Validation(errors)) => render(
            &state,
            &viewer,
            format!("/use-cases/{id}/edit"),
            Some(case.row.version),
            &filled,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

/// `POST /use-cases/new`
pub async fn create(
    state: Data<AppState>,
    viewer: Viewer,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    require_submitter(&viewer)?;
    let (filled, parsed) = read(&state, viewer.lang, &form);
    // "Submit" on a new form that is not complete stores nothing: the form comes back with
    // what is missing (a draft is saved only when asked to).
    let submitting = form.get("action") == Some("submit");
    let (answers, declared) = match parsed.and_then(|(a, d)| {
        if !submitting {
            return Ok((a, d));
        }
        let text = CaseText {
            title: &filled.title,
            summary: &filled.summary,
        };
        let (_, missing) = crate::domain::preview(&state.rules(), &a, text);
        if missing.is_empty() {
            Ok((a, d))
        } else {
            Err(missing)
        }
    }) {
        Ok(a) => a,
        Err(errors) => {
            return render(
                &state,
                &viewer,
                "/use-cases/new".into(),
                None,
                &filled,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let who = viewer.user.clone();
    let fields = CaseFields {
        title: filled.title.clone(),
        summary: filled.summary.clone(),
        business_function: filled.function.clone(),
    };
    let rules = state.rules();
    let case = state
        .db(move |c| app::cases::create(c, &who, fields, answers, declared, &rules))
        .await?;
    finish(state, viewer, &form, case, filled).await
}

async fn editable(state: &AppState, viewer: &Viewer, id: &str) -> Result<cases::Case, PageError> {
    require_submitter(viewer)?;
    let id = CaseId::parse(id).ok_or(AppError::NotFound)?;
    let scope = viewer.user.read_scope();
    let case = state
        .db(move |c| cases::get(c, &scope, &id))
        .await?
        .ok_or(AppError::NotFound)?;
    if !viewer.user.may_author(&case.row.agency_id) {
        return Err(
            AppError::Forbidden("only submitters of the case's agency edit it".into()).into(),
        );
    }
    let status = case.status()?;
    if !status.is_editable() {
        return Err(AppError::conflict(
            format!("a case that is {status} cannot be edited"),
            Some(case.row.version),
        )
        .into());
    }
    Ok(case)
}

/// `GET /use-cases/{id}/edit`
pub async fn edit_form(
    state: Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let case = editable(&state, &viewer, &path).await?;
    let filled = Filled::of(Some(&case))?;
    render(
        &state,
        &viewer,
        format!("/use-cases/{}/edit", case.row.id),
        Some(case.row.version),
        &filled,
        &[],
        StatusCode::OK,
    )
}

/// `POST /use-cases/{id}/edit`: the form replaces every answer.
pub async fn update(
    state: Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    let case = editable(&state, &viewer, &path).await?;
    let version: i32 = form
        .get("version")
        .and_then(|v| v.parse().ok())
        .unwrap_or(case.row.version);
    let (filled, parsed) = read(&state, viewer.lang, &form);
    let action = format!("/use-cases/{}/edit", case.row.id);
    let (answers, declared) = match parsed {
        Ok(a) => a,
        Err(errors) => {
            return render(
                &state,
                &viewer,
                action,
                Some(version),
                &filled,
                &errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    };
    let redeclared = declared != case.declarations()?;
    let removed: Vec<String> = state
        .rules()
        .questionnaire
        .questions
        .iter()
        .filter(|q| !answers.contains_key(&q.id))
        .map(|q| q.id.clone())
        .collect();
    let patch = CasePatch {
        title: Some(filled.title.clone()),
        summary: Some(filled.summary.clone()),
        business_function: Some(filled.function.clone()),
        set_answers: answers,
        remove_answers: removed,
        agents: redeclared.then_some(declared.agents),
        delegations: redeclared.then_some(declared.delegations),
    };
    let who = viewer.user.clone();
    let id = case.row.id.clone();
    let rules = state.rules();
    let saved = state
        .db(move |c| app::cases::edit(c, &who, &id, version, patch, &rules))
        .await?;
    finish(state, viewer, &form, saved, filled).await
}

#[derive(Serialize)]
struct Preview {
    visible: HashMap<String, bool>,
    tier: String,
    /// The tier's code, for its colour.
    tier_code: String,
    route: String,
    business_value: i32,
    feasibility: i32,
    readiness: i32,
    priority: i32,
    missing: usize,
    /// "3 required answers still missing", in the form the count takes in the language.
    missing_text: String,
    /// Each section's progress, worded: (section id, "3 of 5 required answered", complete).
    progress: Vec<(String, String, bool)>,
    /// What the text suggests, with the words (shown beside the form as the submitter types).
    hints: Vec<HintView>,
}

/// `POST /use-cases/preview` (the form's script): which questions are visible, and the
/// scores and triage the answers so far would get. Stores nothing.
pub async fn preview(
    state: Data<AppState>,
    viewer: Viewer,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    let rules = state.rules();
    let q = &rules.questionnaire;
    let t = |k: String| state.pages.t(viewer.lang, &k);
    let (json, _, _) = answers_json(q, &form, state.pages.formats(viewer.lang), &t);
    let mut answers = lenient(q, &json);
    // Declarations that do not check yet are left out of the preview, not refused.
    let declared =
        read_declarations(q, &form.text("declarations"), &import_fields(&form)).unwrap_or_default();
    agents::derive(q, &declared, &mut answers);
    let eff = answers::effective(q, &answers);
    let title = form.text("title");
    let summary = form.text("summary");
    let text = CaseText {
        title: &title,
        summary: &summary,
    };
    let (a, missing) = crate::domain::preview_declared(&rules, &answers, text, &declared);
    let missing = missing.len();
    let lang = viewer.lang;
    Ok(HttpResponse::Ok().json(Preview {
        visible: q
            .questions
            .iter()
            .zip(&eff.visible)
            .map(|(q, v)| (q.id.clone(), *v))
            .collect(),
        tier: state.pages.t(lang, &format!("tier_{}", a.triage.tier)),
        tier_code: a.triage.tier.to_string(),
        route: state.pages.t(lang, &format!("route_{}", a.triage.route)),
        business_value: a.scores.business_value,
        feasibility: a.scores.feasibility,
        readiness: a.scores.readiness,
        priority: a.scores.priority,
        missing,
        missing_text: state
            .pages
            .formats(lang)
            .counted(&t, "preview_missing", missing as f64, 0),
        progress: answers::progress(q, &answers, &eff)
            .iter()
            .map(|p| {
                let template = state.pages.t(lang, "section_progress");
                (
                    p.section.clone(),
                    progress_text(p, &template),
                    p.answered == p.required,
                )
            })
            .collect(),
        hints: describe(
            &rules,
            lang,
            &a.hints,
            &state.pages.t(lang, "field_title"),
            &state.pages.t(lang, "field_summary"),
        ),
    }))
}
