//! Percent-encoding of command parameters such as friendly names (msnp.md §a.2).
//!
//! Servers differ in how much they encode, so we encode a superset of what anyone needs
//! (so a parameter never contains a space or line break) and decode any `%XX`.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Percent-encodes `%`, space, control characters and every non-ASCII byte (as UTF-8).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b == b'%' || b == b' ' || !(0x20..0x7F).contains(&b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Decodes every `%XX` (either hex case). A `%` not followed by two hex digits is kept
/// literally, because peers are known to send unencoded `%` signs; invalid UTF-8 becomes U+FFFD.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::XorShift;

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

    #[test]
    fn round_trips_many_strings() {
        let alphabet: Vec<char> = "aZ09 %\r\n\t\u{0}\u{7f}é€😀:;+{}~"
            .chars()
            .chain(['\u{80}', '\u{ffff}', '\u{10ffff}'])
            .collect();
        let mut rng = XorShift::new(0x5eed_1234);
        for _ in 0..5000 {
            let len = rng.below(24);
            let s: String = (0..len)
                .map(|_| {
                    if rng.below(4) == 0 {
                        char::from_u32(rng.next_u32() % 0x11_0000).unwrap_or('?')
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            assert_eq!(decode(&encode(&s)), s, "{s:?}");
        }
    }
}
