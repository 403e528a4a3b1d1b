//! msnp11-sdk, a third-party MSNP11 client written against real servers, against
//! `msgr serve` on loopback: it signs in with `USR TWN` through msgr's Passport nexus,
//! adds an msgr client as a contact and sees its presence, makes, fills, renames,
//! empties and removes a group, sets a personal message the msgr client sees and a name
//! for its contact, chats with it over a switchboard both ways, and is refused a wrong
//! password.

use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use msgr::client::{ClientConfig, ClientEvent, ObjectKind, Waiting};
use msgr::proto::Dialect;
use msgr::service::groups::group_guid;
use msgr::testkit::{self, Side, BOB, PASSWORD, WAIT};
use msnp11_sdk::{Client, Event, MsnpList, MsnpStatus, PersonalMessage, PlainText};

const SDK_USER: &str = "sdk@example.com";
/// ASCII letters and digits only: the SDK sends the password raw in a header.
const SDK_PASSWORD: &str = "secret1";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The first event `pick` accepts within the kit's bound.
fn wait_for<T>(events: &Receiver<Event>, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match events.recv_timeout(left) {
            Ok(e) => {
                if let Some(found) = pick(&e) {
                    return found;
                }
            }
            Err(_) => panic!("msnp11-sdk never reported {what}"),
        }
    }
}

fn text(text: &str) -> PlainText {
    PlainText {
        bold: false,
        italic: false,
        underline: false,
        strikethrough: false,
        color: "0".into(),
        text: text.into(),
    }
}

#[test]
fn msnp11_sdk_signs_in_sees_presence_adds_a_contact_and_chats_with_an_msgr_client() {
    let server = testkit::server(31);
    server.with_engine(|e| e.add_user(SDK_USER, SDK_PASSWORD, Some("Sdk User")).unwrap());
    let port = server.local_addr().port();
    let nexus = server.nexus_url().to_string();

    // Bob is msgr's own client, over MSNP11 and the same nexus.
    let mut config = ClientConfig::new(BOB, PASSWORD, &server.local_addr().to_string());
    config.dialects = vec![Dialect::Msnp11];
    config.nexus = Some(nexus.clone());
    config.local_ip = "127.0.0.1".into();
    let bob = Side::tcp_with(config);
    bob.sign_in().unwrap();
    bob.events();

    let rt = runtime();
    let (tx, events) = channel();
    let sdk = rt.block_on(async {
        let client = Client::new("127.0.0.1", port).await.unwrap();
        client.add_event_handler_closure(move |event| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(event);
            }
        });
        let signed_in = client
            .login(SDK_USER.into(), SDK_PASSWORD, &nexus, "msnp11-sdk", "0.13.0")
            .await
            .expect("the SDK signs in through msgr's nexus");
        assert!(matches!(signed_in, Event::Authenticated), "{signed_in:?}");
        client
    });
    // The list download of a new account: its own name, nobody on its lists yet.
    let name = wait_for(&events, "its display name", |e| match e {
        Event::DisplayName(name) => Some(name.clone()),
        _ => None,
    });
    assert_eq!(name, "Sdk User");

    let added = rt
        .block_on(sdk.add_contact(BOB, "Bob", MsnpList::ForwardList))
        .expect("ADC FL is answered with the contact's GUID");
    let bob_guid = match &added {
        Event::ContactInForwardList { email, guid, .. } if email == BOB && guid.len() == 36 => guid.clone(),
        other => panic!("{other:?}"),
    };
    rt.block_on(sdk.set_presence(MsnpStatus::Online)).unwrap();
    let status = wait_for(&events, "Bob's presence", |e| match e {
        Event::InitialPresenceUpdate { email, presence, .. } | Event::PresenceUpdate { email, presence, .. }
            if email == BOB =>
        {
            Some(presence.status.clone())
        }
        _ => None,
    });
    assert_eq!(status, MsnpStatus::Online);

    // Groups as the SDK makes them: every reply in the shape it reads (msnp8-12.md §m.4).
    rt.block_on(sdk.create_group("Friends")).expect("ADG t 1 name guid");
    let friends = group_guid(SDK_USER, 1);
    rt.block_on(sdk.add_contact_to_group(&bob_guid, &friends))
        .expect("ADC t FL C= group echoed");
    rt.block_on(sdk.rename_group(&friends, "Best Friends"))
        .expect("REG t 1 name guid");
    let kept = server.read_engine(|e| {
        e.directory()
            .groups()
            .of(SDK_USER)
            .iter()
            .map(|(_, n)| n.to_string())
            .collect::<Vec<_>>()
    });
    assert_eq!(kept, ["Other Contacts", "Best Friends"]);
    rt.block_on(sdk.remove_contact_from_group(&bob_guid, &friends))
        .expect("REM t FL C group echoed");
    rt.block_on(sdk.delete_group(&friends)).expect("RMG t 1 guid");
    rt.block_on(sdk.set_contact_display_name(&bob_guid, "Bobby"))
        .expect("SBP echoed");

    // A personal message the msgr client watching the SDK user sees.
    let p = bob.unlocked(ObjectKind::MessengerPriv);
    bob.call(|c, _| c.add_contact(p, Some(SDK_USER))).unwrap();
    bob.next(|e| matches!(e, ClientEvent::ContactListAdd { .. }).then_some(()));
    let psm = PersonalMessage {
        psm: "from the sdk & co".into(),
        current_media: String::new(),
    };
    rt.block_on(sdk.set_personal_message(&psm)).expect("UUX t 0");
    let seen = bob.next(|e| match e {
        ClientEvent::ContactPersonalMessageChange { contact }
            if contact.personal_message.as_deref() == Some("from the sdk & co") =>
        {
            Some(contact.sign_in_name.clone())
        }
        _ => None,
    });
    assert_eq!(seen, SDK_USER);

    // A conversation: the SDK opens the switchboard and writes first.
    let (sb_tx, sb_events) = channel();
    let switchboard = rt.block_on(async {
        let sb = sdk.create_session(BOB).await.expect("XFR, USR, CAL");
        sb.add_event_handler_closure(move |event| {
            let tx = sb_tx.clone();
            async move {
                let _ = tx.send(event);
            }
        });
        sb.send_text_message(&text("hello from the sdk"))
            .await
            .expect("the message is acknowledged");
        sb
    });
    let heard = bob.next(|e| match e {
        ClientEvent::TextReceived { sender, text } => Some((sender.clone(), text.clone())),
        _ => None,
    });
    assert_eq!(heard, (SDK_USER.to_string(), "hello from the sdk".to_string()));

    let id = bob.call(|c, _| Ok(c.new_text_id())).unwrap();
    bob.driver
        .call_and_wait(bob.m, Waiting::Text(id), WAIT, |c, now| {
            c.send_text(id, SDK_USER, "hello back from msgr", now)
        })
        .unwrap();
    let answer = wait_for(&sb_events, "Bob's answer", |e| match e {
        Event::TextMessage { email, message } if email == BOB => Some(message.text.clone()),
        _ => None,
    });
    assert_eq!(answer, "hello back from msgr");
    rt.block_on(switchboard.disconnect()).unwrap();
    rt.block_on(sdk.disconnect()).unwrap();

    // A wrong password gets no ticket, so no sign-in.
    let refused = rt.block_on(async {
        let client = Client::new("127.0.0.1", port).await.unwrap();
        client
            .login(SDK_USER.into(), "wrong1", &nexus, "msnp11-sdk", "0.13.0")
            .await
    });
    assert!(refused.is_err(), "{refused:?}");
    drop(rt);
    bob.sign_out();
    std::thread::sleep(Duration::from_millis(10));
}
