//! Groups on the wire in each dialect (msnp.md §b.8, §g.2; msnp8-12.md §d.4–§d.5,
//! §e.1–§e.4): the shapes byte for byte, every refusal, and what the next list
//! download shows.

use super::groups::{group_guid, MAX_GROUPS};
use super::testwire::{Wire, CAROL};
use crate::proto::Dialect;
use crate::testkit::{ALICE, BOB};

const OLD: [Dialect; 2] = [Dialect::Msnp8, Dialect::Msnp9];
const MODERN: [Dialect; 3] = [Dialect::Msnp10, Dialect::Msnp11, Dialect::Msnp12];

/// The list version Alice's lists are at now.
fn version(w: &Wire) -> u32 {
    w.s.dir.list_version(ALICE)
}

/// Alice signed in on connection 1 in `d`, her list download dropped.
fn alice(d: Dialect) -> Wire {
    let mut w = Wire::new();
    w.sign_in(1, ALICE, d);
    w
}

/// The lines after the `SYN` reply of a new sign-in of Alice's in `d` (connection 2).
fn download(w: &mut Wire, d: Dialect) -> Vec<String> {
    let got = w.sign_in(2, ALICE, d);
    let syn = got.iter().position(|l| l.starts_with("SYN 5")).unwrap();
    got[syn..].to_vec()
}

#[test]
fn up_to_msnp9_groups_are_numbers_and_replies_carry_the_list_version() {
    for d in OLD {
        let mut w = alice(d);
        let v = version(&w);
        assert_eq!(
            w.send(1, "ADG 10 Friends 0"),
            [format!("ADG 10 {} Friends 1 0", v + 1)],
            "{d}"
        );
        assert_eq!(
            w.send(1, "ADG 11 Best%20Friends 0"),
            [format!("ADG 11 {} Best%20Friends 2 0", v + 2)]
        );
        // A new contact straight into group 1; then into group 2 as well.
        let added = w.send(1, "ADD 12 FL bob@example.com Bob 1");
        assert_eq!(
            added,
            [format!("ADD 12 FL {} bob@example.com Bob 1", v + 4)],
            "{d}: entry and group, one batch"
        );
        assert_eq!(
            w.send(1, "ADD 13 FL bob@example.com Bob 2"),
            [format!("ADD 13 FL {} bob@example.com Bob 2", v + 5)]
        );
        assert_eq!(
            w.send(1, "ADD 14 FL bob@example.com Bob 2"),
            ["215 14"],
            "already in it"
        );
        assert_eq!(w.send(1, "REG 15 2 Work 0"), [format!("REG 15 {} 2 Work 0", v + 6)]);
        assert_eq!(
            download(&mut w, d),
            [
                format!("SYN 5 {} 1 3", v + 6),
                "GTC A".into(),
                "BLP AL".into(),
                "LSG 0 Other%20Contacts 0".into(),
                "LSG 1 Friends 0".into(),
                "LSG 2 Work 0".into(),
                "LST bob@example.com bob 1 1,2".into(),
            ],
            "{d}"
        );
        // Out of group 1 only, then out of the list: in no group, then gone.
        assert_eq!(
            w.send(2, "REM 16 FL bob@example.com 1"),
            [format!("REM 16 FL {} bob@example.com 1", v + 7)]
        );
        assert_eq!(w.send(2, "REM 17 FL bob@example.com 1"), ["225 17"], "{d}: not in it");
        assert_eq!(
            w.send(2, "RMG 18 2"),
            [format!("RMG 18 {} 2", v + 8)],
            "{d}: a group with members goes"
        );
        assert!(
            download(&mut w, d).contains(&"LST bob@example.com bob 1 0".to_string()),
            "{d}: in no group is 0"
        );
    }
}

