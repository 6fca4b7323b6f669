//! Creating and editing a record: a form generated from the field definitions (an input of the
//! right kind per field, choices by their labels), a warning before saving a value that another
//! record already holds where the field asks for one, and deletion that names the record.
//! Values are validated by the domain, after full-width input is made half-width where the type
//! calls for it; refusals are shown beside their fields in the reader's language (PUB-2), with
//! everything typed kept.

use super::record_view::{named, parse_id};
use super::values::{MASK, record_title};
use crate::console::extract::{Ctx, FormData, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, Input, checkbox, csrf, help_and_error, icon, input_id, label};
use crate::error::AppResult;
use crate::service::collections;
use crate::service::duplicates::{self, Duplicate};
use crate::service::records::{self, RecordView};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Collection, FieldDef, FieldType, Permission, RecordData, RecordId};
use kura_store::CollectionAt;
use maud::{Markup, html};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Values = BTreeMap<String, String>;

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
/// cannot be changed. Numbers and email addresses are plain text inputs (with the matching
/// keyboard on phones): a browser's number or email input would refuse, or silently empty,
/// full-width input that Kura accepts.
pub(super) fn field_input(ctx: &Ctx, f: &FieldDef, value: &str, error: Option<&str>) -> Markup {
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
                        @for c in &f.choices { option value=(c) selected[c == value] { (f.choice_label(c)) } }
                    }
                    (help_and_error(&id, memo, error))
                }
            };
        }
        FieldType::LongText => input.kind = "textarea",
        FieldType::Number => {
            input.kind = "text";
            input.inputmode = Some("decimal");
        }
        FieldType::Date => input.kind = "date",
        FieldType::Email => {
            input.kind = "text";
            input.inputmode = Some("email");
            input.autocomplete = Some("off");
        }
        FieldType::Phone => input.kind = "tel",
        FieldType::Text => input.kind = "text",
    }
    if f.field_type.is_textual() {
        input.maxlength = f.rules.max_length;
    }
    input.render(lang)
}

/// What a form page shows besides the values.
struct FormPage<'a> {
    rec: Option<&'a RecordView>,
    values: &'a Values,
    errors: &'a Errors,
    duplicates: &'a [Duplicate],
}

fn form_page(ctx: &Ctx, c: &Collection, p: FormPage<'_>) -> Response {
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let action = p.rec.map_or_else(|| format!("{base}/records/new"), |r| format!("{base}/records/{}", r.id));
    let cancel = p.rec.map_or_else(|| base.clone(), |r| format!("{base}/records/{}", r.id));
    let body = html! {
        (p.errors.summary(ctx.lang))
        form.card.stack method="post" action=(action) {
            (csrf(ctx.csrf()))
            @if let Some(r) = p.rec { input type="hidden" name="_version" value=(r.version); }
            @if !p.duplicates.is_empty() { (duplicate_warning(ctx, c, p.duplicates)) }
            @if c.fields.is_empty() { p { (t(Msg::NoFieldsYet)) } }
            @for f in &c.fields {
                (field_input(ctx, f, p.values.get(f.name.as_str()).map_or("", String::as_str), p.errors.get(f.name.as_str())))
            }
            div.actions {
                @if p.duplicates.is_empty() {
                    button.btn.btn-primary type="submit" { (t(if p.rec.is_some() { Msg::Save } else { Msg::Create })) }
                } @else {
                    button.btn.btn-primary type="submit" name="_duplicates_ok" value="1" { (t(Msg::SaveAnyway)) }
                }
                a.btn.btn-ghost href=(cancel) { (t(Msg::Cancel)) }
            }
        }
    };
    let title = match p.rec {
        Some(r) => match record_title(c, r, ctx.lang) {
            Some(name) => t(Msg::EditRecordNamed).replace("{name}", &name),
            None => t(Msg::EditRecord).to_owned(),
        },
        None => t(Msg::NewRecord).to_owned(),
    };
    let mut head = Head::new(Nav::Collections, &title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base.clone());
    let crumb;
    if let Some(r) = p.rec {
        crumb = named(ctx, c, r);
        head = head.crumb(&crumb, format!("{base}/records/{}", r.id));
    }
    (p.errors.status(), page(ctx, head, body)).into_response()
}

fn duplicate_warning(ctx: &Ctx, c: &Collection, found: &[Duplicate]) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    html! {
        div.notice.notice-warn.duplicates role="alert" {
            (icon(Icon::Alert))
            div {
                p { strong { (t(Msg::PossibleDuplicate)) } }
                ul {
                    @for d in found {
                        @let label = c.field(&d.field).map_or(d.field.as_str(), |f| f.label.as_str());
                        li {
                            (t(Msg::SameValueIn).replace("{field}", label).replace("{n}", &d.count.to_string()))
                            " "
                            @for (i, r) in d.records.iter().enumerate() {
                                @if i > 0 { (if ctx.lang == crate::console::i18n::Lang::Ja { "、" } else { ", " }) }
                                a href={ (base) "/records/" (r.id) } { (named(ctx, c, r)) }
                            }
                        }
                    }
                }
                p { (t(Msg::SaveAnywayHelp)) }
            }
        }
    }
}

