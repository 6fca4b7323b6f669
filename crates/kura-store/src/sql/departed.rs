//! The `departed_principals` table (LOG-1): the principals a tenant deleted, by id, with the
//! labels they had then, sealed under the tenant's key (`vault/`, DAT-2) like the users' own. The
//! log viewer's actor filter opens them to find a deleted user's entries by id, from the index
//! (`audit/list.rs`); a user's deletion writes one in its own write (`Write::delete_user`).

use super::{corrupt, micros};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{ActorKind, TenantId};
use uuid::Uuid;

/// The table and field names bound into a departed principal's seals; the row is its id.
const DEPARTED: &str = "departed_principals";
const LABEL: &str = "label";
const DISPLAY_NAME: &str = "display_name";

/// A principal that no longer exists, named as its audit entries name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Departed {
    pub(crate) id: Uuid,
    pub(crate) kind: ActorKind,
    /// The label its entries carry: a user's email.
    pub(crate) label: String,
    /// A user's display name; `None` for a principal with one name.
    pub(crate) display_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    kind: String,
    label: String,
    display_name: Option<String>,
}

impl Row {
    /// The principal, its labels opened by the tenant's `sealer`.
    fn open(self, sealer: &Sealer) -> Result<Departed, StoreError> {
        let row = *self.id.as_bytes();
        Ok(Departed {
            id: self.id,
            kind: ActorKind::parse(&self.kind).ok_or_else(|| corrupt("departed principal kind", &self.kind))?,
            label: sealer.open_text(DEPARTED, &row, LABEL, self.label)?,
            display_name: self.display_name.map(|n| sealer.open_text(DEPARTED, &row, DISPLAY_NAME, n)).transpose()?,
        })
    }
}

/// Records `d`, departed at `now`, its labels sealed.
pub(crate) async fn insert(
    e: &mut Exec<'_>,
    tenant: TenantId,
    d: &Departed,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO departed_principals (tenant_id, id, kind, label, display_name, departed_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    let row = d.id.as_bytes();
    let label = sealer.seal_text(DEPARTED, row, LABEL, &d.label);
    let name = d.display_name.as_deref().map(|n| sealer.seal_text(DEPARTED, row, DISPLAY_NAME, n));
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(d.id)
        .bind(d.kind.as_str())
        .bind(&label)
        .bind(name.as_deref())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The tenant's departed principals, their labels opened.
pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId, sealer: &Sealer) -> Result<Vec<Departed>, StoreError> {
    const SQL: &str = "SELECT id, kind, label, display_name FROM departed_principals WHERE tenant_id = $1";
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}
