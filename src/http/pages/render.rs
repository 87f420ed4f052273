//! Rendering: compiled-in handlebars templates (strict mode, HTML-escaped), the strings of
//! each language, the context every page shares, and errors as HTML pages.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use handlebars::Handlebars;
use serde::Serialize;

use super::locale::{Formats, FormatsError, LANGUAGES};
use super::session::Viewer;
use crate::domain::access::Role;
use crate::domain::message::{Says, Writer, MESSAGES};
use crate::domain::FieldError;
use crate::error::AppError;

/// The strings of one language, by key. Every language has every key (a test checks).
pub type Strings = BTreeMap<String, String>;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout", include_str!("../../../templates/layout.hbs")),
    ("error", include_str!("../../../templates/error.hbs")),
    ("admin", include_str!("../../../templates/admin.hbs")),
    ("login", include_str!("../../../templates/login.hbs")),
    ("home", include_str!("../../../templates/home.hbs")),
    ("intake", include_str!("../../../templates/intake.hbs")),
    ("case", include_str!("../../../templates/case.hbs")),
    ("queue", include_str!("../../../templates/queue.hbs")),
    (
        "portfolio",
        include_str!("../../../templates/portfolio.hbs"),
    ),
];

/// The interface strings of each page language (`locale::LANGUAGES`), compiled in.
pub const STRINGS: &[(&str, &str)] = &[
    ("ar", include_str!("../../../templates/i18n/ar.toml")),
    ("zh", include_str!("../../../templates/i18n/zh.toml")),
    ("en", include_str!("../../../templates/i18n/en.toml")),
    ("fr", include_str!("../../../templates/i18n/fr.toml")),
    ("ru", include_str!("../../../templates/i18n/ru.toml")),
    ("es", include_str!("../../../templates/i18n/es.toml")),
];

