//! Possible duplicates (PUB-2): before a record is saved, the records that already hold the same
//! value in a field that asks for a warning (`FieldDef::warn_duplicates`), such as an email
//! address. A warning only: the person saving decides. Uniqueness itself is enforced once values
//! have blind indexes.

use super::records::{RecordView, view};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{FieldDef, FieldType, FieldValue, Permission, RecordData};
use kura_store::CollectionAt;

/// How many records a warning names at most, per field.
const SHOWN: usize = 3;

/// One field whose value other records already hold.
#[derive(Debug)]
pub struct Duplicate {
    pub field: String,
    /// Some of the records holding it, as the caller may see them.
    pub records: Vec<RecordView>,
    /// How many records hold it.
    pub count: usize,
}

/// The form of a value under which two values count as the same: email addresses ignore case,
/// phone numbers compare their digits, other text ignores case and surrounding space.
fn key(f: &FieldDef, v: &FieldValue) -> Option<String> {
    let FieldValue::Text(s) = v else { return None };
    let k = match f.field_type {
        FieldType::Phone => s.chars().filter(char::is_ascii_digit).collect(),
        _ => s.trim().to_lowercase(),
    };
    (!k.is_empty()).then_some(k)
}

/// The fields of `data` (validated, as it would be saved) whose value other records of the
/// collection already hold. `editing` is the record being changed: it is not its own duplicate,
/// and a value it already holds (however typed) was accepted before and is not checked again.
/// Only fields the caller can see are compared.
pub async fn find(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    data: &RecordData,
    editing: Option<&RecordView>,
) -> AppResult<Vec<Duplicate>> {
    let g = p.require(Permission::RecordsRead)?;
    let c = &at.collection;
    if c.tenant_id != g.tenant_id() {
        return Err(AppError::NotFound("collection"));
    }
    let pii = g.pii_visible();
    let held = |f: &FieldDef| {
        let v = editing?.data.get(f.name.as_str())?.as_str()?;
        key(f, &FieldValue::Text(v.to_owned()))
    };
    let wanted: Vec<(&FieldDef, String)> = c
        .fields
        .iter()
        .filter(|f| f.warn_duplicates && (pii || !f.pii))
        .filter_map(|f| Some((f, key(f, data.get(f.name.as_str())?)?)))
        .filter(|(f, k)| held(f).as_ref() != Some(k))
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let except = editing.map(|r| r.id);
    let snapshot = state.store.records_at(at).await?;
    let mut found: Vec<Duplicate> = Vec::new();
    for (f, k) in wanted {
        let name = f.name.as_str();
        let same: Vec<_> = snapshot
            .iter()
            .filter(|r| Some(r.id) != except)
            .filter(|r| r.data.get(name).and_then(|v| key(f, v)).as_deref() == Some(k.as_str()))
            .collect();
        if !same.is_empty() {
            let records = same.iter().take(SHOWN).map(|r| view(c, (*r).clone(), pii)).collect();
            found.push(Duplicate { field: name.to_owned(), records, count: same.len() });
        }
    }
    Ok(found)
}