/// The submitted values as the service's input: blank clears, an unticked box is false, and
/// hidden personal information is left out. Also the values as typed, to show them again.
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

/// The records that already hold a value being set, where the field asks for a warning; none
/// when the user confirmed, or when a value is invalid anyway (its error comes first).
async fn duplicates_of(
    state: &AppState,
    ctx: &Ctx,
    at: &CollectionAt,
    input: &Map<String, Value>,
    current: Option<&RecordView>,
    form: &FormData,
) -> AppResult<Vec<Duplicate>> {
    let c = &at.collection;
    if form.has("_duplicates_ok") || !c.fields.iter().any(|f| f.warn_duplicates) {
        return Ok(Vec::new());
    }
    let mut data = RecordData::new();
    for f in c.fields.iter().filter(|f| f.warn_duplicates) {
        let Some(v) = input.get(f.name.as_str()).filter(|v| !v.is_null()) else { continue };
        let Ok(value) = f.parse_value(v) else { return Ok(Vec::new()) };
        data.insert(f.name.to_string(), value);
    }
    duplicates::find(state, &ctx.p, at, &data, current).await
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::get(&state, &ctx.p, &name).await?;
    let p = FormPage { rec: None, values: &Values::new(), errors: &Errors::default(), duplicates: &[] };
    Ok(form_page(&ctx, &c, p))
}

pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsWrite)?;
    let at = collections::at(&state, &ctx.p, &name).await?;
    let c = &*at.collection;
    let (input, shown) = to_input(&ctx, c, &form);
    let found = duplicates_of(&state, &ctx, &at, &input, None, &form).await?;
    let mut errors = Errors::default();
    if found.is_empty() {
        match records::create_in(&state, &ctx.p, &at, &input).await {
            Ok(r) => {
                return Ok(Redirect::to(&format!("/console/collections/{}/records/{}?done=created", c.name, r.id))
                    .into_response());
            }
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    Ok(form_page(&ctx, c, FormPage { rec: None, values: &shown, errors: &errors, duplicates: &found }))
}

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsWrite)?;
    let at = collections::at(&state, &ctx.p, &name).await?;
    let r = records::get_in(&state, &ctx.p, &at, parse_id(&id)?).await?;
    let values = r.data.iter().map(|(k, v)| (k.clone(), as_input(v))).collect();
    let p = FormPage { rec: Some(&r), values: &values, errors: &Errors::default(), duplicates: &[] };
    Ok(form_page(&ctx, &at.collection, p))
}

pub async fn update(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    // The permission the route declares comes first: a reader must not learn more from a
    // refused change than from a read.
    ctx.p.require(Permission::RecordsWrite)?;
    let at = collections::at(&state, &ctx.p, &name).await?;
    let c = &*at.collection;
    let id: RecordId = parse_id(&id)?;
    let r = records::get_in(&state, &ctx.p, &at, id).await?;
    let (input, shown) = to_input(&ctx, c, &form);
    let found = duplicates_of(&state, &ctx, &at, &input, Some(&r), &form).await?;
    let expected = form.get("_version").parse::<i64>().ok();
    let mut errors = Errors::default();
    if found.is_empty() {
        match records::update_in(&state, &ctx.p, &at, id, &input, expected).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/console/collections/{}/records/{id}?done=saved", c.name)).into_response()
                );
            }
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    Ok(form_page(&ctx, c, FormPage { rec: Some(&r), values: &shown, errors: &errors, duplicates: &found }))
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsDelete)?;
    let at = collections::at(&state, &ctx.p, &name).await?;
    let c = &*at.collection;
    let r = records::get_in(&state, &ctx.p, &at, parse_id(&id)?).await?;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let who = named(&ctx, c, &r);
    let head = Head::new(Nav::Collections, t(Msg::DeleteRecord))
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base.clone())
        .crumb(&who, format!("{base}/records/{}", r.id));
    let confirm = Confirm {
        question: t(Msg::ConfirmDeleteRecord).replace("{name}", &who),
        warning: Some(t(Msg::DeleteRecordNote)),
        action: format!("{base}/records/{}/delete", r.id),
        button: t(Msg::DeleteThisRecord),
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
    let at = collections::at(&state, &ctx.p, &name).await?;
    records::delete_in(&state, &ctx.p, &at, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/console/collections/{}?done=deleted", at.collection.name)).into_response())
}
