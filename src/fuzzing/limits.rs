//! The bookkeeping that answers password guessing and crowding: the Passport login's
//! budgets and delays ([`ServiceEngine::passport_begin`] / `passport_finish`, as the
//! TCP server runs them around its pool of checks), the rate buckets under them, the
//! choice of whom a full server evicts ([`crate::eviction`]), and what a password may
//! be given as ([`Secret::given_hash`], [`SecretJob`]).
//!
//! Input, read as a script of up to 64 steps: a login (one of three accounts or an
//! unknown one, from one of six addresses or none, with the right password or a
//! wrong one), time passing (0 to 120 s), a bucket taken or asked (a small rate of the
//! input's choosing), an eviction choice among up to 24 made-up connections, or a text
//! offered as a password or a hash.
//!
//! Checks: nothing panics; an address that has never given a wrong password signs
//! every account in at once, without delay and first in line (`clean`), whatever the
//! others did: no stranger locks an owner out; an (account, address) pair gets no
//! more wrong passwords checked than its budget allows over the time that passed; a
//! delay is never past `MAX_GUESS_DELAY`; a bucket's use stays within its burst and it
//! allows a take exactly when a whole token is left; the evicted connection is one of
//! the candidates, from an address holding most of them, and the oldest there; a text
//! taken as a hash is an Argon2id PHC string within the memory bound, and a job with a
//! kept password gives it back as given.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use super::Input;
use crate::service::limits::{Buckets, Limits, Rate};
use crate::service::{LoginRefused, Secret, SecretJob, ServiceEngine, MAX_GUESS_DELAY};
use crate::testkit::{self, ALICE, BOB, PASSWORD};

const ACCOUNTS: [&str; 4] = [ALICE, BOB, "carol@example.com", "nobody@example.com"];

pub fn check(data: &[u8]) {
    let mut input = Input::new(data);
    let mut engine = ServiceEngine::new(testkit::service_config(3));
    testkit::populate(&mut engine);
    engine
        .add_user("carol@example.com", PASSWORD, None)
        .expect("an account");
    let limits = Limits::default();
    let peers: Vec<Option<IpAddr>> = (1..=6u8).map(|i| Some([10, 0, 0, i].into())).chain([None]).collect();
    let mut now = Duration::from_secs(1000);
    let start = now;
    // Addresses that gave a wrong password; checked wrong passwords per pair.
    let mut guessed: HashSet<Option<IpAddr>> = HashSet::new();
    let mut checked_wrong: HashMap<(usize, Option<IpAddr>), u32> = HashMap::new();
    let burst = 1 + input.below(5) as u32;
    let mut bucket = Buckets::new(Rate::new(burst, Duration::from_secs(1 + input.below(30) as u64)));

    for _ in 0..input.below(65) {
        match input.below(6) {
            0 | 1 => {
                let (account, peer, right) = (input.below(ACCOUNTS.len()), input.pick(&peers), input.flag());
                login(&mut engine, account, peer, right, now, &guessed, &mut checked_wrong);
                if !right || account == 3 {
                    guessed.insert(peer);
                }
            }
            2 => now += Duration::from_secs(input.below(121) as u64),
            3 => {
                let key = input.below(3);
                let used = bucket.used(&key, now);
                assert!((0.0..=f64::from(burst)).contains(&used), "{used} of {burst}");
                assert!(!bucket.spent_lately(&key, now) || used > 0.0);
                let allowed = bucket.allows(&key, now);
                assert_eq!(bucket.take(&key, now), allowed, "a take succeeds exactly when allowed");
            }
            4 => eviction(&mut input),
            _ => passwords(&mut input),
        }
    }

    // Budgets: a pair's checked wrong passwords stay within its burst and refills.
    let rate = limits.wrong_password_account;
    let refills = (now - start).as_secs_f64() / rate.every.as_secs_f64();
    for ((account, peer), n) in &checked_wrong {
        assert!(
            f64::from(*n) <= f64::from(rate.burst) + refills + 1.0,
            "{} from {peer:?}: {n} wrong passwords checked in {:?}",
            ACCOUNTS[*account],
            now - start
        );
    }
    // And whatever happened, an address that never guessed signs everyone in at once.
    let fresh: IpAddr = [10, 0, 0, 99].into();
    for account in 0..3 {
        login(
            &mut engine,
            account,
            Some(fresh),
            true,
            now,
            &guessed,
            &mut checked_wrong,
        );
    }
}

