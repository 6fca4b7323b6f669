//! The tenant's security settings (IAM-4, IAM-5, IAM-6, IAM-9, IAM-10, IAM-11) on one page: every
//! knob with its bounds and meaning beside it, and a warning in both languages beside each value
//! NIST SP 800-63B advises against. Saved as a whole; a save by someone else in between is
//! refused. Address lists or a client-certificate requirement that would shut out the
//! administrator saving them take a second, confirmed save.

use crate::console::extract::{Ctx, FormData, Posted};
use crate::console::forms::Errors;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, checkbox, csrf, notice_warn, select};
use crate::error::{AppError, AppResult};
use crate::service::client_certs;
use crate::service::security::{self, SecuritySettingsChange};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{
    AccessLogPolicy, AddressPolicy, CertificateRequirement, ConcurrentLogins, FieldErrorKind, LockoutPolicy, Operation,
    PasswordPolicy, SecondFactorRule, SessionPolicy, parse_range,
};
use maud::{Markup, html};

/// The form's values: what is stored, or what was just submitted (as typed).
#[derive(Debug, Default)]
struct Values {
    revision: String,
    fields: Vec<(&'static str, String)>,
    checks: Vec<&'static str>,
}

impl Values {
    fn get(&self, name: &str) -> &str {
        self.fields.iter().find(|(k, _)| *k == name).map_or("", |(_, v)| v.as_str())
    }
    fn on(&self, name: &str) -> bool {
        self.checks.contains(&name)
    }
}

const NUMBERS: [&str; 10] = [
    "password.min_length",
    "password.max_length",
    "password.expiry_days",
    "password.history",
    "lockout.threshold",
    "lockout.lock_minutes",
    "lockout.throttle_failures",
    "lockout.throttle_window_minutes",
    "sessions.absolute_minutes",
    "sessions.idle_minutes",
];
const CHECKS: [&str; 7] = [
    "password.require_lowercase",
    "password.require_uppercase",
    "password.require_digit",
    "password.require_symbol",
    "password.blocklist",
    "password.change_after_admin_set",
    "lockout.enabled",
];

/// The inputs of the client-certificate requirement (IAM-11), and the hidden one that says the
/// form had them (a form from before the setting existed leaves the stored requirement as it is).
const CERT_CHECKS: [&str; 2] = ["client_certificates.console", "client_certificates.api"];
const CERT_SHOWN: &str = "client_certificates";
/// The access log's retention (LOG-2), and the marker that the form had it.
const ACCESS_DAYS: &str = "access_log.retention_days";
const ACCESS_SHOWN: &str = "access_log";

/// Why the last save would have shut its author out, and asks for the confirmation.
#[derive(Debug, Default)]
struct Lockout {
    /// An address list leaves out the author's address.
    addresses: bool,
    /// The doors, in words, that would newly require a certificate the author's connection lacks.
    certificate: Option<&'static str>,
}

impl Lockout {
    fn any(&self) -> bool {
        self.addresses || self.certificate.is_some()
    }
}

fn stored_values(s: &security::SecuritySettings) -> Values {
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    let (p, l, x) = (&s.password, &s.lockout, &s.sessions);
    let fields = vec![
        ("password.min_length", p.min_length.to_string()),
        ("password.max_length", p.max_length.to_string()),
        ("password.expiry_days", opt(p.expiry_days)),
        ("password.history", p.history.to_string()),
        ("lockout.threshold", l.threshold.to_string()),
        ("lockout.lock_minutes", opt(l.lock_minutes)),
        ("lockout.throttle_failures", l.throttle_failures.to_string()),
        ("lockout.throttle_window_minutes", l.throttle_window_minutes.to_string()),
        ("sessions.absolute_minutes", x.absolute_minutes.to_string()),
        ("sessions.idle_minutes", x.idle_minutes.to_string()),
        ("sessions.concurrent", x.concurrent.as_str().to_owned()),
        ("addresses.console", lines(&s.addresses.console)),
        ("addresses.api", lines(&s.addresses.api)),
        ("second_factor", s.second_factor.as_str().to_owned()),
        (ACCESS_DAYS, opt(s.access_log.retention_days)),
    ];
    let checks = [
        (p.require_lowercase, "password.require_lowercase"),
        (p.require_uppercase, "password.require_uppercase"),
        (p.require_digit, "password.require_digit"),
        (p.require_symbol, "password.require_symbol"),
        (p.blocklist, "password.blocklist"),
        (p.change_after_admin_set, "password.change_after_admin_set"),
        (l.enabled, "lockout.enabled"),
        (s.client_certificates.console, CERT_CHECKS[0]),
        (s.client_certificates.api, CERT_CHECKS[1]),
        (true, CERT_SHOWN),
        (true, ACCESS_SHOWN),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    Values { revision: s.revision.to_string(), fields, checks }
}

fn lines(nets: &[ipnet::IpNet]) -> String {
    nets.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

fn posted_values(form: &FormData) -> Values {
    let mut fields: Vec<(&'static str, String)> = NUMBERS.iter().map(|n| (*n, form.get(n).trim().to_owned())).collect();
    fields.push(("sessions.concurrent", form.get("sessions.concurrent").to_owned()));
    fields.push(("addresses.console", form.get("addresses.console").to_owned()));
    fields.push(("addresses.api", form.get("addresses.api").to_owned()));
    fields.push(("second_factor", form.get("second_factor").to_owned()));
    fields.push((ACCESS_DAYS, form.get(ACCESS_DAYS).trim().to_owned()));
    let mut checks: Vec<&'static str> =
        CHECKS.into_iter().chain(CERT_CHECKS).chain([CERT_SHOWN]).filter(|c| form.has(c)).collect();
    if form.has(ACCESS_DAYS) {
        checks.push(ACCESS_SHOWN);
    }
    if form.has("confirm_lockout") {
        checks.push("confirm_lockout");
    }
    Values { revision: form.get("revision").to_owned(), fields, checks }
}

/// The submitted form as a change, or the inputs that are not whole numbers in range of `u32`.
fn parse(v: &Values, errors: &mut Errors, ctx: &Ctx) -> Option<SecuritySettingsChange> {
    let mut number = |name: &'static str, optional: bool| -> Option<Option<u32>> {
        let raw = v.get(name);
        if optional && raw.is_empty() {
            return Some(None);
        }
        match raw.parse::<u32>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                errors.add(name, labels::field_error(&FieldErrorKind::WrongType { expected: "number" }, ctx.lang));
                None
            }
        }
    };
    let min_length = number("password.min_length", false);
    let max_length = number("password.max_length", false);
    let expiry_days = number("password.expiry_days", true);
    let history = number("password.history", false);
    let threshold = number("lockout.threshold", false);
    let lock_minutes = number("lockout.lock_minutes", true);
    let throttle_failures = number("lockout.throttle_failures", false);
    let throttle_window = number("lockout.throttle_window_minutes", false);
    let absolute = number("sessions.absolute_minutes", false);
    let idle = number("sessions.idle_minutes", false);
    let access_days = number(ACCESS_DAYS, true);
    let concurrent = ConcurrentLogins::parse(v.get("sessions.concurrent"));
    if concurrent.is_none() {
        errors.add("sessions.concurrent", labels::field_error(&FieldErrorKind::NotAChoice, ctx.lang));
    }
    let mut ranges = |name: &'static str| -> Option<Vec<ipnet::IpNet>> {
        let mut nets = Vec::new();
        let mut ok = true;
        for (i, line) in v.get(name).lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            match parse_range(line) {
                Some(net) => nets.push(net),
                None => {
                    let text: String = line.trim().chars().take(60).collect();
                    let message =
                        ctx.t(Msg::AddressLineError).replace("{n}", &(i + 1).to_string()).replace("{text}", &text);
                    errors.add(name, message);
                    ok = false;
                }
            }
        }
        ok.then_some(nets)
    };
    let console = ranges("addresses.console");
    let api = ranges("addresses.api");
    let revision = v.revision.parse::<i64>().ok();
    // Absent (a form from before the setting existed): the stored rule stays.
    let second_factor = match v.get("second_factor") {
        "" => Some(None),
        rule => SecondFactorRule::parse(rule).map(Some),
    };
    if second_factor.is_none() {
        errors.add("second_factor", ctx.t(Msg::BuilderNotAChoice).to_owned());
    }
    Some(SecuritySettingsChange {
        revision: revision?,
        password: PasswordPolicy {
            min_length: min_length??,
            max_length: max_length??,
            require_lowercase: v.on("password.require_lowercase"),
            require_uppercase: v.on("password.require_uppercase"),
            require_digit: v.on("password.require_digit"),
            require_symbol: v.on("password.require_symbol"),
            expiry_days: expiry_days?,
            history: history??,
            blocklist: v.on("password.blocklist"),
            change_after_admin_set: v.on("password.change_after_admin_set"),
        },
        lockout: LockoutPolicy {
            enabled: v.on("lockout.enabled"),
            threshold: threshold??,
            lock_minutes: lock_minutes?,
            throttle_failures: throttle_failures??,
            throttle_window_minutes: throttle_window??,
        },
        sessions: SessionPolicy { absolute_minutes: absolute??, idle_minutes: idle??, concurrent: concurrent? },
        addresses: AddressPolicy { console: console?, api: api? },
        client_certificates: v
            .on(CERT_SHOWN)
            .then(|| CertificateRequirement { console: v.on(CERT_CHECKS[0]), api: v.on(CERT_CHECKS[1]) }),
        second_factor: second_factor?,
        // Set on the break-glass page, which has a form of its own: kept as stored here.
        break_glass_approval: None,
        // Absent (a form from before the setting existed): the stored retention stays.
        access_log: if v.on(ACCESS_SHOWN) { Some(AccessLogPolicy { retention_days: access_days? }) } else { None },
        confirm_lockout: v.on("confirm_lockout"),
    })
}

