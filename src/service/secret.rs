//! How an account's password is kept.
//!
//! MSNP7's `USR MD5` proves MD5(salt ‖ password) with a salt the service picks for each
//! sign-in, so a service that speaks it must hold the password itself. Passport logins
//! (MSNP8+) only need to check a password they are given, so where MSNP7 is not served
//! the service keeps an Argon2id hash and nothing else (docs/security.md).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use subtle::ConstantTimeEq;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Secret {
    /// The password as given, for MSNP7's MD5 proof.
    Plain(String),
    /// An Argon2id PHC string (`$argon2id$v=19$…`).
    Hash(String),
}

impl std::fmt::Debug for Secret {
    // Never into logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Plain(_) => f.write_str("Secret::Plain(***)"),
            Secret::Hash(_) => f.write_str("Secret::Hash(***)"),
        }
    }
}

impl Secret {
    /// The secret to keep for `password`: itself when MSNP7 is served, else a hash
    /// salted with `salt` (16 random bytes from the engine).
    pub fn new(password: &str, keep_plain: bool, salt: [u8; 16]) -> Secret {
        if keep_plain {
            return Secret::Plain(password.to_string());
        }
        let salt = SaltString::encode_b64(&salt).expect("16 bytes fit a salt");
        match Argon2::default().hash_password(password.as_bytes(), &salt) {
            Ok(hash) => Secret::Hash(hash.to_string()),
            // Default parameters and a valid salt cannot fail; keeping the password is
            // still better than losing the account.
            Err(_) => Secret::Plain(password.to_string()),
        }
    }

    /// The password itself, when kept.
    pub fn plain(&self) -> Option<&str> {
        match self {
            Secret::Plain(p) => Some(p),
            Secret::Hash(_) => None,
        }
    }

    /// Whether `given` is the password (in constant time for a kept one; Argon2's own
    /// check for a hash).
    pub fn verify(&self, given: &str) -> bool {
        match self {
            // Byte for byte: a password's case and spaces count (`responses_match` is
            // for hex digests and ignores both).
            Secret::Plain(p) => p.as_bytes().ct_eq(given.as_bytes()).into(),
            Secret::Hash(h) => PasswordHash::new(h)
                .is_ok_and(|parsed| Argon2::default().verify_password(given.as_bytes(), &parsed).is_ok()),
        }
    }

    pub fn is_hashed(&self) -> bool {
        matches!(self, Secret::Hash(_))
    }

    /// What the store keeps: the password or the PHC string.
    pub fn stored(&self) -> &str {
        match self {
            Secret::Plain(s) | Secret::Hash(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_password_and_keeps_nothing_readable() {
        let s = Secret::new("hunter2", false, [7; 16]);
        assert!(s.is_hashed() && s.stored().starts_with("$argon2id$"));
        assert!(!s.stored().contains("hunter2"));
        assert!(s.verify("hunter2") && !s.verify("hunter3") && !s.verify(""));
        assert_eq!(s.plain(), None);
        assert_eq!(format!("{s:?}"), "Secret::Hash(***)");
        let p = Secret::new("hunter2", true, [7; 16]);
        assert_eq!(p.plain(), Some("hunter2"));
        assert!(p.verify("hunter2") && !p.verify("Hunter2"));
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
