//! Every reply the submission listener sends, written in one place: clients and tests compare
//! the wire text, so it changes here or nowhere.

use std::borrow::Cow;
use std::io::Write as _;

use kx_listen::Overdue;
use smtp_proto::Error as WireError;

/// One single-line reply: the code, the enhanced status (RFC 3463) where the reply has one,
/// and the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    code: u16,
    status: Option<[u8; 3]>,
    text: Cow<'static, str>,
}

/// A reply with an enhanced status code.
const fn with_status(code: u16, status: [u8; 3], text: &'static str) -> Reply {
    Reply {
        code,
        status: Some(status),
        text: Cow::Borrowed(text),
    }
}

/// A reply without one: the greeting, 354 and the SASL challenges (RFC 2034 §3).
const fn bare(code: u16, text: &'static str) -> Reply {
    Reply {
        code,
        status: None,
        text: Cow::Borrowed(text),
    }
}

impl Reply {
    pub(crate) const OK: Reply = with_status(250, [2, 0, 0], "OK");
    pub(crate) const BYE: Reply = with_status(221, [2, 0, 0], "Bye");
    pub(crate) const CANNOT_VERIFY: Reply =
        with_status(252, [2, 5, 0], "Cannot verify, send and see");
    pub(crate) const TOO_MANY_CONNECTIONS: Reply =
        with_status(421, [4, 7, 0], "Too many connections, try again later");
    pub(crate) const SHUTTING_DOWN: Reply = with_status(421, [4, 3, 2], "Server shutting down");
    pub(crate) const IDLE: Reply = with_status(421, [4, 4, 2], "Idle too long, closing");
    pub(crate) const COMMAND_TOO_SLOW: Reply =
        with_status(421, [4, 4, 2], "Command not completed in time, closing");
    pub(crate) const DATA_TOO_SLOW: Reply =
        with_status(421, [4, 4, 2], "Message data too slow, closing");
    pub(crate) const TOO_MANY_ERRORS: Reply =
        with_status(421, [4, 7, 0], "Too many errors, closing");
    pub(crate) const LINE_TOO_LONG: Reply = with_status(500, [5, 5, 2], "Line too long");

    pub(crate) const READY_FOR_TLS: Reply = with_status(220, [2, 0, 0], "Ready to start TLS");
    pub(crate) const TLS_UNAVAILABLE: Reply = with_status(454, [4, 7, 0], "TLS not available");
    pub(crate) const ALREADY_TLS: Reply = with_status(503, [5, 5, 1], "Already in TLS");

    pub(crate) const ENCRYPTION_REQUIRED: Reply = with_status(
        538,
        [5, 7, 11],
        "Encryption required for requested authentication mechanism",
    );
    pub(crate) const ALREADY_AUTHENTICATED: Reply =
        with_status(503, [5, 5, 1], "Already authenticated");
    pub(crate) const MECHANISM_UNSUPPORTED: Reply =
        with_status(504, [5, 5, 4], "Mechanism not supported");
    pub(crate) const PLAIN_CHALLENGE: Reply = bare(334, "");
    /// `Username:` in Base64 (RFC 4616 has no LOGIN; this is what clients expect).
    pub(crate) const LOGIN_USER_CHALLENGE: Reply = bare(334, "VXNlcm5hbWU6");
    /// `Password:` in Base64.
    pub(crate) const LOGIN_PASSWORD_CHALLENGE: Reply = bare(334, "UGFzc3dvcmQ6");
    pub(crate) const AUTH_CANCELLED: Reply =
        with_status(501, [5, 0, 0], "Authentication cancelled");
    pub(crate) const BAD_BASE64: Reply =
        with_status(501, [5, 5, 2], "Invalid Base64 in authentication");
    pub(crate) const AUTH_LINE_TOO_LONG: Reply =
        with_status(500, [5, 5, 6], "Authentication line too long");
    pub(crate) const AUTHENTICATED: Reply =
        with_status(235, [2, 7, 0], "Authentication successful");
    pub(crate) const BAD_CREDENTIALS: Reply =
        with_status(535, [5, 7, 8], "Authentication credentials invalid");
    /// RFC 4954 §6: the password checks are busy; nothing was checked or counted.
    pub(crate) const AUTH_BUSY: Reply = with_status(
        454,
        [4, 7, 0],
        "Temporary authentication failure, try again later",
    );
    pub(crate) const TOO_MANY_AUTH_FAILURES: Reply =
        with_status(421, [4, 7, 0], "Too many authentication failures, closing");

