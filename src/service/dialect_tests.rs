//! The service engine in each dialect, fed raw lines: the shapes of msnp8-12.md, byte
//! for byte, and the refusals of commands a dialect does not have.

use std::time::Duration;

use super::testwire::{switchboard_with, Wire, CAROL};
use crate::proto::Dialect;
use crate::testkit::{ALICE, APP, BOB, KEY, PASSWORD};
use crate::wire::challenge::{md5_response, msnp11_response};

const MODERN: [Dialect; 3] = [Dialect::Msnp10, Dialect::Msnp11, Dialect::Msnp12];

#[test]
fn sign_in_ends_with_each_dialects_ok_line_and_profile() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        let got = w.sign_in(1, ALICE, d);
        let ok = match d {
            Dialect::Msnp7 => "USR 4 OK alice@example.com Alice%20A 1",
            Dialect::Msnp8 | Dialect::Msnp9 => "USR 4 OK alice@example.com Alice%20A 1 0",
            _ => "USR 4 OK alice@example.com 1 0",
        };
        assert_eq!(got[0], ok, "{d}");
        let sbs = got.iter().any(|l| l == "SBS 0 null");
        assert_eq!(sbs, d >= Dialect::Msnp11, "{d}: {got:?}");
        let profile = got.iter().find(|l| l.starts_with("MSG Hotmail Hotmail ")).unwrap();
        assert!(profile.contains("Content-Type: text/x-msmsgsprofile"), "{d}");
        assert_eq!(profile.contains("ABCHMigrated: 1\r\n"), d >= Dialect::Msnp10, "{d}");
        assert!(profile.contains("X-Msgr-LockAndKey: enabled\r\n"), "{d}");
    }
}

#[test]
fn the_list_download_has_each_dialects_shape() {
    for d in [Dialect::Msnp8, Dialect::Msnp9] {
        let mut w = Wire::new();
        w.add_fl(ALICE, BOB);
        w.add_fl(CAROL, ALICE);
        let got = w.sign_in(1, ALICE, d);
        let syn = got.iter().position(|l| l.starts_with("SYN 5")).unwrap();
        assert_eq!(
            got[syn..],
            [
                "SYN 5 1 2 1",
                "GTC A",
                "BLP AL",
                "LSG 0 Other%20Contacts 0",
                "LST bob@example.com bob 1 0",
                "LST carol@example.com Carol%20C 8",
            ],
            "{d}"
        );
    }
    for d in MODERN {
        let mut w = Wire::new();
        w.add_fl(ALICE, BOB);
        w.add_fl(CAROL, ALICE);
        let got = w.sign_in(1, ALICE, d);
        let syn = got.iter().position(|l| l.starts_with("SYN 5")).unwrap();
        let guid = super::contact_guid(ALICE, BOB);
        let net = if d == Dialect::Msnp12 { " 1" } else { "" };
        assert_eq!(
            got[syn..],
            [
                "SYN 5 2001-10-25T00:00:00.0000000-00:00 2001-10-25T00:00:00.0000000-00:00 2 0".to_string(),
                "GTC A".into(),
                "BLP AL".into(),
                "PRP MFN Alice%20A".into(),
                format!("LST N=bob@example.com F=bob C={guid} 1{net}"),
                format!("LST N=carol@example.com F=Carol%20C 8{net}"),
            ],
            "{d}"
        );
    }
}

#[test]
fn add_up_to_msnp9_and_adc_from_msnp10_each_refused_in_the_other() {
    for d in [Dialect::Msnp8, Dialect::Msnp9] {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        w.present(2, d);
        w.present(1, d);
        let got = w.send(1, "ADD 7 FL bob@example.com bob@example.com");
        assert_eq!(
            got,
            [
                "ILN 7 NLN bob@example.com bob 1073741824",
                "ADD 7 FL 1 bob@example.com bob@example.com"
            ],
            "{d}"
        );
        assert_eq!(w.take(2), ["ADD 0 RL 0 alice@example.com Alice%20A"], "{d}");
        assert_eq!(w.send(1, "ADD 8 FL nobody@example.com x"), ["205 8"]);
        assert_eq!(w.send(1, "ADC 9 FL N=carol@example.com"), ["502 9"]);
    }
}

