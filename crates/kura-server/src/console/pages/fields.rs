//! The field editor: add a field, edit one (label, memo, flags, rules; name and type are fixed),
//! remove one. Each save sends the whole collection definition through `collections::update`.

use super::field_input::FieldForm;
use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::labels::{self, charset_label, field_type_label};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, checkbox, csrf, help_and_error, input_id, select};
use crate::error::{AppError, AppResult};
use crate::service::collections;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Charset, Collection, CollectionSpec, FieldDef, FieldErrorKind, FieldType, Permission};
use maud::html;

async fn managed(state: &AppState, ctx: &Ctx, name: &str) -> AppResult<Collection> {
    ctx.p.require(Permission::CollectionsManage)?;
    collections::get(state, &ctx.p, name).await
}

fn field<'a>(c: &'a Collection, name: &str) -> AppResult<&'a FieldDef> {
    c.field(name).ok_or(AppError::NotFound("field"))
}

fn spec(c: &Collection, fields: Vec<FieldDef>) -> CollectionSpec {
    CollectionSpec { name: c.name.clone(), label: c.label.clone(), memo: c.memo.clone(), fields }
}

fn form_page(ctx: &Ctx, c: &Collection, existing: Option<&FieldDef>, v: &FieldForm, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let base = format!("/console/collections/{}", c.name);
    let action = existing.map_or_else(|| format!("{base}/fields/new"), |f| format!("{base}/fields/{}", f.name));
    let types: Vec<(String, String)> =
        FieldType::ALL.iter().map(|ty| (ty.as_str().to_owned(), field_type_label(*ty, lang).to_owned())).collect();
    let mut charsets = vec![(String::new(), t(Msg::NoRestriction).to_owned())];
    charsets.extend(Charset::ALL.iter().map(|cs| (cs.as_str().to_owned(), charset_label(*cs, lang).to_owned())));
    let e = |n: &str| errors.get(n);
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action=(action) {
            (csrf(ctx.csrf()))
            (Input { name: "label", label: t(Msg::FieldLabel), kind: "text", value: &v.label, required: true,
                maxlength: Some(200), help: Some(t(Msg::FieldLabelHelp)), error: e("label"), ..Input::default() }.render(lang))
            @if let Some(f) = existing {
                div.field {
                    span.label-like { (t(Msg::FieldName)) " / " (t(Msg::FieldType)) }
                    p { span.mono { (f.name.as_str()) } " · " (field_type_label(f.field_type, lang)) }
                    p.help { (t(Msg::FieldFixed)) }
                }
            } @else {
                (Input { name: "name", label: t(Msg::FieldName), kind: "text", value: &v.name, required: true,
                    maxlength: Some(63), help: Some(t(Msg::FieldNameHelp)), error: e("name"), ..Input::default() }.render(lang))
                (select("type", t(Msg::FieldType), &types, &v.field_type, None, e("type"), lang))
            }
            (checkbox("required", "on", t(Msg::RequiredField), v.required, false, Some(t(Msg::RequiredFieldHelp))))
            @if existing.is_some() && !ctx.p.can(Permission::PiiRead) {
                (checkbox("pii", "on", t(Msg::PiiField), v.pii, true, Some(t(Msg::PiiFieldLocked))))
            } @else {
                (checkbox("pii", "on", t(Msg::PiiField), v.pii, false, Some(t(Msg::PiiFieldHelp))))
            }
            (checkbox("warn_duplicates", "on", t(Msg::WarnDuplicatesField), v.warn_duplicates, false, Some(t(Msg::WarnDuplicatesHelp))))
            (help_and_error(&input_id("warn_duplicates"), None, e("warn_duplicates")))
            (Input { name: "memo", label: t(Msg::Memo), kind: "textarea", value: &v.memo, maxlength: Some(2000),
                help: Some(t(Msg::FieldMemoHelp)), error: e("memo"), ..Input::default() }.render(lang))
            fieldset.rules {
                legend { (t(Msg::InputRules)) }
                p.help { (t(Msg::InputRulesHelp)) }
                div.grid-2 {
                    (Input { name: "min_length", label: t(Msg::MinLength), kind: "number", value: &v.min_length,
                        min: Some("0".into()), max: Some("10000".into()), help: Some(t(Msg::ForTextTypes)), error: e("min_length"), ..Input::default() }.render(lang))
                    (Input { name: "max_length", label: t(Msg::MaxLength), kind: "number", value: &v.max_length,
                        min: Some("1".into()), max: Some("10000".into()), help: Some(t(Msg::ForTextTypes)), error: e("max_length"), ..Input::default() }.render(lang))
                }
                (select("charset", t(Msg::Charset), &charsets, &v.charset, Some(t(Msg::ForTextTypes)), e("charset"), lang))
                (Input { name: "pattern", label: t(Msg::Pattern), kind: "text", value: &v.pattern, maxlength: Some(500),
                    help: Some(t(Msg::PatternHelp)), error: e("pattern"), ..Input::default() }.render(lang))
                div.grid-2 {
                    (Input { name: "min", label: t(Msg::MinValue), kind: "number", value: &v.min, step: Some("any"),
                        help: Some(t(Msg::ForNumbers)), error: e("min"), ..Input::default() }.render(lang))
                    (Input { name: "max", label: t(Msg::MaxValue), kind: "number", value: &v.max, step: Some("any"),
                        help: Some(t(Msg::ForNumbers)), error: e("max"), ..Input::default() }.render(lang))
                }
                (Input { name: "choices", label: t(Msg::Choices), kind: "textarea", value: &v.choices,
                    help: Some(t(Msg::ChoicesHelp)), error: e("choices"), ..Input::default() }.render(lang))
            }
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::Save)) }
                a.btn.btn-ghost href={ (base) "/settings" } { (t(Msg::Cancel)) }
            }
        }
    };
    let title = existing.map_or_else(|| t(Msg::AddField).to_owned(), |f| f.label.to_string());
    let head = Head::new(Nav::Collections, &title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), format!("{base}/settings"));
    (errors.status(), page(ctx, head, body)).into_response()
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let v = FieldForm { field_type: FieldType::Text.as_str().to_owned(), ..FieldForm::default() };
    Ok(form_page(&ctx, &c, None, &v, &Errors::default()))
}

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, field_name)): Path<(String, String)>,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let f = field(&c, &field_name)?;
    Ok(form_page(&ctx, &c, Some(f), &FieldForm::from_def(f), &Errors::default()))
}

