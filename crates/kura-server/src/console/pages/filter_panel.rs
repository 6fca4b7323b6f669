//! The filter builder's part of the records page: the current conditions as chips, the
//! two-step form that adds one, and the advanced box with the filter text (the logic is in
//! `filter_builder.rs`).

use super::filter_builder::{self as fb, BuildError};
use super::records_table::Listing;
use crate::console::extract::Ctx;
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, icon};
use kura_domain::{Collection, FieldType, Filter, Permission};
use maud::{Markup, html};

/// The builder's state in this request.
pub struct Builder<'a> {
    pub picked: Option<&'a str>,
    pub op: Option<&'a str>,
    pub value: Option<&'a str>,
    pub error: Option<BuildError>,
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
pub fn fb_panel(
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
}
