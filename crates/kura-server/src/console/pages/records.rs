//! A collection's records: search box, filter expression, sorting by column header, 50 per page.
//! Personal information arrives masked from the service for users without `pii.read` (IAM-3).

use crate::console::extract::Ctx;
use crate::console::i18n::Lang;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, empty_state, new_button, query};
use crate::error::{AppError, AppResult};
use crate::service::collections;
use crate::service::records::{self, ListParams, RecordPage};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use kura_domain::{Collection, FieldDef, FieldType, Permission};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

const PER_PAGE: u32 = 50;
/// What the service shows in place of personal information.
pub const MASK: &str = "••••••";

#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    q: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

/// `s` with every invisible direction character written out as `[U+202E]`, so that a value
/// cannot make itself or what follows it read differently from what it holds.
pub fn escape_invisible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if kura_domain::is_invisible_control(c) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// A stored value as a person reads it; masked values are marked as such.
pub fn show_value(f: &FieldDef, v: Option<&Value>, lang: Lang, limit: Option<usize>) -> Markup {
    let text = match v {
        None | Some(Value::Null) => return html! {},
        Some(Value::String(s)) if f.pii && s == MASK => {
            return html! { span.masked title=(Msg::MaskedHelp.text(lang)) { (MASK) span.visually-hidden { (Msg::MaskedHelp.text(lang)) } } };
        }
        Some(Value::Bool(b)) => Msg::yes_no(*b).text(lang).to_owned(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
            _ => n.to_string(),
        },
        Some(Value::String(s)) => escape_invisible(s),
        Some(other) => other.to_string(),
    };
    match limit {
        Some(n) if text.chars().count() > n => {
            html! { span title=(text) { (text.chars().take(n).collect::<String>()) "…" } }
        }
        _ => html! { (text) },
    }
}

pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(form): Query<ListForm>,
) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let c = collections::get(&state, &ctx.p, &name).await?;
    let page_no = form.page.as_deref().and_then(|p| p.parse::<u32>().ok()).filter(|p| *p > 0).unwrap_or(1);
    let (q, filter, sort) =
        (form.q.as_deref().unwrap_or(""), form.filter.as_deref().unwrap_or(""), form.sort.as_deref().unwrap_or(""));
    let params = ListParams {
        filter: form.filter.clone(),
        q: form.q.clone(),
        sort: form.sort.clone(),
        page: Some(page_no),
        per_page: Some(PER_PAGE),
    };
    // A filter or sort the collection cannot answer is shown beside the form, not as an error page.
    let (result, problem) = match records::list(&state, &ctx.p, c.name.as_str(), &params).await {
        Ok(r) => (Some(r), None),
        Err(AppError::BadRequest(d)) => (None, Some(d)),
        Err(e) => return Err(e),
    };
    let base = format!("/console/collections/{}", c.name);
    let write = ctx.p.can(Permission::RecordsWrite);
    let listing = Listing { base: &base, q, filter, sort };
    let body = html! {
        @if !c.memo.is_empty() { p.muted { (c.memo) } }
        form.filters method="get" action=(base) role="search" {
            (Input { name: "q", label: t(Msg::SearchRecords), kind: "search", value: q, ..Input::default() }.render(ctx.lang))
            (Input { name: "filter", label: t(Msg::FilterExpr), kind: "text", value: filter, help: Some(t(Msg::FilterHelp)),
                error: problem.as_deref(), ..Input::default() }.render(ctx.lang))
            @if !sort.is_empty() { input type="hidden" name="sort" value=(sort); }
            div.filter-actions {
                button.btn.btn-primary type="submit" { (t(Msg::Search)) }
                @if !q.is_empty() || !filter.is_empty() { a.btn.btn-ghost href=(base) { (t(Msg::ClearFilters)) } }
            }
        }
        @if let Some(r) = &result {
            @if r.total == 0 && q.is_empty() && filter.is_empty() {
                (empty_state(t(if write { Msg::NoRecordsYet } else { Msg::NoRecordsViewer }),
                    write.then_some((&format!("{base}/records/new"), t(Msg::NewRecord)))))
            } @else if r.total == 0 {
                (empty_state(t(Msg::NoMatchingData), None))
            } @else {
                (table(&ctx, &c, r, listing))
                (pager(&ctx, r, listing))
            }
        }
    };
    let mut actions = html! {};
    if ctx.p.can(Permission::CollectionsManage) {
        actions = html! { (actions) a.btn.btn-ghost href={ (base) "/settings" } { (t(Msg::EditDefinition)) } };
    }
    if write {
        actions = html! { (actions) (new_button(&format!("{base}/records/new"), t(Msg::NewRecord))) };
    }
    let head = Head::new(Nav::Collections, c.label.as_str())
        .crumb(t(Msg::NavCollections), "/console/collections")
        .actions(actions);
    Ok(page(&ctx, head, body).into_response())
}

