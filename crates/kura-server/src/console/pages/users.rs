//! User management (IAM-1): list, create, edit (name, role, status, password) and delete. Only
//! roles within the editor's own permissions are offered (the service refuses the others).

use crate::auth::TenantPrincipal;
use crate::console::cookies;
use crate::console::extract::{Ctx, FormData, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::labels::{self, role_label, status_label};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, empty_state, new_button, notice_warn, post_button, select};
use crate::error::{AppError, AppResult};
use crate::service::account;
use crate::service::users::{self, NewUser, UserChanges};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{DisplayName, Email, Language, Permission, Role, User, UserId, UserStatus};
use maud::{Markup, html};

/// The tenant's roles, and which of them `p` may hand out (those within its own permissions).
pub async fn roles_for(state: &AppState, p: &TenantPrincipal, needs: Permission) -> AppResult<(Vec<Role>, Vec<Role>)> {
    let g = p.require(needs)?;
    let all = state.store.roles(g.tenant_id()).await?;
    let own = p.role().permissions;
    let grantable = all.iter().filter(|r| r.permissions.iter().all(|x| own.contains(x))).cloned().collect();
    Ok((all, grantable))
}

fn parse_id(id: &str) -> AppResult<UserId> {
    id.parse().map_err(|_| AppError::NotFound("user"))
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let list = users::list(&state, &ctx.p).await?;
    let (roles, _) = roles_for(&state, &ctx.p, Permission::UsersManage).await?;
    let role_of =
        |u: &User| roles.iter().find(|r| r.id == u.role_id).map(|r| role_label(r, ctx.lang)).unwrap_or_default();
    let body = html! {
        @if list.is_empty() {
            (empty_state(t(Msg::NoUsersYet), Some(("/console/users/new", t(Msg::NewUser)))))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavUsers)) }
                thead { tr {
                    th scope="col" { (t(Msg::DisplayName)) } th scope="col" { (t(Msg::Email)) }
                    th scope="col" { (t(Msg::Role)) } th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::CreatedAt)) }
                } }
                tbody { @for u in &list { tr {
                    th scope="row" { a href={ "/console/users/" (u.id) } { (u.display_name.as_str()) } }
                    td { (u.email.as_str()) }
                    td { (role_of(u)) }
                    td {
                        span class={ "badge status-" (u.status.as_str()) } { (status_label(u.status, ctx.lang)) }
                        @if u.is_locked(state.clock.now()) { " " span.badge.status-locked { (t(Msg::Locked)) } }
                        @if !u.has_password { " " span.badge.badge-muted { (t(Msg::NotSetUp)) } }
                    }
                    td.nowrap { (ctx.time(u.created_at)) }
                } } }
            } }
        }
    };
    let actions = html! {
        a.btn.btn-ghost href="/console/users/import" { (t(Msg::ImportUsers)) }
        " "
        (new_button("/console/users/new", t(Msg::NewUser)))
    };
    let head = Head::new(Nav::Users, t(Msg::NavUsers)).actions(actions);
    Ok(page(&ctx, head, body).into_response())
}

/// The values a user form shows (what was stored, or what was just submitted).
#[derive(Debug, Default)]
struct Values {
    email: String,
    name: String,
    role: String,
    status: String,
    language: String,
}

/// The user's sign-in state, with the administrator's actions on it: unlock, sign out everywhere.
fn sign_in_card(ctx: &Ctx, user: &User, now: jiff::Timestamp) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let lock = if user.is_locked(now) {
        let n = user.failed_logins.to_string();
        Some(match user.locked_until {
            Some(until) => t(Msg::LockedUntil).replace("{n}", &n).replace("{time}", &ctx.time(until)),
            None => t(Msg::LockedIndefinitely).replace("{n}", &n),
        })
    } else {
        None
    };
    html! {
        section.card.stack {
            h2 { (t(Msg::SignInState)) }
            @match &lock {
                Some(text) => {
                    p { span.badge.status-locked { (t(Msg::Locked)) } " " (text) }
                    (post_button(&format!("/console/users/{}/unlock", user.id), ctx.csrf(), t(Msg::Unlock), "btn btn-primary"))
                }
                None => p.muted { (t(Msg::NotLocked)) },
            }
            @if user.must_change_password { p.muted { (t(Msg::MustChangeNext)) } }
            @if !user.has_password {
                p.muted { (t(Msg::NotSetUpHelp)) }
                (post_button(&format!("/console/users/{}/setup-link", user.id), ctx.csrf(), t(Msg::ResendSetupLink), "btn btn-ghost"))
            }
            p.help { (t(Msg::FactorsResetHelp)) }
            p { a.btn.btn-danger-outline href={ "/console/users/" (user.id) "/second-factors/reset" } { (t(Msg::FactorsReset)) } }
            p.help { (t(Msg::ForceLogoutHelp)) }
            (post_button(&format!("/console/users/{}/signout", user.id), ctx.csrf(), t(Msg::ForceLogout), "btn btn-danger-outline"))
            @if ctx.p.user_id() != Some(user.id) {
                p.help { (t(Msg::OneTimeHelp)) }
                (post_button(&format!("/console/users/{}/one-time-password", user.id), ctx.csrf(), t(Msg::IssueOneTime), "btn btn-ghost"))
            }
        }
    }
}

