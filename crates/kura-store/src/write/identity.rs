//! Writes of who may do what: operators, tenants, users and roles.

use super::{Write, new_id};
use crate::error::StoreError;
use crate::sql;
use kura_domain::{
    ActorKind, BuiltinRole, DisplayName, Email, Key, Language, Operator, OperatorId, PermissionSet, Role, RoleId,
    Tenant, TenantId, TenantSpec, TenantStatus, User, UserId, UserStatus,
};

/// A user account to create.
#[derive(Clone, Copy, Debug)]
pub struct NewAccount<'a> {
    pub email: &'a Email,
    pub display_name: &'a DisplayName,
    pub role: RoleId,
    /// `None`: the user cannot sign in until they set a password (through a setup link).
    pub password_hash: Option<&'a str>,
    /// The language of the user's mail.
    pub language: Language,
    /// The password was issued to the user (generated, or chosen by an administrator) and must
    /// be replaced at the first sign-in.
    pub must_change_password: bool,
}

impl Write {
    // Operators and tenants ---------------------------------------------------------------------

    pub async fn insert_operator(
        &mut self,
        email: &Email,
        display_name: &DisplayName,
        password_hash: &str,
    ) -> Result<Operator, StoreError> {
        self.in_platform(format!("operator {email}"))?;
        let operator = Operator {
            id: OperatorId::from_uuid(new_id()),
            email: email.clone(),
            display_name: display_name.clone(),
            created_at: self.now(),
            must_change_password: false,
        };
        sql::operators::insert(&mut self.exec().await?, &operator, password_hash).await?;
        Ok(operator)
    }

    /// Replaces an operator's password hash. Operators belong to the platform's audit scope.
    pub async fn set_operator_password(&mut self, id: OperatorId, password_hash: &str) -> Result<(), StoreError> {
        self.in_platform(format!("operator {id}"))?;
        sql::operators::set_password(&mut self.exec().await?, id, password_hash).await
    }

    /// Requires the operator to replace their password at the next sign-in: it was issued to
    /// them (a one-time password).
    pub async fn require_operator_password_change(&mut self, id: OperatorId) -> Result<(), StoreError> {
        self.in_platform(format!("operator {id}"))?;
        sql::operators::require_password_change(&mut self.exec().await?, id).await
    }

    /// Opens a tenant with its three built-in roles. Only the platform's write may; from here on
    /// it may also fill in the tenant's rows (its first administrator, a setup link), which the
    /// tenant's own chain records ([`Write::audit_opened`]) while the platform's records the
    /// opening: opening a tenant is one atomic write.
    pub async fn insert_tenant(&mut self, spec: &TenantSpec) -> Result<Tenant, StoreError> {
        self.in_platform(format!("tenant {}", spec.slug))?;
        let now = self.now();
        let tenant = Tenant {
            id: TenantId::from_uuid(new_id()),
            slug: spec.slug.clone(),
            display_name: spec.display_name.clone(),
            time_zone: spec.time_zone.clone(),
            contract_start: spec.contract_start,
            contract_end: spec.contract_end,
            status: TenantStatus::Active,
            created_at: now,
        };
        // The keys first, durably, in the keystore: a key whose tenant then fails to open is
        // harmless, a tenant without keys would store its values in the clear.
        let keys = match &self.vault {
            Some(vault) => Some(vault.create_tenant_keys(tenant.id, crate::sql::micros(now)).await?),
            None => None,
        };
        let sealer = self.sealer(tenant.id).await?;
        let mut e = self.exec().await?;
        sql::tenants::insert(&mut e, &tenant).await?;
        for builtin in BuiltinRole::ALL {
            let role = Role {
                id: RoleId::from_uuid(new_id()),
                tenant_id: tenant.id,
                key: Key::parse(builtin.key()).map_err(|e| sql::corrupt("built-in role key", e))?,
                label: DisplayName::parse(builtin.labels().0).map_err(|e| sql::corrupt("built-in role label", e))?,
                permissions: builtin.permissions(),
                builtin: true,
            };
            sql::roles::insert(&mut e, &role, now, &sealer).await?;
        }
        self.opened.push(super::Opened { tenant: tenant.id, record: None, filled: Default::default(), keys });
        Ok(tenant)
    }

    /// A role of the tenant by its key, as this write sees it (a tenant it opened has its
    /// built-in roles here before they are committed).
    pub async fn role_by_key(&mut self, tenant: TenantId, key: &Key) -> Result<Option<Role>, StoreError> {
        if !self.opened(tenant) {
            self.in_scope(tenant)?;
        }
        let sealer = self.sealer(tenant).await?;
        sql::roles::by_key(&mut self.exec().await?, tenant, key, &sealer).await
    }

    // Users -------------------------------------------------------------------------------------

    /// A user whose mail is in Japanese and who may keep the given password (see
    /// [`Write::insert_account`]). A role that does not exist in the tenant is
    /// [`StoreError::NotFound`].
    pub async fn insert_user(
        &mut self,
        tenant: TenantId,
        email: &Email,
        display_name: &DisplayName,
        role: RoleId,
        password_hash: Option<&str>,
    ) -> Result<User, StoreError> {
        let account = NewAccount {
            email,
            display_name,
            role,
            password_hash,
            language: Language::Ja,
            must_change_password: false,
        };
        self.insert_account(tenant, account).await
    }

