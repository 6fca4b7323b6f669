//! Roles (IAM-2): the built-in ones (read-only) and custom permission groups, each permission
//! explained beside its checkbox. Permissions the editor lacks cannot be granted and are disabled.

use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::labels::{permission_help, permission_label, role_label};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, checkbox, csrf, empty_state, new_button, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::roles::{self, NewRole, RoleChanges};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{DisplayName, Key, Permission, PermissionSet, Role, RoleId};
use maud::html;

fn parse_id(id: &str) -> AppResult<RoleId> {
    id.parse().map_err(|_| AppError::NotFound("role"))
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let list = roles::list(&state, &ctx.p).await?;
    let body = html! {
        p.muted { (t(Msg::RolesIntro)) }
        @if list.is_empty() {
            (empty_state(t(Msg::NoMatchingData), Some(("/console/roles/new", t(Msg::NewRole)))))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavRoles)) }
                thead { tr {
                    th scope="col" { (t(Msg::RoleName)) } th scope="col" { (t(Msg::RoleKey)) }
                    th scope="col" { (t(Msg::Permissions)) }
                } }
                tbody { @for r in &list { tr {
                    th scope="row" {
                        a href={ "/console/roles/" (r.id) } { (role_label(r, ctx.lang)) }
                        @if r.builtin { " " span.badge.badge-muted { (t(Msg::Builtin)) } }
                    }
                    td.mono { (r.key.as_str()) }
                    td { ul.badges { @for perm in r.permissions.iter() {
                        li.badge.badge-perm title=(perm.as_str()) { (permission_label(perm, ctx.lang)) }
                    } } }
                } } }
            } }
        }
    };
    let head = Head::new(Nav::Roles, t(Msg::NavRoles)).actions(new_button("/console/roles/new", t(Msg::NewRole)));
    Ok(page(&ctx, head, body).into_response())
}

fn form_page(
    ctx: &Ctx,
    role: Option<&Role>,
    key: &str,
    label: &str,
    perms: PermissionSet,
    errors: &Errors,
) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let builtin = role.is_some_and(|r| r.builtin);
    let action = role.map_or_else(|| "/console/roles/new".to_owned(), |r| format!("/console/roles/{}", r.id));
    let body = html! {
        (errors.summary(lang))
        @if builtin { (notice_warn(t(Msg::BuiltinReadOnly))) }
        form.card.stack method="post" action=(action) {
            (csrf(ctx.csrf()))
            @if role.is_none() {
                (Input { name: "key", label: t(Msg::RoleKey), kind: "text", value: key, required: true, maxlength: Some(63),
                    help: Some(t(Msg::KeyHelp)), error: errors.get("key"), ..Input::default() }.render(lang))
            }
            (Input { name: "label", label: t(Msg::RoleName), kind: "text", value: label, required: true, maxlength: Some(200),
                readonly: builtin, error: errors.get("label"), ..Input::default() }.render(lang))
            fieldset.perms {
                legend { (t(Msg::Permissions)) }
                p.help { (t(Msg::PermissionsHelp)) }
                @for perm in Permission::ALL {
                    (checkbox("permissions", perm.as_str(), permission_label(perm, lang), perms.contains(perm),
                        builtin || !ctx.p.can(perm), Some(permission_help(perm, lang))))
                }
            }
            div.actions {
                @if !builtin { button.btn.btn-primary type="submit" { (t(Msg::Save)) } }
                a.btn.btn-ghost href="/console/roles" { (t(if builtin { Msg::Back } else { Msg::Cancel })) }
                @if let Some(r) = role.filter(|r| !r.builtin) {
                    a.btn.btn-danger-outline href={ "/console/roles/" (r.id) "/delete" } { (t(Msg::Delete)) }
                }
            }
        }
    };
    let title = role.map_or_else(|| t(Msg::NewRole).to_owned(), |r| role_label(r, lang));
    let head = Head::new(Nav::Roles, &title).crumb(t(Msg::NavRoles), "/console/roles");
    (errors.status(), page(ctx, head, body)).into_response()
}

pub async fn new_form(ctx: Ctx) -> AppResult<Response> {
    ctx.p.require(Permission::RolesManage)?;
    let perms: PermissionSet = [Permission::RecordsRead].into_iter().collect();
    Ok(form_page(&ctx, None, "", "", perms, &Errors::default()))
}

fn chosen(form: &crate::console::extract::FormData) -> (Vec<String>, PermissionSet) {
    let names: Vec<String> = form.all("permissions").into_iter().map(str::to_owned).collect();
    let set = names.iter().filter_map(|n| Permission::parse(n).ok()).collect();
    (names, set)
}

pub async fn create(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    ctx.p.require(Permission::RolesManage)?;
    let (names, set) = chosen(&form);
    let mut errors = Errors::default();
    if Key::parse(form.get("key").trim()).is_err() {
        errors.add("key", ctx.t(Msg::KeyRule));
    }
    if DisplayName::parse(form.get("label")).is_err() {
        errors.add("label", ctx.t(Msg::NameRule));
    }
    if errors.is_empty() {
        let input =
            NewRole { key: form.get("key").trim().to_owned(), label: form.get("label").to_owned(), permissions: names };
        match roles::create(&state, &ctx.p, input).await {
            Ok(_) => return Ok(Redirect::to("/console/roles?done=created").into_response()),
            Err(e) => errors.absorb(e, ctx.lang, Some("key"))?,
        }
    }
    Ok(form_page(&ctx, None, form.get("key"), form.get("label"), set, &errors))
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let role = roles::get(&state, &ctx.p, parse_id(&id)?).await?;
    let label = role_label(&role, ctx.lang);
    Ok(form_page(&ctx, Some(&role), role.key.as_str(), &label, role.permissions, &Errors::default()))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let role = roles::get(&state, &ctx.p, parse_id(&id)?).await?;
    let (names, set) = chosen(&form);
    let mut errors = Errors::default();
    if DisplayName::parse(form.get("label")).is_err() {
        errors.add("label", ctx.t(Msg::NameRule));
    }
    if errors.is_empty() {
        let changes = RoleChanges { label: Some(form.get("label").to_owned()), permissions: Some(names) };
        match roles::update(&state, &ctx.p, role.id, changes).await {
            Ok(_) => return Ok(Redirect::to("/console/roles?done=saved").into_response()),
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    Ok(form_page(&ctx, Some(&role), role.key.as_str(), form.get("label"), set, &errors))
}

pub async fn confirm_delete(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let role = roles::get(&state, &ctx.p, parse_id(&id)?).await?;
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::Roles, t(Msg::DeleteRole)).crumb(t(Msg::NavRoles), "/console/roles");
    let confirm = Confirm {
        question: t(Msg::ConfirmDeleteRole).replace("{name}", &role_label(&role, ctx.lang)),
        warning: Some(t(Msg::DeleteRoleNote)),
        action: format!("/console/roles/{}/delete", role.id),
        button: t(Msg::Delete),
        cancel: format!("/console/roles/{}", role.id),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    roles::delete(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to("/console/roles?done=deleted").into_response())
}
