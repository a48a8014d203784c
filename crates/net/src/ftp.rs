//! A read-only FTP client (RFC 959, RFC 2428 EPSV, RFC 4217 FTP over TLS) for the download
//! area a service notice points at (spec §6.8): log in, list a directory, retrieve files in
//! binary mode over passive data connections, quit.
//!
//! The control connection is upgraded with `AUTH TLS` and the data connection protected with
//! `PROT P` before the password is sent, as for SMTP and POP3. The data connection always goes
//! to the control connection's host, whatever address a PASV reply names: following it would
//! let a server point the client anywhere (the FTP bounce problem) and breaks behind NAT.
//!
//! Why not `suppaftp`: 12.2 with `rustls-ring` fits the workspace's rustls 0.23 and ring, and
//! its NAT workaround keeps data connections on the control host, but it opens passive data
//! connections without read or write timeouts unless a custom stream builder replaces its own,
//! and this client needs only USER/PASS, EPSV/PASV, LIST and RETR. The switch was not made
//! within the time the evaluation was given; it is the first candidate when this module grows.

use std::io::Write;

use super::{Connection, Endpoint, NetError};

/// A complete FTP reply: its code and its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FtpReply {
    /// The three-digit code.
    pub code: u16,
    /// The text, lines joined by spaces.
    pub text: String,
}

/// Reads the code of a reply line: `(code, last)`; `None` for an intermediate line of a
/// multi-line reply, which may hold anything.
pub fn reply_code(line: &[u8]) -> Option<(u16, bool)> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = line[..3]
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match line.get(3) {
        None | Some(b' ') => Some((code, true)),
        Some(b'-') => Some((code, false)),
        Some(_) => None,
    }
}

/// The port of a `229 Entering Extended Passive Mode (|||port|)` reply.
pub fn parse_epsv(text: &str) -> Option<u16> {
    let inner = &text[text.find('(')? + 1..text.rfind(')')?];
    let delimiter = inner.chars().next()?;
    let fields: Vec<&str> = inner.split(delimiter).collect();
    match fields.as_slice() {
        ["", "", "", port, ""] => port.parse().ok(),
        _ => None,
    }
}

/// The port of a `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` reply (the address is
/// ignored, see the module docs).
pub fn parse_pasv(text: &str) -> Option<u16> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers: Vec<u16> = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(6)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    match numbers.as_slice() {
        [_, _, _, _, p1, p2] if *p1 < 256 && *p2 < 256 => Some(p1 * 256 + p2),
        _ => None,
    }
}

/// A logged-in FTP session (binary mode).
pub struct FtpSession {
    control: Connection,
    endpoint: Endpoint,
}

impl FtpSession {
    /// Connects, protects the control connection with `AUTH TLS` and the data connections
    /// with `PROT P` (unless the endpoint is loopback plaintext), logs in as `user`.
    pub fn open(endpoint: &Endpoint, user: &str, password: &str) -> Result<FtpSession, NetError> {
        let mut control = endpoint.connect()?;
        expect(&mut control, "greeting", &[220])?;
        if !endpoint.insecure_plaintext {
            control.command("AUTH TLS")?;
            match expect(&mut control, "AUTH TLS", &[234]) {
                Ok(_) => {}
                Err(NetError::Refused { .. }) => {
                    return Err(NetError::NoTls(endpoint.display(), "AUTH TLS"));
                }
                Err(e) => return Err(e),
            }
            control = control.start_tls(endpoint)?;
        }
        control.command(&format!("USER {user}"))?;
        let reply = expect(&mut control, "USER", &[230, 331])?;
        if reply.code == 331 {
            control.command(&format!("PASS {password}"))?;
            expect(&mut control, "PASS", &[230])?;
        }
        if !endpoint.insecure_plaintext {
            control.command("PBSZ 0")?;
            expect(&mut control, "PBSZ", &[200])?;
            control.command("PROT P")?;
            expect(&mut control, "PROT", &[200])?;
        }
        control.command("TYPE I")?;
        expect(&mut control, "TYPE", &[200])?;
        Ok(FtpSession {
            control,
            endpoint: endpoint.clone(),
        })
    }

    /// Downloads the file `path` into `out`; returns its size. A path that is not a plain
    /// file is refused by the server (`550`), as [`NetError::Refused`].
    pub fn retrieve(&mut self, path: &str, out: &mut impl Write) -> Result<u64, NetError> {
        self.transfer(&format!("RETR {path}"), out)
    }

