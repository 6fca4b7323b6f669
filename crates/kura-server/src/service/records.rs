//! Records of a collection: list with filter, search, sort and paging; create, read, update,
//! delete. Personal-information fields are masked for principals without `pii.read` (IAM-3).

use super::collections::find_at;
use crate::auth::{Granted, TenantPrincipal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{
    AuditRecord, Collection, ListQuery, Operation, Page, Permission, Record, RecordData, RecordId, WriteMode,
};
use kura_store::{CollectionAt, StoreError, Write};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Query parameters of a record listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Filter expression, e.g. `points > 100 && plan = 'premium'`.
    #[param(example = "points > 100 && plan = 'premium'")]
    pub filter: Option<String>,
    /// Free text matched against every visible field.
    #[param(example = "山田")]
    pub q: Option<String>,
    /// Comma-separated fields, `-` for descending, e.g. `-joined,name`.
    #[param(example = "-joined,name")]
    pub sort: Option<String>,
    /// 1-based page number.
    #[param(minimum = 1, maximum = 4294967295_u64, example = 1)]
    pub page: Option<u32>,
    /// Records per page (1–500, default 50).
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub per_page: Option<u32>,
}

/// A record as clients see it. Personal information is `••••••` without `pii.read`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01", "collection": "customers", "version": 3,
    "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T01:30:00Z",
    "data": {"name": "山田 太郎", "kana": "ヤマダ タロウ", "points": 120, "plan": "premium"}}))]
pub struct RecordView {
    #[schema(value_type = String, format = Uuid)]
    pub id: RecordId,
    pub collection: String,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[schema(value_type = crate::api::RecordValues)]
    pub data: Map<String, Value>,
}

/// A page of records.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"items": [{"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01", "collection": "customers",
    "version": 3, "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T01:30:00Z",
    "data": {"name": "山田 太郎", "points": 120}}], "page": 1, "per_page": 50, "total": 1}))]
pub struct RecordPage {
    pub items: Vec<RecordView>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

pub(crate) fn view(c: &Collection, mut r: Record, pii_visible: bool) -> RecordView {
    if !pii_visible {
        c.mask_pii(&mut r.data);
    }
    // Values of fields removed from the collection stay stored but are no longer shown.
    let data = r.data.iter().filter(|(k, _)| c.field(k).is_some()).map(|(k, v)| (k.clone(), v.to_json())).collect();
    RecordView {
        id: r.id,
        collection: c.name.to_string(),
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        data,
    }
}

/// Refuses a collection looked up for another tenant (TEN-2): the `*_in` functions take one
/// from their caller.
pub(crate) fn own(g: &Granted<'_>, at: &CollectionAt) -> AppResult<()> {
    if at.collection.tenant_id == g.tenant_id() { Ok(()) } else { Err(AppError::NotFound("collection")) }
}

pub async fn list(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    params: &ListParams,
) -> AppResult<RecordPage> {
    let g = p.require(Permission::RecordsRead)?;
    let at = find_at(state, &g, collection).await?;
    list_in(state, p, &at, params).await
}

/// [`list`] in a collection the caller already looked up (see [`super::collections::at`]).
pub async fn list_in(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    params: &ListParams,
) -> AppResult<RecordPage> {
    let g = p.require(Permission::RecordsRead)?;
    own(&g, at)?;
    let c = &at.collection;
    let pii = g.pii_visible();
    let query = ListQuery::parse(
        c,
        params.filter.as_deref(),
        params.q.as_deref(),
        params.sort.as_deref(),
        params.page,
        params.per_page,
        pii,
    )?;
    let records = state.store.records_at(at).await?;
    let Page { items, page, per_page, total } = records.list(c, &query, pii);
    if !p.can(Permission::RecordsExport) {
        let cap = state.settings.limits.records_per_minute_without_export;
        let who = p.actor().id.unwrap_or_default();
        if !state.read_budget.take(g.tenant_id(), who, items.len() as u64, cap, state.clock.now()) {
            return Err(AppError::ForbiddenOther(format!(
                "listing more than {cap} records a minute requires the records.export permission; \
                 wait a minute or ask an administrator for it"
            )));
        }
    }
    Ok(RecordPage { items: items.into_iter().map(|r| view(c, r.clone(), pii)).collect(), page, per_page, total })
}

pub async fn get(state: &AppState, p: &TenantPrincipal, collection: &str, id: RecordId) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsRead)?;
    let at = find_at(state, &g, collection).await?;
    get_in(state, p, &at, id).await
}

/// [`get`] in a collection the caller already looked up.
pub async fn get_in(state: &AppState, p: &TenantPrincipal, at: &CollectionAt, id: RecordId) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsRead)?;
    own(&g, at)?;
    let r = state.store.record_at(at, id).await?.ok_or(AppError::NotFound("record"))?;
    Ok(view(&at.collection, r, g.pii_visible()))
}

