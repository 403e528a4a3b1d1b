//! The one Rust test kit: a seeded service with two accounts and a licensed Lock and
//! Key pair, Messengers over either driver (the embedded hub or TCP), unlocking, and
//! waiting for events with a bound. The hub tests, the network tests and the
//! benchmarks all build on it. Not part of the API.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use crate::client::{ClientConfig, ClientEngine, ClientEvent, ObjId, ObjectKind, Waiting};
use crate::driver::{lock_hub, Driver};
use crate::embedded::Embedded;
use crate::error::Result;
use crate::journal::MessengerId;
use crate::net::{Client, NetError, Server};
use crate::proto::Dialect;
use crate::service::{ServiceConfig, ServiceEngine};
use crate::wire::challenge::md5_response;

pub const APP: &str = "testapp@msnmsgr.com";
pub const KEY: &str = "TESTKEY123";
pub const GUID: &str = "{0E0B4F5A-7C71-4D2B-9F8F-1A2B3C4D5E6F}";
pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const PASSWORD: &str = "pw";
/// The longest any kit call waits for the network.
pub const WAIT: Duration = Duration::from_secs(10);

/// A seeded service configuration.
pub fn service_config(seed: u64) -> ServiceConfig {
    let mut config = ServiceConfig::new();
    config.seed = Some(seed);
    config
}

/// Alice ("Alice A"), Bob (no friendly name) and the licensed test pair.
pub fn populate(e: &mut ServiceEngine) {
    e.add_user(ALICE, PASSWORD, Some("Alice A")).unwrap();
    e.add_user(BOB, PASSWORD, None).unwrap();
    e.license(APP, KEY).unwrap();
}

/// A populated embedded hub.
pub fn hub(seed: u64) -> Arc<Mutex<Embedded>> {
    hub_in(seed, Dialect::CLIENT_DEFAULT)
}

/// A populated embedded hub whose Messengers speak `dialect` (the service speaks all).
pub fn hub_in(seed: u64, dialect: Dialect) -> Arc<Mutex<Embedded>> {
    let mut config = service_config(seed);
    config.limits = crate::service::Limits::embedded();
    let mut w = Embedded::new(config);
    populate(w.service_mut());
    w.set_client_dialects(vec![dialect]);
    Arc::new(Mutex::new(w))
}

/// A populated TCP server on a free loopback port.
pub fn server(seed: u64) -> Server {
    let server = Server::bind("127.0.0.1:0", service_config(seed)).unwrap();
    server.with_engine(populate);
    server
}

/// Events a driver delivered that no side has taken yet; shared by the sides of one
/// hub, whose events come in one queue.
type Stash = Arc<Mutex<Vec<(MessengerId, ClientEvent)>>>;

/// One Messenger, over either driver.
#[derive(Clone)]
pub struct Side {
    pub driver: Driver,
    pub m: MessengerId,
    stash: Stash,
}

impl Side {
    /// A signed-out Messenger on the hub.
    pub fn embedded(hub: &Arc<Mutex<Embedded>>, email: &str, stash: Option<&Side>) -> Side {
        let m = lock_hub(hub).add_messenger(email, PASSWORD);
        Side {
            driver: Driver::Embedded(hub.clone()),
            m,
            stash: stash.map(|s| s.stash.clone()).unwrap_or_default(),
        }
    }

    /// A signed-out Messenger connecting to `server`.
    pub fn tcp(server: &Server, email: &str) -> Side {
        let mut config = ClientConfig::new(email, PASSWORD, &server.local_addr().to_string());
        config.local_ip = "127.0.0.1".to_string();
        config.seed = Some(9);
        Side::tcp_with(config)
    }

    /// A signed-out Messenger over TCP, as configured.
    pub fn tcp_with(config: ClientConfig) -> Side {
        Side::tcp_with_options(config, &crate::net::client::ClientOptions::default())
    }

    pub fn tcp_with_options(config: ClientConfig, options: &crate::net::client::ClientOptions) -> Side {
        Side {
            driver: Driver::Tcp(Arc::new(Client::with_options(config, options).unwrap())),
            m: crate::net::client::MESSENGER,
            stash: Stash::default(),
        }
    }

