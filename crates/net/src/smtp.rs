//! SMTP submission (RFC 5321, RFC 3207 STARTTLS, RFC 4954 AUTH PLAIN): just what a 伝送
//! client needs to hand one message to the federation.
//!
//! Why not `lettre`: its blocking `SmtpTransport` sends pre-built bytes (`send_raw`) and
//! refuses AUTH before TLS with `Tls::Required`, but it keeps only the EHLO keywords it knows
//! (8BITMIME, SMTPUTF8, STARTTLS, AUTH) and drops `SIZE`: the pre-check of a message against
//! the server's `SIZE` limit, which lets `kx denso send` refuse before a number is reserved,
//! cannot be made through it (lettre 0.11.23, `ServerInfo`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Connection, Endpoint, NetError};

/// One server reply, possibly of several lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code.
    pub code: u16,
    /// The text of each line, after the code and separator.
    pub lines: Vec<String>,
}

impl Reply {
    /// The reply as one line of text, for messages.
    pub fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }

    /// Whether the code is in the 2xx class.
    fn is_positive(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

/// One reply line: its code, whether it is the last line (`250 ` rather than `250-`), and
/// its text.
pub fn parse_reply_line(line: &[u8]) -> Result<(u16, bool, String), NetError> {
    let bad = || NetError::Protocol(String::from_utf8_lossy(line).into_owned());
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let code = line[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    if !(200..600).contains(&code) {
        return Err(bad());
    }
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return Err(bad()),
    };
    Ok((code, last, String::from_utf8_lossy(text).into_owned()))
}

/// Collects reply lines into replies; every line of one reply must carry the same code.
#[derive(Default)]
pub struct ReplyParser {
    pending: Option<Reply>,
}

impl ReplyParser {
    /// Feeds one line; returns the reply once its last line arrived.
    pub fn feed(&mut self, line: &[u8]) -> Result<Option<Reply>, NetError> {
        let (code, last, text) = parse_reply_line(line)?;
        let reply = self.pending.get_or_insert_with(|| Reply {
            code,
            lines: Vec::new(),
        });
        if reply.code != code {
            return Err(NetError::Protocol(format!(
                "reply lines with codes {} and {code}",
                reply.code
            )));
        }
        reply.lines.push(text);
        Ok(if last { self.pending.take() } else { None })
    }
}

/// The message as DATA sends it: every line ended by CRLF (a bare LF or CR becomes CRLF), a
/// leading `.` doubled, and the terminating `.` line appended.
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + message.len() / 50 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < message.len() {
        let b = message[i];
        match b {
            b'\r' | b'\n' => {
                out.extend_from_slice(b"\r\n");
                if b == b'\r' && message.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            _ => {
                if at_line_start && b == b'.' {
                    out.push(b'.');
                }
                out.push(b);
                at_line_start = false;
            }
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// The initial response of AUTH PLAIN (RFC 4616): no authorisation identity, the user, the
/// password.
pub fn auth_plain(user: &str, password: &str) -> String {
    STANDARD.encode(format!("\0{user}\0{password}"))
}

/// The `SIZE` limit an EHLO reply announces (RFC 1870); `None` when absent or 0 (no limit).
pub fn size_limit(ehlo: &Reply) -> Option<u64> {
    ehlo.lines.iter().find_map(|line| {
        let mut words = line.split_ascii_whitespace();
        let keyword = words.next()?;
        if !keyword.eq_ignore_ascii_case("SIZE") {
            return None;
        }
        words.next()?.parse().ok().filter(|&n| n > 0)
    })
}

/// Whether an EHLO reply offers `extension` (e.g. `STARTTLS`).
fn offers(ehlo: &Reply, extension: &str) -> bool {
    ehlo.lines.iter().skip(1).any(|line| {
        line.split_ascii_whitespace()
            .next()
            .is_some_and(|k| k.eq_ignore_ascii_case(extension))
    })
}

/// An authenticated SMTP session, ready to submit messages.
pub struct SmtpSession {
    conn: Connection,
    parser: ReplyParser,
    size_limit: Option<u64>,
}

impl SmtpSession {
    /// Connects, upgrades with STARTTLS (unless the endpoint is loopback plaintext) and
    /// authenticates with AUTH PLAIN, which is only ever sent under TLS.
    pub fn open(endpoint: &Endpoint, user: &str, password: &str) -> Result<SmtpSession, NetError> {
        let conn = endpoint.connect()?;
        let mut session = SmtpSession {
            conn,
            parser: ReplyParser::default(),
            size_limit: None,
        };
        session.expect("greeting", 220)?;
        let mut ehlo = session.ehlo()?;
        if !endpoint.insecure_plaintext {
            if !offers(&ehlo, "STARTTLS") {
                return Err(NetError::NoTls(endpoint.display(), "STARTTLS"));
            }
            session.conn.command("STARTTLS")?;
            session.expect("STARTTLS", 220)?;
            session.conn = session.conn.start_tls(endpoint)?;
            // RFC 3207 §4.2: everything learnt before TLS is forgotten.
            ehlo = session.ehlo()?;
        }
        session.size_limit = size_limit(&ehlo);
        session
            .conn
            .command(&format!("AUTH PLAIN {}", auth_plain(user, password)))?;
        session.expect("AUTH", 235)?;
        Ok(session)
    }

    /// Checks a message's size against the server's limit, before anything is sent.
    pub fn check_size(&self, size: usize) -> Result<(), NetError> {
        match self.size_limit {
            Some(limit) if size as u64 > limit => Err(NetError::TooLarge {
                size: size as u64,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// Submits one message; returns the server's final reply (the message is the server's
    /// once it is positive).
    pub fn send(&mut self, from: &str, to: &[&str], message: &[u8]) -> Result<Reply, NetError> {
        self.check_size(message.len())?;
        let size = match self.size_limit {
            Some(_) => format!(" SIZE={}", message.len()),
            None => String::new(),
        };
        self.conn.command(&format!("MAIL FROM:<{from}>{size}"))?;
        self.expect("MAIL FROM", 250)?;
        for rcpt in to {
            self.conn.command(&format!("RCPT TO:<{rcpt}>"))?;
            self.expect("RCPT TO", 250)?;
        }
        self.conn.command("DATA")?;
        self.expect("DATA", 354)?;
        self.conn.write_all(&dot_stuff(message))?;
        self.expect("the message", 250)
    }

    /// Ends the session politely; a failure here changes nothing already sent.
    pub fn quit(mut self) {
        if self.conn.command("QUIT").is_ok() {
            let _ = self.reply();
        }
    }

    fn ehlo(&mut self) -> Result<Reply, NetError> {
        self.conn.command("EHLO kx.localdomain")?;
        self.expect("EHLO", 250)
    }

    fn reply(&mut self) -> Result<Reply, NetError> {
        loop {
            let line = self.conn.next_line()?;
            if let Some(reply) = self.parser.feed(&line)? {
                return Ok(reply);
            }
        }
    }

    /// Reads a reply and requires `code` (or, for 250, any 2xx).
    fn expect(&mut self, command: &str, code: u16) -> Result<Reply, NetError> {
        let reply = self.reply()?;
        let ok = reply.code == code || (code == 250 && reply.is_positive());
        if ok {
            Ok(reply)
        } else {
            Err(NetError::Refused {
                command: command.to_owned(),
                reply: reply.text(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines() {
        for (line, code, last, text) in [
            (&b"250 OK"[..], 250, true, "OK"),
            (b"250-SIZE 100", 250, false, "SIZE 100"),
            (b"220", 220, true, ""),
            (b"535 5.7.8 no", 535, true, "5.7.8 no"),
        ] {
            assert_eq!(
                parse_reply_line(line).expect("a reply line"),
                (code, last, text.to_owned())
            );
        }
        for bad in [&b""[..], b"25", b"abc def", b"250x", b"999 x", b"099 x"] {
            assert!(parse_reply_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn multi_line_replies_collect_until_the_last_line() {
        let mut parser = ReplyParser::default();
        assert_eq!(parser.feed(b"250-kxd").expect("ok"), None);
        assert_eq!(parser.feed(b"250-SIZE 1000").expect("ok"), None);
        let reply = parser.feed(b"250 STARTTLS").expect("ok").expect("complete");
        assert_eq!(reply.lines, ["kxd", "SIZE 1000", "STARTTLS"]);
        assert_eq!(size_limit(&reply), Some(1000));
        assert!(offers(&reply, "starttls"));
        assert!(!offers(&reply, "kxd"), "the first line is the greeting");
        assert!(parser.feed(b"250-a").expect("ok").is_none());
        assert!(parser.feed(b"251 b").is_err(), "codes must agree");
    }

    /// The naive reference: make every line end one LF, split into lines, double a leading
    /// dot, join with CRLF.
    fn reference_stuff(message: &[u8]) -> Vec<u8> {
        let mut normal = Vec::new();
        let mut i = 0;
        while i < message.len() {
            if message[i] == b'\r' && message.get(i + 1) == Some(&b'\n') {
                normal.push(b'\n');
                i += 2;
            } else if message[i] == b'\r' {
                normal.push(b'\n');
                i += 1;
            } else {
                normal.push(message[i]);
                i += 1;
            }
        }
        let mut out = Vec::new();
        let mut lines: Vec<&[u8]> = normal.split(|&b| b == b'\n').collect();
        if normal.last() == Some(&b'\n') || normal.is_empty() {
            lines.pop();
        }
        for line in lines {
            if line.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    #[test]
    fn dot_stuffing_matches_the_reference_for_every_short_input() {
        for input in crate::every_string(b"a.\r\n", 7) {
            assert_eq!(dot_stuff(&input), reference_stuff(&input), "{input:?}");
        }
    }

    #[test]
    fn auth_plain_is_base64_of_nul_user_nul_password() {
        assert_eq!(auth_plain("J1", "pw"), STANDARD.encode(b"\0J1\0pw"));
    }
}
