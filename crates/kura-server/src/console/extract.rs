//! Request extractors of the consoles: who is signed in and in which language ([`Ctx`],
//! [`OpCtx`]), and posted forms that are proven genuine ([`Posted`], [`OpPosted`]): sent from
//! this site (`Origin`) and carrying the session's CSRF token.

use super::i18n::Lang;
use super::msg::Msg;
use crate::auth::{
    ClientInfo, OperatorPrincipal, TenantPrincipal, client_info, resolve_operator_cookie, resolve_tenant_cookie,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// A confirmation carried in the `done` query parameter after a successful POST (there is no
/// server-side flash state). Only these known values are shown; nothing is reflected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Done {
    Created,
    Saved,
    Deleted,
    Revoked,
    PasswordChanged,
    SessionEnded,
    OthersEnded,
    Unlocked,
    SignedOut,
    Imported,
    LinkSent,
    Suspended,
    Resumed,
    AddressesReset,
    NoAddresses,
    FactorRemoved,
    FactorsReset,
    PasskeyAdded,
    BulkUpdated,
    BulkDeleted,
    BackupTaken,
    KeystoreBackupTaken,
    BackupVerified,
    DrillPassed,
    BreakGlassStarted,
    BreakGlassRequested,
    BreakGlassEnded,
    BreakGlassApproved,
    BreakGlassRefused,
    BackupKeyRotated,
}

impl Done {
    fn parse(query: &str) -> Option<Self> {
        query.split('&').find_map(|kv| match kv {
            "done=created" => Some(Self::Created),
            "done=saved" => Some(Self::Saved),
            "done=deleted" => Some(Self::Deleted),
            "done=revoked" => Some(Self::Revoked),
            "done=password" => Some(Self::PasswordChanged),
            "done=ended" => Some(Self::SessionEnded),
            "done=others" => Some(Self::OthersEnded),
            "done=unlocked" => Some(Self::Unlocked),
            "done=signedout" => Some(Self::SignedOut),
            "done=imported" => Some(Self::Imported),
            "done=linksent" => Some(Self::LinkSent),
            "done=suspended" => Some(Self::Suspended),
            "done=resumed" => Some(Self::Resumed),
            "done=addresses" => Some(Self::AddressesReset),
            "done=noaddresses" => Some(Self::NoAddresses),
            "done=factorremoved" => Some(Self::FactorRemoved),
            "done=factorsreset" => Some(Self::FactorsReset),
            "done=passkeyadded" => Some(Self::PasskeyAdded),
            "done=bulkupdated" => Some(Self::BulkUpdated),
            "done=bulkdeleted" => Some(Self::BulkDeleted),
            "done=backuptaken" => Some(Self::BackupTaken),
            "done=keystorebackuptaken" => Some(Self::KeystoreBackupTaken),
            "done=backupverified" => Some(Self::BackupVerified),
            "done=drillpassed" => Some(Self::DrillPassed),
            "done=bgstarted" => Some(Self::BreakGlassStarted),
            "done=bgrequested" => Some(Self::BreakGlassRequested),
            "done=bgended" => Some(Self::BreakGlassEnded),
            "done=bgapproved" => Some(Self::BreakGlassApproved),
            "done=bgrefused" => Some(Self::BreakGlassRefused),
            "done=backupkeyrotated" => Some(Self::BackupKeyRotated),
            _ => None,
        })
    }
    pub fn msg(self) -> Msg {
        match self {
            Self::Created => Msg::DoneCreated,
            Self::Saved => Msg::DoneSaved,
            Self::Deleted => Msg::DoneDeleted,
            Self::Revoked => Msg::DoneRevoked,
            Self::PasswordChanged => Msg::PasswordChanged,
            Self::SessionEnded => Msg::SessionEnded,
            Self::OthersEnded => Msg::OthersEnded,
            Self::Unlocked => Msg::UnlockedDone,
            Self::SignedOut => Msg::ForcedLogoutDone,
            Self::Imported => Msg::ImportDone,
            Self::LinkSent => Msg::SetupLinkResent,
            Self::Suspended => Msg::DoneSuspended,
            Self::Resumed => Msg::DoneResumed,
            Self::AddressesReset => Msg::ResetAddressesDone,
            Self::NoAddresses => Msg::ResetAddressesNone,
            Self::FactorRemoved => Msg::FactorRemoved,
            Self::FactorsReset => Msg::FactorsResetDone,
            Self::PasskeyAdded => Msg::PasskeyAdded,
            Self::BulkUpdated => Msg::DoneBulkUpdated,
            Self::BulkDeleted => Msg::DoneBulkDeleted,
            Self::BackupTaken => Msg::DoneBackupTaken,
            Self::KeystoreBackupTaken => Msg::DoneKeystoreBackupTaken,
            Self::BackupVerified => Msg::DoneBackupVerified,
            Self::DrillPassed => Msg::DoneDrillPassed,
            Self::BreakGlassStarted => Msg::DoneBreakGlassStarted,
            Self::BreakGlassRequested => Msg::DoneBreakGlassRequested,
            Self::BreakGlassEnded => Msg::DoneBreakGlassEnded,
            Self::BreakGlassApproved => Msg::DoneBreakGlassApproved,
            Self::BreakGlassRefused => Msg::DoneBreakGlassRefused,
            Self::BackupKeyRotated => Msg::DoneBackupKeyRotated,
        }
    }
}

