//! Group commit (issue 3): concurrent writes share durable commits, every acknowledged write is
//! in the database, and a failed, dropped or refused write never affects the others of its batch.

use super::*;
use kura_domain::CollectionId;
use kura_store::Write;
use kura_store::testing::{
    PG_WRITER_APPLICATION_NAME, create_record_with_id, poison_batch, queued_as_data, queued_writers,
};
use std::time::Duration;

/// Waits until `n` tasks queue for the writer slot behind a `Write` the test holds, so that they
/// all join the batch that `Write` starts.
async fn line_up(store: &Store, n: usize) {
    for _ in 0..5_000 {
        if queued_writers(store) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} writers did not line up ({} did)", queued_writers(store));
}

/// Waits until the writer has no transaction open: nothing was left behind (no savepoint, no
/// outer transaction holding locks).
async fn assert_writer_idle(env: &Env) {
    match Raw::connect(&env.db.url).await {
        // Waits (busy timeout) for SQLite's write lock, which an open outer transaction holds.
        Raw::Sqlite(pool) => {
            let mut conn = pool.acquire().await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await.unwrap();
            sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
        }
        Raw::Pg(pool) => {
            const SQL: &str = "SELECT state FROM pg_stat_activity WHERE application_name = $1 \
                               AND datname = current_database()";
            for _ in 0..2_500 {
                let state: Option<String> =
                    sqlx::query_scalar(SQL).bind(PG_WRITER_APPLICATION_NAME).fetch_one(&pool).await.unwrap();
                if state.as_deref() == Some("idle") {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            panic!("the writer connection stayed in a transaction");
        }
    }
}

/// Since `before`, `total` writes were made durable, at least four per commit on average, no
/// batch failed, and the writer has nothing left open.
async fn assert_grouped(env: &Env, before: kura_store::CommitStats, total: usize) {
    let after = env.store.commit_stats();
    assert_eq!(after.writes - before.writes, total as u64, "every write was made durable by a commit");
    let batches = after.batches - before.batches;
    assert!(batches * 4 <= total as u64, "{total} writes took {batches} commits: they were not grouped");
    assert_eq!(after.failed_batches, before.failed_batches);
    assert_writer_idle(env).await;
}

async fn insert_and_commit(
    store: Store,
    tenant: TenantId,
    collection: CollectionId,
    value: String,
) -> Result<RecordId, StoreError> {
    let mut w = store.begin(AuditScope::Tenant(tenant), cli()).await?;
    let r = w.insert_record(tenant, collection, &data(&value)).await?;
    w.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))).await?;
    Ok(r.id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_concurrent_writes_share_durable_commits() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let before = store.commit_stats();

    const TASKS: usize = 200;
    const WRITES: usize = 5;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            let (tenant, collection) = (t.id, c.id);
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for j in 0..WRITES {
                    ids.push(insert_and_commit(store.clone(), tenant, collection, format!("n{i}-{j}")).await.unwrap());
                }
                ids
            })
        })
        .collect();
    let acknowledged: Vec<_> = finished(tasks).await.into_iter().flatten().collect();

    let total = TASKS * WRITES;
    assert_eq!(acknowledged.len(), total);
    for id in &acknowledged {
        assert!(store.record(t.id, c.id, *id).await.unwrap().is_some(), "acknowledged record {id} is readable");
    }
    assert_eq!(store.record_count(t.id, c.id).await.unwrap(), total as u64);
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (total as u64 + 1, total as i64 + 1));

    assert_grouped(&env, before, total).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_a_failed_or_dropped_write_leaves_its_batch_intact() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let taro = make_user(store, &t, "taro@example.jp").await;
    let before = store.commit_stats();

    // The test holds the writer while the others queue behind it: they all join one batch.
    let mut first = store.begin(scope(&t), cli()).await.unwrap();
    first.insert_record(t.id, c.id, &data("first")).await.unwrap();

    #[derive(Debug)]
    enum Role {
        Good,
        Conflicting,
        Dropped,
    }
    let roles: Vec<Role> = (0..15)
        .map(|i| match i % 5 {
            1 => Role::Conflicting,
            3 => Role::Dropped,
            _ => Role::Good,
        })
        .collect();
    let mut tasks = Vec::new();
    for (i, role) in roles.into_iter().enumerate() {
        let s = store.clone();
        let (tenant, collection, role_id) = (t.id, c.id, taro.role_id);
        tasks.push(tokio::spawn(async move {
            let mut w: Write = s.begin(AuditScope::Tenant(tenant), cli()).await.unwrap();
            match role {
                Role::Good => {
                    let r = w.insert_record(tenant, collection, &data(&format!("good {i}"))).await.unwrap();
                    w.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.unwrap();
                    Some(r.id)
                }
                Role::Conflicting => {
                    w.insert_record(tenant, collection, &data("ghost of a conflict")).await.unwrap();
                    let taken = email("taro@example.jp");
                    let err = w.insert_user(tenant, &taken, &name("T"), role_id, None).await.unwrap_err();
                    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
                    None
                }
                Role::Dropped => {
                    w.insert_record(tenant, collection, &data("ghost")).await.unwrap();
                    drop(w);
                    None
                }
            }
        }));
        // Queue them in this order.
        line_up(store, i + 1).await;
    }
    let entry = first.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.unwrap();
    let good: Vec<_> = finished(tasks).await.into_iter().flatten().collect();
    assert_eq!(good.len(), 9);

    let after = store.commit_stats();
    assert_eq!((after.writes - before.writes, after.batches - before.batches), (10, 1), "one batch of ten");
    let records = store.records(t.id, c.id).await.unwrap().to_vec();
    assert_eq!(records.len(), 10);
    assert!(
        records.iter().all(|r| !format!("{:?}", r.data).contains("ghost")),
        "dropped and failed writes left no trace"
    );
    for id in good {
        assert!(records.iter().any(|r| r.id == id));
    }
    assert_eq!(store.users(t.id).await.unwrap(), [taro]);
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.head_seq, entry.seq + 9, "one entry per acknowledged write, no gaps");
    assert_writer_idle(&env).await;

    // The chain and the store carry on.
    let r = add_record(store, &t, &c, "later").await;
    assert!(store.record(t.id, c.id, r.id).await.unwrap().is_some());
    assert_eq!(store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, entry.seq + 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_a_failed_commit_refuses_every_write_of_its_batch() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let kept = add_record(store, &t, &c, "kept").await;
    let head = store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq;
    let before = store.commit_stats();

    let mut first = store.begin(scope(&t), cli()).await.unwrap();
    first.insert_record(t.id, c.id, &data("first")).await.unwrap();
    // A deferred constraint violation: this batch's COMMIT will fail for real.
    poison_batch(&mut first).await.unwrap();
    let tasks: Vec<_> =
        (0..10).map(|i| tokio::spawn(insert_and_commit(store.clone(), t.id, c.id, format!("n{i}")))).collect();
    line_up(store, 10).await;
    let err = first.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.unwrap_err();
    assert!(matches!(err, StoreError::NotCommitted(_)), "{err:?}");
    for refused in finished(tasks).await {
        let err = refused.unwrap_err();
        assert!(matches!(err, StoreError::NotCommitted(_)), "{err:?}");
    }

    let after = store.commit_stats();
    assert_eq!(
        (after.writes, after.batches, after.failed_batches),
        (before.writes, before.batches, before.failed_batches + 1)
    );
    assert_eq!(store.records(t.id, c.id).await.unwrap().to_vec(), [kept], "nothing of the refused batch was kept");
    assert_eq!(store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, head);
    assert_writer_idle(&env).await;

    // The writer recovers and the chain continues where it was.
    let r = add_record(store, &t, &c, "after").await;
    assert!(store.record(t.id, c.id, r.id).await.unwrap().is_some());
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (head as u64 + 1, head + 1));
}