#[test]
fn an_add_is_answered_with_the_request_and_the_list_version() {
    // msnp.md §g.2, msnp8-12.md §e.1: the reply echoes the request, the list version
    // inserted after the list; a group only when the request had one. Group 0 is the
    // only one there is.
    for d in [Dialect::Msnp7, Dialect::Msnp8, Dialect::Msnp9] {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        assert_eq!(
            w.send(1, "ADD 7 AL Bob@Example.com My%20Bob"),
            ["ADD 7 AL 1 Bob@Example.com My%20Bob"],
            "{d}"
        );
        assert_eq!(
            w.send(1, "ADD 8 FL carol@example.com c 0"),
            ["ADD 8 FL 2 carol@example.com c 0"],
            "{d}"
        );
        assert_eq!(w.send(1, "ADD 9 FL bob@example.com bob 3"), ["224 9"], "{d}");
    }
    for d in MODERN {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        w.present(2, d);
        w.present(1, d);
        let got = w.send(1, "ADC 7 FL N=Bob@Example.com F=Bobby%21");
        let guid = super::contact_guid(ALICE, BOB);
        let mut expected = vec!["ILN 7 NLN bob@example.com bob 1073741824".to_string()];
        if d >= Dialect::Msnp11 {
            expected.push(format!("UBX bob@example.com 53\r\n{}", super::presence::EMPTY_PSM));
        }
        // The account as written, the name byte for byte, the GUID sixth.
        expected.push(format!("ADC 7 FL N=Bob@Example.com F=Bobby%21 C={guid}"));
        assert!(w.take(1).is_empty());
        assert_eq!(got, expected, "{d}");
        assert_eq!(w.take(2), ["ADC 0 RL N=alice@example.com F=Alice%20A"], "{d}");
        assert_eq!(
            w.send(1, "ADC 8 AL N=carol@example.com"),
            ["ADC 8 AL N=carol@example.com"]
        );
        assert_eq!(w.send(1, "ADC 9 FL N=nobody@example.com F=x"), ["208 9"]);
        assert_eq!(w.send(1, "ADC 10 FL N=alice@example.com F=me"), ["201 10"]);
        assert_eq!(w.send(1, "ADC 11 FL N=bob@example.com F=again"), ["215 11"]);
        assert_eq!(
            w.send(1, &format!("ADC 12 FL C={guid} 3c9d5a1e-2f4b-4e8a-9b7c-1d2e3f4a5b6c")),
            ["224 12"]
        );
        // Without F=, the reply still names the contact, so it has its six fields.
        let got = w.send(1, "ADC 14 FL N=carol@example.com");
        assert_eq!(got.last().unwrap().split(' ').count(), 6, "{got:?}");
        // ADD is gone from MSNP10: the connection is closed, as the original did.
        assert_eq!(w.send(1, "ADD 15 FL carol@example.com carol"), Vec::<String>::new());
        assert_eq!(w.closed, [1]);
    }
}

#[test]
fn rem_names_forward_list_entries_by_guid_from_msnp10() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.add_fl(ALICE, BOB);
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        let modern = d >= Dialect::Msnp10;
        let target = if modern {
            super::contact_guid(ALICE, BOB)
        } else {
            BOB.to_string()
        };
        if modern {
            assert_eq!(w.send(1, "REM 7 FL bob@example.com"), ["216 7"], "{d}: by account");
        }
        let got = w.send(1, &format!("REM 8 FL {target}"));
        let version = if modern { "" } else { "2 " };
        assert_eq!(got, [format!("REM 8 FL {version}{target}")], "{d}");
        let rl_version = if modern { "" } else { "0 " };
        assert_eq!(w.take(2), [format!("REM 0 RL {rl_version}alice@example.com")], "{d}");
        assert_eq!(
            w.send(1, &format!("REM 9 FL {target}")),
            ["216 9"],
            "{d}: not there any more"
        );
        assert_eq!(w.send(1, "REM 10 RL bob@example.com"), Vec::<String>::new());
        assert!(w.closed.contains(&1), "{d}: REM RL hangs up");
        assert!(w.s.directory().list(ALICE, "FL").is_empty());
    }
}

