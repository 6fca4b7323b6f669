//! One record: the create and edit forms generated from the field definitions (an input of the
//! right type per field), a read-only view for readers, and deletion. Values are validated by the
//! domain; its refusals are shown beside their fields in the reader's language (PUB-2).

use super::records::{MASK, show_value};
use crate::console::extract::{Ctx, FormData, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, checkbox, csrf, help_and_error, input_id, label};
use crate::error::{AppError, AppResult};
use crate::service::collections;
use crate::service::records::{self, RecordView};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Collection, FieldDef, FieldType, Permission, RecordId};
use maud::{Markup, html};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Values = BTreeMap<String, String>;

fn parse_id(id: &str) -> AppResult<RecordId> {
    id.parse().map_err(|_| AppError::NotFound("record"))
}

/// A stored value as the text an input holds.
fn as_input(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        _ => String::new(),
    }
}

/// The input for one field. Personal information the user may not see is shown masked and
/// cannot be changed.
fn field_input(ctx: &Ctx, f: &FieldDef, value: &str, error: Option<&str>) -> Markup {
    let lang = ctx.lang;
    let name = f.name.as_str();
    let memo = Some(f.memo.as_str()).filter(|m| !m.is_empty());
    if f.pii && !ctx.p.can(Permission::PiiRead) {
        return html! {
            div.field {
                span.label-like { (f.label.as_str()) " " span.badge.badge-pii { (ctx.t(Msg::PiiShort)) } }
                p { span.masked { (MASK) } }
                p.help { (ctx.t(Msg::PiiNotEditable)) }
                (help_and_error(&input_id(name), None, error))
            }
        };
    }
    let r = &f.rules;
    let mut input =
        Input { name, label: f.label.as_str(), value, required: f.required, help: memo, error, ..Input::default() };
    match f.field_type {
        FieldType::Boolean => {
            return html! {
                div.field.has-error[error.is_some()] {
                    (checkbox(name, "true", f.label.as_str(), value == "true", false, memo))
                    (help_and_error(&input_id(name), None, error))
                }
            };
        }
        FieldType::Choice => {
            let id = input_id(name);
            return html! {
                div.field.has-error[error.is_some()] {
                    (label(&id, f.label.as_str(), f.required, lang))
                    select id=(id) name=(name) required[f.required] aria-invalid=[error.map(|_| "true")]
                        aria-describedby=[error.map(|_| format!("{id}-error"))] {
                        option value="" { (ctx.t(Msg::ChooseOne)) }
                        @for c in &f.choices { option value=(c) selected[c == value] { (c) } }
                    }
                    (help_and_error(&id, memo, error))
                }
            };
        }
        FieldType::LongText => input.kind = "textarea",
        FieldType::Number => {
            input.kind = "number";
            input.step = Some("any");
            input.min = r.min.map(|n| n.to_string());
            input.max = r.max.map(|n| n.to_string());
        }
        FieldType::Date => input.kind = "date",
        FieldType::Email => input.kind = "email",
        FieldType::Phone => input.kind = "tel",
        FieldType::Text => input.kind = "text",
    }
    if f.field_type.is_textual() {
        input.maxlength = r.max_length;
    }
    input.render(lang)
}

fn form_page(ctx: &Ctx, c: &Collection, rec: Option<&RecordView>, values: &Values, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let action = rec.map_or_else(|| format!("{base}/records/new"), |r| format!("{base}/records/{}", r.id));
    let body = html! {
        (errors.summary(ctx.lang))
        form.card.stack method="post" action=(action) {
            (csrf(ctx.csrf()))
            @if let Some(r) = rec { input type="hidden" name="_version" value=(r.version); }
            @if c.fields.is_empty() { p { (t(Msg::NoFieldsYet)) } }
            @for f in &c.fields {
                (field_input(ctx, f, values.get(f.name.as_str()).map_or("", String::as_str), errors.get(f.name.as_str())))
            }
            div.actions {
                button.btn.btn-primary type="submit" { (t(if rec.is_some() { Msg::Save } else { Msg::Create })) }
                a.btn.btn-ghost href=(base) { (t(Msg::Cancel)) }
                @if let Some(r) = rec.filter(|_| ctx.p.can(Permission::RecordsDelete)) {
                    a.btn.btn-danger-outline href={ (base) "/records/" (r.id) "/delete" } { (t(Msg::Delete)) }
                }
            }
        }
        @if let Some(r) = rec { (meta(ctx, r)) }
    };
    let title = t(if rec.is_some() { Msg::EditRecord } else { Msg::NewRecord });
    let head = Head::new(Nav::Collections, title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base);
    (errors.status(), page(ctx, head, body)).into_response()
}

