//! Client certificates of the tenant (IAM-11): the list, issuing one (its key, as PKCS#12 with
//! its password and as PEM, shown on the one page that answers the issuing POST), revoking one
//! after a confirmation, and how to install a certificate on Windows, macOS and in a browser.
//!
//! The issued page is the answer to the POST itself, not a post-redirect-get like a new API
//! key's: a PKCS#12 file does not fit in the one-time cookie, and the server keeps no copy of a
//! key to hand out later. The downloads are `data:` links in that page (every page is
//! `Cache-Control: no-store`), so the key exists only in that answer. A reload would post the
//! form again; the form therefore carries a token that is also in a cookie scoped to the form,
//! and the issuing POST clears that cookie: a form is good for one certificate.

use crate::console::cookies;
use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, Errors, confirm_page};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, empty_state, new_button, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::client_certs::{self, ClientCertView, IssuedClientCert, NewClientCert};
use crate::service::security;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{CertificateRequirement, Permission};
use maud::{Markup, html};

const LIST: &str = "/console/settings/client-certificates";
const NEW: &str = "/console/settings/client-certificates/new";
/// The cookie that makes an issuing form good for one certificate.
const FORM_COOKIE: &str = "kura_issue";
const FORM_FIELD: &str = "issue_token";

/// The doors a requirement covers, in words (`None`: no door).
pub fn doors(req: CertificateRequirement, ctx: &Ctx) -> Option<&'static str> {
    match (req.console, req.api) {
        (true, true) => Some(ctx.t(Msg::DoorBoth)),
        (true, false) => Some(ctx.t(Msg::DoorConsole)),
        (false, true) => Some(ctx.t(Msg::DoorApi)),
        (false, false) => None,
    }
}

/// How to install a `.p12` file, in the reader's language.
pub fn install_steps(ctx: &Ctx) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        section.section.card.stack #install {
            h2 { (t(Msg::CertInstallTitle)) }
            ul {
                li { (t(Msg::CertInstallWindows)) }
                li { (t(Msg::CertInstallMac)) }
                li { (t(Msg::CertInstallFirefox)) }
            }
            p { (t(Msg::CertInstallUse)) }
        }
    }
}

fn status_of(c: &ClientCertView) -> (Msg, &'static str) {
    match c.status {
        "revoked" => (Msg::Revoked, "status-disabled"),
        "expired" => (Msg::Expired, "status-disabled"),
        _ => (Msg::CertValid, "status-active"),
    }
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let certs = client_certs::list(&state, &ctx.p).await?;
    let requirement = security::get(&state, &ctx.p).await?.client_certificates;
    let t = |m: Msg| ctx.t(m);
    let body = html! {
        p.muted { (t(Msg::ClientCertsIntro)) }
        p {
            @match doors(requirement, &ctx) {
                Some(d) => { strong { (t(Msg::CertRequiredFor).replace("{doors}", d)) } }
                None => { (t(Msg::CertRequiredNowhere)) }
            }
            " " a href="/console/settings/security#client-certificates" { (t(Msg::CertChangeRequirement)) }
        }
        @if certs.is_empty() {
            (empty_state(t(Msg::NoClientCertsYet), Some((NEW, t(Msg::IssueClientCert)))))
        } @else {
            div.table-wrap { table.data #client-certificates {
                caption.visually-hidden { (t(Msg::NavClientCerts)) }
                thead { tr {
                    th scope="col" { (t(Msg::CertHolder)) } th scope="col" { (t(Msg::CertSerial)) }
                    th scope="col" { (t(Msg::Status)) } th scope="col" { (t(Msg::ExpiresAt)) }
                    th scope="col" { (t(Msg::LastUsed)) }
                    th scope="col" { span.visually-hidden { (t(Msg::Actions)) } }
                } }
                tbody { @for c in &certs {
                    @let (status, class) = status_of(c);
                    tr {
                        th scope="row" { (c.holder) }
                        td { code.mono { (c.serial) } }
                        td { span class={ "badge " (class) } { (t(status)) } }
                        td.nowrap { (ctx.time(c.not_after)) }
                        td.nowrap {
                            (c.last_used_at.map(|e| ctx.time(e)).unwrap_or_else(|| t(Msg::NeverUsed).to_owned()))
                            @if let Some(ip) = &c.last_used_ip { br; span.muted.mono { (ip) } }
                        }
                        td { @if c.revoked_at.is_none() {
                            a.danger-link href={ (LIST) "/" (c.serial) "/revoke" } { (t(Msg::Revoke)) }
                        } }
                    }
                } }
            } }
        }
        (install_steps(&ctx))
    };
    let head = Head::new(Nav::ClientCerts, t(Msg::NavClientCerts)).actions(new_button(NEW, t(Msg::IssueClientCert)));
    Ok(page(&ctx, head, body).into_response())
}

