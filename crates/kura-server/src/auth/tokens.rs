//! Text forms of bearer secrets. Each carries the scope it belongs to (a tenant id, or the nil
//! UUID for operators) so that lookups stay within one tenant's rows — no global token index.
//!
//! - session: `<scope uuid, 32 hex>.<secret>`
//! - API key: `kura_<tenant uuid, 32 hex>_<secret>`

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
        for bad in ["", ".", "abc.def", "kura_", "kura_xyz_abc", &format!("{}.", t.simple())] {
            assert!(parse_session_token(bad).is_none() || bad.is_empty());
            assert!(parse_api_key_token(bad).is_none());
        }
    }
}
