//! The operator's view of the mail outbox: every mail Kura queued, delivered, is retrying or
//! gave up, newest first (never a body: it may hold a one-time link). Without a relay, mail is
//! written to files, and this page says where.

use crate::console::extract::OpCtx;
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{empty_state, notice_warn};
use crate::error::AppResult;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kura_domain::{AuditScope, TimeZoneName, format_in_zone};
use maud::html;

pub async fn list(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let mails = state.store.mails(None, 200).await?;
    let tenants = state.store.tenants().await?;
    let zone = TimeZoneName::tokyo();
    let time = |ts| format_in_zone(ts, &zone);
    let scope_name = |scope: AuditScope| match scope {
        AuditScope::Platform => "—".to_owned(),
        AuditScope::Tenant(id) => {
            tenants.iter().find(|x| x.id == id).map_or_else(|| id.to_string(), |x| x.slug.to_string())
        }
    };
    let failed = mails.iter().filter(|m| m.status == "failed").count();
    // A tenant's value that its key no longer opens (the tenant's keys destroyed) is named so.
    let shown = |v: &str| if v == kura_store::MAIL_UNOPENED { t(Msg::MailUnopened).to_owned() } else { v.to_owned() };
    let body = html! {
        @if let Some(dir) = state.mail.transport().files_dir() {
            p.muted { (t(Msg::MailToFiles)) " " code { (dir.display()) } }
        }
        @if failed > 0 { (notice_warn(&t(Msg::MailFailedCount).replace("{n}", &failed.to_string()))) }
        @if mails.is_empty() {
            (empty_state(t(Msg::NoMailYet), None))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavMail)) }
                thead { tr {
                    th scope="col" { (t(Msg::CreatedAt)) } th scope="col" { (t(Msg::Tenant)) }
                    th scope="col" { (t(Msg::MailRecipient)) } th scope="col" { (t(Msg::MailSubject)) }
                    th scope="col" { (t(Msg::Status)) } th scope="col" { (t(Msg::MailAttempts)) }
                    th scope="col" { (t(Msg::MailLastError)) }
                } }
                tbody { @for m in &mails {
                    @let (label, class) = match m.status.as_str() {
                        "sent" => (Msg::MailSent, "status-active"),
                        "failed" => (Msg::MailGivenUp, "status-locked"),
                        _ => (Msg::MailPending, "badge-muted"),
                    };
                    tr {
                        td.nowrap { (time(m.created_at)) }
                        td.mono { (scope_name(m.scope)) }
                        td.mono { (shown(&m.recipient)) }
                        td { (shown(&m.subject)) }
                        td {
                            span class={ "badge " (class) } { (t(label)) }
                            @if let Some(at) = m.sent_at { br; span.muted { (time(at)) } }
                            @if m.status == "pending" && m.attempts > 0 { br; span.muted { (t(Msg::MailNextAttempt)) " " (time(m.next_attempt_at)) } }
                        }
                        td { (m.attempts) }
                        td { (shown(m.last_error.as_deref().unwrap_or(""))) }
                    }
                } }
            } }
        }
    };
    Ok(op_page(&ctx, Head::new(Nav::Mail, t(Msg::NavMail)), body).into_response())
}
