//! What the store keeps for the consoles: tenants' status and settings, users' views of
//! collections, record counts, and audit searches by outcome, address and target.

use super::*;
use kura_domain::{Outcome, TenantStatus};

#[tokio::test]
async fn ten_1_a_tenant_is_suspended_and_changed_only_in_the_platform_scope() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    assert_eq!(t.status, TenantStatus::Active);
    let mut changed = t.clone();
    changed.status = TenantStatus::Suspended;
    changed.display_name = name("Acme 株式会社");
    changed.time_zone = TimeZoneName::parse("Europe/Paris").unwrap();
    changed.contract_end = Some("2027-03-31".parse().unwrap());

    // A tenant's own write cannot change it.
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert!(matches!(w.update_tenant(&changed).await, Err(StoreError::OutOfScope { .. })));
    drop(w);

    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    w.update_tenant(&changed).await.unwrap();
    w.commit(AuditRecord::success(Operation::TenantUpdate, "tenant:acme")).await.unwrap();
    let read = store.tenant(t.id).await.unwrap().unwrap();
    assert_eq!(read, changed);
    assert_eq!(store.tenant_by_slug(&t.slug).await.unwrap().unwrap().status, TenantStatus::Suspended);
    assert_eq!(store.tenants().await.unwrap()[0].contract_end, changed.contract_end);

    // Every request resolves its tenant with the credential: the status comes with it.
    let user = make_user(store, &t, "taro@example.jp").await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let far = far_future(&env);
    let (secret, _) =
        w.insert_session(SessionOwner::User { tenant_id: t.id, user_id: user.id }, far, None, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserLogin, "user:taro@example.jp")).await.unwrap();
    let context = store.user_session_context(t.id, &secret.digest(), None).await.unwrap().unwrap();
    assert_eq!(context.tenant.status, TenantStatus::Suspended);
}

#[tokio::test]
async fn views_are_kept_per_user_and_collection_and_go_with_them() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let other = make_tenant(store, "bravo").await;
    let c = make_collection(store, &t, "customers").await;
    let d = make_collection(store, &t, "orders").await;
    let taro = make_user(store, &t, "taro@example.jp").await;
    let hanako = make_user(store, &t, "hanako@example.jp").await;
    assert_eq!(store.view_columns(t.id, taro.id, c.id).await.unwrap(), None);

    let tenant = t.id;
    let save = |user: UserId, collection: CollectionId, columns: &'static [&'static str]| async move {
        let mut w = store.begin(AuditScope::Tenant(tenant), cli()).await.unwrap();
        w.save_view_columns(tenant, user, collection, columns).await.unwrap();
        w.commit(AuditRecord::success(Operation::ViewUpdate, "collection:x")).await.unwrap();
    };
    save(taro.id, c.id, &["name", "email"]).await;
    save(taro.id, c.id, &["email", "phone", "name"]).await;
    save(hanako.id, c.id, &["phone"]).await;
    save(taro.id, d.id, &["total"]).await;
    assert_eq!(store.view_columns(t.id, taro.id, c.id).await.unwrap().unwrap(), ["email", "phone", "name"]);
    assert_eq!(store.view_columns(t.id, hanako.id, c.id).await.unwrap().unwrap(), ["phone"]);
    assert_eq!(store.view_columns(t.id, taro.id, d.id).await.unwrap().unwrap(), ["total"]);
    // Another tenant's id finds nothing, and a write for another tenant is refused (TEN-2).
    assert_eq!(store.view_columns(other.id, taro.id, c.id).await.unwrap(), None);
    let mut w = store.begin(scope(&other), cli()).await.unwrap();
    assert!(matches!(w.save_view_columns(t.id, taro.id, c.id, &["x"]).await, Err(StoreError::OutOfScope { .. })));
    assert!(matches!(w.save_view_columns(other.id, taro.id, c.id, &["x"]).await, Err(StoreError::NotFound)));
    drop(w);

    // Deleting the collection or the user takes their views along.
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.delete_collection(t.id, d.id).await.unwrap();
    w.delete_user(t.id, hanako.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionDelete, "collection:orders")).await.unwrap();
    assert_eq!(store.view_columns(t.id, taro.id, d.id).await.unwrap(), None);
    assert_eq!(store.view_columns(t.id, hanako.id, c.id).await.unwrap(), None);
    assert!(store.view_columns(t.id, taro.id, c.id).await.unwrap().is_some());
}

