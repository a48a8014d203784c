//! POP3 requests: an incremental line receiver and the command grammar.
//!
//! No I/O happens here: the session hands in whatever bytes the socket produced and gets
//! complete lines (or `NeedsMoreData`) back, so the grammar can be tested byte by byte.

use std::fmt;
use std::slice::Iter;

use kx_listen::Reading;

/// Longest command line accepted, CRLF included (RFC 2449 §4).
pub const MAX_COMMAND_LINE: usize = 255;

/// Longest SASL client response line accepted, CRLF included.
///
/// RFC 5034 lifts the 255-octet limit for client responses; a PLAIN response is three short
/// strings in base64, so this bound is generous while keeping memory per session small.
pub const MAX_SASL_LINE: usize = 4096;

/// Why no complete line or command could be taken from the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The input ended inside a line; feed more bytes.
    #[error("more data needed")]
    NeedsMoreData,
    /// A line exceeded its limit. The rest of it, up to the next LF, is discarded so the
    /// stream resynchronises on the following line.
    #[error("line too long")]
    LineTooLong,
    /// The line is not a command this server knows.
    #[error("unknown command")]
    UnknownCommand,
    /// The command is known but its arguments do not fit its grammar.
    #[error("syntax: {syntax}")]
    Syntax {
        /// The command's grammar, shown to the client.
        syntax: &'static str,
    },
}

/// A password or SASL response: its `Debug` form never shows the secret, so a command can be
/// logged without leaking it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// One POP3 command (RFC 1939, RFC 2449, RFC 2595, RFC 5034).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `AUTH [mechanism [initial-response]]`; without a mechanism it asks for the list.
    Auth {
        /// The SASL mechanism, upper-cased.
        mechanism: Option<String>,
        /// The base64 initial response, `=` for an empty one.
        initial_response: Option<Secret>,
    },
    /// `CAPA`.
    Capa,
    /// `DELE msg`.
    Dele(u32),
    /// `LIST [msg]`.
    List(Option<u32>),
    /// `NOOP`.
    Noop,
    /// `PASS string`: the whole rest of the line, spaces included (RFC 1939 §7).
    Pass(Secret),
    /// `QUIT`.
    Quit,
    /// `RETR msg`.
    Retr(u32),
    /// `RSET`.
    Rset,
    /// `STAT`.
    Stat,
    /// `STLS`.
    Stls,
    /// `TOP msg n`.
    Top {
        /// The message number.
        msg: u32,
        /// How many body lines to send after the header.
        lines: u32,
    },
    /// `UIDL [msg]`.
    Uidl(Option<u32>),
    /// `USER name`.
    User(String),
}

impl Command {
    /// The verb, for logs: never the arguments, which may hold secrets.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Auth { .. } => "AUTH",
            Command::Capa => "CAPA",
            Command::Dele(_) => "DELE",
            Command::List(_) => "LIST",
            Command::Noop => "NOOP",
            Command::Pass(_) => "PASS",
            Command::Quit => "QUIT",
            Command::Retr(_) => "RETR",
            Command::Rset => "RSET",
            Command::Stat => "STAT",
            Command::Stls => "STLS",
            Command::Top { .. } => "TOP",
            Command::Uidl(_) => "UIDL",
            Command::User(_) => "USER",
        }
    }

    /// Parses one line, without its line ending.
    pub fn parse(line: &[u8]) -> Result<Command, RequestError> {
        let line = std::str::from_utf8(line).map_err(|_| RequestError::UnknownCommand)?;
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let verb = verb.to_ascii_uppercase();
        let args = Args::new(rest);
        let command = match verb.as_str() {
            "AUTH" => {
                let syntax = "AUTH [mechanism [initial-response]]";
                let (mechanism, initial_response) = args.up_to_two(syntax)?;
                Command::Auth {
                    mechanism: mechanism.map(str::to_ascii_uppercase),
                    initial_response: initial_response.map(|r| Secret(r.to_owned())),
                }
            }
            "CAPA" => args.none(Command::Capa, "CAPA")?,
            "DELE" => Command::Dele(args.message("DELE msg")?),
            "LIST" => Command::List(args.optional_message("LIST [msg]")?),
            "NOOP" => args.none(Command::Noop, "NOOP")?,
            "PASS" if !rest.is_empty() => Command::Pass(Secret(rest.to_owned())),
            "PASS" => {
                return Err(RequestError::Syntax {
                    syntax: "PASS password",
                });
            }
            "QUIT" => args.none(Command::Quit, "QUIT")?,
            "RETR" => Command::Retr(args.message("RETR msg")?),
            "RSET" => args.none(Command::Rset, "RSET")?,
            "STAT" => args.none(Command::Stat, "STAT")?,
            "STLS" => args.none(Command::Stls, "STLS")?,
            "TOP" => {
                let syntax = "TOP msg n";
                match args.up_to_two(syntax)? {
                    (Some(msg), Some(lines)) => Command::Top {
                        msg: message_number(msg, syntax)?,
                        lines: lines.parse().map_err(|_| RequestError::Syntax { syntax })?,
                    },
                    _ => return Err(RequestError::Syntax { syntax }),
                }
            }
            "UIDL" => Command::Uidl(args.optional_message("UIDL [msg]")?),
            "USER" => match args.up_to_two("USER name")? {
                (Some(name), None) => Command::User(name.to_owned()),
                _ => {
                    return Err(RequestError::Syntax {
                        syntax: "USER name",
                    });
                }
            },
            _ => return Err(RequestError::UnknownCommand),
        };
        Ok(command)
    }
}