/// What the issuing form was filled with.
struct CertForm<'a> {
    holder: &'a str,
    days: &'a str,
    token: &'a str,
}

fn form_page(ctx: &Ctx, f: &CertForm<'_>, errors: &Errors, status: StatusCode) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action=(NEW) {
            (csrf(ctx.csrf()))
            input type="hidden" name=(FORM_FIELD) value=(f.token);
            (Input { name: "holder", label: t(Msg::CertHolder), kind: "text", value: f.holder, required: true,
                maxlength: Some(100), help: Some(t(Msg::CertHolderHelp)), error: errors.get("holder"),
                ..Input::default() }.render(lang))
            (Input { name: "days", label: t(Msg::CertDays), kind: "number", value: f.days, required: true,
                min: Some("1".into()), max: Some("731".into()), step: Some("1"), help: Some(t(Msg::CertDaysHelp)),
                error: errors.get("days"), ..Input::default() }.render(lang))
            p.help { (t(Msg::CertIssueNote)) }
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::CertIssueButton)) }
                a.btn.btn-ghost href=(LIST) { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::ClientCerts, t(Msg::NewClientCertTitle)).crumb(t(Msg::NavClientCerts), LIST);
    (status, page(ctx, head, body)).into_response()
}

/// The form, with a fresh token in its cookie.
fn fresh_form(state: &AppState, ctx: &Ctx, holder: &str, days: &str, errors: &Errors, status: StatusCode) -> Response {
    let token = kura_crypto::SecretToken::generate();
    let mut response = form_page(ctx, &CertForm { holder, days, token: token.expose() }, errors, status);
    if let Some(cookie) = form_cookie(state, token.expose(), 3600) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The form's token cookie, scoped to the form (`max_age` 0 clears it).
fn form_cookie(state: &AppState, value: &str, max_age: u32) -> Option<HeaderValue> {
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FORM_COOKIE}={value}; Path={NEW}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    ctx.p.require(Permission::SettingsManage)?;
    Ok(fresh_form(&state, &ctx, "", "365", &Errors::default(), StatusCode::OK))
}

pub async fn issue(
    State(state): State<AppState>,
    headers: HeaderMap,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    // Checked before anything else, so that the refusal does not depend on the form.
    ctx.p.require(Permission::SettingsManage)?;
    let (holder, days_text) = (form.get("holder"), form.get("days").trim());
    let token = form.get(FORM_FIELD);
    let cookie = cookies::get(&headers, FORM_COOKIE).unwrap_or_default();
    let mut errors = Errors::default();
    if token.is_empty() || !kura_crypto::ct_eq(token.as_bytes(), cookie.as_bytes()) {
        errors.general(ctx.t(Msg::CertFormUsed));
        return Ok(fresh_form(&state, &ctx, holder, days_text, &errors, StatusCode::CONFLICT));
    }
    // A number that does not parse goes to the service as 0, which refuses it, so that the
    // holder's problems are named in the same answer.
    let days = days_text.parse::<u32>().ok();
    match client_certs::issue(&state, &ctx.p, NewClientCert { holder: holder.to_owned(), days: days.unwrap_or(0) })
        .await
    {
        Ok(issued) => {
            let mut response = issued_page(&ctx, &issued);
            if let Some(cookie) = form_cookie(&state, "", 0) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            return Ok(response);
        }
        Err(e) => errors.absorb(e, ctx.lang, None)?,
    }
    if days.is_none() {
        errors.replace("days", ctx.t(Msg::CertDaysRule));
    }
    // The same token stays good: nothing was issued.
    let f = CertForm { holder, days: days_text, token };
    Ok(form_page(&ctx, &f, &errors, errors.status()))
}