#[test]
fn privacy_settings_are_kept_and_answered_per_dialect() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        let version = if d >= Dialect::Msnp10 { "" } else { "1 " };
        assert_eq!(w.send(1, "BLP 7 BL"), [format!("BLP 7 {version}BL")], "{d}");
        assert_eq!(w.send(1, "BLP 8 BL"), ["218 8"], "{d}: already so");
        assert_eq!(w.send(1, "GTC 9 X"), ["201 9"], "{d}");
        assert_eq!(w.s.directory().setting(ALICE, "BLP"), "BL");
        let again = w.sign_in(3, ALICE, d);
        assert!(
            again.iter().any(|l| l.starts_with("BLP") && l.ends_with(" BL")),
            "{d}: {again:?}"
        );
    }
}

#[test]
fn a_new_friendly_name_is_echoed_byte_for_byte_and_watchers_see_it() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.add_fl(BOB, ALICE);
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        w.present(2, d);
        w.present(1, d);
        w.take(2);
        let (request, reply) = if d >= Dialect::Msnp10 {
            ("PRP 7 MFN Al%21ce", "PRP 7 MFN Al%21ce")
        } else {
            ("REA 7 alice@example.com Al%21ce", "REA 7 1 alice@example.com Al%21ce")
        };
        assert_eq!(w.send(1, request), [reply], "{d}");
        assert_eq!(w.s.directory().account(ALICE).unwrap().friendly_name, "Al!ce");
        let caps = if d >= Dialect::Msnp8 { " 1073741824" } else { "" };
        assert_eq!(w.take(2), [format!("NLN NLN alice@example.com Al!ce{caps}")], "{d}");
        if d >= Dialect::Msnp10 {
            // REA on oneself is gone from MSNP10: closed, as the original did.
            assert!(w.send(1, "REA 8 alice@example.com x").is_empty(), "{d}");
            assert!(w.closed.contains(&1), "{d}");
        } else {
            assert_eq!(w.send(1, "PRP 8 MFN x"), ["502 8"], "{d}");
            assert_eq!(
                w.send(1, "REA 9 bob@example.com Bobby"),
                ["216 9"],
                "a name is kept only for a forward-list contact (group_tests.rs)"
            );
        }
    }
}

#[test]
fn personal_messages_reach_msnp11_watchers_only() {
    let mut w = Wire::new();
    w.add_fl(BOB, ALICE);
    w.add_fl(CAROL, ALICE);
    w.sign_in(1, ALICE, Dialect::Msnp11);
    w.sign_in(2, BOB, Dialect::Msnp12);
    w.sign_in(3, CAROL, Dialect::Msnp10);
    for c in [1, 2, 3] {
        w.present(c, Dialect::Msnp11);
    }
    w.take(2);
    w.take(3);
    let psm = "<Data><PSM>at lunch &amp; back</PSM><CurrentMedia/></Data>";
    let got = w.send_bytes(1, format!("UUX 8 {}\r\n{psm}", psm.len()).as_bytes());
    assert_eq!(got, ["UUX 8 0"]);
    assert_eq!(w.take(2), [format!("UBX alice@example.com {}\r\n{psm}", psm.len())]);
    assert!(w.take(3).is_empty(), "MSNP10 has no UBX");
    // A watcher who signs in later gets it after the ILN.
    w.sign_in(4, BOB, Dialect::Msnp11);
    let got = w.present(4, Dialect::Msnp11);
    assert_eq!(
        got[2],
        format!("UBX alice@example.com {}\r\n{psm}", psm.len()),
        "{got:?}"
    );
    let got = w.send_bytes(1, b"UUX 9 6\r\nnot-xm");
    assert!(got.is_empty() && w.closed.contains(&1), "malformed: closed");
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp10);
    assert_eq!(w.send_bytes(1, b"UUX 8 7\r\n<Data/>"), ["502 8"]);
}

