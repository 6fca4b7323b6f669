//! Importing a file into a collection from the console (DAT-6): choose the file and how to read
//! it, see how its columns map to fields (and correct that), the first rows as they will be
//! stored and every row's problems in the reader's language; then import. Nothing is written
//! before the last step. The file crosses the network once: the preview keeps it on the server
//! ([`staged`], for an hour, for this person only) and the page's form carries only a token
//! naming it; the import deletes it.

use crate::console::extract::{Ctx, Uploaded};
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{checkbox, csrf, notice_error, notice_ok, select};
use crate::error::{AppError, AppResult};
use crate::service::collections;
use crate::service::transfer::format::Encoding;
use crate::service::transfer::import::{self, ImportChoices, ImportFormat, ImportMode, RecordImportReport};
use crate::service::transfer::staged;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kura_domain::{Collection, Permission};
use maud::{Markup, html};
use std::collections::BTreeMap;

pub async fn form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    let g = ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::find(&state, g.tenant_id(), &name).await?;
    let body = upload_form(&ctx, &c, &Choices::default(), None);
    Ok(page(&ctx, head(&ctx, &c, &title(&ctx, &c)), body).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Uploaded { ctx, form, file }: Uploaded,
) -> AppResult<Response> {
    let g = ctx.p.require(Permission::RecordsWrite)?;
    let c = collections::find(&state, g.tenant_id(), &name).await?;
    let choices = Choices {
        format: if form.get("format") == "jsonl" { ImportFormat::Jsonl } else { ImportFormat::Csv },
        encoding: match form.get("encoding") {
            "utf8" => Encoding::Utf8,
            "shift_jis" => Encoding::ShiftJis,
            _ => Encoding::Auto,
        },
        mode: if form.get("mode") == "upsert" { ImportMode::Upsert } else { ImportMode::Insert },
        key: form.opt("key").map(str::to_owned),
        valid_only: form.get("valid_only") == "on",
    };
    // A newly chosen file wins over the one kept at the previous step.
    let (upload, token, fresh) = match file {
        Some(upload) => (upload, staged::new_token(), true),
        None => match form.opt("upload") {
            Some(token) => match staged::open(&state, &ctx.p, token) {
                Ok(upload) => (upload, token.to_owned(), false),
                Err(AppError::BadRequest(problem)) => return Ok(refused(&ctx, &c, &choices, &problem)),
                Err(e) => return Err(e),
            },
            None => {
                let body = upload_form(&ctx, &c, &choices, Some(ctx.t(Msg::ImportRecordsFile)));
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&ctx, head(&ctx, &c, &title(&ctx, &c)), body))
                    .into_response());
            }
        },
    };
    let columns: BTreeMap<String, String> =
        form.pairs().filter_map(|(k, v)| k.strip_prefix("map:").map(|col| (col.to_owned(), v.to_owned()))).collect();
    let options = ImportChoices {
        format: choices.format,
        encoding: choices.encoding,
        mode: choices.mode,
        key: choices.key.clone(),
        columns,
        valid_only: choices.valid_only,
    };
    let report = match import::preview(&state, &ctx.p, c.name.as_str(), &options, &upload).await {
        Ok(r) => r,
        Err(AppError::BadRequest(problem)) => return Ok(refused(&ctx, &c, &choices, &problem)),
        Err(e) => return Err(e),
    };
    let importable = report.valid > 0 && (report.invalid == 0 || choices.valid_only);
    if form.get("step") == "import" && importable {
        let done = import::import(&state, &ctx.p, c.name.as_str(), &options, &upload).await?;
        drop(upload);
        staged::discard(&state, &ctx.p, &token);
        let text = ctx
            .t(Msg::ImportRecordsDone)
            .replace("{inserted}", &done.inserted.to_string())
            .replace("{updated}", &done.updated.to_string());
        let base = format!("/console/collections/{}", c.name);
        let body = html! { (notice_ok(&text)) p { a.btn.btn-primary href=(base) { (c.label.as_str()) } } };
        return Ok(page(&ctx, head(&ctx, &c, &title(&ctx, &c)), body).into_response());
    }
    if fresh {
        staged::keep(&state, &ctx.p, &token, upload)?;
    }
    let status = if report.invalid > 0 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let body = preview_page(&ctx, &c, &choices, &token, &report, importable);
    Ok((status, page(&ctx, head(&ctx, &c, &title(&ctx, &c)), body)).into_response())
}

