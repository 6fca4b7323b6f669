//! LOG-1: every write appends to a per-scope hash chain, and verification finds tampering.

use super::*;

// LOG-1: the audit chain ---------------------------------------------------------------------

#[tokio::test]
async fn log_1_every_write_appends_a_chained_entry() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let r = add_record(store, &t, &c, "Yamada").await;

    env.clock.advance(SignedDuration::from_secs(60));
    let mut w = store.begin(scope(&t), actor(ActorKind::User, "taro@example.jp")).await.unwrap();
    let r2 = w.update_record(t.id, c.id, r.id, Some(1), &data("Suzuki")).await.unwrap();
    assert_eq!(r2.version, 2);
    let committed = w
        .commit(AuditRecord::success(Operation::RecordUpdate, format!("record:{}", r.id)).with_detail("fields: name"))
        .await
        .unwrap();
    assert_eq!(committed.seq, 3);

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.delete_record(t.id, c.id, r.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordDelete, format!("record:{}", r.id))).await.unwrap();
    store
        .audit_only(
            scope(&t),
            actor(ActorKind::Anonymous, "mallory"),
            AuditRecord::success(Operation::UserLoginFailed, "user:x"),
        )
        .await
        .unwrap();

    let entries = store.audit_entries(scope(&t), &AuditFilter::default()).await.unwrap();
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1], "newest first, without gaps");
    let oldest_first: Vec<_> = entries.iter().rev().collect();
    assert_eq!(oldest_first[0].prev_hash, [0; 32]);
    for pair in oldest_first.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "entry {} follows {}", pair[1].seq, pair[0].seq);
    }
    for e in &entries {
        assert!(e.is_sealed_onto(&e.prev_hash));
        assert_eq!(e.scope, scope(&t));
    }
    // What commit returned is exactly what was stored.
    assert_eq!(entries[2], committed);
    assert_eq!(committed.at, env.clock.now());
    assert_eq!(committed.actor.label, "taro@example.jp");
    assert_eq!(committed.detail.as_deref(), Some("fields: name"));

    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (5, 5));
    let platform = store.verify_audit(AuditScope::Platform).await.unwrap().unwrap();
    assert_eq!(platform.entries, 1, "the tenant's creation is on the platform chain");
    assert_eq!(store.audit_scopes().await.unwrap(), [AuditScope::Platform, scope(&t)]);
}

#[tokio::test]
async fn log_1_audit_entries_filter_and_page() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let start = env.clock.now();
    for (i, label) in ["Taro@Example.jp", "hanako@example.jp", "100%_sure@example.jp"].into_iter().enumerate() {
        env.clock.advance(SignedDuration::from_secs(60));
        let op = if i == 1 { Operation::UserLoginFailed } else { Operation::UserLogin };
        store.audit_only(scope(&t), actor(ActorKind::User, label), AuditRecord::success(op, "x")).await.unwrap();
    }
    let s = scope(&t);
    let list = |f: AuditFilter| async move {
        store.audit_entries(s, &f).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>()
    };
    assert_eq!(list(AuditFilter { actor: Some("TARO".into()), ..Default::default() }).await, [1]);
    assert_eq!(list(AuditFilter { actor: Some("%".into()), ..Default::default() }).await, [3], "% is literal");
    assert_eq!(list(AuditFilter { actor: Some("_".into()), ..Default::default() }).await, [3], "_ is literal");
    assert_eq!(list(AuditFilter { actor: Some("example".into()), ..Default::default() }).await, [3, 2, 1]);
    assert_eq!(list(AuditFilter { operation: Some(Operation::UserLogin), ..Default::default() }).await, [3, 1]);
    assert_eq!(list(AuditFilter { before_seq: Some(3), limit: 1, ..Default::default() }).await, [2]);
    let from = start.checked_add(SignedDuration::from_secs(120)).unwrap();
    assert_eq!(list(AuditFilter { from: Some(from), ..Default::default() }).await, [3, 2]);
    assert_eq!(list(AuditFilter { to: Some(from), ..Default::default() }).await, [1], "to is exclusive");
    assert_eq!(list(AuditFilter { limit: 5000, ..Default::default() }).await, [3, 2, 1]);
}

