//! A user's views of a collection: the columns of its records table that the console shows
//! them, remembered per user and collection. A change is audited like any other (LOG-1).

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, Operation, Permission};
use kura_store::CollectionAt;

/// Record metadata that a records table can show besides the fields.
pub const META_COLUMNS: [&str; 2] = ["created_at", "updated_at"];

/// The columns the signed-in user chose for this collection, as far as they still exist;
/// `None` when they never chose (or none of their choice is left).
pub async fn columns(state: &AppState, p: &TenantPrincipal, at: &CollectionAt) -> AppResult<Option<Vec<String>>> {
    let g = p.require(Permission::RecordsRead)?;
    let Some(user) = p.user_id() else { return Ok(None) };
    let c = &at.collection;
    let Some(chosen) = state.store.view_columns(g.tenant_id(), user, c.id).await? else { return Ok(None) };
    let kept: Vec<String> =
        chosen.into_iter().filter(|n| c.field(n).is_some() || META_COLUMNS.contains(&n.as_str())).collect();
    Ok((!kept.is_empty()).then_some(kept))
}

/// Remembers the columns the signed-in user wants to see, in the collection's order.
pub async fn save_columns(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    chosen: &[&str],
) -> AppResult<Vec<String>> {
    let g = p.require(Permission::RecordsRead)?;
    let user = p.user_id().ok_or_else(|| AppError::BadRequest("only a signed-in user has views".into()))?;
    let c = &at.collection;
    if c.tenant_id != g.tenant_id() {
        return Err(AppError::NotFound("collection"));
    }
    let columns: Vec<&str> =
        c.fields.iter().map(|f| f.name.as_str()).chain(META_COLUMNS).filter(|n| chosen.contains(n)).collect();
    if columns.is_empty() {
        return Err(AppError::BadRequest("choose at least one column".into()));
    }
    let mut w = g.begin(&state.store).await?;
    w.save_view_columns(g.tenant_id(), user, c.id, &columns).await?;
    w.commit(
        AuditRecord::success(Operation::ViewUpdate, format!("collection:{}", c.name))
            .with_detail(format!("columns={}", columns.join(","))),
    )
    .await?;
    Ok(columns.into_iter().map(str::to_owned).collect())
}