#[test]
fn group_refusals_up_to_msnp9() {
    for d in OLD {
        let mut w = alice(d);
        w.send(1, "ADG 10 Friends 0");
        assert_eq!(w.send(1, "ADG 11 Friends 0"), ["228 11"], "{d}: the name is taken");
        assert_eq!(w.send(1, "ADG 12 Other%20Contacts 0"), ["228 12"], "group 0's name too");
        assert_eq!(
            w.send(1, &format!("ADG 13 {} 0", "x".repeat(62))),
            ["229 13"],
            "too long"
        );
        assert_eq!(w.send(1, "ADG 14 %20 0"), ["201 14"], "only a space");
        assert_eq!(w.send(1, "RMG 15 0"), ["230 15"], "{d}: group 0 stays");
        assert_eq!(w.send(1, "RMG 16 7"), ["224 16"], "no group 7");
        assert_eq!(w.send(1, "RMG 17 one"), ["224 17"], "not a number");
        assert_eq!(w.send(1, "REG 18 7 Work 0"), ["224 18"]);
        assert_eq!(
            w.send(1, "REG 19 0 Friends 0"),
            ["228 19"],
            "group 0 renamed to a taken name"
        );
        assert_eq!(
            w.send(1, "ADD 20 FL bob@example.com Bob 7"),
            ["224 20"],
            "into no such group"
        );
        assert_eq!(w.send(1, "REM 21 FL bob@example.com 1"), ["216 21"], "not on the list");
        w.send(1, "ADD 22 FL bob@example.com Bob");
        assert_eq!(w.send(1, "REM 23 FL bob@example.com 1"), ["225 23"], "{d}: in no group");
        assert_eq!(w.send(1, "REM 24 FL bob@example.com 7"), ["224 24"]);
        assert_eq!(
            w.send(1, "REM 25 AL bob@example.com 1"),
            ["201 25"],
            "groups are for FL"
        );
        // Group 0 may be renamed, and the name is then free for another group.
        let v = version(&w);
        assert_eq!(w.send(1, "REG 26 0 Misc 0"), [format!("REG 26 {} 0 Misc 0", v + 1)]);
        assert_eq!(
            w.send(1, "ADG 27 Other%20Contacts 0"),
            [format!("ADG 27 {} Other%20Contacts 2 0", v + 2)]
        );
    }
}

#[test]
fn at_most_thirty_groups_besides_group_zero() {
    let mut w = alice(Dialect::Msnp9);
    for n in 0..MAX_GROUPS {
        assert!(
            w.send(1, &format!("ADG {} g{n} 0", 10 + n))[0].starts_with("ADG "),
            "group {n}"
        );
    }
    assert_eq!(w.send(1, "ADG 99 one-more 0"), ["223 99"]);
    // Room again once one goes; a new group takes the number after the highest.
    w.send(1, "RMG 100 5");
    let v = version(&w);
    assert_eq!(w.send(1, "ADG 101 again 0"), [format!("ADG 101 {} again 31 0", v + 1)]);
}

#[test]
fn msnp7_lists_groups_with_index_and_total_and_fl_members_with_theirs() {
    let d = Dialect::Msnp7;
    let mut w = alice(d);
    w.send(1, "ADG 10 Friends 0");
    w.send(1, "ADD 11 FL bob@example.com Bob 1");
    w.send(1, "ADD 12 AL bob@example.com Bob");
    let v = version(&w);
    let got = download(&mut w, d);
    assert_eq!(
        got,
        [
            format!("SYN 5 {v}"),
            format!("GTC 5 {v} A"),
            format!("BLP 5 {v} AL"),
            format!("LSG 5 {v} 1 2 0 Other%20Contacts 0"),
            format!("LSG 5 {v} 2 2 1 Friends 0"),
            format!("LST 5 FL {v} 1 1 bob@example.com bob 1"),
            format!("LST 5 AL {v} 1 1 bob@example.com bob"),
            format!("LST 5 BL {v} 0 0"),
            format!("LST 5 RL {v} 0 0"),
        ]
    );
    assert_eq!(w.send(2, "RMG 13 1"), [format!("RMG 13 {} 1", v + 1)]);
}

