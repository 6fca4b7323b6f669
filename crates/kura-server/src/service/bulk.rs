//! Bulk update and bulk delete (DAT-6): the records a filter and a keyword choose, changed or
//! deleted in one operation with one audit entry, all or none.
//!
//! The author first sees how many records the selection holds and a sample of them
//! ([`preview`]), then confirms by giving that count back. The operation chooses the records
//! again once it holds the store's writer, so that no other write of this node lands between
//! choosing and changing them: if the count is no longer the one confirmed, or a chosen record
//! changes meanwhile (another node), nothing is changed and the author is asked to look again.

use super::collections::find_by_name;
use super::records::{RecordView, own, patch, view};
use crate::auth::{Granted, TenantPrincipal};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, Collection, ListQuery, Operation, Permission, Record, RecordData};
use kura_store::CollectionAt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most records one bulk operation changes. The operation holds the store's writer while
/// it runs, so every other write waits for it; a larger change is made in steps, by a narrower
/// filter.
pub const MAX_RECORDS: u64 = 10_000;

/// How many records a preview shows.
pub const SAMPLE: u32 = 5;

/// Which records: the same filter language and keyword search as a listing.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Selection {
    /// Filter expression, e.g. `plan = 'trial' && created_at < '2025-04-01'`.
    pub filter: Option<String>,
    /// Free text matched against every visible field.
    pub q: Option<String>,
}

impl Selection {
    fn query(&self, c: &Collection, pii: bool, per_page: u32) -> AppResult<ListQuery> {
        Ok(ListQuery::parse(c, self.filter.as_deref(), self.q.as_deref(), None, Some(1), Some(per_page), pii)?)
    }

    /// How the audit entry names the selection.
    fn describe(&self) -> String {
        let part = |name: &str, v: &Option<String>| {
            v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(|v| format!("{name}={v}"))
        };
        let parts: Vec<String> = [part("filter", &self.filter), part("q", &self.q)].into_iter().flatten().collect();
        if parts.is_empty() { "all records".to_owned() } else { parts.join("; ") }
    }
}

/// A bulk delete: the selection and the count its author confirmed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filter": "plan = 'trial' && created_at < '2025-04-01'", "expected_count": 120}))]
pub struct BulkDelete {
    /// Filter expression, as for a listing.
    pub filter: Option<String>,
    /// Free text matched against every visible field, as for a listing.
    pub q: Option<String>,
    /// How many records the author saw selected (the `total` of a listing with the same filter
    /// and keyword); the operation is refused if the selection holds another number.
    pub expected_count: u64,
}

/// A bulk update: the selection, the values to set, and the count its author confirmed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"filter": "plan = 'trial'", "set": {"plan": "basic"}, "expected_count": 42}))]
pub struct BulkUpdate {
    /// Filter expression, as for a listing.
    pub filter: Option<String>,
    /// Free text matched against every visible field, as for a listing.
    pub q: Option<String>,
    /// The fields to set on every selected record (`null` clears one).
    #[schema(value_type = crate::api::RecordValues)]
    pub set: Map<String, Value>,
    /// As for [`BulkDelete::expected_count`].
    pub expected_count: u64,
}

impl BulkDelete {
    pub fn selection(&self) -> Selection {
        Selection { filter: self.filter.clone(), q: self.q.clone() }
    }
}

impl BulkUpdate {
    pub fn selection(&self) -> Selection {
        Selection { filter: self.filter.clone(), q: self.q.clone() }
    }
}

/// What a bulk operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"matched": 42, "changed": 40}))]
pub struct BulkOutcome {
    /// Records the selection held.
    pub matched: u64,
    /// Records changed or deleted (an update leaves records that already hold the values alone).
    pub changed: u64,
}

/// The records a selection holds now, and the first few of them as the reader sees them.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub total: u64,
    pub sample: Vec<RecordView>,
}

/// What [`preview`] is for: the permission the operation itself will need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Update,
    Delete,
}

impl Kind {
    fn permission(self) -> Permission {
        match self {
            Self::Update => Permission::RecordsWrite,
            Self::Delete => Permission::RecordsDelete,
        }
    }
}