/// A page template or a language's strings that do not compile (a build defect).
#[derive(Debug, thiserror::Error)]
pub enum PagesError {
    #[error("template {name}")]
    Template {
        name: &'static str,
        #[source]
        source: Box<handlebars::TemplateError>,
    },
    #[error("strings {lang}")]
    Strings {
        lang: &'static str,
        #[source]
        source: toml::de::Error,
    },
    #[error(transparent)]
    Formats(#[from] FormatsError),
}

impl From<(&'static str, handlebars::TemplateError)> for PagesError {
    fn from((name, e): (&'static str, handlebars::TemplateError)) -> Self {
        PagesError::Template {
            name,
            source: Box::new(e),
        }
    }
}

/// The keys whose text depends on a count (`age_days-one`, `age_days-other`…), without
/// their form: every such key has an `other` form.
pub fn plural_stems(strings: &Strings) -> Vec<&str> {
    strings
        .keys()
        .filter_map(|k| k.strip_suffix("-other"))
        .collect()
}

/// Translates a page string key in the viewer's language (what page builders take).
pub type Tr<'a> = &'a dyn Fn(String) -> String;

pub struct Pages {
    hbs: Handlebars<'static>,
    strings: BTreeMap<&'static str, Strings>,
    formats: BTreeMap<&'static str, Formats>,
}

impl Pages {
    pub fn new() -> Result<Pages, PagesError> {
        let mut hbs = Handlebars::new();
        hbs.set_strict_mode(true);
        for (name, text) in TEMPLATES {
            hbs.register_template_string(name, *text)
                .map_err(|e| PagesError::from((*name, e)))?;
        }
        let mut strings = BTreeMap::new();
        for (lang, text) in STRINGS {
            let s: Strings =
                toml::from_str(text).map_err(|source| PagesError::Strings { lang, source })?;
            strings.insert(*lang, s);
        }
        // A string a translation lacks shows in English rather than failing the page (the
        // templates are strict); a test keeps every language complete.
        // The domain's messages about fields are written in English once, in the domain.
        if let Some(en) = strings.get_mut("en") {
            for (key, english) in MESSAGES {
                en.insert(format!("says_{key}"), english.to_string());
            }
        }
        let english = strings.get("en").cloned().unwrap_or_default();
        for s in strings.values_mut() {
            for (k, v) in &english {
                s.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let mut formats = BTreeMap::new();
        for lang in LANGUAGES {
            formats.insert(lang.code, Formats::new(lang)?);
        }
        // A plural form a translation lacks is its `other` form (a test keeps them whole).
        for (lang, s) in strings.iter_mut() {
            let forms = formats
                .get(lang)
                .map(Formats::plural_forms)
                .unwrap_or_default();
            for stem in plural_stems(&english) {
                let Some(other) = s.get(&format!("{stem}-other")).cloned() else {
                    continue;
                };
                for form in &forms {
                    s.entry(format!("{stem}-{form}"))
                        .or_insert_with(|| other.clone());
                }
            }
        }
        Ok(Pages {
            hbs,
            strings,
            formats,
        })
    }

    pub fn strings(&self, lang: &str) -> &Strings {
        self.strings.get(lang).unwrap_or(&self.strings["en"])
    }

    /// How `lang` writes numbers and dates.
    pub fn formats(&self, lang: &str) -> &Formats {
        self.formats.get(lang).unwrap_or(&self.formats["en"])
    }

    /// One string, falling back to its key (templates are strict; Rust callers are forgiving).
    /// The string for `key`, only if the language has one (for keys built from input).
    pub fn known(&self, lang: &str, key: &str) -> Option<String> {
        self.strings(lang).get(key).cloned()
    }

    pub fn t(&self, lang: &str, key: &str) -> String {
        self.strings(lang)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    /// What is wrong with a field, in `lang`: a message of the domain's in its translation,
    /// numbers and lists written the language's way; any other message as it was given.
    pub fn field_message(&self, lang: &str, e: &FieldError) -> String {
        e.says
            .as_ref()
            .map_or_else(|| e.message.clone(), |says| self.say(lang, says))
    }

    /// A message of the domain's in `lang`, numbers and lists written the language's way.
    pub fn say(&self, lang: &str, says: &Says) -> String {
        says.fill(
            &self.t(lang, &format!("says_{}", says.key())),
            &Writer {
                number: &|n| self.formats(lang).number(n),
                separator: &self.t(lang, "list_separator"),
                term: &|prefix, word| self.t(lang, &format!("{prefix}{word}")),
                say: &|inner| self.say(lang, inner),
            },
        )
    }

    pub fn render<T: Serialize>(
        &self,
        name: &str,
        ctx: &T,
        status: StatusCode,
    ) -> Result<HttpResponse, PageError> {
        let body = self
            .hbs
            .render(name, ctx)
            .map_err(|e| PageError::App(AppError::internal(format!("template {name}"), e)))?;
        Ok(html(status, body))
    }
}

/// An HTML response with the security headers every page carries.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

#[derive(Serialize)]
pub struct UserView {
    pub email: String,
    pub agency: String,
    pub roles: String,
}

/// A link to the page in one language, named in that language.
#[derive(Serialize)]
pub struct LanguageLink {
    pub code: &'static str,
    pub name: &'static str,
    pub dir: &'static str,
    pub href: String,
    pub current: bool,
}

/// The language switch: every language, each link keeping the page's other query parameters.
pub fn language_links(current: &str, query: &str) -> Vec<LanguageLink> {
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("lang="))
        .collect();
    LANGUAGES
        .iter()
        .map(|l| {
            let mut params = kept.clone();
            let lang = format!("lang={}", l.code);
            params.push(&lang);
            LanguageLink {
                code: l.code,
                name: l.name,
                dir: dir_of(l.code),
                href: format!("?{}", params.join("&")),
                current: l.code == current,
            }
        })
        .collect()
}

/// `rtl` for a right-to-left language, `ltr` otherwise.
pub fn dir_of(lang: &str) -> &'static str {
    if LANGUAGES.iter().any(|l| l.code == lang && l.rtl) {
        "rtl"
    } else {
        "ltr"
    }
}

#[derive(Serialize)]
pub struct Nav {
    pub submit: bool,
    pub review: bool,
    pub admin: bool,
}

/// What the layout needs on every page.
#[derive(Serialize)]
pub struct Base<'a> {
    pub t: &'a Strings,
    pub lang: &'a str,
    pub dir: &'static str,
    pub languages: Vec<LanguageLink>,
    pub title: String,
    pub user: Option<UserView>,
    pub csrf: String,
    pub nav: Nav,
}

impl<'a> Base<'a> {
    pub fn new(
        pages: &'a Pages,
        lang: &'a str,
        title: String,
        viewer: Option<&Viewer>,
    ) -> Base<'a> {
        let user = viewer.map(|v| &v.user);
        Base {
            t: pages.strings(lang),
            lang,
            dir: dir_of(lang),
            languages: language_links(lang, viewer.map_or("", |v| v.query.as_str())),
            title,
            user: user.map(|u| UserView {
                email: u.email.clone(),
                agency: u.agency_code.to_string(),
                roles: u
                    .roles
                    .iter()
                    .map(|r| pages.t(lang, &format!("role_{r}")))
                    .collect::<Vec<_>>()
                    .join(&pages.t(lang, "list_separator")),
            }),
            csrf: viewer.map(|v| v.csrf.clone()).unwrap_or_default(),
            nav: Nav {
                submit: user.is_some_and(|u| u.has(Role::Submitter)),
                review: user.is_some_and(|u| u.is_reviewer()),
                admin: user.is_some_and(|u| u.has(Role::Admin)),
            },
        }
    }
}

/// A page that could not be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then come back.
    SignIn(String),
    /// A form post without the session's CSRF token.
    Csrf,
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError::App(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::SignIn(_) => f.write_str("sign in first"),
            PageError::Csrf => f.write_str("the form is missing its security token"),
            PageError::App(e) => write!(f, "{e}"),
        }
    }
}