/// The upload form again, with why the file cannot be imported.
fn refused(ctx: &Ctx, c: &Collection, choices: &Choices, problem: &str) -> Response {
    let text = labels::detail(problem, ctx.lang);
    let body = html! { (notice_error(&text)) (upload_form(ctx, c, choices, None)) };
    (StatusCode::UNPROCESSABLE_ENTITY, page(ctx, head(ctx, c, &title(ctx, c)), body)).into_response()
}

/// What the user chose for reading the file.
#[derive(Debug, Default)]
struct Choices {
    format: ImportFormat,
    encoding: Encoding,
    mode: ImportMode,
    key: Option<String>,
    valid_only: bool,
}

fn title(ctx: &Ctx, c: &Collection) -> String {
    ctx.t(Msg::ImportRecordsTitle).replace("{name}", c.label.as_str())
}

fn head<'a>(ctx: &Ctx, c: &'a Collection, title: &'a str) -> Head<'a> {
    Head::new(Nav::Collections, title)
        .crumb(ctx.t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), format!("/console/collections/{}", c.name))
}

/// The fields of how to read the file, shared by both steps.
fn options_fields(ctx: &Ctx, c: &Collection, choices: &Choices) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let pairs = |items: &[(&str, Msg)]| -> Vec<(String, String)> {
        items.iter().map(|(v, m)| ((*v).to_owned(), t(*m).to_owned())).collect()
    };
    let formats = vec![("csv".to_owned(), "CSV".to_owned()), ("jsonl".to_owned(), t(Msg::FormatJsonl).to_owned())];
    let encodings =
        pairs(&[("auto", Msg::EncodingAuto), ("utf8", Msg::EncodingUtf8), ("shift_jis", Msg::EncodingSjis)]);
    let modes = pairs(&[("insert", Msg::ModeInsert), ("upsert", Msg::ModeUpsert)]);
    let mut keys = vec![(String::new(), "—".to_owned())];
    keys.extend(c.fields.iter().map(|f| (f.name.to_string(), f.label.to_string())));
    let format = if choices.format == ImportFormat::Jsonl { "jsonl" } else { "csv" };
    let encoding = match choices.encoding {
        Encoding::Auto => "auto",
        Encoding::Utf8 => "utf8",
        Encoding::ShiftJis => "shift_jis",
    };
    let mode = if choices.mode == ImportMode::Upsert { "upsert" } else { "insert" };
    html! {
        (select("format", t(Msg::ImportFileFormat), &formats, format, None, None, ctx.lang))
        (select("encoding", t(Msg::ImportEncoding), &encodings, encoding, None, None, ctx.lang))
        (select("mode", t(Msg::ImportMode), &modes, mode, None, None, ctx.lang))
        (select("key", t(Msg::ImportKey), &keys, choices.key.as_deref().unwrap_or(""), None, None, ctx.lang))
        (checkbox("valid_only", "on", t(Msg::ImportValidOnly), choices.valid_only, false, None))
    }
}