#[tokio::test]
async fn log_1_verify_names_an_edited_entry() {
    let env = env().await;
    let t = tenant_with_three_entries(&env).await;
    let raw = Raw::connect(&env.db.url).await;
    let n = raw
        .exec("UPDATE audit_log SET detail = 'nothing happened' WHERE scope_id = $1 AND seq = $2", t.id.as_uuid(), 2)
        .await;
    assert_eq!(n, 1);
    let brk = env.store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 2);
    assert_eq!(brk.scope, scope(&t));
    assert!(brk.reason.contains("entry 2 was altered"), "{brk}");

    // A row that no longer decodes is reported as a break too, not as a storage error.
    raw.exec("UPDATE audit_log SET operation = 'party' WHERE scope_id = $1 AND seq = $2", t.id.as_uuid(), 1).await;
    let brk = env.store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 1, "{brk}");
}

#[tokio::test]
async fn log_1_verify_names_a_deleted_entry() {
    let env = env().await;
    let t = tenant_with_three_entries(&env).await;
    let raw = Raw::connect(&env.db.url).await;
    raw.exec("DELETE FROM audit_log WHERE scope_id = $1 AND seq = $2", t.id.as_uuid(), 2).await;
    let brk = env.store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 2);
    assert!(brk.reason.contains("entry 2 is missing"), "{brk}");
}

#[tokio::test]
async fn log_1_verify_detects_truncated_tail() {
    let env = env().await;
    let t = tenant_with_three_entries(&env).await;
    let raw = Raw::connect(&env.db.url).await;
    raw.exec("DELETE FROM audit_log WHERE scope_id = $1 AND seq >= $2", t.id.as_uuid(), 3).await;
    let brk = env.store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 3);
    assert!(brk.reason.contains("the chain head says 3 entries but only 2 are present"), "{brk}");

    // Wiping the whole chain is caught by the head as well.
    raw.exec("DELETE FROM audit_log WHERE scope_id = $1 AND seq >= $2", t.id.as_uuid(), 1).await;
    let brk = env.store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!(brk.seq, 1, "{brk}");
    assert!(env.store.audit_scopes().await.unwrap().contains(&scope(&t)));
}

#[tokio::test]
async fn log_1_dropped_write_leaves_no_trace() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let viewer = role(store, &t, BuiltinRole::Viewer).await;
    {
        let mut w = store.begin(scope(&t), cli()).await.unwrap();
        w.insert_record(t.id, c.id, &data("ghost")).await.unwrap();
        w.insert_user(t.id, &email("ghost@example.jp"), &name("Ghost"), viewer.id, None).await.unwrap();
        // Dropped without commit.
    }
    assert_eq!(store.record_count(t.id, c.id).await.unwrap(), 0);
    assert!(store.users(t.id).await.unwrap().is_empty());
    assert_eq!(store.audit_entries(scope(&t), &AuditFilter::default()).await.unwrap().len(), 1);
    // The store is still usable and the chain continues where it was.
    let r = add_record(store, &t, &c, "real").await;
    assert_eq!(store.records(t.id, c.id).await.unwrap().to_vec(), [r]);
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.head_seq, 2);
}

// Concurrency --------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn log_1_concurrent_writes_keep_one_unbroken_chain() {
    let env = env().await;
    let t = make_tenant(&env.store, "acme").await;
    let c = make_collection(&env.store, &t, "customers").await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = env.store.clone();
            let (tenant, collection): (TenantId, _) = (t.id, c.id);
            tokio::spawn(async move {
                let mut w = store.begin(AuditScope::Tenant(tenant), cli()).await?;
                let r = w.insert_record(tenant, collection, &data(&format!("n{i}"))).await?;
                w.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))).await
            })
        })
        .collect();
    let mut seqs: Vec<_> = finished(tasks).await.into_iter().map(|entry| entry.unwrap().seq).collect();
    seqs.sort();
    assert_eq!(seqs, (2..=21).collect::<Vec<i64>>(), "every append got its own sequence number");
    assert_eq!(env.store.record_count(t.id, c.id).await.unwrap(), 20);
    let report = env.store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (21, 21));

    // The very first appends to a scope race to create its head; they must not collide either.
    let fresh = scope(&make_tenant(&env.store, "fresh").await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = env.store.clone();
            let record = AuditRecord::success(Operation::UserLoginFailed, "user:nobody");
            tokio::spawn(async move { store.audit_only(fresh, cli(), record).await })
        })
        .collect();
    for appended in finished(tasks).await {
        appended.unwrap();
    }
    let report = env.store.verify_audit(fresh).await.unwrap().unwrap();
    assert_eq!((report.entries, report.head_seq), (10, 10));
}

// LOG-3: what verification proves ------------------------------------------------------------------

