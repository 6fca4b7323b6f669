//! Whether PostgreSQL's row-level security confines Kura (TEN-2, the second of the three
//! layers of tenant isolation), on the operator's first page: the state `/readyz` reports as
//! `row_security`, what it means, and for a role the policies do not confine, why and what to
//! do. A warning at the top of the page points to it when they do not.

use crate::console::extract::OpCtx;
use crate::console::msg::Msg;
use crate::console::widgets::notice_warn;
use kura_store::{RowSecurity, Unconfined};
use maud::{Markup, html};

/// The warning at the top of the page, when the policies do not confine Kura.
pub fn warning(ctx: &OpCtx, security: RowSecurity) -> Option<Markup> {
    matches!(security, RowSecurity::NotEnforced(_)).then(|| notice_warn(ctx.t(Msg::RowSecurityWarning)))
}

/// The section: the state, and help beside it.
pub fn section(ctx: &OpCtx, security: RowSecurity) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let (state, help) = match security {
        RowSecurity::Enforced => (Msg::RowSecurityEnforced, Msg::RowSecurityEnforcedHelp),
        RowSecurity::NotEnforced(_) => (Msg::RowSecurityNotEnforced, Msg::RowSecurityNotEnforcedHelp),
        RowSecurity::NotAvailable => (Msg::RowSecurityNotAvailable, Msg::RowSecurityNotAvailableHelp),
    };
    html! {
        section.stack #row-security data-row-security=(security.as_str()) {
            h2 { (t(Msg::RowSecurityTitle)) }
            dl.handover {
                dt { (t(Msg::RowSecurityLabel)) }
                dd { strong { (t(state)) } }
            }
            @if let RowSecurity::NotEnforced(why) = security { (notice_warn(t(reason(why)))) }
            p.help { (t(help)) }
        }
    }
}

fn reason(why: Unconfined) -> Msg {
    match why {
        Unconfined::Superuser => Msg::UnconfinedSuperuser,
        Unconfined::BypassRls => Msg::UnconfinedBypassRls,
        Unconfined::OwnsTables => Msg::UnconfinedOwnsTables,
        Unconfined::NotForced => Msg::UnconfinedNotForced,
    }
}
