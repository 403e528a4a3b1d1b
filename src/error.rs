//! The one error type of the core. Every variant maps to an HRESULT, which is what
//! the Python layer turns into a typed exception.

use std::borrow::Cow;

use crate::hresult::HResult;
use crate::wire::WireError;

#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A documented API failure.
    #[error("{}: {detail}", hr.name())]
    Api { hr: HResult, detail: Cow<'static, str> },
    /// Bytes that are not valid MSNP, given to a parser by the caller.
    #[error("malformed MSNP: {0}")]
    Wire(#[from] WireError),
    /// A handle (messenger, object, session) the engine does not know.
    #[error("unknown {what} {id}")]
    UnknownHandle { what: &'static str, id: u64 },
}

impl Error {
    pub fn api(hr: HResult, detail: impl Into<Cow<'static, str>>) -> Self {
        Error::Api {
            hr,
            detail: detail.into(),
        }
    }

    pub fn hresult(&self) -> HResult {
        match self {
            Error::Api { hr, .. } => *hr,
            Error::Wire(_) | Error::UnknownHandle { .. } => HResult::E_INVALIDARG,
        }
    }
}

impl From<HResult> for Error {
    fn from(hr: HResult) -> Self {
        Error::api(hr, hr.meaning())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_the_code() {
        let e = Error::api(HResult::SR_INVITED_SELF, "alice invited alice");
        assert_eq!(e.to_string(), "SR_INVITED_SELF: alice invited alice");
        assert_eq!(e.hresult(), HResult::SR_INVITED_SELF);
    }

    #[test]
    fn wire_errors_are_invalid_arguments() {
        let e: Error = WireError::NotUtf8.into();
        assert_eq!(e.hresult(), HResult::E_INVALIDARG);
    }
}