/// The space-separated arguments after a verb; runs of spaces count as one separator.
struct Args<'a>(Vec<&'a str>);

impl<'a> Args<'a> {
    fn new(rest: &'a str) -> Self {
        Args(rest.split(' ').filter(|arg| !arg.is_empty()).collect())
    }

    fn none(&self, command: Command, syntax: &'static str) -> Result<Command, RequestError> {
        if self.0.is_empty() {
            Ok(command)
        } else {
            Err(RequestError::Syntax { syntax })
        }
    }

    fn up_to_two(
        &self,
        syntax: &'static str,
    ) -> Result<(Option<&'a str>, Option<&'a str>), RequestError> {
        match self.0.as_slice() {
            [] => Ok((None, None)),
            [a] => Ok((Some(a), None)),
            [a, b] => Ok((Some(a), Some(b))),
            _ => Err(RequestError::Syntax { syntax }),
        }
    }

    fn optional_message(&self, syntax: &'static str) -> Result<Option<u32>, RequestError> {
        match self.up_to_two(syntax)? {
            (None, _) => Ok(None),
            (Some(msg), None) => message_number(msg, syntax).map(Some),
            (Some(_), Some(_)) => Err(RequestError::Syntax { syntax }),
        }
    }

    fn message(&self, syntax: &'static str) -> Result<u32, RequestError> {
        self.optional_message(syntax)?
            .ok_or(RequestError::Syntax { syntax })
    }
}

/// A message number: decimal digits only, from 1 (RFC 1939 §5).
fn message_number(arg: &str, syntax: &'static str) -> Result<u32, RequestError> {
    match arg.parse::<u32>() {
        Ok(n) if n > 0 && arg.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(RequestError::Syntax { syntax }),
    }
}

/// Collects bytes into lines, bounded in length.
///
/// A line ends at LF; a CR before it is dropped, so bare-LF clients work too.
#[derive(Debug, Default)]
pub struct LineReceiver {
    buf: Vec<u8>,
    discarding: bool,
    /// Lines ended so far, over-long ones included: the number of the line in progress.
    ended: u64,
}

impl LineReceiver {
    /// Takes bytes from `input` until one line is complete and returns it without its ending.
    ///
    /// Returns `LineTooLong` as soon as the line outgrows `limit` (CRLF counted); the rest of
    /// that line is then skipped silently. Returns `NeedsMoreData` once `input` is exhausted.
    pub fn next_line(
        &mut self,
        input: &mut Iter<'_, u8>,
        limit: usize,
    ) -> Result<Vec<u8>, RequestError> {
        for &byte in input.by_ref() {
            if byte == b'\n' {
                self.ended += 1;
            }
            if self.discarding {
                self.discarding = byte != b'\n';
                continue;
            }
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            self.buf.push(byte);
            // A line of `limit - 2` octets plus CRLF is the longest allowed; the CR is still
            // in `buf` when it arrives, so it is counted here and the LF is not.
            if self.buf.len() > limit - 1 || (self.buf.len() == limit - 1 && byte != b'\r') {
                self.buf.clear();
                self.discarding = true;
                return Err(RequestError::LineTooLong);
            }
        }
        Err(RequestError::NeedsMoreData)
    }