/// One login as the TCP server runs it, with the checks of the module's doc.
fn login(
    engine: &mut ServiceEngine,
    account: usize,
    peer: Option<IpAddr>,
    right: bool,
    now: Duration,
    guessed: &HashSet<Option<IpAddr>>,
    checked_wrong: &mut HashMap<(usize, Option<IpAddr>), u32>,
) {
    let name = ACCOUNTS[account];
    let password = if right { PASSWORD } else { "not-the-password" };
    let never_guessed = peer.is_some() && !guessed.contains(&peer);
    match engine.passport_begin(name, peer, now) {
        Ok(check) => {
            assert!(check.delay <= MAX_GUESS_DELAY, "{:?}", check.delay);
            if never_guessed {
                assert_eq!(check.delay, Duration::ZERO, "{name} from a new address waits");
                assert!(check.clean, "{name} from a new address queued behind guessers");
            }
            let verified = check.secret.verify(password);
            assert_eq!(verified, right, "the secret checks the password");
            if !verified {
                *checked_wrong.entry((account, peer)).or_default() += 1;
            }
            let answer = engine.passport_finish(name, verified, peer, now);
            assert_eq!(answer.is_ok(), verified, "{name}: {answer:?}");
        }
        Err(LoginRefused::UnknownAccount) => assert_eq!(account, 3, "{name} has an account"),
        Err(refused) => assert!(!never_guessed, "{name} from a new address refused: {refused:?}"),
    }
}

/// The evictee among made-up connections (id, address, opened).
fn eviction(input: &mut Input<'_>) {
    let candidates: Vec<(usize, u8, u8)> = (0..input.below(25))
        .map(|id| (id, input.byte() % 5, input.byte()))
        .collect();
    let picked = crate::eviction::evictee(candidates.iter().copied());
    let Some(picked) = picked else {
        return assert!(candidates.is_empty());
    };
    let (_, address, opened) = candidates[picked];
    let held = |a: u8| candidates.iter().filter(|c| c.1 == a).count();
    assert!(
        candidates.iter().all(|c| held(c.1) <= held(address)),
        "from an address holding most"
    );
    assert!(
        candidates
            .iter()
            .filter(|c| held(c.1) == held(address))
            .all(|c| (c.2, c.0) >= (opened, picked)),
        "the oldest of those"
    );
}

/// A text offered as a password or a hash.
fn passwords(input: &mut Input<'_>) {
    let text = if input.flag() {
        // Something shaped like a PHC string, with parameters of the input's choosing.
        format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            input.pick(&[8u32, 64, 7168, 65536, 65537, 4_000_000]),
            input.below(4),
            input.below(3),
            input.pick(&["c2FsdHNhbHRzYWx0c2FsdA", "c2FsdA", "", "!!"]),
            input.pick(&["aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", "aGFzaA", ""]),
        )
    } else {
        input.text()
    };
    if let Some(hash) = Secret::given_hash(&text) {
        assert!(hash.is_hashed() && hash.stored() == text);
        let m: u32 = text
            .split("m=")
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|m| m.parse().ok())
            .expect("a given hash names its memory");
        assert!(m <= 64 * 1024, "{text}");
        if m <= 64 {
            let _ = hash.verify("pw");
        }
    }
    let kept = SecretJob {
        password: text.clone(),
        keep_plain: true,
        salt: [0; 16],
        current: None,
    }
    .run();
    if Secret::given_hash(&text).is_none() {
        assert_eq!(kept.plain(), Some(text.as_str()));
    }
}