fn language_options() -> Vec<(String, String)> {
    Language::ALL
        .iter()
        .map(|l| {
            let name = match l {
                Language::Ja => "日本語",
                Language::En => "English",
            };
            (l.code().to_owned(), name.to_owned())
        })
        .collect()
}

/// The user form, and for an existing user (when the form has no errors) their sign-in state.
/// The tenant's password rules, stated above a password input before anyone types.
async fn password_rules(state: &AppState, ctx: &Ctx) -> AppResult<Vec<kura_domain::PasswordProblem>> {
    Ok(crate::service::security::policy_of(state, ctx.p.tenant().id).await?.password.rules())
}

fn form_page(
    ctx: &Ctx,
    user: Option<&User>,
    roles: &[Role],
    v: &Values,
    errors: &Errors,
    (now, rules): (jiff::Timestamp, &[kura_domain::PasswordProblem]),
) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let is_self = user.is_some_and(|u| ctx.p.user_id() == Some(u.id));
    let options: Vec<(String, String)> = roles.iter().map(|r| (r.key.to_string(), role_label(r, lang))).collect();
    let statuses: Vec<(String, String)> = [UserStatus::Active, UserStatus::Disabled]
        .iter()
        .map(|s| (s.as_str().to_owned(), status_label(*s, lang).to_owned()))
        .collect();
    let action = user.map_or_else(|| "/console/users/new".to_owned(), |u| format!("/console/users/{}", u.id));
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action=(action) {
            (csrf(ctx.csrf()))
            @if user.is_none() {
                (Input { name: "email", label: t(Msg::Email), kind: "email", value: &v.email, required: true,
                    error: errors.get("email"), autocomplete: Some("off"), ..Input::default() }.render(lang))
            }
            (Input { name: "display_name", label: t(Msg::DisplayName), kind: "text", value: &v.name, required: true,
                maxlength: Some(200), error: errors.get("display_name"), ..Input::default() }.render(lang))
            @if is_self {
                p.help { (t(Msg::CannotChangeOwnRole)) }
            } @else {
                (select("role", t(Msg::Role), &options, &v.role, Some(t(Msg::RoleAssignHelp)), errors.get("role"), lang))
                @if user.is_some() {
                    (select("status", t(Msg::Status), &statuses, &v.status, Some(t(Msg::StatusHelp)), errors.get("status"), lang))
                }
            }
            (select("language", t(Msg::MailLanguage), &language_options(), &v.language, None, errors.get("language"), lang))
            @if user.is_none() {
                (select("access", t(Msg::AccessChoice), &[
                    ("invite".to_owned(), t(Msg::AccessInvite).to_owned()),
                    ("one_time".to_owned(), t(Msg::AccessOneTime).to_owned()),
                ], "invite", Some(t(Msg::AccessHelp)), None, lang))
            }
            div.rules {
                p { (t(Msg::PasswordRulesIntro)) }
                ul { @for r in rules { li { (labels::password_rule(*r, lang)) } } }
            }
            (Input { name: "password", label: t(if user.is_some() { Msg::NewPassword } else { Msg::InitialPassword }),
                kind: "password", value: "", error: errors.get("password"), autocomplete: Some("new-password"),
                help: Some(t(if user.is_some() { Msg::NewPasswordHelp } else { Msg::InitialPasswordHelp })),
                ..Input::default() }.render(lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::Save)) }
                a.btn.btn-ghost href="/console/users" { (t(Msg::Cancel)) }
                @if let Some(u) = user.filter(|_| !is_self) {
                    a.btn.btn-danger-outline href={ "/console/users/" (u.id) "/delete" } { (t(Msg::Delete)) }
                }
            }
        }
        @if let Some(u) = user.filter(|_| errors.is_empty()) { (sign_in_card(ctx, u, now)) }
    };
    let title = match user {
        Some(u) => u.display_name.to_string(),
        None => t(Msg::NewUser).to_owned(),
    };
    let head = Head::new(Nav::Users, &title).crumb(t(Msg::NavUsers), "/console/users");
    (errors.status(), page(ctx, head, body)).into_response()
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let (_, grantable) = roles_for(&state, &ctx.p, Permission::UsersManage).await?;
    let role = grantable.iter().find(|r| r.key.as_str() == "viewer").or(grantable.first());
    let v = Values {
        role: role.map(|r| r.key.to_string()).unwrap_or_default(),
        language: Language::default().code().to_owned(),
        ..Values::default()
    };
    Ok(form_page(
        &ctx,
        None,
        &grantable,
        &v,
        &Errors::default(),
        (state.clock.now(), &password_rules(&state, &ctx).await?),
    ))
}

