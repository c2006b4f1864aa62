//! Access tokens: HS256 with the configured secret (issued and verified here), and
//! RS256/ES256 from an identity provider's public keys (PEM or JWKS files; verified only).
//!
//! The algorithm a token may use is decided by the key that verifies it, never by the
//! token alone: `alg: none` does not parse, an HS256 token is checked only against the
//! secret, and an RS/ES token only against a public key of that algorithm — so a public
//! key can never be used as an HMAC secret (algorithm confusion).
//!
//! Each public key is bound to the organizations its configuration entry names: what it
//! verifies comes back with that binding ([`Signer`]), and a token naming another organization
//! is refused by the caller once the organization is known. The server's own secret signs for
//! every organization (the server issued those tokens itself).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// The claims Scorebord reads and writes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The member's ID (UUID).
    pub sub: String,
    /// The organization's ID (UUID) or slug.
    pub org: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Set on a consulting firm's staff token (this server signs those only): the firm's ID.
    /// `sub` is then the staff member and `org` the client chosen at sign-in, or empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firm: Option<String>,
}

struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
    /// The organizations this key may sign in to.
    organizations: Arc<[String]>,
}

/// Who signed a verified token, and so which organizations it may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signer {
    /// This server's HS256 secret: the server issued the token, for any organization.
    Server,
    /// An identity provider's key, bound to these organizations (slugs or IDs).
    Provider(Arc<[String]>),
}

impl Signer {
    /// Whether the `org` claim names one of the signer's organizations in the same form (an ID
    /// for an ID, a slug for a slug). `false` does not refuse yet: the claim may name a bound
    /// organization the other way, which [`Signer::may_sign_for`] decides.
    pub fn names(&self, claim: &str) -> bool {
        match self {
            Signer::Server => true,
            Signer::Provider(orgs) => {
                orgs.iter().any(|entry| match (uuid::Uuid::parse_str(entry), uuid::Uuid::parse_str(claim)) {
                    (Ok(a), Ok(b)) => a == b,
                    (Err(_), Err(_)) => entry == claim,
                    _ => false,
                })
            }
        }
    }

    /// Whether the signer may sign in to the organization with this ID and slug. A bound
    /// entry that parses as an ID names an organization by ID only, as the `org` claim does.
    pub fn may_sign_for(&self, id: uuid::Uuid, slug: &str) -> bool {
        match self {
            Signer::Server => true,
            Signer::Provider(orgs) => orgs.iter().any(|entry| match uuid::Uuid::parse_str(entry) {
                Ok(bound) => bound == id,
                Err(_) => entry == slug,
            }),
        }
    }
}

/// A token whose signature, times, issuer and audience were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Its claims.
    pub claims: Claims,
    /// The key that signed it.
    pub signer: Signer,
}

/// The keys this process signs and verifies with.
pub struct JwtKeys {
    secret: Option<(EncodingKey, DecodingKey)>,
    public: Vec<PublicKey>,
    issuer: Option<String>,
    audience: Option<String>,
    /// The longest `exp - iat` (and `exp - now`) accepted and issued.
    max_lifetime: chrono::Duration,
    /// Tokens whose signature, issuer and audience were verified, by their text.
    verified: VerifiedTokens,
}

/// Most verified tokens kept; when full, the memo starts over.
const VERIFIED_CAPACITY: usize = 10_000;
/// Longest token kept (longer ones are verified every time).
const MAX_KEPT_TOKEN_BYTES: usize = 4 * 1024;

/// Tokens this process has verified, by their exact text. A phone or a screen sends the same
/// token with every request, and checking its signature (base64, HMAC or RSA, two JSON
/// parses) cost about 5 % of a rep's phone-home request. What a signature proves depends on
/// the token's text and the keys alone, and both are fixed for a [`JwtKeys`]; the checks that
/// depend on the clock (`exp`, `nbf`, the lifetime bound) run again on every use. Only tokens
/// that passed every check are kept.
#[derive(Default)]
struct VerifiedTokens(std::sync::RwLock<std::collections::HashMap<Box<str>, Verified>>);