/// A number input for knob `name`.
fn number(
    v: &Values,
    errors: &Errors,
    lang: crate::console::i18n::Lang,
    name: &'static str,
    label: &str,
    help: &str,
    range: (u32, u32),
) -> Markup {
    Input {
        name,
        label,
        kind: "number",
        value: v.get(name),
        help: Some(help),
        error: errors.get(name),
        min: Some(range.0.to_string()),
        max: Some(range.1.to_string()),
        step: Some("1"),
        ..Input::default()
    }
    .render(lang)
}

/// The address-list section; `lockout` is set when the last save would have shut its author out
/// through these lists.
fn addresses_section(ctx: &Ctx, v: &Values, errors: &Errors, lockout: bool) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let ip = ctx.p.actor().source_ip.clone().unwrap_or_else(|| "?".into());
    let list = |name: &'static str, label: &'static str| {
        Input { name, label, kind: "textarea", value: v.get(name), error: errors.get(name), ..Input::default() }
            .render(ctx.lang)
    };
    html! {
        fieldset.card.stack {
            legend { (t(Msg::AddressesSection)) }
            p.muted { (t(Msg::AddressesIntro)) }
            p { (t(Msg::YourAddress).replace("{ip}", &ip)) }
            div.grid-2 {
                (list("addresses.console", t(Msg::AddressesConsole)))
                (list("addresses.api", t(Msg::AddressesApi)))
            }
            @if lockout { (notice_warn(&t(Msg::LockoutWarning).replace("{ip}", &ip))) }
        }
    }
}