#[tokio::test]
async fn group_commit_recovers_when_the_writer_connection_is_cut() {
    let env = env().await;
    if env.store.engine() != Engine::Postgres {
        return; // An embedded SQLite connection cannot be cut from outside.
    }
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let Raw::Pg(raw) = Raw::connect(&env.db.url).await else { unreachable!() };
    let cut = || async {
        const SQL: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                           WHERE application_name = $1 AND datname = current_database()";
        let cut: Vec<bool> = sqlx::query_scalar(SQL).bind(PG_WRITER_APPLICATION_NAME).fetch_all(&raw).await.unwrap();
        assert_eq!(cut, [true]);
    };

    // Cut while idle: the next write reconnects.
    cut().await;
    let a = add_record(store, &t, &c, "a").await;

    // Cut while a write holds the connection: that write fails, the next one reconnects.
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.insert_record(t.id, c.id, &data("lost")).await.unwrap();
    cut().await;
    assert!(w.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.is_err());
    let b = add_record(store, &t, &c, "b").await;

    assert_eq!(store.records(t.id, c.id).await.unwrap().to_vec(), [a, b]);
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.head_seq, 3);
}

#[tokio::test]
async fn bookkeeping_is_durable_and_api_key_use_is_recorded_to_the_minute() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let editor = role(store, &t, BuiltinRole::Editor).await;
    let user = make_user(store, &t, "taro@example.jp").await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let (key, _) = w.insert_api_key(t.id, "sync", editor.id, None, None, Default::default()).await.unwrap();
    let owner = SessionOwner::User { tenant_id: t.id, user_id: user.id };
    let (session, _) = w.insert_session(owner, far_future(&env), None, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::ApiKeyCreate, "apikey:sync")).await.unwrap();
    let writes = || store.commit_stats().writes;

    let n = writes();
    store.touch_session(t.id.as_uuid(), &session.digest()).await.unwrap();
    assert_eq!(writes(), n + 1, "a session touch is a durable write");

    let first = store.api_key_context(t.id, &key.digest(), None, None).await.unwrap().map(|c| c.key).unwrap();
    assert_eq!(first.last_used_at, Some(env.clock.now()));
    assert_eq!(writes(), n + 2);
    env.clock.advance(SignedDuration::from_secs(59));
    let again = store.api_key_context(t.id, &key.digest(), None, None).await.unwrap().map(|c| c.key).unwrap();
    assert_eq!((again.last_used_at, writes()), (first.last_used_at, n + 2), "no write within the minute");
    env.clock.advance(SignedDuration::from_secs(1));
    let later = store.api_key_context(t.id, &key.digest(), None, None).await.unwrap().map(|c| c.key).unwrap();
    assert_eq!((later.last_used_at, writes()), (Some(env.clock.now()), n + 3));
    assert_eq!(store.api_keys(t.id).await.unwrap()[0].last_used_at, later.last_used_at, "readers see it");
    // None of this touched the audit chain.
    assert_eq!(store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, 2);
}

