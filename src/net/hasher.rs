//! The TCP server's password checks: a fixed pool of threads, no more than the cores,
//! each with its one reused Argon2 buffer (`Secret::verify`), behind a bounded queue.
//! A check that cannot start within [`MAX_WAIT`] is refused at once, unchecked and
//! uncounted (`LoginRefused::Busy`): a burst of guesses costs neither memory nor a
//! legitimate sign-in's place, only the guesses themselves.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::service::{Secret, SecretJob};

/// How long a check may wait in the queue before it is refused without running.
pub const MAX_WAIT: Duration = Duration::from_millis(500);
/// Checks queued per thread, past which new ones are refused at once.
const QUEUE_PER_THREAD: usize = 8;
/// The most threads the pool uses, whatever the cores.
const MAX_THREADS: usize = 4;

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    Matches,
    DoesNotMatch,
    /// Not run: the pool was full, or the check waited past [`MAX_WAIT`].
    Busy,
}

struct Job {
    secret: Secret,
    password: String,
    queued: Instant,
    reply: SyncSender<Checked>,
}

/// The pool; its threads end when it is dropped.
pub struct Hasher {
    jobs: SyncSender<Job>,
    threads: usize,
}

impl Hasher {
    /// A pool of `threads` (at least 1, at most [`MAX_THREADS`]).
    pub fn new(threads: usize) -> std::io::Result<Hasher> {
        let threads = threads.clamp(1, MAX_THREADS);
        let (jobs, queue) = mpsc::sync_channel::<Job>(threads * QUEUE_PER_THREAD);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("msgr-hash-{i}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Hasher { jobs, threads })
    }

    /// A pool as large as the cores allow.
    pub fn for_this_machine() -> std::io::Result<Hasher> {
        Hasher::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Checks `password` against `secret`, waiting for a thread of the pool. A kept
    /// (plain) password is compared here at once: there is nothing slow to queue.
    pub fn check(&self, secret: Secret, password: &str) -> Checked {
        if !secret.is_hashed() {
            return if secret.verify(password) {
                Checked::Matches
            } else {
                Checked::DoesNotMatch
            };
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job {
            secret,
            password: password.to_string(),
            queued: Instant::now(),
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => answer.recv().unwrap_or(Checked::Busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Checked::Busy,
        }
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
    made.sort_by_key(|(i, _)| *i);
    made.into_iter().map(|(_, s)| s).collect()
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // One thread takes a job at a time; the lock is held only to take it.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = job else {
            return;
        };
        let checked = if job.queued.elapsed() > MAX_WAIT {
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
        assert_eq!(pool.check(hashed.clone(), "pw"), Checked::Matches);
        assert_eq!(pool.check(hashed, "pW"), Checked::DoesNotMatch);
        assert_eq!(pool.check(Secret::new("pw", true, [0; 16]), "pw"), Checked::Matches);
        assert_eq!(Hasher::new(99).unwrap().threads(), MAX_THREADS);
    }

    #[test]
    fn a_burst_past_the_queue_is_refused_at_once_without_hashing() {
        let pool = Arc::new(Hasher::new(1).unwrap());
        let hashed = Secret::new("pw", false, [5; 16]);
        let callers: Vec<_> = (0..64)
            .map(|_| {
                let (pool, hashed) = (pool.clone(), hashed.clone());
                std::thread::spawn(move || pool.check(hashed, "guess"))
            })
            .collect();
        let results: Vec<Checked> = callers.into_iter().map(|c| c.join().unwrap()).collect();
        let busy = results.iter().filter(|c| **c == Checked::Busy).count();
        assert!(busy >= 32, "{busy} of 64 refused");
        assert!(results.contains(&Checked::DoesNotMatch), "some were checked");
        // And the pool still answers afterwards.
        assert_eq!(pool.check(hashed, "pw"), Checked::Matches);
    }
}
