//! Importing users from a previous system (IAM-1, IAM-8): a CSV file is checked row by row and
//! previewed, with each row's problems named, before anything is written; then every row is
//! created in one transaction with one audit entry, or none is. Password hashes of the previous
//! system (bcrypt `$2a$`, `$2b$`, `$2y$`, or Argon2id) are kept, so that people sign in with the
//! passwords they know; each is replaced by a fresh Argon2id hash at its owner's next sign-in.
//! Rows without a hash are invited: a setup link goes out with the account.

use super::{ensure_within, links};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_crypto::PasswordHasher;
use kura_domain::{
    AuditRecord, DisplayName, Email, FieldError, FieldErrorKind, Key, Language, Operation, Permission, Role,
};
use kura_store::NewAccount;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The most rows one import takes.
pub const MAX_ROWS: usize = 1000;

/// The columns, by their header names; `email`, `display_name` and `role` are required.
const COLUMNS: [&str; 5] = ["email", "display_name", "role", "language", "password_hash"];

/// An import: the CSV text, and whether to only check it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"csv": "email,display_name,role,language,password_hash\nhanako@acme.example.jp,佐藤 花子,editor,ja,$2y$10$abcdefghijklmnopqrstuu1234567890ABCDEFGHIJKLMNOPQRSTU\ntaro@acme.example.jp,山田 太郎,viewer,en,\n",
    "dry_run": true}))]
pub struct UserImport {
    /// UTF-8 CSV with a header row naming the columns `email`, `display_name`, `role` (a role
    /// key) and optionally `language` (`ja`/`en`) and `password_hash` (bcrypt or Argon2id; empty:
    /// the user is invited by mail). At most 1000 rows.
    pub csv: String,
    /// Only check and preview: nothing is written.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did, or would do, row by row.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"dry_run": true, "imported": 0, "valid": 1, "invalid": 1, "rows": [
    {"line": 2, "email": "hanako@acme.example.jp", "action": "keep_password_hash", "problems": []},
    {"line": 3, "email": "taro@", "action": null, "problems": [{"column": "email", "problem": "not an email address"}]}
]}))]
pub struct ImportReport {
    pub dry_run: bool,
    /// Users created (0 for a dry run, or when any row has a problem).
    pub imported: usize,
    pub valid: usize,
    pub invalid: usize,
    pub rows: Vec<ImportRow>,
}

/// One data row of the file.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"line": 3, "email": "taro@", "action": null,
    "problems": [{"column": "email", "problem": "not an email address"}]}))]
pub struct ImportRow {
    /// The row's line in the file (the header is line 1).
    pub line: u64,
    pub email: String,
    /// `keep_password_hash` or `invite`; `null` when the row has problems.
    pub action: Option<String>,
    pub problems: Vec<RowProblem>,
}

/// A problem of one cell.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"column": "role", "problem": "\"nosuch\" is not a role of this tenant"}))]
pub struct RowProblem {
    pub column: String,
    pub problem: String,
}

/// A row that passed every check.
struct Checked {
    email: Email,
    name: DisplayName,
    role: Role,
    language: Language,
    hash: Option<String>,
}

/// Checks the file, and unless it is a dry run or a row has a problem, creates every user.
pub async fn import(state: &AppState, p: &TenantPrincipal, input: UserImport) -> AppResult<ImportReport> {
    let g = p.require(Permission::UsersManage)?;
    let roles = state.store.roles(g.tenant_id()).await?;
    let existing: HashSet<String> =
        state.store.users(g.tenant_id()).await?.into_iter().map(|u| u.email.to_string()).collect();
    let (rows, checked) = check(p, &input.csv, &roles, &existing)?;
    let invalid = rows.iter().filter(|r| !r.problems.is_empty()).count();
    let mut report = ImportReport { dry_run: input.dry_run, imported: 0, valid: rows.len() - invalid, invalid, rows };
    if input.dry_run {
        return Ok(report);
    }
    if invalid > 0 {
        // Nothing is written; every problem is named by its line and column.
        let errors = report
            .rows
            .iter()
            .flat_map(|r| {
                r.problems.iter().map(move |p| {
                    FieldError::new(
                        format!("line {}: {}", r.line, p.column),
                        FieldErrorKind::Invalid { reason: p.problem.clone() },
                    )
                })
            })
            .collect();
        return Err(AppError::Validation(errors));
    }
    if checked.is_empty() {
        return Err(AppError::BadRequest("the file has no rows to import".into()));
    }
    let mut w = g.begin(&state.store).await?;
    let (mut bcrypt, mut argon2, mut invited) = (0, 0, 0);
    for row in &checked {
        let account = NewAccount {
            email: &row.email,
            display_name: &row.name,
            role: row.role.id,
            password_hash: row.hash.as_deref(),
            language: row.language,
            // The people know these passwords already: no forced change unless the policy's
            // expiry says so later.
            must_change_password: false,
        };
        let user = w.insert_account(g.tenant_id(), account).await?;
        match &row.hash {
            Some(h) if h.starts_with("$2") => bcrypt += 1,
            Some(_) => argon2 += 1,
            None => {
                links::queue_setup_link(state, &mut w, p.tenant(), &user).await?;
                invited += 1;
            }
        }
    }
    let detail = format!(
        "{} user(s): {bcrypt} with bcrypt hashes, {argon2} with Argon2id hashes, {invited} invited by mail",
        checked.len()
    );
    w.commit(AuditRecord::success(Operation::UserImport, "users").with_detail(detail)).await?;
    if invited > 0 {
        state.mail.kick();
    }
    report.imported = checked.len();
    Ok(report)
}

