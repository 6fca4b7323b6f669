//! Small building blocks shared by the pages: labelled inputs with help and error text, notices,
//! POST buttons, empty states, icons, and query-string building.

use super::i18n::Lang;
use super::msg::Msg;
use maud::{Markup, html};

/// A labelled input with optional help text and error. Unset attributes are left out.
#[derive(Debug, Default)]
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    /// The `type` attribute; `textarea` renders a textarea.
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub help: Option<&'a str>,
    pub error: Option<&'a str>,
    pub maxlength: Option<u32>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
    /// The keyboard a phone shows (`decimal`, `email`…) for a text input.
    pub inputmode: Option<&'a str>,
    pub placeholder: Option<&'a str>,
    pub readonly: bool,
}

pub fn input_id(name: &str) -> String {
    format!("f-{name}")
}

/// The ids that `aria-describedby` should name for a control with this help and error.
fn described_by(id: &str, help: bool, error: bool) -> Option<String> {
    let ids: Vec<String> = [(help, "help"), (error, "error")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, suffix)| format!("{id}-{suffix}"))
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

impl Input<'_> {
    pub fn render(&self, lang: Lang) -> Markup {
        let id = input_id(self.name);
        let describe = described_by(&id, self.help.is_some(), self.error.is_some());
        let invalid = self.error.map(|_| "true");
        html! {
            div.field.has-error[self.error.is_some()] {
                (label(&id, self.label, self.required, lang))
                @if self.kind == "textarea" {
                    textarea id=(id) name=(self.name) rows="4" required[self.required] readonly[self.readonly]
                        maxlength=[self.maxlength] placeholder=[self.placeholder]
                        aria-describedby=[describe] aria-invalid=[invalid] { (self.value) }
                } @else {
                    input id=(id) type=(self.kind) name=(self.name) value=(self.value) required[self.required]
                        readonly[self.readonly] maxlength=[self.maxlength] min=[self.min.as_deref()]
                        max=[self.max.as_deref()] step=[self.step] autocomplete=[self.autocomplete] inputmode=[self.inputmode]
                        placeholder=[self.placeholder] aria-describedby=[describe] aria-invalid=[invalid];
                }
                (help_and_error(&id, self.help, self.error))
            }
        }
    }
}

/// A `<label>` naming a control, marked when the control is required.
pub fn label(id: &str, text: &str, required: bool, lang: Lang) -> Markup {
    html! {
        label for=(id) {
            (text)
            @if required { " " span.req { (Msg::Required.text(lang)) } }
        }
    }
}

pub fn help_and_error(id: &str, help: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        @if let Some(h) = help { p.help id={ (id) "-help" } { (h) } }
        @if let Some(e) = error { p.field-error id={ (id) "-error" } { (icon(Icon::Alert)) " " (e) } }
    }
}

/// A `<select>` with a label; `options` are (value, text) pairs.
pub fn select(
    name: &str,
    text: &str,
    options: &[(String, String)],
    selected: &str,
    help: Option<&str>,
    error: Option<&str>,
    lang: Lang,
) -> Markup {
    let id = input_id(name);
    let describe = described_by(&id, help.is_some(), error.is_some());
    html! {
        div.field.has-error[error.is_some()] {
            (label(&id, text, false, lang))
            select id=(id) name=(name) aria-describedby=[describe] aria-invalid=[error.map(|_| "true")] {
                @for (value, shown) in options {
                    option value=(value) selected[value == selected] { (shown) }
                }
            }
            (help_and_error(&id, help, error))
        }
    }
}

/// A checkbox with its label beside it and optional help below.
pub fn checkbox(name: &str, value: &str, text: &str, checked: bool, disabled: bool, help: Option<&str>) -> Markup {
    let id = if value == "on" { input_id(name) } else { input_id(&format!("{name}-{value}")) };
    html! {
        div.check {
            input id=(id) type="checkbox" name=(name) value=(value) checked[checked] disabled[disabled]
                aria-describedby=[help.map(|_| format!("{id}-help"))];
            label for=(id) { (text) }
            @if let Some(h) = help { p.help id={ (id) "-help" } { (h) } }
        }
    }
}

pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// A one-button form that POSTs to `action` (state changes are never links).
pub fn post_button(action: &str, token: &str, text: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf(token))
            button type="submit" class=(class) { (text) }
        }
    }
}

pub fn notice_ok(text: &str) -> Markup {
    html! { div.notice.notice-ok role="status" { (icon(Icon::Check)) " " (text) } }
}

pub fn notice_error(text: &str) -> Markup {
    html! { div.notice.notice-error role="alert" { (icon(Icon::Alert)) " " (text) } }
}

pub fn notice_warn(text: &str) -> Markup {
    html! { div.notice.notice-warn { (icon(Icon::Alert)) " " (text) } }
}

/// What a list shows when it has nothing yet, with the next step when there is one.
pub fn empty_state(text: &str, action: Option<(&str, &str)>) -> Markup {
    html! {
        div.empty {
            p { (text) }
            @if let Some((href, label)) = action { a.btn.btn-primary href=(href) { (icon(Icon::Plus)) " " (label) } }
        }
    }
}

/// A link styled as a primary button, for "new …" actions.
pub fn new_button(href: &str, text: &str) -> Markup {
    html! { a.btn.btn-primary href=(href) { (icon(Icon::Plus)) " " (text) } }
}

/// The inline icons. They are decorative; the text beside them carries the meaning.
#[derive(Clone, Copy, Debug)]
pub enum Icon {
    Home,
    Table,
    Users,
    Shield,
    Key,
    Log,
    Plus,
    Check,
    Alert,
    Building,
    Archive,
}

pub fn icon(which: Icon) -> Markup {
    let path = match which {
        Icon::Home => "M3 11l9-8 9 8M5 10v10h5v-6h4v6h5V10",
        Icon::Table => "M3 5h18v14H3zM3 10h18M3 15h18M9 5v14",
        Icon::Users => {
            "M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM2 21v-1a7 7 0 0 1 14 0v1M16 3.5a4 4 0 0 1 0 7M18 14a6 6 0 0 1 4 6v1"
        }
        Icon::Shield => "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z",
        Icon::Key => "M14 10a5 5 0 1 0-4 4.9V21h3v-2h2v-2h2v-3l-3-3z",
        Icon::Log => "M6 3h9l4 4v14H6zM9 9h6M9 13h6M9 17h4",
        Icon::Plus => "M12 5v14M5 12h14",
        Icon::Check => "M5 12l5 5 9-10",
        Icon::Alert => "M12 3l10 18H2zM12 10v5M12 18v.5",
        Icon::Building => "M4 21V4h10v17M14 9h6v12M8 8h2M8 12h2M8 16h2M2 21h20",
        Icon::Archive => "M3 4h18v4H3zM5 8v12h14V8M10 12h4",
    };
    html! {
        svg.icon xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="18" height="18" fill="none"
            stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"
            aria-hidden="true" focusable="false" { path d=(path) {} }
    }
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=2` from the pairs with non-empty values ("" when none).
pub fn query(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> =
        pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", enc(v))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            query(&[("q", "山田 & co"), ("sort", ""), ("page", "2")]),
            "?q=%E5%B1%B1%E7%94%B0%20%26%20co&page=2"
        );
        assert_eq!(query(&[("q", "")]), "");
    }

    #[test]
    fn user_text_is_escaped() {
        let html = Input { name: "x", label: "<b>", kind: "text", value: "\"><script>", ..Input::default() }
            .render(Lang::En)
            .into_string();
        assert!(!html.contains("<script>") && !html.contains("<b>"), "{html}");
    }
}
