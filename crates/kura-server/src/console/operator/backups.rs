//! The operator's backups page (OPS-1): every backup with its time (in the backups' zone), its
//! size, where its copies are (the backup directory, the second directory, the bucket) and
//! when it was last verified with what result; the newest restore drill and verification; and
//! buttons to take a backup, verify one and run a drill now, each recorded in the platform's
//! log like the scheduled ones. Below, the keystore's own backups, with the time each expires
//! (the deletion certificate's promise rests on it), and a button to back the keystore up now.

use crate::backup::{self, BackupError, BackupKind, Backups, Location};
use crate::console::extract::{OpCtx, OpPosted};
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{csrf, empty_state, notice_error, notice_warn};
use crate::error::AppResult;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{TimeZoneName, format_in_zone};
use kura_store::BackupCheck;
use maud::{Markup, html};
use std::collections::BTreeMap;

/// One backup as the page shows it: where its copies are.
#[derive(Default)]
struct Row {
    bytes: u64,
    local: bool,
    copy: bool,
    remote: bool,
}

pub async fn list(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    page(&state, &ctx, None).await
}

/// Every backup of `b` found in its three places, by id; what could not be listed goes to
/// `warnings`.
async fn rows_of(b: &Backups, ctx: &OpCtx, warnings: &mut Vec<String>) -> BTreeMap<String, Row> {
    let t = |m: Msg| ctx.t(m);
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    match b.list() {
        Ok(listed) => {
            for l in listed {
                let row = rows.entry(l.id).or_default();
                row.local = true;
                row.bytes = l.stored_bytes;
            }
        }
        Err(e) => warnings.push(e.to_string()),
    }
    for id in b.copy_ids() {
        rows.entry(id).or_default().copy = true;
    }
    if b.remote().is_some() {
        match b.list_remote().await {
            Ok(remote) => {
                for r in remote.into_iter().filter(|r| r.complete()) {
                    let bytes = r.stored_bytes();
                    let row = rows.entry(r.id).or_default();
                    row.remote = true;
                    if row.bytes == 0 {
                        row.bytes = bytes;
                    }
                }
            }
            Err(e) => warnings.push(t(Msg::BackupRemoteUnlisted).replace("{error}", &e.to_string())),
        }
    }
    rows
}

