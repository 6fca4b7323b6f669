//! Exports built in the background, in the console (DAT-5): starting one (a form posted from the
//! tenant's or a collection's export page), the list of jobs, a job's page with its progress
//! (refreshed by the `Refresh` header while it is being built: no script), and its one
//! download.
//!
//! The download token never appears in a page or an address: the POST that starts the job sets
//! it in a cookie scoped to that job's path (script-proof, same-site only), so only the
//! browser that started the export can download the file, once.

use crate::console::cookies;
use crate::console::explain::explain;
use crate::console::extract::{Ctx, Posted};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{empty_state, notice_error, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::transfer::format::{Format, HeaderNames};
use crate::service::transfer::jobs::{self, ExportRequest, JobKind};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::Permission;
use kura_store::{ExportJob, ExportKind, ExportStatus};
use maud::{Markup, html};
use uuid::Uuid;

/// The cookie that carries a job's download token, scoped to the job's path.
const TOKEN_COOKIE: &str = "kura_export";

/// Seconds between two refreshes of a job's page while it is being built.
const REFRESH_SECONDS: &str = "3";

fn job_path(id: Uuid) -> String {
    format!("/console/exports/{id}")
}

/// Starts an export from a posted form (`kind`, and for a collection `collection`, `format`,
/// `header`), then shows its page.
pub async fn start(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    // The permission first: a refusal must not depend on what was sent.
    ctx.p.require(Permission::RecordsExport)?;
    let kind = match form.get("kind") {
        "archive" => JobKind::Archive,
        "collection" => JobKind::Collection,
        _ => return Err(unreadable("kind")),
    };
    let format =
        form.opt("format").filter(|f| !f.is_empty()).map(|f| Format::parse(f).ok_or_else(|| unreadable("format")));
    let header =
        form.opt("header").filter(|h| !h.is_empty()).map(|h| HeaderNames::parse(h).ok_or_else(|| unreadable("header")));
    let request = ExportRequest {
        kind,
        collection: form.opt("collection").map(str::to_owned),
        format: format.transpose()?,
        header: header.transpose()?,
    };
    let started = jobs::start(&state, &ctx.p, &request).await?;
    let path = job_path(started.job.id);
    let mut response = Redirect::to(&path).into_response();
    // The token lives as long as the job can: queued for a while, then the link's hours.
    let max_age = (i64::from(state.settings.exports.link_hours) + 24) * 3600;
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{TOKEN_COOKIE}={}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}",
        started.token.expose()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// A form field that does not hold what the form offers.
fn unreadable(field: &str) -> AppError {
    AppError::BadRequest(format!("the form could not be read: {field}"))
}

fn status_text(status: ExportStatus) -> Msg {
    match status {
        ExportStatus::Queued => Msg::ExportJobQueued,
        ExportStatus::Running => Msg::ExportJobRunning,
        ExportStatus::Ready => Msg::ExportJobReady,
        ExportStatus::Failed => Msg::ExportJobFailed,
        ExportStatus::Downloaded => Msg::ExportJobDownloaded,
        ExportStatus::Expired => Msg::ExportJobExpired,
    }
}

fn what(ctx: &Ctx, job: &ExportJob) -> String {
    match &job.kind {
        ExportKind::Archive => ctx.t(Msg::ExportJobArchive).to_owned(),
        ExportKind::Collection { collection, format, .. } => {
            ctx.t(Msg::ExportJobCollection).replace("{name}", collection).replace("{format}", format)
        }
    }
}

fn progress(ctx: &Ctx, job: &ExportJob) -> Markup {
    match (job.status, job.rows_total) {
        (ExportStatus::Queued, _) => html! {},
        (_, None) => html! { (ctx.t(Msg::ExportJobCounting)) },
        (_, Some(total)) => {
            let text = ctx
                .t(Msg::ExportJobRows)
                .replace("{done}", &job.rows_done.to_string())
                .replace("{total}", &total.to_string());
            html! {
                progress value=(job.rows_done) max=(total.max(1)) aria-label=(text) {}
                " " span.progress-text { (text) }
            }
        }
    }
}

/// The jobs of the tenant that the reader may see, newest first.
pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let list = jobs::list(&state, &ctx.p).await?;
    let t = |m: Msg| ctx.t(m);
    let body = html! {
        div.card.stack {
            p { (t(Msg::ExportJobsIntro)) }
            @if list.is_empty() {
                (empty_state(t(Msg::ExportJobsEmpty), None))
            } @else {
                table.table {
                    thead { tr {
                        th { (t(Msg::ExportJobWhat)) } th { (t(Msg::ExportJobStatus)) } th { (t(Msg::ExportJobProgress)) }
                        th { (t(Msg::ExportJobBy)) } th { (t(Msg::ExportJobStarted)) }
                    } }
                    tbody {
                        @for job in &list {
                            tr {
                                td { a href=(job_path(job.id)) { (what(&ctx, job)) } }
                                td.export-status { (t(status_text(job.status))) }
                                td { (progress(&ctx, job)) }
                                td { (job.actor.label) }
                                td { (ctx.time(job.created_at)) }
                            }
                        }
                    }
                }
            }
            p { a href="/console/help/data" { (t(Msg::ExportHelpLink)) } }
        }
    };
    let head =
        Head::new(Nav::Collections, t(Msg::ExportJobsTitle)).crumb(t(Msg::NavCollections), "/console/collections");
    Ok(page(&ctx, head, body).into_response())
}

