//! The profile of a 伝送 command (`--home`, `--profile`, the password), `kx denso login` and
//! `kx denso profiles`, and how a client command's outcome becomes the exit status.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use kx_client::denso::{LoginOptions, LoginRequest, Profile, State, home};

/// Exit status when something was refused (locally or by the server) or a problem was found.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit status for wrong usage or an I/O failure.
pub(crate) const EXIT_UNUSABLE: u8 = 2;

/// Which profile a command uses.
#[derive(Args, Clone)]
pub(crate) struct ProfileArgs {
    /// The directory holding the profiles (default: $KX_HOME, $XDG_CONFIG_HOME/kx or
    /// ~/.config/kx; on Windows %APPDATA%\kx).
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
    pub(crate) fn load(&self) -> kx_client::Result<Profile> {
        Profile::load(&home(self.home.as_deref())?, &self.profile)
    }

    /// Loads the profile and opens its state store.
    pub(crate) fn open(&self) -> kx_client::Result<(Profile, State)> {
        let profile = self.load()?;
        let state = profile.open_state()?;
        Ok((profile, state))
    }

    /// The password: the profile's saved one, standard input, or a prompt.
    pub(crate) fn password(&self, profile: &Profile) -> kx_client::Result<String> {
        if let Some(password) = profile.saved_password()? {
            return Ok(password);
        }
        read_password(self.password_stdin, &profile.settings.id)
    }
}

fn read_password(from_stdin: bool, id: &str) -> kx_client::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(rpassword::prompt_password(format!("password for {id}: "))
        .context("reading the password (use --password-stdin when not on a terminal)")?)
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
pub(crate) fn exit(result: kx_client::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kx denso: {e:#}");
            ExitCode::from(if e.is_refused() {
                EXIT_REFUSED
            } else {
                EXIT_UNUSABLE
            })
        }
    }
}

/// `kx denso login`: saves the profile after checking the account against both servers.
pub(crate) fn login(args: LoginArgs) -> kx_client::Result<ExitCode> {
    let request = LoginRequest::new(LoginOptions {
        smtp: args.smtp,
        pop3: args.pop3,
        ftp: args.ftp,
        id: args.id,
        domain: args.domain,
        transmit: args.transmit,
        ca: args.ca,
        insecure_plaintext: args.insecure_plaintext,
        timeout_seconds: args.timeout,
    })?;
    let password = read_password(args.profile.password_stdin, request.id())?;
    let home = home(args.profile.home.as_deref())?;
    let done = kx_client::denso::login(
        &home,
        &args.profile.profile,
        &request,
        &password,
        !args.no_save_password,
    )?;
    let profile = &done.profile;
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
        if done.tls {
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
pub(crate) fn profiles(home_dir: Option<PathBuf>) -> kx_client::Result<ExitCode> {
    for profile in kx_client::denso::profiles(&home(home_dir.as_deref())?)? {
        println!(
            "{:<16} {}  SMTP {}  POP3 {}",
            profile.name,
            profile.address(),
            profile.settings.smtp,
            profile.settings.pop3
        );
    }
    Ok(ExitCode::SUCCESS)
}
