//! One socket: what is read goes to the engine, what the engine queued is written.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

/// Most bytes a connection may have waiting to be written. A peer that stops reading
/// is cut off instead of growing our memory without bound.
pub(crate) const MAX_QUEUED_BYTES: usize = 1 << 20;

/// How long one write may wait for a peer that accepts no bytes at all. A socket task
/// blocked on such a peer neither reads nor ends, so past this it gives up: the peer
/// is gone, or does this on purpose.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(30);

/// Read size; the engines' decoders bound how much of it they keep.
const READ_CHUNK: usize = 8192;

/// After we close, how long to keep draining the peer's bytes so the socket ends with a
/// FIN rather than a reset that could destroy our last messages in flight: a server's
/// last words (`OUT SSD`, an error) matter; a client that leaves only says `OUT`, and
/// its user should not wait for the server to hang up.
pub(crate) const SERVER_LINGER: Duration = Duration::from_secs(1);
pub(crate) const CLIENT_LINGER: Duration = Duration::from_millis(20);

/// The engine's side of a connection: bytes to write. Dropping it closes the socket
/// once everything queued is written; [`Outbox::cut_off`] closes it at once.
pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    kill: Arc<Notify>,
}

/// The socket task's side of an [`Outbox`].
pub(crate) struct Inbox {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    kill: Arc<Notify>,
}

pub(crate) fn outbox() -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    let kill = Arc::new(Notify::new());
    (
        Outbox {
            tx,
            queued: queued.clone(),
            kill: kill.clone(),
        },
        Inbox { rx, queued, kill },
    )
}

impl Outbox {
    /// Queues bytes for writing; false when the peer is too far behind or gone (the
    /// caller then closes the connection).
    pub(crate) fn push(&self, bytes: Vec<u8>) -> bool {
        let n = bytes.len();
        if self.queued.load(Ordering::Relaxed).saturating_add(n) > MAX_QUEUED_BYTES {
            return false;
        }
        self.queued.fetch_add(n, Ordering::Relaxed);
        self.tx.send(bytes).is_ok()
    }

    /// Ends the socket now, with whatever is still queued: for a peer that stopped
    /// reading, whose pending write would otherwise hold the task and its buffers until
    /// the peer hangs up.
    pub(crate) fn cut_off(self) {
        self.kill.notify_one();
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The outbox was dropped: the engine already knows.
    ByUs,
    /// The peer closed or the socket broke: the engine must be told.
    ByPeer,
}

/// Pumps one socket until either side ends it.
pub(crate) async fn pump(
    stream: TcpStream,
    mut inbox: Inbox,
    linger: Duration,
    mut on_bytes: impl FnMut(&[u8]),
) -> Ended {
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; READ_CHUNK];
    let kill = inbox.kill.clone();
    loop {
        tokio::select! {
            // Writes first: what the engine said before a close must go out before it.
            biased;
            _ = kill.notified() => return Ended::ByUs,
            out = inbox.rx.recv() => match out {
                Some(bytes) => {
                    inbox.queued.fetch_sub(bytes.len(), Ordering::Relaxed);
                    tokio::select! {
                        written = tokio::time::timeout(WRITE_STALL, wr.write_all(&bytes)) => match written {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) | Err(_) => return Ended::ByPeer,
                        },
                        _ = kill.notified() => return Ended::ByUs,
                    }
                }
                None => {
                    let _ = wr.shutdown().await;
                    let drain = async { while matches!(rd.read(&mut buf).await, Ok(n) if n > 0) {} };
                    let _ = tokio::time::timeout(linger, drain).await;
                    return Ended::ByUs;
                }
            },
            n = rd.read(&mut buf) => match n {
                Ok(0) | Err(_) => return Ended::ByPeer,
                Ok(n) => on_bytes(&buf[..n]),
            },
        }
    }
}