    pub fn call<T>(&self, f: impl FnOnce(&mut ClientEngine, crate::proto::Instant) -> Result<T>) -> Result<T> {
        self.driver.call(self.m, f)
    }

    pub fn read<T>(&self, f: impl FnOnce(&ClientEngine) -> T) -> T {
        self.driver.read(self.m, |c| Ok(f(c))).expect("the messenger exists")
    }

    pub fn sign_in(&self) -> Result<(), NetError> {
        self.driver
            .call_and_wait(self.m, Waiting::SignIn, WAIT, |c, now| c.sign_in(now))
    }

    pub fn sign_out(&self) {
        self.call(|c, now| {
            c.sign_out(now);
            Ok(())
        })
        .unwrap();
    }

    pub fn set_password(&self, password: &str) {
        self.call(|c, _| {
            c.set_password(password);
            Ok(())
        })
        .unwrap();
    }

    pub fn invite(&self, obj: ObjId, peer: &str, app_data: Option<&str>) -> Result<(), NetError> {
        self.driver.call_and_wait(self.m, Waiting::Invite(obj), WAIT, |c, now| {
            c.invite(obj, peer, app_data, now)
        })
    }

    /// Moves the driver's events into the stash.
    fn gather(&self) {
        let new = self.driver.take_events().into_iter().map(|l| (l.messenger, l.event));
        self.stash.lock().unwrap().extend(new);
    }

    /// Every event of this Messenger delivered so far (others stay for their side).
    pub fn events(&self) -> Vec<ClientEvent> {
        self.gather();
        let mut stash = self.stash.lock().unwrap();
        let (mine, rest): (Vec<_>, Vec<_>) = stash.drain(..).partition(|(m, _)| *m == self.m);
        *stash = rest;
        mine.into_iter().map(|(_, e)| e).collect()
    }

    /// The first of this Messenger's events that `pick` accepts, waiting at most
    /// [`WAIT`]; this Messenger's events before it are dropped.
    pub fn next<T>(&self, mut pick: impl FnMut(&ClientEvent) -> Option<T>) -> T {
        let deadline = StdInstant::now() + WAIT;
        loop {
            self.gather();
            {
                let mut stash = self.stash.lock().unwrap();
                let found = stash
                    .iter()
                    .enumerate()
                    .filter(|(_, (m, _))| *m == self.m)
                    .find_map(|(i, (_, e))| pick(e).map(|v| (i, v)));
                if let Some((i, value)) = found {
                    let mut index = 0;
                    stash.retain(|(m, _)| {
                        index += 1;
                        index - 1 > i || *m != self.m
                    });
                    return value;
                }
            }
            let left = deadline.saturating_duration_since(StdInstant::now());
            assert!(!left.is_zero(), "the event did not arrive within {WAIT:?}");
            self.driver.wait_events(left);
        }
    }

    /// Waits (at most [`WAIT`]) until `check` holds on the engine.
    pub fn until(&self, what: &str, check: impl Fn(&ClientEngine) -> bool) {
        let deadline = StdInstant::now() + WAIT;
        while !self.read(&check) {
            let left = deadline.saturating_duration_since(StdInstant::now());
            assert!(!left.is_zero(), "{what} did not happen within {WAIT:?}");
            // Engine state only changes in steps, and every step notifies waiters.
            self.gather();
            self.driver.wait_events(left.min(Duration::from_millis(50)));
        }
    }

    /// The whole Lock and Key transaction on `obj` with the licensed pair; true if the
    /// service accepted it.
    pub fn unlock_with(&self, obj: ObjId, key: &str) -> bool {
        self.call(|c, now| c.request_challenge(obj, 9, now)).unwrap();
        let challenge = self.next(|e| match e {
            ClientEvent::LockChallenge { obj: o, challenge, .. } if *o == obj => Some(challenge.clone()),
            _ => None,
        });
        let response = md5_response(&challenge, key);
        self.call(|c, now| c.send_response(obj, APP, &response, 9, now))
            .unwrap();
        self.next(|e| match e {
            ClientEvent::LockResult { obj: o, succeeded, .. } if *o == obj => Some(*succeeded),
            _ => None,
        })
    }