/// How many records `selection` holds in `at`, with a sample, for a `kind` of operation.
pub async fn preview(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    selection: &Selection,
    kind: Kind,
) -> AppResult<Preview> {
    let g = p.require(kind.permission())?;
    p.require(Permission::RecordsRead)?;
    own(&g, at)?;
    let c = &at.collection;
    let pii = g.pii_visible();
    let query = selection.query(c, pii, SAMPLE)?;
    let records = state.store.records_at(at).await?;
    let page = records.list(c, &query, pii);
    Ok(Preview { total: page.total, sample: page.items.into_iter().map(|r| view(c, r.clone(), pii)).collect() })
}

/// Deletes the records `selection` holds in collection `name`, if they are `expected` in number.
pub async fn delete(
    state: &AppState,
    p: &TenantPrincipal,
    name: &str,
    selection: &Selection,
    expected: u64,
) -> AppResult<BulkOutcome> {
    let g = p.require(Permission::RecordsDelete)?;
    let mut w = g.begin(&state.store).await?;
    let (at, chosen) = choose(state, &g, name, selection, expected).await?;
    let c = &at.collection;
    let ids: Vec<_> = chosen.iter().map(|r| (r.id, r.version)).collect();
    let deleted = w.delete_records(g.tenant_id(), c.id, &ids).await?;
    let detail = format!("{}; deleted={deleted}", selection.describe());
    w.commit(AuditRecord::success(Operation::RecordBulkDelete, format!("collection:{}", c.name)).with_detail(detail))
        .await?;
    Ok(BulkOutcome { matched: expected, changed: deleted })
}

/// Sets `set` on the records `selection` holds in collection `name`, if they are `expected` in
/// number. A value the collection refuses is reported as for a single update, and nothing
/// changes.
pub async fn update(
    state: &AppState,
    p: &TenantPrincipal,
    name: &str,
    selection: &Selection,
    set: &Map<String, Value>,
    expected: u64,
) -> AppResult<BulkOutcome> {
    let g = p.require(Permission::RecordsWrite)?;
    if set.is_empty() {
        return Err(AppError::BadRequest("set names no field to change".to_owned()));
    }
    let mut w = g.begin(&state.store).await?;
    let (at, chosen) = choose(state, &g, name, selection, expected).await?;
    let c = &at.collection;
    if !g.pii_visible()
        && let Some(f) = c.fields.iter().find(|f| f.pii && set.contains_key(f.name.as_str()))
    {
        return Err(AppError::ForbiddenOther(format!(
            "{} holds personal information; changing it requires pii.read",
            f.name
        )));
    }
    let mut changes: Vec<(&Record, RecordData)> = Vec::new();
    let mut fields: Vec<&str> = Vec::new();
    for r in &chosen {
        let (data, changed) = patch(c, set, &r.data)?;
        if changed.is_empty() {
            continue;
        }
        for f in changed {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
        changes.push((r, data));
    }
    let updated = w.update_records(g.tenant_id(), c.id, &changes).await?.len() as u64;
    let detail =
        format!("{}; matched={expected}; changed={updated}; fields={}", selection.describe(), fields.join(","));
    w.commit(AuditRecord::success(Operation::RecordBulkUpdate, format!("collection:{}", c.name)).with_detail(detail))
        .await?;
    Ok(BulkOutcome { matched: expected, changed: updated })
}

/// The collection as it stands now and the records `selection` holds in it, checked against the
/// count the author confirmed. Called while holding the writer, so that this node writes
/// nothing between choosing and changing.
async fn choose(
    state: &AppState,
    g: &Granted<'_>,
    name: &str,
    selection: &Selection,
    expected: u64,
) -> AppResult<(CollectionAt, Vec<Record>)> {
    let at = find_by_name(state, g.tenant_id(), name).await?;
    let c = &at.collection;
    let pii = g.pii_visible();
    let query = selection.query(c, pii, 1)?;
    if expected > MAX_RECORDS {
        return Err(too_many(expected));
    }
    let records = state.store.records_at(&at).await?;
    let chosen: Vec<Record> = records.iter().filter(|r| query.matches(c, r, pii)).cloned().collect();
    let n = chosen.len() as u64;
    if n > MAX_RECORDS {
        return Err(too_many(n));
    }
    if n != expected {
        return Err(AppError::Conflict(format!(
            "the selection now holds {n} records, not the {expected} confirmed; nothing was changed, review it again"
        )));
    }
    Ok((at, chosen))
}

fn too_many(n: u64) -> AppError {
    AppError::BadRequest(format!(
        "a bulk operation changes at most {MAX_RECORDS} records and this selection holds {n}; narrow the filter and repeat"
    ))
}