#[test]
fn gcf_sends_the_shields_policy_from_msnp11() {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp11);
    let got = w.send(1, "GCF 6 Shields.xml");
    assert_eq!(got, [format!("GCF 6 Shields.xml 145\r\n{}", super::ns::SHIELDS)]);
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp10);
    assert_eq!(w.send(1, "GCF 6 Shields.xml"), ["502 6"]);
}

#[test]
fn png_is_answered_with_the_seconds_from_msnp9() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        let expected = if d >= Dialect::Msnp9 { "QNG 60" } else { "QNG" };
        assert_eq!(w.send(1, "PNG"), [expected], "{d}");
    }
}

#[test]
fn a_switchboard_needs_a_visible_presence() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        assert_eq!(w.send(1, "XFR 7 SB"), ["913 7"], "{d}: before CHG");
        w.send(1, "CHG 8 HDN 0");
        assert_eq!(w.send(1, "XFR 9 SB"), ["913 9"], "{d}: hidden");
        w.present(1, d);
        assert!(
            w.send(1, "XFR 10 SB")[0].starts_with("XFR 10 SB 127.0.0.1:1864 CKI "),
            "{d}"
        );
    }
}

#[test]
fn each_dialect_refuses_the_other_sign_in() {
    let mut w = Wire::new();
    w.s.open(1, w.now);
    w.send(1, "VER 1 MSNP8 CVR0");
    assert!(w.send(1, "INF 2").is_empty());
    assert!(w.closed.contains(&1), "INF on MSNP8 hangs up");
    w.s.open(2, w.now);
    w.send(2, "VER 1 MSNP11 CVR0");
    assert!(w.send(2, "USR 3 MD5 I alice@example.com").is_empty());
    assert!(w.closed.contains(&2), "MD5 on MSNP11 hangs up");
    w.s.open(3, w.now);
    w.send(3, "VER 1 MSNP7 CVR0");
    assert_eq!(w.send(3, "USR 3 TWN I alice@example.com"), ["911 3"]);
    w.s.open(4, w.now);
    w.send(4, "VER 1 MSNP8 CVR0");
    assert_eq!(w.send(4, "USR 3 TWN I alice"), ["911 3"], "no @");
}

#[test]
fn a_ticket_is_refused_twice_and_for_another_account() {
    let mut w = Wire::new();
    let ticket = w.s.passport_login(ALICE, PASSWORD, w.now).unwrap();
    for (conn, user) in [(1, BOB), (2, ALICE)] {
        w.s.open(conn, w.now);
        w.send(conn, "VER 1 MSNP11 CVR0");
        w.send(conn, &format!("USR 3 TWN I {user}"));
        assert_eq!(w.send(conn, &format!("USR 4 TWN S {ticket}")), ["911 4"], "{user}");
        assert!(w.closed.contains(&conn));
    }
    assert_eq!(
        w.send(3, "USR 4 TWN S t=forged"),
        Vec::<String>::new(),
        "an unknown connection"
    );
}

#[test]
fn pings_take_the_dialects_pair_and_algorithm_and_only_msnp7_insists() {
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        let got = w.present(1, d);
        let chl = got.iter().find(|l| l.starts_with("CHL 0 ")).unwrap();
        let challenge = chl.rsplit(' ').next().unwrap();
        let (id, digest) = if d >= Dialect::Msnp11 {
            let id = "PROD0101{0RM?UBW";
            (id, msnp11_response(challenge, id, "CFHUR$52U_{VIX5T"))
        } else {
            ("PROD0038W!61ZTF9", md5_response(challenge, "VT6PX?UQTM4WM%YR"))
        };
        assert_eq!(w.send(1, &format!("QRY 7 {id} 32\r\n{digest}")), ["QRY 7"], "{d}");
        // An app's answer to a requested challenge is MD5 with its key in every dialect.
        let got = w.send(1, "CHL 8");
        let app = got[0].rsplit(' ').next().unwrap().to_string();
        assert_eq!(
            w.send(1, &format!("QRY 9 {APP} 32\r\n{}", md5_response(&app, KEY))),
            ["QRY 9"],
            "{d}"
        );

        // A ping left unanswered ends only an MSNP7 connection.
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        w.present(1, d);
        w.now += Duration::from_secs(51);
        w.s.tick(w.now);
        w.pump();
        assert_eq!(w.closed.contains(&1), d == Dialect::Msnp7, "{d}");
    }
}

