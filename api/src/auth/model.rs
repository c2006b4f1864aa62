//! Rules of an organization's identity provider: what its settings may be, and which member a
//! verified token names. Pure functions.

use serde_json::{Map, Value};

use crate::core::field::FieldError;
use crate::core::roles::Role;

stored_enum!(
    /// The claim of a provider's token that names the member.
    MemberClaim {
        /// `email` (the provider must not say `email_verified: false`): matched to the member
        /// with that e-mail.
        Email => "EMAIL",
        /// `sub`: matched to the member the provider's subject was recorded for (a member
        /// created at first sign-in).
        Subject => "SUBJECT",
    }
);

/// Longest issuer or audience accepted.
pub const MAX_IDENTIFIER_LEN: usize = 500;

/// An issuer or audience: trimmed, non-empty, at most [`MAX_IDENTIFIER_LEN`] characters, no
/// whitespace or control characters (it is compared exactly with the token's claim).
pub fn parse_identifier(field: &str, raw: &str) -> Result<String, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "REQUIRED", "must not be empty"));
    }
    if v.chars().count() > MAX_IDENTIFIER_LEN {
        return Err(FieldError::new(field, "TOO_LONG", format!("must be at most {MAX_IDENTIFIER_LEN} characters")));
    }
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(FieldError::new(field, "INVALID", "must not contain spaces or control characters"));
    }
    Ok(v.to_owned())
}

/// The role a member created at first sign-in may get: never an admin's (a provider that lets
/// anyone sign up must not hand out the organization).
pub fn check_default_role(role: Role) -> Result<Role, FieldError> {
    match role {
        Role::Admin => Err(FieldError::new(
            "defaultRole",
            "NOT_ALLOWED",
            "members created at sign-in cannot be admins; promote them afterwards",
        )),
        other => Ok(other),
    }
}

/// Who a verified token names: the value to match and, for creating the member, a name and an
/// e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// The e-mail (lower case) or the subject, per the provider's [`MemberClaim`].
    pub key: String,
    /// The e-mail, lower case, when the token carries one the provider has not marked
    /// unverified.
    pub email: Option<String>,
    /// The person's name (`name`, else the e-mail's local part).
    pub name: Option<String>,
}

/// Reads a verified token's claims for the provider's member claim; why it cannot, otherwise.
pub fn sign_in(claims: &Map<String, Value>, by: MemberClaim) -> Result<SignIn, String> {
    let verified = !matches!(claims.get("email_verified"), Some(Value::Bool(false)));
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| verified && crate::org::model::parse_email(e).is_ok());
    let name = claims
        .get("name")
        .and_then(Value::as_str)
        .and_then(|n| crate::core::field::parse_name("name", n).ok())
        .or_else(|| email.as_ref().and_then(|e| e.split('@').next()).map(str::to_owned));
    let key = match by {
        MemberClaim::Email => email.clone().ok_or_else(|| {
            if claims.contains_key("email") {
                "the token's e-mail is not verified or not valid".to_owned()
            } else {
                "the token has no 'email' claim".to_owned()
            }
        })?,
        MemberClaim::Subject => claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 255)
            .ok_or_else(|| "the token has no usable 'sub' claim".to_owned())?
            .to_owned(),
    };
    Ok(SignIn { key, email, name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn by_email_the_verified_lower_cased_email_names_the_member() {
        let c = claims(json!({"sub": "x1", "email": " Ann@Acme.NL ", "name": "Ann de Vries"}));
        assert_eq!(
            sign_in(&c, MemberClaim::Email),
            Ok(SignIn {
                key: "ann@acme.nl".into(),
                email: Some("ann@acme.nl".into()),
                name: Some("Ann de Vries".into())
            })
        );
        let unverified = claims(json!({"sub": "x1", "email": "ann@acme.nl", "email_verified": false}));
        assert!(sign_in(&unverified, MemberClaim::Email).unwrap_err().contains("not verified"));
        let verified = claims(json!({"sub": "x1", "email": "ann@acme.nl", "email_verified": true}));
        assert_eq!(sign_in(&verified, MemberClaim::Email).unwrap().name.as_deref(), Some("ann"));
        assert!(sign_in(&claims(json!({"sub": "x1"})), MemberClaim::Email).unwrap_err().contains("no 'email'"));
        assert!(sign_in(&claims(json!({"sub": "x1", "email": "not an address"})), MemberClaim::Email).is_err());
        assert!(sign_in(&claims(json!({"sub": "x1", "email": 5})), MemberClaim::Email).is_err());
    }

    #[test]
    fn by_subject_the_sub_names_the_member() {
        let c = claims(json!({"sub": "00u1abc", "email": "ann@acme.nl"}));
        assert_eq!(sign_in(&c, MemberClaim::Subject).unwrap().key, "00u1abc");
        assert!(sign_in(&claims(json!({"sub": ""})), MemberClaim::Subject).is_err());
        assert!(sign_in(&claims(json!({"sub": 7})), MemberClaim::Subject).is_err());
        assert!(sign_in(&claims(json!({"sub": "x".repeat(256)})), MemberClaim::Subject).is_err());
        let no_email = sign_in(&claims(json!({"sub": "s"})), MemberClaim::Subject).unwrap();
        assert_eq!((no_email.email, no_email.name), (None, None));
    }

    #[test]
    fn identifiers_are_exact_strings() {
        assert_eq!(parse_identifier("issuer", " https://idp.example/ ").unwrap(), "https://idp.example/");
        assert_eq!(parse_identifier("issuer", "").unwrap_err().code, "REQUIRED");
        assert_eq!(parse_identifier("issuer", "a b").unwrap_err().code, "INVALID");
        assert_eq!(parse_identifier("issuer", &"x".repeat(501)).unwrap_err().code, "TOO_LONG");
    }

    #[test]
    fn no_one_becomes_an_admin_by_signing_in() {
        assert!(check_default_role(Role::Admin).is_err());
        for r in [Role::Manager, Role::Rep, Role::Viewer] {
            assert_eq!(check_default_role(r), Ok(r));
        }
    }

    #[test]
    fn member_claims_round_trip() {
        for c in [MemberClaim::Email, MemberClaim::Subject] {
            assert_eq!(MemberClaim::parse(c.as_str()), Some(c));
        }
        assert_eq!(MemberClaim::parse("PHONE"), None);
    }
}
