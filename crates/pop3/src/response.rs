//! POP3 responses as data, and their wire form: status lines with RFC 2449 / RFC 3206 response
//! codes, and multi-line bodies with dot-stuffing.

use std::borrow::Cow;
use std::fmt;

/// An extended response code (RFC 2449 §8, RFC 3206), shown in brackets after `-ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCode {
    /// `[AUTH]`: the credentials, or the way they were sent, are not acceptable.
    Auth,
    /// `[IN-USE]`: the maildrop is locked by another session.
    InUse,
    /// `[SYS/TEMP]`: a temporary server failure; trying later may work.
    SysTemp,
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResponseCode::Auth => "AUTH",
            ResponseCode::InUse => "IN-USE",
            ResponseCode::SysTemp => "SYS/TEMP",
        })
    }
}

/// One response, before serialisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response<'a> {
    /// `+ ` and an empty SASL challenge (RFC 5034 §4).
    Continue,
    /// `-ERR [code] text`.
    Err(Option<ResponseCode>, Cow<'a, str>),
    /// `+OK text`.
    Ok(Cow<'a, str>),
    /// `+OK text`, then `lines` and the terminating `.` (CAPA, LIST, UIDL).
    Lines(Cow<'a, str>, Vec<String>),
}

impl Response<'_> {
    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            Response::Continue => out.extend_from_slice(b"+ \r\n"),
            Response::Err(code, text) => {
                out.extend_from_slice(b"-ERR ");
                if let Some(code) = code {
                    out.extend_from_slice(format!("[{code}] ").as_bytes());
                }
                push_line(out, text);
            }
            // "+OK" alone when there is nothing to say (NOOP), not "+OK " with a dangling space.
            Response::Ok(text) if text.is_empty() => out.extend_from_slice(b"+OK\r\n"),
            Response::Ok(text) => {
                out.extend_from_slice(b"+OK ");
                push_line(out, text);
            }
            Response::Lines(text, lines) => {
                Response::Ok(Cow::Borrowed(text)).write(out);
                let mut stuffer = DotStuffer::default();
                for line in lines {
                    stuffer.push(line.as_bytes(), out);
                    stuffer.push(b"\r\n", out);
                }
                stuffer.finish(out);
            }
        }
    }
}

