//! The record snapshot cache: a list never misses a committed write, whether it was made through
//! the same store or through another node sharing the database.

use super::*;

fn names(store_records: &kura_store::RecordSnapshot) -> Vec<String> {
    store_records
        .iter()
        .map(|r| match r.data.get("name") {
            Some(FieldValue::Text(s)) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn snapshots_follow_writes_from_this_and_other_nodes() {
    let env = env().await;
    let a = &env.store;
    // A second store on the same database plays another Kura node.
    let b = env.node().await;
    let t = make_tenant(a, "alpha").await;
    let c = make_collection(a, &t, "customers").await;
    let r1 = add_record(a, &t, &c, "one").await;
    assert_eq!(names(&a.records(t.id, c.id).await.unwrap()), ["one"]);
    let first = a.records(t.id, c.id).await.unwrap();
    assert!(Arc::ptr_eq(&first, &a.records(t.id, c.id).await.unwrap()), "unchanged: the same snapshot is shared");

    // Inserts and updates through the other node are merged in.
    add_record(&b, &t, &c, "two").await;
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.update_record(t.id, c.id, r1.id, None, &data("ONE")).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordUpdate, "r1")).await.unwrap();
    assert_eq!(names(&a.records(t.id, c.id).await.unwrap()), ["ONE", "two"]);

    // A delete through the other node forces a reload.
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.delete_record(t.id, c.id, r1.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordDelete, "r1")).await.unwrap();
    assert_eq!(names(&a.records(t.id, c.id).await.unwrap()), ["two"]);

    // A rolled-back write leaves the snapshot as it was.
    let mut w = a.begin(scope(&t), cli()).await.unwrap();
    w.insert_record(t.id, c.id, &data("ghost")).await.unwrap();
    drop(w);
    assert_eq!(names(&a.records(t.id, c.id).await.unwrap()), ["two"]);

    // A deleted collection has no records, and a snapshot of it is not served.
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.delete_collection(t.id, c.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionDelete, "c")).await.unwrap();
    assert!(a.records(t.id, c.id).await.unwrap().is_empty());
    b.close().await;
}

#[tokio::test]
async fn a_disabled_cache_still_answers() {
    let env = env().await;
    let store = env.node_with_cache(0).await;
    let t = make_tenant(&store, "alpha").await;
    let c = make_collection(&store, &t, "customers").await;
    add_record(&store, &t, &c, "one").await;
    add_record(&store, &t, &c, "two").await;
    assert_eq!(names(&store.records(t.id, c.id).await.unwrap()), ["one", "two"]);
    store.close().await;
}

#[tokio::test]
async fn definitions_follow_changes_from_other_nodes() {
    let env = env().await;
    let a = &env.store;
    let b = env.node().await;
    let t = make_tenant(a, "alpha").await;
    let c = make_collection(a, &t, "customers").await;
    let key = key("customers");
    let first = a.collection_at(t.id, &key).await.unwrap().unwrap();
    assert_eq!(first.collection.fields.len(), c.fields.len());
    let again = a.collection_at(t.id, &key).await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&first.collection, &again.collection), "unchanged: the same definition is shared");

    // Another node changes the definition: the next read here sees it.
    let mut spec =
        CollectionSpec { name: key.clone(), label: name("顧客"), memo: "会員".into(), fields: c.fields.clone() };
    spec.fields
        .push(serde_json::from_value(serde_json::json!({"name": "memo2", "label": "備考", "type": "text"})).unwrap());
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.update_collection(t.id, c.id, &spec).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionUpdate, "c")).await.unwrap();
    let changed = a.collection_at(t.id, &key).await.unwrap().unwrap();
    assert_eq!(changed.collection.fields.len(), c.fields.len() + 1);
    assert_eq!(changed.collection.memo, "会員");

    // Deleted there and created again under the same name: a new collection here too.
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.delete_collection(t.id, c.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionDelete, "c")).await.unwrap();
    assert!(a.collection_at(t.id, &key).await.unwrap().is_none());
    let c2 = make_collection(&b, &t, "customers").await;
    let fresh = a.collection_at(t.id, &key).await.unwrap().unwrap();
    assert_eq!((fresh.collection.id, fresh.collection.fields.len()), (c2.id, c.fields.len()));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_that_find_a_snapshot_stale_together_share_one_refresh() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "alpha").await;
    let c = make_collection(store, &t, "customers").await;
    for i in 0..200 {
        add_record(store, &t, &c, &format!("n{i}")).await;
    }
    store.records(t.id, c.id).await.unwrap();
    for round in 0..3 {
        add_record(store, &t, &c, &format!("later {round}")).await;
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                let (tenant, collection) = (t.id, c.id);
                tokio::spawn(async move { store.records(tenant, collection).await.unwrap() })
            })
            .collect();
        let snapshots = finished(readers).await;
        assert_eq!(snapshots[0].len(), 201 + round);
        assert!(
            snapshots.iter().all(|s| Arc::ptr_eq(s, &snapshots[0])),
            "round {round}: every reader got the one refreshed snapshot"
        );
    }
}