/// The client-certificate requirement (IAM-11): two boxes with what each one means, the risk,
/// and whether the author's own connection carries a valid certificate of the tenant.
fn certificates_section(ctx: &Ctx, v: &Values, cert_ok: bool, lockout: Option<&str>) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        fieldset.card.stack #client-certificates {
            legend { (t(Msg::CertSection)) }
            input type="hidden" name=(CERT_SHOWN) value="on";
            p.muted {
                (t(Msg::CertSectionIntro)) " "
                a href="/console/settings/client-certificates" { (t(Msg::NavClientCerts)) }
            }
            (notice_warn(t(Msg::CertRiskNote)))
            p { (t(if cert_ok { Msg::CertYoursValid } else { Msg::CertYoursNone })) }
            (checkbox(CERT_CHECKS[0], "on", t(Msg::CertRequireConsole), v.on(CERT_CHECKS[0]), false,
                Some(t(Msg::CertRequireConsoleHelp))))
            (checkbox(CERT_CHECKS[1], "on", t(Msg::CertRequireApi), v.on(CERT_CHECKS[1]), false,
                Some(t(Msg::CertRequireApiHelp))))
            @if let Some(doors) = lockout {
                (notice_warn(&t(Msg::CertLockoutWarning).replace("{doors}", doors)))
            }
        }
    }
}

