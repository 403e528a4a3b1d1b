//! The machine's registered Session Invite applications (reference §1.3), with the
//! documented limits of `RegisterApplication`.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::hresult::HResult;

pub const MAX_GUID: usize = 39;
pub const MAX_NAME: usize = 256;
pub const MAX_URL: usize = 256;
pub const MAX_PATH: usize = 260;
/// Our bound on registrations per machine; past it the "registry write" fails with
/// `REGDB_E_WRITEREGDB`, the documented code for that.
pub const MAX_APPS: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRegistration {
    pub guid: String,
    pub name: String,
    pub url: String,
    pub path: String,
}

#[derive(Clone, Debug, Default)]
pub struct Registry {
    apps: BTreeMap<String, AppRegistration>,
}

fn invalid(detail: String) -> Error {
    Error::api(HResult::E_INVALIDARG, detail)
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` with upper-case hex, as the API requires.
pub fn is_api_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 38
        && b[0] == b'{'
        && b[37] == b'}'
        && b[1..37].iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'A'..=b'F').contains(c),
        })
}

/// A GUID as it may arrive on the wire: braces, any case (msnp.md §f.2). Returns the
/// API form (upper case), or None.
pub fn normalize_wire_guid(s: &str) -> Option<String> {
    let upper = s.trim().to_ascii_uppercase();
    is_api_guid(&upper).then_some(upper)
}

/// Checks the GUID argument of the API (length first: "at most 39 characters").
pub fn check_guid(guid: &str, too_long: HResult) -> Result<()> {
    if guid.chars().count() > MAX_GUID {
        return Err(Error::api(
            too_long,
            format!("an application GUID is at most {MAX_GUID} characters"),
        ));
    }
    if !is_api_guid(guid) {
        return Err(invalid(format!(
            "{guid:?} is not a GUID: 32 hex digits as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, \
             with or without braces, in either case (from Python, a uuid.UUID too)"
        )));
    }
    Ok(())
}

fn is_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    path.starts_with('/')
        || path.starts_with("\\\\")
        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
}

impl Registry {
    pub fn register(&mut self, guid: &str, name: &str, url: &str, path: &str, flags: i64) -> Result<AppRegistration> {
        check_guid(guid, HResult::E_INVALIDARG)?;
        for (what, value, max) in [
            ("name", name, MAX_NAME),
            ("URL", url, MAX_URL),
            ("path", path, MAX_PATH),
        ] {
            if value.chars().count() > max {
                return Err(invalid(format!("the application {what} is at most {max} characters")));
            }
            if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
                return Err(invalid(format!("the application {what} must be one line")));
            }
        }
        if name.is_empty() {
            return Err(invalid("the application name must not be empty".into()));
        }
        if flags != 0 {
            return Err(invalid(format!("ulFlags must be 0, not {flags}")));
        }
        if self.apps.contains_key(guid) {
            return Err(Error::api(
                HResult::SR_APP_ALREADY_REGISTERED,
                format!("{guid} is already registered: unregister it first to change it"),
            ));
        }
        // C17: a path that cannot be resolved is E_FAIL; only absolute paths resolve.
        if !is_absolute(path) {
            return Err(Error::api(HResult::E_FAIL, format!("{path:?} is not an absolute path")));
        }
        if self.apps.len() >= MAX_APPS {
            return Err(Error::api(
                HResult::REGDB_E_WRITEREGDB,
                format!("this machine already holds {MAX_APPS} registrations"),
            ));
        }
        let reg = AppRegistration {
            guid: guid.to_string(),
            name: name.to_string(),
            url: url.to_string(),
            path: path.to_string(),
        };
        self.apps.insert(guid.to_string(), reg.clone());
        Ok(reg)
    }

    pub fn unregister(&mut self, guid: &str) -> Result<()> {
        check_guid(guid, HResult::E_INVALIDARG)?;
        match self.apps.remove(guid) {
            Some(_) => Ok(()),
            None => Err(Error::api(
                HResult::SR_APP_NOT_REGISTERED,
                format!("{guid} is not registered"),
            )),
        }
    }

    pub fn get(&self, guid: &str) -> Option<&AppRegistration> {
        self.apps.get(guid)
    }

    pub fn all(&self) -> impl Iterator<Item = &AppRegistration> {
        self.apps.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";

    #[test]
    fn guid_forms() {
        assert!(is_api_guid(G));
        assert!(!is_api_guid(&G.to_lowercase()));
        assert!(!is_api_guid("0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F"));
        assert!(!is_api_guid("{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6G}"));
        assert_eq!(normalize_wire_guid(&G.to_lowercase()).as_deref(), Some(G));
        assert_eq!(
            normalize_wire_guid("{5D3E02AB-6190-11d3-BBBB-00C04F795683}").as_deref(),
            Some("{5D3E02AB-6190-11D3-BBBB-00C04F795683}")
        );
        assert_eq!(
            check_guid(&format!("{G}xx"), HResult::E_OUTOFMEMORY)
                .unwrap_err()
                .hresult(),
            HResult::E_OUTOFMEMORY
        );
        assert_eq!(
            check_guid(&format!("{G}x"), HResult::E_OUTOFMEMORY)
                .unwrap_err()
                .hresult(),
            HResult::E_INVALIDARG
        );
    }

    #[test]
    fn limits_at_and_past_their_bounds() {
        let mut r = Registry::default();
        let ok = |n: usize| "a".repeat(n);
        assert!(r.register(G, &ok(256), &ok(256), &format!("/{}", ok(259)), 0).is_ok());
        r.unregister(G).unwrap();
        for (name, url, path) in [
            (ok(257), ok(1), "/x".to_string()),
            (ok(1), ok(257), "/x".to_string()),
            (ok(1), ok(1), format!("/{}", ok(260))),
        ] {
            assert_eq!(
                r.register(G, &name, &url, &path, 0).unwrap_err().hresult(),
                HResult::E_INVALIDARG
            );
        }
        assert_eq!(
            r.register(G, "n", "u", "/x", 1).unwrap_err().hresult(),
            HResult::E_INVALIDARG
        );
        assert_eq!(
            r.register(G, "n", "u", "relative/x", 0).unwrap_err().hresult(),
            HResult::E_FAIL
        );
        assert!(r.register(G, "n", "u", "C:\\apps\\x.exe", 0).is_ok());
        assert_eq!(
            r.register(G, "n", "u", "/x", 0).unwrap_err().hresult(),
            HResult::SR_APP_ALREADY_REGISTERED
        );
        assert_eq!(
            r.unregister("{00000000-0000-0000-0000-000000000000}")
                .unwrap_err()
                .hresult(),
            HResult::SR_APP_NOT_REGISTERED
        );
    }

    #[test]
    fn the_registry_fills_up() {
        let mut r = Registry::default();
        for i in 0..MAX_APPS {
            r.register(&format!("{{{i:08X}-0000-0000-0000-000000000000}}"), "n", "", "/x", 0)
                .unwrap();
        }
        let err = r
            .register("{FFFFFFFF-0000-0000-0000-000000000000}", "n", "", "/x", 0)
            .unwrap_err();
        assert_eq!(err.hresult(), HResult::REGDB_E_WRITEREGDB);
    }
}
