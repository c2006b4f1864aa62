//! An organization's own OpenID Connect provider: its keys, fetched from its JWKS URL (or
//! given inline) and kept per provider, and its tokens verified against them and nothing else.
//!
//! Keys are kept for `IDENTITY_PROVIDER_KEYS_SECONDS`; a token signed with a key ID the kept set
//! lacks fetches the set again (the provider rotated its keys), at most once per
//! `IDENTITY_PROVIDER_REFETCH_SECONDS`. A provider that cannot be reached when its keys are
//! needed fails closed: the token is refused with the reason, never let through on old keys
//! past their time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use uuid::Uuid;

use entity::identity_provider;

/// Largest JWKS document accepted, in bytes.
const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 30;

/// One verification key of a provider.
#[derive(Clone)]
pub struct Key {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

/// The keys of a JWKS document this server accepts (RS256, ES256, ES384); keys for other
/// algorithms are skipped. Refused when it is not a JWKS or holds no accepted key.
pub fn parse_jwks(text: &str) -> Result<Vec<Key>, String> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let algorithm = match (&jwk.common.key_algorithm, &jwk.algorithm) {
            (Some(KeyAlgorithm::RS256), _) | (None, AlgorithmParameters::RSA(_)) => Algorithm::RS256,
            (Some(KeyAlgorithm::ES256), _) => Algorithm::ES256,
            (Some(KeyAlgorithm::ES384), _) => Algorithm::ES384,
            (None, AlgorithmParameters::EllipticCurve(ec)) => match ec.curve {
                jsonwebtoken::jwk::EllipticCurve::P384 => Algorithm::ES384,
                _ => Algorithm::ES256,
            },
            _ => continue,
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("a key of the JWKS is unusable: {e}"))?;
        keys.push(Key { kid: jwk.common.key_id.clone(), algorithm, key });
    }
    if keys.is_empty() {
        return Err("the JWKS holds no RS256, ES256 or ES384 key".into());
    }
    Ok(keys)
}

/// The keys that may have signed a token with this algorithm and key ID: the key with that ID,
/// else (no ID, or none matches) the keys without an ID; always of that algorithm.
fn candidates<'a>(keys: &'a [Key], alg: Algorithm, kid: Option<&str>) -> Vec<&'a Key> {
    let same_alg = keys.iter().filter(|k| k.algorithm == alg);
    if let Some(kid) = kid {
        let exact: Vec<&Key> = same_alg.clone().filter(|k| k.kid.as_deref() == Some(kid)).collect();
        if !exact.is_empty() {
            return exact;
        }
    }
    same_alg.filter(|k| k.kid.is_none() || kid.is_none()).collect()
}

#[derive(Debug)]
struct Fetched {
    version: i32,
    keys: Arc<Vec<Key>>,
    fetched_at: Instant,
}

/// Every provider's kept keys, and the client that fetches them.
#[derive(Debug)]
pub struct ProviderKeys {
    client: reqwest::Client,
    kept: Mutex<HashMap<Uuid, Fetched>>,
    keep_for: Duration,
    refetch_after: Duration,
}

impl ProviderKeys {
    /// Keys fetched with `client` (which decides where it may connect), kept `keep_for`, fetched
    /// again for an unknown key ID at most once per `refetch_after`.
    pub fn new(client: reqwest::Client, keep_for: Duration, refetch_after: Duration) -> Self {
        ProviderKeys { client, kept: Mutex::new(HashMap::new()), keep_for, refetch_after }
    }

