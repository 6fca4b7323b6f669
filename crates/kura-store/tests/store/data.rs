//! Collections and records: uniqueness, optimistic concurrency, round trips.

use super::*;

// Conflicts ----------------------------------------------------------------------------------------

#[tokio::test]
async fn unique_names_conflict() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    make_user(store, &t, "taro@example.jp").await;
    make_collection(store, &t, "customers").await;
    let viewer = role(store, &t, BuiltinRole::Viewer).await;

    let conflict = |r: Result<_, StoreError>, what: &str| match r {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains(what), "{msg}"),
        other => panic!("expected a conflict about {what}, got {other:?}"),
    };
    // Each attempt in its own write: on PostgreSQL a failed statement spoils its transaction.
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    conflict(w.insert_user(t.id, &email("taro@example.jp"), &name("T"), viewer.id, None).await.map(drop), "email");
    drop(w);
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let spec = CollectionSpec { name: key("customers"), label: name("C"), memo: String::new(), fields: vec![] };
    conflict(w.insert_collection(t.id, &spec).await.map(drop), "name");
    drop(w);
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    conflict(w.insert_role(t.id, &key("editor"), &name("E"), PermissionSet::empty()).await.map(drop), "key");
    drop(w);
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let spec = TenantSpec {
        slug: Slug::parse("acme").unwrap(),
        display_name: name("Acme 2"),
        time_zone: TimeZoneName::tokyo(),
        contract_start: None,
        contract_end: None,
    };
    conflict(w.insert_tenant(&spec).await.map(drop), "slug");
    drop(w);
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    w.insert_operator(&email("ops@example.jp"), &name("Ops"), "hash").await.unwrap();
    conflict(w.insert_operator(&email("ops@example.jp"), &name("Ops"), "hash").await.map(drop), "email");
    drop(w);
    assert_eq!(store.operator_count().await.unwrap(), 0);
    assert_eq!(store.tenants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn record_version_conflict() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let r = add_record(store, &t, &c, "v1").await;

    env.clock.advance(SignedDuration::from_secs(1));
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let read = w.record(t.id, c.id, r.id).await.unwrap().unwrap();
    assert_eq!(read, r);
    let v2 = w.update_record(t.id, c.id, r.id, Some(1), &data("v2")).await.unwrap();
    assert_eq!((v2.version, v2.created_at, v2.updated_at), (2, r.created_at, env.clock.now()));
    w.commit(AuditRecord::success(Operation::RecordUpdate, "r")).await.unwrap();

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    match w.update_record(t.id, c.id, r.id, Some(1), &data("stale")).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("changed by someone else"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(w);
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let v3 = w.update_record(t.id, c.id, r.id, None, &data("v3")).await.unwrap();
    assert_eq!(v3.version, 3);
    let missing = RecordId::from_uuid(Uuid::now_v7());
    assert!(matches!(w.update_record(t.id, c.id, missing, Some(1), &data("x")).await, Err(StoreError::NotFound)));
    drop(w);
    assert_eq!(store.record(t.id, c.id, r.id).await.unwrap().unwrap(), v2, "the dropped write changed nothing");

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert_eq!(w.delete_collection(t.id, c.id).await.unwrap(), 1);
    w.commit(AuditRecord::success(Operation::CollectionDelete, "c")).await.unwrap();
    assert!(store.collection(t.id, c.id).await.unwrap().is_none());
}

#[tokio::test]
async fn stored_values_round_trip() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    assert_eq!(store.tenant(t.id).await.unwrap().unwrap(), t);
    assert_eq!(store.tenant_by_slug(&t.slug).await.unwrap().unwrap(), t);
    assert_eq!(t.contract_start, Some("2026-04-01".parse().unwrap()));
    let spec: CollectionSpec = serde_json::from_str(
        r#"{"name":"customers","label":"顧客","memo":"会員名簿","fields":[
            {"name":"name","label":"氏名","type":"text","required":true,"pii":true,"rules":{"max_length":50}},
            {"name":"plan","label":"プラン","type":"choice","choices":["free","pro"]}]}"#,
    )
    .unwrap();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let c = w.insert_collection(t.id, &spec).await.unwrap();
    let mut values = data("山田 太郎");
    values.insert("points".into(), FieldValue::Number(1.5));
    values.insert("vip".into(), FieldValue::Bool(true));
    let r = w.insert_record(t.id, c.id, &values).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionCreate, "c")).await.unwrap();
    assert_eq!(store.collection(t.id, c.id).await.unwrap().unwrap(), c);
    assert_eq!(store.record(t.id, c.id, r.id).await.unwrap().unwrap().data, values);

    env.clock.advance(SignedDuration::from_secs(3));
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let changed = CollectionSpec { label: name("Customers"), fields: vec![], ..spec };
    let updated = w.update_collection(t.id, c.id, &changed).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionUpdate, "c")).await.unwrap();
    assert_eq!(
        (updated.label.as_str(), updated.created_at, updated.updated_at),
        ("Customers", c.created_at, env.clock.now())
    );
    assert_eq!(store.collection(t.id, c.id).await.unwrap().unwrap(), updated);
}