#[tokio::test]
async fn record_counts_of_all_collections_come_in_one_read() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let other = make_tenant(store, "bravo").await;
    let a = make_collection(store, &t, "a").await;
    let b = make_collection(store, &t, "b").await;
    let _empty = make_collection(store, &t, "c").await;
    let theirs = make_collection(store, &other, "a").await;
    for v in ["1", "2", "3"] {
        add_record(store, &t, &a, v).await;
    }
    add_record(store, &t, &b, "1").await;
    add_record(store, &other, &theirs, "1").await;
    let before = store.reads();
    let mut counts = store.record_counts(t.id).await.unwrap();
    assert_eq!(store.reads() - before, 1);
    counts.sort_by_key(|(_, n)| *n);
    assert_eq!(counts, [(b.id, 1), (a.id, 3)]);
}

#[tokio::test]
async fn log_1_audit_entries_filter_by_outcome_address_and_target_and_are_counted() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let entries = [
        ("192.0.2.1", Outcome::Success, "record:customers/1"),
        ("192.0.2.7", Outcome::Failure, "record:customers/2"),
        ("192.0.2.1", Outcome::Denied, "record:customers/1"),
        ("198.51.100.3", Outcome::Success, "record:customers/1"),
    ];
    for (ip, outcome, target) in entries {
        let mut who = actor(ActorKind::User, "taro@example.jp");
        who.source_ip = Some(ip.into());
        let record =
            AuditRecord { operation: Operation::RecordUpdate, target: Some(target.into()), outcome, detail: None };
        store.audit_only(scope(&t), who, record).await.unwrap();
    }
    let s = scope(&t);
    let list = |f: AuditFilter| async move {
        let seqs = store.audit_entries(s, &f).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>();
        let n = store.audit_count(s, &f).await.unwrap();
        (seqs, n)
    };
    let f = |outcome: Option<Outcome>, ip: Option<&str>, target: Option<&str>| AuditFilter {
        outcome,
        source_ip: ip.map(str::to_owned),
        target: target.map(str::to_owned),
        ..Default::default()
    };
    assert_eq!(list(f(Some(Outcome::Success), None, None)).await, (vec![4, 1], 2));
    assert_eq!(list(f(None, Some("192.0.2.1"), None)).await, (vec![3, 1], 2));
    assert_eq!(list(f(None, Some(" 192.0.2.7 "), None)).await, (vec![2], 1), "the address is trimmed");
    assert_eq!(list(f(None, None, Some("record:customers/1"))).await, (vec![4, 3, 1], 3));
    assert_eq!(list(f(Some(Outcome::Denied), Some("192.0.2.1"), Some("record:customers/1"))).await, (vec![3], 1));
    assert_eq!(list(f(None, None, Some("record:customers"))).await, (vec![], 0), "targets match exactly");
    // The count ignores paging: it is the size of the whole result.
    let paged = AuditFilter { limit: 1, before_seq: Some(4), ..Default::default() };
    assert_eq!(list(paged).await, (vec![3], 4));
    // Another tenant sees none of them.
    let other = make_tenant(store, "bravo").await;
    assert_eq!(store.audit_count(scope(&other), &AuditFilter::default()).await.unwrap(), 0);
}

#[tokio::test]
async fn log_1_a_target_is_found_exactly_in_a_tenants_chain_and_the_platforms_with_the_other_filters() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let taro = make_user(store, &t, "taro@example.jp").await;
    let mut as_taro = actor(ActorKind::User, "taro@example.jp");
    as_taro.id = Some(taro.id.as_uuid());
    let at = |target: &str, outcome: Outcome| AuditRecord {
        operation: Operation::UserUpdate,
        target: Some(target.into()),
        outcome,
        detail: None,
    };
    // Two targets with one normal form (the index folds case): each is found only by itself.
    for (who, target, outcome) in [
        (as_taro.clone(), "user:hanako@example.jp", Outcome::Success),
        (actor(ActorKind::Anonymous, "hanako@example.jp"), "user:hanako@example.jp", Outcome::Failure),
        (as_taro.clone(), "user:Hanako@Example.jp", Outcome::Success),
        (as_taro.clone(), "user:jiro@example.jp", Outcome::Success),
        (as_taro.clone(), "user:hanako@example.jp", Outcome::Denied),
    ] {
        store.audit_only(scope(&t), who, at(target, outcome)).await.unwrap();
    }
    let s = scope(&t);
    let seqs = |f: AuditFilter| async move {
        let page = store.audit_entries(s, &f).await.unwrap();
        let n = store.audit_count(s, &f).await.unwrap();
        (page.iter().map(|e| e.seq).collect::<Vec<_>>(), n)
    };
    let target = |t: &str| AuditFilter { target: Some(t.into()), ..Default::default() };
    // The tenant's own entries come after the opening's (tenant, roles, first administrator).
    let first = store.audit_entries(s, &target("user:hanako@example.jp")).await.unwrap();
    let base = first.last().unwrap().seq - 1;
    assert_eq!(seqs(target("user:hanako@example.jp")).await, (vec![base + 5, base + 2, base + 1], 3));
    assert_eq!(seqs(target("user:Hanako@Example.jp")).await, (vec![base + 3], 1));
    // With an actor that names a user (by id) and one that matches labels only.
    let by = |actor: &str, outcome: Option<Outcome>| AuditFilter {
        actor: Some(actor.into()),
        outcome,
        ..target("user:hanako@example.jp")
    };
    assert_eq!(seqs(by("taro", None)).await, (vec![base + 5, base + 1], 2));
    assert_eq!(seqs(by("hanako@", None)).await, (vec![base + 2], 1));
    assert_eq!(seqs(by("taro", Some(Outcome::Denied))).await, (vec![base + 5], 1));
    // Paged one at a time, newest first.
    let one = AuditFilter { limit: 1, before_seq: Some(base + 5), ..target("user:hanako@example.jp") };
    assert_eq!(seqs(one).await, (vec![base + 2], 3));

    // The platform's chain keeps its targets plain, without an index.
    let platform = AuditScope::Platform;
    for target in ["tenant:acme", "tenant:bravo", "tenant:acme"] {
        store.audit_only(platform, actor(ActorKind::Cli, "ops"), at(target, Outcome::Success)).await.unwrap();
    }
    let f = target("tenant:acme");
    let found = store.audit_entries(platform, &f).await.unwrap();
    assert_eq!(found.len(), store.audit_count(platform, &f).await.unwrap() as usize);
    assert!(found.len() >= 2, "{found:?}");
    assert!(found.iter().all(|e| e.target.as_deref() == Some("tenant:acme")));
    assert!(found.windows(2).all(|w| (w[0].at, w[0].seq) > (w[1].at, w[1].seq)), "newest first");
}

