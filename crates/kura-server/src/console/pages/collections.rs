//! Collections (DAT-4): the list, creating one (name, label, memo), its settings page with the
//! field list, and deleting it with all its records.

use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::labels::field_type_label;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, empty_state, new_button};
use crate::error::AppResult;
use crate::service::collections;
use crate::service::transfer::archive;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Collection, CollectionSpec, DisplayName, Key, Permission};
use maud::html;

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let list = collections::list(&state, &ctx.p).await?;
    let manage = ctx.p.can(Permission::CollectionsManage);
    let action = manage.then_some(("/console/collections/new", t(Msg::NewCollection)));
    let body = html! {
        @if list.is_empty() {
            (empty_state(t(if manage { Msg::NoCollectionsYet } else { Msg::NoCollectionsViewer }), action))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavCollections)) }
                thead { tr {
                    th scope="col" { (t(Msg::CollectionLabel)) } th scope="col" { (t(Msg::CollectionName)) }
                    th scope="col" { (t(Msg::FieldCount)) } th scope="col" { (t(Msg::Memo)) }
                    @if manage { th scope="col" { span.visually-hidden { (t(Msg::Actions)) } } }
                } }
                tbody { @for c in &list { tr {
                    th scope="row" { a href={ "/console/collections/" (c.name) } { (c.label.as_str()) } }
                    td.mono { (c.name.as_str()) }
                    td { (c.fields.len()) }
                    td.wrap { (c.memo) }
                    @if manage { td { a href={ "/console/collections/" (c.name) "/settings" } { (t(Msg::EditDefinition)) } } }
                } } }
            } }
        }
    };
    let mut head = Head::new(Nav::Collections, t(Msg::NavCollections));
    let export_all = archive::NEEDS.iter().all(|&n| ctx.p.can(n));
    if manage || export_all {
        head = head.actions(html! {
            @if export_all { a.btn.btn-ghost href="/console/export" { (t(Msg::TenantExport)) } }
            @if manage { (new_button("/console/collections/new", t(Msg::NewCollection))) }
        });
    }
    Ok(page(&ctx, head, body).into_response())
}

fn new_page(ctx: &Ctx, name: &str, label: &str, memo: &str, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action="/console/collections/new" {
            (csrf(ctx.csrf()))
            (Input { name: "label", label: t(Msg::CollectionLabel), kind: "text", value: label, required: true,
                maxlength: Some(200), help: Some(t(Msg::CollectionLabelHelp)), error: errors.get("label"), ..Input::default() }.render(lang))
            (Input { name: "name", label: t(Msg::CollectionName), kind: "text", value: name, required: true,
                maxlength: Some(63), help: Some(t(Msg::CollectionNameHelp)), error: errors.get("name"), ..Input::default() }.render(lang))
            (Input { name: "memo", label: t(Msg::Memo), kind: "textarea", value: memo, maxlength: Some(2000),
                help: Some(t(Msg::MemoHelp)), error: errors.get("memo"), ..Input::default() }.render(lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::Create)) }
                a.btn.btn-ghost href="/console/collections" { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::Collections, t(Msg::NewCollection)).crumb(t(Msg::NavCollections), "/console/collections");
    (errors.status(), page(ctx, head, body)).into_response()
}

pub async fn new_form(ctx: Ctx) -> AppResult<Response> {
    ctx.p.require(Permission::CollectionsManage)?;
    Ok(new_page(&ctx, "", "", "", &Errors::default()))
}

pub async fn create(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    ctx.p.require(Permission::CollectionsManage)?;
    let mut errors = Errors::default();
    let name = Key::parse(form.get("name").trim());
    let label = DisplayName::parse(form.get("label"));
    if name.is_err() {
        errors.add("name", ctx.t(Msg::KeyRule));
    }
    if label.is_err() {
        errors.add("label", ctx.t(Msg::NameRule));
    }
    if let (Ok(name), Ok(label)) = (name, label) {
        let spec =
            CollectionSpec { name: name.clone(), label, memo: form.get("memo").trim().to_owned(), fields: Vec::new() };
        match collections::create(&state, &ctx.p, spec).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/console/collections/{name}/settings?done=created")).into_response());
            }
            Err(e) => errors.absorb(e, ctx.lang, Some("name"))?,
        }
    }
    Ok(new_page(&ctx, form.get("name"), form.get("label"), form.get("memo"), &errors))
}