    /// The keys at `url`, fetched now.
    pub async fn fetch(&self, url: &str) -> Result<Vec<Key>, String> {
        let unreachable =
            |e: &dyn std::fmt::Display| format!("the identity provider's keys at {url} could not be fetched: {e}");
        let response = self.client.get(url).send().await.map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(unreachable(&format!("HTTP {}", response.status())));
        }
        let body = response.bytes().await.map_err(|e| unreachable(&e))?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(unreachable(&format!("the document is over {MAX_JWKS_BYTES} bytes")));
        }
        parse_jwks(&String::from_utf8_lossy(&body))
    }

    fn kept(&self, p: &identity_provider::Model) -> Option<(Arc<Vec<Key>>, Instant)> {
        let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(&p.id).filter(|f| f.version == p.version).map(|f| (f.keys.clone(), f.fetched_at))
    }

    /// The provider's keys: inline ones, else kept ones still fresh, else fetched now. With
    /// `again`, fetched now unless the last fetch is younger than the refetch interval.
    async fn keys(&self, p: &identity_provider::Model, again: bool) -> Result<Arc<Vec<Key>>, String> {
        let Some(url) = &p.jwks_url else {
            return parse_jwks(p.jwks.as_deref().unwrap_or_default()).map(Arc::new);
        };
        if let Some((keys, at)) = self.kept(p) {
            let fresh = at.elapsed() < self.keep_for;
            let recent = at.elapsed() < self.refetch_after;
            if fresh && (!again || recent) {
                return Ok(keys);
            }
        }
        let keys = Arc::new(self.fetch(url).await?);
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.insert(p.id, Fetched { version: p.version, keys: keys.clone(), fetched_at: Instant::now() });
        Ok(keys)
    }

    /// Verifies a token against the provider's keys, issuer and audience (signature, `exp`,
    /// `nbf`, `iss`, `aud`, `sub` required); its claims, or why it is refused.
    pub async fn verify(&self, p: &identity_provider::Model, token: &str) -> Result<Map<String, Value>, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is not a JWT".to_owned())?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256 | Algorithm::ES384) {
            return Err(format!("tokens signed with {:?} are not accepted", header.alg));
        }
        let mut keys = self.keys(p, false).await?;
        if candidates(&keys, header.alg, header.kid.as_deref()).is_empty() && p.jwks_url.is_some() {
            // An unknown key ID: the provider may have rotated its keys since they were kept.
            keys = self.keys(p, true).await?;
        }
        let found = candidates(&keys, header.alg, header.kid.as_deref());
        if found.is_empty() {
            return Err("no key of the organization's identity provider signed this token".into());
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[&p.issuer]);
        validation.set_audience(&[&p.audience]);
        let mut refusal = String::new();
        for key in found {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation) {
                Ok(data) => return Ok(data.claims),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    refusal = match e.kind() {
                        ErrorKind::ExpiredSignature => "the token has expired".into(),
                        ErrorKind::ImmatureSignature => "the token is not valid yet".into(),
                        ErrorKind::InvalidIssuer => "the token's issuer is not the organization's provider".into(),
                        ErrorKind::InvalidAudience => "the token is not meant for this organization (audience)".into(),
                        ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the '{c}' claim"),
                        _ => "the token's signature does not verify".into(),
                    };
                }
            }
        }
        Err(refusal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"keys":[{"kty":"RSA","kid":"a","alg":"RS256","use":"sig","n":"y2TRptSWvFgVXcFv_9-bQAHkNvJ9vZfKMb5-W4N9kDhQwWKsCCv1I5UO1MV7ucQo9dFEvQ0K1nk-G-aC9lHOB1AZQ2Ysp7cFA_7OWMQXSsU5AdOIocAbS36I31Oft7DkLkbDH8OPA0nQ2UvxCptTqsNroU9XQYN3SZa94M-40ykCLeE1lSXJHyf4p67FLn-0fwYM5hEd85tP6ytvuT4a9WxJuYhoMisCplfsiq3Y2juXkwqVK2s-Rp6ZhWpHK_eWIeVFGAxsojBBE9CAsVLLK7aR9AXd84Y6AvbMchStyJ5DkxXFimVI8A2qu_6QnNNL5xzSJJIwKZ6UI8W8-vw7pQ","e":"AQAB"}]}"#;

    #[test]
    fn a_jwks_gives_its_accepted_keys_and_nothing_else_passes() {
        let keys = parse_jwks(RSA).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].algorithm, Algorithm::RS256);
        assert!(parse_jwks("{}").is_err(), "no keys member");
        assert!(parse_jwks(r#"{"keys":[]}"#).is_err(), "no key");
        assert!(parse_jwks("not json").is_err());
        let hmac = r#"{"keys":[{"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0"}]}"#;
        assert!(parse_jwks(hmac).unwrap_err().contains("no RS256"), "a shared secret is never a provider key");
    }

    #[test]
    fn candidates_follow_the_key_id_and_the_algorithm() {
        let keys = parse_jwks(RSA).unwrap();
        assert_eq!(candidates(&keys, Algorithm::RS256, Some("a")).len(), 1);
        assert!(candidates(&keys, Algorithm::RS256, Some("b")).is_empty(), "an unknown ID finds no ID'd key");
        assert_eq!(candidates(&keys, Algorithm::RS256, None).len(), 1, "no ID: every key of the algorithm");
        assert!(candidates(&keys, Algorithm::ES256, Some("a")).is_empty(), "never another algorithm's key");
    }
}
