//! A minimal W3C WebDriver client for the browser tests: starts Debian's `chromedriver` on a free
//! local port, opens one headless Chromium session with a fresh profile, and speaks plain HTTP to
//! it with `reqwest`. Methods panic with context on failure, which is what a test wants.
//!
//! [`Browser::launch`] returns `None` (the test should skip) when `chromedriver` is not installed,
//! unless `KURA_REQUIRE_BROWSER` is set, in which case it panics: CI sets it so that the browser
//! test can never be skipped silently.

// Not every test binary calls every method.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const CHROME_ARGS: &str = "--headless=new --no-sandbox --disable-gpu --disable-background-networking \
    --disable-dev-shm-usage --disable-component-update --disable-sync --no-first-run \
    --window-size=1280,900 --lang=en-US";
const FIND_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);

/// One headless Chromium session driven through its own `chromedriver` process.
#[derive(Debug)]
pub struct Browser {
    wd: Endpoint,
    port: u16,
    session: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element {
    wd: Endpoint,
    css: String,
}

/// The chromedriver process, killed when dropped (also when `launch` panics half-way).
#[derive(Debug)]
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A WebDriver URL prefix (the server, a session or an element) and the client to call it with.
#[derive(Debug, Clone)]
struct Endpoint {
    http: reqwest::Client,
    url: String,
}

impl Endpoint {
    /// Sends one command; returns its `value`, or `Err("<error code>: <message> …")`.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.url);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let context = |e: reqwest::Error| format!("transport: {method} {url}: {e}");
        let response = request.send().await.map_err(context)?;
        let status = response.status();
        let mut reply: Value = response.json().await.map_err(context)?;
        let value = reply.get_mut("value").map(Value::take).unwrap_or_default();
        if status.is_success() {
            return Ok(value);
        }
        let code = value["error"].as_str().unwrap_or("unknown error");
        let message = value["message"].as_str().unwrap_or_default();
        Err(format!("{code}: {message} ({method} {url}, HTTP {status})"))
    }

    fn at(&self, path: &str) -> Endpoint {
        Endpoint { http: self.http.clone(), url: format!("{}{path}", self.url) }
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        self.send(Method::POST, path, Some(body)).await
    }
}

fn find_chromedriver() -> Option<PathBuf> {
    let usr = PathBuf::from("/usr/bin/chromedriver");
    if usr.is_file() {
        return Some(usr);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("chromedriver")).find(|p| p.is_file())
}

fn by_css(css: &str) -> Value {
    json!({ "using": "css selector", "value": css })
}

