//! IAM-1 and IAM-2: users, roles, sessions and API keys.

use super::*;

// IAM-1: accounts --------------------------------------------------------------------------------

#[tokio::test]
async fn iam_1_deleting_a_user_keeps_their_audit_trail() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let user = make_user(store, &t, "taro@example.jp").await;
    let as_user = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.as_str().to_owned(),
        role: Some("editor".into()),
        source_ip: None,
        user_agent: None,
    };
    let mut w = store.begin(scope(&t), as_user.clone()).await.unwrap();
    let owner = SessionOwner::User { tenant_id: t.id, user_id: user.id };
    let (token, _) = w.insert_session(owner, far_future(&env), Some("192.0.2.7"), Some("test")).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserLogin, "user:taro@example.jp")).await.unwrap();
    let mut w = store.begin(scope(&t), as_user.clone()).await.unwrap();
    w.insert_record(t.id, c.id, &data("x")).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordCreate, "record:x")).await.unwrap();

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.delete_user(t.id, user.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserDelete, "user:taro@example.jp")).await.unwrap();

    assert!(store.user(t.id, user.id).await.unwrap().is_none());
    assert!(store.session(t.id.as_uuid(), &token.digest()).await.unwrap().is_none(), "signed out");
    let theirs: Vec<_> = store
        .audit_entries(scope(&t), &AuditFilter { actor: Some("taro@".into()), ..Default::default() })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor.id == Some(user.id.as_uuid()))
        .collect();
    assert_eq!(theirs.len(), 2, "the deleted user's entries stay");
    assert_eq!(theirs[0].actor, as_user);
    assert!(store.verify_audit(scope(&t)).await.unwrap().is_ok());
}

#[tokio::test]
async fn iam_1_disabling_a_user_signs_them_out() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let user = make_user(store, &t, "taro@example.jp").await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let owner = SessionOwner::User { tenant_id: t.id, user_id: user.id };
    let (token, _) = w.insert_session(owner, far_future(&env), None, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserLogin, "user")).await.unwrap();

    env.clock.advance(SignedDuration::from_secs(5));
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let updated = w.update_user(t.id, user.id, &name("Taro Y"), user.role_id, UserStatus::Disabled).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserUpdate, "user")).await.unwrap();
    assert_eq!(updated.status, UserStatus::Disabled);
    assert_eq!(updated.updated_at, env.clock.now());
    assert_eq!(store.user(t.id, user.id).await.unwrap().unwrap(), updated);
    assert!(store.session(t.id.as_uuid(), &token.digest()).await.unwrap().is_none());
    let (_, hash) = store.user_credentials(t.id, &user.email).await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$hash"));
}

// IAM-2: roles -----------------------------------------------------------------------------------

#[tokio::test]
async fn iam_2_tenants_start_with_builtin_roles_and_roles_in_use_stay() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let roles = store.roles(t.id).await.unwrap();
    let keys: Vec<&str> = roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["tenant_admin", "editor", "viewer"]);
    for (r, b) in roles.iter().zip(BuiltinRole::ALL) {
        assert!(r.builtin);
        assert_eq!(r.permissions, b.permissions());
        assert_eq!(r.label.as_str(), b.labels().0);
    }

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let custom = w
        .insert_role(t.id, &key("auditor"), &name("Auditor"), PermissionSet::parse_list("audit.read").unwrap())
        .await
        .unwrap();
    let user = w.insert_user(t.id, &email("a@example.jp"), &name("A"), custom.id, None).await.unwrap();
    w.commit(AuditRecord::success(Operation::RoleCreate, "role:auditor")).await.unwrap();
    assert_eq!(store.role_user_count(t.id, custom.id).await.unwrap(), 1);

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert!(matches!(w.delete_role(t.id, custom.id).await, Err(StoreError::Conflict(_))));
    assert!(matches!(w.delete_role(t.id, roles[2].id).await, Err(StoreError::Conflict(_))));
    assert!(matches!(
        w.update_role(t.id, roles[2].id, &name("Reader"), PermissionSet::all()).await,
        Err(StoreError::Conflict(_))
    ));
    let changed = w.update_role(t.id, custom.id, &name("Auditors"), PermissionSet::empty()).await.unwrap();
    assert_eq!(changed.label.as_str(), "Auditors");
    w.update_user(t.id, user.id, &user.display_name, roles[2].id, UserStatus::Active).await.unwrap();
    w.delete_role(t.id, custom.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::RoleDelete, "role:auditor")).await.unwrap();
    assert!(store.role(t.id, custom.id).await.unwrap().is_none());
}