/// The value of the `name` field of a record read through `record_at`.
async fn name_at(store: &Store, tenant: &Tenant, id: kura_domain::RecordId) -> Option<String> {
    let at = store.collection_at(tenant.id, &key("customers")).await.unwrap().unwrap();
    let r = store.record_at(&at, id).await.unwrap()?;
    Some(match r.data.get("name") {
        Some(FieldValue::Text(s)) => s.clone(),
        other => format!("{other:?}"),
    })
}

#[tokio::test]
async fn single_reads_refresh_a_stale_snapshot_once_they_have_paid_for_it() {
    let env = env().await;
    let a = &env.store;
    let b = env.node().await;
    let t = make_tenant(a, "alpha").await;
    let c = make_collection(a, &t, "customers").await;
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(add_record(a, &t, &c, &format!("n{i}")).await.id);
    }
    let stats = |s: &Store| s.cache_stats();

    // No snapshot yet: the collection has at most 40 records (its change number), so a load
    // costs as much as two reads by id; the third read loads it.
    let before = stats(a);
    for (n, id) in ids.iter().take(3).enumerate() {
        assert_eq!(name_at(a, &t, *id).await.as_deref(), Some(format!("n{n}").as_str()));
    }
    let after = stats(a);
    assert_eq!((after.passed - before.passed, after.loaded - before.loaded), (2, 1));
    assert_eq!(name_at(a, &t, ids[3]).await.as_deref(), Some("n3"));
    assert_eq!(stats(a).fresh - after.fresh, 1, "the loaded snapshot answers the next read");

    // A change through another node: merging it into 40 records costs less than one read, so the
    // first read after it merges, and sees it.
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.update_record(t.id, c.id, ids[0], None, &data("changed")).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordUpdate, "r0")).await.unwrap();
    let before = stats(a);
    assert_eq!(name_at(a, &t, ids[0]).await.as_deref(), Some("changed"));
    assert_eq!(name_at(a, &t, ids[1]).await.as_deref(), Some("n1"));
    let after = stats(a);
    assert_eq!((after.merged - before.merged, after.fresh - before.fresh, after.passed - before.passed), (1, 1, 0));

    // A delete forces a reload, which costs two reads' worth: the deleted record is gone from the
    // reads by id as from the reloaded snapshot.
    let mut w = b.begin(scope(&t), cli()).await.unwrap();
    w.delete_record(t.id, c.id, ids[1]).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordDelete, "r1")).await.unwrap();
    let before = stats(a);
    for _ in 0..3 {
        assert_eq!(name_at(a, &t, ids[1]).await, None);
    }
    let after = stats(a);
    assert_eq!((after.passed - before.passed, after.loaded - before.loaded), (2, 1));
    assert_eq!(a.records(t.id, c.id).await.unwrap().len(), 39);
    b.close().await;
}

#[tokio::test]
async fn a_single_read_never_loads_a_collection_the_cache_cannot_keep() {
    let env = env().await;
    let store = env.node_with_cache(10).await;
    let t = make_tenant(&store, "alpha").await;
    let c = make_collection(&store, &t, "customers").await;
    let mut ids = Vec::new();
    for i in 0..11 {
        ids.push(add_record(&store, &t, &c, &format!("n{i}")).await.id);
    }
    for _ in 0..20 {
        assert_eq!(name_at(&store, &t, ids[10]).await.as_deref(), Some("n10"));
    }
    let stats = store.cache_stats();
    assert_eq!((stats.passed, stats.loaded, stats.merged), (20, 0, 0));
    store.close().await;
}

