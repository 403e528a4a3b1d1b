//! Accounts created and updated in batches: checked before anything is written, their
//! secrets made outside the engine, a given hash kept, an unchanged account not written.

use super::*;
use crate::proto::Dialect;

fn engine(dialects: Vec<Dialect>) -> ServiceEngine {
    let mut config = ServiceConfig::new();
    config.seed = Some(3);
    config.dialects = dialects;
    ServiceEngine::new(config)
}

fn user<'a>(sign_in_name: &'a str, password: &'a str) -> NewUser<'a> {
    NewUser {
        sign_in_name,
        password,
        friendly_name: None,
    }
}

fn put(e: &mut ServiceEngine, users: &[NewUser<'_>], exist_ok: bool) -> Result<()> {
    let secrets = e.plan_users(users, exist_ok)?.into_iter().map(SecretJob::run).collect();
    e.put_users(users, secrets, exist_ok)
}

fn stored(e: &ServiceEngine, name: &str) -> String {
    e.directory().account(name).unwrap().password.stored().to_string()
}

#[test]
fn one_bad_account_in_a_batch_writes_none_and_is_named() {
    let mut e = engine(vec![Dialect::Msnp11]);
    let batch = [
        user("a@example.com", "pw-a"),
        user("b@example.com", ""),
        user("c@example.com", "pw-c"),
    ];
    let err = put(&mut e, &batch, false).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_INVALIDARG);
    assert!(
        err.to_string().contains("b@example.com: a password is 1 to 256"),
        "{err}"
    );
    assert_eq!(e.directory().accounts().count(), 0);

    let twice = [user("a@example.com", "pw-a"), user("A@example.com", "pw-b")];
    let err = put(&mut e, &twice, false).unwrap_err();
    assert_eq!(
        (err.hresult(), err.to_string().contains("given twice")),
        (HResult::E_FAIL, true)
    );
    assert_eq!(e.directory().accounts().count(), 0);
    // With exist_ok the last one given wins, as one after the other would.
    put(&mut e, &twice, true).unwrap();
    assert!(e.directory().account("a@example.com").unwrap().password.verify("pw-b"));
}

#[test]
fn a_restart_with_the_same_password_keeps_the_hash_and_a_new_one_replaces_it() {
    let mut e = engine(vec![Dialect::Msnp11]);
    put(&mut e, &[user("a@example.com", "pw-a")], false).unwrap();
    let first = stored(&e, "a@example.com");
    assert!(first.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{first}");
    put(&mut e, &[user("a@example.com", "pw-a")], true).unwrap();
    assert_eq!(stored(&e, "a@example.com"), first, "same salt: not hashed again");
    put(&mut e, &[user("a@example.com", "pw-new")], true).unwrap();
    let account = e.directory().account("a@example.com").unwrap();
    assert!(account.password.verify("pw-new") && !account.password.verify("pw-a"));
    assert_ne!(stored(&e, "a@example.com"), first);
}

#[test]
fn a_hash_given_for_a_password_is_kept_as_given_unless_msnp7_is_served() {
    let hash = Secret::new("hunter2", false, [9; 16]).stored().to_string();
    let mut e = engine(vec![Dialect::Msnp11]);
    put(&mut e, &[user("a@example.com", &hash)], false).unwrap();
    assert_eq!(stored(&e, "a@example.com"), hash);
    assert!(e
        .directory()
        .account("a@example.com")
        .unwrap()
        .password
        .verify("hunter2"));

    // Something that only looks like a hash (an unknown algorithm, a broken one, an
    // `m` past the bound) is a password like any other.
    for lookalike in [
        "$argon2i$v=19$m=7168,t=5,p=1$c2FsdHNhbHQ$aGFzaA",
        "$argon2id$nonsense",
        "$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        assert!(Secret::given_hash(lookalike).is_none(), "{lookalike}");
    }

    let mut md5 = engine(vec![Dialect::Msnp7, Dialect::Msnp11]);
    let err = put(&mut md5, &[user("a@example.com", &hash)], false).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_INVALIDARG);
    assert!(err.to_string().contains("cannot serve MSNP7"), "{err}");
    // With MSNP7 a password is kept as given, so MD5 can prove it.
    put(&mut md5, &[user("a@example.com", "pw")], false).unwrap();
    assert_eq!(stored(&md5, "a@example.com"), "pw");
}

#[test]
fn secrets_made_side_by_side_come_back_in_order() {
    let mut e = engine(vec![Dialect::Msnp11]);
    let names: Vec<String> = (0..9).map(|i| format!("u{i}@example.com")).collect();
    let passwords: Vec<String> = (0..9).map(|i| format!("pw-{i}")).collect();
    let batch: Vec<NewUser<'_>> = names.iter().zip(&passwords).map(|(n, p)| user(n, p)).collect();
    let jobs = e.plan_users(&batch, false).unwrap();
    let secrets = crate::net::hasher::make_secrets(jobs);
    e.put_users(&batch, secrets, false).unwrap();
    for (n, p) in names.iter().zip(&passwords) {
        let account = e.directory().account(n).unwrap();
        assert!(account.password.verify(p) && !account.password.verify("pw-x"), "{n}");
    }
    // Fewer secrets than accounts (a hashing thread lost) writes none of them.
    let more = [user("v@example.com", "pw")];
    let err = e.put_users(&more, Vec::new(), false).unwrap_err();
    assert_eq!(err.hresult(), HResult::E_FAIL);
    assert!(e.directory().account("v@example.com").is_none());
}