// Sessions and API keys ------------------------------------------------------------------------

#[tokio::test]
async fn sessions_expire_with_the_clock() {
    let env = env().await;
    let store = &env.store;
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let op = w.insert_operator(&email("ops@example.jp"), &name("Ops"), "hash").await.unwrap();
    let expires = env.clock.now().checked_add(SignedDuration::from_hours(1)).unwrap();
    let (token, session) =
        w.insert_session(SessionOwner::Operator(op.id), expires, Some("192.0.2.9"), None).await.unwrap();
    w.commit(AuditRecord::success(Operation::OperatorLogin, "operator:ops")).await.unwrap();
    assert_eq!(store.operators().await.unwrap(), std::slice::from_ref(&op));
    assert_eq!(store.operator_credentials(&op.email).await.unwrap().unwrap().1, "hash");
    assert_ne!(session.csrf_token, token.expose());
    assert_eq!(session.csrf_token.len(), 43);

    let digest = token.digest();
    let found = store.session(Uuid::nil(), &digest).await.unwrap().unwrap();
    assert_eq!(found.owner, SessionOwner::Operator(op.id));
    assert_eq!(found.csrf_token, session.csrf_token);
    assert_eq!(found.source_ip.as_deref(), Some("192.0.2.9"));

    env.clock.advance(SignedDuration::from_mins(30));
    store.touch_session(Uuid::nil(), &digest).await.unwrap();
    let touched = store.session(Uuid::nil(), &digest).await.unwrap().unwrap();
    assert_eq!(touched.last_seen_at, env.clock.now());
    assert_eq!(touched.created_at, session.created_at);

    env.clock.advance(SignedDuration::from_mins(30));
    assert!(store.session(Uuid::nil(), &digest).await.unwrap().is_none(), "expired at expires_at");
    assert!(store.session(Uuid::nil(), &SecretToken::generate().digest()).await.unwrap().is_none());

    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    w.delete_session(Uuid::nil(), &digest).await.unwrap();
    assert!(matches!(w.delete_session(Uuid::nil(), &digest).await, Err(StoreError::NotFound)));
}

#[tokio::test]
async fn api_keys_stop_working_when_revoked_or_expired() {
    let env = env().await;
    let store = &env.store;
    let t = make_tenant(store, "acme").await;
    let editor = role(store, &t, BuiltinRole::Editor).await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let (forever, k1) = w.insert_api_key(t.id, "sync", editor.id, None, None, Default::default()).await.unwrap();
    let expires = env.clock.now().checked_add(SignedDuration::from_hours(1)).unwrap();
    let (hourly, k2) =
        w.insert_api_key(t.id, "hourly", editor.id, Some(expires), None, Default::default()).await.unwrap();
    let bogus_role = kura_domain::RoleId::from_uuid(Uuid::now_v7());
    w.commit(AuditRecord::success(Operation::ApiKeyCreate, "apikey")).await.unwrap();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert!(matches!(
        w.insert_api_key(t.id, "bad", bogus_role, None, None, Default::default()).await,
        Err(StoreError::NotFound)
    ));
    drop(w);

    env.clock.advance(SignedDuration::from_mins(1));
    let used = store.api_key_context(t.id, &forever.digest(), None, None).await.unwrap().map(|c| c.key).unwrap();
    assert_eq!((used.id, used.last_used_at), (k1.id, Some(env.clock.now())));
    assert_eq!(
        store.api_key_context(t.id, &hourly.digest(), None, None).await.unwrap().map(|c| c.key).unwrap().id,
        k2.id
    );

    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.revoke_api_key(t.id, k1.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::ApiKeyRevoke, "apikey:sync")).await.unwrap();
    assert!(
        store.api_key_context(t.id, &forever.digest(), None, None).await.unwrap().map(|c| c.key).is_none(),
        "revoked"
    );

    env.clock.advance(SignedDuration::from_hours(1));
    assert!(
        store.api_key_context(t.id, &hourly.digest(), None, None).await.unwrap().map(|c| c.key).is_none(),
        "expired"
    );

    let keys = store.api_keys(t.id).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k.id == k1.id && k.revoked_at.is_some()));
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let missing = kura_domain::ApiKeyId::from_uuid(Uuid::now_v7());
    assert!(matches!(w.revoke_api_key(t.id, missing).await, Err(StoreError::NotFound)));
}
