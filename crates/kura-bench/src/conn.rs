//! The load generator's connections: each task owns one HTTP/1.1 connection, over TCP or TLS,
//! and sends its next request on it as soon as the previous answer is read, as wrk's
//! connections do.
//!
//! Not a pooled client: reqwest (hyper-util's pool) starts a new connection whenever a request
//! finds its previous connection not yet handed back to the pool, which happens under load when
//! an answer takes more than one read. Over plain TCP that costs little; over TLS every such
//! race is a full handshake on both ends, so a pooled client measured its own reconnections
//! rather than the server (lists over TLS at a fifth of plain HTTP, with the server's CPU spent
//! in key exchanges).

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// A request not answered by then counts as a transport error (and the connection is dropped).
const TIMEOUT: Duration = Duration::from_secs(60);

/// Where a system listens, and how to speak to it.
pub struct Endpoint {
    /// `host:port`, also the `Host` header.
    authority: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Endpoint {
    /// The endpoint of `url` (only its scheme, host and port are used). With `tls_root`, TLS
    /// trusting only that certificate; `resumption` off makes every connection a full handshake.
    pub fn new(url: &str, tls_root: Option<&[u8]>, resumption: bool) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(url).with_context(|| format!("not a URL: {url}"))?;
        let host = url.host_str().context("the URL has no host")?.to_owned();
        let port = url.port_or_known_default().context("the URL has no port")?;
        let tls = match tls_root {
            Some(root) => {
                let config = crate::tls::client_config(root, resumption)?;
                let name = ServerName::try_from(host.clone()).context("the server name")?;
                Some((TlsConnector::from(Arc::new(config)), name))
            }
            None => None,
        };
        Ok(Self { authority: format!("{host}:{port}"), tls })
    }

    /// Opens a connection (and over TLS, completes the handshake).
    pub async fn connect(&self) -> anyhow::Result<Conn> {
        let tcp = TcpStream::connect(&self.authority).await?;
        tcp.set_nodelay(true)?;
        let send = match &self.tls {
            Some((connector, name)) => {
                let stream = connector.connect(name.clone(), tcp).await?;
                let (send, conn) = http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(conn);
                send
            }
            None => {
                let (send, conn) = http1::handshake(TokioIo::new(tcp)).await?;
                tokio::spawn(conn);
                send
            }
        };
        Ok(Conn { send, host: HeaderValue::from_str(&self.authority)? })
    }
}

/// A request of a workload: what to send, the body as JSON.
pub struct Call<'a> {
    pub method: Method,
    /// A full URL of the endpoint; its path and query are sent.
    pub url: Cow<'a, str>,
    pub auth: Option<&'a str>,
    pub json: Option<String>,
}

/// One open HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// Why a call failed: the connection, or reading the answer.
pub enum CallError {
    Transport(String),
    Body(String),
}

impl Conn {
    /// Whether the server (or an error) closed the connection.
    pub fn is_closed(&self) -> bool {
        self.send.is_closed()
    }

    /// Sends `call` and reads the whole answer, within [`TIMEOUT`].
    pub async fn call(&mut self, call: &Call<'_>) -> Result<(StatusCode, Bytes), CallError> {
        tokio::time::timeout(TIMEOUT, self.exchange(call))
            .await
            .unwrap_or_else(|_| Err(CallError::Transport(format!("no answer within {} s", TIMEOUT.as_secs()))))
    }

    async fn exchange(&mut self, call: &Call<'_>) -> Result<(StatusCode, Bytes), CallError> {
        let transport = |e: &dyn std::fmt::Display| CallError::Transport(e.to_string());
        let path = path_and_query(&call.url).ok_or_else(|| transport(&"not a URL"))?;
        let mut builder = Request::builder().method(call.method.clone()).uri(path).header(HOST, self.host.clone());
        if let Some(auth) = call.auth {
            builder = builder.header(AUTHORIZATION, auth);
        }
        let body = match &call.json {
            Some(json) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(json.clone()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = builder.body(body).map_err(|e| transport(&e))?;
        self.send.ready().await.map_err(|e| transport(&e))?;
        let response = self.send.send_request(request).await.map_err(|e| transport(&e))?;
        let status = response.status();
        let bytes = response.into_body().collect().await.map_err(|e| CallError::Body(e.to_string()))?.to_bytes();
        Ok((status, bytes))
    }
}

/// `/path?query` of a full URL.
fn path_and_query(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.find('/').map_or("/", |i| &rest[i..]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn the_path_and_query_of_a_url_are_sent() {
        assert_eq!(
            path_and_query("http://127.0.0.1:8080/api/v1/x?filter=a%3E1&sort=-b"),
            Some("/api/v1/x?filter=a%3E1&sort=-b")
        );
        assert_eq!(path_and_query("https://127.0.0.1:8443"), Some("/"));
        assert_eq!(path_and_query("nonsense"), None);
    }
}
