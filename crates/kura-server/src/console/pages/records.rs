//! A collection's records: keyword search, the filter builder, sorting by column header, 20, 50
//! or 100 per page, and the columns each user chose. Personal information arrives masked from
//! the service for users without `pii.read` (IAM-3). The collection is looked up once per request.

use super::filter_builder as fb;
use super::filter_panel::{Builder, fb_panel};
use super::records_table::{Listing, PAGE_SIZES, column_chooser, columns, pager, table};
use crate::console::extract::{Ctx, Posted};
use crate::console::i18n::is_local_path;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, icon, new_button, notice_warn, query};
use crate::error::AppResult;
use crate::service::records::{self, ListParams};
use crate::service::{collections, views};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{DomainError, Filter, ListQuery, Permission};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct ListForm {
    q: Option<String>,
    filter: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    per_page: Option<String>,
    /// The builder: the field picked (step 1), then its operator and value (step 2).
    bf: Option<String>,
    bo: Option<String>,
    bv: Option<String>,
    /// Set when the column chooser was sent without any column.
    colerr: Option<String>,
}

/// What the page asks for, read from the query string.
struct Asked<'a> {
    q: &'a str,
    filter: &'a str,
    sort: &'a str,
    page: u32,
    per_page: u32,
}

impl<'a> Asked<'a> {
    fn of(form: &'a ListForm) -> Self {
        let s = |v: &'a Option<String>| v.as_deref().map(str::trim).unwrap_or("");
        let per_page = form.per_page.as_deref().and_then(|p| p.parse().ok()).filter(|p| PAGE_SIZES.contains(p));
        Self {
            q: s(&form.q),
            filter: s(&form.filter),
            sort: s(&form.sort),
            page: form.page.as_deref().and_then(|p| p.parse::<u32>().ok()).filter(|p| *p > 0).unwrap_or(1),
            per_page: per_page.unwrap_or(50),
        }
    }
}

pub async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(form): Query<ListForm>,
) -> AppResult<Response> {
    let at = collections::at(&state, &ctx.p, &name).await?;
    let c = &*at.collection;
    let asked = Asked::of(&form);
    let base = format!("/console/collections/{}", c.name);
    let listing = Listing { base: &base, q: asked.q, filter: asked.filter, sort: asked.sort, per_page: asked.per_page };
    let pii = ctx.p.can(Permission::PiiRead);

    // The filter is read here first, so that a mistake in it is explained beside it, in the
    // reader's words, while the table still shows the records without it.
    let (filter, filter_error) = match Filter::parse(asked.filter, c, pii) {
        _ if asked.filter.is_empty() => (None, None),
        Ok(f) => (Some(f), None),
        Err(DomainError::Query(e)) => (None, Some(labels::query_error(&e, c, ctx.lang))),
        Err(other) => (None, Some(labels::detail(&other.to_string(), ctx.lang))),
    };

    // Step 2 of the builder sent: add the condition and show the listing it makes.
    let mut builder_error = None;
    if let (Some(field), Some(op)) = (form.bf.as_deref(), form.bo.as_deref()) {
        match fb::condition(c, pii, field, op, form.bv.as_deref().unwrap_or("")) {
            Ok(cond) => {
                let filter = fb::with_condition(filter.as_ref(), &cond).to_string();
                return Ok(Redirect::to(&listing.link_with(asked.sort, None, &filter)).into_response());
            }
            Err(e) => builder_error = Some(e),
        }
    }

    // So are a sort and a search the collection cannot answer: the table drops them.
    let sort_error = match ListQuery::parse(c, None, None, Some(asked.sort), None, None, pii) {
        Err(DomainError::Query(e)) => Some(labels::query_error(&e, c, ctx.lang)),
        _ => None,
    };
    let search_error = match ListQuery::parse(c, None, Some(asked.q), None, None, None, pii) {
        Err(DomainError::Query(e)) => Some(labels::query_error(&e, c, ctx.lang)),
        _ => None,
    };
    let list_error = sort_error.clone().or(search_error.clone());
    let mut params = ListParams {
        filter: filter.as_ref().map(ToString::to_string),
        q: Some(asked.q.to_owned()).filter(|q| !q.is_empty() && search_error.is_none()),
        sort: Some(asked.sort.to_owned()).filter(|s| !s.is_empty() && sort_error.is_none()),
        page: Some(asked.page),
        per_page: Some(asked.per_page),
    };
    let mut result = records::list_in(&state, &ctx.p, &at, &params).await?;
    // A page past the end shows the last page instead of an empty table.
    let last = u32::try_from(result.total.div_ceil(u64::from(result.per_page))).unwrap_or(u32::MAX);
    if result.items.is_empty() && last > 0 && asked.page > last {
        params.page = Some(last);
        result = records::list_in(&state, &ctx.p, &at, &params).await?;
    }
    let chosen = views::columns(&state, &ctx.p, &at).await?;
    let cols = columns(c, chosen.as_deref());
    let builder =
        Builder { picked: form.bf.as_deref(), op: form.bo.as_deref(), value: form.bv.as_deref(), error: builder_error };
    let body = html! {
        @if !c.memo.is_empty() { p.muted { (c.memo) } }
        (search_form(&ctx, listing))
        (fb_panel(&ctx, c, filter.as_ref(), filter_error.as_deref(), &builder, listing))
        @if let Some(e) = &list_error { (notice_warn(e)) }
        @let r = &result;
        @if c.fields.is_empty() {
                (empty(&ctx, Msg::NoFieldsForRecords, Some((format!("{base}/fields/new"), Msg::AddField))
                    .filter(|_| ctx.p.can(Permission::CollectionsManage))))
            } @else if r.total == 0 && asked.q.is_empty() && filter.is_none() {
                @let write = ctx.p.can(Permission::RecordsWrite);
                (empty(&ctx, if write { Msg::NoRecordsYet } else { Msg::NoRecordsViewer },
                    write.then(|| (format!("{base}/records/new"), Msg::NewRecord))))
            } @else if r.total == 0 {
                (empty(&ctx, Msg::NoMatchingRecords, Some((base.clone(), Msg::ClearFilters))))
            } @else {
                div.table-tools {
                    (pager(&ctx, r, listing))
                    (column_chooser(&ctx, c, &cols, form.colerr.is_some()))
                }
                (table(&ctx, c, &cols, r, listing))
                @if r.total > u64::from(r.per_page) { (pager(&ctx, r, listing)) }
            }
    };
    let mut actions = html! {};
    if ctx.p.can(Permission::CollectionsManage) {
        actions = html! { (actions) a.btn.btn-ghost href={ (base) "/settings" } { (ctx.t(Msg::EditDefinition)) } };
    }
    if ctx.p.can(Permission::RecordsExport) {
        actions = html! { (actions) a.btn.btn-ghost href={ (base) "/export" } { (ctx.t(Msg::ExportRecords)) } };
    }
    // Bulk changes act on what the listing selects; offered once there is something to select.
    if result.total > 0 {
        let selected =
            query(&[("q", asked.q), ("filter", &filter.as_ref().map(ToString::to_string).unwrap_or_default())]);
        if ctx.p.can(Permission::RecordsWrite) {
            let href = format!("{base}/bulk-update{selected}");
            actions = html! { (actions) a.btn.btn-ghost href=(href) { (ctx.t(Msg::BulkUpdateAction)) } };
        }
        if ctx.p.can(Permission::RecordsDelete) {
            let href = format!("{base}/bulk-delete{selected}");
            actions = html! { (actions) a.btn.btn-ghost href=(href) { (ctx.t(Msg::BulkDeleteAction)) } };
        }
    }
    if ctx.p.can(Permission::RecordsWrite) {
        actions = html! { (actions) a.btn.btn-ghost href={ (base) "/import" } { (ctx.t(Msg::ImportRecords)) } };
        actions = html! { (actions) (new_button(&format!("{base}/records/new"), ctx.t(Msg::NewRecord))) };
    }
    let head = Head::new(Nav::Collections, c.label.as_str())
        .crumb(ctx.t(Msg::NavCollections), "/console/collections")
        .actions(actions);
    Ok(page(&ctx, head, body).into_response())
}

