//! What the service knows: accounts and the licensed Lock and Key pairs.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::hresult::HResult;
use crate::proto::{valid_sign_in_name, valid_token, CLIENT_ID, CLIENT_KEY, MAX_APP_ID};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub sign_in_name: String,
    pub password: String,
    pub friendly_name: String,
}

/// Client product pairs accepted for the service's own pings (msnp.md §d.3, MSNP ≤ 10).
const CLIENT_PAIRS: &[(&str, &str)] = &[
    (CLIENT_ID, CLIENT_KEY),
    ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR"),
    ("PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B"),
    ("PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M"),
    ("PROD00504RLUG%WL", "I2EBK%PYNLZL5_J4"),
    ("PROD0076ENE8*@AW", "CEQJ8}OE0!WTSWII"),
];

pub const MAX_PASSWORD: usize = 256;

#[derive(Clone, Debug, Default)]
pub struct Directory {
    accounts: BTreeMap<String, Account>,
    licenses: BTreeMap<String, String>,
}

/// Sign-in names are case-insensitive on MSN; we key them lower-cased.
fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Directory {
    pub fn add_user(
        &mut self,
        sign_in_name: &str,
        password: &str,
        friendly_name: Option<&str>,
    ) -> Result<()> {
        if !valid_sign_in_name(sign_in_name) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{sign_in_name:?} is not a valid sign-in name (user@domain.tld)"),
            ));
        }
        if password.is_empty()
            || password.len() > MAX_PASSWORD
            || password.chars().any(char::is_control)
        {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "a password is 1 to 256 characters without control characters",
            ));
        }
        if self.accounts.contains_key(&key(sign_in_name)) {
            return Err(Error::api(
                HResult::E_FAIL,
                format!("{sign_in_name} already has an account"),
            ));
        }
        let friendly = friendly_name.map(str::to_string).unwrap_or_else(|| {
            sign_in_name
                .split('@')
                .next()
                .unwrap_or(sign_in_name)
                .to_string()
        });
        if friendly.chars().count() > 129 {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "a friendly name is at most 129 characters",
            ));
        }
        self.accounts.insert(
            key(sign_in_name),
            Account {
                sign_in_name: sign_in_name.to_string(),
                password: password.to_string(),
                friendly_name: friendly,
            },
        );
        Ok(())
    }

    pub fn account(&self, sign_in_name: &str) -> Option<&Account> {
        self.accounts.get(&key(sign_in_name))
    }

    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// Registers (or replaces) an ID/key pair for Lock and Key.
    pub fn license(&mut self, app_id: &str, app_key: &str) -> Result<()> {
        if !valid_token(app_id, MAX_APP_ID) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "an app id is 1 to 128 printable ASCII characters without spaces",
            ));
        }
        if !valid_token(app_key, MAX_APP_ID) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                "an app key is 1 to 128 printable ASCII characters without spaces",
            ));
        }
        if CLIENT_PAIRS.iter().any(|(id, _)| *id == app_id) {
            return Err(Error::api(
                HResult::E_INVALIDARG,
                format!("{app_id} is a public client id and cannot license an app"),
            ));
        }
        self.licenses
            .insert(app_id.to_string(), app_key.to_string());
        Ok(())
    }

    pub fn app_key(&self, app_id: &str) -> Option<&str> {
        self.licenses.get(app_id).map(String::as_str)
    }

    pub fn client_key(&self, client_id: &str) -> Option<&str> {
        CLIENT_PAIRS
            .iter()
            .find(|(id, _)| *id == client_id)
            .map(|(_, k)| *k)
    }

    pub fn licensed_app_ids(&self) -> impl Iterator<Item = &str> {
        self.licenses.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_case_insensitive_and_unique() {
        let mut d = Directory::default();
        d.add_user("Alice@Example.com", "pw", None).unwrap();
        assert_eq!(
            d.account("alice@example.com").unwrap().friendly_name,
            "Alice"
        );
        let err = d.add_user("alice@example.com", "pw", None).unwrap_err();
        assert_eq!(err.hresult(), HResult::E_FAIL);
    }

    #[test]
    fn bad_accounts_are_refused() {
        let mut d = Directory::default();
        assert_eq!(
            d.add_user("nobody", "pw", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "p\nw", None).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            d.add_user("a@b.com", "pw", Some(&"x".repeat(130)))
                .unwrap_err()
                .hresult(),
            HResult::E_INVALIDARG
        );
    }

    #[test]
    fn licenses_cannot_reuse_client_ids() {
        let mut d = Directory::default();
        d.license("app@msnmsgr.com", "KEY1").unwrap();
        assert_eq!(d.app_key("app@msnmsgr.com"), Some("KEY1"));
        assert!(d.license(CLIENT_ID, "x").is_err());
        assert!(d.license("has space", "x").is_err());
        assert!(d.license("ok", "").is_err());
        assert_eq!(d.client_key(CLIENT_ID), Some(CLIENT_KEY));
        assert_eq!(d.client_key("app@msnmsgr.com"), None);
    }
}