async fn page(state: &AppState, ctx: &OpCtx, problem: Option<String>) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let b = &state.backups;
    let settings = &state.settings.backup;
    let zone = TimeZoneName::parse(&settings.time_zone).unwrap_or_else(|_| TimeZoneName::tokyo());
    let time = |ts| format_in_zone(ts, &zone);
    let mut warnings = Vec::new();
    let rows = rows_of(b, ctx, &mut warnings).await;
    let keystore_rows = rows_of(&state.keystore_backups, ctx, &mut warnings).await;
    let checks = state.store.backup_checks(500).await?;
    let last_verify = |id: &str| checks.iter().find(|c| c.kind == "verify" && c.backup_id == id);
    let newest_drill = checks.iter().find(|c| c.kind == "drill");
    let newest_verify = checks.iter().find(|c| c.kind == "verify");
    let result = |c: &BackupCheck| -> Markup {
        let (label, class) =
            if c.ok { (Msg::BackupPassed, "status-active") } else { (Msg::BackupFailed, "status-locked") };
        html! {
            span class={ "badge " (class) } { (t(label)) } " " span.nowrap { (time(c.checked_at)) }
            br; span.muted {
                (location_label(&c.location, ctx))
                // What failed, as recorded (in English, as the platform's log keeps it).
                @if !c.ok { " · " (c.detail) }
            }
        }
    };
    let times = |list: &[String]| if list.is_empty() { t(Msg::BackupNever).to_owned() } else { list.join(", ") };
    let summary = t(Msg::BackupScheduleSummary)
        .replace("{times}", &times(&settings.times))
        .replace("{zone}", zone.as_str())
        .replace("{n}", &settings.generations.to_string())
        .replace("{drill}", &times(&settings.drill_times));
    let places = html! {
        ul {
            li { (t(Msg::BackupLocal)) ": " code { (b.dir().display()) } }
            li { (t(Msg::BackupSecondDir)) ": " @match b.copy_dir() {
                Some(dir) => code { (dir.display()) },
                None => span.muted { (t(Msg::NotConfigured)) },
            } }
            li { (t(Msg::BackupRemote)) ": " @match b.remote() {
                Some(r) => code { (r.describe()) },
                None => span.muted { (t(Msg::NotConfigured)) },
            } }
        }
    };
    let keystore_summary = t(Msg::KeystoreBackupSummary)
        .replace("{times}", &times(&settings.keystore_times))
        .replace("{zone}", zone.as_str())
        .replace("{days}", &settings.keystore_keep_days.to_string());
    let keystore_retention = state.keystore_backups.retention();
    let token = &ctx.p.csrf_token;
    let body = html! {
        @if let Some(p) = &problem { (notice_error(p)) }
        @for w in &warnings { (notice_warn(w)) }
        section.card.stack {
            p { (summary) }
            (places)
            p.help { (t(Msg::BackupPageHelp)) }
            dl.handover {
                dt { (t(Msg::BackupLastDrill)) }
                dd { @match newest_drill { Some(c) => (result(c)), None => span.muted { (t(Msg::BackupNoDrillYet)) } } }
                dt { (t(Msg::BackupLastVerification)) }
                dd { @match newest_verify {
                    Some(c) => { span.mono { (c.backup_id) } " " (result(c)) },
                    None => span.muted { (t(Msg::BackupNeverVerified)) },
                } }
            }
            div.actions {
                form.inline method="post" action="/operator/backups/take" {
                    (csrf(token)) button.btn.btn-primary type="submit" { (t(Msg::BackupTakeNow)) }
                }
                form.inline method="post" action="/operator/backups/drill" {
                    (csrf(token)) button.btn type="submit" { (t(Msg::BackupDrillNow)) }
                }
            }
            p.help { (t(Msg::BackupDrillHelp)) }
            p { a href="/operator/backups/keys" { (t(Msg::BackupKeysLink)) } }
        }
        @if rows.is_empty() {
            (empty_state(t(Msg::NoBackupsYet), None))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavBackups)) }
                thead { tr {
                    th scope="col" { (t(Msg::BackupTakenAt)) } th scope="col" { (t(Msg::BackupSize)) }
                    th scope="col" { (t(Msg::BackupCopies)) } th scope="col" { (t(Msg::BackupLastVerified)) }
                    th scope="col" { span.visually-hidden { (t(Msg::BackupVerify)) } }
                } }
                tbody { @for (id, row) in rows.iter().rev() {
                    tr {
                        th scope="row" {
                            span.nowrap { (backup::id_time(id).map(time).unwrap_or_else(|| id.clone())) }
                            br; span.muted.mono { (id) }
                        }
                        td.nowrap { (size(row.bytes)) }
                        td {
                            @for (present, label) in [(row.local, Msg::BackupLocal), (row.copy, Msg::BackupSecondDir), (row.remote, Msg::BackupRemote)] {
                                @if present { span.badge.status-active { (t(label)) } " " }
                            }
                        }
                        td { @match last_verify(id) { Some(c) => (result(c)), None => span.muted { (t(Msg::BackupNeverVerified)) } } }
                        td {
                            form.inline method="post" action="/operator/backups/verify" {
                                (csrf(token))
                                input type="hidden" name="id" value=(id);
                                @let from = if row.local { "local" } else if row.copy { "copy" } else { "remote" };
                                input type="hidden" name="location" value=(from);
                                button.btn.btn-ghost type="submit" { (t(Msg::BackupVerify)) }
                            }
                        }
                    }
                } }
            } }
            p.help { (t(Msg::BackupVerifyHelp)) }
        }
        section.card.stack {
            h2 { (t(Msg::KeystoreBackups)) }
            p { (keystore_summary) }
            ul { li { (t(Msg::BackupLocal)) ": " code { (state.keystore_backups.dir().display()) } } }
            p.help { (t(Msg::KeystoreBackupHelp)) }
            div.actions {
                form.inline method="post" action="/operator/backups/take-keystore" {
                    (csrf(token)) button.btn type="submit" { (t(Msg::KeystoreBackupNow)) }
                }
            }
        }
        @if keystore_rows.is_empty() {
            (empty_state(t(Msg::NoKeystoreBackupsYet), None))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::KeystoreBackups)) }
                thead { tr {
                    th scope="col" { (t(Msg::BackupTakenAt)) } th scope="col" { (t(Msg::KeystoreBackupExpires)) }
                    th scope="col" { (t(Msg::BackupSize)) } th scope="col" { (t(Msg::BackupCopies)) }
                    th scope="col" { (t(Msg::BackupLastVerified)) }
                    th scope="col" { span.visually-hidden { (t(Msg::BackupVerify)) } }
                } }
                tbody { @for (id, row) in keystore_rows.iter().rev() {
                    @let made = backup::id_time(id);
                    tr {
                        th scope="row" {
                            span.nowrap { (made.map(time).unwrap_or_else(|| id.clone())) }
                            br; span.muted.mono { (id) }
                        }
                        td.nowrap { (made.and_then(|m| keystore_retention.expiry(m)).map(time).unwrap_or_default()) }
                        td.nowrap { (size(row.bytes)) }
                        td {
                            @for (present, label) in [(row.local, Msg::BackupLocal), (row.copy, Msg::BackupSecondDir), (row.remote, Msg::BackupRemote)] {
                                @if present { span.badge.status-active { (t(label)) } " " }
                            }
                        }
                        td { @match last_verify(&format!("keystore:{id}")) { Some(c) => (result(c)), None => span.muted { (t(Msg::BackupNeverVerified)) } } }
                        td {
                            form.inline method="post" action="/operator/backups/verify" {
                                (csrf(token))
                                input type="hidden" name="id" value=(id);
                                input type="hidden" name="kind" value="keystore";
                                @let from = if row.local { "local" } else if row.copy { "copy" } else { "remote" };
                                input type="hidden" name="location" value=(from);
                                button.btn.btn-ghost type="submit" { (t(Msg::BackupVerify)) }
                            }
                        }
                    }
                } }
            } }
        }
    };
    let status = if problem.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, op_page(ctx, Head::new(Nav::Backups, t(Msg::NavBackups)), body)).into_response())
}