/// What every page of the tenant console needs: the signed-in principal and the language.
#[derive(Debug)]
pub struct Ctx {
    pub p: TenantPrincipal,
    /// The banner about the contract's end (TEN-4), when there is one for this person.
    pub contract: Option<crate::service::tenant_access::ContractNotice>,
    /// Break-glass access in force, and requests waiting for approval (IAM-13).
    pub break_glass: crate::service::break_glass::Banner,
    pub lang: Lang,
    /// This request's path and query, where the language switch returns to.
    pub here: String,
    pub done: Option<Done>,
}

impl Ctx {
    pub fn t(&self, m: Msg) -> &'static str {
        m.text(self.lang)
    }
    pub fn csrf(&self) -> &str {
        self.p.csrf_token().unwrap_or_default()
    }
    /// An instant in the tenant's time zone, with the zone's abbreviation (LOG-4).
    pub fn time(&self, ts: jiff::Timestamp) -> String {
        kura_domain::format_in_zone(ts, &self.p.tenant().time_zone)
    }
}

/// This request's path and query, without a one-time `done` confirmation.
fn here(parts: &Parts) -> String {
    let path = parts.uri.path();
    let kept: Vec<&str> =
        parts.uri.query().unwrap_or("").split('&').filter(|kv| !kv.is_empty() && !kv.starts_with("done=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

fn done(parts: &Parts) -> Option<Done> {
    parts.uri.query().and_then(Done::parse)
}

/// Signed-out visitors are sent to the sign-in page; other failures become error pages.
fn reject(e: AppError, login: &'static str) -> Response {
    match e {
        AppError::Unauthenticated => Redirect::to(login).into_response(),
        other => other.into_response(),
    }
}

/// Where a user who must choose a new password may still go.
const WHILE_CHANGING_PASSWORD: [&str; 3] = ["/console/account/password", "/console/logout", "/console/lang"];

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let p = resolve_tenant_cookie(state, parts).await.map_err(|e| reject(e, "/console/login"))?;
        if p.password_change_required() && !WHILE_CHANGING_PASSWORD.contains(&parts.uri.path()) {
            return Err(Redirect::to("/console/account/password").into_response());
        }
        let administrator = p.role().key.as_str() == kura_domain::BuiltinRole::TenantAdmin.key();
        let contract = crate::service::tenant_access::contract_notice(state, p.tenant(), administrator);
        let break_glass = crate::service::break_glass::banner(state, p.tenant().id).await;
        Ok(Self {
            p,
            contract,
            break_glass,
            lang: Lang::from_headers(&parts.headers),
            here: here(parts),
            done: done(parts),
        })
    }
}

/// The operator console's counterpart of [`Ctx`].
#[derive(Debug)]
pub struct OpCtx {
    pub p: OperatorPrincipal,
    pub lang: Lang,
    pub here: String,
    pub done: Option<Done>,
}

impl OpCtx {
    pub fn t(&self, m: Msg) -> &'static str {
        m.text(self.lang)
    }
}

