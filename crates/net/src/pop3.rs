//! POP3 retrieval (RFC 1939, RFC 2595 STLS, RFC 2449 CAPA): list, retrieve, delete.
//!
//! Deletions take effect only when QUIT succeeds (the UPDATE state), which is what makes
//! "store durably, then DELE" safe: a client that dies before QUIT deletes nothing.
//!
//! Ours because no maintained blocking POP3 client crate exists.

use super::{Connection, Endpoint, NetError};

/// A message of the maildrop: its number in this session and its unique id, when the server
/// has UIDL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// The message number (1-based, valid for this session only).
    pub number: u32,
    /// The unique id (UIDL), stable across sessions.
    pub uid: Option<String>,
}

/// Reads a status line: the text after `+OK`, or the `-ERR` text as an error.
pub fn parse_status(line: &[u8], command: &str) -> Result<String, NetError> {
    let text = String::from_utf8_lossy(line);
    if let Some(rest) = text.strip_prefix("+OK") {
        return Ok(rest.trim_start().to_owned());
    }
    if let Some(rest) = text.strip_prefix("-ERR") {
        return Err(NetError::Refused {
            command: command.to_owned(),
            reply: rest.trim_start().to_owned(),
        });
    }
    Err(NetError::Protocol(text.into_owned()))
}

/// One line of a multi-line response: `None` for the terminating `.`, otherwise the line with
/// a leading dot of a stuffed line removed (RFC 1939 §3).
pub fn unstuff(line: &[u8]) -> Option<&[u8]> {
    match line {
        b"." => None,
        [b'.', rest @ ..] => Some(rest),
        _ => Some(line),
    }
}

/// One line of a UIDL listing: `<number> <uid>`.
pub fn parse_uidl_line(line: &[u8]) -> Result<Listed, NetError> {
    let text = String::from_utf8_lossy(line);
    let mut words = text.split_ascii_whitespace();
    let number = words.next().and_then(|n| n.parse().ok());
    let uid = words.next();
    match (number, uid, words.next()) {
        (Some(number), Some(uid), None)
            if !uid.is_empty() && uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
        {
            Ok(Listed {
                number,
                uid: Some(uid.to_owned()),
            })
        }
        _ => Err(NetError::Protocol(format!("UIDL line {text:?}"))),
    }
}

/// One line of a LIST listing: `<number> <size>`.
fn parse_list_line(line: &[u8]) -> Result<Listed, NetError> {
    let text = String::from_utf8_lossy(line);
    text.split_ascii_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .map(|number| Listed { number, uid: None })
        .ok_or_else(|| NetError::Protocol(format!("LIST line {text:?}")))
}

/// An authenticated POP3 session (the TRANSACTION state).
pub struct Pop3Session {
    conn: Connection,
}

impl Pop3Session {
    /// Connects, upgrades with STLS (unless the endpoint is loopback plaintext) and logs in
    /// with USER / PASS, which only ever go under TLS.
    pub fn open(endpoint: &Endpoint, user: &str, password: &str) -> Result<Pop3Session, NetError> {
        let mut session = Pop3Session {
            conn: endpoint.connect()?,
        };
        session.status("greeting")?;
        if !endpoint.insecure_plaintext {
            session.conn.command("STLS")?;
            match session.status("STLS") {
                Ok(_) => {}
                Err(NetError::Refused { .. }) => {
                    return Err(NetError::NoTls(endpoint.display(), "STLS"));
                }
                Err(e) => return Err(e),
            }
            session.conn = session.conn.start_tls(endpoint)?;
        }
        session.conn.command(&format!("USER {user}"))?;
        session.status("USER")?;
        session.conn.command(&format!("PASS {password}"))?;
        session.status("PASS")?;
        Ok(session)
    }

    /// Whether the session runs under TLS.
    pub fn is_tls(&self) -> bool {
        self.conn.is_tls()
    }

    /// Every message of the maildrop with its unique id (UIDL), or without ids when the
    /// server lacks UIDL.
    pub fn list(&mut self) -> Result<Vec<Listed>, NetError> {
        self.conn.command("UIDL")?;
        match self.status("UIDL") {
            Ok(_) => self
                .multi_line()?
                .iter()
                .map(|l| parse_uidl_line(l))
                .collect(),
            Err(NetError::Refused { .. }) => {
                self.conn.command("LIST")?;
                self.status("LIST")?;
                self.multi_line()?
                    .iter()
                    .map(|l| parse_list_line(l))
                    .collect()
            }
            Err(e) => Err(e),
        }
    }

    /// Retrieves a message, its lines joined with CRLF.
    pub fn retr(&mut self, number: u32) -> Result<Vec<u8>, NetError> {
        self.conn.command(&format!("RETR {number}"))?;
        self.status("RETR")?;
        let mut message = Vec::new();
        for line in self.multi_line()? {
            message.extend_from_slice(&line);
            message.extend_from_slice(b"\r\n");
        }
        Ok(message)
    }

    /// Marks a message deleted; it goes at QUIT.
    pub fn dele(&mut self, number: u32) -> Result<(), NetError> {
        self.conn.command(&format!("DELE {number}"))?;
        self.status("DELE").map(drop)
    }

    /// Ends the session: the server deletes the marked messages now.
    pub fn quit(mut self) -> Result<(), NetError> {
        self.conn.command("QUIT")?;
        self.status("QUIT").map(drop)
    }

    fn status(&mut self, command: &str) -> Result<String, NetError> {
        let line = self.conn.next_line()?;
        parse_status(&line, command)
    }

    fn multi_line(&mut self) -> Result<Vec<Vec<u8>>, NetError> {
        let mut lines = Vec::new();
        loop {
            let line = self.conn.next_line()?;
            match unstuff(&line) {
                None => return Ok(lines),
                Some(content) => lines.push(content.to_vec()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::dot_stuff;

    #[test]
    fn status_lines() {
        assert_eq!(
            parse_status(b"+OK 2 messages", "STAT").expect("ok"),
            "2 messages"
        );
        assert_eq!(parse_status(b"+OK", "STAT").expect("ok"), "");
        assert!(matches!(
            parse_status(b"-ERR no such message", "RETR"),
            Err(NetError::Refused { reply, .. }) if reply == "no such message"
        ));
        assert!(matches!(
            parse_status(b"* OK", "x"),
            Err(NetError::Protocol(_))
        ));
    }

    #[test]
    fn uidl_lines() {
        assert_eq!(
            parse_uidl_line(b"3 abc-12").expect("ok"),
            Listed {
                number: 3,
                uid: Some("abc-12".into())
            }
        );
        for bad in [&b"3"[..], b"x abc", b"1 a b", b""] {
            assert!(parse_uidl_line(bad).is_err(), "{bad:?}");
        }
    }

    /// What SMTP stuffs, POP3 unstuffs: every short message over a dot-heavy alphabet comes
    /// back line for line.
    #[test]
    fn unstuffing_inverts_stuffing() {
        for input in crate::every_string(b"a.\n", 7) {
            let stuffed = dot_stuff(&input);
            let mut back = Vec::new();
            let mut ended = false;
            for line in stuffed.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                match unstuff(line) {
                    None => {
                        ended = true;
                        break;
                    }
                    Some(content) => {
                        back.extend_from_slice(content);
                        back.push(b'\n');
                    }
                }
            }
            assert!(ended, "{input:?}");
            let mut expected = input.clone();
            if !expected.is_empty() && expected.last() != Some(&b'\n') {
                expected.push(b'\n');
            }
            assert_eq!(back, expected, "{input:?}");
        }
    }
}