/// Every row with its problems, and the rows without any, ready to create.
fn check(
    p: &TenantPrincipal,
    csv_text: &str,
    roles: &[Role],
    existing: &HashSet<String>,
) -> AppResult<(Vec<ImportRow>, Vec<Checked>)> {
    let text = csv_text.strip_prefix('\u{feff}').unwrap_or(csv_text);
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| AppError::BadRequest(format!("the header row cannot be read: {e}")))?;
    let headers: Vec<String> = headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    if let Some(unknown) = headers.iter().find(|h| !COLUMNS.contains(&h.as_str())) {
        return Err(AppError::BadRequest(format!(
            "unknown column {unknown:?}; the columns are {}",
            COLUMNS.join(", ")
        )));
    }
    for required in ["email", "display_name", "role"] {
        if !headers.iter().any(|h| h == required) {
            return Err(AppError::BadRequest(format!("the header row lacks the column {required:?}")));
        }
    }
    let index = |name: &str| headers.iter().position(|h| h == name);
    let mut rows = Vec::new();
    let mut checked = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Err(AppError::BadRequest(format!("at most {MAX_ROWS} rows can be imported at once")));
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or((i as u64) + 2, |p| p.line());
                let problem = RowProblem { column: "row".into(), problem: format!("cannot be read: {e}") };
                rows.push(ImportRow { line, email: String::new(), action: None, problems: vec![problem] });
                continue;
            }
        };
        // The line the row starts on (a quoted value may span lines).
        let line = record.position().map_or((i as u64) + 2, |p| p.line());
        let cell = |name: &str| index(name).and_then(|i| record.get(i)).unwrap_or("").to_owned();
        let mut problems = Vec::new();
        let mut problem =
            |column: &str, text: String| problems.push(RowProblem { column: column.into(), problem: text });
        let raw_email = cell("email");
        let email = match Email::parse(&raw_email) {
            Ok(e) if existing.contains(e.as_str()) => {
                problem("email", "a user with this address already exists".into());
                None
            }
            Ok(e) if !seen.insert(e.to_string()) => {
                problem("email", "this address appears twice in the file".into());
                None
            }
            Ok(e) => Some(e),
            Err(_) => {
                problem("email", "not an email address".into());
                None
            }
        };
        let name = DisplayName::parse(&cell("display_name"))
            .map_err(|_| problem("display_name", "use 1–200 characters without control characters".into()))
            .ok();
        let role_key = cell("role");
        let role = match Key::parse(&role_key).ok().and_then(|k| roles.iter().find(|r| r.key == k)) {
            None => {
                problem("role", format!("{role_key:?} is not a role of this tenant"));
                None
            }
            Some(r) if ensure_within(p.role(), r).is_err() => {
                problem("role", format!("the role {} has permissions you do not have yourself", r.key));
                None
            }
            Some(r) => Some(r.clone()),
        };
        let language = match cell("language").as_str() {
            "" => Some(Language::default()),
            other => Language::parse(other).or_else(|| {
                problem("language", format!("{other:?} is not ja or en"));
                None
            }),
        };
        let hash = match cell("password_hash") {
            h if h.is_empty() => Some(None),
            h if PasswordHasher::is_importable(&h) => Some(Some(h)),
            _ => {
                problem(
                    "password_hash",
                    "not a bcrypt ($2a$, $2b$, $2y$) or Argon2id hash; plain passwords are not accepted".into(),
                );
                None
            }
        };
        let action = match (&problems.is_empty(), &hash) {
            (true, Some(Some(_))) => Some("keep_password_hash".to_owned()),
            (true, Some(None)) => Some("invite".to_owned()),
            _ => None,
        };
        if let (true, Some(email), Some(name), Some(role), Some(language), Some(hash)) =
            (problems.is_empty(), email.clone(), name, role, language, hash)
        {
            checked.push(Checked { email, name, role, language, hash });
        }
        rows.push(ImportRow { line, email: raw_email, action, problems });
    }
    Ok((rows, checked))
}
