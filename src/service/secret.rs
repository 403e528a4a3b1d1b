//! How an account's password is kept.
//!
//! MSNP7's `USR MD5` proves MD5(salt ‖ password) with a salt the service picks for each
//! sign-in, so a service that speaks it must hold the password itself. Passport logins
//! (MSNP8+) only need to check a password they are given, so where MSNP7 is not served
//! the service keeps an Argon2id hash and nothing else (docs/security.md).
//!
//! Argon2 is memory-hard on purpose: each run fills `m` KiB. So that the memory a
//! process holds does not follow how many runs it ever made, or on how many threads,
//! every run fills the calling thread's one scratch buffer ([`SCRATCH`]), grown once to
//! the largest `m` seen and reused; a driver runs checks on a fixed pool of threads
//! (`net::hasher`), so the whole cost is `threads × m`.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use subtle::ConstantTimeEq;

/// Argon2id cost, from OWASP's Password Storage Cheat Sheet: of its five equivalent
/// settings (m=47104 t=1, m=19456 t=2, m=12288 t=3, m=9216 t=4, m=7168 t=5, all p=1),
/// the one with the least memory, so a pool of checks holds least.
pub const ARGON2_MEMORY_KIB: u32 = 7168;
pub const ARGON2_PASSES: u32 = 5;
pub const ARGON2_LANES: u32 = 1;
/// Hash length in bytes (the argon2 crate's default, as in every stored PHC string).
const OUTPUT_LEN: usize = 32;
/// The largest `m` a stored hash may ask a check to fill (64 MiB): a hand-edited store
/// cannot make one check allocate without bound.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

thread_local! {
    /// This thread's Argon2 memory, reused by every run on it.
    static SCRATCH: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Fills `out` with Argon2id(password, salt) under `params`, in this thread's scratch.
fn argon2_into(params: Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let blocks = params.block_count();
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        if scratch.len() < blocks {
            scratch.resize(blocks, Block::default());
        }
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into_with_memory(password, salt, out, &mut scratch[..blocks])
            .is_ok()
    })
}

fn default_params() -> Params {
    Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, Some(OUTPUT_LEN)).expect("OWASP's parameters are valid")
}

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Secret {
    /// The password as given, for MSNP7's MD5 proof.
    Plain(String),
    /// An Argon2id PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    Hash(String),
}

impl std::fmt::Debug for Secret {
    // Never into logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Plain(_) => f.write_str("Secret::Plain(***)"),
            Secret::Hash(_) => f.write_str("Secret::Hash(***)"),
        }
    }
}

impl Secret {
    /// The secret to keep for `password`: itself when MSNP7 is served, else a hash
    /// salted with `salt` (16 random bytes from the engine).
    pub fn new(password: &str, keep_plain: bool, salt: [u8; 16]) -> Secret {
        if keep_plain {
            return Secret::Plain(password.to_string());
        }
        let params = default_params();
        let mut out = [0u8; OUTPUT_LEN];
        let phc = SaltString::encode_b64(&salt).ok().and_then(|salt_string| {
            argon2_into(params.clone(), password.as_bytes(), &salt, &mut out)
                .then(|| phc_string(&params, &salt_string, &out))
                .flatten()
        });
        match phc {
            Some(phc) => Secret::Hash(phc),
            // Valid parameters and a 16-byte salt cannot fail; keeping the password is
            // still better than losing the account.
            None => Secret::Plain(password.to_string()),
        }
    }

    /// The password itself, when kept.
    pub fn plain(&self) -> Option<&str> {
        match self {
            Secret::Plain(p) => Some(p),
            Secret::Hash(_) => None,
        }
    }

    /// Whether `given` is the password: in constant time for a kept one, by running
    /// Argon2 with the stored parameters (in this thread's scratch) for a hash.
    pub fn verify(&self, given: &str) -> bool {
        match self {
            // Byte for byte: a password's case and spaces count (`responses_match` is
            // for hex digests and ignores both).
            Secret::Plain(p) => p.as_bytes().ct_eq(given.as_bytes()).into(),
            Secret::Hash(h) => verify_hash(h, given),
        }
    }

    pub fn is_hashed(&self) -> bool {
        matches!(self, Secret::Hash(_))
    }

    /// What the store keeps: the password or the PHC string.
    pub fn stored(&self) -> &str {
        match self {
            Secret::Plain(s) | Secret::Hash(s) => s,
        }
    }
}

/// `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`, the PHC form the argon2 crate writes.
fn phc_string(params: &Params, salt: &SaltString, hash: &[u8]) -> Option<String> {
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).ok()?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(hash).ok()?),
    };
    Some(phc.to_string())
}