/// Appends `text` and CRLF; any CR or LF in `text` becomes a space so one response can never
/// turn into two.
fn push_line(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// Byte-stuffs a multi-line body (RFC 1939 §3) that may arrive in pieces.
///
/// A line is taken to start after every LF, not only after CRLF: a message holding a bare LF
/// followed by `.` then cannot look like the terminator to a lenient client either.
#[derive(Debug)]
pub struct DotStuffer {
    /// The last two bytes written, starting as the status line's CRLF.
    tail: [u8; 2],
}

impl Default for DotStuffer {
    fn default() -> Self {
        DotStuffer { tail: *b"\r\n" }
    }
}

impl DotStuffer {
    /// Appends `chunk` to `out`, doubling every `.` that starts a line.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut copied = 0;
        let mut previous = self.tail[1];
        for (i, &byte) in chunk.iter().enumerate() {
            if byte == b'.' && previous == b'\n' {
                out.extend_from_slice(&chunk[copied..i]);
                out.push(b'.');
                copied = i;
            }
            previous = byte;
        }
        out.extend_from_slice(&chunk[copied..]);
        match chunk {
            [.., a, b] => self.tail = [*a, *b],
            [b] => self.tail = [self.tail[1], *b],
            [] => {}
        }
    }

    /// Ends the body: CRLF if the body did not end with one, then `.` CRLF.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.tail != *b"\r\n" {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// What `TOP msg n` sends of `message`: the header, the blank line after it, and the first
/// `lines` lines of the body (RFC 1939 §7). A message without a blank line is all header.
pub fn top(message: &[u8], lines: u32) -> &[u8] {
    let mut end = 0;
    let mut in_header = true;
    let mut remaining = lines;
    while end < message.len() && (in_header || remaining > 0) {
        let line_end = message[end..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(message.len(), |i| end + i + 1);
        let line = &message[end..line_end];
        if in_header {
            in_header = !(line == b"\r\n" || line == b"\n");
        } else {
            remaining -= 1;
        }
        end = line_end;
    }
    &message[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(response: Response<'_>) -> String {
        let mut out = Vec::new();
        response.write(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn status_lines() {
        let cases = [
            (Response::Ok("ready".into()), "+OK ready\r\n"),
            (Response::Ok("".into()), "+OK\r\n"),
            (Response::Err(None, "no".into()), "-ERR no\r\n"),
            (
                Response::Err(Some(ResponseCode::Auth), "bad".into()),
                "-ERR [AUTH] bad\r\n",
            ),
            (
                Response::Err(Some(ResponseCode::InUse), "locked".into()),
                "-ERR [IN-USE] locked\r\n",
            ),
            (
                Response::Err(Some(ResponseCode::SysTemp), "later".into()),
                "-ERR [SYS/TEMP] later\r\n",
            ),
            (Response::Ok("a\r\n+OK b".into()), "+OK a  +OK b\r\n"),
            (Response::Continue, "+ \r\n"),
            (
                Response::Lines("list".into(), vec!["1 10".into(), ".x".into()]),
                "+OK list\r\n1 10\r\n..x\r\n.\r\n",
            ),
            (Response::Lines("none".into(), vec![]), "+OK none\r\n.\r\n"),
        ];
        for (response, expected) in cases {
            assert_eq!(wire(response), expected);
        }
    }

    /// The obvious implementation: split into lines after each LF, double a leading dot.
    fn reference_stuff(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for line in body.split_inclusive(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
        }
        if !body.is_empty() && !body.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    /// What a client does: read lines up to the lone `.`, removing one leading dot.
    fn reference_unstuff(wire: &[u8]) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut consumed = 0;
        for line in wire.split_inclusive(|&b| b == b'\n') {
            consumed += line.len();
            if line == b".\r\n" {
                return (out, consumed);
            }
            out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
        }
        panic!("no terminator in {wire:?}");
    }

    /// Every string over `a.\r\n` up to `max_len` bytes.
    fn all_strings(max_len: u32) -> Vec<Vec<u8>> {
        const ALPHABET: &[u8] = b"a.\r\n";
        (0..=max_len)
            .flat_map(|len| {
                (0..4usize.pow(len)).map(move |mut n| {
                    (0..len)
                        .map(|_| {
                            let b = ALPHABET[n % 4];
                            n /= 4;
                            b
                        })
                        .collect()
                })
            })
            .collect()
    }

    #[test]
    fn dot_stuffing_matches_reference_at_every_split() {
        for body in all_strings(7) {
            let expected = reference_stuff(&body);
            for first in 0..=body.len() {
                for second in first..=body.len() {
                    let mut out = Vec::new();
                    let mut stuffer = DotStuffer::default();
                    stuffer.push(&body[..first], &mut out);
                    stuffer.push(&body[first..second], &mut out);
                    stuffer.push(&body[second..], &mut out);
                    stuffer.finish(&mut out);
                    assert_eq!(out, expected, "{body:?} split at {first}, {second}");
                }
            }
            // A client reads back exactly the body (plus the CRLF the server had to add) and
            // the terminator is the very last line.
            let (read, consumed) = reference_unstuff(&expected);
            assert_eq!(consumed, expected.len(), "{body:?}");
            let mut with_crlf = body.clone();
            if !body.is_empty() && !body.ends_with(b"\r\n") {
                with_crlf.extend_from_slice(b"\r\n");
            }
            assert_eq!(read, with_crlf, "{body:?}");
        }
    }

    #[test]
    fn top_sends_header_and_n_body_lines() {
        let message = b"From: a\r\nSubject: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n";
        let cases: [(&[u8], u32, &[u8]); 7] = [
            (message, 0, b"From: a\r\nSubject: b\r\n\r\n"),
            (message, 1, b"From: a\r\nSubject: b\r\n\r\nline 1\r\n"),
            (
                message,
                2,
                b"From: a\r\nSubject: b\r\n\r\nline 1\r\n.line 2\r\n",
            ),
            (message, 3, message),
            (message, u32::MAX, message),
            (b"From: a\r\nno body", 5, b"From: a\r\nno body"),
            (b"A: b\n\nbody\nmore\n", 1, b"A: b\n\nbody\n"),
        ];
        for (message, lines, expected) in cases {
            assert_eq!(top(message, lines), expected, "{lines}");
        }
    }
}
