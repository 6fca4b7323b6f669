//! Built-in help: the tenant-administrator guide of `docs/` (compiled in, so the console and the
//! repository say the same), in the reader's language, linked from the settings it explains.
//!
//! The guide is Markdown of a small, known shape, so a small renderer does: headings (two levels),
//! paragraphs, bullet lists, tables, code blocks, and `code`, **bold** and *emphasis* inline.
//! Every piece of text goes through maud's escaping; links are shown as their text.

use super::extract::Ctx;
use super::i18n::Lang;
use super::layout::{Head, Nav, page};
use super::msg::Msg;
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

const GUIDE_EN: &str = include_str!("../../../../docs/tenant-admin-guide.md");
const GUIDE_JA: &str = include_str!("../../../../docs/tenant-admin-guide.ja.md");

pub async fn security(ctx: Ctx) -> Response {
    let text = match ctx.lang {
        Lang::Ja => GUIDE_JA,
        Lang::En => GUIDE_EN,
    };
    let (title, body) = render(text);
    let head = Head::new(Nav::Settings, &title).crumb(ctx.t(Msg::NavSettings), "/console/settings/security");
    page(&ctx, head, html! { article.guide { (body) } }).into_response()
}

/// The guide's section on exporting and importing records, linked from those pages.
pub async fn data(ctx: Ctx) -> Response {
    let (text, heading) = match ctx.lang {
        Lang::Ja => (GUIDE_JA, DATA_JA),
        Lang::En => (GUIDE_EN, DATA_EN),
    };
    let section = section(text, heading);
    let (_, body) = render(&section);
    let head =
        Head::new(Nav::Collections, ctx.t(Msg::HelpData)).crumb(ctx.t(Msg::NavCollections), "/console/collections");
    page(&ctx, head, html! { article.guide { (body) } }).into_response()
}

/// The headings of the guide's export section, in each language.
const DATA_EN: &str = "## Exporting and importing records";
const DATA_JA: &str = "## レコードのエクスポートとインポート";

/// The lines from `heading` up to the next heading of its level.
fn section(text: &str, heading: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            inside = line == heading;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The document's title (its first heading) and the rest as HTML.
fn render(text: &str) -> (String, Markup) {
    let mut title = String::new();
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(h) = line.strip_prefix("# ") {
            title = h.to_owned();
        } else if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&html! { h2 { (inline(h)) } }.0);
        } else if let Some(h) = line.strip_prefix("### ") {
            out.push_str(&html! { h3 { (inline(h)) } }.0);
        } else if line.starts_with("```") {
            let mut code = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                code.push_str(l);
                code.push('\n');
            }
            out.push_str(&html! { pre.mono { (code) } }.0);
        } else if line.starts_with('|') {
            let mut rows = vec![cells(line)];
            while let Some(l) = lines.next_if(|l| l.starts_with('|')) {
                // The |---|---| line only separates the header.
                if !l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                    rows.push(cells(l));
                }
            }
            let (header, body) = rows.split_first().map_or((Vec::new(), &[][..]), |(h, b)| (h.clone(), b));
            out.push_str(
                &html! {
                    div.table-wrap { table.data {
                        thead { tr { @for c in &header { th scope="col" { (inline(c)) } } } }
                        tbody { @for r in body { tr { @for c in r { td { (inline(c)) } } } } }
                    } }
                }
                .0,
            );
        } else if let Some(item) = line.strip_prefix("- ") {
            let mut items = vec![item.to_owned()];
            while let Some(l) = lines.next_if(|l| l.starts_with("- ") || l.starts_with("  ")) {
                match l.strip_prefix("- ") {
                    Some(next) => items.push(next.to_owned()),
                    None => {
                        if let Some(last) = items.last_mut() {
                            last.push(' ');
                            last.push_str(l.trim());
                        }
                    }
                }
            }
            out.push_str(&html! { ul { @for i in &items { li { (inline(i)) } } } }.0);
        } else if !line.trim().is_empty() {
            let mut para = line.trim().to_owned();
            while let Some(l) = lines.next_if(|l| !l.trim().is_empty() && !starts_block(l)) {
                para.push(' ');
                para.push_str(l.trim());
            }
            out.push_str(&html! { p { (inline(&para)) } }.0);
        }
    }
    (title, PreEscaped(out))
}

fn starts_block(line: &str) -> bool {
    line.starts_with('#') || line.starts_with("- ") || line.starts_with('|') || line.starts_with("```")
}

fn cells(line: &str) -> Vec<String> {
    line.trim().trim_matches('|').split('|').map(|c| c.trim().to_owned()).collect()
}

/// Inline marks: `code`, **bold**, *emphasis*, and [text](target) shown as its text.
fn inline(text: &str) -> Markup {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let next = ["`", "**", "*", "["].iter().filter_map(|m| rest.find(m).map(|i| (i, *m))).min_by_key(|(i, _)| *i);
        let Some((at, mark)) = next else {
            out.push_str(&html! { (rest) }.0);
            break;
        };
        out.push_str(&html! { (&rest[..at]) }.0);
        let after = &rest[at + mark.len()..];
        let (close, render): (&str, fn(&str) -> Markup) = match mark {
            "`" => ("`", |s| html! { code { (s) } }),
            "**" => ("**", |s| html! { strong { (inline(s)) } }),
            "*" => ("*", |s| html! { em { (inline(s)) } }),
            _ => ("]", |s| html! { (s) }),
        };
        match after.find(close) {
            Some(end) => {
                out.push_str(&render(&after[..end]).0);
                rest = &after[end + close.len()..];
                // A link's target is not shown.
                if mark == "["
                    && let Some(target) = rest.strip_prefix('(')
                {
                    rest = target.find(')').map_or(rest, |e| &target[e + 1..]);
                }
            }
            None => {
                out.push_str(&html! { (mark) }.0);
                rest = after;
            }
        }
    }
    PreEscaped(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_render_with_their_tables_and_escape_text() {
        for guide in [GUIDE_EN, GUIDE_JA] {
            let (title, body) = render(guide);
            assert!(!title.is_empty());
            let html = body.0;
            assert!(
                html.contains("<table") && html.contains("<h2>") && html.contains("<h3>") && html.contains("<pre"),
                "{html}"
            );
            assert!(html.contains("<code>password.rehash</code>"));
            assert!(!html.contains("](") && !html.contains("**"), "marks are rendered");
        }
        let (_, body) = render("A <script> and `<b>` and **bold**.");
        assert_eq!(body.0, "<p>A &lt;script&gt; and <code>&lt;b&gt;</code> and <strong>bold</strong>.</p>");
    }
}
