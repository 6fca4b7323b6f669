//! The latest signed checkpoint of the tenant's operation log and the public key that checks it
//! (LOG-3), for the tenant administrator to copy and keep, with what they prove and do not.

use crate::console::extract::Ctx;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::error::AppResult;
use crate::service::audit;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let view = audit::latest_checkpoint(&state, &ctx.p).await?;
    let body = html! {
        p { (t(Msg::CheckpointIntro)) }
        p.muted { (t(Msg::CheckpointLimits)) }
        p { strong { (t(Msg::CheckpointSize).replace("{n}", &view.size.to_string())) } }
        h2 id="checkpoint-note" { (t(Msg::CheckpointNote)) }
        pre.checkpoint aria-labelledby="checkpoint-note" { code { (view.checkpoint) } }
        h2 id="public-key" { (t(Msg::PublicKey)) }
        pre.checkpoint aria-labelledby="public-key" { code { (view.public_key) } }
        p.muted { (t(Msg::CheckpointApi)) }
        ul.muted {
            li { code { "GET /api/v1/audit/checkpoint" } }
            li { code { "GET /api/v1/audit/proofs/inclusion?seq=…" } }
            li { code { "GET /api/v1/audit/proofs/consistency?first=…&second=…" } }
        }
        p { a.btn.btn-ghost href="/console/audit" { "← " (t(Msg::NavAudit)) } }
    };
    Ok(page(&ctx, Head::new(Nav::Audit, t(Msg::CheckpointTitle)), body).into_response())
}