fn location_label(location: &str, ctx: &OpCtx) -> &'static str {
    ctx.t(match location {
        "copy" => Msg::BackupSecondDir,
        "remote" => Msg::BackupRemote,
        _ => Msg::BackupLocal,
    })
}

/// Bytes in the largest unit that keeps a number of at least 1, one decimal.
fn size(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", units[unit]) }
}

/// What a failed job shows: its reason, above the page.
async fn failed(state: &AppState, ctx: &OpCtx, e: BackupError) -> AppResult<Response> {
    let text = ctx.t(Msg::BackupJobFailed).replace("{error}", &e.to_string());
    page(state, ctx, Some(text)).await
}

pub async fn take(State(state): State<AppState>, OpPosted { ctx, .. }: OpPosted) -> AppResult<Response> {
    match backup::take(&state, ctx.p.actor.clone()).await {
        Ok(made) if made.copy.as_ref().is_none_or(Result::is_ok) && made.remote.as_ref().is_none_or(Result::is_ok) => {
            Ok(Redirect::to("/operator/backups?done=backuptaken").into_response())
        }
        Ok(made) => {
            let why = [made.copy.and_then(|c| c.err().map(|e| e.to_string())), made.remote.and_then(Result::err)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            let text = ctx.t(Msg::BackupCopyFailed).replace("{id}", &made.id).replace("{error}", &why);
            page(&state, &ctx, Some(text)).await
        }
        Err(e) => failed(&state, &ctx, e).await,
    }
}

pub async fn take_keystore(State(state): State<AppState>, OpPosted { ctx, .. }: OpPosted) -> AppResult<Response> {
    match backup::take_keystore(&state, ctx.p.actor.clone()).await {
        Ok(made) if made.copy.as_ref().is_none_or(Result::is_ok) && made.remote.as_ref().is_none_or(Result::is_ok) => {
            Ok(Redirect::to("/operator/backups?done=keystorebackuptaken").into_response())
        }
        Ok(made) => {
            let why = [made.copy.and_then(|c| c.err().map(|e| e.to_string())), made.remote.and_then(Result::err)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; ");
            let text = ctx.t(Msg::BackupCopyFailed).replace("{id}", &made.id).replace("{error}", &why);
            page(&state, &ctx, Some(text)).await
        }
        Err(e) => failed(&state, &ctx, e).await,
    }
}

pub async fn verify(State(state): State<AppState>, OpPosted { ctx, form }: OpPosted) -> AppResult<Response> {
    let id = form.get("id");
    let kind = if form.get("kind") == "keystore" { BackupKind::Keystore } else { BackupKind::Data };
    let b = backup::backups_of(&state, kind);
    let at = match (form.get("location"), backup::id_time(id).is_some()) {
        (_, false) => None,
        ("local", true) => Some(Location::Dir(b.dir().join(id))),
        ("copy", true) => b.copy_dir().map(|d| Location::Dir(d.join(id))),
        ("remote", true) => b.remote().map(|_| Location::Remote(id.to_owned())),
        _ => None,
    };
    let Some(at) = at else {
        let text = ctx.t(Msg::BackupNoSuch);
        let mut response = page(&state, &ctx, Some(text.to_owned())).await?;
        *response.status_mut() = StatusCode::NOT_FOUND;
        return Ok(response);
    };
    match backup::verify_of(&state, ctx.p.actor.clone(), kind, &at).await {
        Ok(_) => Ok(Redirect::to("/operator/backups?done=backupverified").into_response()),
        Err(e) => failed(&state, &ctx, e).await,
    }
}

pub async fn drill(State(state): State<AppState>, OpPosted { ctx, .. }: OpPosted) -> AppResult<Response> {
    match backup::drill(&state, ctx.p.actor.clone()).await {
        Ok(_) => Ok(Redirect::to("/operator/backups?done=drillpassed").into_response()),
        Err(e) => failed(&state, &ctx, e).await,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ops_1_sizes_read_in_their_largest_unit() {
        assert_eq!(super::size(999), "999 B");
        assert_eq!(super::size(48_213), "48.2 KB");
        assert_eq!(super::size(1_260_000_000), "1.3 GB");
    }
}
