//! Argon2id password hashing. Hashing is CPU-heavy, so callers run it on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use crate::core::error::{AppError, AppResult};

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password into a PHC string (argon2id, default parameters).
pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing password: {e}")))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// Checks a password against a PHC string. A malformed hash counts as a mismatch.
pub async fn verify(password: String, phc: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))
}

/// The 10,000 most common breached passwords, lower-case, one a line (provenance and licence
/// in `common-passwords.NOTICE`). Attackers try these first, so a length rule alone lets
/// `password123` through.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn is_common(password: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let set = SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect());
    set.contains(password.to_lowercase().as_str())
}

/// A new password set through the API: at least [`MIN_PASSWORD_LEN`] characters and at most
/// 1,000, not one of the common passwords, and not the member's own e-mail address, its local
/// part or their name (`personal`), all ignoring case. Passwords seeded through the store
/// (the demo's, the tests') do not pass through here.
pub fn check_strength(password: &str, personal: &[&str]) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if len > 1000 {
        return Err("must be at most 1000 characters".to_owned());
    }
    if is_common(password) || is_common(password.trim()) {
        return Err("is one of the most common passwords; choose one that is harder to guess".to_owned());
    }
    let lowered = password.trim().to_lowercase();
    let own = personal.iter().map(|p| p.trim().to_lowercase()).filter(|p| !p.is_empty()).any(|p| {
        let local = p.split_once('@').map(|(local, _)| local.to_owned());
        lowered == p || local.is_some_and(|l| lowered == l)
    });
    if own {
        return Err("must not be your e-mail address or name".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let phc = hash("correct horse".to_owned()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse".to_owned(), phc.clone()).await.expect("verify"));
        assert!(!verify("wrong horse".to_owned(), phc).await.expect("verify"));
        assert!(!verify("x".to_owned(), "not a hash".to_owned()).await.expect("verify"));
    }

    #[test]
    fn login_dummy_hash_is_a_real_hash() {
        // The login path verifies unknown accounts against it so they take as long as real ones.
        assert!(PasswordHash::new(crate::auth::service::DUMMY_HASH).is_ok());
    }

    #[test]
    fn strength() {
        assert!(check_strength("short", &[]).is_err());
        assert!(check_strength("longenough-7x", &[]).is_ok());
        assert!(check_strength(&"x".repeat(1001), &[]).is_err());
    }

    #[test]
    fn every_listed_password_is_refused_in_any_case() {
        let mut checked = 0;
        for listed in COMMON_PASSWORDS.lines().filter(|l| l.chars().count() >= MIN_PASSWORD_LEN) {
            let err = check_strength(listed, &[]).expect_err(listed);
            assert!(err.contains("common"), "{listed}: {err}");
            assert!(check_strength(&listed.to_uppercase(), &[]).is_err(), "{listed} upper-case");
            checked += 1;
        }
        assert!(checked > 3_000, "{checked}");
        assert_eq!(COMMON_PASSWORDS.lines().count(), 10_000);
        for common in ["password123", "Password123", "PASSWORD1", "qwertyuiop", "iloveyou", "12345678"] {
            assert!(check_strength(common, &[]).is_err(), "{common}");
        }
    }

    #[test]
    fn own_email_and_name_are_refused() {
        let me = ["Zoë Jansen", "zoe.jansen@acme.test"];
        for own in ["zoe.jansen@acme.test", "ZOE.JANSEN@ACME.TEST", "zoe.jansen", "zoë jansen", "Zoë Jansen"] {
            let err = check_strength(own, &me).expect_err(own);
            assert!(err.contains("e-mail address or name"), "{own}: {err}");
        }
        assert!(check_strength("zoe.jansen-7x!", &me).is_ok(), "more than the address is allowed");
        assert!(check_strength("zoe.jansen@acme.test", &["", "  "]).is_ok(), "empty personal values match nothing");
    }
}
