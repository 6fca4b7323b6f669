//! TEN-2: tenant-scoped reads and writes never reach another tenant's rows.

use super::*;

// TEN-2: tenant isolation ----------------------------------------------------------------------

#[tokio::test]
async fn ten_2_tenant_scoped_reads_never_cross_tenants() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let b = make_tenant(store, "beta").await;
    let ca = make_collection(store, &a, "customers").await;
    let cb = make_collection(store, &b, "customers").await;
    let ra = add_record(store, &a, &ca, "A's customer").await;
    let rb = add_record(store, &b, &cb, "B's customer").await;
    let ua = make_user(store, &a, "taro@example.jp").await;
    let ub = make_user(store, &b, "taro@example.jp").await;

    // Same names in both tenants, each read returns only its own.
    assert_eq!(store.collection_by_name(a.id, &key("customers")).await.unwrap().unwrap().id, ca.id);
    assert_eq!(store.collections(a.id).await.unwrap(), std::slice::from_ref(&ca));
    assert_eq!(store.records(a.id, ca.id).await.unwrap().to_vec(), std::slice::from_ref(&ra));
    assert_eq!(store.users(a.id).await.unwrap(), std::slice::from_ref(&ua));
    let (found, _) = store.user_credentials(a.id, &email("taro@example.jp")).await.unwrap().unwrap();
    assert_eq!(found.id, ua.id);
    assert!(store.roles(a.id).await.unwrap().iter().all(|r| r.tenant_id == a.id));

    // B's ids through A find nothing.
    assert!(store.collection(a.id, cb.id).await.unwrap().is_none());
    assert!(store.records(a.id, cb.id).await.unwrap().to_vec().is_empty());
    assert!(store.record(a.id, cb.id, rb.id).await.unwrap().is_none());
    assert_eq!(store.record_count(a.id, cb.id).await.unwrap(), 0);
    assert!(store.user(a.id, ub.id).await.unwrap().is_none());
    assert!(store.role(a.id, ub.role_id).await.unwrap().is_none());

    // And writes of B's rows through A are NotFound.
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    assert!(matches!(w.update_record(a.id, cb.id, rb.id, None, &data("x")).await, Err(StoreError::NotFound)));
    assert!(matches!(w.delete_record(a.id, cb.id, rb.id).await, Err(StoreError::NotFound)));
    assert!(matches!(w.record(a.id, cb.id, rb.id).await, Ok(None)));
    assert!(matches!(w.update_collection(a.id, cb.id, &spec_of(&cb)).await, Err(StoreError::NotFound)));
    assert!(matches!(w.delete_collection(a.id, cb.id).await, Err(StoreError::NotFound)));
    assert!(matches!(w.delete_user(a.id, ub.id).await, Err(StoreError::NotFound)));
    assert!(matches!(
        w.update_user(a.id, ub.id, &name("Hacked"), ua.role_id, UserStatus::Disabled).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(w.set_user_password(a.id, ub.id, "x").await, Err(StoreError::NotFound)));
    drop(w);
    // A user of A cannot be given a role of B (composite foreign key), on any engine.
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    assert!(matches!(
        w.insert_user(a.id, &email("jiro@example.jp"), &name("Jiro"), ub.role_id, None).await,
        Err(StoreError::NotFound)
    ));
    drop(w);
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    assert!(matches!(w.insert_record(a.id, cb.id, &data("x")).await, Err(StoreError::NotFound)));
    drop(w);

    // B is untouched.
    assert_eq!(store.record(b.id, cb.id, rb.id).await.unwrap().unwrap(), rb);
    assert_eq!(store.user(b.id, ub.id).await.unwrap().unwrap(), ub);

    // Credentials are scoped too: B's key and session do not work in A.
    let mut w = store.begin(scope(&b), cli()).await.unwrap();
    let (key_b, _) = w.insert_api_key(b.id, "sync", ub.role_id, None, None, Default::default()).await.unwrap();
    let owner = SessionOwner::User { tenant_id: b.id, user_id: ub.id };
    let (session_b, _) = w.insert_session(owner, far_future(&env), None, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::ApiKeyCreate, "apikey:sync")).await.unwrap();
    assert!(store.api_key_context(a.id, &key_b.digest(), None, None).await.unwrap().map(|c| c.key).is_none());
    assert!(store.api_key_context(b.id, &key_b.digest(), None, None).await.unwrap().map(|c| c.key).is_some());
    assert!(store.session(a.id.as_uuid(), &session_b.digest()).await.unwrap().is_none());
    assert!(store.session(Uuid::nil(), &session_b.digest()).await.unwrap().is_none());
    assert!(store.session(b.id.as_uuid(), &session_b.digest()).await.unwrap().is_some());
    assert!(store.api_keys(a.id).await.unwrap().is_empty());

    // A collection named with a credential is looked up in the credential's tenant only: both
    // tenants have "customers", and B's credentials get B's.
    let customers = key("customers");
    let head = |c: Option<kura_store::CollectionHead>| c.expect("B's customers collection");
    let via_session = store.user_session_context(b.id, &session_b.digest(), Some(&customers)).await.unwrap().unwrap();
    let at = store.collection_at_head(b.id, head(via_session.collection)).await.unwrap().unwrap();
    assert_eq!((at.collection.id, at.collection.tenant_id), (cb.id, b.id));
    assert_eq!(store.record_at(&at, rb.id).await.unwrap().unwrap(), rb);
    assert!(store.record_at(&at, ra.id).await.unwrap().is_none());
    let via_key = store.api_key_context(b.id, &key_b.digest(), Some(&customers), None).await.unwrap().unwrap();
    assert_eq!(store.collection_at_head(b.id, head(via_key.collection)).await.unwrap().unwrap().collection.id, cb.id);
    let missing = key("suppliers");
    assert!(
        store
            .user_session_context(b.id, &session_b.digest(), Some(&missing))
            .await
            .unwrap()
            .unwrap()
            .collection
            .is_none()
    );
    assert!(store.user_session_context(b.id, &session_b.digest(), None).await.unwrap().unwrap().collection.is_none());
    assert!(store.user_session_context(a.id, &session_b.digest(), Some(&customers)).await.unwrap().is_none());
}