pub fn escape(s: &str) -> String {
    handlebars::html_escape(s)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn(_) => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::App(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignIn(next) = self {
            let next: String = form_urlencode(next);
            return redirect(&format!("/login?next={next}"));
        }
        let status = self.status_code();
        let detail = match self {
            PageError::App(e @ AppError::Internal { .. }) => {
                tracing::error!(cause = %e.chain(), "page failed");
                Detail::Key("error_internal")
            }
            PageError::App(AppError::NotFound) => Detail::Key("error_not_found"),
            PageError::Csrf => Detail::Key("error_csrf"),
            PageError::App(e @ AppError::Validation(_)) => Detail::Text(e.describe()),
            other => Detail::Text(other.to_string()),
        };
        // A bare page; `with_menu` replaces it with one in the site's layout.
        let title = status.canonical_reason().unwrap_or("Error");
        let text = match &detail {
            Detail::Key(_) => title.to_string(),
            Detail::Text(t) => t.clone(),
        };
        let mut res = html(
            status,
            format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>{title} – aitriage</title><link rel=\"stylesheet\" href=\"/static/style.css\"></head>\
                 <body><main id=\"main\" class=\"narrow\"><h1>{title}</h1><p>{}</p><p><a href=\"/\">aitriage</a></p></main></body></html>",
                escape(&text)
            ),
        );
        res.extensions_mut().insert(ErrorPage { detail });
        res
    }
}

