//! The administrator's page: every user (enable or disable, set roles) and every API token
//! (revoke), through the same service functions as the admin API; deny by default (the
//! service refuses anyone but an admin), a CSRF token on every form.

use actix_web::http::StatusCode;
use actix_web::web::{Data, Query};
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::forms::Form;
use super::render::{redirect, Base, PageError, Tr};
use super::session::Viewer;
use crate::app::users::{self, By};
use crate::db::users::{TokenInfo, UserInfo};
use crate::domain::access::Role;
use crate::error::AppError;
use crate::http::extract::Body;
use crate::http::AppState;
use crate::vocab::UserId;

#[derive(Serialize)]
struct RoleBox {
    value: &'static str,
    label: String,
    checked: bool,
}

#[derive(Serialize)]
struct UserRow {
    id: String,
    email: String,
    agency: String,
    disabled: bool,
    /// The viewer's own row: they cannot disable themselves.
    is_me: bool,
    roles: Vec<RoleBox>,
}

#[derive(Serialize)]
struct TokenRow {
    id: String,
    email: String,
    created: String,
    revoked: Option<String>,
}

#[derive(Serialize)]
struct AdminPage<'a> {
    #[serde(flatten)]
    base: Base<'a>,
    notice: Option<String>,
    users: Vec<UserRow>,
    tokens: Vec<TokenRow>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

fn user_row(u: UserInfo, me: &UserId, t: Tr) -> UserRow {
    UserRow {
        is_me: *me == u.id.as_str(),
        roles: Role::ALL
            .iter()
            .map(|r| RoleBox {
                value: r.as_str(),
                label: t(format!("role_{r}")),
                checked: u.roles.contains(r),
            })
            .collect(),
        id: u.id,
        email: u.email,
        agency: u.agency.into_string(),
        disabled: u.disabled,
    }
}

fn token_row(k: TokenInfo) -> TokenRow {
    let stamp = |at: chrono::NaiveDateTime| at.format("%Y-%m-%d %H:%M").to_string();
    TokenRow {
        created: stamp(k.created_at),
        revoked: k.revoked_at.map(stamp),
        id: k.id,
        email: k.email,
    }
}

/// `GET /admin`
pub async fn page(
    state: Data<AppState>,
    viewer: Viewer,
    q: Query<Done>,
) -> Result<HttpResponse, PageError> {
    let who = viewer.user.clone();
    let (all, tokens) = state
        .db(move |c| {
            Ok((
                users::users(c, By::Admin(&who))?,
                users::tokens(c, By::Admin(&who), None)?,
            ))
        })
        .await?;
    let (lang, pages) = (viewer.lang, &state.pages);
    let t = |k: String| pages.t(lang, &k);
    let page = AdminPage {
        base: Base::new(pages, lang, t("nav_admin".into()), Some(&viewer)),
        notice: q
            .done
            .as_deref()
            .and_then(|d| pages.known(lang, &format!("done_admin_{d}"))),
        users: all
            .into_iter()
            .map(|u| user_row(u, &viewer.user.user_id, &t))
            .collect(),
        tokens: tokens.into_iter().map(token_row).collect(),
    };
    pages.render("admin", &page, StatusCode::OK)
}

/// `POST /admin`: one change (`op`: disable, enable, roles, revoke), then back to the page.
pub async fn act(
    state: Data<AppState>,
    viewer: Viewer,
    body: Body,
) -> Result<HttpResponse, PageError> {
    let form = Form(body.form()?);
    viewer.check_csrf(form.get("csrf"))?;
    let op = form.text("op");
    let target = form.text("id");
    let roles: Vec<Role> = form
        .all("role")
        .into_iter()
        .map(|r| Role::parse(r).ok_or_else(|| AppError::invalid("role", "not a role")))
        .collect::<Result<_, _>>()?;
    let who = viewer.user.clone();
    let done = op.clone();
    state
        .db(move |c| {
            let by = By::Admin(&who);
            match op.as_str() {
                "disable" => users::set_disabled(c, by, &UserId::from(target), true),
                "enable" => users::set_disabled(c, by, &UserId::from(target), false),
                "roles" => users::set_roles(c, by, &UserId::from(target), &roles),
                "revoke" => users::revoke_token(c, by, &target),
                _ => Err(AppError::BadRequest("unknown operation".into())),
            }
        })
        .await?;
    Ok(redirect(&format!("/admin?done={done}")))
}