impl VerifiedTokens {
    fn get(&self, token: &str) -> Option<Verified> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(token).cloned()
    }

    fn put(&self, token: &str, verified: &Verified) {
        if token.len() > MAX_KEPT_TOKEN_BYTES {
            return;
        }
        let mut kept = self.0.write().unwrap_or_else(|e| e.into_inner());
        if kept.len() >= VERIFIED_CAPACITY {
            kept.clear();
        }
        kept.insert(token.into(), verified.clone());
    }
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("hs256", &self.secret.is_some())
            .field("public_keys", &self.public.len())
            .finish()
    }
}

/// Why a token was refused. Shown to the client (it reveals nothing secret).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, unsupported algorithm, or bad signature.
    #[error("invalid token")]
    Invalid,
    /// Past its `exp`.
    #[error("token expired")]
    Expired,
    /// Before its `nbf`.
    #[error("token not yet valid")]
    NotYetValid,
    /// Wrong `iss` or `aud`.
    #[error("token issuer or audience not accepted")]
    WrongIssuerOrAudience,
    /// No key for this token's algorithm or key ID.
    #[error("no key to verify this token")]
    NoKey,
    /// Valid for longer than the configured maximum lifetime.
    #[error("token lifetime exceeds the allowed maximum")]
    LifetimeTooLong,
}

const LEEWAY_SECONDS: u64 = 30;