#[tokio::test]
async fn close_commits_released_writes_and_refuses_new_ones() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let r = add_record(store, &t, &c, "a").await;
    let mut dropped = store.begin(scope(&t), cli()).await.unwrap();
    dropped.insert_record(t.id, c.id, &data("ghost")).await.unwrap();
    drop(dropped);
    store.close().await;
    assert!(store.begin(scope(&t), cli()).await.is_err(), "closed");

    let again = env.node().await;
    assert_eq!(again.records(t.id, c.id).await.unwrap().to_vec(), [r]);
    assert_eq!(again.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, 2);
    again.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_writers_cancelled_at_any_point_leave_a_consistent_store() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;

    // Clients hanging up: their request futures are dropped wherever they happen to be (waiting
    // for the writer, mid-statement, appending, waiting for the commit). Whatever each outcome,
    // acknowledged writes are kept, and every record kept has its entry and vice versa.
    let tasks: Vec<_> = (0..120u64)
        .map(|i| {
            let handle = tokio::spawn(insert_and_commit(store.clone(), t.id, c.id, format!("n{i}")));
            if i % 2 == 1 {
                let abort = handle.abort_handle();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_micros(i * 397 % 20_000)).await;
                    abort.abort();
                });
            }
            handle
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut cancelled = 0;
    for handle in tasks {
        match handle.await {
            Ok(Ok(id)) => acknowledged.push(id),
            Ok(Err(e)) => panic!("a write that was not cancelled failed: {e:?}"),
            Err(e) => {
                assert!(e.is_cancelled());
                cancelled += 1;
            }
        }
    }
    assert!(cancelled <= 60);
    let records = store.records(t.id, c.id).await.unwrap().to_vec();
    for id in &acknowledged {
        assert!(records.iter().any(|r| r.id == *id), "acknowledged record {id} was kept");
    }
    assert_writer_idle(&env).await;
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.head_seq, records.len() as i64 + 1, "one entry per record kept, no gaps");

    // And the store carries on.
    add_record(store, &t, &c, "after").await;
    assert_eq!(store.verify_audit(scope(&t)).await.unwrap().unwrap().head_seq, records.len() as i64 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_change_numbers_counted_in_memory_reach_other_nodes() {
    // Within a batch, a collection's change numbers are counted in the writer's memory and
    // written back before COMMIT. Another node that refreshes its snapshot incrementally must
    // still see every committed insert, update and delete, and nothing rolled back.
    let env = env().await;
    let a = &env.store;
    let b = env.node().await;
    let t = make_tenant(a, "acme").await;
    let c = make_collection(a, &t, "customers").await;
    let zero = add_record(a, &t, &c, "zero").await;
    let gone = add_record(a, &t, &c, "gone").await;
    assert_eq!(b.records(t.id, c.id).await.unwrap().len(), 2, "node b keeps a snapshot");

    for (round, deleting) in [(0, false), (1, true)] {
        let mut first = a.begin(scope(&t), cli()).await.unwrap();
        first.insert_record(t.id, c.id, &data(&format!("first {round}"))).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = a.clone();
            let (tenant, collection, zero) = (t.id, c.id, zero.id);
            let gone = gone.id;
            tasks.push(tokio::spawn(async move {
                let mut w: Write = s.begin(AuditScope::Tenant(tenant), cli()).await.unwrap();
                match i % 4 {
                    // Rolled back after taking a change number: the numbers after it must
                    // still be consistent.
                    1 => {
                        w.insert_record(tenant, collection, &data("ghost")).await.unwrap();
                        drop(w);
                        return;
                    }
                    2 => {
                        w.update_record(tenant, collection, zero, None, &data(&format!("zero {round}.{i}")))
                            .await
                            .unwrap();
                    }
                    3 if deleting && i == 3 => w.delete_record(tenant, collection, gone).await.unwrap(),
                    _ => drop(w.insert_record(tenant, collection, &data(&format!("new {round}.{i}"))).await.unwrap()),
                }
                w.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.unwrap();
            }));
            line_up(a, i + 1).await;
        }
        first.commit(AuditRecord::success(Operation::RecordCreate, "record")).await.unwrap();
        finished(tasks).await;
        // What the database holds, read without any snapshot, is what both nodes serve.
        let fresh = env.node_with_cache(0).await;
        let truth = fresh.records(t.id, c.id).await.unwrap().to_vec();
        fresh.close().await;
        assert!(truth.iter().all(|r| !format!("{:?}", r.data).contains("ghost")));
        assert_eq!(b.records(t.id, c.id).await.unwrap().to_vec(), truth, "round {round}: node b");
        assert_eq!(a.records(t.id, c.id).await.unwrap().to_vec(), truth, "round {round}: node a");
    }
    assert_writer_idle(&env).await;
    b.close().await;
}

