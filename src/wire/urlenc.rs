//! Percent-encoding of command parameters such as friendly names (msnp.md §a.2).
//!
//! Servers differ in how much they encode, so we encode a superset of what anyone needs
//! (so a parameter never contains a space or line break) and decode any `%XX`.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// What [`encode`] escapes besides non-ASCII bytes (which `percent-encoding` always escapes):
/// the control characters and DEL, plus `%` and space.
const PARAM: &AsciiSet = &CONTROLS.add(b'%').add(b' ');

/// Percent-encodes `%`, space, control characters and every non-ASCII byte (as UTF-8).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, PARAM).to_string()
}

/// Decodes every `%XX` (either hex case). A `%` not followed by two hex digits is kept
/// literally, because peers are known to send unencoded `%` signs; invalid UTF-8 becomes U+FFFD.
pub fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_the_minimum_set() {
        assert_eq!(encode("Other Contacts"), "Other%20Contacts");
        assert_eq!(encode("100%"), "100%25");
        assert_eq!(encode("a\r\nb\tc\x7f"), "a%0D%0Ab%09c%7F");
        assert_eq!(encode("café"), "caf%C3%A9");
        assert_eq!(encode("plain-name_1.@{}"), "plain-name_1.@{}");
    }

    #[test]
    fn decodes_either_case_and_keeps_malformed_escapes() {
        assert_eq!(decode("Other%20Contacts"), "Other Contacts");
        assert_eq!(decode("caf%c3%a9"), "café");
        assert_eq!(decode("caf%C3%A9"), "café");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%4"), "%4");
        assert_eq!(decode("%zz%2"), "%zz%2");
        assert_eq!(decode("%%41"), "%A");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(decode("a%FFb"), "a\u{FFFD}b");
    }

    #[test]
    fn encoded_text_is_a_valid_parameter() {
        let s = encode("x y\r\nz\u{0}é%");
        assert!(s.bytes().all(|b| (0x21..0x7F).contains(&b)));
    }

    fn param_char() -> impl Strategy<Value = char> {
        let alphabet: Vec<char> = "aZ09 %\r\n\t\u{0}\u{7f}é€😀:;+{}~"
            .chars()
            .chain(['\u{80}', '\u{ffff}', '\u{10ffff}'])
            .collect();
        prop_oneof![3 => prop::sample::select(alphabet), 1 => any::<char>()]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        #[test]
        fn round_trips_and_encodes_to_a_valid_parameter(s in prop::collection::vec(param_char(), 0..24)) {
            let s: String = s.into_iter().collect();
            let encoded = encode(&s);
            prop_assert!(encoded.bytes().all(|b| (0x21..0x7F).contains(&b)), "{encoded:?}");
            prop_assert_eq!(decode(&encoded), s);
        }
    }
}
