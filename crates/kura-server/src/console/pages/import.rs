//! Importing users from a previous system's CSV (IAM-1, IAM-8): paste the file, see every row
//! with what will happen to it and each problem named, then import all of them in one go — or
//! fix the file first. Nothing is written until the last step.

use crate::console::extract::{Ctx, Posted};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, notice_error, notice_ok};
use crate::error::{AppError, AppResult};
use crate::service::import::{self, ImportReport, MAX_ROWS, UserImport};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::Permission;
use maud::{Markup, html};

fn paste_form(ctx: &Ctx, csv_text: &str) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        form.card.stack method="post" action="/console/users/import" {
            (csrf(ctx.csrf()))
            input type="hidden" name="step" value="preview";
            p { (t(Msg::ImportIntro)) }
            pre.mono { "email,display_name,role,language,password_hash\n"
                "hanako@example.jp,佐藤 花子,editor,ja,$2y$10$…\n"
                "taro@example.jp,山田 太郎,viewer,en," }
            p.help { (t(Msg::ImportColumns).replace("{max}", &MAX_ROWS.to_string())) }
            (Input { name: "csv", label: t(Msg::ImportCsv), kind: "textarea", value: csv_text, required: true,
                ..Input::default() }.render(ctx.lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::ImportPreview)) }
                a.btn.btn-ghost href="/console/users" { (t(Msg::Cancel)) }
            }
        }
    }
}

fn report_table(ctx: &Ctx, report: &ImportReport) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        div.table-wrap { table.data {
            caption.visually-hidden { (t(Msg::ImportPreview)) }
            thead { tr {
                th scope="col" { (t(Msg::ImportLine)) } th scope="col" { (t(Msg::Email)) }
                th scope="col" { (t(Msg::ImportAction)) }
            } }
            tbody { @for r in &report.rows { tr {
                td { (r.line) }
                td.mono { (r.email) }
                td {
                    @match r.action.as_deref() {
                        Some("keep_password_hash") => span.badge.status-active { (t(Msg::ImportKeepHash)) },
                        Some(_) => span.badge.status-active { (t(Msg::ImportInvite)) },
                        None => ul.form-errors { @for p in &r.problems { li { (p.column) ": " (p.problem) } } },
                    }
                }
            } } }
        } }
    }
}

pub async fn form(ctx: Ctx) -> AppResult<Response> {
    ctx.p.require(Permission::UsersManage)?;
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::Users, t(Msg::ImportUsers)).crumb(t(Msg::NavUsers), "/console/users");
    Ok(page(&ctx, head, paste_form(&ctx, "")).into_response())
}

pub async fn submit(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let csv_text = form.get("csv").to_owned();
    let final_step = form.get("step") == "import";
    let head = Head::new(Nav::Users, t(Msg::ImportUsers)).crumb(t(Msg::NavUsers), "/console/users");
    let preview = match import::import(&state, &ctx.p, UserImport { csv: csv_text.clone(), dry_run: true }).await {
        Ok(report) => report,
        Err(AppError::BadRequest(problem)) => {
            let body = html! { (notice_error(&problem)) (paste_form(&ctx, &csv_text)) };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&ctx, head, body)).into_response());
        }
        Err(e) => return Err(e),
    };
    if final_step && preview.invalid == 0 && preview.valid > 0 {
        let done = import::import(&state, &ctx.p, UserImport { csv: csv_text.clone(), dry_run: false }).await?;
        return Ok(Redirect::to(&format!("/console/users?done=imported&n={}", done.imported)).into_response());
    }
    let status = if preview.invalid > 0 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let summary = t(Msg::ImportSummary)
        .replace("{valid}", &preview.valid.to_string())
        .replace("{invalid}", &preview.invalid.to_string());
    let body = html! {
        @if preview.invalid > 0 {
            (notice_error(&summary))
            p { (t(Msg::ImportFixFirst)) }
        } @else {
            (notice_ok(&summary))
        }
        (report_table(&ctx, &preview))
        @if preview.invalid == 0 && preview.valid > 0 {
            form.actions method="post" action="/console/users/import" {
                (csrf(ctx.csrf()))
                input type="hidden" name="step" value="import";
                input type="hidden" name="csv" value=(csv_text);
                button.btn.btn-primary type="submit" { (t(Msg::ImportConfirm).replace("{n}", &preview.valid.to_string())) }
                a.btn.btn-ghost href="/console/users" { (t(Msg::Cancel)) }
            }
        }
        (paste_form(&ctx, &csv_text))
    };
    Ok((status, page(&ctx, head, body)).into_response())
}