#[tokio::test]
async fn ten_2_a_write_cannot_change_a_tenant_outside_its_audit_scope() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let b = make_tenant(store, "beta").await;
    let cb = make_collection(store, &b, "customers").await;
    // A write whose entry would land in A's log must not change B's data.
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    let err = w.insert_record(b.id, cb.id, &data("smuggled")).await.unwrap_err();
    assert!(matches!(err, StoreError::OutOfScope { .. }), "{err}");
    let spec = CollectionSpec { name: key("x"), label: name("x"), memo: String::new(), fields: vec![] };
    assert!(matches!(w.insert_collection(b.id, &spec).await, Err(StoreError::OutOfScope { .. })));
    drop(w);
    assert!(store.records(b.id, cb.id).await.unwrap().to_vec().is_empty());
}

#[tokio::test]
async fn ten_2_writes_as_data_cannot_reach_another_tenants_records() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let b = make_tenant(store, "beta").await;
    let cb = make_collection(store, &b, "customers").await;
    let rb = add_record(store, &b, &cb, "b's").await;
    let entries = |t: Tenant| async move { store.verify_audit(scope(&t)).await.unwrap().unwrap().entries };
    let (before_a, before_b) = (entries(a.clone()).await, entries(b.clone()).await);
    let audit = |_: &kura_domain::Record| AuditRecord::success(Operation::RecordCreate, "record");

    // A's create into B's collection: the collection is looked up in A only.
    let smuggled = store.create_record(a.id, cli(), cb.id, &data("smuggled"), audit).await;
    assert!(matches!(smuggled, Err(StoreError::NotFound)), "{smuggled:?}");
    // A change to B's record presented as A's: refused the same way.
    let forged = kura_domain::Record { tenant_id: a.id, ..rb.clone() };
    let changed = store.update_record(forged.tenant_id, cli(), &forged, &data("changed"), audit).await;
    assert!(matches!(changed, Err(StoreError::NotFound)), "{changed:?}");

    assert_eq!(store.records(b.id, cb.id).await.unwrap().to_vec(), [rb]);
    assert_eq!((entries(a).await, entries(b).await), (before_a, before_b), "no entry in either chain");
}

#[tokio::test]
async fn ten_2_a_record_change_given_another_tenants_id_is_refused() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let b = make_tenant(store, "beta").await;
    let cb = make_collection(store, &b, "customers").await;
    let rb = add_record(store, &b, &cb, "b's").await;
    let entries = |t: Tenant| async move { store.verify_audit(scope(&t)).await.unwrap().unwrap().entries };
    let (before_a, before_b) = (entries(a.clone()).await, entries(b.clone()).await);
    let audit = |_: &kura_domain::Record| AuditRecord::success(Operation::RecordUpdate, "record");

    // B's record, as read, changed on behalf of A: the store compares A's id with the record's.
    let changed = store.update_record(a.id, cli(), &rb, &data("changed"), audit).await;
    assert!(matches!(changed, Err(StoreError::OutOfScope { .. })), "{changed:?}");

    assert_eq!(store.records(b.id, cb.id).await.unwrap().to_vec(), [rb]);
    assert_eq!((entries(a).await, entries(b).await), (before_a, before_b), "no entry in either chain");
}