// Record inserts queued as data (`Store::create_record`) --------------------------------------

async fn create(
    store: &Store,
    tenant: TenantId,
    collection: CollectionId,
    value: &str,
) -> Result<RecordId, StoreError> {
    let audit = |r: &kura_domain::Record| AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id));
    let (record, entry) = store.create_record(tenant, cli(), collection, &data(value), audit).await?;
    assert_eq!(entry.target.as_deref(), Some(format!("record:{}", record.id).as_str()));
    Ok(record.id)
}

/// Waits until `n` inserts wait in the writer's queue.
async fn line_up_inserts(store: &Store, n: usize) {
    for _ in 0..5_000 {
        if queued_as_data(store) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} inserts did not queue ({} did)", queued_as_data(store));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_1_queued_creates_share_commits_and_keep_one_unbroken_chain() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let other = make_collection(store, &t, "orders").await;
    let before = store.commit_stats();

    // Many more concurrent inserts than one statement carries (chunks of up to 32 rows), into
    // two collections, mixed with writes that hold the slot.
    const TASKS: usize = 150;
    const WRITES: usize = 4;
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let store = store.clone();
            let (tenant, collection) = (t.id, if i % 3 == 0 { other.id } else { c.id });
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for j in 0..WRITES {
                    let value = format!("n{i}-{j}");
                    ids.push(if j == 2 {
                        insert_and_commit(store.clone(), tenant, collection, value).await.unwrap()
                    } else {
                        create(&store, tenant, collection, &value).await.unwrap()
                    });
                }
                ids
            })
        })
        .collect();
    let acknowledged: Vec<_> = finished(tasks).await.into_iter().flatten().collect();

    let total = TASKS * WRITES;
    assert_eq!(acknowledged.len(), total);
    let in_c = store.records(t.id, c.id).await.unwrap();
    let in_other = store.records(t.id, other.id).await.unwrap();
    assert_eq!(in_c.len() + in_other.len(), total);
    for id in &acknowledged {
        assert!(in_c.get(*id).is_some() || in_other.get(*id).is_some(), "acknowledged record {id} is there");
    }
    // Every insert has its entry, in one unbroken chain.
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (total as u64 + 2, total as i64 + 2));
    // The snapshots' change numbers saw every insert: a fresh store reads the same records.
    let again = env.node().await;
    assert_eq!(again.records(t.id, c.id).await.unwrap().to_vec(), in_c.to_vec());

    assert_grouped(&env, before, total).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_1_a_queued_create_that_fails_is_refused_alone_and_leaves_no_entry() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let taken = add_record(store, &t, &c, "taken").await;

    // Hold the slot so that all the inserts below queue, then let the flusher write them
    // together: ten good ones, one whose id is taken (the multi-row insert fails and the
    // writer goes one by one), one into a collection that does not exist.
    let holder = store.begin(scope(&t), cli()).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (store, tenant, collection) = (store.clone(), t.id, c.id);
        tasks.spawn(
            async move { (format!("good {i}"), create(&store, tenant, collection, &format!("good {i}")).await) },
        );
    }
    {
        let (store, tenant, collection, id) = (store.clone(), t.id, c.id, taken.id);
        tasks.spawn(async move {
            let r = create_record_with_id(&store, id, tenant, collection, &data("duplicate"), cli()).await;
            ("duplicate".to_owned(), r.map(|_| id))
        });
    }
    {
        let (store, tenant) = (store.clone(), t.id);
        let missing = CollectionId::from_uuid(Uuid::now_v7());
        tasks.spawn(async move { ("missing".to_owned(), create(&store, tenant, missing, "nowhere").await) });
    }
    line_up_inserts(store, 12).await;
    holder.commit(AuditRecord::success(Operation::CollectionUpdate, "collection:customers")).await.unwrap();

    let mut good = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (name, Ok(id)) if name.starts_with("good") => good.push(id),
            (name, Err(StoreError::Conflict(_))) if name == "duplicate" => {}
            (name, Err(StoreError::NotFound)) if name == "missing" => {}
            (name, other) => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(good.len(), 10);
    let records = store.records(t.id, c.id).await.unwrap();
    assert_eq!(records.len(), 11);
    assert_eq!(records.get(taken.id).unwrap().data, data("taken"));
    // The chain holds the collection, the taken record, the holder and the ten good inserts:
    // nothing of the refused ones.
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (13, 13));
    assert_eq!(store.commit_stats().failed_batches, 0);
    assert_writer_idle(&env).await;
}