#[test]
fn from_msnp10_groups_are_guids_and_replies_carry_1() {
    for d in MODERN {
        let mut w = alice(d);
        let (friends, work) = (group_guid(ALICE, 1), group_guid(ALICE, 2));
        assert_eq!(
            w.send(1, "ADG 10 Friends"),
            [format!("ADG 10 1 Friends {friends}")],
            "{d}"
        );
        assert_eq!(w.send(1, "ADG 11 Work"), [format!("ADG 11 1 Work {work}")]);
        let added = w.send(1, "ADC 12 FL N=bob@example.com F=Bob");
        let contact = super::contact_guid(ALICE, BOB);
        assert_eq!(added, [format!("ADC 12 FL N=bob@example.com F=Bob C={contact}")]);
        let joined = format!("ADC 13 FL C={contact} {friends}");
        assert_eq!(w.send(1, &joined), std::slice::from_ref(&joined), "{d}: echoed");
        assert_eq!(w.send(1, &joined.replace("13", "14")), ["215 14"], "already in it");
        // A new contact straight into a group: the group GUID is echoed after C=.
        let carol = super::contact_guid(ALICE, CAROL);
        assert_eq!(
            w.send(1, &format!("ADC 15 FL N=carol@example.com F=Carol {work}")),
            [format!("ADC 15 FL N=carol@example.com F=Carol C={carol} {work}")]
        );
        let rename = w.send(1, &format!("REG 16 {work} Colleagues"));
        assert_eq!(rename, [format!("REG 16 1 Colleagues {work}")], "{d}: the SDK's shape");
        let net = if d == Dialect::Msnp12 { " 1" } else { "" };
        let got = download(&mut w, d);
        assert_eq!(
            got[4..],
            [
                format!("LSG Friends {friends}"),
                format!("LSG Colleagues {work}"),
                format!("LST N=bob@example.com F=bob C={contact} 1{net} {friends}"),
                format!("LST N=carol@example.com F=Carol%20C C={carol} 1{net} {work}"),
            ],
            "{d}: no group 0"
        );
        assert!(got[0].ends_with(" 2 2"), "{d}: two contacts, two groups: {}", got[0]);
        let leave = format!("REM 17 FL {contact} {friends}");
        assert_eq!(w.send(2, &leave), std::slice::from_ref(&leave), "{d}");
        assert_eq!(w.send(2, &leave.replace("17", "18")), ["225 18"]);
        assert_eq!(w.send(2, &format!("RMG 19 {work}")), [format!("RMG 19 1 {work}")]);
        let got = download(&mut w, d);
        assert!(
            got.contains(&format!("LST N=bob@example.com F=bob C={contact} 1{net}")),
            "{d}: {got:?}"
        );
    }
}

#[test]
fn group_refusals_from_msnp10_use_the_codes_msnp11_sdk_knows() {
    for d in MODERN {
        let mut w = alice(d);
        let friends = group_guid(ALICE, 1);
        w.send(1, "ADG 10 Friends");
        w.send(1, "ADC 11 FL N=bob@example.com F=Bob");
        let contact = super::contact_guid(ALICE, BOB);
        let unknown = group_guid(ALICE, 9);
        assert_eq!(w.send(1, "ADG 12 Friends"), ["228 12"], "{d}");
        assert_eq!(w.send(1, &format!("RMG 13 {unknown}")), ["224 13"]);
        assert_eq!(w.send(1, "RMG 14 0"), ["224 14"], "{d}: no group 0 from MSNP10");
        assert_eq!(w.send(1, &format!("REG 15 {unknown} Work")), ["224 15"]);
        assert_eq!(w.send(1, &format!("ADC 16 FL C={contact} {unknown}")), ["224 16"]);
        assert_eq!(
            w.send(1, &format!("ADC 17 FL C={} {friends}", group_guid(BOB, 1))),
            ["208 17"],
            "no such contact"
        );
        assert_eq!(
            w.send(1, &format!("ADC 18 FL C={contact}")),
            ["201 18"],
            "C= needs a group"
        );
        assert_eq!(
            w.send(1, &format!("ADC 19 AL N=carol@example.com {friends}")),
            ["201 19"],
            "groups are for FL"
        );
        assert_eq!(w.send(1, &format!("REM 20 FL {contact} {unknown}")), ["224 20"]);
        assert_eq!(w.send(1, &format!("REM 21 FL {contact} {friends}")), ["225 21"]);
        assert_eq!(
            w.send(1, &format!("REM 22 FL {unknown} {friends}")),
            ["216 22"],
            "no such contact"
        );
    }
}

