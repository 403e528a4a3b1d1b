//! The TCP server's password checks: a fixed pool of threads, no more than the cores,
//! each with its one reused Argon2 buffer (`Secret::verify`), behind bounded queues.
//! A check that cannot start within its bound ([`MAX_WAIT`], or [`MAX_WAIT_CLEAN`] from
//! an address with no wrong password lately) is refused at once, unchecked and
//! uncounted (`LoginRefused::Busy`): a burst of guesses costs neither memory nor a
//! legitimate sign-in's place, only the guesses themselves.
//!
//! Two queues: a check from an address with no wrong password lately goes first
//! ([`Class::Clean`]); one from an address that has guessed wrong waits behind them
//! ([`Class::Suspect`]). Guessers turn suspect after one wrong guess each, so however
//! many checks they queue, an owner signing in from an address of their own waits for
//! at most the one check a thread is running.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::service::{Secret, SecretJob};

/// How long a check from a suspect address may wait in the queue before it is refused
/// without running.
pub const MAX_WAIT: Duration = Duration::from_millis(500);
/// The same for a clean address: owners reconnecting all at once (after a restart)
/// would rather wait than be refused.
pub const MAX_WAIT_CLEAN: Duration = Duration::from_secs(2);
/// Checks queued per thread, past which new ones are refused at once: few suspect
/// ones; clean ones up to about what [`MAX_WAIT_CLEAN`] lets run.
const QUEUE_PER_THREAD: usize = 8;
const CLEAN_QUEUE_PER_THREAD: usize = 128;
/// The most threads the pool uses, whatever the cores.
const MAX_THREADS: usize = 4;
/// How long a pool thread keeps its Argon2 buffer once it has nothing to do: a burst
/// reuses it, and memory goes back to its level soon after.
const KEEP_SCRATCH: Duration = Duration::from_secs(1);

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Matches,
    DoesNotMatch,
    /// Not run: the pool was full, or the check waited past its bound.
    Busy,
}

/// Which queue a check waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// From an address with no wrong password lately: checked first.
    Clean,
    /// From an address that has guessed wrong lately.
    Suspect,
}

struct Job {
    secret: Secret,
    password: String,
    /// Past this it is refused unchecked.
    expires: Instant,
    reply: std::sync::mpsc::SyncSender<Checked>,
}

#[derive(Default)]
struct Queues {
    clean: VecDeque<Job>,
    suspect: VecDeque<Job>,
    closed: bool,
}

struct Shared {
    queues: Mutex<Queues>,
    ready: Condvar,
    /// Per thread: (clean, suspect) queue bounds.
    threads: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The pool; its threads end when it is dropped.
pub struct Hasher {
    shared: Arc<Shared>,
    threads: usize,
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

impl Hasher {
    /// A pool of `threads` (at least 1, at most [`MAX_THREADS`]).
    pub fn new(threads: usize) -> std::io::Result<Hasher> {
        let threads = threads.clamp(1, MAX_THREADS);
        let shared = Arc::new(Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            threads,
        });
        for i in 0..threads {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("msgr-hash-{i}"))
                .spawn(move || work(&shared))?;
        }
        Ok(Hasher { shared, threads })
    }

    /// A pool as large as the cores allow.
    pub fn for_this_machine() -> std::io::Result<Hasher> {
        Hasher::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Checks `password` against `secret`, waiting in `class`'s queue for a thread of
    /// the pool. A kept (plain) password is compared here at once: there is nothing
    /// slow to queue.
    pub fn check(&self, secret: Secret, password: &str, class: Class) -> Checked {
        if !secret.is_hashed() {
            return if secret.verify(password) {
                Checked::Matches
            } else {
                Checked::DoesNotMatch
            };
        }
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        let (wait, bound) = match class {
            Class::Clean => (MAX_WAIT_CLEAN, CLEAN_QUEUE_PER_THREAD),
            Class::Suspect => (MAX_WAIT, QUEUE_PER_THREAD),
        };
        let job = Job {
            secret,
            password: password.to_string(),
            expires: Instant::now() + wait,
            reply,
        };
        {
            let mut queues = self.shared.lock();
            let queue = match class {
                Class::Clean => &mut queues.clean,
                Class::Suspect => &mut queues.suspect,
            };
            if queue.len() >= bound * self.shared.threads {
                return Checked::Busy;
            }
            queue.push_back(job);
        }
        self.shared.ready.notify_one();
        answer.recv().unwrap_or(Checked::Busy)
    }
}

/// Makes many accounts' secrets at once (those given at start-up, or a batch): on as
/// many threads as a [`Hasher`] would have, started for the batch, so each thread's
/// Argon2 buffer goes when it ends and memory does not follow the number of accounts.
/// The secrets come back in the jobs' order.
pub fn make_secrets(jobs: Vec<SecretJob>) -> Vec<Secret> {
    let count = jobs.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
        .min(count);
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let mut made: Vec<(usize, Secret)> = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).next();
                        let Some((i, job)) = next else {
                            return mine;
                        };
                        mine.push((i, job.run()));
                    }
                })
            })
            .collect();
        for worker in workers {
            // `SecretJob::run` does not panic (argon2's errors are values); were one to,
            // its accounts would be missing and `put_users` would get fewer secrets.
            made.extend(worker.join().unwrap_or_default());
        }
    });
    give_back_scratch();
    made.sort_by_key(|(i, _)| *i);
    made.into_iter().map(|(_, s)| s).collect()
}