    pub(crate) const EHLO_FIRST: Reply = with_status(503, [5, 5, 1], "Send EHLO first");
    pub(crate) const AUTH_REQUIRED: Reply = with_status(530, [5, 7, 0], "Authentication required");
    pub(crate) const SENDER_GIVEN: Reply = with_status(503, [5, 5, 1], "Sender already given");
    pub(crate) const MESSAGE_TOO_BIG: Reply = with_status(552, [5, 3, 4], "Message too big");
    pub(crate) const SENDER_REFUSED: Reply = with_status(
        550,
        [5, 7, 1],
        "Sender address is not the authenticated account's",
    );
    pub(crate) const SENDER_OK: Reply = with_status(250, [2, 1, 0], "Sender OK");
    pub(crate) const MAIL_FIRST: Reply = with_status(503, [5, 5, 1], "MAIL first");
    pub(crate) const TOO_MANY_RECIPIENTS: Reply =
        with_status(452, [4, 5, 3], "Too many recipients");
    pub(crate) const RECIPIENT_REFUSED: Reply =
        with_status(550, [5, 1, 1], "Recipient not accepted here");
    pub(crate) const RECIPIENT_OK: Reply = with_status(250, [2, 1, 5], "Recipient OK");
    pub(crate) const RCPT_FIRST: Reply = with_status(503, [5, 5, 1], "RCPT first");
    pub(crate) const START_INPUT: Reply = bare(354, "Start mail input; end with <CRLF>.<CRLF>");
    pub(crate) const TRY_LATER: Reply = with_status(
        451,
        [4, 3, 0],
        "Cannot store the message now, try again later",
    );

    /// `220 <host> ESMTP kxd`.
    pub(crate) fn greeting(hostname: &str) -> Reply {
        Reply {
            code: 220,
            status: None,
            text: format!("{hostname} ESMTP kxd").into(),
        }
    }

    /// The answer to HELO.
    pub(crate) fn helo(hostname: &str, client: &str) -> Reply {
        Reply {
            code: 250,
            status: None,
            text: greets(hostname, client).into(),
        }
    }

    /// A command the session knows but does not offer (BDAT, EXPN, ETRN, ...).
    pub(crate) fn not_implemented(verb: &str) -> Reply {
        Reply {
            code: 502,
            status: Some([5, 5, 1]),
            text: format!("{verb} not implemented").into(),
        }
    }

    /// The gateway's answer to a complete message.
    pub(crate) fn submitted(outcome: crate::SubmitOutcome) -> Reply {
        match outcome {
            crate::SubmitOutcome::Accepted(text) => Reply {
                code: 250,
                status: Some([2, 0, 0]),
                text: text.into(),
            },
            crate::SubmitOutcome::Refused { code, status, text } => Reply {
                code,
                status: Some(status),
                text: text.into(),
            },
            crate::SubmitOutcome::TryLater => Reply::TRY_LATER,
        }
    }

    /// The last word to a client that missed a deadline.
    pub(crate) fn overdue(why: Overdue) -> Reply {
        match why {
            Overdue::Idle => Reply::IDLE,
            Overdue::Command => Reply::COMMAND_TOO_SLOW,
            Overdue::SlowTransfer | Overdue::TransferDeadline => Reply::DATA_TOO_SLOW,
        }
    }

    /// What a line the parser refused is answered.
    pub(crate) fn wire_error(error: WireError) -> Reply {
        let (code, status, text): (_, _, Cow<'static, str>) = match error {
            WireError::UnknownCommand => (500, [5, 5, 1], "Unknown command".into()),
            WireError::InvalidSenderAddress => (501, [5, 1, 7], "Bad sender address syntax".into()),
            WireError::InvalidRecipientAddress => {
                (501, [5, 1, 3], "Bad recipient address syntax".into())
            }
            WireError::SyntaxError { syntax } => {
                (501, [5, 5, 2], format!("Syntax: {syntax}").into())
            }
            WireError::InvalidParameter { param } => {
                (501, [5, 5, 4], format!("Invalid parameter {param}").into())
            }
            WireError::UnsupportedParameter { param } => (
                504,
                [5, 5, 4],
                format!("Unsupported parameter {}", echo(&param)).into(),
            ),
            WireError::ResponseTooLong => return Reply::LINE_TOO_LONG,
            WireError::NeedsMoreData { .. } | WireError::InvalidResponse { .. } => {
                (500, [5, 5, 2], "Syntax error".into())
            }
        };
        Reply {
            code,
            status: Some(status),
            text,
        }
    }

    /// The reply code, for logs and tests.
    pub(crate) fn code(&self) -> u16 {
        self.code
    }

    /// Appends the reply to `out`, CRLF included.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = match self.status {
            Some([a, b, c]) => smtp_proto::Response::new(self.code, a, b, c, &self.text).write(out),
            None => write!(out, "{} {}\r\n", self.code, self.text),
        };
    }
}