#[tokio::test]
async fn ten_2_a_tenants_write_cannot_change_the_platform_and_the_platforms_cannot_change_a_tenant() {
    let env = env().await;
    let store = &env.store;
    let a = make_tenant(store, "alpha").await;
    let spec = TenantSpec {
        slug: Slug::parse("smuggled").unwrap(),
        display_name: name("smuggled"),
        time_zone: TimeZoneName::tokyo(),
        contract_start: None,
        contract_end: None,
    };

    // A tenant's write: no operator, no tenant, no operator's password.
    let mut w = store.begin(scope(&a), cli()).await.unwrap();
    let operator = w.insert_operator(&email("op@example.jp"), &name("op"), "hash").await;
    assert!(matches!(operator, Err(StoreError::OutOfScope { .. })), "{operator:?}");
    let tenant = w.insert_tenant(&spec).await;
    assert!(matches!(tenant, Err(StoreError::OutOfScope { .. })), "{tenant:?}");
    drop(w);
    assert_eq!(store.operator_count().await.unwrap(), 0);
    assert_eq!(store.tenants().await.unwrap(), std::slice::from_ref(&a));

    // The platform's write: no tenant's collection or user.
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let collection = CollectionSpec { name: key("x"), label: name("x"), memo: String::new(), fields: vec![] };
    assert!(matches!(w.insert_collection(a.id, &collection).await, Err(StoreError::OutOfScope { .. })));
    let role = store.roles(a.id).await.unwrap()[0].id;
    let user = w.insert_user(a.id, &email("u@example.jp"), &name("u"), role, None).await;
    assert!(matches!(user, Err(StoreError::OutOfScope { .. })), "{user:?}");
    drop(w);
    assert!(store.collections(a.id).await.unwrap().is_empty());
    assert!(store.users(a.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn ten_1_opening_a_tenant_is_one_write_with_entries_in_its_chain_and_the_platforms() {
    let env = env().await;
    let store = &env.store;
    let spec = |slug: &str| TenantSpec {
        slug: Slug::parse(slug).unwrap(),
        display_name: name(slug),
        time_zone: TimeZoneName::tokyo(),
        contract_start: None,
        contract_end: None,
    };
    let admin = key(kura_domain::BuiltinRole::TenantAdmin.key());
    let platform_entries =
        || async { store.verify_audit(AuditScope::Platform).await.unwrap().map_or(0, |r| r.entries) };

    // Dropped half-way: no tenant, no role, no user, no entry.
    let before = platform_entries().await;
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let dropped = w.insert_tenant(&spec("dropped")).await.unwrap();
    let role = w.role_by_key(dropped.id, &admin).await.unwrap().unwrap();
    w.insert_user(dropped.id, &email("a@example.jp"), &name("a"), role.id, None).await.unwrap();
    drop(w);
    assert!(store.tenants().await.unwrap().is_empty());
    assert!(store.roles(dropped.id).await.unwrap().is_empty());
    assert!(store.users(dropped.id).await.unwrap().is_empty());
    assert_eq!(platform_entries().await, before);

    // Committed: the tenant, its roles and its administrator together, with the opening in the
    // platform's chain and the administrator in the tenant's own.
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let t = w.insert_tenant(&spec("opened")).await.unwrap();
    let role = w.role_by_key(t.id, &admin).await.unwrap().unwrap();
    let user = w.insert_user(t.id, &email("a@example.jp"), &name("a"), role.id, None).await.unwrap();
    w.audit_opened(t.id, AuditRecord::success(Operation::UserCreate, "user:a@example.jp")).unwrap();
    let entry = w.commit(AuditRecord::success(Operation::TenantCreate, "tenant:opened")).await.unwrap();
    assert_eq!(entry.scope, AuditScope::Platform);
    assert_eq!(platform_entries().await, before + 1);
    let own = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(own.entries, 1);
    assert_eq!(store.users(t.id).await.unwrap(), [user]);
    assert_eq!(store.roles(t.id).await.unwrap().len(), kura_domain::BuiltinRole::ALL.len());

    // Only the tenant it opened: another tenant's rows stay out of a platform write's reach.
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    w.insert_tenant(&spec("third")).await.unwrap();
    let other = w.insert_user(t.id, &email("b@example.jp"), &name("b"), role.id, None).await;
    assert!(matches!(other, Err(StoreError::OutOfScope { .. })), "{other:?}");
    assert!(matches!(
        w.audit_opened(t.id, AuditRecord::success(Operation::UserCreate, "x")),
        Err(StoreError::OutOfScope { .. })
    ));

    drop(w);

    // Its administrator without an entry in the tenant's own chain: refused at commit.
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let unrecorded = w.insert_tenant(&spec("unrecorded")).await.unwrap();
    let role = w.role_by_key(unrecorded.id, &admin).await.unwrap().unwrap();
    w.insert_user(unrecorded.id, &email("c@example.jp"), &name("c"), role.id, None).await.unwrap();
    let refused = w.commit(AuditRecord::success(Operation::TenantCreate, "tenant:unrecorded")).await;
    assert!(matches!(refused, Err(StoreError::OutOfScope { .. })), "{refused:?}");
    assert_eq!(store.tenants().await.unwrap(), [t]);
    assert_eq!(platform_entries().await, before + 1);
}
