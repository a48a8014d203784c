//! SASL PLAIN (RFC 4616), the one mechanism SMTP AUTH and POP3 AUTH offer, decoded by one set of
//! rules for both listeners.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The credentials of a PLAIN response.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// The authentication identity (authcid): the ID logging in.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for PlainCredentials {
    // The password never reaches a log, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why a PLAIN response is refused: it is not Base64 of `[authzid] NUL authcid NUL passwd` in
/// UTF-8 with a non-empty ID and password, or it names an authorisation identity other than
/// the ID (nobody acts for another account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed SASL PLAIN response")]
pub struct MalformedPlain;

/// Decodes a PLAIN response (surrounding ASCII whitespace ignored).
pub fn decode_plain(response: &[u8]) -> Result<PlainCredentials, MalformedPlain> {
    let decoded = STANDARD
        .decode(response.trim_ascii())
        .map_err(|_| MalformedPlain)?;
    let decoded = String::from_utf8(decoded).map_err(|_| MalformedPlain)?;
    let mut fields = decoded.split('\0');
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(authzid), Some(user), Some(password), None)
            if !user.is_empty()
                && !password.is_empty()
                && (authzid.is_empty() || authzid == user) =>
        {
            Ok(PlainCredentials {
                user: user.to_owned(),
                password: password.to_owned(),
            })
        }
        _ => Err(MalformedPlain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> Vec<u8> {
        STANDARD.encode(text).into_bytes()
    }

    #[test]
    fn plain_responses() {
        let ok = decode_plain(&encode("\0J13123456780\0secret")).unwrap();
        assert_eq!(
            (ok.user.as_str(), ok.password.as_str()),
            ("J13123456780", "secret")
        );
        assert!(
            decode_plain(&encode("J1\0J1\0pw")).is_ok(),
            "authzid = authcid"
        );
        let mut padded = b"  ".to_vec();
        padded.extend(encode("\0J1\0pw"));
        padded.extend(b"\r\n");
        assert!(decode_plain(&padded).is_ok(), "whitespace around it");
        for bad in [
            "other\0J1\0pw",
            "\0J1",
            "\0J1\0pw\0extra",
            "\0\0pw",
            "\0J1\0",
        ] {
            assert_eq!(decode_plain(&encode(bad)), Err(MalformedPlain), "{bad:?}");
        }
        assert_eq!(decode_plain(b"not base64!"), Err(MalformedPlain));
        assert_eq!(
            decode_plain(&STANDARD.encode(b"\0J1\0\xff").into_bytes()),
            Err(MalformedPlain)
        );
        assert!(!format!("{ok:?}").contains("secret"));
    }
}