fn form_page(
    ctx: &Ctx,
    v: &Values,
    against_nist: &[&str],
    errors: &Errors,
    cert_ok: bool,
    lockout: &Lockout,
    default_days: u32,
) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let nist = |path: &str| against_nist.contains(&path);
    let options: Vec<(String, String)> = [
        (ConcurrentLogins::Allow, Msg::ConcurrentAllow),
        (ConcurrentLogins::Replace, Msg::ConcurrentReplace),
        (ConcurrentLogins::Refuse, Msg::ConcurrentRefuse),
    ]
    .iter()
    .map(|(c, m)| (c.as_str().to_owned(), t(*m).to_owned()))
    .collect();
    let rules: Vec<(String, String)> = [
        (SecondFactorRule::Optional, Msg::SecondFactorOptional),
        (SecondFactorRule::Administrators, Msg::SecondFactorAdministrators),
        (SecondFactorRule::Everyone, Msg::SecondFactorEveryone),
    ]
    .iter()
    .map(|(r, m)| (r.as_str().to_owned(), t(*m).to_owned()))
    .collect();
    use kura_domain::bounds as b;
    let r = |range: std::ops::RangeInclusive<u32>| (*range.start(), *range.end());
    let events = [
        Operation::UserLock,
        Operation::UserUnlock,
        Operation::LoginThrottled,
        Operation::UserLoginFailed,
        Operation::SecondFactorFailed,
        Operation::SecondFactorReset,
    ];
    let body = html! {
        p.muted { (t(Msg::SecurityIntro)) " " a href="/console/help/security" { (t(Msg::GuideLink)) } }
        (errors.summary(lang))
        form.stack method="post" action="/console/settings/security" {
            (csrf(ctx.csrf()))
            input type="hidden" name="revision" value=(v.revision);
            fieldset.card.stack {
                legend { (t(Msg::PasswordSection)) }
                div.grid-2 {
                    (number(v, errors, lang, "password.min_length", t(Msg::MinLengthLabel), t(Msg::MinLengthHelp), r(b::MIN_LENGTH)))
                    div {
                        (number(v, errors, lang, "password.max_length", t(Msg::MaxLengthLabel), t(Msg::MaxLengthHelp), r(b::MAX_LENGTH)))
                        @if nist("password.max_length") { (notice_warn(t(Msg::NistMaxLength))) }
                    }
                }
                fieldset {
                    legend { (t(Msg::CompositionLabel)) }
                    (checkbox("password.require_lowercase", "on", t(Msg::RequireLower), v.on("password.require_lowercase"), false, None))
                    (checkbox("password.require_uppercase", "on", t(Msg::RequireUpper), v.on("password.require_uppercase"), false, None))
                    (checkbox("password.require_digit", "on", t(Msg::RequireDigit), v.on("password.require_digit"), false, None))
                    (checkbox("password.require_symbol", "on", t(Msg::RequireSymbol), v.on("password.require_symbol"), false, None))
                    @if nist("password.composition") { (notice_warn(t(Msg::NistComposition))) }
                }
                div.grid-2 {
                    div {
                        (Input { name: "password.expiry_days", label: t(Msg::ExpiryLabel), kind: "number",
                            value: v.get("password.expiry_days"), help: Some(t(Msg::ExpiryHelp)),
                            error: errors.get("password.expiry_days"), min: Some(b::EXPIRY_DAYS.start().to_string()),
                            max: Some(b::EXPIRY_DAYS.end().to_string()), step: Some("1"), ..Input::default() }.render(lang))
                        @if nist("password.expiry_days") { (notice_warn(t(Msg::NistExpiry))) }
                    }
                    (number(v, errors, lang, "password.history", t(Msg::HistoryLabel), t(Msg::HistoryHelp), r(b::HISTORY)))
                }
                (checkbox("password.blocklist", "on", t(Msg::BlocklistLabel), v.on("password.blocklist"), false, Some(t(Msg::BlocklistHelp))))
                @if nist("password.blocklist") { (notice_warn(t(Msg::NistBlocklist))) }
                (checkbox("password.change_after_admin_set", "on", t(Msg::ChangeAfterAdminLabel),
                    v.on("password.change_after_admin_set"), false, Some(t(Msg::ChangeAfterAdminHelp))))
            }
            fieldset.card.stack {
                legend { (t(Msg::LockoutSection)) }
                (checkbox("lockout.enabled", "on", t(Msg::LockoutEnabledLabel), v.on("lockout.enabled"), false, None))
                @if nist("lockout.enabled") { (notice_warn(t(Msg::NistLockout))) }
                div.grid-2 {
                    (number(v, errors, lang, "lockout.threshold", t(Msg::ThresholdLabel), t(Msg::ThresholdHelp), r(b::LOCK_THRESHOLD)))
                    (Input { name: "lockout.lock_minutes", label: t(Msg::LockMinutesLabel), kind: "number",
                        value: v.get("lockout.lock_minutes"), help: Some(t(Msg::LockMinutesHelp)),
                        error: errors.get("lockout.lock_minutes"), min: Some(b::LOCK_MINUTES.start().to_string()),
                        max: Some(b::LOCK_MINUTES.end().to_string()), step: Some("1"), ..Input::default() }.render(lang))
                    (number(v, errors, lang, "lockout.throttle_failures", t(Msg::ThrottleFailuresLabel), t(Msg::ThrottleFailuresHelp), r(b::THROTTLE_FAILURES)))
                    (number(v, errors, lang, "lockout.throttle_window_minutes", t(Msg::ThrottleWindowLabel), t(Msg::ThrottleWindowHelp), r(b::THROTTLE_WINDOW_MINUTES)))
                }
            }
            fieldset.card.stack {
                legend { (t(Msg::SessionsSection)) }
                div.grid-2 {
                    (number(v, errors, lang, "sessions.absolute_minutes", t(Msg::AbsoluteLabel), t(Msg::AbsoluteHelp), r(b::ABSOLUTE_MINUTES)))
                    (number(v, errors, lang, "sessions.idle_minutes", t(Msg::IdleLabel), t(Msg::IdleHelp), r(b::IDLE_MINUTES)))
                }
                (select("sessions.concurrent", t(Msg::ConcurrentLabel), &options, v.get("sessions.concurrent"),
                    Some(t(Msg::ConcurrentHelp)), errors.get("sessions.concurrent"), lang))
            }
            fieldset.card.stack {
                legend { (t(Msg::SecondFactorSection)) }
                (select("second_factor", t(Msg::SecondFactorRuleLabel), &rules, v.get("second_factor"),
                    Some(t(Msg::SecondFactorRuleHelp)), errors.get("second_factor"), lang))
            }
            fieldset.card.stack #access-log {
                legend { (t(Msg::NavAccessLog)) }
                (Input { name: ACCESS_DAYS, label: t(Msg::AccessLogRetentionLabel), kind: "number",
                    value: v.get(ACCESS_DAYS), help: Some(&t(Msg::AccessLogRetentionHelp).replace("{days}", &default_days.to_string())),
                    error: errors.get(ACCESS_DAYS), min: Some(b::ACCESS_LOG_DAYS.start().to_string()),
                    max: Some(b::ACCESS_LOG_DAYS.end().to_string()), step: Some("1"), ..Input::default() }.render(lang))
                p { a href="/console/access-log" { (t(Msg::NavAccessLog)) } }
            }
            (addresses_section(ctx, v, errors, lockout.addresses))
            (certificates_section(ctx, v, cert_ok, lockout.certificate))
            @if lockout.any() {
                fieldset.card.stack #confirm-lockout {
                    legend { (t(Msg::LockoutConfirmTitle)) }
                    (checkbox("confirm_lockout", "on", t(Msg::LockoutConfirm), false, false, None))
                }
            }
            div.actions { button.btn.btn-primary type="submit" { (t(Msg::Save)) } }
        }
        section.section #time-zone {
            h2 { (t(Msg::TimeZone)) }
            form.stack method="post" action="/console/settings/time-zone" {
                (csrf(ctx.csrf()))
                (time_zone_field(ctx))
                div.actions { button.btn.btn-primary type="submit" { (t(Msg::Save)) } }
            }
        }
        section.section {
            h2 { (t(Msg::SecurityEvents)) }
            p.muted { (t(Msg::SecurityEventsHelp)) }
            ul { @for op in events {
                li { a href={ "/console/audit?operation=" (op.as_str()) } { (labels::operation_label(op, lang)) } }
            } }
        }
    };
    let head = Head::new(Nav::Settings, t(Msg::NavSettings));
    (errors.status(), page(ctx, head, body)).into_response()
}

