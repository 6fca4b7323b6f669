//! The tenant's encryption keys in the console (DAT-2): their versions, the rotations with
//! their progress (refreshed by the `Refresh` header while one runs: no script), and rotating
//! the data key after a confirmation page that says what happens.

use crate::console::extract::{Ctx, Posted};
use crate::console::i18n::Lang;
use crate::console::layout::{Head, Nav, page};
use crate::console::widgets::{csrf, empty_state, notice_warn};
use crate::error::AppResult;
use crate::service::key_rotation::{self, KeyStatus};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::Permission;
use kura_store::{KeyRotation, RotationKind, RotationStatus};
use maud::{Markup, html};

/// Seconds between two refreshes of the page while a rotation runs.
const REFRESH_SECONDS: &str = "3";

const PATH: &str = "/console/settings/keys";

/// The text in the reader's language.
pub(crate) const fn tr(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// The navigation's label of this page.
pub fn nav_label(lang: Lang) -> &'static str {
    tr(lang, "Encryption keys", "暗号鍵")
}

fn status_text(lang: Lang, s: RotationStatus) -> &'static str {
    match s {
        RotationStatus::Running => tr(lang, "Re-encrypting", "再暗号化中"),
        RotationStatus::Done => tr(lang, "Done", "完了"),
        RotationStatus::Failed => tr(lang, "Failed", "失敗"),
    }
}

fn kind_text(lang: Lang, k: RotationKind) -> &'static str {
    match k {
        RotationKind::Rotate => tr(lang, "New key version", "鍵の新しい版"),
        RotationKind::Seal => tr(lang, "First encryption of stored data", "保存済みデータの初回暗号化"),
    }
}

/// A job's progress: a bar and its figures.
pub(crate) fn progress(lang: Lang, job: &KeyRotation) -> Markup {
    let total = job.rows_total.unwrap_or(0);
    let text = if job.pass > 1 {
        tr(lang, "Checking that nothing is left: {done} of {total} rows", "残りがないかの確認: {total} 行中 {done} 行")
    } else {
        tr(lang, "{done} of {total} rows", "{total} 行中 {done} 行")
    }
    .replace("{done}", &job.rows_done.to_string())
    .replace("{total}", &total.to_string());
    html! {
        @if job.status == RotationStatus::Running {
            progress value=(job.rows_done.min(total)) max=(total.max(1)) aria-label=(text) {}
            " " span.progress-text { (text) }
        } @else {
            span.progress-text { (tr(lang, "{n} values re-encrypted", "{n} 件を再暗号化").replace("{n}", &job.resealed.to_string())) }
        }
    }
}

/// The rotations, newest first.
pub(crate) fn rotations_table(ctx: &Ctx, rotations: &[KeyRotation]) -> Markup {
    let lang = ctx.lang;
    html! {
        table.table {
            thead { tr {
                th { (tr(lang, "What", "内容")) } th { (tr(lang, "Version", "版")) } th { (tr(lang, "Status", "状態")) }
                th { (tr(lang, "Progress", "進み具合")) } th { (tr(lang, "Started by", "開始した人")) }
                th { (tr(lang, "Started", "開始")) } th { (tr(lang, "Finished", "完了")) }
            } }
            tbody {
                @for job in rotations {
                    tr {
                        td { (kind_text(lang, job.kind)) }
                        td { "v" (job.target_version) }
                        td.rotation-status { (status_text(lang, job.status)) }
                        td { (progress(lang, job)) }
                        td { (job.actor.label) }
                        td { (ctx.time(job.created_at)) }
                        td { @if let Some(at) = job.finished_at { (ctx.time(at)) } }
                    }
                }
            }
        }
    }
}

