//! Bulk changes of records (DAT-6): the records the listing's filter and keyword select,
//! changed or deleted in one operation. The page shows how many records the selection holds and
//! the newest few, and the author confirms by typing that count. Showing the page changes
//! nothing, so it can be reloaded; a finished operation redirects to the listing, so reloading
//! that does not repeat it (and a repeated post would find the count changed and stop).

use super::record_form::field_input;
use super::values::record_title;
use crate::console::extract::{Ctx, FormData, Posted};
use crate::console::forms::Errors;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, notice_warn, query, select};
use crate::error::AppResult;
use crate::service::bulk::{self, Kind, MAX_RECORDS, Preview, Selection};
use crate::service::collections;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Collection, FieldDef, FieldType, Permission};
use kura_store::CollectionAt;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The selection as the listing passes it on, and for an update the field picked (step 1).
#[derive(Debug, Default, Deserialize)]
pub struct Asked {
    filter: Option<String>,
    q: Option<String>,
    field: Option<String>,
}

fn selection_of(filter: &str, q: &str) -> Selection {
    let keep = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Selection { filter: keep(filter), q: keep(q) }
}

/// What the form shows besides the preview.
struct Form<'a> {
    kind: Kind,
    selection: &'a Selection,
    /// For an update: the field picked, and the value typed.
    field: Option<&'a FieldDef>,
    value: &'a str,
    errors: &'a Errors,
}

pub async fn update_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(asked): Query<Asked>,
) -> AppResult<Response> {
    show(&state, &ctx, &name, &asked, Kind::Update).await
}

pub async fn delete_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(asked): Query<Asked>,
) -> AppResult<Response> {
    show(&state, &ctx, &name, &asked, Kind::Delete).await
}

pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    submit(&state, &ctx, &name, &form, Kind::Update).await
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    submit(&state, &ctx, &name, &form, Kind::Delete).await
}

/// The page: the selection the listing passed on, and for an update the field picked.
async fn show(state: &AppState, ctx: &Ctx, name: &str, asked: &Asked, kind: Kind) -> AppResult<Response> {
    let at = collections::at(state, &ctx.p, name).await?;
    let selection = selection_of(asked.filter.as_deref().unwrap_or(""), asked.q.as_deref().unwrap_or(""));
    let preview = bulk::preview(state, &ctx.p, &at, &selection, kind).await?;
    let field = match kind {
        Kind::Update => asked.field.as_deref().and_then(|f| editable(ctx, &at.collection, f)),
        Kind::Delete => None,
    };
    let errors = Errors::default();
    Ok(render(ctx, &at, &preview, &Form { kind, selection: &selection, field, value: "", errors: &errors }))
}

/// The confirmed operation: done and back to the listing, or the page again with why not and
/// what the selection holds now.
async fn submit(state: &AppState, ctx: &Ctx, name: &str, form: &FormData, kind: Kind) -> AppResult<Response> {
    let at = collections::at(state, &ctx.p, name).await?;
    let c = &*at.collection;
    let selection = selection_of(form.get("filter"), form.get("q"));
    let field = match kind {
        Kind::Update => editable(ctx, c, form.get("field")),
        Kind::Delete => None,
    };
    let value = field.map_or("", |f| form.get(f.name.as_str()));
    let mut errors = Errors::default();
    let mut preview = bulk::preview(state, &ctx.p, &at, &selection, kind).await?;
    if kind == Kind::Update && field.is_none() {
        errors.add("field", ctx.t(Msg::BulkFieldHelp));
    } else if let Some(count) = confirmed(ctx, form, preview.total, &mut errors) {
        let (done, outcome) = match field {
            Some(f) => {
                let set = Map::from_iter([(f.name.to_string(), value_of(f, form))]);
                ("bulkupdated", bulk::update(state, &ctx.p, c.name.as_str(), &selection, &set, count).await)
            }
            None => ("bulkdeleted", bulk::delete(state, &ctx.p, c.name.as_str(), &selection, count).await),
        };
        match outcome {
            Ok(_) => return Ok(Redirect::to(&back(c, &selection, done)).into_response()),
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
        // Refused: shown again with what the selection holds now.
        preview = bulk::preview(state, &ctx.p, &at, &selection, kind).await?;
    }
    Ok(render(ctx, &at, &preview, &Form { kind, selection: &selection, field, value, errors: &errors }))
}

/// The count typed to confirm, if it is the one the selection holds (digits typed full-width
/// count too); otherwise the problem is noted beside the input.
fn confirmed(ctx: &Ctx, form: &FormData, total: u64, errors: &mut Errors) -> Option<u64> {
    let typed: String = form
        .get("confirm_count")
        .trim()
        .chars()
        .map(|ch| match ch {
            '０'..='９' => char::from_u32(u32::from(ch) - u32::from('０') + u32::from('0')).unwrap_or(ch),
            other => other,
        })
        .filter(|ch| *ch != ',')
        .collect();
    match typed.parse::<u64>() {
        Ok(n) if n == total && total > 0 => Some(n),
        _ => {
            errors.add("confirm_count", ctx.t(Msg::BulkCountMismatch).replace("{n}", &total.to_string()));
            None
        }
    }
}

/// A field of `c` this user may set in bulk: not personal information they may not see.
fn editable<'c>(ctx: &Ctx, c: &'c Collection, name: &str) -> Option<&'c FieldDef> {
    c.field(name).filter(|f| !f.pii || ctx.p.can(Permission::PiiRead))
}

/// The value posted for `f`, as the record form reads it: a checkbox is true when sent, an
/// empty input clears the field.
fn value_of(f: &FieldDef, form: &FormData) -> Value {
    let name = f.name.as_str();
    if f.field_type == FieldType::Boolean {
        return Value::Bool(form.has(name));
    }
    match form.get(name) {
        s if s.trim().is_empty() => Value::Null,
        s => Value::String(s.to_owned()),
    }
}