    /// The names in the directory `path` (NLST), without their directory part.
    pub fn list(&mut self, path: &str) -> Result<Vec<String>, NetError> {
        let mut listing = Vec::new();
        self.transfer(&format!("NLST {path}"), &mut listing)?;
        Ok(String::from_utf8_lossy(&listing)
            .lines()
            .filter_map(|line| line.trim_end().rsplit('/').next())
            .filter(|name| !name.is_empty() && *name != "." && *name != "..")
            .map(str::to_owned)
            .collect())
    }

    /// Ends the session.
    pub fn quit(mut self) {
        if self.control.command("QUIT").is_ok() {
            let _ = read_reply(&mut self.control);
        }
    }

    /// Runs one data-connection command and copies what it sends into `out`.
    fn transfer(&mut self, command: &str, out: &mut impl Write) -> Result<u64, NetError> {
        let port = passive_port(&mut self.control)?;
        let data_endpoint = Endpoint {
            port,
            ..self.endpoint.clone()
        };
        let mut data = data_endpoint.connect()?;
        self.control.command(command)?;
        let verb = command.split(' ').next().unwrap_or(command);
        expect(&mut self.control, verb, &[125, 150])?;
        if !self.endpoint.insecure_plaintext {
            data = data.start_tls(&self.endpoint)?;
        }
        let bytes = data.read_to_end(out)?;
        drop(data);
        expect(&mut self.control, "the transfer", &[226, 250])?;
        Ok(bytes)
    }
}

/// Asks for a passive data port: EPSV first (works over IPv6 and carries no address), PASV
/// when the server lacks it.
fn passive_port(control: &mut Connection) -> Result<u16, NetError> {
    control.command("EPSV")?;
    let reply = read_reply(control)?;
    if reply.code == 229 {
        return parse_epsv(&reply.text)
            .ok_or_else(|| NetError::Protocol(format!("EPSV reply {:?}", reply.text)));
    }
    control.command("PASV")?;
    let reply = expect(control, "PASV", &[227])?;
    parse_pasv(&reply.text)
        .ok_or_else(|| NetError::Protocol(format!("PASV reply {:?}", reply.text)))
}

fn read_reply(control: &mut Connection) -> Result<FtpReply, NetError> {
    let first = control.next_line()?;
    let (code, mut last) = reply_code(&first)
        .ok_or_else(|| NetError::Protocol(String::from_utf8_lossy(&first).into_owned()))?;
    let mut text = String::from_utf8_lossy(first.get(4..).unwrap_or_default()).into_owned();
    while !last {
        let line = control.next_line()?;
        if let Some((c, true)) = reply_code(&line)
            && c == code
        {
            last = true;
        }
        text.push(' ');
        text.push_str(&String::from_utf8_lossy(&line));
    }
    Ok(FtpReply { code, text })
}

fn expect(control: &mut Connection, command: &str, codes: &[u16]) -> Result<FtpReply, NetError> {
    let reply = read_reply(control)?;
    if codes.contains(&reply.code) {
        Ok(reply)
    } else {
        Err(NetError::Refused {
            command: command.to_owned(),
            reply: format!("{} {}", reply.code, reply.text),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passive_replies() {
        assert_eq!(
            parse_epsv("Entering extended passive mode (|||40123|)."),
            Some(40123)
        );
        assert_eq!(parse_epsv("(!!!21!)"), Some(21));
        assert_eq!(parse_epsv("(|1|127.0.0.1|21|)"), None);
        assert_eq!(
            parse_pasv("Entering passive mode (127,0,0,1,156,64)."),
            Some(156 * 256 + 64)
        );
        assert_eq!(parse_pasv("=127,0,0,1,4,1"), Some(1025));
        assert_eq!(parse_pasv("(127,0,0,1,300,1)"), None);
        assert_eq!(parse_pasv("(127,0,0,1)"), None);
    }

    #[test]
    fn reply_codes() {
        assert_eq!(reply_code(b"220 ready"), Some((220, true)));
        assert_eq!(reply_code(b"230-welcome"), Some((230, false)));
        assert_eq!(reply_code(b" 230 indented"), None);
        assert_eq!(reply_code(b"12"), None);
    }
}
