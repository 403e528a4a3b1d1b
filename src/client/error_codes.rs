//! What the MSNP error codes mean (msnp.md §a.5, msnp8-12.md §l), so a refusal reaches
//! the app with its number and its meaning, and which HRESULT a switchboard's refusal
//! of `CAL` becomes (docs/decisions.md, "Causes kept").

use crate::hresult::HResult;

/// The meaning of an MSNP error code, as the references give it; codes they do not
/// name are "unknown error".
pub fn msnp_error_meaning(code: u16) -> &'static str {
    match code {
        200 => "syntax error",
        201 => "invalid parameter",
        205 => "unknown user",
        206 => "domain name missing",
        207 => "already signed in",
        208 => "invalid user name",
        209 => "friendly name refused",
        210 => "list full",
        215 => "already there",
        216 => "not on that list",
        217 => "user not online",
        218 => "already in that mode",
        219 => "already in the opposite list",
        223 => "too many groups",
        224 => "invalid group",
        225 => "contact not in that group",
        226 => "group not empty",
        228 => "group name already exists",
        229 => "group name too long",
        230 => "group 0 cannot be removed",
        280 => "switchboard failed",
        281 => "transfer to switchboard failed",
        282 => "malformed P2P message",
        300 => "required fields missing",
        302 => "not signed in",
        403 => "contact list error",
        500 => "internal server error",
        502 => "command disabled",
        540 => "challenge response failed",
        600 => "server busy",
        601 => "server unavailable",
        603 => "database error",
        604 => "server going down",
        710 => "bad CVR parameters",
        713 => "calling too rapidly",
        715 | 731 => "not expected",
        800 => "changing too rapidly",
        910 | 912 | 918 | 919 | 921 | 922 => "server too busy",
        911 => "authentication failed",
        913 => "not allowed while offline or hidden",
        920 => "not accepting new users",
        923 => "Kids Passport without parental consent",
        924 => "Passport account not verified",
        928 => "bad ticket",
        931 => "account not on this server",
        _ => "unknown error",
    }
}

/// `<code> (<meaning>)`, as messages quote a refusal.
pub(super) fn quoted(code: u16) -> String {
    format!("{code} ({})", msnp_error_meaning(code))
}

/// The HRESULT of an invitation whose `CAL` the switchboard refused with `code`:
/// offline (217, and 216 as clients read it) and unknown (205) users are
/// `MSGR_E_NOT_LOGGED_ON`, the code `Invite` documents for "the invited user is not
/// logged on"; a malformed name (208) is `E_INVALIDARG`; anything else, among them
/// 207/215 (already there) and 713 (too many calls), leaves the invitation unsent.
pub(super) fn cal_refusal(code: u16) -> HResult {
    match code {
        205 | 216 | 217 => HResult::MSGR_E_NOT_LOGGED_ON,
        208 => HResult::E_INVALIDARG,
        _ => HResult::SR_INVITATION_SEND_FAILURE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_of_the_invitation_flows_have_their_reference_meanings() {
        assert_eq!(quoted(205), "205 (unknown user)");
        assert_eq!(quoted(207), "207 (already signed in)");
        assert_eq!(quoted(208), "208 (invalid user name)");
        assert_eq!(quoted(215), "215 (already there)");
        assert_eq!(quoted(216), "216 (not on that list)");
        assert_eq!(quoted(217), "217 (user not online)");
        assert_eq!(quoted(911), "911 (authentication failed)");
        assert_eq!(quoted(999), "999 (unknown error)");
    }

    #[test]
    fn cal_refusals_map_to_the_documented_invite_errors() {
        for (code, hr) in [
            (205, HResult::MSGR_E_NOT_LOGGED_ON),
            (216, HResult::MSGR_E_NOT_LOGGED_ON),
            (217, HResult::MSGR_E_NOT_LOGGED_ON),
            (208, HResult::E_INVALIDARG),
            (207, HResult::SR_INVITATION_SEND_FAILURE),
            (215, HResult::SR_INVITATION_SEND_FAILURE),
            (713, HResult::SR_INVITATION_SEND_FAILURE),
        ] {
            assert_eq!(cal_refusal(code), hr, "{code}");
        }
    }
}
