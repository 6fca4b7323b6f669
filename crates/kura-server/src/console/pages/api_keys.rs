//! API keys for external systems (IAM-12): list, issue (the token is shown once, on the page
//! that answers the POST, and never again), and revoke.

use super::users::roles_for;
use crate::console::cookies;
use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::labels::role_label;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, checkbox, csrf, empty_state, new_button, notice_warn, select};
use crate::error::{AppError, AppResult};
use crate::service::api_keys::{self, NewApiKey};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{ApiKeyId, Permission, Role};
use kura_store::ApiKey;
use maud::html;

fn role_name(roles: &[Role], key: &ApiKey, ctx: &Ctx) -> String {
    roles.iter().find(|r| r.id == key.role_id).map(|r| role_label(r, ctx.lang)).unwrap_or_default()
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let keys = api_keys::list(&state, &ctx.p).await?;
    let (roles, _) = roles_for(&state, &ctx.p, Permission::ApiKeysManage).await?;
    let now = state.clock.now();
    let body = html! {
        p.muted { (t(Msg::ApiKeysIntro)) }
        @if keys.is_empty() {
            (empty_state(t(Msg::NoApiKeysYet), Some(("/console/api-keys/new", t(Msg::NewApiKey)))))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavApiKeys)) }
                thead { tr {
                    th scope="col" { (t(Msg::KeyName)) } th scope="col" { (t(Msg::Role)) }
                    th scope="col" { (t(Msg::Status)) } th scope="col" { (t(Msg::CreatedAt)) }
                    th scope="col" { (t(Msg::ExpiresAt)) } th scope="col" { (t(Msg::LastUsed)) }
                    th scope="col" { span.visually-hidden { (t(Msg::Actions)) } }
                } }
                tbody { @for k in &keys {
                    @let (status, class) = if k.revoked_at.is_some() {
                        (Msg::Revoked, "status-disabled")
                    } else if k.expires_at.is_some_and(|e| e <= now) {
                        (Msg::Expired, "status-disabled")
                    } else {
                        (Msg::ActiveKey, "status-active")
                    };
                    tr {
                        th scope="row" { (k.name) }
                        td { (role_name(&roles, k, &ctx)) }
                        td { span class={ "badge " (class) } { (t(status)) } }
                        td.nowrap { (ctx.time(k.created_at)) }
                        td.nowrap { (k.expires_at.map(|e| ctx.time(e)).unwrap_or_else(|| t(Msg::NoExpiry).to_owned())) }
                        td.nowrap {
                            (k.last_used_at.map(|e| ctx.time(e)).unwrap_or_else(|| t(Msg::NeverUsed).to_owned()))
                            @if let Some(ip) = &k.last_used_ip { br; span.muted.mono { (ip) } }
                            @if k.scopes.is_some() || !k.allowed_ranges.is_empty() {
                                br; span.muted { (limits_text(k, &ctx)) }
                            }
                        }
                        td { @if k.revoked_at.is_none() {
                            a href={ "/console/api-keys/" (k.id) "/rotate" } { (t(Msg::RotateKey)) } " "
                            a.danger-link href={ "/console/api-keys/" (k.id) "/revoke" } { (t(Msg::Revoke)) }
                            @if let Some(until) = k.previous_valid_until.filter(|u| *u > now) {
                                br; span.muted { (t(Msg::PreviousSecretUntil).replace("{time}", &ctx.time(until))) }
                            }
                        } }
                    }
                } }
            } }
        }
    };
    let head =
        Head::new(Nav::ApiKeys, t(Msg::NavApiKeys)).actions(new_button("/console/api-keys/new", t(Msg::NewApiKey)));
    Ok(page(&ctx, head, body).into_response())
}

/// A key's narrowing beyond its role, in a line: its scopes and its address ranges.
fn limits_text(k: &ApiKey, ctx: &Ctx) -> String {
    let mut parts = Vec::new();
    if let Some(scopes) = k.scopes {
        let names: Vec<&str> = scopes.iter().map(|p| crate::console::labels::permission_label(p, ctx.lang)).collect();
        parts.push(format!("{}: {}", ctx.t(Msg::KeyScopes), names.join("、")));
    }
    if !k.allowed_ranges.is_empty() {
        let ranges: Vec<String> = k.allowed_ranges.iter().map(ToString::to_string).collect();
        parts.push(format!("{}: {}", ctx.t(Msg::KeyRanges), ranges.join(", ")));
    }
    parts.join(" / ")
}

/// What the form was filled with.
struct KeyForm<'a> {
    name: &'a str,
    role: &'a str,
    days: &'a str,
    scopes: Vec<Permission>,
    ranges: &'a str,
}

