//! Collections and their fields (DAT-4): defined by tenant administrators.

use crate::auth::{Granted, TenantPrincipal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, Collection, CollectionSpec, Key, Operation, Permission};
use kura_store::CollectionAt;
use std::sync::Arc;

/// Collections are readable by anyone who may read records (they are the schema of the data).
pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<Collection>> {
    let g = p.require(Permission::RecordsRead)?;
    Ok(state.store.collections(g.tenant_id()).await?)
}

pub async fn get(state: &AppState, p: &TenantPrincipal, name: &str) -> AppResult<Collection> {
    let g = p.require(Permission::RecordsRead)?;
    find(state, g.tenant_id(), name).await
}

/// A collection by name with where its records stand, for a request that then reads or writes
/// several times in it (the console's record pages): looked up once, handed to the `*_in`
/// functions of [`super::records`].
pub async fn at(state: &AppState, p: &TenantPrincipal, name: &str) -> AppResult<CollectionAt> {
    let g = p.require(Permission::RecordsRead)?;
    find_at(state, &g, name).await
}

pub(crate) async fn find(state: &AppState, tenant: kura_domain::TenantId, name: &str) -> AppResult<Collection> {
    Ok(Arc::unwrap_or_clone(find_by_name(state, tenant, name).await?.collection))
}

pub(crate) async fn find_by_name(
    state: &AppState,
    tenant: kura_domain::TenantId,
    name: &str,
) -> AppResult<CollectionAt> {
    let key = Key::parse(name).map_err(|_| AppError::NotFound("collection"))?;
    state.store.collection_at(tenant, &key).await?.ok_or(AppError::NotFound("collection"))
}

/// A collection by name with where its records stand, for reading and writing them (see
/// [`kura_store::Store::collection_at`]). Uses the head read with the principal when the request
/// named this collection.
pub(crate) async fn find_at(state: &AppState, g: &Granted<'_>, name: &str) -> AppResult<CollectionAt> {
    match &g.principal().collection {
        Some((named, Some(head))) if named.as_str() == name => {
            state.store.collection_at_head(g.tenant_id(), *head).await?.ok_or(AppError::NotFound("collection"))
        }
        // Looked up with the credential, and not there.
        Some((named, None)) if named.as_str() == name => Err(AppError::NotFound("collection")),
        _ => find_by_name(state, g.tenant_id(), name).await,
    }
}

pub async fn create(state: &AppState, p: &TenantPrincipal, spec: CollectionSpec) -> AppResult<Collection> {
    let g = p.require(Permission::CollectionsManage)?;
    spec.check()?;
    let mut w = g.begin(&state.store).await?;
    let c = w.insert_collection(g.tenant_id(), &spec).await?;
    w.commit(
        AuditRecord::success(Operation::CollectionCreate, format!("collection:{}", spec.name))
            .with_detail(format!("fields={}", field_names(&spec))),
    )
    .await?;
    Ok(c)
}

/// Replaces a collection's label, memo and fields. The name in the spec must match.
///
/// Whether a field holds personal information decides who sees its values (IAM-3), so changing
/// it needs `pii.read` besides `collections.manage`: marking or unmarking a field, removing a
/// marked field, or adding an unmarked field under a name whose values are still stored (a
/// removed field's values stay in the records and would be shown again).
pub async fn update(state: &AppState, p: &TenantPrincipal, name: &str, spec: CollectionSpec) -> AppResult<Collection> {
    let g = p.require(Permission::CollectionsManage)?;
    let at = find_by_name(state, g.tenant_id(), name).await?;
    let existing = &at.collection;
    if spec.name != existing.name {
        return Err(AppError::BadRequest(
            "a collection cannot be renamed; its name is used in URLs and filters".into(),
        ));
    }
    spec.check()?;
    let mut changes = pii_changes(existing, &spec);
    changes.extend(revived_fields(state, &at, &spec).await?);
    if !changes.is_empty() && !p.can(Permission::PiiRead) {
        let names = changes.iter().map(|c| c.name).collect::<Vec<_>>().join(", ");
        return Err(AppError::ForbiddenOther(format!(
            "changing which fields hold personal information requires pii.read (fields: {names})"
        )));
    }
    let mut detail = format!("fields={}", field_names(&spec));
    for kind in [PiiChange::Marked, PiiChange::Unmarked, PiiChange::Removed, PiiChange::Revived] {
        let names: Vec<&str> = changes.iter().filter(|c| c.kind == kind).map(|c| c.name).collect();
        if !names.is_empty() {
            detail.push_str(&format!(" pii_{}={}", kind.as_str(), names.join(",")));
        }
    }
    let mut w = g.begin(&state.store).await?;
    let c = w.update_collection(g.tenant_id(), existing.id, &spec).await?;
    w.commit(
        AuditRecord::success(Operation::CollectionUpdate, format!("collection:{}", spec.name)).with_detail(detail),
    )
    .await?;
    Ok(c)
}

