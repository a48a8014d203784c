//! A bounded pipe between two threads, so that a send seals and uploads at the same time: the
//! sealer writes into a [`PipeWriter`], the HTTP request body reads from the [`PipeReader`],
//! and at most 16 chunks of 64 KiB wait in between, whatever the send's size.
//!
//! The reader sees the end of the stream only when the writer says so ([`PipeWriter::finish`]);
//! a writer dropped before that (the sealing failed) makes the reader fail, so the upload is
//! aborted instead of ending as if the sealed file were complete.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Bytes per chunk handed from the writer to the reader.
const CHUNK: usize = 64 * 1024;

/// Chunks that may wait in the pipe; with the one being filled and the one being read, the pipe
/// holds at most `(CHUNKS + 2) × CHUNK` bytes (1.1 MiB).
const CHUNKS: usize = 16;

/// A new pipe.
pub fn pipe() -> (PipeWriter, PipeReader) {
    let (tx, rx) = sync_channel(CHUNKS);
    (
        PipeWriter {
            tx,
            buffer: Vec::with_capacity(CHUNK),
            hung_up: false,
        },
        PipeReader {
            rx,
            chunk: Vec::new(),
            read: 0,
            ended: false,
        },
    )
}

/// The writing end. An empty chunk is the end-of-stream mark, so empty chunks are never sent
/// otherwise.
pub struct PipeWriter {
    tx: SyncSender<Vec<u8>>,
    buffer: Vec<u8>,
    hung_up: bool,
}

impl PipeWriter {
    /// Ends the stream: what is buffered goes out, then the reader sees the end. Nothing may
    /// be written after.
    pub fn finish(&mut self) -> io::Result<()> {
        self.send_buffer()?;
        self.send(Vec::new())
    }

    /// Whether the reader went away first (the upload ended before the stream did): writes
    /// failed because of that, not by a fault of the writer's own.
    pub fn hung_up(&self) -> bool {
        self.hung_up
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK));
        self.send(full)
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.tx.send(chunk).map_err(|_| {
            self.hung_up = true;
            io::Error::new(io::ErrorKind::BrokenPipe, "the upload ended")
        })
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.hung_up {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the upload ended",
            ));
        }
        let n = data.len().min(CHUNK - self.buffer.len());
        self.buffer.extend_from_slice(&data[..n]);
        if self.buffer.len() == CHUNK {
            self.send_buffer()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

/// The reading end.
pub struct PipeReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    read: usize,
    ended: bool,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.read == self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(chunk) => {
                    self.ended = chunk.is_empty();
                    self.chunk = chunk;
                    self.read = 0;
                }
                Err(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the sealed stream broke off",
                    ));
                }
            }
        }
        let n = out.len().min(self.chunk.len() - self.read);
        out[..n].copy_from_slice(&self.chunk[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_the_end_only_when_finished() {
        let (mut writer, mut reader) = pipe();
        let data: Vec<u8> = (0..5 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let expected = data.clone();
        let sender = std::thread::spawn(move || {
            for piece in data.chunks(1000) {
                writer.write_all(piece)?;
            }
            writer.finish()
        });
        let mut got = Vec::new();
        reader.read_to_end(&mut got).expect("a complete stream");
        sender.join().expect("the writer").expect("written");
        assert_eq!(got, expected);
        assert_eq!(reader.read(&mut [0u8; 8]).expect("still the end"), 0);
    }

    #[test]
    fn a_writer_dropped_unfinished_makes_the_reader_fail() {
        let (mut writer, mut reader) = pipe();
        writer.write_all(&[1u8; 3 * CHUNK / 2]).expect("written");
        drop(writer);
        let mut got = Vec::new();
        let err = reader.read_to_end(&mut got).expect_err("no clean end");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            got.len(),
            CHUNK,
            "the full chunk came, the unsent half did not"
        );
    }

    #[test]
    fn a_reader_gone_makes_the_writer_fail_and_say_so() {
        let (mut writer, reader) = pipe();
        drop(reader);
        assert!(!writer.hung_up());
        let err = writer
            .write_all(&[0u8; 2 * CHUNK])
            .expect_err("nobody reads");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(writer.hung_up());
    }

    #[test]
    fn the_pipe_holds_a_bounded_number_of_chunks() {
        let (mut writer, _reader) = pipe();
        for _ in 0..CHUNKS {
            writer.write_all(&[0u8; CHUNK]).expect("room");
        }
        // Full: the next chunk would wait for the reader.
        assert!(matches!(
            writer.tx.try_send(vec![0u8]),
            Err(std::sync::mpsc::TrySendError::Full(_))
        ));
    }
}
