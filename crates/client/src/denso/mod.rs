//! The 伝送 client: `kx denso login / send / cancel / upstream / fetch / watch / status / show
//! / inbox`, for the offices, insurers, prefectures and welfare offices that submit to a
//! federation and collect its answers.
//!
//! A profile ([`profile`]) says where the federation's servers are and who the user is; the
//! state store ([`state`]) keeps everything sent and received. [`submit`] builds and sends,
//! [`fetch`] collects and applies the replies, [`report`] tells the user where each submission
//! stands, in words and in both languages of the error-code table.

mod fetch;
pub(crate) mod profile;
mod report;
pub(crate) mod state;
mod submit;

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

pub(crate) use fetch::{FetchArgs, WatchArgs, fetch, watch};
pub(crate) use report::{InboxArgs, ShowArgs, StatusArgs, inbox, show, status};
pub(crate) use submit::{CancelArgs, SendArgs, UpstreamSendArgs, cancel, send, upstream};

use crate::net::NetError;
use profile::{Profile, Settings};
use state::State;

/// Exit status when something was refused (locally or by the server) or a problem was found.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit status for wrong usage or an I/O failure.
pub(crate) const EXIT_UNUSABLE: u8 = 2;

/// Which profile a command uses.
#[derive(Args, Clone)]
pub(crate) struct ProfileArgs {
    /// The directory holding the profiles (default: $KX_HOME, $XDG_CONFIG_HOME/kx or
    /// ~/.config/kx).
    #[arg(long, value_name = "DIR")]
    home: Option<PathBuf>,
    /// The profile to use.
    #[arg(
        long,
        value_name = "NAME",
        env = "KX_PROFILE",
        default_value = "default"
    )]
    profile: String,
    /// Read the password from standard input (one line) when the profile keeps none.
    #[arg(long)]
    password_stdin: bool,
}

impl ProfileArgs {
    /// Loads the profile.
    fn load(&self) -> anyhow::Result<Profile> {
        Profile::load(&profile::home(self.home.as_deref())?, &self.profile)
    }

    /// Loads the profile and opens its state store.
    fn open(&self) -> anyhow::Result<(Profile, State)> {
        let profile = self.load()?;
        let state = State::open(&profile.dir.join(profile::STATE_FILE))?;
        Ok((profile, state))
    }

    /// The password: the profile's saved one, standard input, or a prompt.
    fn password(&self, profile: &Profile) -> anyhow::Result<String> {
        if let Some(password) = profile.saved_password()? {
            return Ok(password);
        }
        read_password(self.password_stdin, &profile.settings.id)
    }
}

fn read_password(from_stdin: bool, id: &str) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    rpassword::prompt_password(format!("password for {id}: "))
        .context("reading the password (use --password-stdin when not on a terminal)")
}

/// `kx denso login`.
#[derive(Args)]
pub(crate) struct LoginArgs {
    /// SMTP submission server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    smtp: String,
    /// POP3 server, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pop3: String,
    /// The read-only FTP download area of service notices, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    ftp: Option<String>,
    /// The account: ID@DOMAIN, or the ID with --domain.
    #[arg(long, value_name = "ID")]
    id: String,
    /// The federation's mail domain, when --id is a bare ID.
    #[arg(long)]
    domain: Option<String>,
    /// The federation's transmit address (default: transmit@DOMAIN).
    #[arg(long, value_name = "ADDR")]
    transmit: Option<String>,
    /// Trust this CA certificate (PEM) instead of the system's trust store.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Do not keep the password: ask for it on every command.
    #[arg(long)]
    no_save_password: bool,
    /// Talk to the servers without TLS. Only allowed for 127.0.0.1 and ::1 (tests).
    #[arg(long)]
    insecure_plaintext: bool,
    /// Socket timeout in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// Runs a client command and turns its outcome into the exit status.
pub(crate) fn exit(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kx denso: {e:#}");
            let refused = e.chain().any(|cause| {
                matches!(
                    cause.downcast_ref::<NetError>(),
                    Some(
                        NetError::Refused { .. }
                            | NetError::TooLarge { .. }
                            | NetError::NoTls(..)
                            | NetError::PlaintextNotLoopback(_)
                    )
                )
            });
            ExitCode::from(if refused { EXIT_REFUSED } else { EXIT_UNUSABLE })
        }
    }
}

/// `kx denso login`: saves the profile after checking the account against both servers.
pub(crate) fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let (id, domain) = match (args.id.split_once('@'), args.domain) {
        (Some((id, domain)), None) => (id.to_owned(), domain.to_owned()),
        (Some((id, domain)), Some(given)) if domain == given => (id.to_owned(), given),
        (Some(_), Some(_)) => anyhow::bail!("--id and --domain name different domains"),
        (None, Some(domain)) => (args.id.clone(), domain),
        (None, None) => anyhow::bail!("give --id ID@DOMAIN, or --domain"),
    };
    id.parse::<kx_denso::AccountId>()
        .with_context(|| format!("{id:?} is not a 伝送 account ID"))?;
    for (what, value) in [("--smtp", &args.smtp), ("--pop3", &args.pop3)] {
        profile::split_host_port(value).with_context(|| what.to_owned())?;
    }
    let password = read_password(args.profile.password_stdin, &id)?;
    let settings = Settings {
        transmit: args
            .transmit
            .unwrap_or_else(|| format!("transmit@{domain}")),
        id,
        domain,
        smtp: args.smtp,
        pop3: args.pop3,
        ftp: args.ftp,
        private_ca: args.ca.is_some(),
        insecure_plaintext: args.insecure_plaintext,
        timeout_seconds: args.timeout,
    };
    // Both servers must take the password before the profile is written: a typo must not
    // replace a working profile.
    let check = crate::net::pop3::Pop3Session::open(
        &settings.endpoint(&settings.pop3, args.ca.as_deref())?,
        &settings.id,
        &password,
    )
    .and_then(|session| {
        let tls = session.is_tls();
        session.quit().map(|()| tls)
    })
    .with_context(|| format!("POP3 login at {}", settings.pop3));
    let smtp = crate::net::smtp::SmtpSession::open(
        &settings.endpoint(&settings.smtp, args.ca.as_deref())?,
        &settings.id,
        &password,
    )
    .map(crate::net::smtp::SmtpSession::quit)
    .with_context(|| format!("SMTP login at {}", settings.smtp));
    let tls = check?;
    smtp?;
    let home = profile::home(args.profile.home.as_deref())?;
    let saved = (!args.no_save_password).then_some(password.as_str());
    let profile = Profile::save(
        &home,
        &args.profile.profile,
        settings,
        args.ca.as_deref(),
        saved,
    )?;
    State::open(&profile.dir.join(profile::STATE_FILE))?;
    println!(
        "profile {:?} saved in {}",
        profile.name,
        profile.dir.display()
    );
    println!(
        "  {} at SMTP {} and POP3 {} ({})",
        profile.address(),
        profile.settings.smtp,
        profile.settings.pop3,
        if tls {
            "TLS"
        } else {
            "plaintext, loopback only"
        }
    );
    if args.no_save_password {
        println!("  the password is not kept: each command asks for it");
    }
    Ok(ExitCode::SUCCESS)
}

/// `kx denso profiles`: lists the profiles.
pub(crate) fn profiles(home: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let home = profile::home(home.as_deref())?;
    for name in Profile::list(&home)? {
        let profile = Profile::load(&home, &name)?;
        println!(
            "{name:<16} {}  SMTP {}  POP3 {}",
            profile.address(),
            profile.settings.smtp,
            profile.settings.pop3
        );
    }
    Ok(ExitCode::SUCCESS)
}
