//! The chart of security events per day (LOG-1), drawn by the server as inline SVG: stacked
//! bars, one a day, with a title and description for screen readers, a title on each bar for
//! a pointer, a legend, and the same numbers as a table. No script; colours come from the
//! stylesheet, so the CSP stays strict.

use crate::console::i18n::Lang;
use crate::console::msg::Msg;
use crate::console::widgets::empty_state;
use crate::service::security_events::{Day, Kind};
use maud::{Markup, html};

/// The drawing's size (the SVG scales to its box) and its margins.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 26.0;

fn kind_label(kind: Kind) -> Msg {
    match kind {
        Kind::SignInFailed => Msg::SevSignInFailed,
        Kind::Lockout => Msg::SevLockout,
        Kind::Refused => Msg::SevRefused,
        Kind::SecondFactor => Msg::SevSecondFactor,
        Kind::BreakGlass => Msg::SevBreakGlass,
    }
}

/// The axis' top: the smallest 1, 2 or 5 times a power of ten at or above `max` (at least 1).
fn axis_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for k in [1, 2, 5] {
            if step.saturating_mul(k) >= max {
                return step.saturating_mul(k);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn date_label(day: &Day, lang: Lang) -> String {
    match lang {
        Lang::Ja => format!("{}月{}日", day.date.month(), day.date.day()),
        Lang::En => day.date.strftime("%b %-d").to_string(),
    }
}

/// A number with one decimal at most, as SVG coordinates are written.
fn n(x: f64) -> String {
    let s = format!("{x:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// The chart section: heading, the SVG and legend, the table; or the empty state.
pub fn render(days: &[Day], lang: Lang, t: impl Fn(Msg) -> &'static str, zone_label: &str) -> Markup {
    let total: u64 = days.iter().map(Day::total).sum();
    let busiest = days.iter().max_by_key(|d| (d.total(), d.date));
    html! {
        section.card.stack.security-chart aria-labelledby="security-chart-heading" {
            h2 id="security-chart-heading" { (t(Msg::SecurityChartTitle)) }
            p.muted { (t(Msg::SecurityChartIntro)) " " (t(Msg::TimesShownIn)) " " (zone_label) }
            @match busiest.filter(|_| total > 0) {
                None => (empty_state(t(Msg::SecurityChartEmpty), None)),
                Some(busiest) => {
                    @let desc = t(Msg::SecurityChartDesc)
                        .replace("{total}", &total.to_string())
                        .replace("{day}", &date_label(busiest, lang))
                        .replace("{n}", &busiest.total().to_string());
                    (svg(days, lang, &t, &desc))
                    ul.chart-legend {
                        @for kind in Kind::ALL {
                            li { span class={ "swatch sev-" (kind.as_str()) } aria-hidden="true" {} (t(kind_label(kind))) }
                        }
                    }
                    details {
                        summary { (t(Msg::SecurityChartTable)) }
                        (table(days, lang, &t))
                    }
                }
            }
        }
    }
}

fn svg(days: &[Day], lang: Lang, t: &impl Fn(Msg) -> &'static str, desc: &str) -> Markup {
    let top = axis_top(days.iter().map(Day::total).max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w / days.len().max(1) as f64;
    let bar = slot * 0.7;
    let y = |v: u64| TOP + plot_h - plot_h * v as f64 / top as f64;
    html! {
        svg.chart viewBox={ "0 0 " (n(WIDTH)) " " (n(HEIGHT)) } role="img"
            aria-labelledby="security-chart-title security-chart-desc" xmlns="http://www.w3.org/2000/svg" {
            title id="security-chart-title" { (t(Msg::SecurityChartTitle)) }
            desc id="security-chart-desc" { (desc) }
            @for v in [0, top / 2, top] {
                line.grid x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(y(v))) y2=(n(y(v))) {}
                text.axis x=(n(LEFT - 6.0)) y=(n(y(v) + 4.0)) text-anchor="end" { (v) }
            }
            @for (i, day) in days.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                g {
                    title { (date_label(day, lang)) ": " (tooltip(day, t)) }
                    @for (k, kind) in Kind::ALL.iter().enumerate() {
                        @let count = day.counts[k];
                        @let below: u64 = day.counts[..k].iter().sum();
                        @if count > 0 {
                            rect class={ "sev-" (kind.as_str()) } x=(n(x)) y=(n(y(below + count)))
                                width=(n(bar)) height=(n(y(below) - y(below + count))) {}
                        }
                    }
                    // An invisible full-height target, so that the title shows over empty days too.
                    rect.hit x=(n(LEFT + slot * i as f64)) y=(n(TOP)) width=(n(slot)) height=(n(plot_h)) {}
                }
                @if i % 7 == (days.len() - 1) % 7 {
                    text.axis x=(n(x + bar / 2.0)) y=(n(HEIGHT - 8.0)) text-anchor="middle" { (date_label(day, lang)) }
                }
            }
        }
    }
}

fn tooltip(day: &Day, t: &impl Fn(Msg) -> &'static str) -> String {
    if day.total() == 0 {
        return t(Msg::SecurityChartNone).to_owned();
    }
    Kind::ALL
        .iter()
        .zip(day.counts)
        .filter(|(_, c)| *c > 0)
        .map(|(k, c)| format!("{} {c}", t(kind_label(*k))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(days: &[Day], lang: Lang, t: &impl Fn(Msg) -> &'static str) -> Markup {
    html! {
        div.table-wrap {
            table.data {
                caption.visually-hidden { (t(Msg::SecurityChartTitle)) }
                thead { tr {
                    th scope="col" { (t(Msg::SecurityChartDate)) }
                    @for kind in Kind::ALL { th scope="col" { (t(kind_label(kind))) } }
                    th scope="col" { (t(Msg::SecurityChartTotal)) }
                } }
                tbody {
                    @for day in days.iter().rev() {
                        tr {
                            th scope="row" { time datetime=(day.date.to_string()) { (date_label(day, lang)) } }
                            @for c in day.counts { td.num { (c) } }
                            td.num { (day.total()) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn t(m: Msg) -> &'static str {
        m.text(Lang::En)
    }

    fn days(counts: &[[u64; 5]]) -> Vec<Day> {
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| Day {
                date: date(2026, 11, 20).checked_add(jiff::Span::new().days(i as i64)).unwrap(),
                counts: *c,
            })
            .collect()
    }

    #[test]
    fn log_1_axis_tops_are_round() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(480), 500);
    }

    #[test]
    fn log_1_the_chart_stacks_each_days_kinds_and_says_the_same_in_words_and_a_table() {
        let d = days(&[[0; 5], [3, 1, 0, 0, 0], [0, 0, 2, 1, 0]]);
        let html = render(&d, Lang::En, t, "Asia/Tokyo").into_string();
        assert!(html.contains("role=\"img\""), "{html}");
        assert!(html.contains("7 events in 30 days"), "{html}");
        assert!(html.contains("busiest day was Nov 21 with 4"), "{html}");
        assert_eq!(html.matches("<rect class=\"sev-").count(), 4, "{html}");
        assert!(html.contains("Nov 21: Failed sign-ins 3, Lockouts and slowdowns 1"), "{html}");
        assert!(html.contains("<td class=\"num\">3</td><td class=\"num\">1</td>"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        let ja = render(&d, Lang::Ja, |m: Msg| m.text(Lang::Ja), "東京").into_string();
        assert!(ja.contains("11月21日"), "{ja}");
    }

    #[test]
    fn log_1_a_quiet_month_shows_the_empty_state_not_a_chart() {
        let html = render(&days(&[[0; 5], [0; 5]]), Lang::En, t, "UTC").into_string();
        assert!(!html.contains("<svg"), "{html}");
        assert!(html.contains(t(Msg::SecurityChartEmpty)), "{html}");
    }
}
