//! Writes of tenant data: collections and their records.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use crate::time::now;
use crate::vault::Sealer;
use crate::writer::{Append, NewRecord, RecordChange};
use jiff::Timestamp;
use kura_domain::{
    Actor, AuditEntry, AuditRecord, AuditScope, Collection, CollectionId, CollectionSpec, Record, RecordData, RecordId,
    TenantId,
};
use std::sync::Arc;

impl Store {
    /// Creates a record in `collection` of `tenant` and appends `audit(&record)` to the tenant's
    /// chain in the same transaction: what `begin`, [`Write::insert_record`] and
    /// [`Write::commit`] do, but handed to the writer as data instead of holding its slot, so
    /// that the inserts of concurrent requests go into the database together, several rows per
    /// statement, before the `COMMIT` that makes them durable. Returns only once durable, with
    /// the entry.
    ///
    /// A collection that does not exist in the tenant is [`StoreError::NotFound`]. A caller that
    /// stops waiting does not withdraw the insert (it may still become durable, unacknowledged).
    pub async fn create_record(
        &self,
        tenant: TenantId,
        actor: Actor,
        collection: CollectionId,
        data: &RecordData,
        audit: impl FnOnce(&Record) -> AuditRecord,
    ) -> Result<(Record, AuditEntry), StoreError> {
        self.create_record_as(RecordId::from_uuid(new_id()), tenant, actor, collection, data, audit).await
    }

    /// Replaces the data of `current` (a record as read) if it is still at that version, and
    /// appends `audit(&changed)` to its tenant's chain in the same transaction: what `begin`,
    /// [`Write::update_record`] with the expected version and [`Write::commit`] do, but handed
    /// to the writer as data like [`Store::create_record`]. Returns the changed record once
    /// durable.
    ///
    /// If the record changed since it was read, or is gone, this is [`StoreError::Conflict`] and
    /// nothing was written: read it again inside a [`Write`] to tell which, or to apply the
    /// change to the current version. A record of another tenant than `tenant` is
    /// [`StoreError::OutOfScope`].
    pub async fn update_record(
        &self,
        tenant: TenantId,
        actor: Actor,
        current: &Record,
        data: &RecordData,
        audit: impl FnOnce(&Record) -> AuditRecord,
    ) -> Result<(Record, AuditEntry), StoreError> {
        if current.tenant_id != tenant {
            return Err(StoreError::OutOfScope {
                scope: AuditScope::Tenant(tenant),
                target: format!("a record of tenant {}", current.tenant_id),
            });
        }
        let now = now(&*self.clock);
        let changed = Record { version: current.version + 1, data: data.clone(), updated_at: now, ..current.clone() };
        let sealer = self.sealer(tenant).await?;
        let append = self.append(&sealer, actor, audit(&changed));
        // Sealed here, in the caller's task: the writer's batch carries ciphertext only.
        let update = sql::records::Update::new(&changed, &sealer)?;
        let entry = self.writer.update(RecordChange { append, update, record: changed.clone() }).await?;
        tracing::debug!(seq = entry.seq, "record updated");
        Ok((changed, entry))
    }

    /// [`Store::create_record`] with the id given (tests make ids collide with it).
    pub(crate) async fn create_record_as(
        &self,
        id: RecordId,
        tenant: TenantId,
        actor: Actor,
        collection: CollectionId,
        data: &RecordData,
        audit: impl FnOnce(&Record) -> AuditRecord,
    ) -> Result<(Record, AuditEntry), StoreError> {
        let record = first_version(id, tenant, collection, data, now(&*self.clock));
        let sealer = self.sealer(tenant).await?;
        let append = self.append(&sealer, actor, audit(&record));
        let insert = sql::records::Insert::new(&record, 0, &sealer)?;
        let entry = self.writer.insert(NewRecord { append, insert, record: record.clone() }).await?;
        tracing::debug!(seq = entry.seq, "record created");
        Ok((record, entry))
    }

    /// An entry for `tenant`'s chain, dated by this store's clock.
    fn append(&self, sealer: &Sealer, actor: Actor, record: AuditRecord) -> Append {
        let (scope, clock) = (AuditScope::Tenant(sealer.tenant()), Arc::clone(&self.clock));
        Append { scope, actor, record, clock, sealer: Some(sealer.clone()) }
    }
}

