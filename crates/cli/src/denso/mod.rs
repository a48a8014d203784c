//! `kx denso …`: lint, parse and build 伝送 messages, and the client commands (login, send,
//! cancel, fetch, status …) over `kx_client::denso`.

mod client;
mod profile;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kx_client::denso::{self as ops, MessageDraft, UpstreamRequest};
use kx_client::kx_denso::message::MessageKind;
use kx_client::kx_denso::view::{InspectionView, MessageView, code_table};
use kx_client::kx_denso::{AccountId, Inspection, Message};
use serde::Serialize;

pub(crate) use profile::{LoginArgs, ProfileArgs, exit, login, profiles};

/// Exit status of `check` for a message that breaks a rule.
const EXIT_INVALID: u8 = 1;
/// Exit status for unreadable input or wrong usage.
const EXIT_UNUSABLE: u8 = 2;

type Result<T> = kx_client::Result<T>;

/// A usage error in words.
fn usage(text: &str) -> kx_client::Error {
    kx_client::Error::Other(anyhow::anyhow!("{text}"))
}

/// The `kx denso` subcommands.
#[derive(Subcommand)]
pub(crate) enum DensoCommand {
    /// Lint a client message (DataSend, DataDelete, upstream notice) against every rule of the
    /// protocol. Exit 0 when valid, 1 when a rule is broken, 2 when the file cannot be read.
    Check {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The authenticated account ID the message would be sent under (default: the From
        /// address stands in for it).
        #[arg(long, value_name = "ID")]
        account: Option<AccountId>,
        /// The message file (.eml), or - for standard input.
        file: PathBuf,
    },
    /// Show any 伝送 message (a client's or the server's) in words, or as JSON.
    Parse {
        /// Print the message as JSON.
        #[arg(long)]
        json: bool,
        /// The message file (.eml), or - for standard input.
        file: PathBuf,
    },
    /// Build a DataSend (データ送信) carrying CSV or LZH data files.
    Datasend {
        #[command(flatten)]
        common: ClientMessageArgs,
        /// The submission's transmission number (伝送整理番号, 20 characters).
        #[arg(long, value_name = "TN")]
        number: String,
        /// The data files: up to 8 alphanumerics + .CSV, or up to 20 + .LZH.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Build a DataDelete (データ取り消し) cancelling an earlier submission.
    Datadelete {
        #[command(flatten)]
        common: ClientMessageArgs,
        /// This message's own transmission number.
        #[arg(long, value_name = "TN")]
        number: String,
        /// The transmission number of the submission to cancel.
        #[arg(long, value_name = "TN")]
        cancel: String,
    },
    /// Send an upstream notice (上り連絡) to the federation with the profile (prefectures,
    /// insurers and welfare offices only); with --from, only build it.
    Upstream {
        /// With --from: build the message and write it instead of sending it. --to is the
        /// address the upstream kind defines.
        #[command(flatten)]
        common: ClientMessageArgs,
        /// The upstream kind (独自情報名) the federation defined.
        #[arg(long)]
        name: String,
        /// The unique number (一意番号, 20 alphanumerics); allocated when sending without it.
        #[arg(long, value_name = "NUM")]
        unique: Option<String>,
        /// The optional parameter the upstream kind defines.
        #[arg(long, value_name = "P")]
        param: Option<String>,
        /// The body text.
        #[arg(long, default_value = "")]
        body: String,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Files to attach.
        files: Vec<PathBuf>,
    },
    /// Print the error-code table (Japanese and English).
    Codes {
        /// Print the table as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Save a profile: the federation's servers and the account, checked against both.
    Login(LoginArgs),
    /// List the saved profiles.
    Profiles {
        /// The directory holding the profiles.
        #[arg(long, value_name = "DIR")]
        home: Option<PathBuf>,
    },
    /// Submit data files: allocate the next transmission number, send a DataSend, record it.
    Send(client::SendArgs),
    /// Cancel a submission (DataDelete) while the federation still holds it.
    Cancel(client::CancelArgs),
    /// Collect every new message (POP3), store it, then apply it to the submissions.
    Fetch(client::FetchArgs),
    /// Fetch periodically.
    Watch(client::WatchArgs),
    /// One row per submission: arrival, reception per file, cancellation, error codes.
    Status(client::StatusArgs),
    /// A submission in detail: per-file results, CsvErr.txt, reception counts, warnings.
    Show(client::ShowArgs),
    /// Contacts, results and notices not yet seen.
    Inbox(client::InboxArgs),
}

/// What every client-message builder takes.
#[derive(Args)]
pub(crate) struct ClientMessageArgs {
    /// The sender: `ID@domain` or `"description" <ID@domain>` (required to build a
    /// message; `kx denso upstream` without it sends with the profile).
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    /// The recipient (default for DataSend/DataDelete: transmit@ the sender's domain).
    #[arg(long, value_name = "ADDR")]
    to: Option<String>,
    /// The Date header, RFC 2822 (default: now).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Write the message here instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(cmd: DensoCommand) -> ExitCode {
    let result = match cmd {
        DensoCommand::Check {
            json,
            account,
            file,
        } => check(&file, account.as_ref(), json),
        DensoCommand::Parse { json, file } => parse(&file, json),
        DensoCommand::Datasend {
            common,
            number,
            files,
        } => emit(
            common.draft().datasend(&number, &files),
            common.output.as_deref(),
        ),
        DensoCommand::Datadelete {
            common,
            number,
            cancel,
        } => emit(
            common.draft().datadelete(&number, &cancel),
            common.output.as_deref(),
        ),
        DensoCommand::Upstream {
            common,
            name,
            unique,
            param,
            body,
            files,
            profile,
        } => match (&common.from, unique) {
            (Some(_), Some(unique)) => emit(
                common.draft().upstream(name, unique, param, body, &files),
                common.output.as_deref(),
            ),
            (Some(_), None) => Err(usage("--unique is required with --from")),
            (None, unique) => {
                let request = UpstreamRequest {
                    name,
                    to: common.to,
                    unique,
                    param,
                    body,
                    files,
                };
                return exit(client::upstream(&profile, request));
            }
        },
        DensoCommand::Codes { json } => codes(json),
        DensoCommand::Login(args) => return exit(login(args)),
        DensoCommand::Profiles { home } => return exit(profiles(home)),
        DensoCommand::Send(args) => return exit(client::send(args)),
        DensoCommand::Cancel(args) => return exit(client::cancel(args)),
        DensoCommand::Fetch(args) => return exit(client::fetch(args)),
        DensoCommand::Watch(args) => return exit(client::watch(args)),
        DensoCommand::Status(args) => return exit(client::status(args)),
        DensoCommand::Show(args) => return exit(client::show(args)),
        DensoCommand::Inbox(args) => return exit(client::inbox(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kx denso: {e:#}");
            ExitCode::from(EXIT_UNUSABLE)
        }
    }
}

fn read_input(path: &Path) -> Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
            .context("reading standard input")?;
        return Ok(bytes);
    }
    Ok(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?)
}

/// Prints `value` as pretty JSON on standard output.
pub(crate) fn print_json(value: &impl Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

fn check(path: &Path, account: Option<&AccountId>, json: bool) -> Result<ExitCode> {
    let raw = read_input(path)?;
    let inspection = ops::lint(&raw, account);
    if json {
        print_json(&InspectionView::from(&inspection))?;
    } else {
        print_violations(&inspection, &mut std::io::stdout().lock())?;
    }
    Ok(if inspection.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// Prints what the federation would refuse in a message, or that it is valid.
pub(crate) fn print_violations(
    inspection: &Inspection,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let number = inspection.transmission_number.as_deref().unwrap_or("-");
    if inspection.is_valid() {
        writeln!(
            out,
            "valid {:?} message, transmission number {number}",
            inspection.kind
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{:?} message, transmission number {number}: {} problem(s)",
        inspection.kind,
        inspection.violations.len()
    )?;
    for v in &inspection.violations {
        writeln!(out, "  {} {}: {}", v.code, v.code.message_en(), v.detail)?;
        writeln!(out, "         {}", v.code.message_ja())?;
    }
    Ok(())
}

fn parse(path: &Path, json: bool) -> Result<ExitCode> {
    let view = ops::view(&read_input(path)?)?;
    if json {
        print_json(&view)?;
    } else {
        print_summary(&view);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(view: &MessageView) {
    let kind = view.kind.map(MessageKind::as_str).unwrap_or_default();
    println!(
        "{kind} ({}) {} → {}, {}",
        view.environment, view.from, view.to, view.date
    );
    let line = |label: &str, value: &Option<String>| {
        if let Some(v) = value {
            println!("  {label:<20} {v}");
        }
    };
    line("transmission number", &view.transmission_number);
    line("result", &view.result.map(str::to_owned));
    line("file count", &view.file_count.map(|c| c.to_string()));
    for f in &view.files {
        println!(
            "  file                 {} {}",
            f.name,
            f.result.unwrap_or("")
        );
    }
    if let Some(code) = &view.ex1 {
        println!(
            "  error                {code} {}",
            view.ex1_message_en.unwrap_or("(code not in this table)")
        );
    }
    for e in &view.ex2 {
        println!("  record error         {} {}", e.file, e.code);
    }
    for f in &view.ex3 {
        println!("  format errors in     {f}");
    }
    line("cancelled number", &view.cancelled_number);
    line("version", &view.version);
    line("title", &view.title);
    line("upstream kind", &view.upstream_kind);
    line("unique number", &view.unique_number);
    line("parameter", &view.parameter);
    line("location", &view.location);
    for a in &view.attachments {
        println!("  attachment           {} ({} bytes)", a.name, a.size);
    }
    if let Some(body) = view.body.as_deref().filter(|b| !b.is_empty()) {
        println!("\n{body}");
    }
}

/// Lints and writes a built client message. A message that breaks a rule is not written:
/// the server would refuse it.
fn emit(message: Result<Message>, output: Option<&Path>) -> Result<ExitCode> {
    let (bytes, inspection) = ops::built(&message?)?;
    if !inspection.is_valid() {
        print_violations(&inspection, &mut std::io::stderr().lock())?;
        eprintln!("kx denso: not written: the federation would refuse this message");
        return Ok(ExitCode::from(EXIT_INVALID));
    }
    match output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes)?,
    }
    Ok(ExitCode::SUCCESS)
}

impl ClientMessageArgs {
    fn draft(&self) -> MessageDraft {
        MessageDraft {
            from: self.from.clone(),
            to: self.to.clone(),
            date: self.date.clone(),
        }
    }
}

fn codes(json: bool) -> Result<ExitCode> {
    let table = code_table();
    if json {
        print_json(&table)?;
    } else {
        for c in &table {
            println!("{}  {}\n        {}", c.code, c.message_en, c.message_ja);
        }
    }
    Ok(ExitCode::SUCCESS)
}