/// The one page that ever shows the certificate's key and password.
fn issued_page(ctx: &Ctx, issued: &IssuedClientCert) -> Response {
    use base64::Engine as _;
    let t = |m: Msg| ctx.t(m);
    let c = &issued.certificate;
    let short: String = c.serial.chars().take(8).collect();
    let name = format!("kura-{}-{short}", ctx.p.tenant().slug.as_str());
    let p12 = format!("data:application/x-pkcs12;base64,{}", issued.pkcs12_base64);
    let pem = format!(
        "data:application/x-pem-file;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(issued.pem.as_bytes())
    );
    let body = html! {
        div.card.stack #issued {
            (notice_warn(t(Msg::CertShownOnce)))
            dl.handover {
                dt { (t(Msg::CertHolder)) } dd { (c.holder) }
                dt { (t(Msg::CertSerial)) } dd { code.mono #cert-serial { (c.serial) } }
                dt { (t(Msg::CertValidUntil)) } dd { (ctx.time(c.not_after)) }
                dt { (t(Msg::CertFingerprint)) } dd { code.mono { (c.fingerprint) } }
            }
            div.field {
                p { a.btn.btn-primary #download-p12 href=(p12) download={ (name) ".p12" } { (t(Msg::CertDownloadP12)) } }
                p.help { (t(Msg::CertP12Help)) }
            }
            div.field {
                p.label-like #password-label { (t(Msg::CertPassword)) }
                code #p12-password.secret aria-labelledby="password-label" { (issued.password) }
                p.help { (t(Msg::ClickToSelect)) (ctx.lang.sentence_gap()) (t(Msg::CertHandover)) }
            }
            div.field {
                p { a.btn.btn-ghost #download-pem href=(pem) download={ (name) ".pem" } { (t(Msg::CertDownloadPem)) } }
                p.help { (t(Msg::CertPemHelp)) }
            }
            p { a.btn.btn-primary href={ (LIST) "?done=created" } { (t(Msg::CopiedDone)) } }
        }
        (install_steps(ctx))
    };
    let head = Head::new(Nav::ClientCerts, t(Msg::CertIssuedTitle)).crumb(t(Msg::NavClientCerts), LIST);
    page(ctx, head, body).into_response()
}

/// A certificate of the tenant by its serial, as the list shows it.
async fn find(state: &AppState, ctx: &Ctx, serial: &str) -> AppResult<ClientCertView> {
    let serial = serial.trim().to_ascii_lowercase();
    client_certs::list(state, &ctx.p)
        .await?
        .into_iter()
        .find(|c| c.serial == serial)
        .ok_or(AppError::NotFound("client certificate"))
}

pub async fn confirm_revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(serial): Path<String>,
) -> AppResult<Response> {
    let cert = find(&state, &ctx, &serial).await?;
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::ClientCerts, t(Msg::RevokeClientCert)).crumb(t(Msg::NavClientCerts), LIST);
    let confirm = Confirm {
        question: t(Msg::ConfirmRevokeCert).replace("{name}", &cert.holder).replace("{serial}", &cert.serial),
        warning: Some(t(Msg::RevokeCertNote)),
        action: format!("{LIST}/{}/revoke", cert.serial),
        button: t(Msg::Revoke),
        cancel: LIST.to_owned(),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(serial): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    client_certs::revoke(&state, &ctx.p, &serial).await?;
    Ok(Redirect::to(&format!("{LIST}?done=revoked")).into_response())
}
