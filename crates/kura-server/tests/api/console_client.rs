//! A browser-like client of the consoles for the HTTP tests: a cookie jar, no redirects
//! followed, forms posted with the page's CSRF token.

use crate::helpers::TestApp;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, LOCATION};

/// One browser-like visitor: its own cookie jar, redirects not followed.
pub struct Console {
    pub client: reqwest::Client,
    pub base: String,
}

/// A response: status, `Location` and body.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Console {
    pub fn new(app: &TestApp) -> Self {
        let client =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
        Self { client, base: app.address.clone() }
    }

    pub async fn read(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_owned());
        Page { status, location, body: resp.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Page {
        Self::read(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn get_in(&self, path: &str, accept_language: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base)).header(ACCEPT_LANGUAGE, accept_language);
        Self::read(req.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::read(self.client.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()).await
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) {
        let page = self.post("/console/login", &[("tenant", slug), ("email", email), ("password", password)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location.as_deref(), Some("/console"));
    }

    /// Signs an operator in (operators always have a second factor): the password, then the
    /// second step, enrolling the authenticator app on the first sign-in (its secret read from
    /// the page and returned). With `secret`, a code of it is computed a step later than the
    /// last (no replay). Returns where the console sends the operator next, and the secret.
    pub async fn operator_login(
        &self,
        app: &TestApp,
        email: &str,
        password: &str,
        secret: Option<&str>,
    ) -> (String, String) {
        let page = self.post("/operator/login", &[("email", email), ("password", password)]).await;
        assert_eq!(page.location.as_deref(), Some("/operator/login/second-factor"), "{}", page.body);
        self.second_step(app, "/operator/login/second-factor", secret).await
    }

    /// The second step of a sign-in on `path` (after the password), as [`Console::operator_login`].
    pub async fn second_step(&self, app: &TestApp, path: &str, secret: Option<&str>) -> (String, String) {
        let form = self.get(path).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let secret = match secret {
            Some(s) => {
                app.clock.advance(jiff::SignedDuration::from_secs(30));
                s.to_owned()
            }
            None => totp_secret_of(&form.body),
        };
        let code = totp_now(app, &secret);
        let done = self.post(path, &[("code", &code)]).await;
        let next = match done.location {
            Some(l) => l,
            None => {
                assert_eq!(done.status, StatusCode::OK, "{}", done.body);
                assert!(done.body.contains("id=\"recovery-codes\""), "{}", done.body);
                attr_in_tag(&done.body, "btn btn-primary", "href")
            }
        };
        (next, secret)
    }

    /// Opens `page`, then posts `fields` plus the page's CSRF token to `action`.
    pub async fn submit(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let token = csrf_of(&self.get(page).await.body);
        let mut form = fields.to_vec();
        form.push(("_csrf", &token));
        self.post(action, &form).await
    }
}

/// The value of attribute `attr` in the first tag containing `marker`.
pub fn attr_in_tag(html: &str, marker: &str, attr: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} not in page"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    let tag = &html[start..end];
    let needle = format!("{attr}=\"");
    let v = tag.find(&needle).unwrap_or_else(|| panic!("no {attr} in {tag}")) + needle.len();
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

/// The TOTP secret an enrolment page shows.
pub fn totp_secret_of(html: &str) -> String {
    let at = html.find("id=\"totp-secret\"").expect("an enrolment page");
    let start = at + html[at..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

/// The code an authenticator app shows now (the application's clock) for `secret`.
pub fn totp_now(app: &TestApp, secret: &str) -> String {
    let secret = kura_crypto::TotpSecret::from_base32(secret).expect("base32 secret");
    secret.code_at(u64::try_from(kura_domain::Clock::now(&*app.clock).as_second()).unwrap())
}

pub fn csrf_of(html: &str) -> String {
    attr_in_tag(html, "name=\"_csrf\"", "value")
}

/// Runs of three or more English words in the visible text of `html` (tags, attribute values and
/// `<code>` left out): on a Japanese page, a message that reached it untranslated. Values people
/// entered are Japanese, addresses or codes in the tests that use this. A tag ends a run, and so
/// does any character that is neither a letter, a space nor punctuation.
pub fn english_sentences(html: &str) -> Vec<String> {
    // Text between tags (a tag as a line break), without `<code>…</code>`, `<title>`, `<style>`.
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        text.push('\n');
        let tag = &rest[open..];
        let skip_to =
            ["<code", "<title", "<style"].iter().find(|t| tag.starts_with(**t)).map(|t| format!("</{}>", &t[1..]));
        rest = match skip_to {
            Some(close) => tag.find(&close).map_or("", |end| &tag[end + close.len()..]),
            None => tag.find('>').map_or("", |end| &tag[end + 1..]),
        };
    }
    text.push_str(rest);
    // Words are separated by spaces; a word of English is letters only, once punctuation around
    // it is taken off (addresses, codes and numbers are not). Anything else, and every tag, ends
    // a run of words.
    let mut found = Vec::new();
    for line in text.split('\n') {
        let mut run: Vec<&str> = Vec::new();
        for token in line.split(' ').chain([""]) {
            let word = token
                .trim_matches(|c: char| matches!(c, ',' | '.' | ':' | ';' | '(' | ')' | '“' | '”' | '"' | '!' | '?'));
            if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'') {
                run.push(word);
                continue;
            }
            if run.len() >= 3 {
                found.push(run.join(" "));
            }
            run.clear();
        }
    }
    found
}

#[test]
fn english_sentences_are_found_outside_code() {
    let html = "<p>絞り込み条件： invalid query: a quoted value is not closed</p><code>points is at least</code>\
                <p>Kura で English を選ぶ</p><td>admin@acme.example.jp</td><p>one two</p><p>three</p>";
    assert_eq!(english_sentences(html), ["invalid query a quoted value is not closed"]);
}
