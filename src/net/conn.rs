//! One socket: what is read goes to the engine, what the engine queued is written.
//!
//! The engine's output for a connection is encoded straight into one byte buffer (no
//! message is allocated on its own), and the socket's task takes the whole buffer per
//! wakeup and writes it with one call: a burst of relayed messages costs one `write`,
//! not one per message. Reads go into a buffer shared by every connection of a worker
//! thread, so an idle connection holds no read buffer at all.

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use crate::wire::Command;

/// Most bytes a connection may have waiting to be written. A peer that stops reading
/// is cut off instead of growing our memory without bound.
pub(crate) const MAX_QUEUED_BYTES: usize = 1 << 20;

/// How long one write may wait for a peer that accepts no bytes at all. A socket task
/// blocked on such a peer neither reads nor ends, so past this it gives up: the peer
/// is gone, or does this on purpose.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(30);

/// How much one read takes, into the per-thread buffer. A server's read takes in a
/// whole burst of pipelined messages, so the engine is stepped (and locked) once per
/// burst; a client's runtime (one thread per client) needs no more than the old
/// per-connection buffer. The engines' decoders bound how much of it they keep.
pub(crate) const SERVER_READ: usize = 64 * 1024;
pub(crate) const CLIENT_READ: usize = 8 * 1024;

/// A written buffer bigger than this is freed rather than kept for the next batch, so
/// a connection that once sent a burst does not hold its size for ever.
const KEEP_WRITE_BUFFER: usize = 16 * 1024;

/// After we close, how long to keep draining the peer's bytes so the socket ends with a
/// FIN rather than a reset that could destroy our last messages in flight: a server's
/// last words (`OUT SSD`, an error) matter; a client that leaves only says `OUT`, and
/// its user should not wait for the server to hang up.
pub(crate) const SERVER_LINGER: Duration = Duration::from_secs(1);
pub(crate) const CLIENT_LINGER: Duration = Duration::from_millis(20);

thread_local! {
    /// Never held across an await: filled and handed to the engine in one poll.
    /// Grown to the largest read size asked for on this thread.
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// What the engine queued for one socket, and whether it is done with it.
#[derive(Default)]
struct Queue {
    bytes: Vec<u8>,
    /// The outbox was dropped: write what is queued, then close.
    closed: bool,
    /// The socket's task has ended: nothing more can be written.
    gone: bool,
}

#[derive(Default)]
struct Link {
    queue: Mutex<Queue>,
    /// Bytes were queued (notified when the queue turns non-empty), or it was closed.
    ready: Notify,
    kill: Notify,
}

/// The engine's side of a connection: bytes to write. Dropping it closes the socket
/// once everything queued is written; [`Outbox::cut_off`] closes it at once.
pub(crate) struct Outbox {
    link: Arc<Link>,
}

/// The socket task's side of an [`Outbox`].
pub(crate) struct Inbox {
    link: Arc<Link>,
}

pub(crate) fn outbox() -> (Outbox, Inbox) {
    let link = Arc::new(Link::default());
    (Outbox { link: link.clone() }, Inbox { link })
}

impl Outbox {
    /// Queues bytes for writing; false when the peer is too far behind or gone (the
    /// caller then closes the connection).
    #[cfg(test)]
    pub(crate) fn push(&self, bytes: impl AsRef<[u8]>) -> bool {
        self.push_with(|out| out.extend_from_slice(bytes.as_ref()))
    }

    /// Queues a command's wire bytes, encoded in place; false as for `push`.
    pub(crate) fn push_command(&self, cmd: &Command) -> bool {
        self.push_with(|out| cmd.encode_into(out))
    }

    fn push_with(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        let mut q = super::lock(&self.link.queue);
        if q.gone {
            return false;
        }
        let before = q.bytes.len();
        encode(&mut q.bytes);
        if q.bytes.len() > MAX_QUEUED_BYTES {
            q.bytes.truncate(before);
            return false;
        }
        drop(q);
        // A non-empty queue has a wakeup pending already: one per batch is enough.
        if before == 0 {
            self.link.ready.notify_one();
        }
        true
    }

    /// Ends the socket now, with whatever is still queued: for a peer that stopped
    /// reading, whose pending write would otherwise hold the task and its buffers until
    /// the peer hangs up.
    pub(crate) fn cut_off(self) {
        self.link.kill.notify_one();
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        super::lock(&self.link.queue).closed = true;
        self.link.ready.notify_one();
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        super::lock(&self.link.queue).gone = true;
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The outbox was dropped: the engine already knows.
    ByUs,
    /// The peer closed or the socket broke: the engine must be told.
    ByPeer,
}

/// Reads up to `size` bytes once into the thread's buffer and hands what came to
/// `on_bytes`; the count (0 at end of stream).
async fn read_some(rd: &mut OwnedReadHalf, size: usize, on_bytes: &mut impl FnMut(&[u8])) -> std::io::Result<usize> {
    poll_fn(|cx| {
        READ_BUF.with_borrow_mut(|buf| {
            if buf.len() < size {
                buf.resize(size, 0);
            }
            let mut rb = ReadBuf::new(&mut buf[..size]);
            match Pin::new(&mut *rd).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n > 0 {
                        on_bytes(rb.filled());
                    }
                    Poll::Ready(Ok(n))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
}

/// Pumps one socket until either side ends it, reading up to `read_size` at a time.
pub(crate) async fn pump(
    stream: TcpStream,
    inbox: Inbox,
    linger: Duration,
    read_size: usize,
    mut on_bytes: impl FnMut(&[u8]),
) -> Ended {
    let (mut rd, mut wr) = stream.into_split();
    let link = inbox.link.clone();
    // The writer's half of a double buffer: swapped with the queue, written, cleared.
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            // Writes first: what the engine said before a close must go out before it.
            biased;
            _ = link.kill.notified() => return Ended::ByUs,
            _ = link.ready.notified() => {
                let closed = {
                    let mut q = super::lock(&link.queue);
                    std::mem::swap(&mut q.bytes, &mut batch);
                    q.closed
                };
                if !batch.is_empty() {
                    tokio::select! {
                        written = tokio::time::timeout(WRITE_STALL, wr.write_all(&batch)) => match written {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) | Err(_) => return Ended::ByPeer,
                        },
                        _ = link.kill.notified() => return Ended::ByUs,
                    }
                    batch.clear();
                    if batch.capacity() > KEEP_WRITE_BUFFER {
                        batch = Vec::new();
                    }
                }
                if closed {
                    let _ = wr.shutdown().await;
                    let drain = async { while matches!(read_some(&mut rd, read_size, &mut |_| {}).await, Ok(n) if n > 0) {} };
                    let _ = tokio::time::timeout(linger, drain).await;
                    return Ended::ByUs;
                }
            },
            n = read_some(&mut rd, read_size, &mut on_bytes) => match n {
                Ok(0) | Err(_) => return Ended::ByPeer,
                Ok(_) => {}
            },
        }
    }
}