#[tokio::test]
async fn log_3_verify_all_starts_from_the_tenants_so_a_deleted_chain_is_found() {
    let env = env().await;
    let t = tenant_with_three_entries(&env).await;
    let other = tenant_with_one_record(&env, "beta").await;
    let all = env.store.verify_all().await.unwrap();
    let scopes: Vec<AuditScope> = all.iter().map(|c| c.scope).collect();
    assert_eq!(scopes[0], AuditScope::Platform, "the platform first");
    assert!(scopes.contains(&scope(&t)) && scopes.contains(&scope(&other)));
    assert!(all.iter().all(|c| c.result.is_ok()), "{all:?}");

    // Removing a tenant's entries and its head leaves no trace in the audit tables: the tenant
    // itself is what says a chain must be there.
    let raw = Raw::connect(&env.db.url).await;
    raw.exec("DELETE FROM audit_log WHERE scope_id = $1 AND seq >= $2", t.id.as_uuid(), 1).await;
    raw.exec("DELETE FROM audit_heads WHERE scope_id = $1 AND 0 < $2", t.id.as_uuid(), 1).await;
    assert!(env.store.verify_audit(scope(&t)).await.unwrap().is_ok(), "an empty chain is consistent by itself");
    let all = env.store.verify_all().await.unwrap();
    let gone = all.iter().find(|c| c.scope == scope(&t)).unwrap().result.clone().unwrap_err();
    assert_eq!(gone.seq, 1);
    assert!(gone.reason.contains("the chain is missing"), "{gone}");
    assert!(all.iter().find(|c| c.scope == scope(&other)).unwrap().result.is_ok());

    // The platform's chain must be there once a tenant exists.
    raw.exec("DELETE FROM audit_log WHERE scope_id = $1 AND seq >= $2", Uuid::nil(), 1).await;
    raw.exec("DELETE FROM audit_heads WHERE scope_id = $1 AND 0 < $2", Uuid::nil(), 1).await;
    let all = env.store.verify_all().await.unwrap();
    assert!(all[0].scope == AuditScope::Platform && all[0].result.is_err(), "{all:?}");
}

async fn tenant_with_one_record(env: &Env, slug: &str) -> Tenant {
    let t = make_tenant(&env.store, slug).await;
    let c = make_collection(&env.store, &t, "customers").await;
    add_record(&env.store, &t, &c, "a").await;
    t
}

// LOG-3: the Merkle log ----------------------------------------------------------------------

use kura_crypto::merkle::{MemoryStore, verify_consistency, verify_inclusion};
use kura_store::TamperKind;

/// The reference tree of a scope's log, from the leaves the store reports.
async fn reference_tree(store: &Store, s: AuditScope, n: i64) -> MemoryStore {
    let mut reference = MemoryStore::new();
    for seq in 1..=n {
        reference.append(store.audit_leaf(s, seq).await.unwrap().unwrap());
    }
    reference
}