    /// A new object of `kind`, unlocked.
    pub fn unlocked(&self, kind: ObjectKind) -> ObjId {
        let obj = self.call(|c, _| Ok(c.create_lock_object(kind))).unwrap();
        assert!(self.unlock_with(obj, KEY), "the licensed pair unlocks");
        obj
    }

    /// An unlocked session manager with the test application registered.
    pub fn ready_manager(&self) -> ObjId {
        let manager = self.unlocked(ObjectKind::SessionManager);
        self.call(|c, _| c.register_application(manager, GUID, "Test App", "http://example.com/app", "/opt/app", 0))
            .unwrap();
        manager
    }

    /// A session of `manager` for the test application.
    pub fn new_session(&self, manager: ObjId) -> ObjId {
        let s = self.call(|c, _| c.create_session(manager)).unwrap();
        self.call(|c, _| c.set_application(s, GUID)).unwrap();
        s
    }
}

/// Alice and Bob signed in to one hub, each with a ready session manager (Bob's
/// without the application when `register_on_b` is false); events so far dropped.
pub struct Pair {
    pub hub: Arc<Mutex<Embedded>>,
    pub a: Side,
    pub b: Side,
    pub ma: ObjId,
    pub mb: ObjId,
}

pub fn pair(seed: u64, register_on_b: bool) -> Pair {
    pair_in(seed, register_on_b, Dialect::CLIENT_DEFAULT)
}

/// [`pair`] with both Messengers speaking `dialect`.
pub fn pair_in(seed: u64, register_on_b: bool, dialect: Dialect) -> Pair {
    let hub = hub_in(seed, dialect);
    let a = Side::embedded(&hub, ALICE, None);
    let b = Side::embedded(&hub, BOB, Some(&a));
    a.sign_in().unwrap();
    b.sign_in().unwrap();
    let ma = a.ready_manager();
    let mb = if register_on_b {
        b.ready_manager()
    } else {
        b.unlocked(ObjectKind::SessionManager)
    };
    a.events();
    b.events();
    lock_hub(&hub).clear_trace();
    Pair { hub, a, b, ma, mb }
}

impl Pair {
    /// Alice invites Bob ("hello"); returns (Alice's session, Bob's).
    pub fn invite(&self) -> (ObjId, ObjId) {
        let sa = self.a.new_session(self.ma);
        self.a.invite(sa, BOB, Some("hello")).unwrap();
        let sb = self.b.next(|e| match e {
            ClientEvent::Invitation { session, .. } => Some(*session),
            _ => None,
        });
        (sa, sb)
    }

    pub fn hub(&self) -> std::sync::MutexGuard<'_, Embedded> {
        lock_hub(&self.hub)
    }
}

/// MSNP-like noise for property tests: lines with real command names and arguments in
/// wrong arities, bad numbers and odd orders, bare LFs, and random bytes between them.
#[cfg(test)]
pub mod noise {
    use proptest::prelude::*;

    const NAMES: &[&str] = &[
        "VER", "INF", "USR", "SYN", "CHG", "CHL", "QRY", "XFR", "ADD", "CAL", "ANS", "MSG", "OUT", "PNG", "ZZZ", "540",
    ];
    const ARGS: &[&str] = &[
        "1",
        "0",
        "4294967296",
        "-1",
        "MSNP7",
        "CVR0",
        "MD5",
        "I",
        "S",
        "a@b.com",
        "bob@example.com",
        "SB",
        "FL",
        "RL",
        "NLN",
        "FLN",
        "N",
        "A",
        "Z",
        "32",
        "1665",
        "%",
        "%zz",
        "{}",
    ];

    fn line() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(NAMES),
            prop::collection::vec(prop::sample::select(ARGS), 0..5),
            any::<bool>(),
            prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 0..40)),
        )
            .prop_map(|(name, args, bare_lf, junk)| {
                let mut out = name.as_bytes().to_vec();
                for a in args {
                    out.push(b' ');
                    out.extend_from_slice(a.as_bytes());
                }
                out.extend_from_slice(if bare_lf { b"\n" } else { b"\r\n" });
                out.extend(junk.unwrap_or_default());
                out
            })
    }

    /// One to six noisy lines, concatenated.
    pub fn stream() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(line(), 1..7).prop_map(|lines| lines.concat())
    }
}