fn string(value: Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `None` when the browser test should skip.
    pub async fn launch() -> Option<Browser> {
        Self::launch_with(&[], None).await
    }

    /// [`Browser::launch`] with downloads saved in `dir` without asking.
    pub async fn launch_downloading(dir: &Path) -> Option<Browser> {
        let prefs = json!({
            "download.default_directory": dir.display().to_string(),
            "download.prompt_for_download": false,
        });
        Self::launch_with(&[], Some(prefs)).await
    }

    /// [`Browser::launch`] with Chromium trusting the server certificate whose public key has
    /// `pin` ([`kura_crypto::x509::spki_pin_sha256`]) and no other that its own store lacks.
    pub async fn launch_trusting(pin: &str) -> Option<Browser> {
        Self::launch_with(&[format!("--ignore-certificate-errors-spki-list={pin}")], None).await
    }

    async fn launch_with(extra: &[String], prefs: Option<Value>) -> Option<Browser> {
        let Some(chromedriver) = find_chromedriver() else {
            if std::env::var_os("KURA_REQUIRE_BROWSER").is_some() {
                panic!(
                    "KURA_REQUIRE_BROWSER is set but chromedriver was not found; \
                     install chromium and chromium-driver"
                );
            }
            eprintln!("browser test skipped: chromedriver not found (install chromium and chromium-driver)");
            return None;
        };
        let listener = TcpListener::bind("127.0.0.1:0").expect("pick a free port for chromedriver");
        let port = listener.local_addr().expect("local address").port();
        drop(listener);
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let mut driver = Driver(child);
        crate::helpers::install_ring();
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(60)).build();
        let server = Endpoint { http: http.expect("WebDriver HTTP client"), url: format!("http://127.0.0.1:{port}") };

        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let status = server.get("/status").await;
            if matches!(&status, Ok(v) if v["ready"] == json!(true)) {
                break;
            }
            if let Ok(Some(exit)) = driver.0.try_wait() {
                panic!("chromedriver exited early ({exit}) on port {port}");
            }
            assert!(Instant::now() < deadline, "chromedriver on port {port} not ready: {status:?}");
            tokio::time::sleep(POLL).await;
        }

        let profile = tempfile::tempdir().expect("create a Chromium profile directory");
        let mut args: Vec<String> = CHROME_ARGS.split_whitespace().map(String::from).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend(extra.iter().cloned());
        let mut options = json!({ "args": args });
        if let Some(prefs) = prefs {
            options["prefs"] = prefs;
        }
        if Path::new("/usr/bin/chromium").is_file() {
            options["binary"] = json!("/usr/bin/chromium");
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": { "goog:chromeOptions": options } } });
        let created = server.post("/session", capabilities).await;
        let Some(session) = created.as_ref().ok().and_then(|v| v["sessionId"].as_str()) else {
            panic!("could not create a Chromium session: {created:?}");
        };
        let wd = server.at(&format!("/session/{session}"));
        let browser = Browser { wd, port, session: session.to_owned(), _driver: driver, _profile: profile };
        browser.ok(browser.wd.post("/timeouts", json!({ "pageLoad": 30_000, "script": 10_000 })).await);
        Some(browser)
    }

    fn ok(&self, result: Result<Value, String>) -> Value {
        result.unwrap_or_else(|e| panic!("WebDriver: {e}"))
    }

    fn element(&self, value: &Value, css: &str) -> Element {
        let Some(id) = value.get(ELEMENT_KEY).and_then(Value::as_str) else {
            panic!("WebDriver: not an element reference for {css:?}: {value}");
        };
        let wd = self.wd.at(&format!("/element/{id}"));
        Element { wd, css: css.to_owned() }
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.ok(self.wd.post("/url", json!({ "url": url })).await);
    }

    pub async fn current_url(&self) -> String {
        string(self.ok(self.wd.get("/url").await))
    }

    pub async fn page_source(&self) -> String {
        string(self.ok(self.wd.get("/source").await))
    }

    /// The first element matching `css`, retrying for a few seconds while it is not present yet.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + FIND_TIMEOUT;
        loop {
            match self.wd.post("/element", by_css(css)).await {
                Ok(value) => return self.element(&value, css),
                Err(e) if e.starts_with("no such element") && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => panic!("find {css:?} on {}: {e}", self.current_url().await),
            }
        }
    }

    /// All elements matching `css` right now (possibly none).
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self.ok(self.wd.post("/elements", by_css(css)).await);
        found.as_array().into_iter().flatten().map(|v| self.element(v, css)).collect()
    }

    /// Picks `<option value="value">` inside the `<select>` matching `css_select`.
    pub async fn select_option(&self, css_select: &str, value: &str) {
        let select = self.find(css_select).await;
        let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
        let css = format!("option[value=\"{escaped}\"]");
        match select.wd.post("/element", by_css(&css)).await {
            Ok(option) => self.element(&option, &css).click().await,
            Err(e) => panic!("select {value:?} in {css_select:?}: {e}"),
        }
    }

    /// Polls until an element matching `css` has text containing `needle`; returns that text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            seen.clear();
            let found = self.wd.post("/elements", by_css(css)).await.unwrap_or_default();
            for value in found.as_array().into_iter().flatten() {
                let Some(id) = value.get(ELEMENT_KEY).and_then(Value::as_str) else {
                    continue;
                };
                if let Ok(Value::String(text)) = self.wd.get(&format!("/element/{id}/text")).await {
                    if text.contains(needle) {
                        return text;
                    }
                    seen.push(text);
                }
            }
            tokio::time::sleep(POLL).await;
        }
        let url = self.current_url().await;
        panic!("no {css:?} with text {needle:?} after {WAIT_TIMEOUT:?} on {url}; saw {seen:?}")
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// result. WebDriver runs it outside the page's content security policy.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.ok(self.wd.post("/execute/sync", json!({ "script": script, "args": args })).await)
    }

    /// Resizes the window (the viewport is a little smaller than the window).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.ok(self.wd.post("/window/rect", json!({ "width": width, "height": height })).await);
    }

    /// Adds a virtual authenticator to the session (WebDriver's WebAuthn extension): a platform
    /// authenticator over CTAP2 that verifies its user and consents to every request, as a
    /// device with a fingerprint reader would. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> String {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserConsenting": true,
            "isUserVerified": true,
        });
        string(self.ok(self.wd.post("/webauthn/authenticator", options).await))
    }

    /// The credentials a virtual authenticator holds, with their sign counts.
    pub async fn virtual_credentials(&self, authenticator: &str) -> Vec<Value> {
        let path = format!("/webauthn/authenticator/{authenticator}/credentials");
        self.ok(self.wd.get(&path).await).as_array().cloned().unwrap_or_default()
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot_png(&self, path: impl AsRef<Path>) {
        let data = string(self.ok(self.wd.get("/screenshot").await));
        let png = base64::engine::general_purpose::STANDARD.decode(data).expect("screenshot is base64");
        let path = path.as_ref();
        std::fs::write(path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    /// Best effort: delete the session so Chromium exits, with a blocking request (Drop cannot
    /// await); the `Driver` field then kills chromedriver.
    fn drop(&mut self) {
        let addr = ([127, 0, 0, 1], self.port).into();
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let (session, port) = (&self.session, self.port);
        let request =
            format!("DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_ok() {
            // chromedriver answers once Chromium has quit; it may keep the connection open.
            let _ = stream.read(&mut [0; 1024]);
        }
    }
}

impl Element {
    fn ok(&self, result: Result<Value, String>) -> Value {
        result.unwrap_or_else(|e| panic!("element {:?}: {e}", self.css))
    }

    pub async fn click(&self) {
        self.ok(self.wd.post("/click", json!({})).await);
    }

    /// Types `text` into the element, after what is already there (see [`Element::clear`]).
    pub async fn send_keys(&self, text: &str) {
        self.ok(self.wd.post("/value", json!({ "text": text })).await);
    }

    pub async fn clear(&self) {
        self.ok(self.wd.post("/clear", json!({})).await);
    }

    /// The rendered (visible) text.
    pub async fn text(&self) -> String {
        string(self.ok(self.wd.get("/text").await))
    }

    /// An attribute as written in the HTML, or `None` when absent. An input's live value is the
    /// `value` property: [`Element::prop`].
    pub async fn attr(&self, name: &str) -> Option<String> {
        self.ok(self.wd.get(&format!("/attribute/{name}")).await).as_str().map(str::to_owned)
    }

    /// A DOM property as a string (`value`, `checked`…), or `None` when null or undefined.
    pub async fn prop(&self, name: &str) -> Option<String> {
        match self.ok(self.wd.get(&format!("/property/{name}")).await) {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }
}
