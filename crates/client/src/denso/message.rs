//! The message tools without a profile: lint a message, view it, and build the client
//! messages (DataSend, DataDelete, upstream notice) from the user's choices.

use std::path::PathBuf;

use anyhow::Context as _;
use kx_denso::message::{Attachment, DataDelete, DataSend, Upstream};
use kx_denso::view::MessageView;
use kx_denso::{AccountId, Context, Inspection, Mailbox, Message, inspect};

/// Every rule of the protocol checked on a client message, as the federation would check it when sent
/// under `account` (default: the From address stands in for it).
pub fn lint(raw: &[u8], account: Option<&AccountId>) -> Inspection {
    inspect(
        raw,
        &Context {
            account,
            ..Context::default()
        },
    )
}

/// Any 伝送 message (a client's or the server's) as its view.
pub fn view(raw: &[u8]) -> crate::Result<MessageView> {
    Ok(MessageView::from(&Message::parse(raw)?))
}

/// The headers every client message builder takes, as the user gave them.
#[derive(Clone, Debug, Default)]
pub struct MessageDraft {
    /// The sender: `ID@domain` or `"description" <ID@domain>`.
    pub from: Option<String>,
    /// The recipient (default for DataSend/DataDelete: transmit@ the sender's domain).
    pub to: Option<String>,
    /// The Date header, RFC 2822 (default: now).
    pub date: Option<String>,
}

impl MessageDraft {
    /// The sender's mailbox and the recipient (default: transmit@ the sender's domain).
    fn addresses(&self, default_to: bool) -> anyhow::Result<(Mailbox, Mailbox)> {
        let from = self.from.as_deref().context("--from is required")?;
        let from = Mailbox::parse(from).map_err(|_| {
            anyhow::anyhow!("--from {from:?} is not addr@domain or \"description\" <addr@domain>")
        })?;
        let to = match (&self.to, default_to) {
            (Some(to), _) => {
                Mailbox::parse(to).map_err(|_| anyhow::anyhow!("--to {to:?} is not an address"))?
            }
            (None, true) => Mailbox::new(format!("transmit@{}", from.domain())),
            (None, false) => anyhow::bail!("--to is required"),
        };
        Ok((from, to))
    }

    fn date(&self) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
        match &self.date {
            Some(text) => kx_denso::date::parse(text).with_context(|| {
                format!("--date {text:?} is not an RFC 2822 date with its day of week")
            }),
            None => Ok(chrono::Local::now().fixed_offset()),
        }
    }

    /// A DataSend with transmission number `number` carrying `files`.
    pub fn datasend(&self, number: &str, files: &[PathBuf]) -> crate::Result<Message> {
        let (from, to) = self.addresses(true)?;
        Ok(Message::DataSend(DataSend {
            from,
            to,
            date: self.date()?,
            number: number.parse()?,
            files: read_attachments(files)?,
        }))
    }

    /// A DataDelete with its own `number` cancelling `cancel`.
    pub fn datadelete(&self, number: &str, cancel: &str) -> crate::Result<Message> {
        let (from, to) = self.addresses(true)?;
        Ok(Message::DataDelete(DataDelete {
            from,
            to,
            date: self.date()?,
            number: number.parse()?,
            cancel: cancel.parse()?,
        }))
    }

    /// An upstream notice of `kind` with its `unique` number.
    pub fn upstream(
        &self,
        kind: String,
        unique: String,
        parameter: Option<String>,
        body: String,
        files: &[PathBuf],
    ) -> crate::Result<Message> {
        let (from, to) = self.addresses(false)?;
        Ok(Message::Upstream(Upstream {
            from,
            to,
            date: self.date()?,
            kind,
            unique,
            parameter,
            body,
            files: read_attachments(files)?,
        }))
    }
}

/// A built message's bytes and what the federation would refuse in them.
pub fn built(message: &Message) -> crate::Result<(Vec<u8>, Inspection)> {
    let bytes = message.to_bytes()?;
    let inspection = inspect(&bytes, &Context::default());
    Ok((bytes, inspection))
}

/// Reads files as attachments, named by their file names.
pub fn read_attachments(files: &[PathBuf]) -> crate::Result<Vec<Attachment>> {
    files
        .iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .with_context(|| format!("{} has no usable file name", path.display()))?;
            let data =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Attachment::new(name, data))
        })
        .collect()
}