fn empty(ctx: &Ctx, text: Msg, action: Option<(String, Msg)>) -> Markup {
    html! {
        div.empty {
            span.empty-icon aria-hidden="true" { (icon(Icon::Table)) }
            p { (ctx.t(text)) }
            @if let Some((href, label)) = action { a.btn.btn-primary href=(href) { (ctx.t(label)) } }
        }
    }
}

fn search_form(ctx: &Ctx, l: Listing<'_>) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        form.filters.search-bar method="get" action=(l.base) role="search" {
            div.field.grow {
                label for="f-q" { (t(Msg::SearchRecords)) }
                input #f-q type="search" name="q" value=(l.q) placeholder=(t(Msg::SearchPlaceholder));
            }
            div.field {
                label for="f-per_page" { (t(Msg::PerPage)) }
                select #f-per_page name="per_page" {
                    @for n in PAGE_SIZES {
                        option value=(n) selected[n == l.per_page] { (t(Msg::NRecords).replace("{n}", &n.to_string())) }
                    }
                }
            }
            @if !l.filter.is_empty() { input type="hidden" name="filter" value=(l.filter); }
            @if !l.sort.is_empty() { input type="hidden" name="sort" value=(l.sort); }
            div.filter-actions {
                button.btn.btn-primary type="submit" { (t(Msg::Search)) }
                @if !l.q.is_empty() || !l.filter.is_empty() { a.btn.btn-ghost href=(l.base) { (t(Msg::ClearFilters)) } }
            }
        }
    }
}

/// `POST /console/collections/{name}/columns`: remembers the columns and returns to the list.
pub async fn save_columns(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Posted { ctx, form }: Posted,
) -> AppResult<Response> {
    let at = collections::at(&state, &ctx.p, &name).await?;
    let base = format!("/console/collections/{}", at.collection.name);
    let back = Some(form.get("back")).filter(|b| is_local_path(b) && b.starts_with(&base)).unwrap_or(&base);
    let chosen = form.all("col");
    if chosen.is_empty() {
        let sep = if back.contains('?') { '&' } else { '?' };
        return Ok(Redirect::to(&format!("{back}{sep}colerr=1")).into_response());
    }
    views::save_columns(&state, &ctx.p, &at, &chosen).await?;
    Ok(Redirect::to(back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_page_sizes_are_taken() {
        let form = ListForm { per_page: Some("500".into()), page: Some("0".into()), ..ListForm::default() };
        let asked = Asked::of(&form);
        assert_eq!((asked.per_page, asked.page), (50, 1));
        let form = ListForm { per_page: Some("100".into()), page: Some("3".into()), ..ListForm::default() };
        let asked = Asked::of(&form);
        assert_eq!((asked.per_page, asked.page), (100, 3));
    }
}