#[tokio::test]
async fn log_1_the_viewer_lists_by_time_pages_after_an_entry_and_finds_users_by_id_and_by_label() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let taro = make_user(store, &t, "taro@example.jp").await;
    let s = scope(&t);
    let as_taro = || {
        let mut a = actor(ActorKind::User, "taro@example.jp");
        a.id = Some(taro.id.as_uuid());
        a
    };
    let mark = |detail: &str| AuditRecord {
        operation: Operation::RecordUpdate,
        target: None,
        outcome: Outcome::Success,
        detail: Some(detail.into()),
    };
    env.clock.advance(jiff::SignedDuration::from_mins(10));
    store.audit_only(s, as_taro(), mark("a")).await.unwrap();
    // A failed sign-in names the address typed, with no id.
    env.clock.advance(jiff::SignedDuration::from_mins(1));
    let failed = AuditRecord {
        operation: Operation::UserLoginFailed,
        target: Some("user:taro@example.jp".into()),
        outcome: Outcome::Failure,
        detail: None,
    };
    store.audit_only(s, actor(ActorKind::Anonymous, "Taro@Example.jp"), failed).await.unwrap();
    // The clock steps back an hour: the next entry is listed by its time, below the others.
    env.clock.advance(jiff::SignedDuration::from_mins(-60));
    store.audit_only(s, as_taro(), mark("b")).await.unwrap();
    env.clock.advance(jiff::SignedDuration::from_mins(120));
    store.audit_only(s, actor(ActorKind::User, "hanako@example.jp"), mark("c")).await.unwrap();

    let details = |f: AuditFilter| async move {
        let entries = store.audit_entries(s, &f).await.unwrap();
        let n = store.audit_count(s, &f).await.unwrap();
        (entries.iter().map(|e| e.detail.clone().unwrap_or_else(|| e.operation.as_str().into())).collect::<Vec<_>>(), n)
    };
    let all = store.audit_entries(s, &AuditFilter::default()).await.unwrap();
    let times: Vec<_> = all.iter().map(|e| (e.at, e.seq)).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first by time, then number");
    assert_eq!(all[0].detail.as_deref(), Some("c"));
    assert_eq!(all.last().unwrap().detail.as_deref(), Some("b"), "an hour before the tenant was made");

    // The user's entries: by id (whatever the label then), and the failed sign-in by its label.
    let taro_filter = |limit: u32, before: Option<i64>| AuditFilter {
        actor: Some("TARO@".into()),
        limit,
        before_seq: before,
        ..Default::default()
    };
    let (found, n) = details(taro_filter(0, None)).await;
    assert_eq!(found, ["user.login_failed", "a", "b"]);
    assert_eq!(n, 3);
    // Paged one at a time, the two parts interleave in the same order.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store.audit_entries(s, &taro_filter(1, before)).await.unwrap();
        let Some(e) = page.first() else { break };
        paged.push(e.detail.clone().unwrap_or_else(|| e.operation.as_str().into()));
        before = Some(e.seq);
    }
    assert_eq!(paged, found);
    // A text that names no principal is matched on every label.
    assert_eq!(
        details(AuditFilter { actor: Some("hanako".into()), ..Default::default() }).await,
        (vec!["c".into()], 1)
    );
    // A count can stop early.
    assert_eq!(store.audit_count_up_to(s, &AuditFilter::default(), Some(2)).await.unwrap(), 2);
    assert_eq!(store.audit_count_up_to(s, &taro_filter(0, None), Some(2)).await.unwrap(), 2);
    // An entry number below 2 has nothing after it.
    assert_eq!(details(AuditFilter { before_seq: Some(1), ..Default::default() }).await.0, Vec::<String>::new());
}