#[tokio::test]
async fn group_commit_queued_creates_before_close_are_kept_and_later_ones_refused() {
    let env = env().await;
    let store = &env.store;
    let b = make_tenant(store, "beta").await;
    let cb = make_collection(store, &b, "customers").await;
    let kept = create(store, b.id, cb.id, "kept").await.unwrap();
    store.close().await;
    assert!(create(store, b.id, cb.id, "late").await.is_err());
    let again = env.node().await;
    let records = again.records(b.id, cb.id).await.unwrap();
    assert_eq!(records.len(), 1);
    assert!(records.get(kept).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_1_queued_updates_apply_only_at_the_version_read_with_one_entry_each() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let mut records = Vec::new();
    for i in 0..5 {
        records.push(add_record(store, &t, &c, &format!("v1 {i}")).await);
    }
    let gone = add_record(store, &t, &c, "gone").await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.delete_record(t.id, c.id, gone.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordDelete, "record:gone")).await.unwrap();
    let entries_before = store.verify_audit(scope(&t)).await.unwrap().unwrap().entries;

    // All queue behind a write the test holds, then go to the writer together.
    let holder = store.begin(scope(&t), cli()).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    let mut update = |name: &str, current: kura_domain::Record, value: &str| {
        let (store, name, value) = (store.clone(), name.to_owned(), value.to_owned());
        tasks.spawn(async move {
            let audit = |r: &kura_domain::Record| {
                AuditRecord::success(Operation::RecordUpdate, format!("record:{}/{}", r.id, r.version))
            };
            let result = store.update_record(current.tenant_id, cli(), &current, &data(&value), audit).await;
            (name, result)
        });
    };
    for (i, r) in records.iter().enumerate().take(4) {
        update(&format!("ok {i}"), r.clone(), &format!("v2 {i}"));
    }
    // The same record read at the same version twice: one of the two applies.
    update("twice", records[0].clone(), "v2 again");
    // A version the record is no longer at, and a record that is gone.
    update("stale", kura_domain::Record { version: 0, ..records[4].clone() }, "stale");
    update("gone", gone.clone(), "gone");
    line_up_inserts(store, 7).await;
    holder.commit(AuditRecord::success(Operation::CollectionUpdate, "collection:customers")).await.unwrap();

    let mut applied = std::collections::BTreeMap::new();
    let mut refused = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (name, Ok((record, entry))) => {
                assert_eq!(entry.target, Some(format!("record:{}/{}", record.id, record.version)));
                applied.insert(name, record);
            }
            (name, Err(StoreError::Conflict(_))) => refused.push(name),
            (name, Err(e)) => panic!("{name}: {e:?}"),
        }
    }
    refused.sort();
    // Of the two changes to records[0] made from the same read, exactly one applied.
    let first_twice = applied.contains_key("twice");
    assert_eq!(first_twice, !applied.contains_key("ok 0"));
    let mut expected_refused = vec!["gone".to_owned(), "stale".to_owned()];
    expected_refused.push(if first_twice { "ok 0" } else { "twice" }.to_owned());
    expected_refused.sort();
    assert_eq!(refused, expected_refused);

    let now = store.records(t.id, c.id).await.unwrap();
    assert_eq!(now.len(), 5);
    for (name, r) in &applied {
        let stored = now.get(r.id).unwrap();
        assert_eq!(stored, r, "{name}: what was returned is what is stored");
        assert_eq!(stored.version, 2);
    }
    assert_eq!(now.get(records[4].id).unwrap(), &records[4], "the stale change left the record alone");
    assert!(now.get(gone.id).is_none());
    // One entry per change applied, plus the holder's, in one unbroken chain.
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.entries, entries_before + 1 + applied.len() as u64);
    assert_eq!(applied.len(), 4);
    assert_writer_idle(&env).await;
}