/// How a collection update changes what is personal information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PiiChange {
    /// An existing field becomes personal information.
    Marked,
    /// An existing field stops being personal information.
    Unmarked,
    /// A field holding personal information is removed.
    Removed,
    /// A field is added, unmarked, under a name whose values are still stored.
    Revived,
}

impl PiiChange {
    fn as_str(self) -> &'static str {
        match self {
            Self::Marked => "marked",
            Self::Unmarked => "unmarked",
            Self::Removed => "removed",
            Self::Revived => "revived",
        }
    }
}

#[derive(Debug)]
struct FieldPiiChange<'a> {
    name: &'a str,
    kind: PiiChange,
}

/// The personal-information changes between a collection and its new definition, except
/// revivals (which need the records).
fn pii_changes<'a>(old: &'a Collection, new: &'a CollectionSpec) -> Vec<FieldPiiChange<'a>> {
    let mut out = Vec::new();
    for f in &old.fields {
        match new.fields.iter().find(|n| n.name == f.name) {
            Some(n) if n.pii && !f.pii => out.push(FieldPiiChange { name: n.name.as_str(), kind: PiiChange::Marked }),
            Some(n) if !n.pii && f.pii => out.push(FieldPiiChange { name: n.name.as_str(), kind: PiiChange::Unmarked }),
            Some(_) => {}
            None if f.pii => out.push(FieldPiiChange { name: f.name.as_str(), kind: PiiChange::Removed }),
            None => {}
        }
    }
    out
}

/// New unmarked fields whose name still holds values in some record.
async fn revived_fields<'a>(
    state: &AppState,
    at: &CollectionAt,
    new: &'a CollectionSpec,
) -> AppResult<Vec<FieldPiiChange<'a>>> {
    let added: Vec<&str> = new
        .fields
        .iter()
        .filter(|f| !f.pii && at.collection.field(f.name.as_str()).is_none())
        .map(|f| f.name.as_str())
        .collect();
    if added.is_empty() {
        return Ok(Vec::new());
    }
    let records = state.store.records_at(at).await?;
    Ok(added
        .into_iter()
        .filter(|name| records.iter().any(|r| r.data.contains_key(name)))
        .map(|name| FieldPiiChange { name, kind: PiiChange::Revived })
        .collect())
}

/// Deletes a collection with all its records.
pub async fn delete(state: &AppState, p: &TenantPrincipal, name: &str) -> AppResult<u64> {
    let g = p.require(Permission::CollectionsManage)?;
    let existing = find(state, g.tenant_id(), name).await?;
    let mut w = g.begin(&state.store).await?;
    let n = w.delete_collection(g.tenant_id(), existing.id).await?;
    w.commit(
        AuditRecord::success(Operation::CollectionDelete, format!("collection:{}", existing.name))
            .with_detail(format!("records_deleted={n}")),
    )
    .await?;
    Ok(n)
}

fn field_names(spec: &CollectionSpec) -> String {
    spec.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(",")
}