fn form_page(ctx: &Ctx, roles: &[Role], f: &KeyForm<'_>, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let (name, role, days) = (f.name, f.role, f.days);
    let options: Vec<(String, String)> = roles.iter().map(|r| (r.key.to_string(), role_label(r, lang))).collect();
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action="/console/api-keys/new" {
            (csrf(ctx.csrf()))
            (Input { name: "name", label: t(Msg::KeyName), kind: "text", value: name, required: true, maxlength: Some(100),
                help: Some(t(Msg::KeyNameHelp)), error: errors.get("name"), ..Input::default() }.render(lang))
            (select("role", t(Msg::Role), &options, role, Some(t(Msg::KeyRoleHelp)), errors.get("role"), lang))
            (Input { name: "expires_in_days", label: t(Msg::ExpiresInDays), kind: "number", value: days,
                min: Some("1".into()), max: Some("730".into()), help: Some(t(Msg::ExpiresInDaysHelp)),
                error: errors.get("expires_in_days"), ..Input::default() }.render(lang))
            fieldset.stack {
                legend { (t(Msg::KeyScopes)) }
                p.help { (t(Msg::KeyScopesHelp)) }
                @if let Some(e) = errors.get("scopes") { p.field-error { (e) } }
                div.grid-2 { @for p in Permission::ALL {
                    (checkbox("scopes", p.as_str(), crate::console::labels::permission_label(p, lang),
                        f.scopes.contains(&p), false, None))
                } }
            }
            (Input { name: "allowed_ranges", label: t(Msg::KeyRanges), kind: "textarea", value: f.ranges,
                help: Some(t(Msg::KeyRangesHelp)), error: errors.get("allowed_ranges"), ..Input::default() }.render(lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::IssueKey)) }
                a.btn.btn-ghost href="/console/api-keys" { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::ApiKeys, t(Msg::NewApiKey)).crumb(t(Msg::NavApiKeys), "/console/api-keys");
    (errors.status(), page(ctx, head, body)).into_response()
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let (_, grantable) = roles_for(&state, &ctx.p, Permission::ApiKeysManage).await?;
    let role = grantable.iter().find(|r| r.key.as_str() == "viewer").or(grantable.first());
    let role = role.map(|r| r.key.to_string()).unwrap_or_default();
    let f = KeyForm { name: "", role: &role, days: "90", scopes: Vec::new(), ranges: "" };
    Ok(form_page(&ctx, &grantable, &f, &Errors::default()))
}

