//! The 伝送 client, for the offices, insurers, prefectures and welfare offices that submit to a
//! federation and collect its answers: log in, send, cancel, send upstream notices, fetch,
//! watch, and see where each submission stands; and the message tools (lint, parse, build).
//!
//! A profile ([`Profile`]) says where the federation's servers are and who the user is; the
//! state store ([`State`]) keeps everything sent and received. `submit` builds and sends,
//! `fetch` collects and applies the replies, `report` tells where each submission stands.

mod fetch;
mod message;
mod profile;
mod report;
mod state;
mod submit;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

pub use fetch::{FetchReport, Fetched, Watched, fetch, watch};
pub use message::{MessageDraft, built, lint, read_attachments, view};
pub use profile::{Profile, Settings, home};
pub use report::{CsvErrView, Detail, DetailView, ReceiptView, inbox, mark_seen, show, status};

pub use state::{DataFileNote, FileRow, State, StateError, StoredMessage, Submission};
pub use submit::{
    Checked, Checkpoint, Submitted, UpstreamRequest, check_cancel, check_send, check_upstream,
    submit,
};

use profile::STATE_FILE;

impl Profile {
    /// Opens the profile's state store (creating it, or migrating an older one).
    pub fn open_state(&self) -> crate::Result<State> {
        Ok(State::open(&self.dir.join(STATE_FILE))?)
    }
}

/// What `login` saves: the federation's servers and the account.
#[derive(Clone, Debug)]
pub struct LoginRequest {
    settings: Settings,
    ca: Option<PathBuf>,
}

/// Where the federation is and who logs in, as the user gave it.
#[derive(Clone, Debug)]
pub struct LoginOptions {
    /// SMTP submission server, HOST:PORT.
    pub smtp: String,
    /// POP3 server, HOST:PORT.
    pub pop3: String,
    /// The read-only FTP download area of service notices, HOST:PORT.
    pub ftp: Option<String>,
    /// The account: ID@DOMAIN, or the ID with `domain`.
    pub id: String,
    /// The federation's mail domain, when `id` is a bare ID.
    pub domain: Option<String>,
    /// The federation's transmit address (default: transmit@DOMAIN).
    pub transmit: Option<String>,
    /// Trust this CA certificate (PEM) instead of the system's trust store.
    pub ca: Option<PathBuf>,
    /// Talk to the servers without TLS: only allowed for 127.0.0.1 and ::1 (tests).
    pub insecure_plaintext: bool,
    /// Socket timeout in seconds.
    pub timeout_seconds: u64,
}

impl LoginRequest {
    /// Checks the account ID and the servers' addresses, before any password is asked.
    pub fn new(options: LoginOptions) -> crate::Result<LoginRequest> {
        let (id, domain) = match (options.id.split_once('@'), options.domain) {
            (Some((id, domain)), None) => (id.to_owned(), domain.to_owned()),
            (Some((id, domain)), Some(given)) if domain == given => (id.to_owned(), given),
            (Some(_), Some(_)) => {
                return Err(anyhow::anyhow!("--id and --domain name different domains").into());
            }
            (None, Some(domain)) => (options.id.clone(), domain),
            (None, None) => return Err(anyhow::anyhow!("give --id ID@DOMAIN, or --domain").into()),
        };
        id.parse::<kx_denso::AccountId>()
            .with_context(|| format!("{id:?} is not a 伝送 account ID"))?;
        for (what, value) in [("--smtp", &options.smtp), ("--pop3", &options.pop3)] {
            profile::split_host_port(value).with_context(|| what.to_owned())?;
        }
        let settings = Settings {
            transmit: options
                .transmit
                .unwrap_or_else(|| format!("transmit@{domain}")),
            id,
            domain,
            smtp: options.smtp,
            pop3: options.pop3,
            ftp: options.ftp,
            private_ca: options.ca.is_some(),
            insecure_plaintext: options.insecure_plaintext,
            timeout_seconds: options.timeout_seconds,
        };
        Ok(LoginRequest {
            settings,
            ca: options.ca,
        })
    }

    /// The account ID.
    pub fn id(&self) -> &str {
        &self.settings.id
    }
}

/// A profile saved by [`login`].
#[derive(Debug)]
pub struct LoggedIn {
    /// The profile.
    pub profile: Profile,
    /// Whether the servers spoke TLS (else plaintext, loopback only).
    pub tls: bool,
}

/// Saves the profile `name` under `home` after checking the account against both servers
/// with `password` (a typo must not replace a working profile); keeps the password when
/// `save_password`.
pub fn login(
    home: &Path,
    name: &str,
    request: &LoginRequest,
    password: &str,
    save_password: bool,
) -> crate::Result<LoggedIn> {
    let settings = &request.settings;
    let ca = request.ca.as_deref();
    let check = kx_net::pop3::Pop3Session::open(
        &settings.endpoint(&settings.pop3, ca)?,
        &settings.id,
        password,
    )
    .and_then(|session| {
        let tls = session.is_tls();
        session.quit().map(|()| tls)
    })
    .with_context(|| format!("POP3 login at {}", settings.pop3));
    let smtp = kx_net::smtp::SmtpSession::open(
        &settings.endpoint(&settings.smtp, ca)?,
        &settings.id,
        password,
    )
    .map(kx_net::smtp::SmtpSession::quit)
    .with_context(|| format!("SMTP login at {}", settings.smtp));
    let tls = check?;
    smtp?;
    let saved = save_password.then_some(password);
    let profile = Profile::save(home, name, settings.clone(), ca, saved)?;
    profile.open_state()?;
    Ok(LoggedIn { profile, tls })
}

/// Every profile under `home`, by name.
pub fn profiles(home: &Path) -> crate::Result<Vec<Profile>> {
    Profile::list(home)?
        .iter()
        .map(|name| Profile::load(home, name))
        .collect()
}