/// The page an export of this kind is started from.
fn start_page(job: &ExportJob) -> String {
    match &job.kind {
        ExportKind::Archive => "/console/export".to_owned(),
        ExportKind::Collection { collection, .. } => format!("/console/collections/{collection}/export"),
    }
}

/// One job: its status and progress, refreshed while it is built; its download once ready.
pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let job = jobs::get(&state, &ctx.p, id).await?;
    let t = |m: Msg| ctx.t(m);
    let building = matches!(job.status, ExportStatus::Queued | ExportStatus::Running);
    let mine = jobs::is_requester(&job, &ctx.p);
    let has_token = cookies::get(&headers, TOKEN_COOKIE).is_some_and(|v| !v.is_empty());
    let title = what(&ctx, &job);
    let body = html! {
        div.card.stack {
            dl.facts {
                dt { (t(Msg::ExportJobStatus)) } dd.export-status { (t(status_text(job.status))) }
                dt { (t(Msg::ExportJobProgress)) } dd { (progress(&ctx, &job)) }
                dt { (t(Msg::ExportJobBy)) } dd { (job.actor.label) }
                dt { (t(Msg::ExportJobStarted)) } dd { (ctx.time(job.created_at)) }
                @if let Some(bytes) = job.bytes { dt { (t(Msg::ExportJobSize)) } dd { (bytes) " B" } }
                @if let (ExportStatus::Ready, Some(at)) = (job.status, job.expires_at) {
                    dt { (t(Msg::ExportJobExpires)) } dd { (ctx.time(at)) }
                }
            }
            @if building { p.help { (t(Msg::ExportJobRefreshing)) } }
            @if job.status == ExportStatus::Failed {
                @let why = job.error.as_deref().unwrap_or_default();
                (notice_error(&format!("{} {}", t(Msg::ExportJobFailedBecause), explain(why, ctx.lang).unwrap_or_else(|| why.to_owned()))))
            }
            @if job.status == ExportStatus::Ready {
                @let until = job.expires_at.map(|at| ctx.time(at)).unwrap_or_default();
                p { (t(Msg::ExportJobOnce).replace("{time}", &until)) }
                @if !mine {
                    (notice_warn(t(Msg::ExportJobNotYours)))
                } @else if has_token {
                    div.actions {
                        a.btn.btn-primary href={ (job_path(job.id)) "/file" } download { (t(Msg::ExportJobDownload)) }
                    }
                    p.help { (t(Msg::TenantExportCare)) }
                } @else {
                    (notice_warn(t(Msg::ExportJobNoLink)))
                }
            }
            @if job.status.is_final() {
                div.actions { a.btn.btn-ghost href=(start_page(&job)) { (t(Msg::ExportJobStartAgain)) } }
            }
            p { a href="/console/exports" { (t(Msg::ExportJobsTitle)) } }
        }
    };
    let head = Head::new(Nav::Collections, &title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(t(Msg::ExportJobsTitle), "/console/exports");
    let mut response = page(&ctx, head, body).into_response();
    if building {
        response.headers_mut().insert(header::REFRESH, HeaderValue::from_static(REFRESH_SECONDS));
    }
    Ok(response)
}

/// The file, once, with the token the starting browser holds; the cookie is then forgotten.
pub async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let token = cookies::get(&headers, TOKEN_COOKIE).unwrap_or_default().to_owned();
    let download = jobs::download(&state, &ctx.p, id, &token).await?;
    let mut response = crate::api::exports::attachment(download);
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    let clear = format!("{TOKEN_COOKIE}=; Path={}; Max-Age=0; HttpOnly; SameSite=Strict{secure}", job_path(id));
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