impl FromRequestParts<AppState> for OpCtx {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let p = resolve_operator_cookie(state, parts).await.map_err(|e| reject(e, "/operator/login"))?;
        let allowed = ["/operator/account/password", "/operator/logout"];
        if p.password_change_required && !allowed.contains(&parts.uri.path()) {
            return Err(Redirect::to("/operator/account/password").into_response());
        }
        Ok(Self { p, lang: Lang::from_headers(&parts.headers), here: here(parts), done: done(parts) })
    }
}

/// The fields of a submitted form, in order; repeated names (checkboxes) are kept.
#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }
    /// The first value of `name`, trimmed, when not blank.
    pub fn opt(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|s| !s.is_empty())
    }
    /// Every name and value, in the order sent.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// Refuses a POST whose `Origin` is present and is neither this request's host nor the
/// configured public URL (behind a proxy that rewrites `Host`, the latter is what browsers send).
/// The host is the `Host` header, or over HTTP/2, which has none, the `:authority` that the
/// request's URI carries.
pub fn check_origin(headers: &HeaderMap, uri: &axum::http::Uri, public_url: Option<&str>) -> AppResult<()> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let origin = origin.to_str().map_err(|_| AppError::Csrf)?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| uri.authority().map(|a| a.as_str()));
    let same_host = host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"));
    let public = public_url.and_then(origin_of).is_some_and(|p| p.eq_ignore_ascii_case(origin));
    if same_host || public { Ok(()) } else { Err(AppError::Csrf) }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

/// Compares the form's `_csrf` field with the session's token in constant time.
fn check_token(expected: &str, form: &FormData) -> AppResult<()> {
    if !expected.is_empty() && kura_crypto::ct_eq(expected.as_bytes(), form.get("_csrf").as_bytes()) {
        Ok(())
    } else {
        Err(AppError::Csrf)
    }
}

async fn read_form(req: Request, state: &AppState) -> AppResult<FormData> {
    match axum::Form::<Vec<(String, String)>>::from_request(req, state).await {
        Ok(axum::Form(pairs)) => Ok(FormData(pairs)),
        Err(FormRejection::BytesRejection(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(AppError::TooLarge(state.settings.limits.max_body_bytes))
        }
        Err(FormRejection::InvalidFormContentType(_)) => {
            Err(AppError::UnsupportedMedia("send the form as application/x-www-form-urlencoded".into()))
        }
        Err(e) => Err(AppError::BadRequest(format!("the form could not be read: {}", e.body_text()))),
    }
}

/// A form posted from a page of the tenant console by its signed-in user.
#[derive(Debug)]
pub struct Posted {
    pub ctx: Ctx,
    pub form: FormData,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        // The session first, so that a refused post is attributed to whoever it was sent as.
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        check_origin(&parts.headers, &parts.uri, state.settings.public_url.as_deref())
            .map_err(IntoResponse::into_response)?;
        let form = read_form(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        check_token(ctx.csrf(), &form).map_err(IntoResponse::into_response)?;
        Ok(Self { ctx, form })
    }
}

/// A file upload (`multipart/form-data`) from a page of the tenant console: the same session,
/// origin and CSRF checks as [`Posted`], the form's text fields (64 KiB each at most), and the
/// file, streamed to a spool on disk (at most `limits.import_max_bytes`; `None` when no file was
/// chosen).
#[derive(Debug)]
pub struct Uploaded {
    pub ctx: Ctx,
    pub form: FormData,
    pub file: Option<crate::service::transfer::upload::Upload>,
}

/// The largest text field of an upload form.
const UPLOAD_FIELD_MAX: usize = 64 * 1024;

impl FromRequest<AppState> for Uploaded {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = Ctx::from_request_parts(&mut parts, state).await?;
        check_origin(&parts.headers, &parts.uri, state.settings.public_url.as_deref())
            .map_err(IntoResponse::into_response)?;
        let max = state.settings.limits.import_max_bytes;
        let boundary = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| multer::parse_boundary(v).ok());
        let Some(boundary) = boundary else {
            // A plain form (no file): read as any other, so that the handler decides, starting
            // with the permission, and says that the file is missing.
            let form = read_form(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
            check_token(ctx.csrf(), &form).map_err(IntoResponse::into_response)?;
            return Ok(Self { ctx, form, file: None });
        };
        // The whole form may hold the file and a few small fields; the global body limit does not
        // apply to an upload (it is read here, not by an extractor), this one does.
        let limits =
            multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream((max + 64 * 1024) as u64));
        let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
        let mut pairs = Vec::new();
        let mut file = None;
        let unreadable = |e: multer::Error| match e {
            multer::Error::StreamSizeExceeded { .. } => AppError::TooLarge(max).into_response(),
            _ => AppError::BadRequest("the form could not be read".into()).into_response(),
        };
        loop {
            let Some(mut field) = multipart.next_field().await.map_err(unreadable)? else { break };
            let name = field.name().unwrap_or("").to_owned();
            if name == "file" {
                let mut spool = crate::service::transfer::staged::spool(state).map_err(IntoResponse::into_response)?;
                while let Some(c) = field.chunk().await.map_err(unreadable)? {
                    spool.write(&c).map_err(IntoResponse::into_response)?;
                }
                let upload = spool.finish().map_err(IntoResponse::into_response)?;
                // A form sent without choosing a file has an empty file part.
                file = (upload.bytes() > 0).then_some(upload);
                continue;
            }
            let mut bytes = Vec::new();
            while let Some(c) = field.chunk().await.map_err(unreadable)? {
                bytes.extend_from_slice(&c);
                if bytes.len() > UPLOAD_FIELD_MAX {
                    return Err(AppError::BadRequest("a field of the form is too long".into()).into_response());
                }
            }
            pairs.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
        let form = FormData(pairs);
        check_token(ctx.csrf(), &form).map_err(IntoResponse::into_response)?;
        Ok(Self { ctx, form, file })
    }
}

