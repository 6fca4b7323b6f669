//! What an audit entry records was done: every audited operation, its stable name, and whether
//! it belongs in a tenant's log.

use serde::{Deserialize, Serialize};

/// What was done. The string forms are stable: they are stored and filtered on.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Operation {
    OperatorCreate,
    OperatorUpdate,
    OperatorLogin,
    OperatorLoginFailed,
    OperatorLogout,
    TenantCreate,
    UserLogin,
    UserLoginFailed,
    UserLogout,
    UserCreate,
    UserUpdate,
    UserDelete,
    RoleCreate,
    RoleUpdate,
    RoleDelete,
    CollectionCreate,
    CollectionUpdate,
    CollectionDelete,
    RecordCreate,
    RecordUpdate,
    RecordDelete,
    ApiKeyCreate,
    ApiKeyRevoke,
    TenantUpdate,
    /// The tenant's keys were destroyed and its rows deleted after its contract's end and grace
    /// period (TEN-4); a deletion certificate was issued. In the platform's log only.
    TenantDelete,
    /// The tenant's administrators were reminded of the contract's end (TEN-4).
    ContractEndNotice,
    /// A backup was taken (OPS-1), or taking one failed. In the platform's log only.
    BackupCreate,
    /// A backup was verified: signature, digests, key (OPS-1). In the platform's log only.
    BackupVerify,
    /// A backup was restored into a scratch location, checked and removed (OPS-1). In the
    /// platform's log only.
    BackupDrill,
    /// A new backup key was made for new backups; the old one is kept for older backups (OPS-1).
    /// In the platform's log only.
    BackupKeyRotate,
    /// A retired backup key was removed once no kept backup needed it (OPS-1). In the
    /// platform's log only.
    BackupKeyRemove,
    SecurityPolicyUpdate,
    UserLock,
    UserUnlock,
    LoginThrottled,
    PasswordChange,
    PasswordReset,
    PasswordRehash,
    PasswordResetRequest,
    SessionEnd,
    SessionsRevoke,
    UserImport,
    /// A collection's records written out to a file (DAT-5).
    RecordExport,
    /// The whole tenant written out to one archive: definitions, records, users, roles and the
    /// operation log (DAT-5).
    TenantExport,
    /// One principal's exports passed `limits.export_flag_records` within 24 hours: a possible
    /// leak for the monitoring detectors (MON-1) and the tenant's administrators to look at.
    ExportFlagged,
    /// An export asked for as a background job (DAT-5).
    ExportJobStart,
    /// A background export's file complete and offered for one download.
    ExportJobFinish,
    /// A background export that failed; no file is offered.
    ExportJobFail,
    /// A background export's file downloaded (once) and deleted.
    ExportDownload,
    /// A background export's link expired unused and its file deleted.
    ExportExpire,
    /// Records read in from a file into a collection, in one operation (DAT-6).
    RecordImport,
    /// Records chosen by a filter changed in one operation, all or none (DAT-6).
    RecordBulkUpdate,
    /// Records chosen by a filter deleted in one operation, all or none (DAT-6).
    RecordBulkDelete,
    MailFailed,
    PasswordExpiryNotice,
    /// A user's own view settings, such as the columns of a collection's records table.
    ViewUpdate,
    /// A request refused for want of a permission (403).
    AccessDenied,
    /// A form post refused by the CSRF defences (wrong origin or missing token).
    CsrfRefused,
    /// A request refused because of its address (IAM-10).
    AddressRefused,
    /// An operator emptied a tenant's address lists to let it back in (IAM-10).
    AddressListsReset,
    /// An API key got a new secret, the old one accepted for a grace period (IAM-12).
    ApiKeyRotate,
    /// An API key's owner was reminded by mail that it expires soon (IAM-12).
    ApiKeyExpiryNotice,
    /// A client certificate was issued to a user or device of the tenant (IAM-11).
    ClientCertIssue,
    /// A client certificate was revoked (IAM-11).
    ClientCertRevoke,
    /// A request refused for want of a valid client certificate of the tenant (IAM-11).
    ClientCertRefused,
    /// A password was right and the sign-in waits for a second factor (IAM-6).
    SecondFactorChallenge,
    /// A second factor was enrolled (IAM-6).
    SecondFactorEnrol,
    /// Someone removed one of their own second factors (IAM-6).
    SecondFactorRemove,
    /// An administrator removed all of a user's second factors (IAM-6).
    SecondFactorReset,
    /// A recovery code was used in place of a second factor (IAM-6).
    RecoveryCodeUse,
    /// A wrong or replayed second-factor code (IAM-6); it counts toward the lockout.
    SecondFactorFailed,
    /// A stored value of the tenant did not open under its key (moved, altered, or its key
    /// destroyed), so a request was answered with an error instead (DAT-2, TEN-2).
    CryptoOpenRefused,
    /// An operator asked for break-glass access to a tenant that requires approval (IAM-13).
    BreakGlassRequest,
    /// Break-glass access began: at once, or when an administrator approved it (IAM-13).
    BreakGlassStart,
    /// An administrator approved a break-glass request (IAM-13).
    BreakGlassApprove,
    /// An administrator refused a break-glass request (IAM-13).
    BreakGlassRefuse,
    /// Break-glass access ended: at its end time, or early by the operator or an administrator.
    BreakGlassEnd,
    /// A break-glass request was not approved in time and lapsed (IAM-13).
    BreakGlassExpire,
    /// A request made under break-glass access, by the operator (IAM-13).
    BreakGlassAccess,
    /// Access log entries past their retention were deleted (LOG-2); the detail gives the count.
    AccessLogPurge,
    /// The tenant's administrator changed the tenant's time zone (LOG-4).
    TimeZoneUpdate,
    /// A time range of the operation log written out to a file that verifies offline (LOG-1).
    AuditExport,
    /// A period of a tenant's operation log disclosed by the operator on a lawful or reasonable
    /// request (LOG-5): in the tenant's log and the platform's, or, withheld, the platform's only.
    LogDisclose,
    /// A tenant's data key was rotated, or its plain values set to be sealed (DAT-2): a new key
    /// version seals new writes, and a background job re-encrypts the stored values. In the
    /// tenant's log and the platform's.
    KeyRotateStart,
    /// The re-encryption job of a key rotation finished; the older versions are retired.
    KeyRotateFinish,
    /// Every tenant key and backup key was re-wrapped under a new master key (platform log).
    MasterKeyRotate,
}

