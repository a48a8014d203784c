//! The KX office app (`kx setup`, `kx inbox`, `kx send`, …) and the society side
//! (`kx society …`): every function of the office manual (spec `kx-exchange.md`) as a
//! scriptable command over `kx_client::exchange`.
//!
//! Every failure prints the manual's code and message and exits 1; usage errors exit 2.
//! Secrets come from the terminal, or one line each from standard input with `--pin-stdin` /
//! `--password-stdin` (PINs first, then passwords, each in the order the command asks); never
//! from the command line (process lists, shell history).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

mod app;
mod enrol;
mod kpfd;
mod office;
mod report;
mod session;
mod settings;
mod society;
mod ui;

use kx_client::exchange::{ProfileDir, SetupScope, start_log};
use report::{Failed, report};
use ui::Secrets;

/// Options of every exchange command.
#[derive(Args, Debug)]
pub(crate) struct Options {
    /// The exchange profile (one per office or society login).
    #[arg(
        help_heading = "Exchange profile",
        long,
        global = true,
        env = "KX_PROFILE",
        default_value = "default"
    )]
    profile: String,
    /// Where profiles live (`exchange/<profile>/` inside); default `~/.config/kx`, on
    /// Windows `%APPDATA%\kx`.
    #[arg(
        help_heading = "Exchange profile",
        long,
        global = true,
        env = "KX_HOME"
    )]
    home: Option<PathBuf>,
    /// Read PINs from standard input, one line each, instead of the terminal.
    #[arg(help_heading = "Exchange profile", long, global = true)]
    pin_stdin: bool,
    /// Read passwords from standard input, one line each (after any PIN lines).
    #[arg(help_heading = "Exchange profile", long, global = true)]
    password_stdin: bool,
    /// Answer yes to confirmations (send, delete of files not yet received).
    #[arg(help_heading = "Exchange profile", long, short = 'y', global = true)]
    yes: bool,
}

/// What every command is handed: the profile, where secrets come from, `--yes`.
pub(crate) struct Ctx {
    profile: ProfileDir,
    secrets: Secrets,
    yes: bool,
}