/// A batch that starts while the writer is idle takes its first write's numbers (the chain head
/// and the collection's change number) as it begins; when nothing of it is written, they are
/// given back: the chain and the collection's numbers are as they were, and the next write takes
/// the next ones.
#[tokio::test]
async fn log_1_a_batch_whose_writes_are_all_refused_gives_its_numbers_back() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let r = add_record(store, &t, &c, "v1").await;
    let raw = Raw::connect(&env.db.url).await;
    assert_writer_idle(&env).await;
    let chain = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    let seqs = raw.collection_seqs(c.id).await;

    // Each alone, with nothing open: an update at a version the record is not at, and a create
    // into a collection that does not exist.
    let audit = |r: &kura_domain::Record| AuditRecord::success(Operation::RecordUpdate, format!("record:{}", r.id));
    let stale = kura_domain::Record { version: 0, ..r.clone() };
    let refused = store.update_record(stale.tenant_id, cli(), &stale, &data("stale"), audit).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    assert_writer_idle(&env).await;
    let missing = CollectionId::from_uuid(Uuid::now_v7());
    assert!(matches!(create(store, t.id, missing, "nowhere").await, Err(StoreError::NotFound)));
    assert_writer_idle(&env).await;

    let after = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((after.entries, after.head_seq), (chain.entries, chain.head_seq));
    assert_eq!(raw.collection_seqs(c.id).await, seqs);
    assert_eq!(store.commit_stats().failed_batches, 0);

    let id = create(store, t.id, c.id, "next").await.unwrap();
    let after = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((after.entries, after.head_seq), (chain.entries + 1, chain.head_seq + 1));
    assert_eq!(raw.collection_seqs(c.id).await, (seqs.0 + 1, seqs.1));
    let again = env.node().await;
    let records = again.records(t.id, c.id).await.unwrap();
    assert_eq!(records.get(id).unwrap().data, data("next"));
    assert_eq!(records.get(r.id).unwrap(), &r);
}