/// Where a listing is and what it asks for, so that sort and page links keep the rest.
#[derive(Debug, Clone, Copy)]
struct Listing<'a> {
    base: &'a str,
    q: &'a str,
    filter: &'a str,
    sort: &'a str,
}

impl Listing<'_> {
    fn link(&self, sort: &str, page: Option<u32>) -> String {
        let page = page.map(|p| p.to_string()).unwrap_or_default();
        format!("{}{}", self.base, query(&[("q", self.q), ("filter", self.filter), ("sort", sort), ("page", &page)]))
    }
}

fn sort_header(ctx: &Ctx, l: Listing<'_>, key: &str, label: &str, sortable: bool) -> Markup {
    let sort = l.sort;
    let (aria, next, arrow) = if sort == key {
        (Some("ascending"), format!("-{key}"), " ▲")
    } else if sort.strip_prefix('-') == Some(key) {
        (Some("descending"), key.to_owned(), " ▼")
    } else {
        (None, key.to_owned(), "")
    };
    let href = l.link(&next, None);
    html! {
        th scope="col" aria-sort=[aria] {
            @if sortable {
                a.sort href=(href) title=(ctx.t(Msg::SortBy)) { (label) (arrow) }
            } @else { (label) }
        }
    }
}

fn table(ctx: &Ctx, c: &Collection, r: &RecordPage, l: Listing<'_>) -> Markup {
    let base = l.base;
    let pii = ctx.p.can(Permission::PiiRead);
    html! {
        div.table-wrap { table.data {
            caption.visually-hidden { (c.label.as_str()) }
            thead { tr {
                @for f in &c.fields {
                    (sort_header(ctx, l, f.name.as_str(), f.label.as_str(), pii || !f.pii))
                }
                (sort_header(ctx, l, "updated_at", ctx.t(Msg::UpdatedAt), true))
            } }
            tbody { @for rec in &r.items { tr {
                @for (i, f) in c.fields.iter().enumerate() {
                    @let cell = show_value(f, rec.data.get(f.name.as_str()), ctx.lang, Some(40));
                    @if i == 0 {
                        th scope="row" { a href={ (base) "/records/" (rec.id) } {
                            @if rec.data.get(f.name.as_str()).is_some() { (cell) } @else { (ctx.t(Msg::Untitled)) }
                        } }
                    } @else {
                        td.num[f.field_type == FieldType::Number] { (cell) }
                    }
                }
                td.nowrap { (ctx.time(rec.updated_at)) }
            } } }
        } }
    }
}

fn pager(ctx: &Ctx, r: &RecordPage, l: Listing<'_>) -> Markup {
    let first = u64::from(r.page - 1) * u64::from(r.per_page) + 1;
    let last = (first + r.items.len() as u64).saturating_sub(1);
    let summary = ctx
        .t(Msg::ShowingRange)
        .replace("{total}", &r.total.to_string())
        .replace("{first}", &first.to_string())
        .replace("{last}", &last.to_string());
    let link = |p: u32| l.link(l.sort, Some(p));
    html! {
        nav.pager aria-label=(ctx.t(Msg::Pagination)) {
            span.muted { (summary) }
            @if r.page > 1 { a.btn.btn-ghost href=(link(r.page - 1)) rel="prev" { "← " (ctx.t(Msg::Previous)) } }
            @if last < r.total { a.btn.btn-ghost href=(link(r.page + 1)) rel="next" { (ctx.t(Msg::Next)) " →" } }
        }
    }
}