/// Frees this thread's Argon2 buffer, and has the allocator hand free memory back to
/// the system: glibc keeps a freed buffer of this size in the thread's arena otherwise
/// (its trim threshold grows with the largest block freed).
fn give_back_scratch() {
    crate::service::release_scratch();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

fn work(shared: &Shared) {
    loop {
        let job = {
            let mut queues = shared.lock();
            loop {
                if let Some(job) = queues.clean.pop_front().or_else(|| queues.suspect.pop_front()) {
                    break job;
                }
                if queues.closed {
                    return;
                }
                let (woken, waited) = shared
                    .ready
                    .wait_timeout(queues, KEEP_SCRATCH)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                queues = woken;
                if waited.timed_out() && queues.clean.is_empty() && queues.suspect.is_empty() {
                    drop(queues);
                    give_back_scratch();
                    queues = shared.lock();
                    while queues.clean.is_empty() && queues.suspect.is_empty() && !queues.closed {
                        queues = shared
                            .ready
                            .wait(queues)
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                    }
                }
            }
        };
        let checked = if Instant::now() > job.expires {
            Checked::Busy
        } else if job.secret.verify(&job.password) {
            Checked::Matches
        } else {
            Checked::DoesNotMatch
        };
        let _ = job.reply.try_send(checked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_checks_hashes_and_plain_passwords() {
        let pool = Hasher::new(2).unwrap();
        let hashed = Secret::new("pw", false, [5; 16]);
        assert_eq!(pool.check(hashed.clone(), "pw", Class::Clean), Checked::Matches);
        assert_eq!(pool.check(hashed, "pW", Class::Suspect), Checked::DoesNotMatch);
        assert_eq!(
            pool.check(Secret::new("pw", true, [0; 16]), "pw", Class::Suspect),
            Checked::Matches
        );
        assert_eq!(Hasher::new(99).unwrap().threads(), MAX_THREADS);
    }

    #[test]
    fn a_burst_past_the_queue_is_refused_at_once_without_hashing() {
        let pool = Arc::new(Hasher::new(1).unwrap());
        let hashed = Secret::new("pw", false, [5; 16]);
        let callers: Vec<_> = (0..64)
            .map(|_| {
                let (pool, hashed) = (pool.clone(), hashed.clone());
                std::thread::spawn(move || pool.check(hashed, "guess", Class::Suspect))
            })
            .collect();
        let results: Vec<Checked> = callers.into_iter().map(|c| c.join().unwrap()).collect();
        let busy = results.iter().filter(|c| **c == Checked::Busy).count();
        assert!(busy >= 32, "{busy} of 64 refused");
        assert!(results.contains(&Checked::DoesNotMatch), "some were checked");
        // And the pool still answers afterwards.
        assert_eq!(pool.check(hashed, "pw", Class::Suspect), Checked::Matches);
    }

    #[test]
    fn a_clean_check_goes_before_every_queued_suspect_one() {
        let hashed = Secret::new("pw", false, [5; 16]);
        let shared = Shared {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            threads: 1,
        };
        let (reply, answers) = std::sync::mpsc::sync_channel(16);
        let job = |password: &str| Job {
            secret: hashed.clone(),
            password: password.to_string(),
            expires: Instant::now() + MAX_WAIT,
            reply: reply.clone(),
        };
        {
            let mut queues = shared.lock();
            queues.suspect.extend((0..4).map(|_| job("guess")));
            queues.clean.push_back(job("pw"));
            // A closed pool still runs what is queued, then its threads end.
            queues.closed = true;
        }
        work(&shared);
        let order: Vec<Checked> = answers.try_iter().collect();
        assert_eq!(order.len(), 5);
        assert_eq!(order[0], Checked::Matches, "the clean check ran first: {order:?}");
        assert!(order[1..].iter().all(|c| *c == Checked::DoesNotMatch));
    }
}
