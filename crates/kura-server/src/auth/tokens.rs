//! Text forms of bearer secrets. Each carries the scope it belongs to (a tenant id, or the nil
//! UUID for operators) so that lookups stay within one tenant's rows — no global token index.
//!
//! - session: `<scope uuid, 32 hex>.<secret>`
//! - API key: `kura_<tenant uuid, 32 hex>_<secret>`
//! - break-glass support session (IAM-13): `kurabg_<tenant uuid>_<access uuid>_<secret>`

use kura_crypto::SecretToken;
use uuid::Uuid;

pub fn session_token(scope: Uuid, secret: &SecretToken) -> String {
    format!("{}.{}", scope.simple(), secret.expose())
}

pub fn parse_session_token(token: &str) -> Option<(Uuid, SecretToken)> {
    let (scope, secret) = token.split_once('.')?;
    if scope.len() != 32 || secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((Uuid::try_parse(scope).ok()?, SecretToken::from_client(secret)))
}

pub fn api_key_token(tenant: Uuid, secret: &SecretToken) -> String {
    format!("kura_{}_{}", tenant.simple(), secret.expose())
}

pub fn parse_api_key_token(token: &str) -> Option<(Uuid, SecretToken)> {
    let rest = token.strip_prefix("kura_")?;
    let (tenant, secret) = rest.split_at_checked(32)?;
    let secret = secret.strip_prefix('_')?;
    if secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((Uuid::try_parse(tenant).ok()?, SecretToken::from_client(secret)))
}

pub fn support_token(tenant: Uuid, access: Uuid, secret: &SecretToken) -> String {
    format!("kurabg_{}_{}_{}", tenant.simple(), access.simple(), secret.expose())
}

/// The tenant, the break-glass access and the secret of a support session's token.
pub fn parse_support_token(token: &str) -> Option<(Uuid, Uuid, SecretToken)> {
    let rest = token.strip_prefix("kurabg_")?;
    let (tenant, rest) = rest.split_at_checked(32)?;
    let (access, secret) = rest.strip_prefix('_')?.split_at_checked(32)?;
    let secret = secret.strip_prefix('_')?;
    if secret.is_empty() || secret.len() > 128 {
        return None;
    }
    Some((Uuid::try_parse(tenant).ok()?, Uuid::try_parse(access).ok()?, SecretToken::from_client(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_refuse_garbage() {
        let t = Uuid::now_v7();
        let s = SecretToken::generate();
        let (scope, back) = parse_session_token(&session_token(t, &s)).unwrap();
        assert_eq!((scope, back.expose()), (t, s.expose()));
        let (scope, back) = parse_api_key_token(&api_key_token(t, &s)).unwrap();
        assert_eq!((scope, back.expose()), (t, s.expose()));
        let a = Uuid::now_v7();
        let (tenant, access, back) = parse_support_token(&support_token(t, a, &s)).unwrap();
        assert_eq!((tenant, access, back.expose()), (t, a, s.expose()));
        assert!(parse_support_token(&api_key_token(t, &s)).is_none());
        assert!(parse_api_key_token(&support_token(t, a, &s)).is_none());
        for bad in ["", ".", "abc.def", "kura_", "kura_xyz_abc", &format!("{}.", t.simple())] {
            assert!(parse_session_token(bad).is_none() || bad.is_empty());
            assert!(parse_api_key_token(bad).is_none());
        }
    }
}