/// A form posted from the operator console by a signed-in operator.
#[derive(Debug)]
pub struct OpPosted {
    pub ctx: OpCtx,
    pub form: FormData,
}

impl FromRequest<AppState> for OpPosted {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let ctx = OpCtx::from_request_parts(&mut parts, state).await?;
        check_origin(&parts.headers, &parts.uri, state.settings.public_url.as_deref())
            .map_err(IntoResponse::into_response)?;
        let form = read_form(Request::from_parts(parts, body), state).await.map_err(IntoResponse::into_response)?;
        check_token(&ctx.p.csrf_token, &form).map_err(IntoResponse::into_response)?;
        Ok(Self { ctx, form })
    }
}

/// A sign-in form: there is no session yet, so only the origin is checked.
#[derive(Debug)]
pub struct LoginPost {
    pub lang: Lang,
    pub client: ClientInfo,
    pub form: FormData,
}

impl FromRequest<AppState> for LoginPost {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        check_origin(req.headers(), req.uri(), state.settings.public_url.as_deref())?;
        let (parts, body) = req.into_parts();
        let lang = Lang::from_headers(&parts.headers);
        let client = client_info(&parts);
        let form = read_form(Request::from_parts(parts, body), state).await?;
        Ok(Self { lang, client, form })
    }
}

/// The language of a request, for pages shown to signed-out visitors.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Lang::from_headers(&parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn origin_must_match_host_when_present() {
        let path = axum::http::Uri::from_static("/console/login");
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("kura.example.jp"));
        assert!(check_origin(&h, &path, None).is_ok(), "no Origin: allowed (older browsers)");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://kura.example.jp"));
        assert!(check_origin(&h, &path, None).is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(check_origin(&h, &path, None).is_err());
        assert!(check_origin(&h, &path, Some("https://kura.example.jp/")).is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&h, &path, None).is_err());
        // Behind a proxy that rewrites Host, the configured public URL is this site.
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://kura.example.jp"));
        assert!(check_origin(&h, &path, None).is_err());
        assert!(check_origin(&h, &path, Some("https://kura.example.jp/")).is_ok());

        // HTTP/2 has no Host header: the host is the request's `:authority`, in its URI.
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_static("https://kura.example.jp"));
        assert!(check_origin(&h, &path, None).is_err(), "no host at all: refused");
        let h2 = axum::http::Uri::from_static("https://kura.example.jp/console/login");
        assert!(check_origin(&h, &h2, None).is_ok());
        let other = axum::http::Uri::from_static("https://127.0.0.1:8443/console/login");
        assert!(check_origin(&h, &other, None).is_err());
    }

    #[test]
    fn csrf_token_must_match() {
        let form = FormData(vec![("_csrf".into(), "abc".into())]);
        assert!(check_token("abc", &form).is_ok());
        assert!(check_token("abd", &form).is_err());
        assert!(check_token("", &FormData::default()).is_err());
    }
}