#[tokio::test]
async fn log_1_actor_filter_finds_a_deleted_users_entries_by_index() {
    let db = test_db().await;
    let keystore = kura_store::testing::test_keystore(&db).await;
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let options = StoreOptions { vault: Some(kura_store::testing::test_vault(&keystore).await), ..Default::default() };
    let store = &db.open(clock, options).await.unwrap();
    let t = make_tenant(store, "acme").await;
    let s = scope(&t);
    let editor = role(store, &t, BuiltinRole::Editor).await;
    let address = "leaver.canary@example.jp";
    let mut w = store.begin(s, cli()).await.unwrap();
    let leaver = w.insert_user(t.id, &email(address), &name("退職 花子"), editor.id, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{address}"))).await.unwrap();
    let mut as_leaver = actor(ActorKind::User, address);
    as_leaver.id = Some(leaver.id.as_uuid());
    let mark = |detail: &str| AuditRecord {
        operation: Operation::RecordUpdate,
        target: None,
        outcome: Outcome::Success,
        detail: Some(detail.into()),
    };
    store.audit_only(s, as_leaver.clone(), mark("a")).await.unwrap();
    store.audit_only(s, actor(ActorKind::User, "stays@example.jp"), mark("other")).await.unwrap();
    store.audit_only(s, as_leaver, mark("b")).await.unwrap();
    let mut w = store.begin(s, cli()).await.unwrap();
    w.delete_user(t.id, leaver.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserDelete, format!("user:{address}"))).await.unwrap();
    assert!(store.user(t.id, leaver.id).await.unwrap().is_none());

    let by = |text: &str| AuditFilter { actor: Some(text.into()), ..Default::default() };
    let details = |f: AuditFilter| async move {
        let entries = store.audit_entries(s, &f).await.unwrap();
        let n = store.audit_count(s, &f).await.unwrap();
        (entries.iter().map(|e| e.detail.clone().unwrap_or_default()).collect::<Vec<_>>(), n)
    };
    // By a part of the email, in any case.
    assert_eq!(details(by("LEAVER.canary@")).await, (vec!["b".to_owned(), "a".to_owned()], 2));
    // By a part of the name they had, which no entry's label holds: only their id finds these,
    // so they were read by the actor-id index, not by comparing labels.
    assert_eq!(details(by("退職")).await, (vec!["b".to_owned(), "a".to_owned()], 2));
    // Paged one at a time, newest first.
    let first = store.audit_entries(s, &AuditFilter { limit: 1, ..by("leaver") }).await.unwrap();
    assert_eq!(first.iter().map(|e| e.detail.as_deref()).collect::<Vec<_>>(), [Some("b")]);
    let older = AuditFilter { limit: 1, before_seq: Some(first[0].seq), ..by("leaver") };
    let older = store.audit_entries(s, &older).await.unwrap();
    assert_eq!(older.iter().map(|e| e.detail.as_deref()).collect::<Vec<_>>(), [Some("a")]);
    // Another tenant's filter does not reach them.
    let other = make_tenant(store, "bravo").await;
    assert_eq!(store.audit_count(scope(&other), &by("退職")).await.unwrap(), 0);

    // The deletion kept the user's id with their email and name, sealed: nothing in the clear.
    const SQL: &str = "SELECT id, kind, label, display_name FROM departed_principals WHERE tenant_id = $1";
    let raw = Raw::connect(&db.url).await;
    let rows: Vec<(Uuid, String, String, Option<String>)> = match &raw {
        Raw::Sqlite(p) => sqlx::query_as(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_as(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
    };
    assert_eq!(rows.len(), 1, "one departed principal");
    let (id, kind, label, display_name) = &rows[0];
    assert_eq!((*id, kind.as_str()), (leaver.id.as_uuid(), "user"));
    let display_name = display_name.as_deref().unwrap();
    for stored in [label.as_str(), display_name] {
        assert!(stored.starts_with('\u{1}'), "sealed: {stored:?}");
        for plain in ["leaver", "canary", "example.jp", "退職", "花子"] {
            assert!(!stored.contains(plain), "{plain} stored in the clear");
        }
    }
}
