//! Mail addresses of To and From (§5.4(5)): `addr@domain` or `"description" <addr@domain>`.

use std::fmt;

use encoding_rs::SHIFT_JIS;
use serde::Serialize;

/// The longest quoted description allowed, in Shift_JIS bytes, both quotes included.
pub const MAX_DESCRIPTION_BYTES: usize = 40;

/// A To or From value: an address and, for client messages, an optional description.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Mailbox {
    /// `local@domain`.
    pub address: String,
    /// The text between the double quotes of `"description" <addr@domain>`, if any.
    pub description: Option<String>,
}

/// Why a To or From value is not a mailbox of the allowed forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxDefect {
    /// Neither `addr@domain` nor `"description" <addr@domain>`.
    Form,
    /// The quoted description is longer than [`MAX_DESCRIPTION_BYTES`].
    DescriptionTooLong,
}

impl Mailbox {
    /// A mailbox without description.
    pub fn new(address: impl Into<String>) -> Mailbox {
        Mailbox {
            address: address.into(),
            description: None,
        }
    }

    /// Parses an unfolded header value.
    pub fn parse(value: &str) -> Result<Mailbox, MailboxDefect> {
        let value = value.trim();
        let Some(rest) = value.strip_prefix('"') else {
            return if is_address(value) {
                Ok(Mailbox::new(value))
            } else {
                Err(MailboxDefect::Form)
            };
        };
        let close = rest.find('"').ok_or(MailboxDefect::Form)?;
        let description = &rest[..close];
        let address = rest[close + 1..]
            .trim_start()
            .strip_prefix('<')
            .and_then(|a| a.strip_suffix('>'))
            .filter(|a| is_address(a))
            .ok_or(MailboxDefect::Form)?;
        if SHIFT_JIS.encode(description).0.len() + 2 > MAX_DESCRIPTION_BYTES {
            return Err(MailboxDefect::DescriptionTooLong);
        }
        Ok(Mailbox {
            address: address.to_owned(),
            description: Some(description.to_owned()),
        })
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.address.split_once('@').map_or("", |(l, _)| l)
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.address.split_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.description {
            Some(d) => write!(f, "\"{d}\" <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

/// `local@domain` with an RFC 2822 dot-atom local part and a host-name domain.
pub fn is_address(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = |s: &str, allowed: &dyn Fn(char) -> bool| {
        !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.chars().all(allowed))
    };
    dot_atom(local, &atext) && dot_atom(domain, &|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let plain = Mailbox::parse("transmit@denso.test.kokuho").expect("plain");
        assert_eq!(plain.local_part(), "transmit");
        assert_eq!(plain.domain(), "denso.test.kokuho");
        let described =
            Mailbox::parse("\"事業所\" <J13123456780@denso.test.kokuho>").expect("described");
        assert_eq!(described.description.as_deref(), Some("事業所"));
        assert_eq!(
            described.to_string(),
            "\"事業所\" <J13123456780@denso.test.kokuho>"
        );
        assert_eq!(Mailbox::parse("Name <a@b>"), Err(MailboxDefect::Form));
        assert_eq!(Mailbox::parse("a@b c"), Err(MailboxDefect::Form));
        assert_eq!(Mailbox::parse("<a@b>"), Err(MailboxDefect::Form));
        assert_eq!(Mailbox::parse("a@@b"), Err(MailboxDefect::Form));
    }

    #[test]
    fn description_limit_counts_shift_jis_bytes_and_quotes() {
        let ok = format!("\"{}\" <a@b>", "あ".repeat(19));
        assert!(Mailbox::parse(&ok).is_ok());
        let long = format!("\"{}x\" <a@b>", "あ".repeat(19));
        assert_eq!(
            Mailbox::parse(&long),
            Err(MailboxDefect::DescriptionTooLong)
        );
    }
}
