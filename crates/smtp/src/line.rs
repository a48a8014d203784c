//! The line discipline under commands and AUTH continuations: bounded lines, and an
//! over-long line discarded up to its end, however the bytes arrive.
//!
//! `smtp_proto`'s `RequestReceiver` answers an over-long line with `ResponseTooLong` but
//! leaves the rest of that line in the stream, where it would be parsed as a new command
//! (command smuggling). Framing lines here, and handing `Request::parse` only complete ones,
//! makes what a line means independent of how the client's bytes were split.

use std::slice::Iter;

use kx_listen::Reading;

/// Longest command line accepted, CRLF included (`smtp_proto`'s own limit).
pub(crate) const MAX_COMMAND_LINE: usize = smtp_proto::request::receiver::MAX_LINE_LENGTH;

/// Longest AUTH continuation line accepted, CRLF included: a Base64 PLAIN response of
/// generous size.
pub(crate) const MAX_AUTH_LINE: usize = 2050;

/// What [`LineBuffer::take`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// A whole line, with its line end.
    Complete(&'a [u8]),
    /// The line passed the limit; its rest, up to and including the LF, will be discarded.
    TooLong,
}

/// Collects one line at a time from successive reads.
#[derive(Default)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
    /// The line in progress went over the limit: drop bytes up to its LF.
    discarding: bool,
    /// `buf` holds a line already returned; clear it before the next.
    returned: bool,
    /// Lines ended so far, over-long ones included: the number of the line in progress.
    ended: u64,
}

impl LineBuffer {
    /// Takes bytes from `bytes` up to the end of the next line of at most `limit` bytes.
    /// `None` means `bytes` is used up and the line is not finished.
    pub(crate) fn take(&mut self, bytes: &mut Iter<'_, u8>, limit: usize) -> Option<Line<'_>> {
        if std::mem::take(&mut self.returned) {
            self.buf.clear();
        }
        let mut rest = bytes.as_slice();
        if self.discarding {
            let lf = rest.iter().position(|&b| b == b'\n');
            let Some(lf) = lf else {
                *bytes = [].iter();
                return None;
            };
            self.discarding = false;
            self.ended += 1;
            rest = &rest[lf + 1..];
        }
        let lf = rest.iter().position(|&b| b == b'\n');
        let (taken, complete) = match lf {
            Some(lf) => (lf + 1, true),
            None => (rest.len(), false),
        };
        // Only what fits is copied: a line that cannot be accepted is never buffered in full.
        let room = limit.saturating_sub(self.buf.len());
        if taken > room || (!complete && taken == room) {
            self.buf.clear();
            *bytes = rest[room.min(taken)..].iter();
            // The LF may already be here: then the next line starts right after it.
            self.discarding = true;
            return Some(Line::TooLong);
        }
        self.buf.extend_from_slice(&rest[..taken]);
        *bytes = rest[taken..].iter();
        if !complete {
            return None;
        }
        self.returned = true;
        self.ended += 1;
        Some(Line::Complete(&self.buf))
    }

    /// Whether a line has begun and not ended (its deadline runs), and which.
    pub(crate) fn reading(&self) -> Reading {
        if self.discarding || (!self.returned && !self.buf.is_empty()) {
            Reading::Line(self.ended)
        } else {
            Reading::Between
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `input` as the buffer frames it, fed in pieces of `chunk` bytes.
    fn frame(input: &[u8], chunk: usize, limit: usize) -> Vec<Option<Vec<u8>>> {
        let mut lines = LineBuffer::default();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            let mut iter = piece.iter();
            while let Some(line) = lines.take(&mut iter, limit) {
                out.push(match line {
                    Line::Complete(line) => Some(line.to_vec()),
                    Line::TooLong => None,
                });
            }
        }
        out
    }

    #[test]
    fn lines_are_framed_the_same_in_every_chunk_size() {
        let long = [b"NOOP ".as_slice(), &[b'x'; 20], b"QUIT\r\n"].concat();
        let input = [b"A\r\nBB\n".as_slice(), &long, b"12345678\r\n", b"C\r\n"].concat();
        let expected = vec![
            Some(b"A\r\n".to_vec()),
            Some(b"BB\n".to_vec()),
            // The over-long line's tail, `QUIT`, is not a command.
            None,
            // Exactly at the limit, CRLF included.
            Some(b"12345678\r\n".to_vec()),
            Some(b"C\r\n".to_vec()),
        ];
        for chunk in 1..=input.len() {
            assert_eq!(frame(&input, chunk, 10), expected, "chunk size {chunk}");
        }
    }

    #[test]
    fn the_command_limit_counts_the_crlf() {
        let at_limit = [b"NOOP ".as_slice(), &[b'y'; MAX_COMMAND_LINE - 7], b"\r\n"].concat();
        let over = [b"NOOP ".as_slice(), &[b'y'; MAX_COMMAND_LINE - 6], b"\r\n"].concat();
        for chunk in [1, 100, 512] {
            let framed = frame(
                &[at_limit.as_slice(), &over].concat(),
                chunk,
                MAX_COMMAND_LINE,
            );
            assert_eq!(framed, [Some(at_limit.clone()), None], "chunk size {chunk}");
        }
    }

    #[test]
    fn a_line_is_in_progress_from_its_first_byte_to_its_lf() {
        let mut lines = LineBuffer::default();
        let mut positions = Vec::new();
        for piece in [&b"NO"[..], b"OP\r\nRS", b"ET\r\n", b"12345678901", b"2\n"] {
            let mut iter = piece.iter();
            while lines.take(&mut iter, 10).is_some() {}
            positions.push(lines.reading());
        }
        let expected = [
            Reading::Line(0),
            Reading::Line(1),
            Reading::Between,
            // Over the limit and discarded, but not ended: its deadline still runs.
            Reading::Line(2),
            Reading::Between,
        ];
        assert_eq!(positions, expected);
    }

    #[test]
    fn a_line_at_the_limit_without_its_lf_is_too_long() {
        assert_eq!(
            frame(b"123456789\r\nok\n", 4, 10),
            [None, Some(b"ok\n".to_vec())]
        );
    }
}