#[tokio::test]
async fn log_3_batches_keep_the_merkle_tree_and_prove_from_it() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let initial = store.audit_tree_head(scope(&t)).await.unwrap().size;
    // Concurrent appends so that batches of several entries complete subtrees together; past
    // 256 entries so that proofs use stored subtrees of two levels (4 and 8) and the levels
    // between, hashed up from them and from the entries.
    let tasks = (0..270)
        .map(|i| {
            let store = store.clone();
            let s = scope(&t);
            tokio::spawn(async move {
                let record = AuditRecord::success(Operation::UserLogin, format!("user:{i}"));
                store.audit_only(s, actor(ActorKind::User, "taro@example.jp"), record).await.unwrap();
            })
        })
        .collect::<Vec<_>>();
    finished(tasks).await;
    let head = store.audit_tree_head(scope(&t)).await.unwrap();
    assert_eq!(head.size, initial + 270);
    let n = head.size as i64;
    let reference = reference_tree(store, scope(&t), n).await;
    assert_eq!(head.root, reference.root(), "the tree kept by the write path is RFC 6962's");
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    assert_eq!(report.root, head.root);

    for size in [1u64, 2, 5, 16, 17, 100, 256, n as u64] {
        let root = kura_crypto::merkle::tree_head(&reference, size).unwrap();
        for index in 0..size {
            let proof = store.audit_inclusion_proof(scope(&t), index, size).await.unwrap();
            let leaf = store.audit_leaf(scope(&t), index as i64 + 1).await.unwrap().unwrap();
            verify_inclusion(index, size, &leaf, &proof, &root).unwrap();
        }
        let proof = store.audit_consistency_proof(scope(&t), size, n as u64).await.unwrap();
        verify_consistency(size, n as u64, &root, &head.root, &proof).unwrap();
    }
    // Beyond the log, or sizes the wrong way round: not found, not a failure.
    let size = n as u64;
    assert!(matches!(store.audit_inclusion_proof(scope(&t), size, size).await, Err(StoreError::NotFound)));
    assert!(matches!(store.audit_inclusion_proof(scope(&t), 0, size + 1).await, Err(StoreError::NotFound)));
    assert!(matches!(store.audit_consistency_proof(scope(&t), 5, 4).await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn log_3_verify_names_a_stored_subtree_that_was_altered_or_removed() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    for i in 0..40 {
        let record = AuditRecord::success(Operation::UserLogin, format!("user:{i}"));
        store.audit_only(scope(&t), actor(ActorKind::User, "taro@example.jp"), record).await.unwrap();
    }
    assert!(store.verify_audit(scope(&t)).await.unwrap().is_ok());
    let raw = Raw::connect(&env.db.url).await;
    let s = scope(&t).storage_id();

    // The second subtree of 16 entries (17–32) is given another subtree's hash.
    let altered = raw
        .exec(
            "UPDATE audit_tree_nodes SET hash = (SELECT hash FROM audit_tree_nodes n WHERE n.scope_id = $1 \
             AND n.level = 4 AND n.idx = 0) WHERE scope_id = $1 AND level = 4 AND idx = $2",
            s,
            1,
        )
        .await;
    assert_eq!(altered, 1);
    let brk = store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!((brk.kind, brk.seq), (TamperKind::AlteredTree, 32), "{brk}");
    assert!(brk.reason.contains("entries 17–32") && brk.reason.contains("does not match"), "{brk}");
    // Proofs through it no longer verify against the head, which is why verify names it.
    let head = store.audit_tree_head(scope(&t)).await.unwrap();
    let proof = store.audit_inclusion_proof(scope(&t), 4, head.size).await.unwrap();
    let leaf = store.audit_leaf(scope(&t), 5).await.unwrap().unwrap();
    assert!(verify_inclusion(4, head.size, &leaf, &proof, &head.root).is_err());

    // Removed instead: named as missing.
    raw.exec("DELETE FROM audit_tree_nodes WHERE scope_id = $1 AND level = 4 AND idx = $2", s, 1).await;
    let brk = store.verify_audit(scope(&t)).await.unwrap().unwrap_err();
    assert_eq!((brk.kind, brk.seq), (TamperKind::AlteredTree, 32), "{brk}");
    assert!(brk.reason.contains("is missing"), "{brk}");
    assert!(store.audit_inclusion_proof(scope(&t), 4, head.size).await.is_err());
}

#[tokio::test]
async fn log_3_chains_written_before_the_merkle_log_get_their_tree_when_the_store_opens() {
    let env = env().await;
    let t = tenant_with_three_entries(&env).await;
    let before = env.store.audit_tree_head(scope(&t)).await.unwrap();
    assert_eq!(before.size, 3);
    // As a database from before migration 0025 looks: heads without trees, no subtrees.
    let raw = Raw::connect(&env.db.url).await;
    raw.exec("UPDATE audit_heads SET tree = NULL WHERE scope_id <> $1 OR seq >= $2", Uuid::nil(), 0).await;
    raw.exec("DELETE FROM audit_tree_nodes WHERE scope_id <> $1 OR idx >= $2", Uuid::nil(), 0).await;
    assert!(env.store.verify_audit(scope(&t)).await.unwrap().is_err(), "no tree: not verified");

    let node = env.node().await;
    assert_eq!(node.audit_tree_head(scope(&t)).await.unwrap(), before, "rebuilt as it was");
    assert!(node.verify_audit(scope(&t)).await.unwrap().is_ok());
    assert!(node.verify_audit(AuditScope::Platform).await.unwrap().is_ok());
    let c = make_collection(&node, &t, "more").await;
    add_record(&node, &t, &c, "c").await;
    let after = node.audit_tree_head(scope(&t)).await.unwrap();
    assert_eq!(after.size, 5);
    let proof = node.audit_consistency_proof(scope(&t), 3, 5).await.unwrap();
    verify_consistency(3, 5, &before.root, &after.root, &proof).unwrap();
}

/// Verification reads each entry as one text the database builds (`sql/audit_page.rs`):
/// entries of both encodings verify (with a user agent, an empty one included, and without),
/// with bytes that the text's framing must carry through (a `:` and a zero byte in the actor's
/// id, multi-byte text), and an edit that only moves an entry from one encoding to the other,
/// or drops its actor's id, is still named.
#[tokio::test]
async fn log_3_verify_reads_both_encodings_and_names_an_agent_or_id_changed() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let s = scope(&t);
    let base = i64::try_from(store.verify_audit(s).await.unwrap().unwrap().entries).unwrap();
    let id = Uuid::from_u128(0x003a_0000_3a3a_0000_0000_0000_0000_003a);
    for agent in [Some("Mozilla/5.0 (X11)"), None, Some(""), Some("ブラウザ/1")] {
        let who = Actor {
            id: Some(id),
            role: Some("admin".into()),
            user_agent: agent.map(str::to_owned),
            ..actor(ActorKind::User, "taro@example.jp")
        };
        let record = AuditRecord::success(Operation::UserLogin, "user:taro").with_detail("確認: 1");
        store.audit_only(s, who, record).await.unwrap();
    }
    let report = store.verify_audit(s).await.unwrap().unwrap();
    assert_eq!(i64::try_from(report.entries).unwrap(), base + 4);

    let (with_id, without_agent, empty_agent) = (base + 1, base + 2, base + 3);
    let raw = Raw::connect(&env.db.url).await;
    let u = t.id.as_uuid();
    let named = || async move { store.verify_audit(s).await.unwrap().map(|_| ()).map_err(|b| (b.kind, b.seq)) };
    raw.exec("UPDATE audit_log SET user_agent = '' WHERE scope_id = $1 AND seq = $2", u, without_agent).await;
    assert_eq!(named().await, Err((TamperKind::EditedEntry, without_agent)));
    raw.exec("UPDATE audit_log SET user_agent = NULL WHERE scope_id = $1 AND seq = $2", u, without_agent).await;
    assert_eq!(named().await, Ok(()), "restored");
    raw.exec("UPDATE audit_log SET user_agent = NULL WHERE scope_id = $1 AND seq = $2", u, empty_agent).await;
    assert_eq!(named().await, Err((TamperKind::EditedEntry, empty_agent)));
    raw.exec("UPDATE audit_log SET user_agent = '' WHERE scope_id = $1 AND seq = $2", u, empty_agent).await;
    assert_eq!(named().await, Ok(()), "restored");
    raw.exec("UPDATE audit_log SET actor_id = NULL WHERE scope_id = $1 AND seq = $2", u, with_id).await;
    assert_eq!(named().await, Err((TamperKind::EditedEntry, with_id)));
}