/// What an error page says: a string of the interface, or a text made for this error.
#[derive(Clone)]
pub enum Detail {
    Key(&'static str),
    Text(String),
}

/// Marks a response as an error page to be shown in the site's layout.
#[derive(Clone)]
pub struct ErrorPage {
    pub detail: Detail,
}

/// Percent-encodes a value for a query string (everything but RFC 3986 unreserved bytes).
pub fn form_urlencode(s: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(s, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fields_problem_is_said_in_the_pages_language_with_its_numbers_and_lists() {
        let pages = Pages::new().unwrap();
        let range = FieldError::says(
            "answers.n",
            Says::FromTo {
                min: 0.0,
                max: 250000.0,
            },
        );
        assert_eq!(
            range.message, "must be from 0 to 250000",
            "the API's English"
        );
        assert_eq!(
            pages.field_message("en", &range),
            "must be from 0 to 250,000"
        );
        assert_eq!(
            pages.field_message("fr", &range),
            "doit être compris entre 0 et 250\u{202f}000"
        );
        let choice = FieldError::says(
            "answers.c",
            Says::OneOf {
                options: vec!["a".into(), "b".into()],
            },
        );
        assert_eq!(
            pages.field_message("ar", &choice),
            "يجب أن تكون القيمة أحد الخيارات التالية: a، b"
        );
        assert_eq!(
            pages.field_message("zh", &choice),
            "必须是以下选项之一：a、b"
        );
        let other = FieldError::new("x", "said only in English");
        assert_eq!(pages.field_message("ru", &other), "said only in English");
    }

    #[test]
    fn every_language_words_each_count_in_exactly_the_plural_forms_cldr_gives_it() {
        let pages = Pages::new().unwrap();
        let english: Strings = toml::from_str(STRINGS[2].1).unwrap();
        let stems = plural_stems(&english);
        assert!(stems.contains(&"age_days") && stems.contains(&"cases_found"));
        for (lang, text) in STRINGS {
            let own: Strings = toml::from_str(text).unwrap();
            let mut forms = pages.formats(lang).plural_forms();
            forms.sort_unstable();
            for stem in &stems {
                let mut has: Vec<&str> = own
                    .keys()
                    .filter_map(|k| k.strip_prefix(&format!("{stem}-")))
                    .collect();
                has.sort_unstable();
                assert_eq!(has, forms, "templates/i18n/{lang}.toml: {stem}");
            }
        }
        assert_eq!(pages.formats("ar").plural_forms().len(), 6);
        assert_eq!(pages.formats("zh").plural_forms(), ["other"]);
    }

    #[test]
    fn a_count_takes_the_form_its_number_needs() {
        let pages = Pages::new().unwrap();
        let said = |lang: &str, n: f64, places: usize| {
            pages
                .formats(lang)
                .counted(&|k: String| pages.t(lang, &k), "cases_found", n, places)
        };
        assert_eq!(said("en", 1.0, 0), "1 use case found");
        assert_eq!(said("en", 3000.0, 0), "3,000 use cases found");
        assert_eq!(said("ru", 1.0, 0), "Найден 1 сценарий");
        assert_eq!(said("ru", 21.0, 0), "Найден 21 сценарий");
        assert_eq!(said("ru", 3.0, 0), "Найдено 3 сценария");
        assert_eq!(said("ru", 11.0, 0), "Найдено 11 сценариев");
        assert_eq!(said("ar", 1.0, 0), "عُثر على حالة استخدام واحدة");
        assert_eq!(said("ar", 2.0, 0), "عُثر على حالتَي استخدام");
        assert_eq!(said("ar", 7.0, 0), "عُثر على 7 حالات استخدام");
        assert_eq!(said("ar", 15.0, 0), "عُثر على 15 حالة استخدام");
        assert_eq!(said("fr", 1.0, 0), "1 cas d’usage trouvé");
        assert_eq!(said("fr", 2.0, 0), "2 cas d’usage trouvés");
        assert_eq!(said("zh", 1.0, 0), "共找到 1 个用例");
        let days = |lang: &str, n: f64| {
            pages
                .formats(lang)
                .counted(&|k: String| pages.t(lang, &k), "age_days", n, 1)
        };
        assert_eq!(
            days("en", 1.0),
            "1.0 working days",
            "CLDR: a visible decimal is plural"
        );
        assert_eq!(days("fr", 1.5), "1,5 jour ouvré");
        assert_eq!(days("ru", 2.5), "2,5 рабочего дня");
    }
}