/// Version 1 of a new record, created at `now`.
fn first_version(
    id: RecordId,
    tenant: TenantId,
    collection: CollectionId,
    data: &RecordData,
    now: Timestamp,
) -> Record {
    Record {
        id,
        tenant_id: tenant,
        collection_id: collection,
        version: 1,
        data: data.clone(),
        created_at: now,
        updated_at: now,
    }
}

impl Write {
    pub async fn insert_collection(
        &mut self,
        tenant: TenantId,
        spec: &CollectionSpec,
    ) -> Result<Collection, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let id = CollectionId::from_uuid(new_id());
        let sealer = self.sealer(tenant).await?;
        sql::collections::insert(&mut self.exec().await?, tenant, id, spec, now, &sealer).await?;
        Ok(Collection {
            id,
            tenant_id: tenant,
            name: spec.name.clone(),
            label: spec.label.clone(),
            memo: spec.memo.clone(),
            fields: spec.fields.clone(),
            created_at: now,
            updated_at: now,
        })
    }

    /// Replaces label, memo and fields (the name stays). Values of removed fields stay in stored
    /// records but are no longer shown or accepted.
    pub async fn update_collection(
        &mut self,
        tenant: TenantId,
        id: CollectionId,
        spec: &CollectionSpec,
    ) -> Result<Collection, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let sealer = self.sealer(tenant).await?;
        sql::collections::update(&mut self.exec().await?, tenant, id, spec, now, &sealer)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Deletes the collection and all its records; returns how many records there were.
    pub async fn delete_collection(&mut self, tenant: TenantId, id: CollectionId) -> Result<u64, StoreError> {
        self.in_scope(tenant)?;
        self.held.forget_seqs(tenant, id);
        let mut e = self.exec().await?;
        let records = sql::records::delete_all_in(&mut e, tenant, id).await?;
        sql::collections::delete(&mut e, tenant, id).await?;
        Ok(records)
    }

    /// A collection that does not exist in the tenant is [`StoreError::NotFound`]. The row goes
    /// into the database with the audit entry at commit (or before this write's next
    /// statement), so a taken id would only be refused then (ids are fresh UUIDv7s).
    pub async fn insert_record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        data: &RecordData,
    ) -> Result<Record, StoreError> {
        self.in_scope(tenant)?;
        let sealer = self.sealer(tenant).await?;
        let record = first_version(RecordId::from_uuid(new_id()), tenant, collection, data, self.now());
        let seq = self.held.next_change(tenant, collection, false).await?;
        self.defer(sql::records::Insert::new(&record, seq, &sealer)?).await?;
        Ok(record)
    }

    /// Reads a record inside this transaction (for read-modify-write).
    pub async fn record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
    ) -> Result<Option<Record>, StoreError> {
        self.in_scope(tenant)?;
        let sealer = self.sealer(tenant).await?;
        sql::records::by_id(&mut self.exec().await?, tenant, collection, id, &sealer).await
    }

    /// Replaces a record's data. With `expected_version`, refuses (Conflict) if the record changed
    /// since the caller read it.
    pub async fn update_record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
        expected_version: Option<i64>,
        data: &RecordData,
    ) -> Result<Record, StoreError> {
        self.in_scope(tenant)?;
        let sealer = self.sealer(tenant).await?;
        let now = self.now();
        let seq = self.held.next_change(tenant, collection, false).await?;
        let mut e = self.exec().await?;
        if let Some(record) =
            sql::records::update(&mut e, tenant, collection, id, expected_version, data, now, seq, &sealer).await?
        {
            return Ok(record);
        }
        // Nothing matched: either there is no such record, or its version moved on.
        match sql::records::version_of(&mut e, tenant, collection, id).await? {
            Some(_) => {
                Err(StoreError::Conflict("the record was changed by someone else; reload and try again".to_owned()))
            }
            None => Err(StoreError::NotFound),
        }
    }

    pub async fn delete_record(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        id: RecordId,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        self.held.next_change(tenant, collection, true).await?;
        sql::records::delete(&mut self.exec().await?, tenant, collection, id).await
    }
}