/// PostgreSQL's verification reads columns, not texts (`dialect::reads_audit_texts`), so the
/// form the server renders `bytea` in as text does not matter: under `escape`, the same report
/// and the same breaks.
#[tokio::test]
async fn log_3_verify_reads_columns_where_texts_do_not_read() {
    let env = env().await;
    let Raw::Pg(pool) = Raw::connect(&env.db.url).await else { return };
    let t = tenant_with_three_entries(&env).await;
    let s = scope(&t);
    let before = env.store.verify_audit(s).await.unwrap().unwrap();
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&pool).await.unwrap();
    let sql = format!("ALTER DATABASE \"{db}\" SET bytea_output = 'escape'");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    // Another node: connections opened from now on render `bytea` so.
    let node = env.node().await;
    assert_eq!(node.verify_audit(s).await.unwrap().unwrap(), before);
    let raw = Raw::Pg(pool);
    let edit = "UPDATE audit_log SET detail = 'nothing happened' WHERE scope_id = $1 AND seq = $2";
    raw.exec(edit, t.id.as_uuid(), 2).await;
    let brk = node.verify_audit(s).await.unwrap().unwrap_err();
    assert_eq!((brk.kind, brk.seq), (TamperKind::EditedEntry, 2), "{brk}");
}

/// Verification speed of a long log (LOG-3), in GB/s of entry bytes hashed and checked; run with
/// `cargo test -p kura-store --test store log_3_measure -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a check"]
#[allow(clippy::print_stdout, reason = "a measurement prints its figure")]
async fn log_3_measure_verification_speed() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let detail = "x".repeat(700);
    let writers = 32;
    let per_writer = 2_000;
    let tasks = (0..writers)
        .map(|w| {
            let (store, s, detail) = (store.clone(), scope(&t), detail.clone());
            tokio::spawn(async move {
                for i in 0..per_writer {
                    let record =
                        AuditRecord::success(Operation::UserLogin, format!("user:{w}/{i}")).with_detail(&detail);
                    store.audit_only(s, actor(ActorKind::User, "taro@example.jp"), record).await.unwrap();
                }
            })
        })
        .collect::<Vec<_>>();
    finished(tasks).await;
    let started = std::time::Instant::now();
    let report = store.verify_audit(scope(&t)).await.unwrap().unwrap();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "verified {} entries, {} bytes in {secs:.3} s: {:.3} GB/s",
        report.entries,
        report.bytes,
        report.bytes as f64 / secs / 1e9
    );
}