/// The listing this selection came from, with a confirmation.
fn back(c: &Collection, s: &Selection, done: &str) -> String {
    let (filter, q) = (s.filter.as_deref().unwrap_or(""), s.q.as_deref().unwrap_or(""));
    format!("/console/collections/{}{}", c.name, query(&[("q", q), ("filter", filter), ("done", done)]))
}

fn render(ctx: &Ctx, at: &CollectionAt, preview: &Preview, form: &Form<'_>) -> Response {
    let c = &*at.collection;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let (filter, q) = (form.selection.filter.as_deref().unwrap_or(""), form.selection.q.as_deref().unwrap_or(""));
    let listing = format!("{base}{}", query(&[("q", q), ("filter", filter)]));
    let (title, action, button, warning) = match form.kind {
        Kind::Update => (Msg::BulkUpdateTitle, "bulk-update", Msg::BulkUpdateButton, Msg::BulkUpdateWarning),
        Kind::Delete => (Msg::BulkDeleteTitle, "bulk-delete", Msg::BulkDeleteButton, Msg::BulkDeleteWarning),
    };
    let n = preview.total.to_string();
    let too_many = preview.total > MAX_RECORDS;
    let body = html! {
        div.stack {
            div.card {
                (selection_summary(ctx, filter, q))
                @if preview.total == 0 {
                    p.lead { (t(Msg::BulkNone)) }
                } @else {
                    p.lead { (t(Msg::BulkHolds).replace("{n}", &n)) }
                    @if preview.total > preview.sample.len() as u64 {
                        p { (t(Msg::BulkSample).replace("{k}", &preview.sample.len().to_string())) }
                    } @else {
                        p { (t(Msg::BulkSampleAll)) }
                    }
                    ul.bulk-sample {
                        @for r in &preview.sample {
                            li { a href={ (base) "/records/" (r.id) } {
                                (record_title(c, r, ctx.lang).unwrap_or_else(|| r.id.to_string()))
                            } }
                        }
                    }
                }
                @if too_many {
                    (notice_warn(&t(Msg::BulkTooMany).replace("{max}", &MAX_RECORDS.to_string())))
                }
            }
            @if preview.total > 0 && !too_many {
                div.card {
                    (form.errors.summary(ctx.lang))
                    (notice_warn(t(warning)))
                    @if form.kind == Kind::Update && form.field.is_none() {
                        (field_picker(ctx, c, filter, q, form.errors))
                    } @else {
                        form.stack method="post" action={ (base) "/" (action) } {
                            (csrf(ctx.csrf()))
                            input type="hidden" name="filter" value=(filter);
                            input type="hidden" name="q" value=(q);
                            @if let Some(f) = form.field {
                                input type="hidden" name="field" value=(f.name.as_str());
                                (field_input(ctx, f, form.value, form.errors.get(f.name.as_str())))
                                @if f.field_type != FieldType::Boolean { p.help { (t(Msg::BulkClearsHelp)) } }
                            }
                            (Input {
                                name: "confirm_count",
                                label: &t(Msg::BulkConfirmCount).replace("{n}", &n),
                                value: "",
                                required: true,
                                error: form.errors.get("confirm_count"),
                                kind: "text",
                                inputmode: Some("numeric"),
                                autocomplete: Some("off"),
                                ..Input::default()
                            }.render(ctx.lang))
                            div.actions {
                                button.btn.btn-danger type="submit" { (t(button).replace("{n}", &n)) }
                                a.btn.btn-ghost href=(listing) { (t(Msg::Cancel)) }
                            }
                        }
                    }
                }
            }
            p { a href="/console/help/data" { (t(Msg::BulkReadHelp)) } }
        }
    };
    let head = Head::new(Nav::Collections, t(title))
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), listing.clone());
    let mut response = page(ctx, head, body).into_response();
    *response.status_mut() = form.errors.status();
    response
}

/// Which records: the filter and keyword as given, or a plain statement that it is all of them.
fn selection_summary(ctx: &Ctx, filter: &str, q: &str) -> Markup {
    html! {
        @if filter.is_empty() && q.is_empty() {
            (notice_warn(ctx.t(Msg::BulkSelectionAll)))
        } @else {
            dl.bulk-selection {
                @if !filter.is_empty() { dt { (ctx.t(Msg::BulkSelectionFilter)) } dd { code { (filter) } } }
                @if !q.is_empty() { dt { (ctx.t(Msg::BulkSelectionKeyword)) } dd { (q) } }
            }
        }
    }
}

/// Step 1 of an update: which field (a GET, so the next step's input suits the field's type).
fn field_picker(ctx: &Ctx, c: &Collection, filter: &str, q: &str, errors: &Errors) -> Markup {
    let options: Vec<(String, String)> = c
        .fields
        .iter()
        .filter(|f| !f.pii || ctx.p.can(Permission::PiiRead))
        .map(|f| (f.name.to_string(), f.label.to_string()))
        .collect();
    html! {
        @if options.is_empty() {
            p { (ctx.t(Msg::BulkNoEditableFields)) }
        } @else {
            form method="get" action={ "/console/collections/" (c.name) "/bulk-update" } {
                input type="hidden" name="filter" value=(filter);
                input type="hidden" name="q" value=(q);
                (select("field", ctx.t(Msg::BulkField), &options, "", Some(ctx.t(Msg::BulkFieldHelp)), errors.get("field"), ctx.lang))
                div.actions { button.btn.btn-primary type="submit" { (ctx.t(Msg::BulkNext)) } }
            }
        }
    }
}