    /// Whether a line has begun and not ended (its deadline runs), and which.
    pub fn reading(&self) -> Reading {
        if self.discarding || !self.buf.is_empty() {
            Reading::Line(self.ended)
        } else {
            Reading::Between
        }
    }

    /// Takes the next command from `input`.
    pub fn next_command(&mut self, input: &mut Iter<'_, u8>) -> Result<Command, RequestError> {
        Command::parse(&self.next_line(input, MAX_COMMAND_LINE)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy as _;

    fn parse(line: &str) -> Result<Command, RequestError> {
        Command::parse(line.as_bytes())
    }

    fn secret(s: &str) -> Secret {
        Secret(s.to_owned())
    }

    #[test]
    fn commands() {
        let syntax = |syntax| Err(RequestError::Syntax { syntax });
        let cases: Vec<(&str, Result<Command, RequestError>)> = vec![
            ("CAPA", Ok(Command::Capa)),
            ("capa", Ok(Command::Capa)),
            ("CaPa", Ok(Command::Capa)),
            ("CAPA x", syntax("CAPA")),
            ("USER H0000123456", Ok(Command::User("H0000123456".into()))),
            ("user  alice ", Ok(Command::User("alice".into()))),
            ("USER", syntax("USER name")),
            ("USER a b", syntax("USER name")),
            ("PASS secret word", Ok(Command::Pass(secret("secret word")))),
            ("PASS  lead", Ok(Command::Pass(secret(" lead")))),
            ("PASS", syntax("PASS password")),
            ("STAT", Ok(Command::Stat)),
            ("LIST", Ok(Command::List(None))),
            ("LIST 3", Ok(Command::List(Some(3)))),
            ("LIST 0", syntax("LIST [msg]")),
            ("LIST -1", syntax("LIST [msg]")),
            ("LIST +1", syntax("LIST [msg]")),
            ("LIST 1 2", syntax("LIST [msg]")),
            ("LIST 99999999999", syntax("LIST [msg]")),
            ("RETR 1", Ok(Command::Retr(1))),
            ("RETR", syntax("RETR msg")),
            ("RETR x", syntax("RETR msg")),
            ("DELE 4294967295", Ok(Command::Dele(u32::MAX))),
            ("NOOP", Ok(Command::Noop)),
            ("RSET", Ok(Command::Rset)),
            ("QUIT", Ok(Command::Quit)),
            ("STLS", Ok(Command::Stls)),
            ("TOP 1 0", Ok(Command::Top { msg: 1, lines: 0 })),
            ("top 2 10", Ok(Command::Top { msg: 2, lines: 10 })),
            ("TOP 1", syntax("TOP msg n")),
            ("TOP 1 -1", syntax("TOP msg n")),
            ("UIDL", Ok(Command::Uidl(None))),
            ("UIDL 7", Ok(Command::Uidl(Some(7)))),
            (
                "AUTH",
                Ok(Command::Auth {
                    mechanism: None,
                    initial_response: None,
                }),
            ),
            (
                "AUTH plain",
                Ok(Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: None,
                }),
            ),
            (
                "AUTH PLAIN AGFsaWNlAHB3",
                Ok(Command::Auth {
                    mechanism: Some("PLAIN".into()),
                    initial_response: Some(secret("AGFsaWNlAHB3")),
                }),
            ),
            (
                "AUTH PLAIN a b",
                syntax("AUTH [mechanism [initial-response]]"),
            ),
            ("APOP alice 0123", Err(RequestError::UnknownCommand)),
            ("", Err(RequestError::UnknownCommand)),
            ("XYZZY", Err(RequestError::UnknownCommand)),
            ("STAT\0", Err(RequestError::UnknownCommand)),
        ];
        for (line, expected) in cases {
            assert_eq!(parse(line), expected, "{line:?}");
        }
        assert_eq!(
            Command::parse(b"USER \xff"),
            Err(RequestError::UnknownCommand)
        );
    }

    #[test]
    fn secrets_are_not_debug_printed() {
        let pass = parse("PASS hunter2").unwrap();
        assert!(!format!("{pass:?}").contains("hunter2"));
        assert_eq!(pass.verb(), "PASS");
    }

    /// Feeds `script` in chunks of every size and collects what the receiver yields.
    fn receive(script: &[u8], chunk: usize) -> Vec<Result<Command, RequestError>> {
        let mut receiver = LineReceiver::default();
        let mut out = Vec::new();
        for piece in script.chunks(chunk) {
            let mut input = piece.iter();
            loop {
                match receiver.next_command(&mut input) {
                    Err(RequestError::NeedsMoreData) => break,
                    result => out.push(result),
                }
            }
        }
        out
    }

    #[test]
    fn chunked_pipeline() {
        let long = format!("NOOP {}\r\n", "x".repeat(300));
        let script = [
            "USER alice\r\n",
            "pass two words\r\n",
            "STAT\n",
            long.as_str(),
            "LIST 2\r\n",
            "TOP 1 5\r\n",
            "QUIT\r\n",
        ]
        .concat();
        let expected = vec![
            Ok(Command::User("alice".into())),
            Ok(Command::Pass(secret("two words"))),
            Ok(Command::Stat),
            Err(RequestError::LineTooLong),
            Ok(Command::List(Some(2))),
            Ok(Command::Top { msg: 1, lines: 5 }),
            Ok(Command::Quit),
        ];
        for chunk in 1..=script.len() {
            assert_eq!(receive(script.as_bytes(), chunk), expected, "chunk {chunk}");
        }
    }

    #[test]
    fn line_limit_is_255_octets_with_crlf() {
        let fits = format!("PASS {}\r\n", "p".repeat(MAX_COMMAND_LINE - 7));
        assert_eq!(fits.len(), MAX_COMMAND_LINE);
        let too_long = format!("PASS {}\r\n", "p".repeat(MAX_COMMAND_LINE - 6));
        let bare_lf = format!("PASS {}\n", "p".repeat(MAX_COMMAND_LINE - 7));
        for chunk in [1, 7, 300] {
            assert!(matches!(
                receive(fits.as_bytes(), chunk)[..],
                [Ok(Command::Pass(_))]
            ));
            assert_eq!(
                receive(too_long.as_bytes(), chunk),
                vec![Err(RequestError::LineTooLong)]
            );
            assert!(matches!(
                receive(bare_lf.as_bytes(), chunk)[..],
                [Ok(Command::Pass(_))]
            ));
        }
    }

    #[test]
    fn a_line_is_in_progress_from_its_first_byte_to_its_lf() {
        let mut receiver = LineReceiver::default();
        let mut feed = |piece: &str| {
            let mut input = piece.as_bytes().iter();
            while receiver.next_command(&mut input) != Err(RequestError::NeedsMoreData) {}
            receiver.reading()
        };
        assert_eq!(feed("NO"), Reading::Line(0));
        assert_eq!(
            feed("OP\r\nST"),
            Reading::Line(1),
            "STAT began in the same read"
        );
        assert_eq!(feed("AT\r\n"), Reading::Between);
        // Over the limit and discarded, but not ended: its deadline still runs.
        let long = format!("NOOP {}", "x".repeat(MAX_COMMAND_LINE));
        assert_eq!(feed(&long), Reading::Line(2));
        assert_eq!(feed("\r\n"), Reading::Between);
    }

    #[test]
    fn binary_junk_resyncs_at_next_line() {
        let mut script: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
        script.retain(|&b| b != b'\n');
        script.extend_from_slice(b"\nNOOP\r\n");
        let out = receive(&script, 13);
        assert_eq!(out.last(), Some(&Ok(Command::Noop)));
        assert_eq!(out.len(), 2, "{out:?}");
    }

    proptest::proptest! {
        /// Whatever arrives, in whatever pieces: no panic, and no line beyond the limit.
        #[test]
        fn any_input_is_survived(
            input in proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..1500),
                // POP3-shaped input reaches deeper into the grammar than random bytes.
                "(USER|PASS|LIST|TOP|UIDL|RETR|AUTH|CAPA| |[0-9]|-|x|\r|\n|=){0,300}"
                    .prop_map(String::into_bytes),
            ],
            chunk in 1usize..64,
        ) {
            let mut receiver = LineReceiver::default();
            for piece in input.chunks(chunk) {
                let mut piece = piece.iter();
                loop {
                    match receiver.next_line(&mut piece, MAX_COMMAND_LINE) {
                        Err(RequestError::NeedsMoreData) => break,
                        Ok(line) => {
                            proptest::prop_assert!(line.len() <= MAX_COMMAND_LINE - 2);
                            let _ = Command::parse(&line);
                        }
                        Err(_) => {}
                    }
                }
            }
        }
    }
}
