//! Notification mails (spec §1.1, §3.1): "a file was sent to you" to every user of the
//! recipient party with a mail address, and "your file was received" to the sending user on
//! the first download. They name the sealed file name, the parties and the times, never
//! contents.
//!
//! The store queues them in the transaction of the event ([`kx_store::exchange::Notice`]);
//! [`run`] delivers them: through `[notify] relay` with `lettre` (STARTTLS required, except a
//! loopback relay with `allow_plaintext_relay`), or, with no relay configured, as atomic
//! files `DIR/mail-outbox/<id>.eml`. A failed delivery is retried with backoff, never
//! dropped.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, FixedOffset, Utc};
use kx_store::exchange::{Notice, OutboxMail};
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use tokio::sync::watch;

use super::Exchange;
use crate::settings::ExchangeSettings;

/// The directory mails are written to when no relay is configured.
pub const MAIL_OUTBOX_DIR: &str = "mail-outbox";

/// Mails claimed per round.
const BATCH: u32 = 20;
/// How long a claimed mail is held before another sender may try it.
const HOLD: Duration = Duration::from_secs(300);
/// How long the sender sleeps when the outbox is empty (it is also woken on every event).
const IDLE: Duration = Duration::from_secs(5);
/// The first retry delay; it doubles per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// The longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where mails go.
pub(crate) enum Delivery {
    /// Atomic `.eml` files in this directory.
    Files(PathBuf),
    /// An SMTP relay.
    Relay(AsyncSmtpTransport<Tokio1Executor>),
}

impl Delivery {
    /// The delivery `[notify]` asks for; refuses a plaintext relay that is not on loopback.
    pub(crate) fn from_config(
        config: &ExchangeSettings,
        data_dir: &Path,
    ) -> anyhow::Result<Delivery> {
        let Some(relay) = &config.notify.relay else {
            let dir = data_dir.join(MAIL_OUTBOX_DIR);
            kx_store::files::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            return Ok(Delivery::Files(dir));
        };
        let (host, port) = parse_relay(relay)?;
        let loopback = host == "localhost"
            || host
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        // EHLO with the installation's domain: relays may refuse a bare `[127.0.0.1]`.
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .hello_name(ClientId::Domain(config.domain.clone()))
            .timeout(Some(Duration::from_secs(30)));
        let tls = if config.notify.allow_plaintext_relay {
            if !loopback {
                bail!(
                    "[notify] allow_plaintext_relay applies to a loopback relay only, not {relay}"
                );
            }
            Tls::None
        } else {
            let mut parameters = TlsParameters::builder(host);
            if let Some(ca) = &config.notify.relay_ca {
                let path = data_dir.join(ca);
                let pem = std::fs::read(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                parameters = parameters.add_root_certificate(
                    Certificate::from_pem(&pem)
                        .with_context(|| format!("{} holds no PEM certificate", path.display()))?,
                );
            }
            Tls::Required(parameters.build_rustls()?)
        };
        Ok(Delivery::Relay(builder.tls(tls).build()))
    }

    async fn deliver(&self, mail: &OutboxMail, message: Message) -> anyhow::Result<()> {
        match self {
            Delivery::Files(dir) => {
                let bytes = message.formatted();
                let dir = dir.clone();
                let id = mail.id;
                tokio::task::spawn_blocking(move || write_atomically(&dir, id, &bytes)).await??;
            }
            Delivery::Relay(transport) => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}

/// `smtp://HOST:PORT` (port 25 when absent).
fn parse_relay(relay: &str) -> anyhow::Result<(String, u16)> {
    let Some(rest) = relay.strip_prefix("smtp://") else {
        bail!("[notify] relay must be smtp://HOST:PORT, not {relay:?}");
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') => (
            host,
            port.parse()
                .with_context(|| format!("bad port in [notify] relay {relay:?}"))?,
        ),
        _ => (rest, 25),
    };
    if host.is_empty() {
        bail!("[notify] relay {relay:?} names no host");
    }
    Ok((host.to_owned(), port))
}

/// `DIR/<id>.eml`, written to a temporary name, fsynced, then renamed: a reader never sees
/// half a mail.
fn write_atomically(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let temp = dir.join(format!(".{id}.eml.tmp"));
    // A leftover of a crash mid-write is overwritten.
    let mut file = kx_store::files::options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, dir.join(format!("{id}.eml")))?;
    std::fs::File::open(dir)?.sync_all()
}

/// Delivers queued mails until `shutdown` turns true.
pub(crate) async fn run(
    exchange: Arc<Exchange>,
    delivery: Delivery,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let delivered = match round(&exchange, &delivery).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "notify: cannot read the outbox");
                0
            }
        };
        if delivered > 0 {
            continue;
        }
        tokio::select! {
            _ = exchange.wake_mail.notified() => {}
            _ = tokio::time::sleep(IDLE) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One batch; the number of mails attempted.
async fn round(exchange: &Exchange, delivery: &Delivery) -> anyhow::Result<usize> {
    let store = exchange.store();
    let from = exchange.config.notify_from();
    let mails = store
        .claim_mails(exchange.now(), BATCH, chrono_duration(HOLD))
        .await?;
    for mail in &mails {
        let result = match message(&from, mail) {
            Ok(message) => delivery.deliver(mail, message).await,
            Err(e) => Err(e),
        };
        let now = exchange.now();
        match result {
            Ok(()) => {
                tracing::info!(mail = mail.id, "notify: delivered");
                store.mail_sent(mail.id, now).await?;
            }
            Err(e) => {
                let delay = backoff(mail.attempts);
                // The relay's words may quote the address: the log gets the kind only, the
                // outbox row (operators only) the whole answer.
                tracing::warn!(mail = mail.id, error = failure_kind(&e), retry_in = ?delay, "notify: delivery failed");
                store
                    .mail_failed(mail.id, &e.to_string(), now + chrono_duration(delay))
                    .await?;
            }
        }
    }
    Ok(mails.len())
}

/// What kind of failure a delivery error is, without its text.
fn failure_kind(error: &anyhow::Error) -> &'static str {
    match error.downcast_ref::<lettre::transport::smtp::Error>() {
        Some(e) if e.is_tls() => "tls",
        Some(e) if e.is_timeout() => "timeout",
        Some(e) if e.is_permanent() => "permanent",
        Some(e) if e.is_transient() => "transient",
        Some(_) => "smtp",
        None if error.downcast_ref::<std::io::Error>().is_some() => "io",
        None => "message",
    }
}