/// The EHLO reply (RFC 5321 §4.1.1.1): the greeting line, then one line per extension.
pub(crate) struct Ehlo<'a> {
    /// Our host name.
    pub(crate) hostname: &'a str,
    /// The name the client gave.
    pub(crate) client: &'a str,
    /// The SIZE announced (RFC 1870).
    pub(crate) max_message_size: usize,
    /// Whether STARTTLS is offered (not yet TLS, and an acceptor configured).
    pub(crate) starttls: bool,
    /// Whether AUTH is offered (TLS, or plaintext AUTH allowed).
    pub(crate) auth: bool,
}

impl Ehlo<'_> {
    /// Appends the multi-line reply to `out`.
    ///
    /// Not `smtp_proto::EhloResponse::write`: its first line ("you had me at EHLO") and its
    /// order of extensions differ from what kxd has always sent.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let size = format!("SIZE {}", self.max_message_size);
        let lines = [
            Some(greets(self.hostname, self.client)),
            Some("PIPELINING".into()),
            Some(size),
            Some("8BITMIME".into()),
            Some("ENHANCEDSTATUSCODES".into()),
            self.starttls.then(|| "STARTTLS".into()),
            self.auth.then(|| "AUTH PLAIN LOGIN".into()),
        ];
        let mut lines = lines.into_iter().flatten().peekable();
        while let Some(line) = lines.next() {
            let separator = if lines.peek().is_some() { '-' } else { ' ' };
            let _ = write!(out, "250{separator}{line}\r\n");
        }
    }
}

/// The most of the client's own text a reply echoes, escaped: a domain name's longest (RFC 1035
/// §2.3.4), so the reply line stays within 512 octets (RFC 5321 §4.5.3.1.5) however long the
/// text sent.
const MAX_ECHOED: usize = 255;

/// The client's text as a reply may show it: escaped to printable ASCII, cut to [`MAX_ECHOED`].
fn echo(text: &str) -> String {
    text.escape_default().take(MAX_ECHOED).collect()
}

/// `<host> greets <client>`.
fn greets(hostname: &str, client: &str) -> String {
    format!("{hostname} greets {}", echo(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(reply: &Reply) -> String {
        let mut out = Vec::new();
        reply.write(&mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn replies_keep_their_wire_text() {
        let cases = [
            (Reply::greeting("kxd.test"), "220 kxd.test ESMTP kxd\r\n"),
            (Reply::PLAIN_CHALLENGE, "334 \r\n"),
            (
                Reply::ENCRYPTION_REQUIRED,
                "538 5.7.11 Encryption required for requested authentication mechanism\r\n",
            ),
            (
                Reply::not_implemented("BDAT"),
                "502 5.5.1 BDAT not implemented\r\n",
            ),
            (
                Reply::submitted(crate::SubmitOutcome::Refused {
                    code: 554,
                    status: [5, 6, 0],
                    text: "A11305 refused".into(),
                }),
                "554 5.6.0 A11305 refused\r\n",
            ),
            (
                Reply::wire_error(WireError::SyntaxError { syntax: "DATA" }),
                "501 5.5.2 Syntax: DATA\r\n",
            ),
        ];
        for (reply, text) in cases {
            assert_eq!(wire(&reply), text);
        }
    }

    #[test]
    fn the_clients_text_is_cut_to_fit_a_reply_line() {
        // Found by the fuzz target: each invalid byte of a HELO name or of an unknown MAIL
        // parameter came back as `\u{fffd}`, eight octets, and 70 of them made a reply line of
        // 600.
        let text = format!("o{}", "\u{fffd}".repeat(300));
        let helo = wire(&Reply::helo("kx.test", &text));
        assert_eq!(helo.len(), "250 kx.test greets ".len() + MAX_ECHOED + 2);
        assert!(helo.starts_with("250 kx.test greets o\\u{fffd}"), "{helo}");
        let parameter = WireError::UnsupportedParameter { param: text };
        let unsupported = wire(&Reply::wire_error(parameter));
        assert_eq!(
            unsupported.len(),
            "504 5.5.4 Unsupported parameter ".len() + MAX_ECHOED + 2
        );
        assert_eq!(
            wire(&Reply::helo("kx.test", "c\n")),
            "250 kx.test greets c\\n\r\n"
        );
    }

    #[test]
    fn ehlo_lists_what_is_offered() {
        let mut out = Vec::new();
        let ehlo = Ehlo {
            hostname: "kxd.test",
            client: "c\n",
            max_message_size: 10,
            starttls: true,
            auth: false,
        };
        ehlo.write(&mut out);
        assert_eq!(
            String::from_utf8(out).expect("ASCII"),
            "250-kxd.test greets c\\n\r\n250-PIPELINING\r\n250-SIZE 10\r\n250-8BITMIME\r\n\
             250-ENHANCEDSTATUSCODES\r\n250 STARTTLS\r\n"
        );
    }
}
