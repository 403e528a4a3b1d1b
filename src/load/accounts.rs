//! `--accounts 'load{i}@example.com:pw'`: the accounts a run signs in with, one per
//! index. Users create them on their server first (for `msgr serve`, a `--users-file`).

use std::fmt;

/// What `{i}` stands for in a pattern.
const INDEX: &str = "{i}";

/// An account pattern: `EMAIL:PASSWORD`, `{i}` in the e-mail address (and optionally in
/// the password) replaced by the account's index, from 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPattern {
    email: String,
    password: String,
}

/// One expanded account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub email: String,
    pub password: String,
}

impl AccountPattern {
    /// Parses `EMAIL:PASSWORD`; everything after the first colon is the password, as in
    /// `msgr serve --users-file`.
    pub fn parse(text: &str) -> Result<AccountPattern, String> {
        let Some((email, password)) = text.split_once(':') else {
            return Err(format!(
                "--accounts is EMAIL:PASSWORD with {{i}} in the e-mail address, not {text:?}"
            ));
        };
        if email.is_empty() || password.is_empty() {
            return Err(format!(
                "--accounts needs both an e-mail address and a password, not {text:?}"
            ));
        }
        // Two connections of one account would sign each other out (OUT OTH).
        if !email.contains(INDEX) {
            return Err(format!(
                "--accounts must have {{i}} in the e-mail address (each connection needs its own account), not {text:?}"
            ));
        }
        let sample = AccountPattern {
            email: email.to_string(),
            password: password.to_string(),
        }
        .get(0);
        if !crate::proto::valid_sign_in_name(&sample.email) {
            return Err(format!(
                "--accounts gives {:?}, which is not a sign-in name",
                sample.email
            ));
        }
        if sample.password.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("--accounts: a password with blanks or control characters cannot be sent".to_string());
        }
        Ok(AccountPattern {
            email: email.to_string(),
            password: password.to_string(),
        })
    }

    /// The account with index `i`.
    pub fn get(&self, i: usize) -> Account {
        let n = i.to_string();
        Account {
            email: self.email.replace(INDEX, &n),
            password: self.password.replace(INDEX, &n),
        }
    }
}

impl Default for AccountPattern {
    fn default() -> Self {
        AccountPattern {
            email: "load{i}@example.com".to_string(),
            password: "pw".to_string(),
        }
    }
}

impl fmt::Display for AccountPattern {
    /// The pattern with the password masked, for reports.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:***", self.email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_the_index_in_the_address_and_the_password() {
        let p = AccountPattern::parse("load{i}@example.com:pw").unwrap();
        assert_eq!(p.get(0).email, "load0@example.com");
        assert_eq!(p.get(17).email, "load17@example.com");
        assert_eq!(p.get(17).password, "pw");
        let q = AccountPattern::parse("u{i}.{i}@x.org:secret-{i}:with:colons").unwrap();
        let a = q.get(3);
        assert_eq!(a.email, "u3.3@x.org");
        assert_eq!(a.password, "secret-3:with:colons");
        assert_eq!(
            AccountPattern::default(),
            AccountPattern::parse("load{i}@example.com:pw").unwrap()
        );
        assert_eq!(q.to_string(), "u{i}.{i}@x.org:***");
    }

    #[test]
    fn refuses_patterns_that_cannot_work() {
        for bad in [
            "load@example.com:pw",
            "load{i}@example.com",
            "load{i}@example.com:",
            ":pw",
            "load{i}:pw",
            "lo ad{i}@example.com:pw",
            "load{i}@example.com:p w",
        ] {
            assert!(AccountPattern::parse(bad).is_err(), "{bad}");
        }
        let err = AccountPattern::parse("load@example.com:pw").unwrap_err();
        assert!(err.contains("{i}"), "{err}");
    }
}
