//! Challenge answers for `CHL`/`QRY` (msnp.md §d.3–d.4), also used for Lock and Key
//! responses and the `USR MD5` password proof.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0F)]));
    }
    s
}

/// 32 lower-case hex digits of MD5(data).
pub fn md5_hex(data: &[u8]) -> String {
    hex(&md5(&[data]))
}

/// MSNP6–10 answer: hex(MD5(challenge ‖ key)). The same shape serves the Lock and Key
/// response and the `USR MD5` proof (salt ‖ password).
pub fn md5_response(challenge: &str, key: &str) -> String {
    hex(&md5(&[challenge.as_bytes(), key.as_bytes()]))
}

/// MSNP11+ answer, padding `challenge ‖ product_id` only when its length is not already a
/// multiple of 8 (pidgin, JML, yellows111; the rule msnp.md §d.4 recommends for clients).
pub fn msnp11_response(challenge: &str, product_id: &str, product_key: &str) -> String {
    msnp11(challenge, product_id, product_key, false)
}

/// MSNP11+ answer with the other padding rule (Escargot, em-msn, papyon): always append
/// `8 - len % 8` zeros, i.e. 8 of them when the length is already a multiple of 8. A server
/// should accept either, since which one Microsoft used is unknown.
pub fn msnp11_response_always_pad(challenge: &str, product_id: &str, product_key: &str) -> String {
    msnp11(challenge, product_id, product_key, true)
}

fn msnp11(challenge: &str, product_id: &str, product_key: &str, always_pad: bool) -> String {
    const M: u64 = 0x7FFF_FFFF;
    let digest = md5(&[challenge.as_bytes(), product_key.as_bytes()]);
    let h: [u32; 4] = le_words(&digest);
    let m = h.map(|w| u64::from(w) & M);

    let mut s = [challenge.as_bytes(), product_id.as_bytes()].concat();
    let rem = s.len() % 8;
    if rem != 0 || always_pad {
        s.resize(s.len() + 8 - rem, b'0');
    }

    let (mut hi, mut lo) = (0u64, 0u64);
    for pair in s.chunks_exact(8) {
        let [w0, w1] = le_words(pair).map(u64::from);
        // Each operand is < 2^33 and each multiplier < 2^31, so no product overflows.
        let mut t = (w0 * 0x0E79_A9C1) % M;
        t = (m[0] * (t + hi) + m[1]) % M;
        hi = (m[2] * ((w1 + t) % M) + m[3]) % M;
        // Deliberately unreduced (§d.4); wrapping only matters past ~2^32 rounds of input.
        lo = lo.wrapping_add(hi + t);
    }
    hi = (hi + m[1]) % M;
    lo = (lo.wrapping_add(m[3])) % M;

    // XOR the unmasked words: Escargot's use of the masked ones is its known bug (§d.5).
    let (hi, lo) = (hi as u32, lo as u32);
    let words = [h[0] ^ hi, h[1] ^ lo, h[2] ^ hi, h[3] ^ lo];
    let mut out = [0u8; 16];
    for (dst, w) in out.chunks_exact_mut(4).zip(words) {
        dst.copy_from_slice(&w.to_le_bytes());
    }
    hex(&out)
}

/// Little-endian u32 words of `bytes` (whose length is a multiple of 4, N words).
fn le_words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    let mut words = [0u32; N];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    words
}

