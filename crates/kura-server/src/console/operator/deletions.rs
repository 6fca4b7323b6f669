//! Tenants deleted at their contract's end (TEN-4): the list under the tenants, and the download
//! of each one's signed deletion certificate.

use crate::console::extract::OpCtx;
use crate::console::msg::Msg;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kura_store::TenantDeletion;
use maud::{Markup, html};

/// The table of deleted tenants, each with its certificate to download; nothing when none.
pub fn section(ctx: &OpCtx, deletions: &[TenantDeletion]) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        @if !deletions.is_empty() {
            section.stack {
                h2 { (t(Msg::DeletedTenants)) }
                p.help { (t(Msg::DeletedTenantsHelp)) }
                div.table-wrap { table.data {
                    caption.visually-hidden { (t(Msg::DeletedTenants)) }
                    thead { tr {
                        th scope="col" { (t(Msg::TenantName)) } th scope="col" { (t(Msg::TenantId)) }
                        th scope="col" { (t(Msg::ContractEnd)) } th scope="col" { (t(Msg::KeysDestroyedAt)) }
                        th scope="col" { (t(Msg::DeletionCertificate)) }
                    } }
                    tbody { @for d in deletions { tr {
                        th scope="row" { (d.display_name) }
                        td.mono { (d.slug) }
                        td.nowrap { (d.contract_end) }
                        td.nowrap { (d.keys_destroyed_at.strftime("%Y-%m-%d %H:%M UTC")) }
                        td { a href={ "/operator/deletions/" (d.tenant_id) "/certificate" } download { (t(Msg::Download)) } }
                    } } }
                } }
            }
        }
    }
}

/// The signed certificate of one deleted tenant, as a text file.
pub async fn certificate(
    State(state): State<AppState>,
    _ctx: OpCtx,
    Path(id): Path<uuid::Uuid>,
) -> AppResult<Response> {
    let deletions = state.store.tenant_deletions().await?;
    let d = deletions.into_iter().find(|d| d.tenant_id.as_uuid() == id).ok_or(AppError::NotFound("deletion"))?;
    let disposition = format!("attachment; filename=\"kura-deletion-{}.note\"", d.slug);
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        d.certificate,
    )
        .into_response())
}