#[test]
fn leaving_the_forward_list_leaves_every_group() {
    let mut w = alice(Dialect::Msnp9);
    w.send(1, "ADG 10 Friends 0");
    w.send(1, "ADD 11 FL bob@example.com Bob 1");
    let v = version(&w);
    assert_eq!(
        w.send(1, "REM 12 FL bob@example.com"),
        [format!("REM 12 FL {} bob@example.com", v + 1)]
    );
    assert!(w.s.dir.groups().member_of(ALICE, BOB).is_empty());
    w.send(1, "ADD 13 FL bob@example.com Bob");
    assert!(download(&mut w, Dialect::Msnp9).contains(&"LST bob@example.com bob 1 0".to_string()));
}

#[test]
fn groups_made_in_one_dialect_show_in_another() {
    let mut w = alice(Dialect::Msnp9);
    w.send(1, "ADG 10 Friends 0");
    w.send(1, "ADD 11 FL bob@example.com Bob 1");
    let got = download(&mut w, Dialect::Msnp11);
    let (friends, contact) = (group_guid(ALICE, 1), super::contact_guid(ALICE, BOB));
    assert!(got.contains(&format!("LSG Friends {friends}")), "{got:?}");
    assert!(
        got.contains(&format!("LST N=bob@example.com F=bob C={contact} 1 {friends}")),
        "{got:?}"
    );
}

#[test]
fn up_to_msnp9_rea_on_a_contact_keeps_a_name_for_them() {
    for d in [Dialect::Msnp7, Dialect::Msnp8, Dialect::Msnp9] {
        let mut w = alice(d);
        assert_eq!(
            w.send(1, "REA 10 bob@example.com Bobby"),
            ["216 10"],
            "{d}: not on the list"
        );
        w.send(1, "ADD 11 FL bob@example.com bob@example.com");
        let v = version(&w);
        assert_eq!(
            w.send(1, "REA 12 bob@example.com Bobby%20B"),
            [format!("REA 12 {} bob@example.com Bobby%20B", v + 1)],
            "{d}: the name as sent"
        );
        assert_eq!(
            w.send(1, "REA 13 bob@example.com a%0Ab"),
            ["209 13"],
            "{d}: a name it does not keep"
        );
        let got = download(&mut w, d);
        let shown = if d == Dialect::Msnp7 {
            format!("LST 5 FL {} 1 1 bob@example.com Bobby%20B 0", v + 1)
        } else {
            "LST bob@example.com Bobby%20B 1 0".to_string()
        };
        assert!(got.contains(&shown), "{d}: {got:?}");
        // Off the list and back: the contact's own name again.
        w.send(2, "REM 14 FL bob@example.com");
        w.send(2, "ADD 15 FL bob@example.com bob@example.com");
        assert!(!download(&mut w, d).iter().any(|l| l.contains("Bobby")), "{d}");
    }
}

#[test]
fn from_msnp10_sbp_keeps_a_name_for_a_contact() {
    for d in MODERN {
        let mut w = alice(d);
        w.send(1, "ADC 10 FL N=bob@example.com F=bob@example.com");
        let contact = super::contact_guid(ALICE, BOB);
        let set = format!("SBP 11 {contact} MFN Bobby%21");
        assert_eq!(w.send(1, &set), std::slice::from_ref(&set), "{d}: echoed as sent");
        let net = if d == Dialect::Msnp12 { " 1" } else { "" };
        assert!(
            download(&mut w, d).contains(&format!("LST N=bob@example.com F=Bobby! C={contact} 1{net}")),
            "{d}"
        );
        assert_eq!(
            w.send(2, &format!("SBP 12 {} MFN X", group_guid(ALICE, 1))),
            ["208 12"],
            "no such contact"
        );
        assert_eq!(w.send(2, &format!("SBP 13 {contact} MOB Y")), ["201 13"], "only MFN");
        assert_eq!(w.send(2, &format!("SBP 14 {contact} MFN %20")), ["209 14"]);
    }
    let mut w = alice(Dialect::Msnp9);
    assert_eq!(w.send(1, "SBP 10 x MFN y"), ["502 10"], "SBP is MSNP10's");
}

