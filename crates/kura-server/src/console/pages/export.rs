//! Exporting a collection's records from the console (DAT-5): choose the format and the header
//! row's names, then download the file. The download is the API's export, streamed the same way
//! and audited the same way; a refusal (a value Shift_JIS cannot hold) comes back as a page in
//! the reader's language. The whole tenant goes out as one ZIP file from its own page.

use crate::console::extract::Ctx;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{csrf, select};
use crate::error::AppResult;
use crate::service::collections;
use crate::service::transfer::archive;
use crate::service::transfer::export::{self, ExportParams};
use crate::service::transfer::format::Format;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kura_domain::Permission;
use maud::html;

pub async fn form(State(state): State<AppState>, ctx: Ctx, Path(name): Path<String>) -> AppResult<Response> {
    let g = ctx.p.require(Permission::RecordsExport)?;
    let c = collections::find(&state, g.tenant_id(), &name).await?;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let formats: Vec<(String, String)> = [
        (Format::Csv, Msg::FormatCsvBom),
        (Format::CsvUtf8, Msg::FormatCsvUtf8),
        (Format::CsvSjis, Msg::FormatCsvSjis),
        (Format::Jsonl, Msg::FormatJsonl),
    ]
    .into_iter()
    .map(|(f, m)| (f.as_str().to_owned(), t(m).to_owned()))
    .collect();
    let headers = vec![
        ("label".to_owned(), t(Msg::HeaderByLabel).to_owned()),
        ("key".to_owned(), t(Msg::HeaderByKey).to_owned()),
    ];
    let pii_masked = c.fields.iter().any(|f| f.pii) && !ctx.p.can(Permission::PiiRead);
    let body = html! {
        form.card.stack method="get" action={ (base) "/export/file" } {
            p { (t(Msg::ExportIntro)) }
            (select("format", t(Msg::ExportFormat), &formats, "csv", Some(t(Msg::ExportFormatHelp)), None, ctx.lang))
            (select("header", t(Msg::ExportHeader), &headers, "label", None, None, ctx.lang))
            p.help { (t(Msg::ExportFormulaRule)) }
            @if pii_masked { p.help { (t(Msg::ExportMasked)) } }
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::ExportDownload)) }
                a.btn.btn-ghost href=(base) { (t(Msg::Cancel)) }
            }
            p { a href="/console/help/data" { (t(Msg::ExportHelpLink)) } }
        }
        form.card.stack method="post" action="/console/exports" {
            (csrf(ctx.csrf()))
            input type="hidden" name="kind" value="collection";
            input type="hidden" name="collection" value=(c.name.as_str());
            p.help { (t(Msg::ExportJobStartCollectionHelp)) }
            (select("format", t(Msg::ExportFormat), &formats, "csv", None, None, ctx.lang))
            (select("header", t(Msg::ExportHeader), &headers, "label", None, None, ctx.lang))
            div.actions {
                button.btn.btn-ghost type="submit" { (t(Msg::ExportJobStartCollection)) }
                a href="/console/exports" { (t(Msg::ExportJobsLink)) }
            }
        }
    };
    let title = t(Msg::ExportTitle).replace("{name}", c.label.as_str());
    let head = Head::new(Nav::Collections, &title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), &base);
    Ok(page(&ctx, head, body).into_response())
}

/// The file itself (a GET: downloading changes nothing but the audit log).
pub async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(params): Query<ExportParams>,
) -> AppResult<Response> {
    let exporter = export::start(&state, &ctx.p, &name, &params).await?;
    Ok(crate::api::transfer::download(exporter))
}

/// The whole tenant as one ZIP file (DAT-5): what the file holds, a word of care, the button.
pub async fn tenant_form(ctx: Ctx) -> AppResult<Response> {
    ctx.p.require(Permission::RecordsExport)?;
    let t = |m: Msg| ctx.t(m);
    let allowed = archive::NEEDS.iter().all(|&n| ctx.p.can(n));
    let body = html! {
        div.card.stack {
            p { (t(Msg::TenantExportIntro)) }
            p { (t(Msg::TenantExportHolds)) }
            ul {
                li { (t(Msg::TenantExportCollections)) }
                li { (t(Msg::TenantExportRecords)) }
                li { (t(Msg::TenantExportPeople)) }
                li { (t(Msg::TenantExportLog)) }
                li { (t(Msg::TenantExportManifest)) }
            }
            p.help { (t(Msg::ExportFormulaRule)) }
            @if !ctx.p.can(Permission::PiiRead) { p.help { (t(Msg::ExportMasked)) } }
            p.help { (t(Msg::TenantExportCare)) }
            @if allowed {
                form.stack method="post" action="/console/exports" {
                    (csrf(ctx.csrf()))
                    input type="hidden" name="kind" value="archive";
                    p.help { (t(Msg::ExportJobStartArchiveHelp)) }
                    div.actions {
                        button.btn.btn-primary type="submit" { (t(Msg::ExportJobStartArchive)) }
                    }
                }
                div.actions {
                    a.btn.btn-ghost href="/console/export/file" download { (t(Msg::TenantExportDownload)) }
                    a.btn.btn-ghost href="/console/collections" { (t(Msg::Cancel)) }
                }
            } @else {
                div.notice.notice-warn role="status" { (t(Msg::TenantExportNeeds)) }
            }
            p { a href="/console/exports" { (t(Msg::ExportJobsLink)) } }
            p { a href="/console/help/data" { (t(Msg::ExportHelpLink)) } }
        }
    };
    let head =
        Head::new(Nav::Collections, t(Msg::TenantExportTitle)).crumb(t(Msg::NavCollections), "/console/collections");
    Ok(page(&ctx, head, body).into_response())
}

/// The archive itself (a GET: downloading changes nothing but the audit log).
pub async fn tenant_file(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let archive = archive::build(&state, &ctx.p).await?;
    Ok(crate::api::transfer::archive_download(archive))
}
