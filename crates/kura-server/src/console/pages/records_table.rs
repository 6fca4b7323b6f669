//! The records table: one column per chosen field, values that read at a glance (short values
//! never wrap, long text is cut with an ellipsis and shown whole on hover and on the record's
//! page), the first column kept in view when scrolling sideways, sortable headers, and page
//! numbers. On a phone the same table shows each record as a card (the stylesheet does that).

use super::values::{cut, is_masked, masked, value_text};
use crate::console::extract::Ctx;
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, csrf, icon, query};
use crate::service::records::{RecordPage, RecordView};
use kura_domain::{Collection, FieldDef, FieldType, Permission};
use maud::{Markup, html};

/// The page sizes offered.
pub const PAGE_SIZES: [u32; 3] = [20, 50, 100];
/// At most this many characters of a value go into the table; the stylesheet cuts what does
/// not fit the column with an ellipsis, and the cell's title holds the value up to `TITLE_CHARS`.
const CELL_CHARS: usize = 120;
const TITLE_CHARS: usize = 500;

/// Where a listing is and what it asks for, so that sort, page and filter links keep the rest.
#[derive(Debug, Clone, Copy)]
pub struct Listing<'a> {
    pub base: &'a str,
    pub q: &'a str,
    pub filter: &'a str,
    pub sort: &'a str,
    pub per_page: u32,
}

impl Listing<'_> {
    /// This listing with another sort, page or filter.
    pub fn link_with(&self, sort: &str, page: Option<u32>, filter: &str) -> String {
        let page = page.map(|p| p.to_string()).unwrap_or_default();
        let per_page = if self.per_page == 50 { String::new() } else { self.per_page.to_string() };
        let pairs =
            [("q", self.q), ("filter", filter), ("sort", sort), ("per_page", per_page.as_str()), ("page", &page)];
        format!("{}{}", self.base, query(&pairs))
    }

    pub fn link(&self, sort: &str, page: Option<u32>) -> String {
        self.link_with(sort, page, self.filter)
    }
}

/// A column of the table: a field, or one of the record's times.
#[derive(Debug, Clone, Copy)]
pub enum Column<'c> {
    Field(&'c FieldDef),
    Created,
    Updated,
}

impl<'c> Column<'c> {
    pub fn key(&self) -> &'c str {
        match self {
            Self::Field(f) => f.name.as_str(),
            Self::Created => "created_at",
            Self::Updated => "updated_at",
        }
    }

    pub fn label(&self, ctx: &Ctx) -> String {
        match self {
            Self::Field(f) => f.label.to_string(),
            Self::Created => ctx.t(Msg::CreatedAt).to_owned(),
            Self::Updated => ctx.t(Msg::UpdatedAt).to_owned(),
        }
    }

    /// The cell's class: short values (numbers, dates, phone numbers, choices, yes/no, times)
    /// never wrap; text is cut to the column's width.
    fn class(&self) -> &'static str {
        match self {
            Self::Field(f) => match f.field_type {
                FieldType::Number => "c-num",
                FieldType::Date => "c-date",
                FieldType::Phone => "c-phone",
                FieldType::Choice | FieldType::Boolean => "c-short",
                FieldType::Email => "c-email",
                FieldType::Text => "c-text",
                FieldType::LongText => "c-long",
            },
            Self::Created | Self::Updated => "c-time",
        }
    }
}

/// The columns shown: the user's choice, else the first eight fields and the update time.
pub fn columns<'c>(c: &'c Collection, chosen: Option<&[String]>) -> Vec<Column<'c>> {
    let all = c.fields.iter().map(Column::Field).chain([Column::Created, Column::Updated]);
    match chosen {
        Some(names) => all.filter(|col| names.iter().any(|n| n == col.key())).collect(),
        None => c.fields.iter().take(8).map(Column::Field).chain([Column::Updated]).collect(),
    }
}

fn sort_header(ctx: &Ctx, l: Listing<'_>, col: Column<'_>, sortable: bool) -> Markup {
    let key = col.key();
    let (aria, next, mark) = if l.sort == key {
        (Some("ascending"), format!("-{key}"), "▲")
    } else if l.sort.strip_prefix('-') == Some(key) {
        (Some("descending"), key.to_owned(), "▼")
    } else {
        (None, key.to_owned(), "↕")
    };
    let label = col.label(ctx);
    html! {
        th scope="col" class=(col.class()) aria-sort=[aria] {
            @if sortable {
                a.sort href=(l.link(&next, None)) title=(ctx.t(Msg::SortBy)) {
                    (label) span.sort-mark.active[aria.is_some()] aria-hidden="true" { (mark) }
                }
            } @else { (label) }
        }
    }
}

