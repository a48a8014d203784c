//! What the protocol crates' fuzz targets share: a connection whose reads are given in advance,
//! the way a fuzz input says where to split the client's bytes, a runtime kept between inputs,
//! and the replay of the seeds in the crates' unit tests.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection whose every read returns the next of the chunks given (or as much of it as the
/// reader has room for), then end of input; every write succeeds and is kept in its
/// [`Transcript`].
pub struct ScriptedStream {
    reads: VecDeque<Vec<u8>>,
    written: Arc<Mutex<Vec<u8>>>,
}

/// What the server wrote to a [`ScriptedStream`], readable after the session dropped it.
pub struct Transcript(Arc<Mutex<Vec<u8>>>);

impl ScriptedStream {
    /// A connection whose reads return `chunks`, and the handle to what is written to it.
    pub fn new(chunks: &[&[u8]]) -> (ScriptedStream, Transcript) {
        let written = Arc::new(Mutex::new(Vec::new()));
        let stream = ScriptedStream {
            reads: chunks.iter().map(|chunk| chunk.to_vec()).collect(),
            written: Arc::clone(&written),
        };
        (stream, Transcript(written))
    }
}

impl Transcript {
    /// Everything written so far.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// A poisoned lock means a session panicked, which the fuzz target reports anyway.
fn lock(written: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    written
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AsyncRead for ScriptedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(mut chunk) = self.reads.pop_front() {
            let n = chunk.len().min(buf.remaining());
            buf.put_slice(&chunk[..n]);
            if n < chunk.len() {
                self.reads.push_front(chunk.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ScriptedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        lock(&self.written).extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A fuzz input as what a client sends and how its reads are cut: the first byte, modulo 8,
/// says how many bytes after it are piece lengths (each 1 to 256, used in turn); the rest is
/// the client's bytes. Without lengths the bytes come in one piece. Returns the client's bytes
/// and the pieces.
pub fn split_input(data: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let (lengths, payload) = data
        .split_first()
        .map_or((&[][..], data), |(&count, rest)| {
            rest.split_at(usize::from(count % 8).min(rest.len()))
        });
    let mut pieces = Vec::new();
    let mut rest = payload;
    for &length in lengths.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at((usize::from(length) + 1).min(rest.len()));
        pieces.push(piece);
        rest = tail;
    }
    if !rest.is_empty() {
        pieces.push(rest);
    }
    (payload, pieces)
}

/// Runs `future` on a current-thread runtime of this thread, kept between calls: building one
/// per input would cost more than the session.
pub fn block_on<F: Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}

/// Calls `check` with every file in `crate_dir/fuzz/seeds`, the seeds of a crate's fuzz target
/// (and the inputs it once crashed on), and asserts there were at least `at_least`, so that a
/// moved folder cannot leave the replay checking nothing.
pub fn replay_seeds(crate_dir: &str, at_least: usize, check: impl Fn(&[u8])) {
    let dir = Path::new(crate_dir).join("fuzz/seeds");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("the seeds in {}: {error}", dir.display()));
    let mut played = 0;
    for entry in entries {
        let path = entry.expect("a seed").path();
        let data = std::fs::read(&path).expect("a seed's bytes");
        // The seed at fault, in the test's output when `check` panics.
        println!("{}", path.display());
        check(&data);
        played += 1;
    }
    assert!(
        played >= at_least,
        "only {played} seeds in {}",
        dir.display()
    );
}

#[cfg(test)]
mod tests {
    use super::split_input;

    #[test]
    fn input_is_cut_at_the_lengths_given() {
        let cut = |data: &'static [u8]| split_input(data).1;
        assert_eq!(
            cut(b"\x02\x00\x02abcdefg"),
            [&b"a"[..], b"bcd", b"e", b"fg"]
        );
        assert_eq!(cut(b"\x08abc"), [&b"abc"[..]]);
        assert_eq!(split_input(b"\x01\x03").0, b"");
        assert!(cut(b"\x01\x03").is_empty());
        assert!(cut(b"").is_empty());
    }
}