fn upload_form(ctx: &Ctx, c: &Collection, choices: &Choices, missing: Option<&str>) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let action = format!("/console/collections/{}/import", c.name);
    html! {
        form.card.stack method="post" action=(action) enctype="multipart/form-data" {
            (csrf(ctx.csrf()))
            p { (t(Msg::ImportRecordsIntro)) }
            div.field.has-error[missing.is_some()] {
                label for="import-file" { (t(Msg::ImportRecordsFile)) }
                input id="import-file" type="file" name="file" accept=".csv,.txt,.jsonl,text/csv" required;
            }
            (options_fields(ctx, c, choices))
            div.actions {
                button.btn.btn-primary type="submit" name="step" value="preview" { (t(Msg::ImportPreview)) }
                a.btn.btn-ghost href={ "/console/collections/" (c.name) } { (t(Msg::Cancel)) }
            }
            p { a href="/console/help/data" { (t(Msg::ImportHelpLink)) } }
        }
    }
}

fn preview_page(
    ctx: &Ctx,
    c: &Collection,
    choices: &Choices,
    token: &str,
    report: &RecordImportReport,
    importable: bool,
) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let summary = t(Msg::ImportRecordsSummary)
        .replace("{rows}", &report.rows.to_string())
        .replace("{valid}", &report.valid.to_string())
        .replace("{inserted}", &report.inserted.to_string())
        .replace("{updated}", &report.updated.to_string())
        .replace("{invalid}", &report.invalid.to_string());
    let mut targets = vec![(String::new(), t(Msg::ImportIgnore).to_owned())];
    targets.extend(c.fields.iter().map(|f| (f.name.to_string(), format!("{} ({})", f.label, f.name))));
    let action = format!("/console/collections/{}/import", c.name);
    html! {
        @if report.invalid > 0 && !choices.valid_only {
            (notice_error(&summary))
            p { (t(Msg::ImportFixOrSkip)) }
        } @else {
            (notice_ok(&summary))
        }
        form.card.stack method="post" action=(action) enctype="multipart/form-data" {
            (csrf(ctx.csrf()))
            input type="hidden" name="upload" value=(token);
            @if !report.columns.is_empty() {
                h2 { (t(Msg::ImportColumnsTitle)) }
                div.table-wrap { table.data {
                    thead { tr { th scope="col" { (t(Msg::ImportColumn)) } th scope="col" { (t(Msg::ImportField)) } } }
                    tbody { @for m in &report.columns { tr {
                        td { (m.column) }
                        td { (select(&format!("map:{}", m.column), &m.column, &targets,
                            m.field.as_deref().unwrap_or(""), None, None, ctx.lang)) }
                    } } }
                } }
            }
            (options_fields(ctx, c, choices))
            div.actions {
                @if importable {
                    button.btn.btn-primary type="submit" name="step" value="import" {
                        (t(Msg::ImportRecordsConfirm).replace("{n}", &report.valid.to_string()))
                    }
                }
                button.btn.btn-ghost type="submit" name="step" value="preview" { (t(Msg::ImportCheckAgain)) }
            }
        }
        @if !report.problems.is_empty() {
            h2 { (t(Msg::ImportProblemsTitle)) }
            div.table-wrap { table.data {
                thead { tr {
                    th scope="col" { (t(Msg::ImportLine)) } th scope="col" { (t(Msg::ImportColumn)) }
                    th scope="col" { (t(Msg::ImportProblemsTitle)) }
                } }
                tbody { @for p in &report.problems { tr {
                    td { (p.line) }
                    td { (p.column.as_deref().unwrap_or("")) }
                    td { @match &p.kind {
                        Some(kind) => (labels::field_error(kind, ctx.lang)),
                        None => (labels::detail(&p.message, ctx.lang)),
                    } }
                } } }
            } }
        }
        @if !report.preview.is_empty() {
            h2 { (t(Msg::ImportRowsTitle)) }
            div.table-wrap { table.data {
                thead { tr {
                    th scope="col" { (t(Msg::ImportLine)) }
                    @for f in &c.fields { th scope="col" { (f.label.as_str()) } }
                } }
                tbody { @for r in &report.preview { tr {
                    td { (r.line) }
                    @for f in &c.fields { td { (r.values.get(f.name.as_str()).map(cell).unwrap_or_default()) } }
                } } }
            } }
        }
    }
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