/// One cell's content: the value, cut for the table, with the whole value as its title.
fn cell(ctx: &Ctx, col: Column<'_>, r: &RecordView) -> (Markup, Option<String>) {
    match col {
        Column::Created => (html! { span.v { (ctx.time(r.created_at)) } }, None),
        Column::Updated => (html! { span.v { (ctx.time(r.updated_at)) } }, None),
        Column::Field(f) => {
            let v = r.data.get(f.name.as_str());
            if is_masked(f, v) {
                return (html! { span.v { (masked(ctx.lang)) } }, None);
            }
            match value_text(f, v, ctx.lang) {
                None => (html! {}, None),
                Some(text) => {
                    let long = text.chars().count() > 24 || text.contains('\n');
                    let title = long.then(|| cut(&text, TITLE_CHARS));
                    (html! { span.v { (cut(&text, CELL_CHARS)) } }, title)
                }
            }
        }
    }
}

pub fn table(ctx: &Ctx, c: &Collection, cols: &[Column<'_>], r: &RecordPage, l: Listing<'_>) -> Markup {
    let pii = ctx.p.can(Permission::PiiRead);
    let sortable = |col: &Column<'_>| match col {
        Column::Field(f) => pii || !f.pii,
        _ => true,
    };
    html! {
        div.table-wrap.records-wrap { table.data.records {
            caption.visually-hidden { (c.label.as_str()) }
            thead { tr { @for col in cols { (sort_header(ctx, l, *col, sortable(col))) } } }
            tbody { @for rec in &r.items { tr {
                @for (i, col) in cols.iter().enumerate() {
                    @let (content, title) = cell(ctx, *col, rec);
                    @let label = col.label(ctx);
                    @if i == 0 {
                        th scope="row" class=(col.class()) data-label=(label) title=[title] {
                            a href={ (l.base) "/records/" (rec.id) } {
                                @if content.0.is_empty() { span.v { (ctx.t(Msg::Untitled)) } } @else { (content) }
                            }
                        }
                    } @else {
                        td class=(col.class()) data-label=(label) title=[title] { (content) }
                    }
                }
            } } }
        } }
    }
}

/// The page numbers to show: the first, the last, and two either side of the current one, with
/// `None` for each gap.
pub fn page_numbers(current: u32, last: u32) -> Vec<Option<u32>> {
    let mut out = Vec::new();
    for p in 1..=last {
        let near = p + 2 >= current && p <= current + 2;
        if p == 1 || p == last || near {
            out.push(Some(p));
        } else if out.last().is_some_and(Option::is_some) {
            out.push(None);
        }
    }
    out
}

pub fn pager(ctx: &Ctx, r: &RecordPage, l: Listing<'_>) -> Markup {
    let first = u64::from(r.page - 1) * u64::from(r.per_page) + 1;
    let last = (first + r.items.len() as u64).saturating_sub(1);
    let summary = ctx
        .t(Msg::ShowingRange)
        .replace("{total}", &r.total.to_string())
        .replace("{first}", &first.to_string())
        .replace("{last}", &last.to_string());
    let pages = u32::try_from(r.total.div_ceil(u64::from(r.per_page))).unwrap_or(u32::MAX).max(1);
    let link = |p: u32| l.link(l.sort, Some(p));
    html! {
        nav.pager aria-label=(ctx.t(Msg::Pagination)) {
            p.pager-summary { (summary) }
            @if pages > 1 {
                ul.pages {
                    li { @if r.page > 1 {
                        a.page href=(link(r.page - 1)) rel="prev" { "‹ " (ctx.t(Msg::Previous)) }
                    } @else { span.page.disabled aria-disabled="true" { "‹ " (ctx.t(Msg::Previous)) } } }
                    @for p in page_numbers(r.page, pages) {
                        li { @match p {
                            Some(p) if p == r.page => span.page.current aria-current="page" { (p) },
                            Some(p) => a.page href=(link(p)) aria-label=(ctx.t(Msg::PageN).replace("{n}", &p.to_string())) { (p) },
                            None => span.gap aria-hidden="true" { "…" },
                        } }
                    }
                    li { @if r.page < pages {
                        a.page href=(link(r.page + 1)) rel="next" { (ctx.t(Msg::Next)) " ›" }
                    } @else { span.page.disabled aria-disabled="true" { (ctx.t(Msg::Next)) " ›" } } }
                }
            }
        }
    }
}

/// The column chooser: which fields (and times) the table shows, remembered for this user.
pub fn column_chooser(ctx: &Ctx, c: &Collection, shown: &[Column<'_>], refused: bool) -> Markup {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_keep_the_first_the_last_and_the_neighbourhood() {
        let shown = |c, l| {
            page_numbers(c, l).iter().map(|p| p.map_or("…".to_owned(), |p| p.to_string())).collect::<Vec<_>>().join(" ")
        };
        assert_eq!(shown(1, 1), "1");
        assert_eq!(shown(1, 7), "1 2 3 … 7");
        assert_eq!(shown(6, 302), "1 … 4 5 6 7 8 … 302");
        assert_eq!(shown(302, 302), "1 … 300 301 302");
        assert_eq!(shown(3, 5), "1 2 3 4 5");
    }
}