fn settings_page(ctx: &Ctx, c: &Collection, label: &str, memo: &str, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let base = format!("/console/collections/{}", c.name);
    let body = html! {
        (errors.summary(lang))
        section.section {
            h2 { (t(Msg::BasicSettings)) }
            form.card.stack method="post" action={ (base) "/settings" } {
                (csrf(ctx.csrf()))
                div.field { span.label-like { (t(Msg::CollectionName)) } p.mono { (c.name.as_str()) } p.help { (t(Msg::NameFixed)) } }
                (Input { name: "label", label: t(Msg::CollectionLabel), kind: "text", value: label, required: true,
                    maxlength: Some(200), error: errors.get("label"), ..Input::default() }.render(lang))
                (Input { name: "memo", label: t(Msg::Memo), kind: "textarea", value: memo, maxlength: Some(2000),
                    help: Some(t(Msg::MemoHelp)), error: errors.get("memo"), ..Input::default() }.render(lang))
                div.actions { button.btn.btn-primary type="submit" { (t(Msg::Save)) } }
            }
        }
        section.section {
            div.section-head {
                h2 { (t(Msg::Fields)) }
                (new_button(&format!("{base}/fields/new"), t(Msg::AddField)))
            }
            @if c.fields.is_empty() {
                (empty_state(t(Msg::NoFieldsYet), Some((&format!("{base}/fields/new"), t(Msg::AddField)))))
            } @else {
                div.table-wrap { table.data {
                    caption.visually-hidden { (t(Msg::Fields)) }
                    thead { tr {
                        th scope="col" { (t(Msg::FieldLabel)) } th scope="col" { (t(Msg::FieldName)) }
                        th scope="col" { (t(Msg::FieldType)) } th scope="col" { (t(Msg::RequiredShort)) }
                        th scope="col" { (t(Msg::PiiShort)) } th scope="col" { (t(Msg::Memo)) }
                        th scope="col" { span.visually-hidden { (t(Msg::Actions)) } }
                    } }
                    tbody { @for f in &c.fields { tr {
                        th scope="row" { a href={ (base) "/fields/" (f.name) } { (f.label.as_str()) } }
                        td.mono { (f.name.as_str()) }
                        td { (field_type_label(f.field_type, lang)) }
                        td { @if f.required { (t(Msg::Yes)) } }
                        td { @if f.pii { span.badge.badge-pii { (t(Msg::PiiShort)) } } }
                        td.wrap { (f.memo) }
                        td.nowrap {
                            a href={ (base) "/fields/" (f.name) } { (t(Msg::Edit)) } " · "
                            a.danger-link href={ (base) "/fields/" (f.name) "/delete" } { (t(Msg::Remove)) }
                        }
                    } } }
                } }
            }
        }
        section.section.danger-zone {
            h2 { (t(Msg::DangerZone)) }
            p { (t(Msg::DeleteCollectionHelp)) }
            a.btn.btn-danger-outline href={ (base) "/delete" } { (t(Msg::DeleteCollection)) }
        }
    };
    let head = Head::new(Nav::Collections, c.label.as_str())
        .crumb(t(Msg::NavCollections), "/console/collections")
        .actions(html! { a.btn.btn-ghost href=(base) { (t(Msg::OpenRecords)) } });
    (errors.status(), page(ctx, head, body)).into_response()
}

/// The settings page needs the manage permission even to look at (it only offers changes).
async fn managed(state: &AppState, ctx: &Ctx, name: &str) -> AppResult<Collection> {
    ctx.p.require(Permission::CollectionsManage)?;
    collections::get(state, &ctx.p, name).await
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    Ok(settings_page(&ctx, &c, c.label.as_str(), &c.memo, &Errors::default()))
}

pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let mut errors = Errors::default();
    match DisplayName::parse(form.get("label")) {
        Err(_) => errors.add("label", ctx.t(Msg::NameRule)),
        Ok(label) => {
            let spec = CollectionSpec {
                name: c.name.clone(),
                label,
                memo: form.get("memo").trim().to_owned(),
                fields: c.fields.clone(),
            };
            match collections::update(&state, &ctx.p, &name, spec).await {
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/console/collections/{}/settings?done=saved", c.name)).into_response()
                    );
                }
                Err(e) => errors.absorb(e, ctx.lang, None)?,
            }
        }
    }
    Ok(settings_page(&ctx, &c, form.get("label"), form.get("memo"), &errors))
}

pub async fn confirm_delete(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let g = ctx.p.require(Permission::CollectionsManage)?;
    let count = state.store.record_count(g.tenant_id(), c.id).await?;
    let t = |m: Msg| ctx.t(m);
    let head =
        Head::new(Nav::Collections, t(Msg::DeleteCollection)).crumb(t(Msg::NavCollections), "/console/collections");
    let confirm = Confirm {
        question: t(Msg::ConfirmDeleteCollection)
            .replace("{name}", c.label.as_str())
            .replace("{count}", &count.to_string()),
        warning: Some(t(Msg::DeleteCollectionHelp)),
        action: format!("/console/collections/{}/delete", c.name),
        button: t(Msg::DeleteCollectionAndRecords),
        cancel: format!("/console/collections/{}/settings", c.name),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    collections::delete(&state, &ctx.p, &name).await?;
    Ok(Redirect::to("/console/collections?done=deleted").into_response())
}