fn meta(ctx: &Ctx, r: &RecordView) -> Markup {
    html! {
        dl.meta {
            dt { (ctx.t(Msg::CreatedAt)) } dd { (ctx.time(r.created_at)) }
            dt { (ctx.t(Msg::UpdatedAt)) } dd { (ctx.time(r.updated_at)) }
            dt { (ctx.t(Msg::Version)) } dd { (r.version) }
            dt { "ID" } dd.mono { (r.id) }
        }
    }
}

/// The read-only view for users who may read but not write.
fn view_page(ctx: &Ctx, c: &Collection, r: &RecordView) -> Response {
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let body = html! {
        dl.card.record-view {
            @for f in &c.fields {
                dt { (f.label.as_str()) @if f.pii { " " span.badge.badge-pii { (t(Msg::PiiShort)) } } }
                dd { (show_value(f, r.data.get(f.name.as_str()), ctx.lang, None)) }
            }
        }
        (meta(ctx, r))
        p { a.btn.btn-ghost href=(base) { "← " (t(Msg::Back)) } }
    };
    let head = Head::new(Nav::Collections, t(Msg::RecordDetail))
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base);
    page(ctx, head, body).into_response()
}

/// The submitted values as the service's input: blank clears, an unticked box is false, and
/// hidden personal information is left out.
fn to_input(ctx: &Ctx, c: &Collection, form: &FormData) -> (Map<String, Value>, Values) {
    let pii = ctx.p.can(Permission::PiiRead);
    let mut input = Map::new();
    let mut shown = Values::new();
    for f in c.fields.iter().filter(|f| pii || !f.pii) {
        let name = f.name.as_str();
        let value = if f.field_type == FieldType::Boolean {
            Value::Bool(form.has(name))
        } else {
            match form.get(name) {
                s if s.trim().is_empty() => Value::Null,
                s => Value::String(s.to_owned()),
            }
        };
        shown.insert(name.to_owned(), as_input(&value));
        input.insert(name.to_owned(), value);
    }
    (input, shown)
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    Ok(form_page(&ctx, &c, None, &Values::new(), &Errors::default()))
}

pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    let (input, shown) = to_input(&ctx, &c, &form);
    let mut errors = Errors::default();
    match records::create(&state, &ctx.p, c.name.as_str(), &input).await {
        Ok(_) => return Ok(Redirect::to(&format!("/console/collections/{}?done=created", c.name)).into_response()),
        Err(e) => errors.absorb(e, ctx.lang, None)?,
    }
    Ok(form_page(&ctx, &c, None, &shown, &errors))
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> AppResult<Response> {
    let c = collections::get(&state, &ctx.p, &name).await?;
    let r = records::get(&state, &ctx.p, c.name.as_str(), parse_id(&id)?).await?;
    if !ctx.p.can(Permission::RecordsWrite) {
        return Ok(view_page(&ctx, &c, &r));
    }
    let values = r.data.iter().map(|(k, v)| (k.clone(), as_input(v))).collect();
    Ok(form_page(&ctx, &c, Some(&r), &values, &Errors::default()))
}

pub async fn update(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    // The permission the route declares comes first: a reader must not learn more from a
    // refused change than from a read.
    ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    let id = parse_id(&id)?;
    let r = records::get(&state, &ctx.p, c.name.as_str(), id).await?;
    let (input, shown) = to_input(&ctx, &c, &form);
    let expected = form.get("_version").parse::<i64>().ok();
    let mut errors = Errors::default();
    match records::update(&state, &ctx.p, c.name.as_str(), id, &input, expected).await {
        Ok(_) => return Ok(Redirect::to(&format!("/console/collections/{}?done=saved", c.name)).into_response()),
        Err(e) => errors.absorb(e, ctx.lang, None)?,
    }
    Ok(form_page(&ctx, &c, Some(&r), &shown, &errors))
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsDelete)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    let r = records::get(&state, &ctx.p, c.name.as_str(), parse_id(&id)?).await?;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let head = Head::new(Nav::Collections, t(Msg::DeleteRecord))
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base.clone());
    let confirm = Confirm {
        question: t(Msg::ConfirmDeleteRecord).to_owned(),
        warning: Some(t(Msg::CannotUndo)),
        action: format!("{base}/records/{}/delete", r.id),
        button: t(Msg::Delete),
        cancel: format!("{base}/records/{}", r.id),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsDelete)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    records::delete(&state, &ctx.p, c.name.as_str(), parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/console/collections/{}?done=deleted", c.name)).into_response())
}