/// The office app's commands (top level of `kx`).
#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Enrol this PC as an office app: choose the PIN, make the key, request the certificate
    /// with the one-time code, wait for the society to issue it, replace the temporary
    /// password.
    ///
    /// With --pin-stdin --password-stdin, standard input holds one line each: the new PIN,
    /// the temporary password, the new password, the new password again. A rerun that resumes
    /// waiting reads the PIN, the new password, the new password again.
    Setup(enrol::SetupArgs),
    /// List the files waiting to be received (受信ファイル一覧).
    Inbox {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Receive files: one ZIP per file into DIR, named by its sealed name.
    Receive {
        /// The files' IDs (see `kx inbox`).
        ids: Vec<String>,
        /// Every file in the inbox.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Where to put the ZIPs.
        #[arg(short = 'd', long = "dir", default_value = ".")]
        dir: PathBuf,
    },
    /// Delete received files from the server (frees the quota; 未 files become unreceivable).
    Delete {
        /// The files' IDs.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Deleted received files, kept for 2 years from their send date (受信履歴).
    History {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the society's destinations (送信先): the nicknames `kx send --to` takes
    ///
    /// Examples:
    ///   kx destinations             one nickname a line, under a header
    ///   kx destinations --json      [{"nickname": "給付課"}, …]
    #[command(verbatim_doc_comment)]
    Destinations {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send files to the society: ZIP, sign, encrypt for the society, upload
    ///
    /// `--to` is one of the nicknames `kx destinations` lists.
    ///
    /// With --e-application the file (KPFD.CSV) is checked first as `kx check-kpfd` does:
    /// errors refuse the send unless --ignore-check; warnings are printed and do not.
    ///
    /// Examples:
    ///   kx send --to 給付課 申請書.pdf 添付.xlsx         attachments (電子申請以外)
    ///   kx send --e-application --to 業務課 KPFD.CSV    e-application (電子申請), checked first
    #[command(verbatim_doc_comment)]
    Send(office::SendArgs),
    /// Check a KPFD.CSV before sending it by e-application (電子申請)
    ///
    /// Shift_JIS, CR LF, the [kanri] and [data] sections, field counts, characters outside
    /// JIS X 0208 (①, ㈱, 髙). No public specification of KPFD.CSV exists: errors are what
    /// the known layout rules out with some confidence, warnings what is less certain
    /// (docs/office.md).
    ///
    /// Needs no profile and no server. Exits 1 when it finds an error, 0 otherwise.
    ///
    /// Examples:
    ///   kx check-kpfd KPFD.CSV          one line a finding: `error    line 3, field 5: …`
    ///   kx check-kpfd --json KPFD.CSV   the findings as JSON, with both texts
    #[command(verbatim_doc_comment)]
    CheckKpfd(kpfd::CheckArgs),
    /// Sent files and whether the society downloaded them (送信状況); `sent cancel ID…`.
    Sent(office::SentArgs),
    /// Change the PIN (the key files and the stored password are re-encrypted).
    #[command(subcommand)]
    Pin(settings::PinCommand),
    /// Change the server password.
    #[command(subcommand)]
    Password(settings::PasswordCommand),
    /// The user's name, code and mail address.
    #[command(subcommand)]
    Profile(settings::ProfileCommand),
    /// End the session on the server and forget the token.
    Logout,
    /// Renew the office certificate (new key; the society issues the certificate).
    Renew(enrol::WaitArgs),
    /// The health insurance society's side: its CA, approvals, pull, send, serve.
    #[command(subcommand)]
    Society(society::SocietyCommand),
    /// The browser app: every screen of the office app, or a society profile's desk
    ///
    /// Served on 127.0.0.1 and opened in the system's browser.
    ///
    /// Examples:
    ///   kx app                      open the default profile's app
    ///   kx --profile kenpo app      the society desk of the profile "kenpo"
    ///   kx app --no-open --port 8765   print the launch URL, on a fixed port
    #[command(verbatim_doc_comment)]
    App(app::AppArgs),
}

/// Runs an exchange command.
pub(crate) fn run(options: Options, command: Command) -> ExitCode {
    if let Command::CheckKpfd(args) = &command {
        // A file on this machine: no profile, no log.
        return match kpfd::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => report(err),
        };
    }
    kx_client::install_tls_provider();
    let ctx = match ProfileDir::new(options.home.as_deref(), &options.profile) {
        Ok(profile) => Ctx {
            profile,
            secrets: Secrets::new(options.pin_stdin, options.password_stdin),
            yes: options.yes,
        },
        Err(err) => return report(Failed::from(err)),
    };
    // Before the log makes the profile's directory: a setup that does not finish (failed, or
    // the app quit before its wizard's end) removes what it made.
    let setup = command
        .may_set_up()
        .then(|| SetupScope::begin(&ctx.profile));
    let log = start_log(&ctx.profile);
    tracing::info!(
        command = command.name(),
        version = env!("CARGO_PKG_VERSION"),
        "start"
    );
    let (status, undo) = match execute(&ctx, command) {
        Ok(()) => {
            tracing::info!("done");
            (ExitCode::SUCCESS, setup)
        }
        // Not yet (exit 75) keeps the request waiting for the rerun.
        Err(err @ Failed::Error(kx_client::Error::Later(_))) => (report(err), None),
        Err(err) => (report(err), setup),
    };
    if let Some(scope) = undo {
        drop(log);
        match scope.failed() {
            Ok(true) => eprintln!(
                "kx: removed the half-made profile {}",
                ctx.profile.root().display()
            ),
            Ok(false) => {}
            Err(err) => eprintln!("kx: {err}"),
        }
    }
    status
}

impl Command {
    /// Whether the command may set a profile up (`kx setup`, `kx society setup`, the wizard of
    /// `kx app`).
    fn may_set_up(&self) -> bool {
        matches!(
            self,
            Command::Setup(_)
                | Command::App(_)
                | Command::Society(society::SocietyCommand::Setup(_))
        )
    }

    /// The command's name, for the log.
    fn name(&self) -> &'static str {
        match self {
            Command::Setup(_) => "setup",
            Command::Inbox { .. } => "inbox",
            Command::Receive { .. } => "receive",
            Command::Delete { .. } => "delete",
            Command::History { .. } => "history",
            Command::Destinations { .. } => "destinations",
            Command::Send(_) => "send",
            Command::CheckKpfd(_) => "check-kpfd",
            Command::Sent(_) => "sent",
            Command::Pin(_) => "pin",
            Command::Password(_) => "password",
            Command::Profile(_) => "profile",
            Command::Logout => "logout",
            Command::Renew(_) => "renew",
            Command::Society(cmd) => cmd.name(),
            Command::App(_) => "app",
        }
    }
}

fn execute(ctx: &Ctx, command: Command) -> Result<(), Failed> {
    match command {
        Command::Setup(args) => enrol::setup(ctx, &args),
        Command::Inbox { json } => office::inbox(ctx, json),
        Command::Receive { ids, all, dir } => office::receive(ctx, &ids, all, &dir),
        Command::Delete { ids } => office::delete(ctx, &ids),
        Command::History { json } => office::history(ctx, json),
        Command::Destinations { json } => office::destinations(ctx, json),
        Command::Send(args) => office::send(ctx, &args),
        Command::CheckKpfd(args) => kpfd::run(&args),
        Command::Sent(args) => office::sent(ctx, &args),
        Command::Pin(cmd) => settings::pin(ctx, cmd),
        Command::Password(cmd) => settings::password(ctx, cmd),
        Command::Profile(cmd) => settings::profile(ctx, cmd),
        Command::Logout => settings::logout(ctx),
        Command::Renew(args) => enrol::renew(ctx, &args),
        Command::Society(cmd) => society::run(ctx, cmd),
        Command::App(args) => app::run(ctx, &args),
    }
}