/// Checks the common inputs in the reader's language before the service sees them.
fn precheck(form: &FormData, lang: crate::console::i18n::Lang, errors: &mut Errors, with_email: bool) {
    if with_email && Email::parse(form.get("email")).is_err() {
        errors.add("email", labels::field_error(&kura_domain::FieldErrorKind::InvalidEmail, lang));
    }
    if DisplayName::parse(form.get("display_name")).is_err() {
        errors.add("display_name", Msg::NameRule.text(lang));
    }
}

pub async fn create(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let (_, grantable) = roles_for(&state, &ctx.p, Permission::UsersManage).await?;
    let mut errors = Errors::default();
    precheck(&form, ctx.lang, &mut errors, true);
    if errors.is_empty() {
        let input = NewUser {
            email: form.get("email").trim().to_owned(),
            display_name: form.get("display_name").to_owned(),
            role: form.get("role").to_owned(),
            password: form.opt("password").map(|_| form.get("password").to_owned()),
            language: Language::parse(form.get("language")),
            invite: Some(form.get("access") != "one_time"),
        };
        let one_time = input.password.is_none() && form.get("access") == "one_time";
        match users::create(&state, &ctx.p, input).await {
            Ok(user) if one_time => return issue_and_show(&state, &ctx, user.id).await,
            Ok(_) => return Ok(Redirect::to("/console/users?done=created").into_response()),
            Err(e) => errors.absorb(e, ctx.lang, Some("email"))?,
        }
    }
    let v = Values {
        email: form.get("email").into(),
        name: form.get("display_name").into(),
        role: form.get("role").into(),
        language: form.get("language").into(),
        ..Values::default()
    };
    Ok(form_page(&ctx, None, &grantable, &v, &errors, (state.clock.now(), &password_rules(&state, &ctx).await?)))
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = users::get(&state, &ctx.p, parse_id(&id)?).await?;
    let (all, grantable) = roles_for(&state, &ctx.p, Permission::UsersManage).await?;
    let current = all.iter().find(|r| r.id == user.role_id);
    let v = Values {
        email: user.email.to_string(),
        name: user.display_name.to_string(),
        role: current.map(|r| r.key.to_string()).unwrap_or_default(),
        status: user.status.as_str().to_owned(),
        language: user.language.code().to_owned(),
    };
    Ok(form_page(
        &ctx,
        Some(&user),
        &grantable,
        &v,
        &Errors::default(),
        (state.clock.now(), &password_rules(&state, &ctx).await?),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let user = users::get(&state, &ctx.p, parse_id(&id)?).await?;
    let (_, grantable) = roles_for(&state, &ctx.p, Permission::UsersManage).await?;
    let mut errors = Errors::default();
    precheck(&form, ctx.lang, &mut errors, false);
    if errors.is_empty() {
        let changes = UserChanges {
            display_name: Some(form.get("display_name").to_owned()),
            role: form.opt("role").map(str::to_owned),
            status: form.opt("status").map(str::to_owned),
            password: form.opt("password").map(|_| form.get("password").to_owned()),
            language: Language::parse(form.get("language")),
        };
        match users::update(&state, &ctx.p, user.id, changes).await {
            Ok(_) => return Ok(Redirect::to("/console/users?done=saved").into_response()),
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    let v = Values {
        email: user.email.to_string(),
        name: form.get("display_name").into(),
        role: form.get("role").into(),
        status: form.get("status").into(),
        language: form.get("language").into(),
    };
    Ok(form_page(&ctx, Some(&user), &grantable, &v, &errors, (state.clock.now(), &password_rules(&state, &ctx).await?)))
}

pub async fn confirm_delete(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = users::get(&state, &ctx.p, parse_id(&id)?).await?;
    let t = |m: Msg| ctx.t(m);
    let question = Msg::ConfirmDeleteUser.text(ctx.lang).replace("{name}", user.display_name.as_str());
    let head = Head::new(Nav::Users, t(Msg::DeleteUser)).crumb(t(Msg::NavUsers), "/console/users");
    let confirm = Confirm {
        question,
        warning: Some(t(Msg::DeleteUserNote)),
        action: format!("/console/users/{}/delete", user.id),
        button: t(Msg::Delete),
        cancel: format!("/console/users/{}", user.id),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    users::delete(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to("/console/users?done=deleted").into_response())
}

pub async fn unlock(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let user = account::unlock(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/console/users/{}?done=unlocked", user.id)).into_response())
}

pub async fn sign_out(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    account::force_logout(&state, &ctx.p, id).await?;
    Ok(Redirect::to(&format!("/console/users/{id}?done=signedout")).into_response())
}

/// Issues a one-time password and sends the browser, by redirect, to the one page that shows it
/// (post-redirect-get: reloading or going back issues nothing new).
async fn issue_and_show(state: &AppState, ctx: &Ctx, id: UserId) -> AppResult<Response> {
    let (user, password) = users::issue_one_time_password(state, &ctx.p, id).await?;
    let path = format!("/console/users/{}/one-time-password", user.id);
    let mut response = Redirect::to(&path).into_response();
    if let Some(cookie) = cookies::once(state, &path, &password) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn issue_one_time(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    issue_and_show(&state, &ctx, parse_id(&id)?).await
}

/// The only time a one-time password is shown: read from the one-time cookie, which this page
/// clears.
pub async fn one_time_password(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let user = users::get(&state, &ctx.p, parse_id(&id)?).await?;
    let path = format!("/console/users/{}/one-time-password", user.id);
    // Generated passwords are 20 letters and digits; anything else is not ours.
    let password = cookies::get(&headers, cookies::ONCE_COOKIE)
        .filter(|p| p.len() == 20 && p.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_owned);
    let t = |m: Msg| ctx.t(m);
    let origin = state.settings.base_url();
    let body = html! {
        div.card.stack {
            @if let Some(password) = &password {
                (notice_warn(t(Msg::OneTimeShownOnce)))
                dl.handover {
                    dt { (t(Msg::ConsoleUrl)) } dd.mono { (origin) "/console/login?tenant=" (ctx.p.tenant().slug.as_str()) }
                    dt { (t(Msg::TenantId)) } dd.mono { (ctx.p.tenant().slug.as_str()) }
                    dt { (t(Msg::Email)) } dd.mono { (user.email.as_str()) }
                    dt #password-label { (t(Msg::OneTimePassword)) }
                    dd { code #password.secret aria-labelledby="password-label" { (password) } }
                }
                p.help { (t(Msg::ClickToSelect)) (ctx.lang.sentence_gap()) (t(Msg::OneTimeHandover)) }
            } @else {
                (notice_warn(t(Msg::SecretAlreadyShown)))
                p { (t(Msg::OneTimeGone)) }
            }
            p { a.btn.btn-primary href={ "/console/users/" (user.id) } { (t(Msg::CopiedDone)) } }
        }
    };
    let head = Head::new(Nav::Users, user.display_name.as_str()).crumb(t(Msg::NavUsers), "/console/users");
    let mut response = page(&ctx, head, body).into_response();
    if password.is_some()
        && let Some(cookie) = cookies::clear_once(&state, &path)
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn resend_setup_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    crate::service::links::resend_setup_link(&state, &ctx.p, id).await?;
    Ok(Redirect::to(&format!("/console/users/{id}?done=linksent")).into_response())
}