/// The tenant's time zone (LOG-4): the named zones, and the current one if it is not among them.
fn time_zone_field(ctx: &Ctx) -> Markup {
    let current = ctx.p.tenant().time_zone.as_str();
    let known = labels::TIME_ZONES.iter().any(|(z, _, _)| *z == current);
    html! {
        div.field {
            label for="f-time_zone" { (ctx.t(Msg::TimeZone)) }
            select #f-time_zone name="time_zone" aria-describedby="f-time_zone-help" {
                @if !known { option value=(current) selected { (current) } }
                @for (zone, _, _) in labels::TIME_ZONES {
                    option value=(zone) selected[*zone == current] { (labels::time_zone_label(zone, ctx.lang)) }
                }
            }
            p.help #f-time_zone-help { (ctx.t(Msg::TenantTimeZoneHelp)) }
        }
    }
}

/// Saves the tenant's time zone from its own form on the security page.
pub async fn save_time_zone(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    crate::service::tenant_admin::set_own_time_zone(&state, &ctx.p, form.get("time_zone")).await?;
    Ok(Redirect::to("/console/settings/security?done=saved#time-zone").into_response())
}

/// Whether the connection of this request presents a valid client certificate of the tenant.
async fn author_has_certificate(state: &AppState, ctx: &Ctx) -> AppResult<bool> {
    let ip = ctx.p.actor().source_ip.clone();
    Ok(client_certs::judge(state, ctx.p.tenant(), ctx.p.client_cert(), ip.as_deref()).await?.is_ok())
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let settings = security::get(&state, &ctx.p).await?;
    let nist: Vec<&str> = settings.against_nist.iter().map(String::as_str).collect();
    let cert_ok = author_has_certificate(&state, &ctx).await?;
    let default_days = state.settings.access_log.retention_days;
    Ok(form_page(
        &ctx,
        &stored_values(&settings),
        &nist,
        &Errors::default(),
        cert_ok,
        &Lockout::default(),
        default_days,
    ))
}