pub async fn create(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let (_, grantable) = roles_for(&state, &ctx.p, Permission::ApiKeysManage).await?;
    let t = |m: Msg| ctx.t(m);
    let mut errors = Errors::default();
    let name = form.get("name").trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", t(Msg::KeyNameRule));
    }
    let days = match form.opt("expires_in_days") {
        None => None,
        Some(d) => match d.parse::<u32>() {
            Ok(n @ 1..=730) => Some(n),
            _ => {
                errors.add("expires_in_days", t(Msg::ExpiresInDaysRule));
                None
            }
        },
    };
    let scope_names: Vec<String> = form.all("scopes").into_iter().map(str::to_owned).collect();
    let scopes: Vec<Permission> = scope_names.iter().filter_map(|n| Permission::parse(n).ok()).collect();
    let ranges: Vec<String> =
        form.get("allowed_ranges").lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    if errors.is_empty() {
        let input = NewApiKey {
            name: name.to_owned(),
            role: form.get("role").to_owned(),
            expires_in_days: days,
            scopes: (!scope_names.is_empty()).then(|| scope_names.clone()),
            allowed_ranges: Some(ranges.clone()),
        };
        match api_keys::create(&state, &ctx.p, input).await {
            Ok((token, key)) => {
                // Post-redirect-get: reloading the page that shows the key, or going back,
                // never issues a second key.
                let path = format!("/console/api-keys/{}/created", key.id);
                let mut response = Redirect::to(&path).into_response();
                if let Some(cookie) = cookies::once(&state, &path, &token) {
                    response.headers_mut().insert(header::SET_COOKIE, cookie);
                }
                return Ok(response);
            }
            Err(AppError::Validation(list)) => {
                // A list's problems (`allowed_ranges[2]`) show at the list, naming the entry.
                for fe in list {
                    let (base, at) = fe.field.split_once('[').unwrap_or((fe.field.as_str(), ""));
                    let entry = at.trim_end_matches(']').parse::<usize>().ok();
                    let what = match (base, entry) {
                        ("allowed_ranges", Some(i)) => format!("{}: ", ranges.get(i).map_or("", String::as_str)),
                        ("scopes", Some(i)) => format!("{}: ", scope_names.get(i).map_or("", String::as_str)),
                        _ => String::new(),
                    };
                    errors.add(base, format!("{what}{}", crate::console::labels::field_error(&fe.kind, ctx.lang)));
                }
            }
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    let f = KeyForm {
        name: form.get("name"),
        role: form.get("role"),
        days: form.get("expires_in_days"),
        scopes,
        ranges: form.get("allowed_ranges"),
    };
    Ok(form_page(&ctx, &grantable, &f, &errors))
}

/// The only time the token is ever shown: read from the one-time cookie, which this page clears.
/// Read again (reload, back), it says the secret was shown and how to go on.
pub async fn created(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let keys = api_keys::list(&state, &ctx.p).await?;
    let key = keys.iter().find(|k| k.id.to_string() == id).ok_or(AppError::NotFound("api key"))?;
    let path = format!("/console/api-keys/{}/created", key.id);
    // The cookie is scoped to this key's page, and the token names this tenant.
    let token = cookies::get(&headers, cookies::ONCE_COOKIE)
        .filter(|t| {
            crate::auth::parse_api_key_token(t).is_some_and(|(tenant, _)| tenant == ctx.p.tenant().id.as_uuid())
        })
        .map(str::to_owned);
    let t = |m: Msg| ctx.t(m);
    let body = html! {
        div.card.stack {
            @if let Some(token) = &token {
                (notice_warn(t(Msg::CopyTokenNow)))
                div.field {
                    p.label-like #token-label { (t(Msg::ApiToken)) " — " (key.name) }
                    code #token.secret aria-labelledby="token-label" { (token) }
                    p.help { (t(Msg::ClickToSelect)) (ctx.lang.sentence_gap()) (t(Msg::TokenUsage)) }
                }
            } @else {
                (notice_warn(t(Msg::SecretAlreadyShown)))
                p { (t(Msg::KeySecretGone)) }
            }
            p { a.btn.btn-primary href="/console/api-keys?done=created" { (t(Msg::CopiedDone)) } }
        }
    };
    let head = Head::new(Nav::ApiKeys, t(Msg::KeyIssued)).crumb(t(Msg::NavApiKeys), "/console/api-keys");
    let mut response = page(&ctx, head, body).into_response();
    if token.is_some()
        && let Some(cookie) = cookies::clear_once(&state, &path)
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub async fn confirm_revoke(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let keys = api_keys::list(&state, &ctx.p).await?;
    let key = keys.iter().find(|k| k.id.to_string() == id).ok_or(AppError::NotFound("api key"))?;
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::ApiKeys, t(Msg::RevokeKey)).crumb(t(Msg::NavApiKeys), "/console/api-keys");
    let confirm = Confirm {
        question: t(Msg::ConfirmRevokeKey).replace("{name}", &key.name),
        warning: Some(t(Msg::RevokeKeyNote)),
        action: format!("/console/api-keys/{}/revoke", key.id),
        button: t(Msg::Revoke),
        cancel: "/console/api-keys".to_owned(),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let id: ApiKeyId = id.parse().map_err(|_| AppError::NotFound("api key"))?;
    api_keys::revoke(&state, &ctx.p, id).await?;
    Ok(Redirect::to("/console/api-keys?done=revoked").into_response())
}

/// The grace periods offered when rotating, in minutes.
const GRACE_CHOICES: [(u32, Msg); 5] = [
    (0, Msg::GraceNone),
    (60, Msg::GraceHour),
    (1_440, Msg::GraceDay),
    (10_080, Msg::GraceWeek),
    (43_200, Msg::GraceMonth),
];

/// The rotation form: a new secret, and how long the current one keeps working.
pub async fn rotate_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let keys = api_keys::list(&state, &ctx.p).await?;
    let key =
        keys.iter().find(|k| k.id.to_string() == id && k.revoked_at.is_none()).ok_or(AppError::NotFound("api key"))?;
    let t = |m: Msg| ctx.t(m);
    let options: Vec<(String, String)> =
        GRACE_CHOICES.iter().map(|(m, msg)| (m.to_string(), t(*msg).to_owned())).collect();
    let body = html! {
        form.card.stack method="post" action={ "/console/api-keys/" (key.id) "/rotate" } {
            (csrf(ctx.csrf()))
            p.lead { (t(Msg::RotateIntro).replace("{name}", &key.name)) }
            (select("grace_minutes", t(Msg::GraceLabel), &options, "1440", Some(t(Msg::GraceHelp)), None, ctx.lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::RotateKey)) }
                a.btn.btn-ghost href="/console/api-keys" { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::ApiKeys, t(Msg::RotateKey)).crumb(t(Msg::NavApiKeys), "/console/api-keys");
    Ok(page(&ctx, head, body).into_response())
}

/// Rotates, then shows the new secret once, like a new key (post-redirect-get).
pub async fn rotate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    // Checked before anything else, so that the refusal does not depend on the form.
    ctx.p.require(Permission::ApiKeysManage)?;
    let id: ApiKeyId = id.parse().map_err(|_| AppError::NotFound("api key"))?;
    let grace_minutes = form
        .get("grace_minutes")
        .parse::<u32>()
        .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
    let (token, key) = api_keys::rotate(&state, &ctx.p, id, api_keys::RotateApiKey { grace_minutes }).await?;
    let path = format!("/console/api-keys/{}/created", key.id);
    let mut response = Redirect::to(&path).into_response();
    if let Some(cookie) = cookies::once(&state, &path, &token) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