// Deferred inserts ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_write_sees_its_own_new_records_and_a_dropped_one_leaves_none() {
    // A new record goes into the database with the audit entry at commit, or before the write's
    // next statement: the write itself must always see it, and nobody else until the commit.
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let one = w.insert_record(t.id, c.id, &data("one")).await.unwrap();
    let two = w.insert_record(t.id, c.id, &data("two")).await.unwrap();
    assert_eq!(w.record(t.id, c.id, one.id).await.unwrap().as_ref(), Some(&one));
    assert_eq!(w.record(t.id, c.id, two.id).await.unwrap().as_ref(), Some(&two));
    let three = w.insert_record(t.id, c.id, &data("three")).await.unwrap();
    assert!(store.record(t.id, c.id, one.id).await.unwrap().is_none(), "not visible before the commit");
    w.commit(AuditRecord::success(Operation::RecordCreate, "records")).await.unwrap();
    for r in [&one, &two, &three] {
        assert_eq!(store.record(t.id, c.id, r.id).await.unwrap().as_ref(), Some(r));
    }

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let ghost = w.insert_record(t.id, c.id, &data("ghost")).await.unwrap();
    drop(w);
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let ghost2 = w.insert_record(t.id, c.id, &data("ghost 2")).await.unwrap();
    w.record(t.id, c.id, ghost2.id).await.unwrap();
    drop(w);
    assert!(store.record(t.id, c.id, ghost.id).await.unwrap().is_none());
    assert!(store.record(t.id, c.id, ghost2.id).await.unwrap().is_none());
    assert_eq!(store.record_count(t.id, c.id).await.unwrap(), 3);
    // The collection's entry and the records' entry: the dropped writes left none.
    assert_eq!(store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, 2);
}

// Bulk changes (DAT-6) -------------------------------------------------------------------------

/// What the node's snapshot of `c` holds now, by name value.
async fn snapshot_names(store: &Store, t: &Tenant, c: &Collection) -> Vec<String> {
    let at = store.collection_at(t.id, &c.name).await.unwrap().unwrap();
    let mut names: Vec<String> = store
        .records_at(&at)
        .await
        .unwrap()
        .iter()
        .map(|r| match r.data.get("name") {
            Some(FieldValue::Text(s)) => s.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn dat_6_bulk_writes_change_every_record_named_or_none() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let mut records = Vec::new();
    for i in 0..5 {
        records.push(add_record(store, &t, &c, &format!("r{i}")).await);
    }
    assert_eq!(snapshot_names(store, &t, &c).await, ["r0", "r1", "r2", "r3", "r4"]);

    // Record r4 moves on after it was chosen: the bulk update refuses, and its earlier changes
    // go with the dropped write.
    let r4 = {
        let mut w = store.begin(scope(&t), cli()).await.unwrap();
        let r = w.update_record(t.id, c.id, records[4].id, None, &data("r4 changed")).await.unwrap();
        w.commit(AuditRecord::success(Operation::RecordUpdate, "r4")).await.unwrap();
        r
    };
    let changes: Vec<_> = records.iter().map(|r| (r, data("bulk"))).collect();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    match w.update_records(t.id, c.id, &changes).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("nothing was changed"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    drop(w);
    assert_eq!(snapshot_names(store, &t, &c).await, ["r0", "r1", "r2", "r3", "r4 changed"]);

    // So does a bulk delete naming the old version of r4.
    let ids: Vec<_> = records.iter().map(|r| (r.id, r.version)).collect();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert!(matches!(w.delete_records(t.id, c.id, &ids).await, Err(StoreError::Conflict(_))));
    drop(w);
    assert_eq!(store.record_count(t.id, c.id).await.unwrap(), 5);

    // At the current versions both go through, and the snapshot follows each.
    let mut current: Vec<kura_domain::Record> = records[..4].to_vec();
    current.push(r4);
    let changes: Vec<_> = current[..3].iter().map(|r| (r, data("bulk"))).collect();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let changed = w.update_records(t.id, c.id, &changes).await.unwrap();
    assert!(changed.iter().all(|r| r.version == 2 && r.updated_at == env.clock.now()), "{changed:?}");
    w.commit(AuditRecord::success(Operation::RecordBulkUpdate, "collection:customers")).await.unwrap();
    assert_eq!(snapshot_names(store, &t, &c).await, ["bulk", "bulk", "bulk", "r3", "r4 changed"]);

    let ids: Vec<_> = changed.iter().map(|r| (r.id, r.version)).collect();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert_eq!(w.delete_records(t.id, c.id, &ids).await.unwrap(), 3);
    w.commit(AuditRecord::success(Operation::RecordBulkDelete, "collection:customers")).await.unwrap();
    assert_eq!(snapshot_names(store, &t, &c).await, ["r3", "r4 changed"]);
    assert_eq!(store.record_count(t.id, c.id).await.unwrap(), 2);
}

#[tokio::test]
async fn dat_6_bulk_writes_refuse_another_tenants_records() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let b = make_tenant(store, "bravo").await;
    let cb = make_collection(store, &b, "customers").await;
    let rb = add_record(store, &b, &cb, "B's record").await;

    // A write of tenant A given B's tenant, or B's record under A's tenant: refused.
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    assert!(matches!(w.delete_records(b.id, cb.id, &[(rb.id, 1)]).await, Err(StoreError::OutOfScope { .. })));
    assert!(matches!(w.update_records(a.id, cb.id, &[(&rb, data("taken"))]).await, Err(StoreError::OutOfScope { .. })));
    drop(w);
    assert_eq!(store.record(b.id, cb.id, rb.id).await.unwrap().unwrap(), rb);
}