fn backoff(attempts: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempts.min(16)))
        .min(MAX_BACKOFF)
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn message(from: &str, mail: &OutboxMail) -> anyhow::Result<Message> {
    Ok(Message::builder()
        .from(from.parse().context("the From address")?)
        .to(mail.to.parse().context("the recipient address")?)
        .subject(&mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())?)
}

/// Times in mails are Japan time, as the people reading them live there.
pub(crate) fn jst(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(9 * 3600) {
        Some(offset) => at
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S (JST)")
            .to_string(),
        None => at.format("%Y-%m-%d %H:%M:%S (UTC)").to_string(),
    }
}

/// What a notification names: the sealed file and the two parties.
pub(crate) struct Event<'a> {
    /// The sealed name.
    pub(crate) file: &'a str,
    /// The sending party's name.
    pub(crate) sender: &'a str,
    /// The receiving party's name.
    pub(crate) recipient: &'a str,
    /// When it was sent.
    pub(crate) sent_at: DateTime<Utc>,
}

/// "A file has arrived", to the recipient's users.
pub(crate) fn sent_notice(event: &Event<'_>, expires_at: Option<DateTime<Utc>>) -> Notice {
    let expiry_ja = expires_at
        .map(|at| format!("受信期限: {}\n", jst(at)))
        .unwrap_or_default();
    let expiry_en = expires_at
        .map(|at| format!("Receive by: {}\n", jst(at)))
        .unwrap_or_default();
    Notice {
        subject: "【KX】ファイルが送信されました / A file has been sent to you".into(),
        body: format!(
            "{recipient} 御中\n\n\
             {sender} からファイルが送信されました。KX アプリで受信してください。\n\n\
             ファイル名: {file}\n送信日時: {sent}\n{expiry_ja}\n\
             ----\n\
             {sender} has sent a file to {recipient}. Receive it with the KX app.\n\n\
             File: {file}\nSent: {sent}\n{expiry_en}\n\
             このメールは送信専用です。 / This mail is sent automatically; do not reply.\n",
            recipient = event.recipient,
            sender = event.sender,
            file = event.file,
            sent = jst(event.sent_at),
        ),
    }
}

/// "Your file has been received", to the sending user.
pub(crate) fn received_notice(event: &Event<'_>, received_at: DateTime<Utc>) -> Notice {
    Notice {
        subject: "【KX】送信したファイルが受信されました / Your file has been received".into(),
        body: format!(
            "{sender} 御中\n\n\
             {recipient} が、送信されたファイルを受信しました。\n\n\
             ファイル名: {file}\n送信日時: {sent}\n受信日時: {received}\n\n\
             ----\n\
             {recipient} has received the file {sender} sent.\n\n\
             File: {file}\nSent: {sent}\nReceived: {received}\n\n\
             このメールは送信専用です。 / This mail is sent automatically; do not reply.\n",
            recipient = event.recipient,
            sender = event.sender,
            file = event.file,
            sent = jst(event.sent_at),
            received = jst(received_at),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_parse_and_backoff_grows_to_a_limit() {
        assert_eq!(
            parse_relay("smtp://127.0.0.1:2525").unwrap(),
            ("127.0.0.1".into(), 2525)
        );
        assert_eq!(
            parse_relay("smtp://mail.example").unwrap(),
            ("mail.example".into(), 25)
        );
        assert!(parse_relay("http://x").is_err());
        assert!(parse_relay("smtp://:25").is_err());
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(1), FIRST_BACKOFF * 2);
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn notices_name_file_parties_and_times_in_both_languages() {
        let sent_at = DateTime::parse_from_rfc3339("2026-04-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let event = Event {
            file: "Send-KS-1.zip.p7m",
            sender: "架空健康保険組合",
            recipient: "事業所一",
            sent_at,
        };
        let notice = sent_notice(&event, None);
        assert!(notice.body.contains("Send-KS-1.zip.p7m"));
        assert!(notice.body.contains("2026-04-01 09:00:00 (JST)"));
        assert!(notice.body.contains("事業所一 御中"));
        let received = received_notice(&event, sent_at);
        assert!(received.subject.contains("received"));
        let mail = OutboxMail {
            id: 1,
            to: "a@example.test".into(),
            subject: notice.subject,
            body: notice.body,
            attempts: 0,
            created_at: sent_at,
        };
        let formatted = message("kx@example.test", &mail).unwrap().formatted();
        let text = String::from_utf8_lossy(&formatted);
        assert!(text.contains("To: a@example.test"), "{text}");
    }
}
