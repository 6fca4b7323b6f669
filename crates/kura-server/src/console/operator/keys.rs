//! Tenants' data keys from the operator's side (DAT-2): every tenant's current key version and
//! its last rotation with the progress (refreshed while one runs), and rotating a tenant's data
//! key after a confirmation page. The master key is rotated with `kura keys rotate-master`
//! (docs/operations.md).

use crate::console::extract::{OpCtx, OpPosted};
use crate::console::layout::{Head, Nav, op_page};
use crate::console::pages::keys::{progress, tr};
use crate::console::widgets::{csrf, empty_state, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::key_rotation;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Tenant, TenantId};
use maud::html;

const PATH: &str = "/operator/keys";

fn nav_label(lang: crate::console::i18n::Lang) -> &'static str {
    tr(lang, "Encryption keys", "暗号鍵")
}

/// Every tenant with its key version and last rotation.
pub async fn overview(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    let lang = ctx.lang;
    let tenants = state.store.tenants().await?;
    let mut rows = Vec::with_capacity(tenants.len());
    for tn in tenants {
        let status = key_rotation::status(&state, &tn).await?;
        rows.push((tn, status));
    }
    let running = rows.iter().any(|(_, s)| s.running().is_some());
    let encryption_on = state.store.vault().is_some();
    let body = html! {
        div.card.stack {
            p { (tr(lang,
                "Each tenant's values are encrypted with its own data key, wrapped by this installation's master key. Rotating a tenant's data key re-encrypts its stored values in the background while the tenant keeps working. The master key is rotated on the command line: kura keys rotate-master.",
                "各テナントの値は、テナント専用のデータ鍵で暗号化され、データ鍵はこの環境のマスター鍵で保護されています。データ鍵を更新すると、テナントの利用を止めずに保存済みの値を裏で再暗号化します。マスター鍵の更新はコマンドラインで行います: kura keys rotate-master")) }
            @if !encryption_on {
                (notice_warn(tr(lang, "Encryption at rest is off on this installation.", "この環境では保存データの暗号化が無効です。")))
            }
            @if rows.is_empty() {
                (empty_state(tr(lang, "No tenants yet.", "テナントはまだありません。"), None))
            } @else {
                table.table {
                    thead { tr {
                        th { (tr(lang, "Tenant", "テナント")) } th { (tr(lang, "Data key", "データ鍵")) }
                        th { (tr(lang, "Last rotation", "直近の更新")) } th {}
                    } }
                    tbody {
                        @for (tn, status) in &rows {
                            tr {
                                td { (tn.slug) }
                                td {
                                    @match status.current_version() {
                                        Some(v) => { "v" (v) }
                                        None => { (tr(lang, "Not encrypted yet", "未暗号化")) }
                                    }
                                }
                                td.rotation-status {
                                    @if let Some(job) = status.rotations.first() { (progress(lang, job)) }
                                }
                                td {
                                    @if encryption_on && status.running().is_none() {
                                        a.btn.btn-ghost.btn-small href={ "/operator/tenants/" (tn.id) "/keys/rotate" } {
                                            (tr(lang, "Rotate…", "更新…"))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut response = op_page(&ctx, Head::new(Nav::Keys, nav_label(lang)), body).into_response();
    if running {
        response.headers_mut().insert(header::REFRESH, HeaderValue::from_static("3"));
    }
    Ok(response)
}

async fn tenant(state: &AppState, id: &str) -> AppResult<Tenant> {
    let id: uuid::Uuid = id.parse().map_err(|_| AppError::NotFound("tenant"))?;
    state.store.tenant(TenantId::from_uuid(id)).await?.ok_or(AppError::NotFound("tenant"))
}

/// The confirmation for one tenant.
pub async fn confirm(State(state): State<AppState>, ctx: OpCtx, Path(id): Path<String>) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    let lang = ctx.lang;
    let title = tr(lang, "Rotate the tenant's data key", "テナントのデータ鍵の更新");
    let body = html! {
        form.card.stack method="post" action={ "/operator/tenants/" (tn.id) "/keys/rotate" } {
            (csrf(&ctx.p.csrf_token))
            p.lead { (tr(lang, "Tenant: ", "テナント: ")) strong { (tn.slug) } }
            ul.help {
                li { (tr(lang,
                    "A new data-key version encrypts everything the tenant saves from now on; its stored values are re-encrypted in the background without stopping the tenant.",
                    "データ鍵の新しい版を作り、テナントが以後に保存するものをその版で暗号化します。保存済みの値は、テナントの利用を止めずに裏で再暗号化します。")) }
                li { (tr(lang,
                    "A tenant whose data was stored before encryption was switched on gets its first keys, and its stored values are encrypted.",
                    "暗号化が有効になる前にデータを保存したテナントには最初の鍵を作り、保存済みの値を暗号化します。")) }
                li { (tr(lang,
                    "Recorded in the tenant's operation log and in the platform's, under your name.",
                    "テナントの操作ログと基盤の操作ログに、あなたの名前で記録されます。")) }
            }
            div.actions {
                button.btn.btn-primary type="submit" { (title) }
                a.btn.btn-ghost href=(PATH) { (tr(lang, "Cancel", "キャンセル")) }
            }
        }
    };
    let head = Head::new(Nav::Keys, title).crumb(nav_label(lang), PATH);
    Ok(op_page(&ctx, head, body).into_response())
}

/// Starts the rotation for the tenant, then shows the overview.
pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OpPosted { ctx, form: _ }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    key_rotation::start(&state, &tn, ctx.p.actor.clone()).await?;
    Ok(Redirect::to(PATH).into_response())
}