fn versions(ctx: &Ctx, status: &KeyStatus) -> Markup {
    let lang = ctx.lang;
    let at = |us: i64| jiff::Timestamp::from_microsecond(us).map(|t| ctx.time(t)).unwrap_or_default();
    html! {
        table.table {
            thead { tr {
                th { (tr(lang, "Version", "版")) } th { (tr(lang, "Created", "作成")) } th { (tr(lang, "In use", "使用状況")) }
            } }
            tbody {
                @for k in status.keys.iter().rev() {
                    tr {
                        td { "v" (k.version) }
                        td { (at(k.created_at)) }
                        td {
                            @if Some(k.version) == status.current_version() {
                                (tr(lang, "Encrypts everything saved from now on", "これから保存するものすべてを暗号化"))
                            } @else if let Some(retired) = k.retired_at {
                                (tr(lang, "Retired {time}: kept only to read the operation log entries written before", "{time} に退役: それ以前の操作ログの読み取りにのみ保持")
                                    .replace("{time}", &at(retired)))
                            } @else {
                                (tr(lang, "Still reads data not yet re-encrypted", "再暗号化前のデータの読み取りに使用中"))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The keys and the rotations, refreshed while one runs.
pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let status = key_rotation::status_for(&state, &ctx.p).await?;
    let lang = ctx.lang;
    let running = status.running().is_some();
    let body = html! {
        div.card.stack {
            p { (tr(lang,
                "Everything this tenant stores is encrypted with its own data key, which only this installation's master key can unlock. Rotating the key makes a new version that encrypts everything saved from then on; the data already stored is re-encrypted in the background while everyone keeps working.",
                "このテナントが保存するデータはすべて、テナント専用のデータ鍵で暗号化されています。データ鍵はこの環境のマスター鍵でしか取り出せません。鍵を更新すると新しい版が作られ、以後に保存するものはその版で暗号化されます。保存済みのデータは、利用を止めずに裏で再暗号化されます。")) }
            @if !status.encryption_on {
                (notice_warn(tr(lang,
                    "Encryption at rest is off on this installation: there is no key to rotate. Ask the operator.",
                    "この環境では保存データの暗号化が無効です。更新する鍵がありません。運用者にお問い合わせください。")))
            } @else if status.keys.is_empty() {
                (notice_warn(tr(lang,
                    "This tenant's data was stored before encryption was switched on and is not encrypted yet. Start the first encryption below.",
                    "このテナントのデータは暗号化が有効になる前に保存されたもので、まだ暗号化されていません。下のボタンから初回の暗号化を始めてください。")))
            } @else {
                (versions(&ctx, &status))
            }
            @if running {
                p.help { (tr(lang, "This page refreshes by itself while the data is re-encrypted.", "再暗号化のあいだ、このページは自動で更新されます。")) }
            } @else if status.encryption_on {
                div.actions {
                    a.btn.btn-primary href={ (PATH) "/rotate" } {
                        @if status.keys.is_empty() { (tr(lang, "Encrypt the stored data…", "保存済みデータを暗号化…")) }
                        @else { (tr(lang, "Rotate the data key…", "データ鍵を更新…")) }
                    }
                }
            }
        }
        div.card.stack {
            h2 { (tr(lang, "Rotations", "鍵の更新履歴")) }
            @if status.rotations.is_empty() {
                (empty_state(tr(lang, "The data key has not been rotated yet.", "データ鍵はまだ更新されていません。"), None))
            } @else {
                (rotations_table(&ctx, &status.rotations))
            }
        }
    };
    let head = Head::new(Nav::Keys, nav_label(lang));
    let mut response = page(&ctx, head, body).into_response();
    if running {
        response.headers_mut().insert(header::REFRESH, HeaderValue::from_static(REFRESH_SECONDS));
    }
    Ok(response)
}

/// The confirmation: what a rotation does, beside the button that starts it.
pub async fn confirm(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let status = key_rotation::status_for(&state, &ctx.p).await?;
    let lang = ctx.lang;
    let first = status.keys.is_empty();
    let title = if first {
        tr(lang, "Encrypt the stored data", "保存済みデータの暗号化")
    } else {
        tr(lang, "Rotate the data key", "データ鍵の更新")
    };
    let body = html! {
        form.card.stack method="post" action={ (PATH) "/rotate" } {
            (csrf(ctx.csrf()))
            @if first {
                p.lead { (tr(lang,
                    "This tenant gets its own keys, and every value it stored before encryption was switched on is encrypted in the background.",
                    "このテナント専用の鍵を作り、暗号化が有効になる前に保存された値をすべて裏で暗号化します。")) }
            } @else {
                p.lead { (tr(lang,
                    "A new version of the data key encrypts everything saved from now on, and every stored value is re-encrypted with it in the background.",
                    "データ鍵の新しい版を作り、以後に保存するものをその版で暗号化します。保存済みの値もすべて、裏でその版に再暗号化します。")) }
            }
            ul.help {
                li { (tr(lang,
                    "Nobody has to stop working: reads and saves go on, and the older version keeps reading what is not re-encrypted yet.",
                    "利用を止める必要はありません。閲覧も保存もそのまま続けられ、再暗号化の済んでいないデータは古い版で読み取ります。")) }
                li { (tr(lang,
                    "The more data the tenant holds, the longer it takes. Only one rotation runs at a time.",
                    "データが多いほど時間がかかります。同時に実行できる更新は1つだけです。")) }
                li { (tr(lang,
                    "Entries of the operation log are not re-encrypted: the log's tamper-evidence covers them as stored. The old version is kept, retired, to read them.",
                    "操作ログの記録は再暗号化しません（改ざん検知が保存時の内容を対象にしているため）。それを読むために、古い版は退役させたうえで保持します。")) }
                li { (tr(lang,
                    "The start and the end are recorded in the operation log.",
                    "開始と完了は操作ログに記録されます。")) }
            }
            div.actions {
                button.btn.btn-primary type="submit" { (title) }
                a.btn.btn-ghost href=(PATH) { (tr(lang, "Cancel", "キャンセル")) }
            }
        }
    };
    let head = Head::new(Nav::Keys, title).crumb(nav_label(lang), PATH);
    Ok(page(&ctx, head, body).into_response())
}

/// Starts the rotation, then shows the page with its progress (post-redirect-get).
pub async fn rotate(State(state): State<AppState>, Posted { ctx, form: _ }: Posted) -> AppResult<Response> {
    // Checked before anything else, so that the refusal does not depend on the form.
    ctx.p.require(Permission::SettingsManage)?;
    key_rotation::start_for(&state, &ctx.p).await?;
    Ok(Redirect::to(PATH).into_response())
}