/// Compares a received answer with the expected one: surrounding white space is ignored,
/// hex case is ignored, and the comparison is constant-time so it leaks nothing about the key.
pub fn responses_match(expected_hex: &str, given: &str) -> bool {
    let expected = expected_hex.to_ascii_lowercase();
    let given = given.trim().to_ascii_lowercase();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Exactly 32 hex digits (either case).
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::testutil::read_fixture;
    use proptest::prelude::*;

    #[test]
    fn every_fixture_vector() {
        let json: serde_json::Value = serde_json::from_slice(&read_fixture("challenge_vectors.json")).unwrap();
        let vectors = json.as_array().unwrap();
        assert_eq!(vectors.len(), 15);
        for v in vectors {
            let field = |k: &str| v[k].as_str().unwrap();
            let (chl, id, key) = (field("challenge"), field("product_id"), field("product_key"));
            let expected = field("response");
            let got = match field("algorithm") {
                "md5" => md5_response(chl, key),
                "msnp11" => {
                    // Every published vector lies where both padding rules agree.
                    assert_eq!(msnp11_response_always_pad(chl, id, key), expected);
                    msnp11_response(chl, id, key)
                }
                other => panic!("unknown algorithm {other}"),
            };
            assert_eq!(got, expected, "{v}");
            assert!(responses_match(expected, &got));
        }
    }

    #[test]
    fn msnp11_intermediate_md5() {
        assert_eq!(
            md5_hex(b"22210219642164014968YMM8C_H7KCQ2S_KL"),
            "ec4917aa5b3017159e3947f8ff981604"
        );
    }

    #[test]
    fn msnp11_padding_rules_differ_on_multiples_of_8() {
        let (chl, id, key) = ("123456789012345678901234", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL");
        assert_eq!(msnp11_response(chl, id, key), "cfd1a4febba8ec8488adc3c0916fb4fa");
        assert_eq!(
            msnp11_response_always_pad(chl, id, key),
            "948035b948c0318ad3fc5287620769f4"
        );
    }

    #[test]
    fn capture_checks() {
        assert_eq!(
            md5_response("62924aa0c13bd8e", "123456"),
            "9015608a2361311d140d17349dd61a6e"
        );
        assert_eq!(
            md5_response("59552889518292466394", "Q1P7W2E4J9R8U3S5"),
            "6a635702830d61ef0fd2edbcca52c8a0"
        );
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn matching_is_lenient_about_case_and_whitespace_only() {
        let e = "e1280df483ca2ff34bbf499add12a3a9";
        assert!(responses_match(e, e));
        assert!(responses_match(e, " E1280DF483CA2FF34BBF499ADD12A3A9\r\n"));
        assert!(responses_match(&e.to_uppercase(), e));
        assert!(!responses_match(e, "e1280df483ca2ff34bbf499add12a3a"));
        assert!(!responses_match(e, "00000000000000000000000000000000"));
        assert!(!responses_match(e, ""));
        assert!(!responses_match(e, "e1280df4 83ca2ff34bbf499add12a3a9"));
    }

    #[test]
    fn hex32() {
        assert!(is_hex32("e1280df483ca2ff34bbf499add12a3a9"));
        assert!(is_hex32("E1280DF483CA2FF34BBF499ADD12A3A9"));
        assert!(!is_hex32("e1280df483ca2ff34bbf499add12a3a"));
        assert!(!is_hex32("g1280df483ca2ff34bbf499add12a3a9"));
        assert!(!is_hex32(""));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for chl in ["", "é", "\u{10ffff}\u{10ffff}\u{10ffff}", &"9".repeat(1000)] {
            assert!(is_hex32(&msnp11_response(chl, "", "")));
            assert!(is_hex32(&msnp11_response_always_pad(chl, "ÿÿÿÿ", "k")));
        }
    }

    proptest! {
        /// Any input gives 32 hex digits, and the two MSNP11 padding rules can only differ
        /// when `challenge ‖ product_id` is already a multiple of 8 bytes long.
        #[test]
        fn any_input_gives_a_hex_answer(
            chl in prop_oneof!["[0-9]{0,40}", ".{0,40}"],
            id in ".{0,20}",
            key in ".{0,20}",
        ) {
            let (padded, always) = (msnp11_response(&chl, &id, &key), msnp11_response_always_pad(&chl, &id, &key));
            prop_assert!(is_hex32(&padded) && is_hex32(&always));
            if (chl.len() + id.len()) % 8 != 0 {
                prop_assert_eq!(&padded, &always);
            }
            let md5 = md5_response(&chl, &key);
            prop_assert!(is_hex32(&md5) && responses_match(&md5, &md5.to_uppercase()));
        }
    }
}
