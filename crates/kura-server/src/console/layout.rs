//! The page shells: the HTML document, the tenant console's header and navigation (showing only
//! what the user may use), the operator console's, and the bare shell of signed-out pages.

use super::extract::{Ctx, OpCtx};
use super::i18n::Lang;
use super::labels;
use super::msg::Msg;
use super::widgets::{Icon, enc, icon, notice_ok, post_button};
use crate::service::tenant_access::ContractNotice;
use axum::response::Html;
use kura_domain::Permission;
use maud::{DOCTYPE, Markup, html};

/// Bumped with the crate version so that browsers fetch a changed stylesheet.
const CSS_HREF: &str = concat!("/assets/kura.css?v=", env!("CARGO_PKG_VERSION"));

/// Which navigation item a page belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Collections,
    Users,
    Roles,
    ApiKeys,
    Audit,
    AccessLog,
    Settings,
    ClientCerts,
    Account,
    Tenants,
    Mail,
    Backups,
    BreakGlass,
    Keys,
}

/// A page's heading: its title, the trail of pages above it and actions beside the title.
#[derive(Debug)]
pub struct Head<'a> {
    nav: Nav,
    title: &'a str,
    crumbs: Vec<(&'a str, String)>,
    actions: Option<Markup>,
    /// A confirmation worded by the page itself, shown instead of the generic one of `done`.
    done: Option<String>,
}

impl<'a> Head<'a> {
    pub fn new(nav: Nav, title: &'a str) -> Self {
        Self { nav, title, crumbs: Vec::new(), actions: None, done: None }
    }
    pub fn crumb(mut self, label: &'a str, href: impl Into<String>) -> Self {
        self.crumbs.push((label, href.into()));
        self
    }
    pub fn actions(mut self, actions: Markup) -> Self {
        self.actions = Some(actions);
        self
    }
    /// Words the confirmation of a finished action for this page (only shown after one).
    pub fn done(mut self, text: Option<String>) -> Self {
        self.done = text;
        self
    }

    fn render(&self, lang: Lang) -> Markup {
        html! {
            div.page-head {
                div {
                    @if !self.crumbs.is_empty() {
                        nav.crumbs aria-label=(Msg::Breadcrumbs.text(lang)) {
                            ol { @for (label, href) in &self.crumbs { li { a href=(href) { (label) } } } }
                        }
                    }
                    h1 { (self.title) }
                }
                @if let Some(a) = &self.actions { div.page-actions { (a) } }
            }
        }
    }
}

fn document(lang: Lang, title: &str, header: Markup, main: Markup) -> Html<String> {
    let doc = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " | Kura" }
                link rel="stylesheet" href=(CSS_HREF);
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            }
            body {
                a.skip href="#main" { (Msg::SkipToContent.text(lang)) }
                (header)
                (main)
            }
        }
    };
    Html(doc.into_string())
}

fn brand(href: &str, subtitle: Option<&str>) -> Markup {
    html! {
        a.brand href=(href) {
            span.brand-mark aria-hidden="true" { "蔵" }
            span.brand-name { "Kura" }
            @if let Some(s) = subtitle { span.brand-sub { (s) } }
        }
    }
}

/// The link to the same page in the other language.
pub fn lang_switch(lang: Lang, here: &str) -> Markup {
    let to = lang.other();
    let href = format!("/console/lang?to={}&back={}", to.code(), enc(here));
    html! {
        a.lang-switch href=(href) lang=(to.code()) hreflang=(to.code()) {
            span.visually-hidden { (Msg::SwitchLanguage.text(lang)) ": " }
            (to.native_name())
        }
    }
}

fn nav_item(current: Nav, item: Nav, href: &str, which: Icon, text: &str) -> Markup {
    html! {
        li {
            a href=(href) aria-current=[(current == item).then_some("page")] { (icon(which)) span { (text) } }
        }
    }
}