/// What a stored PHC string asks a check to run: its parameters, salt and hash; None
/// for anything but an Argon2id hash whose `m` is within [`MAX_MEMORY_KIB`].
struct Stored {
    params: Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

fn parse_hash(phc: &str) -> Option<Stored> {
    let parsed = PasswordHash::new(phc).ok()?;
    if parsed.algorithm.as_str() != "argon2id" {
        return None;
    }
    let (salt, expected) = (parsed.salt?, parsed.hash?);
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_MEMORY_KIB || expected.len() > 64 {
        return None;
    }
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).ok()?.to_vec();
    Some(Stored {
        params,
        salt,
        expected: expected.as_bytes().to_vec(),
    })
}

fn verify_hash(phc: &str, given: &str) -> bool {
    let Some(stored) = parse_hash(phc) else {
        return false;
    };
    let mut out = [0u8; 64];
    let out = &mut out[..stored.expected.len()];
    argon2_into(stored.params, given.as_bytes(), &stored.salt, out) && bool::from(out.ct_eq(&stored.expected))
}

impl Secret {
    /// A password given already hashed (as `msgr hash-password` prints it): an Argon2id
    /// PHC string this module can check; None for anything else, which is a password.
    pub fn given_hash(password: &str) -> Option<Secret> {
        (password.starts_with("$argon2id$") && parse_hash(password).is_some())
            .then(|| Secret::Hash(password.to_string()))
    }
}

/// How one account's secret is made: planned by the engine, run outside it (Argon2 takes
/// milliseconds), so that many accounts can be hashed side by side.
pub struct SecretJob {
    pub password: String,
    pub keep_plain: bool,
    pub salt: [u8; 16],
    /// The account's secret now, when it is updated: if it is a hash of the same
    /// password it is kept, so a restart with the same accounts writes nothing.
    pub current: Option<Secret>,
}

impl SecretJob {
    pub fn run(self) -> Secret {
        if let Some(hash) = Secret::given_hash(&self.password) {
            return hash;
        }
        if self.keep_plain {
            return Secret::Plain(self.password);
        }
        match self.current {
            Some(current) if current.is_hashed() && current.verify(&self.password) => current,
            _ => Secret::new(&self.password, false, self.salt),
        }
    }
}

/// Gives back this thread's Argon2 memory (a pool thread that has gone idle); the
/// next run on it allocates again.
pub fn release_scratch() {
    SCRATCH.with(|s| *s.borrow_mut() = Vec::new());
}

/// Bytes of Argon2 memory this thread holds for reuse.
#[cfg(test)]
fn scratch_bytes() -> usize {
    SCRATCH.with(|s| s.borrow().len() * std::mem::size_of::<Block>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn a_hash_verifies_only_its_password_and_keeps_nothing_readable() {
        let s = Secret::new("hunter2", false, [7; 16]);
        assert!(s.is_hashed() && s.stored().starts_with("$argon2id$v=19$m=7168,t=5,p=1$"));
        assert!(!s.stored().contains("hunter2"));
        assert!(s.verify("hunter2") && !s.verify("hunter3") && !s.verify(""));
        assert_eq!(s.plain(), None);
        assert_eq!(format!("{s:?}"), "Secret::Hash(***)");
        let p = Secret::new("hunter2", true, [7; 16]);
        assert_eq!(p.plain(), Some("hunter2"));
        assert!(p.verify("hunter2") && !p.verify("Hunter2"));
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn our_hashes_are_the_argon2_crates_and_its_old_ones_still_verify() {
        let ours = Secret::new("pw", false, [3; 16]);
        let parsed = PasswordHash::new(ours.stored()).unwrap();
        assert!(Argon2::new(Algorithm::Argon2id, Version::V0x13, default_params())
            .verify_password(b"pw", &parsed)
            .is_ok());
        // Stores written before: m=19456, t=2 (the crate's default then).
        let salt = SaltString::encode_b64(&[9; 16]).unwrap();
        let old = Argon2::default().hash_password(b"old-pw", &salt).unwrap().to_string();
        assert!(old.contains("m=19456,t=2,p=1"));
        assert!(Secret::Hash(old.clone()).verify("old-pw") && !Secret::Hash(old).verify("old-pW"));
    }

    #[test]
    fn the_memory_is_one_buffer_per_thread_grown_to_the_largest_cost() {
        std::thread::spawn(|| {
            assert_eq!(scratch_bytes(), 0);
            let s = Secret::new("pw", false, [1; 16]);
            assert_eq!(scratch_bytes(), 7168 * 1024);
            for _ in 0..5 {
                assert!(s.verify("pw"));
            }
            assert_eq!(scratch_bytes(), 7168 * 1024, "reused, not grown");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_malformed_or_greedy_stored_hash_verifies_nothing() {
        for phc in [
            "",
            "$argon2id$",
            "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=1048576,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
        ] {
            assert!(!Secret::Hash(phc.into()).verify("pw"), "{phc}");
        }
    }
}
