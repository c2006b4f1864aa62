//! Argon2id password hashing. Hashing is CPU-heavy, so callers run it on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

use crate::error::{AppError, AppResult};

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

/// A new password must be at least [`MIN_PASSWORD_LEN`] characters and at most 1,000.
pub fn check_strength(password: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!("must be at least {MIN_PASSWORD_LEN} characters"));
    }
    if len > 1000 {
        return Err("must be at most 1000 characters".to_owned());
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
        assert!(PasswordHash::new(crate::auth::graphql::DUMMY_HASH).is_ok());
    }

    #[test]
    fn strength() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("longenough").is_ok());
        assert!(check_strength(&"x".repeat(1001)).is_err());
    }
}