/// A page of the tenant console.
pub fn page(ctx: &Ctx, head: Head<'_>, body: Markup) -> Html<String> {
    let lang = ctx.lang;
    let p = &ctx.p;
    let header = html! {
        header.topbar {
            (brand("/console", None))
            span.tenant-name { (p.tenant().display_name.as_str()) }
            div.account {
                span.who {
                    a.who-name href="/console/account/sessions" title=(Msg::MyAccount.text(lang)) { (p.actor().label) }
                    span.badge { (labels::role_label(p.role(), lang)) }
                }
                (lang_switch(lang, &ctx.here))
                (post_button("/console/logout", ctx.csrf(), Msg::Logout.text(lang), "btn btn-ghost btn-small"))
            }
        }
    };
    let t = |m: Msg| m.text(lang);
    let n = head.nav;
    let main = html! {
        div.shell {
            nav.sidenav aria-label=(t(Msg::MainMenu)) {
                ul {
                    (nav_item(n, Nav::Dashboard, "/console", Icon::Home, t(Msg::NavDashboard)))
                    @if p.can(Permission::RecordsRead) {
                        (nav_item(n, Nav::Collections, "/console/collections", Icon::Table, t(Msg::NavCollections)))
                    }
                    @if p.can(Permission::UsersManage) {
                        (nav_item(n, Nav::Users, "/console/users", Icon::Users, t(Msg::NavUsers)))
                    }
                    @if p.can(Permission::RolesManage) {
                        (nav_item(n, Nav::Roles, "/console/roles", Icon::Shield, t(Msg::NavRoles)))
                    }
                    @if p.can(Permission::ApiKeysManage) {
                        (nav_item(n, Nav::ApiKeys, "/console/api-keys", Icon::Key, t(Msg::NavApiKeys)))
                    }
                    @if p.can(Permission::AuditRead) {
                        (nav_item(n, Nav::Audit, "/console/audit", Icon::Log, t(Msg::NavAudit)))
                        (nav_item(n, Nav::AccessLog, "/console/access-log", Icon::Log, t(Msg::NavAccessLog)))
                    }
                    @if p.can(Permission::SettingsManage) {
                        (nav_item(n, Nav::Settings, "/console/settings/security", Icon::Shield, t(Msg::NavSettings)))
                        (nav_item(n, Nav::ClientCerts, "/console/settings/client-certificates", Icon::Key, t(Msg::NavClientCerts)))
                        (nav_item(n, Nav::BreakGlass, "/console/settings/break-glass", Icon::Alert, t(Msg::NavBreakGlass)))
                        (nav_item(n, Nav::Keys, "/console/settings/keys", Icon::Key, crate::console::pages::keys::nav_label(lang)))
                    }
                    (nav_item(n, Nav::Account, "/console/account/sessions", Icon::Users, t(Msg::MyAccount)))
                }
            }
            main #main tabindex="-1" {
                @if let Some(notice) = ctx.contract { (contract_banner(notice, lang)) }
                @if let Some(g) = &ctx.break_glass.active { (break_glass_banner(ctx, g)) }
                @if ctx.break_glass.pending > 0 && p.can(Permission::SettingsManage) {
                    div.notice.notice-warn.break-glass-pending role="status" {
                        (icon(Icon::Alert)) " "
                        (t(Msg::BreakGlassBannerPending).replace("{n}", &ctx.break_glass.pending.to_string())) " "
                        a href="/console/settings/break-glass" { (t(Msg::BreakGlassReview)) }
                    }
                }
                (head.render(lang))
                @if let Some(done) = ctx.done {
                    (notice_ok(head.done.as_deref().unwrap_or(done.msg().text(lang))))
                }
                (body)
            }
        }
    };
    document(lang, head.title, header, main)
}