impl JwtKeys {
    /// Loads the secret and the public key files named in the configuration.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let secret = config
            .jwt_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| (EncodingKey::from_secret(s.as_bytes()), DecodingKey::from_secret(s.as_bytes())));
        // A file listed twice signs for the organizations of both entries.
        let mut files: Vec<(PathBuf, Vec<String>)> = Vec::new();
        for entry in &config.jwt_public_keys {
            anyhow::ensure!(
                !entry.organizations.is_empty(),
                "JWT_PUBLIC_KEYS entry {} names no organization",
                entry.path.display()
            );
            match files.iter_mut().find(|(path, _)| *path == entry.path) {
                Some((_, orgs)) => orgs.extend(entry.organizations.iter().cloned()),
                None => files.push((entry.path.clone(), entry.organizations.clone())),
            }
        }
        let mut public = Vec::new();
        for (path, organizations) in files {
            public.extend(load_public_keys(&path, organizations.into())?);
        }
        let max_lifetime = i64::try_from(config.max_token_lifetime_seconds)
            .ok()
            .and_then(chrono::Duration::try_seconds)
            .context("MAX_TOKEN_LIFETIME_SECONDS is too large")?;
        Ok(JwtKeys {
            secret,
            public,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            max_lifetime,
            verified: VerifiedTokens::default(),
        })
    }

    /// Whether this process can sign tokens (an HS256 secret is configured).
    pub fn can_issue(&self) -> bool {
        self.secret.is_some()
    }

    /// The longest lifetime a token may have (`MAX_TOKEN_LIFETIME_SECONDS`).
    pub fn max_lifetime(&self) -> chrono::Duration {
        self.max_lifetime
    }

    /// Signs an HS256 access token for a member, valid for `ttl` (positive and at most
    /// [`JwtKeys::max_lifetime`]: a longer one would be refused by every instance anyway).
    pub fn issue(&self, member_id: uuid::Uuid, org_id: uuid::Uuid, ttl: chrono::Duration) -> anyhow::Result<String> {
        self.sign(member_id, org_id.to_string(), None, ttl)
    }

    /// Signs an HS256 access token for a consulting firm's staff member, acting in `client`
    /// when one is chosen, valid for `ttl` (as [`JwtKeys::issue`]).
    pub fn issue_firm(
        &self,
        staff_id: uuid::Uuid,
        firm_id: uuid::Uuid,
        client: Option<uuid::Uuid>,
        ttl: chrono::Duration,
    ) -> anyhow::Result<String> {
        self.sign(staff_id, client.map(|c| c.to_string()).unwrap_or_default(), Some(firm_id.to_string()), ttl)
    }

    fn sign(
        &self,
        sub: uuid::Uuid,
        org: String,
        firm: Option<String>,
        ttl: chrono::Duration,
    ) -> anyhow::Result<String> {
        let (encoding, _) = self.secret.as_ref().context("no JWT_SECRET configured: cannot issue tokens")?;
        if ttl <= chrono::Duration::zero() || ttl > self.max_lifetime {
            anyhow::bail!(
                "a token's lifetime must be more than 0 and at most {} seconds (MAX_TOKEN_LIFETIME_SECONDS)",
                self.max_lifetime.num_seconds()
            );
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_string(),
            org,
            exp: now + ttl.num_seconds(),
            iat: Some(now),
            nbf: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            firm,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding)?)
    }

    /// Verifies signature, `exp`, `nbf`, and `iss`/`aud` when configured. The caller checks that
    /// the [`Signer`] may sign for the organization the token names.
    pub fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    /// [`JwtKeys::verify`] with the clock at `now` for the checks this module makes (a token
    /// not kept yet is checked by jsonwebtoken against the real clock as well).
    fn verify_at(&self, token: &str, now: i64) -> Result<Verified, TokenError> {
        if let Some(kept) = self.verified.get(token) {
            check_clock(&kept.claims, now)?;
            check_lifetime(&kept.claims, now, self.max_lifetime.num_seconds())?;
            return Ok(kept);
        }
        let verified = self.verify_signed(token)?;
        check_lifetime(&verified.claims, now, self.max_lifetime.num_seconds())?;
        self.verified.put(token, &verified);
        Ok(verified)
    }

    /// Signature, `exp`, `nbf`, `iss` and `aud`, by jsonwebtoken.
    fn verify_signed(&self, token: &str) -> Result<Verified, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let candidates: Vec<(&DecodingKey, Signer)> = match header.alg {
            Algorithm::HS256 => self.secret.iter().map(|(_, d)| (d, Signer::Server)).collect(),
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::ES384 => {
                let same_alg = self.public.iter().filter(|k| k.algorithm == header.alg);
                match &header.kid {
                    // The key with that ID, else keys that have no ID (PEM files).
                    Some(kid) => {
                        let exact: Vec<&PublicKey> =
                            same_alg.clone().filter(|k| k.kid.as_deref() == Some(kid)).collect();
                        if exact.is_empty() {
                            same_alg.filter(|k| k.kid.is_none()).map(PublicKey::candidate).collect()
                        } else {
                            exact.into_iter().map(PublicKey::candidate).collect()
                        }
                    }
                    None => same_alg.map(PublicKey::candidate).collect(),
                }
            }
            _ => return Err(TokenError::Invalid),
        };
        if candidates.is_empty() {
            return Err(TokenError::NoKey);
        }

        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        if self.issuer.is_some() {
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let mut outcome = Err(TokenError::Invalid);
        for (key, signer) in candidates {
            outcome = jsonwebtoken::decode::<Claims>(token, key, &validation)
                .map(|data| Verified { claims: data.claims, signer })
                .map_err(|e| {
                    use jsonwebtoken::errors::ErrorKind;
                    match e.kind() {
                        ErrorKind::ExpiredSignature => TokenError::Expired,
                        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => TokenError::WrongIssuerOrAudience,
                        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" || claim == "aud" => {
                            TokenError::WrongIssuerOrAudience
                        }
                        _ => TokenError::Invalid,
                    }
                });
            // Only a signature that does not match this key sends us to the next key.
            if outcome != Err(TokenError::Invalid) {
                break;
            }
        }
        outcome
    }
}