#[test]
fn presence_carries_what_each_watcher_can_read() {
    let obj = "%3Cmsnobj%20Creator%3D%22bob%40example.com%22%2F%3E";
    for d in Dialect::ALL {
        let mut w = Wire::new();
        w.add_fl(ALICE, BOB);
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, Dialect::Msnp12);
        w.send(2, &format!("CHG 6 AWY 1073791020 {obj}"));
        let got = w.present(1, d);
        let expected = match d {
            Dialect::Msnp7 => "ILN 6 AWY bob@example.com bob".to_string(),
            Dialect::Msnp8 => "ILN 6 AWY bob@example.com bob 1073791020".to_string(),
            _ => format!("ILN 6 AWY bob@example.com bob 1073791020 {obj}"),
        };
        assert_eq!(got[1], expected, "{d}: {got:?}");
        assert_eq!(
            got[2].starts_with("UBX bob@example.com 53"),
            d >= Dialect::Msnp11,
            "{d}"
        );
        w.send(2, "CHG 7 HDN 1073791020");
        assert_eq!(w.take(1), ["FLN bob@example.com"], "{d}: hidden reads as offline");
    }
}

#[test]
fn msnp12_switchboards_tell_capabilities_in_iro_and_joi() {
    for (d, caps) in [(Dialect::Msnp11, ""), (Dialect::Msnp12, " 1073741824")] {
        let mut w = Wire::new();
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        w.present(1, d);
        w.present(2, d);
        let xfr = w.send(1, "XFR 7 SB");
        let cookie = xfr[0].rsplit(' ').next().unwrap().to_string();
        w.s.open(10, w.now);
        w.send(10, &format!("USR 1 alice@example.com {cookie}"));
        assert_eq!(
            w.send(10, "CAL 2 bob@example.com")[0].split(' ').nth(2),
            Some("RINGING")
        );
        let rng = w.take(2).pop().unwrap();
        let parts: Vec<&str> = rng.split(' ').collect();
        w.s.open(11, w.now);
        let got = w.send(11, &format!("ANS 1 bob@example.com {} {}", parts[4], parts[1]));
        assert_eq!(
            got,
            [
                format!("IRO 1 1 1 alice@example.com Alice%20A{caps}"),
                "ANS 1 OK".into()
            ],
            "{d}"
        );
        assert_eq!(w.take(10), [format!("JOI bob@example.com bob{caps}")], "{d}");
    }
}

#[test]
fn a_message_sent_before_the_callee_joins_is_acknowledged_and_delivered_on_join() {
    let text = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello";
    let mut w = Wire::new();
    let (caller, callee) = switchboard_with(&mut w, |w| {
        let got = w.send(10, &format!("MSG 3 A {}\r\n{text}", text.len()));
        assert_eq!(got, ["ACK 3"], "msnp11-sdk sends before JOI and waits for this");
    });
    let got = w.take(callee);
    assert_eq!(
        got[2],
        format!("MSG alice@example.com Alice%20A {}\r\n{text}", text.len()),
        "{got:?}"
    );
    assert_eq!(w.take(caller), ["JOI bob@example.com bob"]);
    // Alone with nobody called, a message still cannot go anywhere.
    let mut w = Wire::new();
    w.sign_in(1, ALICE, Dialect::Msnp11);
    w.present(1, Dialect::Msnp11);
    let cookie = w.send(1, "XFR 7 SB")[0].rsplit(' ').next().unwrap().to_string();
    w.s.open(10, w.now);
    w.send(10, &format!("USR 1 alice@example.com {cookie}"));
    assert_eq!(w.send(10, "MSG 2 A 2\r\nhi"), ["NAK 2"]);
}