/// The banner about the contract's end (TEN-4): before it, to the administrators; after it, to
/// everyone, with the day the data is deleted.
fn contract_banner(notice: ContractNotice, lang: Lang) -> Markup {
    let text = match notice {
        ContractNotice::EndsSoon { end, days } => {
            Msg::ContractEndsSoon.text(lang).replace("{end}", &end.to_string()).replace("{days}", &days.to_string())
        }
        ContractNotice::Ended { end, deletion } => Msg::ContractEndedReadOnly
            .text(lang)
            .replace("{end}", &end.to_string())
            .replace("{deletion}", &deletion.to_string()),
    };
    html! { div.notice.notice-warn.contract-banner role="status" { (icon(Icon::Alert)) " " (text) } }
}

/// The banner of an operator's break-glass access in force (IAM-13), on every page for
/// everyone of the tenant (and for the operator under it).
fn break_glass_banner(ctx: &Ctx, g: &kura_domain::BreakGlass) -> Markup {
    let to = g.ends_at.map(|e| ctx.time(e)).unwrap_or_default();
    let text = Msg::BreakGlassBanner
        .text(ctx.lang)
        .replace("{who}", &g.operator)
        .replace("{to}", &to)
        .replace("{reason}", &g.reason);
    html! {
        div.notice.notice-warn.break-glass-banner role="alert" {
            (icon(Icon::Alert)) " " (text)
            @if ctx.p.can(Permission::SettingsManage) {
                " " a href="/console/settings/break-glass" { (Msg::BreakGlassReview.text(ctx.lang)) }
            }
        }
    }
}

/// A page of the operator console.
pub fn op_page(ctx: &OpCtx, head: Head<'_>, body: Markup) -> Html<String> {
    let lang = ctx.lang;
    let t = |m: Msg| m.text(lang);
    let header = html! {
        header.topbar.topbar-operator {
            (brand("/operator", Some(t(Msg::OperatorConsole))))
            div.account {
                span.who { span.who-name { (ctx.p.operator.email.as_str()) } }
                (lang_switch(lang, &ctx.here))
                (post_button("/operator/logout", &ctx.p.csrf_token, t(Msg::Logout), "btn btn-ghost btn-small"))
            }
        }
    };
    let main = html! {
        div.shell {
            nav.sidenav aria-label=(t(Msg::MainMenu)) {
                ul {
                    (nav_item(head.nav, Nav::Tenants, "/operator", Icon::Building, t(Msg::NavTenants)))
                    (nav_item(head.nav, Nav::Mail, "/operator/mail", Icon::Log, t(Msg::NavMail)))
                    (nav_item(head.nav, Nav::Backups, "/operator/backups", Icon::Archive, t(Msg::NavBackups)))
                    (nav_item(head.nav, Nav::BreakGlass, "/operator/break-glass", Icon::Alert, t(Msg::NavBreakGlass)))
                    (nav_item(head.nav, Nav::AccessLog, "/operator/access-log", Icon::Log, t(Msg::NavPlatformAccessLog)))
                    (nav_item(head.nav, Nav::Keys, "/operator/keys", Icon::Key, crate::console::pages::keys::nav_label(lang)))
                }
            }
            main #main tabindex="-1" {
                (head.render(lang))
                @if let Some(done) = ctx.done { (notice_ok(done.msg().text(lang))) }
                (body)
            }
        }
    };
    document(lang, head.title, header, main)
}

/// A page for signed-out visitors (sign-in) and for errors: brand, language switch, one card.
pub fn bare(lang: Lang, here: &str, subtitle: Option<&str>, title: &str, body: Markup) -> Html<String> {
    let home = if here.starts_with("/operator") { "/operator" } else { "/console" };
    let header = html! {
        header.topbar {
            (brand(home, subtitle))
            div.account { (lang_switch(lang, here)) }
        }
    };
    let main = html! {
        main #main.bare tabindex="-1" {
            div.card.card-narrow {
                h1 { (title) }
                (body)
            }
        }
    };
    document(lang, title, header, main)
}