// ---- phone numbers (msnp8-12.md §d.3, §d.6)

#[test]
fn a_phone_number_is_echoed_in_the_dialects_shape_and_listed_before_the_groups() {
    for d in [OLD.as_slice(), MODERN.as_slice()].concat() {
        let mut w = alice(d);
        let v = version(&w);
        let reply = if d >= Dialect::Msnp10 {
            "PRP 10 PHH 555%20123".to_string()
        } else {
            format!("PRP 10 {} PHH 555%20123", v + 1)
        };
        assert_eq!(w.send(1, "PRP 10 PHH 555%20123"), [reply], "{d}");
        w.send(1, "PRP 11 MOB Y");
        w.send(
            1,
            if d >= Dialect::Msnp10 {
                "ADG 16 Friends"
            } else {
                "ADG 16 Friends 0"
            },
        );
        assert_eq!(w.send(1, "PRP 12 MOB X"), ["201 12"], "{d}: MOB is Y or N");
        assert_eq!(w.send(1, "PRP 13 XYZ 1"), ["201 13"], "{d}: no such property");
        assert_eq!(
            w.send(1, &format!("PRP 14 PHW {}", "9".repeat(33))),
            ["201 14"],
            "{d}: too long"
        );
        let got = download(&mut w, d);
        let at = got
            .iter()
            .position(|l| l == "PRP PHH 555%20123")
            .unwrap_or_else(|| panic!("{d}: {got:?}"));
        assert_eq!(got[at + 1], "PRP MOB Y", "{d}");
        assert!(got[at + 2].starts_with("LSG "), "{d}: before the groups: {got:?}");
        // Cleared: no value, and gone from the download.
        let cleared = if d >= Dialect::Msnp10 {
            "PRP 15 PHH".to_string()
        } else {
            format!("PRP 15 {} PHH", version(&w) + 1)
        };
        assert_eq!(w.send(2, "PRP 15 PHH"), [cleared], "{d}");
        assert!(!download(&mut w, d).iter().any(|l| l.starts_with("PRP PHH")), "{d}");
    }
    let mut w = alice(Dialect::Msnp7);
    assert_eq!(w.send(1, "PRP 10 PHH 555"), ["502 10"], "PRP is MSNP8's");
}

#[test]
fn watchers_hear_a_new_number_as_bpr_and_see_it_after_the_lst() {
    for d in [Dialect::Msnp8, Dialect::Msnp9, Dialect::Msnp11, Dialect::Msnp12] {
        let mut w = Wire::new();
        w.add_fl(BOB, ALICE);
        w.add_fl(CAROL, ALICE);
        w.sign_in(1, ALICE, d);
        w.sign_in(2, BOB, d);
        w.sign_in(3, CAROL, d);
        // Carol is blocked: she hears nothing and sees no numbers.
        if d >= Dialect::Msnp10 {
            w.send(1, "ADC 9 BL N=carol@example.com");
        } else {
            w.send(1, "ADD 9 BL carol@example.com carol@example.com");
        }
        w.take(2);
        w.take(3);
        w.send(1, "PRP 10 PHM 555%20777");
        let told = if d >= Dialect::Msnp10 {
            "BPR alice@example.com PHM 555%20777".to_string()
        } else {
            format!("BPR {} alice@example.com PHM 555%20777", w.s.dir.list_version(BOB))
        };
        assert_eq!(w.take(2), [told], "{d}");
        assert_eq!(w.take(3), Vec::<String>::new(), "{d}: blocked");
        let got = w.sign_in(4, BOB, d);
        let at = got
            .iter()
            .position(|l| l.starts_with("LST ") && l.contains("alice@example.com"))
            .unwrap();
        assert_eq!(got[at + 1], "BPR PHM 555%20777", "{d}");
        let got = w.sign_in(5, CAROL, d);
        assert!(!got.iter().any(|l| l.starts_with("BPR")), "{d}: {got:?}");
    }
}
