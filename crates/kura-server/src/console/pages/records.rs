//! A collection's records: keyword search, the filter builder, sorting by column header, 20, 50
//! or 100 per page, and the columns each user chose. Personal information arrives masked from
//! the service for users without `pii.read` (IAM-3). The collection is looked up once per request.

use super::filter_builder::{self as fb, BuildError};
use super::records_table::{Column, Listing, PAGE_SIZES, columns, pager, table};
use crate::console::extract::{Ctx, Posted};
use crate::console::i18n::is_local_path;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, csrf, icon, new_button, notice_warn};
use crate::error::AppResult;
use crate::service::records::{self, ListParams};
use crate::service::{collections, views};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{Collection, DomainError, FieldType, Filter, ListQuery, Permission};
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
    if ctx.p.can(Permission::RecordsWrite) {
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

/// The builder's state in this request.
struct Builder<'a> {
    picked: Option<&'a str>,
    op: Option<&'a str>,
    value: Option<&'a str>,
    error: Option<BuildError>,
}

/// Hidden inputs that carry the listing through a form of the builder.
fn keep(l: Listing<'_>, with_filter: bool) -> Markup {
    html! {
        @if !l.q.is_empty() { input type="hidden" name="q" value=(l.q); }
        @if !l.sort.is_empty() { input type="hidden" name="sort" value=(l.sort); }
        @if l.per_page != 50 { input type="hidden" name="per_page" value=(l.per_page); }
        @if with_filter && !l.filter.is_empty() { input type="hidden" name="filter" value=(l.filter); }
    }
}

/// The current conditions, the builder and the advanced box.
fn fb_panel(
    ctx: &Ctx,
    c: &Collection,
    filter: Option<&Filter>,
    error: Option<&str>,
    b: &Builder<'_>,
    l: Listing<'_>,
) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let pii = ctx.p.can(Permission::PiiRead);
    let conditions = filter.map(|f| f.conditions());
    let picked = b.picked.and_then(|name| fb::filterable(c, pii).find(|f| f.name.as_str() == name));
    let advanced_open = error.is_some() || matches!(conditions, Some(None));
    let example = fb::example(c, pii);
    html! {
        section.filter-panel aria-labelledby="filter-heading" {
            h2.visually-hidden #filter-heading { (t(Msg::FilterConditions)) }
            @match &conditions {
                Some(Some(list)) => {
                    ul.chips aria-label=(t(Msg::FilterConditions)) {
                        @for (i, cond) in list.iter().enumerate() {
                            @let rest: Vec<_> = list.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x.clone()).collect();
                            @let without = Filter::all_of(&rest).map(|f| f.to_string()).unwrap_or_default();
                            @let text = fb::describe(c, cond, ctx.lang);
                            li.chip {
                                span { (text) }
                                a.chip-remove href=(l.link_with(l.sort, None, &without))
                                    title=(t(Msg::RemoveCondition)) aria-label={ (t(Msg::RemoveCondition)) ": " (text) } { "×" }
                            }
                        }
                        @if list.len() > 1 { li { a.chip-clear href=(l.link_with(l.sort, None, "")) { (t(Msg::ClearConditions)) } } }
                    }
                }
                Some(None) => p.muted { (t(Msg::FilterIsAdvanced)) },
                None => {}
            }
            details.builder open[b.picked.is_some()] {
                summary { (icon(Icon::Plus)) " " (t(Msg::AddCondition)) }
                form.builder-form method="get" action=(l.base) {
                    (keep(l, true))
                    @if let Some(f) = picked {
                        input type="hidden" name="bf" value=(f.name.as_str());
                        div.field {
                            span.label-like { (t(Msg::BuilderField)) }
                            p.picked { strong { (f.label.as_str()) } " "
                                a href=(format!("{}{}", l.base, builder_back(l))) { (t(Msg::BuilderChangeField)) } }
                        }
                        div.field {
                            label for="f-bo" { (t(Msg::BuilderOperator)) }
                            select #f-bo name="bo" {
                                @for op in fb::ops_for(f.field_type) {
                                    option value=(op.as_str()) selected[b.op == Some(op.as_str())] { (op.label(f.field_type, ctx.lang)) }
                                }
                            }
                        }
                        (value_input(ctx, f, b))
                        div.filter-actions { button.btn.btn-primary type="submit" { (t(Msg::AddThisCondition)) } }
                    } @else {
                        div.field {
                            label for="f-bf" { (t(Msg::BuilderField)) }
                            select #f-bf name="bf" {
                                @for f in fb::filterable(c, pii) {
                                    option value=(f.name.as_str()) { (f.label.as_str()) }
                                }
                            }
                        }
                        div.filter-actions { button.btn.btn-ghost type="submit" { (t(Msg::BuilderNext)) " ›" } }
                    }
                }
            }
            details.advanced open[advanced_open] {
                summary { (t(Msg::AdvancedFilter)) }
                form.filters method="get" action=(l.base) {
                    (keep(l, false))
                    div.field.grow.has-error[error.is_some()] {
                        label for="f-filter" { (t(Msg::FilterExpr)) }
                        input #f-filter.mono type="text" name="filter" value=(l.filter) maxlength="2000"
                            aria-describedby="f-filter-help" aria-invalid=[error.map(|_| "true")];
                        p.help #f-filter-help {
                            (t(Msg::FilterHelp))
                            @if let Some(ex) = &example { " " (t(Msg::ForExample)) " " code { (ex) } }
                        }
                        @if let Some(e) = error {
                            p.field-error role="alert" { (icon(Icon::Alert)) " " (e) " " (t(Msg::FilterNotApplied)) }
                        }
                    }
                    div.filter-actions { button.btn.btn-primary type="submit" { (t(Msg::Apply)) } }
                }
            }
        }
    }
}