pub async fn create(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    input: &Map<String, Value>,
) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsWrite)?;
    let at = find_at(state, &g, collection).await?;
    create_in(state, p, &at, input).await
}

/// [`create`] in a collection the caller already looked up.
pub async fn create_in(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    input: &Map<String, Value>,
) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsWrite)?;
    own(&g, at)?;
    let c = &at.collection;
    let data = c.validate(input, WriteMode::Create, None)?;
    let fields = data.keys().cloned().collect::<Vec<_>>().join(",");
    let audit = |r: &Record| {
        AuditRecord::success(Operation::RecordCreate, format!("record:{}/{}", c.name, r.id))
            .with_detail(format!("fields={fields}"))
    };
    let (r, _) = g.create_record(&state.store, c.id, &data, audit).await?;
    Ok(view(c, r, g.pii_visible()))
}

/// Changes the given fields of a record (`null` clears one). With `expected_version`, refuses if
/// someone else changed the record since it was read. A principal without `pii.read` cannot
/// change personal-information fields (they never saw the values).
pub async fn update(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    id: RecordId,
    input: &Map<String, Value>,
    expected_version: Option<i64>,
) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsWrite)?;
    let at = find_at(state, &g, collection).await?;
    update_in(state, p, &at, id, input, expected_version).await
}

/// [`update`] in a collection the caller already looked up.
pub async fn update_in(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    id: RecordId,
    input: &Map<String, Value>,
    expected_version: Option<i64>,
) -> AppResult<RecordView> {
    let g = p.require(Permission::RecordsWrite)?;
    own(&g, at)?;
    let c = &at.collection;
    if !g.pii_visible()
        && let Some(f) = c.fields.iter().find(|f| f.pii && input.contains_key(f.name.as_str()))
    {
        return Err(AppError::ForbiddenOther(format!(
            "{} holds personal information; changing it requires pii.read",
            f.name
        )));
    }
    // First, optimistically: read the record outside the write (usually from the snapshot), and
    // hand the writer the change to make only if its version is still the one read, so that
    // the serialised writer does not wait on the read. If it moved on (or is gone), or the
    // client expects another version than the one read, the read inside a write below settles
    // it: the change applies to the current version, or the client hears why not.
    if let Some(current) = state.store.record_at(at, id).await?
        && expected_version.is_none_or(|v| v == current.version)
    {
        let (data, changed) = patch(c, input, &current.data)?;
        let audit = |r: &Record| update_audit(c, r, &changed);
        match g.update_record(&state.store, &current, &data, audit).await {
            Ok((r, _)) => return Ok(view(c, r, g.pii_visible())),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // Then read inside the write, where nobody can change the record before this write commits.
    let mut w = g.begin(&state.store).await?;
    let current = w.record(g.tenant_id(), c.id, id).await?.ok_or(AppError::NotFound("record"))?;
    let (data, changed) = patch(c, input, &current.data)?;
    let r = w.update_record(g.tenant_id(), c.id, id, expected_version, &data).await?;
    commit_update(w, c, r, &changed, g.pii_visible()).await
}

/// The record's data with `input` applied, and the names of the fields that changed.
pub(crate) fn patch<'c>(
    c: &'c Collection,
    input: &Map<String, Value>,
    existing: &RecordData,
) -> AppResult<(RecordData, Vec<&'c str>)> {
    let data = c.validate(input, WriteMode::Patch, Some(existing))?;
    let changed = c.fields.iter().map(|f| f.name.as_str()).filter(|n| data.get(n) != existing.get(n)).collect();
    Ok((data, changed))
}

async fn commit_update(w: Write, c: &Collection, r: Record, changed: &[&str], pii: bool) -> AppResult<RecordView> {
    w.commit(update_audit(c, &r, changed)).await?;
    Ok(view(c, r, pii))
}

fn update_audit(c: &Collection, r: &Record, changed: &[&str]) -> AuditRecord {
    AuditRecord::success(Operation::RecordUpdate, format!("record:{}/{}", c.name, r.id))
        .with_detail(format!("changed={}", changed.join(",")))
}

pub async fn delete(state: &AppState, p: &TenantPrincipal, collection: &str, id: RecordId) -> AppResult<()> {
    let g = p.require(Permission::RecordsDelete)?;
    let at = find_at(state, &g, collection).await?;
    delete_in(state, p, &at, id).await
}

/// [`delete`] in a collection the caller already looked up.
pub async fn delete_in(state: &AppState, p: &TenantPrincipal, at: &CollectionAt, id: RecordId) -> AppResult<()> {
    let g = p.require(Permission::RecordsDelete)?;
    own(&g, at)?;
    let c = &at.collection;
    let mut w = g.begin(&state.store).await?;
    w.delete_record(g.tenant_id(), c.id, id).await?;
    w.commit(AuditRecord::success(Operation::RecordDelete, format!("record:{}/{}", c.name, id))).await?;
    Ok(())
}