impl Operation {
    pub const ALL: [Operation; 86] = [
        Self::OperatorCreate,
        Self::OperatorUpdate,
        Self::OperatorLogin,
        Self::OperatorLoginFailed,
        Self::OperatorLogout,
        Self::TenantCreate,
        Self::TenantUpdate,
        Self::TenantDelete,
        Self::ContractEndNotice,
        Self::BackupCreate,
        Self::BackupVerify,
        Self::BackupDrill,
        Self::BackupKeyRotate,
        Self::BackupKeyRemove,
        Self::UserLogin,
        Self::UserLoginFailed,
        Self::UserLogout,
        Self::UserCreate,
        Self::UserUpdate,
        Self::UserDelete,
        Self::RoleCreate,
        Self::RoleUpdate,
        Self::RoleDelete,
        Self::CollectionCreate,
        Self::CollectionUpdate,
        Self::CollectionDelete,
        Self::RecordCreate,
        Self::RecordUpdate,
        Self::RecordDelete,
        Self::ApiKeyCreate,
        Self::ApiKeyRevoke,
        Self::SecurityPolicyUpdate,
        Self::UserLock,
        Self::UserUnlock,
        Self::LoginThrottled,
        Self::PasswordChange,
        Self::PasswordReset,
        Self::PasswordRehash,
        Self::PasswordResetRequest,
        Self::SessionEnd,
        Self::SessionsRevoke,
        Self::UserImport,
        Self::RecordExport,
        Self::TenantExport,
        Self::ExportFlagged,
        Self::ExportJobStart,
        Self::ExportJobFinish,
        Self::ExportJobFail,
        Self::ExportDownload,
        Self::ExportExpire,
        Self::RecordImport,
        Self::RecordBulkUpdate,
        Self::RecordBulkDelete,
        Self::MailFailed,
        Self::PasswordExpiryNotice,
        Self::ViewUpdate,
        Self::AccessDenied,
        Self::CsrfRefused,
        Self::AddressRefused,
        Self::AddressListsReset,
        Self::ApiKeyRotate,
        Self::ApiKeyExpiryNotice,
        Self::ClientCertIssue,
        Self::ClientCertRevoke,
        Self::ClientCertRefused,
        Self::SecondFactorChallenge,
        Self::SecondFactorEnrol,
        Self::SecondFactorRemove,
        Self::SecondFactorReset,
        Self::RecoveryCodeUse,
        Self::SecondFactorFailed,
        Self::CryptoOpenRefused,
        Self::BreakGlassRequest,
        Self::BreakGlassStart,
        Self::BreakGlassApprove,
        Self::BreakGlassRefuse,
        Self::BreakGlassEnd,
        Self::BreakGlassExpire,
        Self::BreakGlassAccess,
        Self::AccessLogPurge,
        Self::TimeZoneUpdate,
        Self::AuditExport,
        Self::LogDisclose,
        Self::KeyRotateStart,
        Self::KeyRotateFinish,
        Self::MasterKeyRotate,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::OperatorCreate => "operator.create",
            Self::OperatorUpdate => "operator.update",
            Self::OperatorLogin => "operator.login",
            Self::OperatorLoginFailed => "operator.login_failed",
            Self::OperatorLogout => "operator.logout",
            Self::TenantCreate => "tenant.create",
            Self::TenantUpdate => "tenant.update",
            Self::TenantDelete => "tenant.delete",
            Self::ContractEndNotice => "contract.end_notice",
            Self::BackupCreate => "backup.create",
            Self::BackupVerify => "backup.verify",
            Self::BackupDrill => "backup.drill",
            Self::BackupKeyRotate => "backup.key_rotate",
            Self::BackupKeyRemove => "backup.key_remove",
            Self::UserLogin => "user.login",
            Self::UserLoginFailed => "user.login_failed",
            Self::UserLogout => "user.logout",
            Self::UserCreate => "user.create",
            Self::UserUpdate => "user.update",
            Self::UserDelete => "user.delete",
            Self::RoleCreate => "role.create",
            Self::RoleUpdate => "role.update",
            Self::RoleDelete => "role.delete",
            Self::CollectionCreate => "collection.create",
            Self::CollectionUpdate => "collection.update",
            Self::CollectionDelete => "collection.delete",
            Self::RecordCreate => "record.create",
            Self::RecordUpdate => "record.update",
            Self::RecordDelete => "record.delete",
            Self::ApiKeyCreate => "apikey.create",
            Self::ApiKeyRevoke => "apikey.revoke",
            Self::SecurityPolicyUpdate => "settings.security_update",
            Self::UserLock => "user.lock",
            Self::UserUnlock => "user.unlock",
            Self::LoginThrottled => "user.login_throttled",
            Self::PasswordChange => "password.change",
            Self::PasswordReset => "password.reset",
            Self::PasswordRehash => "password.rehash",
            Self::PasswordResetRequest => "password.reset_request",
            Self::SessionEnd => "session.end",
            Self::SessionsRevoke => "session.revoke_all",
            Self::UserImport => "user.import",
            Self::RecordExport => "record.export",
            Self::TenantExport => "tenant.export",
            Self::ExportFlagged => "export.flagged",
            Self::ExportJobStart => "export.job_start",
            Self::ExportJobFinish => "export.job_finish",
            Self::ExportJobFail => "export.job_fail",
            Self::ExportDownload => "export.download",
            Self::ExportExpire => "export.expire",
            Self::RecordImport => "record.import",
            Self::RecordBulkUpdate => "record.bulk_update",
            Self::RecordBulkDelete => "record.bulk_delete",
            Self::MailFailed => "mail.failed",
            Self::PasswordExpiryNotice => "password.expiry_notice",
            Self::ViewUpdate => "view.update",
            Self::AccessDenied => "access.denied",
            Self::CsrfRefused => "access.csrf_refused",
            Self::AddressRefused => "access.address_refused",
            Self::AddressListsReset => "settings.address_lists_reset",
            Self::ApiKeyRotate => "apikey.rotate",
            Self::ApiKeyExpiryNotice => "apikey.expiry_notice",
            Self::ClientCertIssue => "clientcert.issue",
            Self::ClientCertRevoke => "clientcert.revoke",
            Self::ClientCertRefused => "access.client_cert_refused",
            Self::SecondFactorChallenge => "mfa.challenge",
            Self::SecondFactorEnrol => "mfa.enrol",
            Self::SecondFactorRemove => "mfa.remove",
            Self::SecondFactorReset => "mfa.reset",
            Self::RecoveryCodeUse => "mfa.recovery_code_use",
            Self::SecondFactorFailed => "mfa.failed",
            Self::CryptoOpenRefused => "crypto.open_refused",
            Self::BreakGlassRequest => "break_glass.request",
            Self::BreakGlassStart => "break_glass.start",
            Self::BreakGlassApprove => "break_glass.approve",
            Self::BreakGlassRefuse => "break_glass.refuse",
            Self::BreakGlassEnd => "break_glass.end",
            Self::BreakGlassExpire => "break_glass.expire",
            Self::BreakGlassAccess => "break_glass.access",
            Self::AccessLogPurge => "access_log.purge",
            Self::TimeZoneUpdate => "settings.time_zone",
            Self::AuditExport => "audit.export",
            Self::LogDisclose => "audit.disclose",
            Self::KeyRotateStart => "key.rotate_start",
            Self::KeyRotateFinish => "key.rotate_finish",
            Self::MasterKeyRotate => "key.master_rotate",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
    /// Whether entries of this operation can be in a tenant's own log. The operator's own
    /// operations (operators, tenants) are written to the platform's chain only.
    pub const fn in_tenant_log(self) -> bool {
        !matches!(
            self,
            Self::OperatorCreate
                | Self::OperatorUpdate
                | Self::OperatorLogin
                | Self::OperatorLoginFailed
                | Self::OperatorLogout
                | Self::TenantCreate
                | Self::TenantUpdate
                | Self::TenantDelete
                | Self::BackupCreate
                | Self::BackupVerify
                | Self::BackupDrill
                | Self::BackupKeyRotate
                | Self::BackupKeyRemove
                | Self::MasterKeyRotate
        )
    }
}

impl TryFrom<String> for Operation {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).ok_or_else(|| format!("{value:?} is not an operation"))
    }
}
impl From<Operation> for String {
    fn from(value: Operation) -> String {
        value.as_str().to_owned()
    }
}