/// Saves the definition with `fields`; domain refusals of the edited field go beside its inputs.
async fn save(
    state: &AppState,
    ctx: &Ctx,
    c: &Collection,
    fields: Vec<FieldDef>,
    edited: &str,
    errors: &mut Errors,
) -> AppResult<bool> {
    match collections::update(state, &ctx.p, c.name.as_str(), spec(c, fields)).await {
        Ok(_) => Ok(true),
        Err(AppError::Validation(list)) => {
            for fe in list {
                match &fe.kind {
                    FieldErrorKind::Invalid { reason } if fe.field == edited && reason.contains("pattern") => {
                        errors.add("pattern", ctx.t(Msg::PatternInvalid));
                    }
                    kind => errors.general(format!("{}: {}", fe.field, labels::field_error(kind, ctx.lang))),
                }
            }
            Ok(false)
        }
        Err(e) => errors.absorb(e, ctx.lang, None).map(|()| false),
    }
}

pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let v = FieldForm::from_form(&form, None, true);
    let taken: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
    let mut errors = Errors::default();
    if let Some(def) = v.parse(ctx.lang, &taken, &mut errors) {
        let mut fields = c.fields.clone();
        fields.push(def);
        if save(&state, &ctx, &c, fields, &v.name, &mut errors).await? {
            return Ok(Redirect::to(&format!("/console/collections/{}/settings?done=created", c.name)).into_response());
        }
    }
    Ok(form_page(&ctx, &c, None, &v, &errors))
}

pub async fn update(
    State(state): State<AppState>,
    Path((name, field_name)): Path<(String, String)>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let existing = field(&c, &field_name)?;
    let v = FieldForm::from_form(&form, Some(existing), ctx.p.can(Permission::PiiRead));
    let mut errors = Errors::default();
    if let Some(def) = v.parse(ctx.lang, &[], &mut errors) {
        let fields = c.fields.iter().map(|f| if f.name == existing.name { def.clone() } else { f.clone() }).collect();
        if save(&state, &ctx, &c, fields, &v.name, &mut errors).await? {
            return Ok(Redirect::to(&format!("/console/collections/{}/settings?done=saved", c.name)).into_response());
        }
    }
    Ok(form_page(&ctx, &c, Some(existing), &v, &errors))
}

pub async fn confirm_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, field_name)): Path<(String, String)>,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let f = field(&c, &field_name)?;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let head = Head::new(Nav::Collections, t(Msg::RemoveField))
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), format!("{base}/settings"));
    let confirm = Confirm {
        question: t(Msg::ConfirmRemoveField).replace("{name}", f.label.as_str()),
        warning: Some(t(Msg::RemoveFieldNote)),
        action: format!("{base}/fields/{}/delete", f.name),
        button: t(Msg::Remove),
        cancel: format!("{base}/settings"),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((name, field_name)): Path<(String, String)>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let c = managed(&state, &ctx, &name).await?;
    let f = field(&c, &field_name)?;
    let fields = c.fields.iter().filter(|x| x.name != f.name).cloned().collect();
    collections::update(&state, &ctx.p, c.name.as_str(), spec(&c, fields)).await?;
    Ok(Redirect::to(&format!("/console/collections/{}/settings?done=deleted", c.name)).into_response())
}