pub async fn save(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    // Checked before anything else, so that a viewer never sees the form's echo.
    let current = security::get(&state, &ctx.p).await?;
    let v = posted_values(&form);
    let mut errors = Errors::default();
    let mut lockout = Lockout::default();
    let cert_ok = author_has_certificate(&state, &ctx).await?;
    if let Some(change) = parse(&v, &mut errors, &ctx).filter(|_| errors.is_empty()) {
        // What the confirmation below would have to name, should the service ask for one.
        let ip = ctx.p.actor().source_ip.clone();
        let addresses = !security::shut_out(&current.addresses, &change.addresses, ip.as_deref()).is_empty();
        let old = current.client_certificates;
        let newly = change.client_certificates.map_or(CertificateRequirement::default(), |new| {
            CertificateRequirement { console: new.console && !old.console, api: new.api && !old.api }
        });
        let certificate = if cert_ok { None } else { super::client_certs::doors(newly, &ctx) };
        match security::put(&state, &ctx.p, change).await {
            Ok(_) => return Ok(Redirect::to("/console/settings/security?done=saved").into_response()),
            Err(AppError::Validation(list)) => {
                // A list's problems (`addresses.api[3]`) show at the list.
                let list = list
                    .into_iter()
                    .map(|mut fe| {
                        if let Some((base, _)) = fe.field.split_once('[') {
                            fe.field = base.to_owned();
                        }
                        fe
                    })
                    .collect();
                errors.absorb(AppError::Validation(list), ctx.lang, None)?;
            }
            Err(e @ AppError::Conflict(_)) | Err(e @ AppError::BadRequest(_)) => {
                errors.absorb(e, ctx.lang, None)?;
            }
            // The confirmation step: the form comes back as typed, with the warnings and the box.
            // (Should the settings have changed in between so that neither cause shows, the
            // address warning stands for both, as before certificates existed.)
            Err(AppError::LockoutUnconfirmed(_)) => {
                lockout = Lockout { addresses: addresses || certificate.is_none(), certificate };
            }
            Err(e) => return Err(e),
        }
    } else if errors.is_empty() {
        return Err(AppError::BadRequest("the form is incomplete; reload the page".into()));
    }
    let status = if lockout.any() { axum::http::StatusCode::CONFLICT } else { errors.status() };
    let default_days = state.settings.access_log.retention_days;
    let mut response = form_page(&ctx, &v, &[], &errors, cert_ok, &lockout, default_days);
    *response.status_mut() = status;
    Ok(response)
}
