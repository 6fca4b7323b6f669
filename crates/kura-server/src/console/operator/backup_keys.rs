//! The operator's page of backup keys (OPS-1): every backup key the keystore holds (no key
//! material), when it was made and retired, the kept backups that still need it and when it
//! will be removed, with times in the backups' zone like the backups page; and the key's
//! rotation, behind a confirmation that says what it does and does not do. Rotating here is
//! `kura backup rotate-key`: the same function, recorded as `backup.key_rotate` in the
//! platform's log with the operator's name.

use crate::backup::{self, BackupError, KeyStatus, Removal};
use crate::console::extract::{OpCtx, OpPosted};
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{csrf, empty_state, notice_error, notice_warn};
use crate::error::AppResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use kura_domain::{TimeZoneName, format_in_zone};
use maud::{Markup, html};

const PAGE: &str = "/operator/backups/keys";
const ROTATE: &str = "/operator/backups/keys/rotate";

pub async fn list(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    page(&state, &ctx, None).await
}

/// The zone the backups' times are shown in: the backups' schedule's.
fn zone(state: &AppState) -> TimeZoneName {
    TimeZoneName::parse(&state.settings.backup.time_zone).unwrap_or_else(|_| TimeZoneName::tokyo())
}

/// The page, with `problem` (why a rotation did not happen, and the status to answer with)
/// above it.
async fn page(state: &AppState, ctx: &OpCtx, problem: Option<(StatusCode, String)>) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let zone = zone(state);
    let time = |ts: Timestamp| format_in_zone(ts, &zone);
    let keys: Result<Vec<KeyStatus>, BackupError> = match state.store.vault() {
        Some(vault) => backup::key_statuses(state, vault, state.clock.now()).await,
        None => Err(BackupError::NoMasterKey(state.settings.master_key_file())),
    };
    let removal = |k: &KeyStatus| -> String {
        match k.removal {
            None => t(Msg::BackupKeyKeptWhileInUse).to_owned(),
            Some(Removal::Next) => t(Msg::BackupKeyRemovedNext).to_owned(),
            Some(Removal::After { backups, at: Some(at) }) => {
                t(Msg::BackupKeyRemovedAfterAt).replace("{n}", &backups.to_string()).replace("{time}", &time(at))
            }
            Some(Removal::After { backups, at: None }) => {
                t(Msg::BackupKeyRemovedAfter).replace("{n}", &backups.to_string())
            }
        }
    };
    let needed = |k: &KeyStatus| -> Markup {
        html! {
            @if k.retired.is_none() { (t(Msg::BackupKeyEveryNewBackup)) br; }
            @if k.needed_by.is_empty() {
                @if k.retired.is_some() { span.muted { (t(Msg::BackupKeyNoBackupNeedsIt)) } }
            } @else {
                details {
                    summary { (t(Msg::BackupKeyKeptBackups).replace("{n}", &k.needed_by.len().to_string())) }
                    ul { @for id in &k.needed_by {
                        li { span.nowrap { (backup::id_time(id).map(time).unwrap_or_else(|| id.clone())) } " " span.muted.mono { (id) } }
                    } }
                }
            }
        }
    };
    let body = html! {
        @if let Some((_, p)) = &problem { (notice_error(p)) }
        section.card.stack {
            p { (t(Msg::BackupKeysIntro)) }
            p.help { (t(Msg::BackupKeysRuleHelp)) }
        }
        @match &keys {
            Err(BackupError::NoMasterKey(_)) => (notice_warn(t(Msg::BackupKeysNeedMasterKey))),
            Err(e) => (notice_warn(&t(Msg::BackupKeysUnlisted).replace("{error}", &e.to_string()))),
            Ok(keys) if keys.is_empty() => (empty_state(t(Msg::NoBackupKeysYet), None)),
            Ok(keys) => div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavBackupKeys)) }
                thead { tr {
                    th scope="col" { (t(Msg::BackupKey)) } th scope="col" { (t(Msg::BackupKeyMade)) }
                    th scope="col" { (t(Msg::BackupKeyRetired)) } th scope="col" { (t(Msg::BackupKeyNeededBy)) }
                    th scope="col" { (t(Msg::BackupKeyRemoved)) }
                } }
                tbody { @for k in keys.iter().rev() {
                    tr {
                        th scope="row" {
                            (t(Msg::BackupKeyNumber).replace("{v}", &k.version.to_string()))
                            br; span.muted { (t(Msg::BackupKeyMasterKey)) " " span.mono { (k.master_key_id) } }
                        }
                        td.nowrap { (time(k.created)) }
                        td.nowrap { @match k.retired {
                            Some(at) => (time(at)),
                            None => span.badge.status-active { (t(Msg::BackupKeyInUse)) },
                        } }
                        td { (needed(k)) }
                        td { (removal(k)) }
                    }
                } }
            } },
        }
        section.card.stack {
            h2 { (t(Msg::RotateBackupKey)) }
            p.help { (t(Msg::RotateBackupKeyHelp)) }
            p.help { (t(Msg::RotateBackupKeyCli)) " " code { "kura backup rotate-key" } }
            div.actions { a.btn href=(ROTATE) { (t(Msg::RotateBackupKeyEllipsis)) } }
        }
    };
    let head = Head::new(Nav::Backups, t(Msg::NavBackupKeys)).crumb(t(Msg::NavBackups), "/operator/backups");
    let status = problem.map_or(StatusCode::OK, |(s, _)| s);
    Ok((status, op_page(ctx, head, body)).into_response())
}

/// The confirmation before a rotation: what it does, and what it does not.
pub async fn confirm_rotate(ctx: OpCtx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let body = html! {
        div.card.confirm {
            p.lead { (t(Msg::ConfirmRotateBackupKey)) }
            (notice_warn(t(Msg::RotateBackupKeyConsequence)))
            form.actions method="post" action=(ROTATE) {
                (csrf(&ctx.p.csrf_token))
                button.btn.btn-danger type="submit" { (t(Msg::RotateBackupKey)) }
                a.btn.btn-ghost href=(PAGE) { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::Backups, t(Msg::RotateBackupKey))
        .crumb(t(Msg::NavBackups), "/operator/backups")
        .crumb(t(Msg::NavBackupKeys), PAGE);
    Ok(op_page(&ctx, head, body).into_response())
}

/// Rotates the backup key as `kura backup rotate-key` does, in the operator's name.
pub async fn rotate(State(state): State<AppState>, OpPosted { ctx, .. }: OpPosted) -> AppResult<Response> {
    match backup::rotate_key(&state, ctx.p.actor.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("{PAGE}?done=backupkeyrotated")).into_response()),
        Err(e) => {
            let status = match e {
                BackupError::Busy => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let text = ctx.t(Msg::BackupJobFailed).replace("{error}", &e.to_string());
            page(&state, &ctx, Some((status, text))).await
        }
    }
}