#[tokio::test]
async fn the_writer_keeps_a_snapshot_fresh_with_its_own_writes_as_data() {
    let env = env().await;
    let a = &env.store;
    // Another node, to read what is in the database without a snapshot of its own.
    let b = env.node_with_cache(0).await;
    let t = make_tenant(a, "alpha").await;
    let c = make_collection(a, &t, "customers").await;
    let first = add_record(a, &t, &c, "held").await;
    a.records(t.id, c.id).await.unwrap();
    let audit = |r: &kura_domain::Record| AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id));

    // Creates and updates as data: each batch advances the snapshot, and the next read finds it
    // fresh, with what another node reads from the database.
    let before = a.cache_stats();
    let (created, _) = a.create_record(t.id, cli(), c.id, &data("queued"), audit).await.unwrap();
    a.update_record(first.tenant_id, cli(), &first, &data("HELD"), audit).await.unwrap();
    a.update_record(created.tenant_id, cli(), &created, &data("QUEUED"), audit).await.unwrap();
    let after = a.cache_stats();
    assert_eq!(after.advanced - before.advanced, 3);
    let snapshot = a.records(t.id, c.id).await.unwrap();
    assert_eq!(a.cache_stats().fresh - after.fresh, 1, "no refresh was needed");
    assert_eq!(names(&snapshot), ["HELD", "QUEUED"]);
    assert_eq!(snapshot.to_vec(), b.records(t.id, c.id).await.unwrap().to_vec());

    // An update refused for a stale version, alone in its batch, leaves nothing to commit; a
    // write through the slot is not one of the writes as data: neither advances the snapshot,
    // and reads catch up from the database.
    let stale = a.update_record(first.tenant_id, cli(), &first, &data("stale"), audit).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    add_record(a, &t, &c, "held again").await;
    assert_eq!(a.cache_stats().advanced, after.advanced);
    let snapshot = a.records(t.id, c.id).await.unwrap();
    assert_eq!(names(&snapshot), ["HELD", "QUEUED", "held again"]);
    assert_eq!(snapshot.to_vec(), b.records(t.id, c.id).await.unwrap().to_vec());

    // A write through the slot and a create as data in one batch: the batch took two numbers
    // and wrote one record as data, so it does not advance the snapshot either.
    let advanced = a.cache_stats().advanced;
    let mut w = a.begin(scope(&t), cli()).await.unwrap();
    w.insert_record(t.id, c.id, &data("held in the batch")).await.unwrap();
    let queued = {
        let a = a.clone();
        let (tenant, collection) = (t.id, c.id);
        tokio::spawn(
            async move { a.create_record(tenant, cli(), collection, &data("queued in the batch"), audit).await },
        )
    };
    for _ in 0..5_000 {
        if kura_store::testing::queued_as_data(a) == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let batches = a.commit_stats().batches;
    w.commit(AuditRecord::success(Operation::RecordCreate, "held")).await.unwrap();
    queued.await.unwrap().unwrap();
    assert_eq!(a.commit_stats().batches, batches + 1, "both writes went into one batch");
    assert_eq!(a.cache_stats().advanced, advanced);
    let snapshot = a.records(t.id, c.id).await.unwrap();
    assert_eq!(snapshot.len(), 5);
    assert_eq!(snapshot.to_vec(), b.records(t.id, c.id).await.unwrap().to_vec());
    b.close().await;
}

#[tokio::test]
async fn an_update_refused_in_a_batch_does_not_stop_the_writer_from_advancing_the_snapshot() {
    let env = env().await;
    let a = &env.store;
    let b = env.node_with_cache(0).await;
    let t = make_tenant(a, "alpha").await;
    let c = make_collection(a, &t, "customers").await;
    let one = add_record(a, &t, &c, "one").await;
    let two = add_record(a, &t, &c, "two").await;
    let audit = |r: &kura_domain::Record| AuditRecord::success(Operation::RecordUpdate, format!("record:{}", r.id));
    a.update_record(one.tenant_id, cli(), &one, &data("ONE"), audit).await.unwrap();
    a.records(t.id, c.id).await.unwrap();
    let before = a.cache_stats();

    // Two updates as data queue behind a write that holds the slot (and changes no record), so
    // that all three share a batch: one at a version of `one` that has moved on, one of `two`.
    let w = a.begin(scope(&t), cli()).await.unwrap();
    let update = |record: &kura_domain::Record, value: &str| {
        let (a, record, value) = (a.clone(), record.clone(), data(value));
        tokio::spawn(async move { a.update_record(record.tenant_id, cli(), &record, &value, audit).await })
    };
    let stale = update(&one, "stale");
    let fresh = update(&two, "TWO");
    for _ in 0..5_000 {
        if kura_store::testing::queued_as_data(a) == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let batches = a.commit_stats().batches;
    w.commit(AuditRecord::success(Operation::RecordUpdate, "held")).await.unwrap();
    let stale = stale.await.unwrap();
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    fresh.await.unwrap().unwrap();
    assert_eq!(a.commit_stats().batches, batches + 1, "the three writes went into one batch");

    // The refused update took a change number and changed nothing: the batch still accounts
    // for every number it took, and advances the snapshot.
    assert_eq!(a.cache_stats().advanced - before.advanced, 1);
    let after = a.cache_stats();
    let snapshot = a.records(t.id, c.id).await.unwrap();
    assert_eq!(a.cache_stats().fresh - after.fresh, 1, "no refresh was needed");
    assert_eq!(names(&snapshot), ["ONE", "TWO"]);
    assert_eq!(snapshot.to_vec(), b.records(t.id, c.id).await.unwrap().to_vec());
    b.close().await;
}