    /// A role that does not exist in the tenant is [`StoreError::NotFound`].
    pub async fn insert_account(&mut self, tenant: TenantId, account: NewAccount<'_>) -> Result<User, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let has_password = account.password_hash.is_some();
        let user = User {
            id: UserId::from_uuid(new_id()),
            tenant_id: tenant,
            email: account.email.clone(),
            display_name: account.display_name.clone(),
            role_id: account.role,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
            language: account.language,
            has_password,
            must_change_password: has_password && account.must_change_password,
            password_changed_at: has_password.then_some(now),
            failed_logins: 0,
            locked_at: None,
            locked_until: None,
        };
        let sealer = self.sealer(tenant).await?;
        sql::users::insert(&mut self.exec().await?, &user, account.password_hash, &sealer).await?;
        Ok(user)
    }

    /// Disabling a user also ends their sessions: disabled users are signed out at once.
    pub async fn update_user(
        &mut self,
        tenant: TenantId,
        id: UserId,
        display_name: &DisplayName,
        role: RoleId,
        status: UserStatus,
    ) -> Result<User, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let sealer = self.sealer(tenant).await?;
        let mut e = self.exec().await?;
        let user = sql::users::update(&mut e, tenant, id, display_name, role, status, now, &sealer)
            .await?
            .ok_or(StoreError::NotFound)?;
        if status == UserStatus::Disabled {
            sql::sessions::delete_for_user(&mut e, tenant, id).await?;
        }
        Ok(user)
    }

    /// Sets the language of the user's mail.
    pub async fn set_user_language(
        &mut self,
        tenant: TenantId,
        id: UserId,
        language: Language,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        sql::users::set_language(&mut self.exec().await?, tenant, id, language).await
    }

    /// Sets a password the user may keep, without remembering the old one (see
    /// [`Write::change_user_password`]).
    pub async fn set_user_password(
        &mut self,
        tenant: TenantId,
        id: UserId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        sql::users::set_password(&mut self.exec().await?, tenant, id, password_hash, false, now).await
    }

    /// Deletes the user, their sessions and password history; their audit entries stay (IAM-1).
    /// Their id, email and name as they were are kept, sealed, among the tenant's departed
    /// principals, so that the log viewer still finds their entries by id (LOG-1).
    pub async fn delete_user(&mut self, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let sealer = self.sealer(tenant).await?;
        let mut e = self.exec().await?;
        let user = sql::users::delete(&mut e, tenant, id, &sealer).await?;
        let departed = sql::departed::Departed {
            id: id.as_uuid(),
            kind: ActorKind::User,
            label: user.email.as_str().to_owned(),
            display_name: Some(user.display_name.as_str().to_owned()),
        };
        sql::departed::insert(&mut e, tenant, &departed, now, &sealer).await?;
        sql::sessions::delete_for_user(&mut e, tenant, id).await?;
        sql::account::forget_passwords(&mut e, tenant, id, 0).await?;
        sql::tokens::forget_all(&mut e, tenant, id).await?;
        Ok(())
    }

    // Roles -------------------------------------------------------------------------------------

    pub async fn insert_role(
        &mut self,
        tenant: TenantId,
        key: &Key,
        label: &DisplayName,
        permissions: PermissionSet,
    ) -> Result<Role, StoreError> {
        self.in_scope(tenant)?;
        let now = self.now();
        let role = Role {
            id: RoleId::from_uuid(new_id()),
            tenant_id: tenant,
            key: key.clone(),
            label: label.clone(),
            permissions,
            builtin: false,
        };
        let sealer = self.sealer(tenant).await?;
        sql::roles::insert(&mut self.exec().await?, &role, now, &sealer).await?;
        Ok(role)
    }

    /// Built-in roles are fixed (documentation and tests rely on them): changing one is a
    /// [`StoreError::Conflict`].
    pub async fn update_role(
        &mut self,
        tenant: TenantId,
        id: RoleId,
        label: &DisplayName,
        permissions: PermissionSet,
    ) -> Result<Role, StoreError> {
        self.in_scope(tenant)?;
        let sealer = self.sealer(tenant).await?;
        let mut e = self.exec().await?;
        let role = sql::roles::by_id(&mut e, tenant, id, &sealer).await?.ok_or(StoreError::NotFound)?;
        if role.builtin {
            return Err(StoreError::Conflict("built-in roles cannot be changed".to_owned()));
        }
        sql::roles::update(&mut e, tenant, id, label, permissions, &sealer).await?;
        Ok(Role { label: label.clone(), permissions, ..role })
    }

    /// Refuses (Conflict) to delete a built-in role, or a role still held by users or by API keys
    /// that are not revoked.
    pub async fn delete_role(&mut self, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
        self.in_scope(tenant)?;
        let sealer = self.sealer(tenant).await?;
        let mut e = self.exec().await?;
        let role = sql::roles::by_id(&mut e, tenant, id, &sealer).await?.ok_or(StoreError::NotFound)?;
        if role.builtin {
            return Err(StoreError::Conflict("built-in roles cannot be deleted".to_owned()));
        }
        let users = sql::roles::user_count(&mut e, tenant, id).await?;
        if users > 0 {
            return Err(StoreError::Conflict(format!("this role is still assigned to {users} user(s)")));
        }
        let keys = sql::roles::live_api_key_count(&mut e, tenant, id).await?;
        if keys > 0 {
            return Err(StoreError::Conflict(format!("this role is still used by {keys} API key(s)")));
        }
        sql::roles::delete(&mut e, tenant, id).await
    }
}