/// A kept token's clock checks, as jsonwebtoken makes them (with the same leeway): expired
/// when `exp` is before now, not yet valid when `nbf` is after it.
fn check_clock(claims: &Claims, now: i64) -> Result<(), TokenError> {
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(i64::MAX);
    if claims.exp < now.saturating_sub(leeway) {
        return Err(TokenError::Expired);
    }
    if claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// Refuses a token valid for longer than `max_seconds`: from its `iat` (what it was issued
/// for) and from `now` (a token without `iat`, or with an `iat` in the future, gains nothing).
/// The verification leeway applies to the clock comparison only.
fn check_lifetime(claims: &Claims, now: i64, max_seconds: i64) -> Result<(), TokenError> {
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(i64::MAX);
    let too_long_from_now = claims.exp.saturating_sub(now) > max_seconds.saturating_add(leeway);
    let too_long_from_issue = claims.iat.is_some_and(|iat| claims.exp.saturating_sub(iat) > max_seconds);
    if too_long_from_now || too_long_from_issue { Err(TokenError::LifetimeTooLong) } else { Ok(()) }
}

#[cfg(test)]
mod lifetime_tests {
    use super::*;

    fn claims(exp: i64, iat: Option<i64>) -> Claims {
        Claims { sub: "s".into(), org: "o".into(), exp, iat, nbf: None, iss: None, aud: None, firm: None }
    }

    #[test]
    fn lifetimes_up_to_the_maximum_pass() {
        let (now, max) = (1_000_000, 86_400);
        assert_eq!(check_lifetime(&claims(now + max, Some(now)), now, max), Ok(()));
        assert_eq!(check_lifetime(&claims(now + 60, None), now, max), Ok(()));
        assert_eq!(check_lifetime(&claims(now + max + 30, None), now, max), Ok(()), "within the leeway");
        assert_eq!(check_lifetime(&claims(now - 10, Some(now - max - 10)), now, max), Ok(()));
    }

    #[test]
    fn longer_lifetimes_are_refused() {
        let (now, max) = (1_000_000, 86_400);
        let refused = Err(TokenError::LifetimeTooLong);
        assert_eq!(check_lifetime(&claims(now + max + 1, Some(now)), now, max), refused, "exp - iat");
        assert_eq!(check_lifetime(&claims(now + max + 31, None), now, max), refused, "no iat: exp - now");
        assert_eq!(check_lifetime(&claims(now + 3600, Some(now - max)), now, max), refused, "issued long before");
        assert_eq!(check_lifetime(&claims(now + 10 * max, Some(now + 9 * max)), now, max), refused, "future iat");
        assert_eq!(check_lifetime(&claims(i64::MAX, Some(i64::MIN)), now, max), refused, "no overflow");
        assert_eq!(check_lifetime(&claims(i64::MAX, None), i64::MIN, max), refused, "no overflow");
    }
}

#[cfg(test)]
mod issue_tests {
    use super::*;

    #[test]
    fn the_server_issues_no_token_longer_than_the_maximum() {
        let mut config = Config::for_database("sqlite::memory:", "issue-secret");
        config.max_token_lifetime_seconds = 3_600;
        let keys = JwtKeys::from_config(&config).expect("keys");
        let id = uuid::Uuid::from_u128(1);
        let token = keys.issue(id, id, chrono::Duration::hours(1)).expect("exactly the maximum");
        assert!(keys.verify(&token).is_ok());
        assert!(keys.issue(id, id, chrono::Duration::seconds(3_601)).is_err());
        assert!(keys.issue(id, id, chrono::Duration::days(36_500)).is_err());
        assert!(keys.issue(id, id, chrono::Duration::zero()).is_err());
    }
}

impl PublicKey {
    fn candidate(&self) -> (&DecodingKey, Signer) {
        (&self.key, Signer::Provider(self.organizations.clone()))
    }
}

fn load_public_keys(path: &Path, organizations: Arc<[String]>) -> anyhow::Result<Vec<PublicKey>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading JWT public key file {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let set: JwkSet =
            serde_json::from_str(&text).with_context(|| format!("{} is not a JWKS file", path.display()))?;
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
                _ => continue, // keys for algorithms we do not accept are ignored
            };
            keys.push(PublicKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                key: DecodingKey::from_jwk(jwk).with_context(|| format!("bad key in {}", path.display()))?,
                organizations: organizations.clone(),
            });
        }
        anyhow::ensure!(!keys.is_empty(), "{} holds no RS256/ES256/ES384 key", path.display());
        return Ok(keys);
    }
    let bytes = text.as_bytes();
    if let Ok(key) = DecodingKey::from_rsa_pem(bytes) {
        return Ok(vec![PublicKey { kid: None, algorithm: Algorithm::RS256, key, organizations }]);
    }
    if let Ok(key) = DecodingKey::from_ec_pem(bytes) {
        // The PEM does not say which curve's algorithm the provider uses: accept both.
        return Ok(vec![
            PublicKey {
                kid: None,
                algorithm: Algorithm::ES256,
                key: key.clone(),
                organizations: organizations.clone(),
            },
            PublicKey { kid: None, algorithm: Algorithm::ES384, key, organizations },
        ]);
    }
    anyhow::bail!("{} is neither an RSA/EC public key PEM nor a JWKS file", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn keys(secret: &str, iss: Option<&str>, aud: Option<&str>) -> JwtKeys {
        let mut cfg = Config::for_database("sqlite::memory:", secret);
        cfg.jwt_issuer = iss.map(str::to_owned);
        cfg.jwt_audience = aud.map(str::to_owned);
        JwtKeys::from_config(&cfg).expect("keys")
    }

    fn sign(claims: &serde_json::Value, secret: &str) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret.as_bytes()))
            .expect("sign")
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    #[test]
    fn issued_tokens_verify() {
        let k = keys("s3cret", Some("scorebord"), Some("api"));
        let member = uuid::Uuid::now_v7();
        let org = uuid::Uuid::now_v7();
        let token = k.issue(member, org, chrono::Duration::minutes(15)).expect("issue");
        let verified = k.verify(&token).expect("verify");
        assert_eq!(verified.signer, Signer::Server);
        let claims = verified.claims;
        assert_eq!(claims.sub, member.to_string());
        assert_eq!(claims.org, org.to_string());
        assert_eq!(claims.iss.as_deref(), Some("scorebord"));
    }

    #[test]
    fn refuses_bad_tokens() {
        let k = keys("s3cret", Some("scorebord"), Some("api"));
        let ok = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60, "iss": "scorebord", "aud": "api"});
        assert!(k.verify(&sign(&ok, "s3cret")).is_ok());
        assert_eq!(k.verify(&sign(&ok, "other")), Err(TokenError::Invalid));
        let expired = serde_json::json!({"sub": "m", "org": "o", "exp": now() - 120, "iss": "scorebord", "aud": "api"});
        assert_eq!(k.verify(&sign(&expired, "s3cret")), Err(TokenError::Expired));
        let future = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 600, "nbf": now() + 300, "iss": "scorebord", "aud": "api"});
        assert_eq!(k.verify(&sign(&future, "s3cret")), Err(TokenError::NotYetValid));
        let wrong_aud =
            serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60, "iss": "scorebord", "aud": "other"});
        assert_eq!(k.verify(&sign(&wrong_aud, "s3cret")), Err(TokenError::WrongIssuerOrAudience));
        let wrong_iss = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60, "iss": "evil", "aud": "api"});
        assert_eq!(k.verify(&sign(&wrong_iss, "s3cret")), Err(TokenError::WrongIssuerOrAudience));
        let no_aud = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60, "iss": "scorebord"});
        assert!(k.verify(&sign(&no_aud, "s3cret")).is_err());
        let no_iss = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60, "aud": "api"});
        assert!(k.verify(&sign(&no_iss, "s3cret")).is_err());
        let no_exp = serde_json::json!({"sub": "m", "org": "o", "iss": "scorebord", "aud": "api"});
        assert!(k.verify(&sign(&no_exp, "s3cret")).is_err());
        assert_eq!(k.verify("garbage"), Err(TokenError::Invalid));
        assert_eq!(k.verify(""), Err(TokenError::Invalid));
    }

    #[test]
    fn kept_tokens_are_checked_against_the_clock_on_every_use() {
        let k = keys("s3cret", Some("scorebord"), None);
        let t0 = now();
        let claims = serde_json::json!({"sub": "m", "org": "o", "exp": t0 + 60, "iat": t0, "iss": "scorebord"});
        let token = sign(&claims, "s3cret");
        let first = k.verify_at(&token, t0).expect("valid");
        assert_eq!(k.verified.0.read().unwrap().len(), 1, "kept once verified");
        assert_eq!(k.verify_at(&token, t0 + 10), Ok(first), "the same claims from the memo");
        assert!(k.verify_at(&token, t0 + 60 + 30).is_ok(), "within the leeway");
        assert_eq!(k.verify_at(&token, t0 + 60 + 31), Err(TokenError::Expired), "expired while kept");
        assert_eq!(k.verify_at(&token, t0 + 10_000), Err(TokenError::Expired));
        // The lifetime bound is checked from now as well.
        let short = JwtKeys { max_lifetime: chrono::Duration::seconds(30), ..keys("s3cret", Some("scorebord"), None) };
        assert_eq!(short.verify_at(&token, t0), Err(TokenError::LifetimeTooLong));
        assert!(short.verified.0.read().unwrap().is_empty(), "a refused token is not kept");
        // Another signature, another issuer, another secret: verified on their own, refused.
        let tampered = format!("{}x", &token[..token.len() - 1]);
        assert_eq!(k.verify_at(&tampered, t0), Err(TokenError::Invalid));
        let forged = sign(&claims, "other");
        assert_eq!(k.verify_at(&forged, t0), Err(TokenError::Invalid));
        let wrong = sign(&serde_json::json!({"sub": "m", "org": "o", "exp": t0 + 60, "iss": "evil"}), "s3cret");
        assert_eq!(k.verify_at(&wrong, t0), Err(TokenError::WrongIssuerOrAudience));
        assert_eq!(k.verified.0.read().unwrap().len(), 1, "only the valid token is kept");
        // Keys with another secret keep their own memo.
        assert_eq!(keys("other", Some("scorebord"), None).verify_at(&token, t0), Err(TokenError::Invalid));
    }

    #[test]
    fn the_clock_checks_of_kept_tokens_match_jsonwebtoken() {
        let c = |exp: i64, nbf: Option<i64>| Claims {
            sub: "s".into(),
            org: "o".into(),
            exp,
            iat: None,
            nbf,
            iss: None,
            aud: None,
            firm: None,
        };
        let moment = 1_000_000;
        assert_eq!(check_clock(&c(moment - 30, None), moment), Ok(()), "expiry within the leeway");
        assert_eq!(check_clock(&c(moment - 31, None), moment), Err(TokenError::Expired));
        assert_eq!(check_clock(&c(moment + 60, Some(moment + 30)), moment), Ok(()), "nbf within the leeway");
        assert_eq!(check_clock(&c(moment + 60, Some(moment + 31)), moment), Err(TokenError::NotYetValid));
        assert_eq!(check_clock(&c(i64::MIN, None), i64::MIN), Ok(()), "no overflow");
        assert_eq!(check_clock(&c(0, Some(i64::MAX)), i64::MAX), Err(TokenError::Expired), "no overflow");
        // The same boundaries through jsonwebtoken on tokens not kept.
        let t = now();
        let at = |exp: i64, nbf: Option<i64>| {
            let mut claims = serde_json::json!({"sub": "m", "org": "o", "exp": exp});
            if let Some(nbf) = nbf {
                claims["nbf"] = serde_json::json!(nbf);
            }
            keys("s3cret", None, None).verify_at(&sign(&claims, "s3cret"), t)
        };
        assert!(at(t - 25, None).is_ok());
        assert_eq!(at(t - 40, None), Err(TokenError::Expired));
        assert!(at(t + 60, Some(t + 25)).is_ok());
        assert_eq!(at(t + 60, Some(t + 40)), Err(TokenError::NotYetValid));
    }

    #[test]
    fn the_memo_is_bounded() {
        let k = keys("s3cret", None, None);
        let t = now();
        for i in 0..VERIFIED_CAPACITY {
            let token = sign(&serde_json::json!({"sub": format!("m{i}"), "org": "o", "exp": t + 60}), "s3cret");
            k.verify_at(&token, t).expect("valid");
        }
        assert_eq!(k.verified.0.read().unwrap().len(), VERIFIED_CAPACITY);
        let last = sign(&serde_json::json!({"sub": "last", "org": "o", "exp": t + 60}), "s3cret");
        k.verify_at(&last, t).expect("valid");
        assert_eq!(k.verified.0.read().unwrap().len(), 1, "full: started over");
        let long =
            sign(&serde_json::json!({"sub": "x".repeat(MAX_KEPT_TOKEN_BYTES), "org": "o", "exp": t + 60}), "s3cret");
        assert!(k.verify_at(&long, t).is_ok());
        assert_eq!(k.verified.0.read().unwrap().len(), 1, "an over-long token is verified, not kept");
    }

    #[test]
    fn refuses_alg_none_and_unconfigured_algorithms() {
        let k = keys("s3cret", None, None);
        let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let claims = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60});
        let none = format!("{}.{}.", b64(&serde_json::json!({"alg": "none", "typ": "JWT"})), b64(&claims));
        assert_eq!(k.verify(&none), Err(TokenError::Invalid));
        // An RS256 header with an HMAC signature made from the secret: no RS key, refused.
        let rs = format!("{}.{}.c2ln", b64(&serde_json::json!({"alg": "RS256", "typ": "JWT"})), b64(&claims));
        assert_eq!(k.verify(&rs), Err(TokenError::NoKey));
        let hs512 = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(b"s3cret"))
            .expect("sign");
        assert_eq!(k.verify(&hs512), Err(TokenError::Invalid));
    }

    #[test]
    fn without_secret_nothing_verifies_or_issues() {
        let mut cfg = Config::for_database("sqlite::memory:", "");
        cfg.jwt_secret = None;
        let k = JwtKeys::from_config(&cfg).expect("keys");
        assert!(!k.can_issue());
        let claims = serde_json::json!({"sub": "m", "org": "o", "exp": now() + 60});
        assert_eq!(k.verify(&sign(&claims, "")), Err(TokenError::NoKey));
        assert!(k.issue(uuid::Uuid::nil(), uuid::Uuid::nil(), chrono::Duration::minutes(1)).is_err());
    }

    #[test]
    fn provider_keys_sign_only_for_their_organizations() {
        let id = uuid::Uuid::from_u128(0x0190_b6a4);
        let other = uuid::Uuid::from_u128(0x0190_b6a5);
        let signer = Signer::Provider(vec!["acme".to_owned(), id.to_string()].into());
        assert!(signer.names("acme"));
        assert!(signer.names(&id.to_string()));
        assert!(signer.names(&id.to_string().to_uppercase()), "an ID in any case");
        for claim in ["bravo", "acm", "acme ", "", &other.to_string()] {
            assert!(!signer.names(claim), "{claim:?}");
        }
        assert!(signer.may_sign_for(other, "acme"), "acme by its slug");
        assert!(signer.may_sign_for(id, "renamed"), "the bound ID");
        assert!(!signer.may_sign_for(other, "bravo"));
        // An entry that is an ID names by ID only, never a slug that looks like it.
        let by_id = Signer::Provider(vec![id.to_string()].into());
        assert!(!by_id.may_sign_for(other, &id.to_string()));
        let nothing = Signer::Provider(Vec::new().into());
        assert!(!nothing.names("acme") && !nothing.may_sign_for(id, "acme"));
        assert!(Signer::Server.names("anything") && Signer::Server.may_sign_for(other, "bravo"));
    }
}
