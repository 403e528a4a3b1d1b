//! What a shared trace or log hides: the fields that prove a password or a key, or let
//! whoever reads them in: a `USR … S` proof or Passport ticket, a switchboard cookie
//! (in `XFR`, `RNG`, and the `USR`/`ANS` that redeem it), the payload of a `QRY`
//! (the answer to a Lock and Key or MSNP11 challenge). One place, so that
//! `msgr serve --trace`, every Python trace, the conformance suite's wire logs and the
//! `msgr.wire` log hide the same things.

use super::{Command, Direction};

/// What a hidden field is shown as.
pub const HIDDEN: &str = "***";

/// The index in `args` (TrID first, as a trace keeps them) of the one secret field of
/// `name` sent in `direction`, if it has one.
pub fn secret_field(name: &str, args: &[impl AsRef<str>], direction: Direction) -> Option<usize> {
    let arg = |i: usize| args.get(i).map(AsRef::as_ref);
    match (direction, name) {
        // USR t TWN|MD5 S <ticket or proof>
        (Direction::ClientToServer, "USR") if args.len() >= 4 && arg(2) == Some("S") => Some(3),
        // switchboard USR t <account> <cookie>
        (Direction::ClientToServer, "USR") if args.len() == 3 && arg(1).is_some_and(|a| a.contains('@')) => Some(2),
        // ANS t <account> <cookie> <session>
        (Direction::ClientToServer, "ANS") if args.len() >= 3 => Some(2),
        // XFR t SB <address> CKI <cookie>
        (Direction::ServerToClient, "XFR") if args.len() >= 5 && arg(3) == Some("CKI") => Some(4),
        // RNG <session> <address> CKI <cookie> <caller> <name>
        (Direction::ServerToClient, "RNG") if args.len() >= 4 && arg(2) == Some("CKI") => Some(3),
        _ => None,
    }
}

/// Whether the payload of `name` is hidden (a `QRY`'s, the challenge answer).
pub fn secret_payload(name: &str) -> bool {
    name == "QRY"
}

/// The command line of `cmd` (no CR LF, no payload) with its secret shown as `***`.
pub fn masked_line(cmd: &Command, direction: Direction) -> String {
    let hide = secret_field(&cmd.name, &cmd.args, direction);
    let mut line = cmd.name.clone();
    for (i, arg) in cmd.args.iter().enumerate() {
        line.push(' ');
        line.push_str(if Some(i) == hide { HIDDEN } else { arg });
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::{ClientToServer as Up, ServerToClient as Down};

    fn line(text: &str, direction: Direction) -> String {
        let mut parts = text.split(' ');
        let name = parts.next().unwrap();
        masked_line(&Command::new(name, parts).unwrap(), direction)
    }

    #[test]
    fn each_secret_is_hidden_and_nothing_else() {
        let cases = [
            ("USR 4 MD5 S 0123456789abcdef0123456789abcdef", Up, "USR 4 MD5 S ***"),
            ("USR 4 TWN S t=ticket&p=profile", Up, "USR 4 TWN S ***"),
            (
                "USR 1 alice@example.com 17262740.1050826919.32308",
                Up,
                "USR 1 alice@example.com ***",
            ),
            (
                "ANS 1 bob@example.com 849102291.520491932 11752013",
                Up,
                "ANS 1 bob@example.com *** 11752013",
            ),
            (
                "XFR 10 SB 127.0.0.1:1864 CKI 17262740.1050826919.32308",
                Down,
                "XFR 10 SB 127.0.0.1:1864 CKI ***",
            ),
            (
                "RNG 11752013 127.0.0.1:1864 CKI 849102291.520491932 alice@example.com Alice",
                Down,
                "RNG 11752013 127.0.0.1:1864 CKI *** alice@example.com Alice",
            ),
            // The challenge and the server's side of a sign-in are not secrets.
            (
                "USR 3 MD5 S 1013928519.693957190",
                Down,
                "USR 3 MD5 S 1013928519.693957190",
            ),
            ("USR 3 MD5 I alice@example.com", Up, "USR 3 MD5 I alice@example.com"),
            (
                "USR 1 OK alice@example.com Alice",
                Down,
                "USR 1 OK alice@example.com Alice",
            ),
            ("CHL 0 15570131571988941333", Down, "CHL 0 15570131571988941333"),
            (
                "XFR 3 NS 127.0.0.1:1863 0 127.0.0.1:1863",
                Down,
                "XFR 3 NS 127.0.0.1:1863 0 127.0.0.1:1863",
            ),
        ];
        for (text, direction, shown) in cases {
            assert_eq!(line(text, direction), shown, "{text}");
        }
    }

    #[test]
    fn short_commands_hide_nothing_and_do_not_panic() {
        for text in ["USR", "USR 1", "USR 1 MD5 S", "ANS 1 a", "XFR 1 SB a", "RNG 1 a"] {
            for direction in [Up, Down] {
                let mut parts = text.split(' ');
                let name = parts.next().unwrap();
                let args: Vec<&str> = parts.collect();
                assert_eq!(secret_field(name, &args, direction), None, "{text}");
            }
        }
        assert!(secret_payload("QRY") && !secret_payload("MSG"));
    }
}