/// The query string that goes back to step 1 of the builder, keeping the listing.
fn builder_back(l: Listing<'_>) -> String {
    let link = l.link(l.sort, None);
    let query = link.strip_prefix(l.base).unwrap_or("");
    if query.is_empty() { "?bf=".to_owned() } else { format!("{query}&bf=") }
}

/// The value input of step 2, of the field's own type.
fn value_input(ctx: &Ctx, f: &kura_domain::FieldDef, b: &Builder<'_>) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let value = b.value.unwrap_or("");
    let error = b.error.filter(|e| *e != BuildError::NoSuchOperator).map(|e| t(e.msg()));
    html! {
        div.field.has-error[error.is_some()] {
            label for="f-bv" { (t(Msg::BuilderValue)) }
            @match f.field_type {
                FieldType::Choice => select #f-bv name="bv" {
                    @for choice in &f.choices { option value=(choice) selected[choice == value] { (f.choice_label(choice)) } }
                },
                FieldType::Boolean => select #f-bv name="bv" {
                    option value="true" selected[value == "true"] { (t(Msg::Yes)) }
                    option value="false" selected[value == "false"] { (t(Msg::No)) }
                },
                FieldType::Date => input #f-bv type="date" name="bv" value=(value);,
                FieldType::Number => input #f-bv type="text" inputmode="decimal" name="bv" value=(value);,
                _ => input #f-bv type="text" name="bv" value=(value);,
            }
            @if f.field_type != FieldType::Boolean { p.help { (t(Msg::BuilderValueHelp)) } }
            @if let Some(e) = error { p.field-error role="alert" { (icon(Icon::Alert)) " " (e) } }
        }
    }
}

/// The column chooser: which fields (and times) the table shows, remembered for this user.
fn column_chooser(ctx: &Ctx, c: &Collection, shown: &[Column<'_>], refused: bool) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let all: Vec<Column<'_>> = c.fields.iter().map(Column::Field).chain([Column::Created, Column::Updated]).collect();
    let back = ctx.here.clone();
    html! {
        details.columns open[refused] {
            summary { (t(Msg::ChooseColumns)) }
            form.columns-form method="post" action={ "/console/collections/" (c.name) "/columns" } {
                (csrf(ctx.csrf()))
                input type="hidden" name="back" value=(back);
                @if refused { p.field-error role="alert" { (icon(Icon::Alert)) " " (t(Msg::ChooseOneColumn)) } }
                fieldset {
                    legend.visually-hidden { (t(Msg::ChooseColumns)) }
                    @for col in &all {
                        @let key = col.key();
                        @let id = format!("col-{key}");
                        div.check {
                            input #(id) type="checkbox" name="col" value=(key) checked[shown.iter().any(|s| s.key() == key)];
                            label for=(id) { (col.label(ctx)) }
                        }
                    }
                }
                button.btn.btn-primary.btn-small type="submit" { (t(Msg::Save)) }
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
    fn the_builder_goes_back_to_its_first_step_keeping_the_listing() {
        let l = Listing { base: "/c", q: "", filter: "", sort: "", per_page: 50 };
        assert_eq!(builder_back(l), "?bf=");
        let l = Listing { base: "/c", q: "山", filter: "points > 1", sort: "-points", per_page: 20 };
        assert!(builder_back(l).ends_with("&bf="));
        assert!(builder_back(l).starts_with("?q=%E5%B1%B1&filter=points"));
    }

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
