//! The health insurance society's server (健康保険組合サーバ): setup, approvals, inbox, pull,
//! send, renewal and `serve`, as commands.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use kx_client::exchange::{
    self as ops, Approval, ServeEvent, ServeOptions, Session, SocietyEnrolment,
};
use kx_client::kx_exchange::api::{Function, PartyKind, PendingRequest};

use super::Ctx;
use super::office::{print_inbox, print_received, when};
use super::report::{Failed, print_failure, reported};
use super::ui;
use super::{session, settings};
use crate::progress::Bars;

type Result<T, E = Failed> = std::result::Result<T, E>;

/// `kx society …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SocietyCommand {
    /// Create the society's CA, key and certificate, register them with the one-time code and
    /// replace the temporary password.
    ///
    /// With --pin-stdin --password-stdin, standard input holds one line each: the new PIN,
    /// the temporary password, the new password, the new password again.
    Setup(SetupArgs),
    /// List pending certificate requests and issue certificates for them with the CA.
    Approve(ApproveArgs),
    /// List what offices sent (not yet pulled).
    Inbox {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Download, verify and decrypt everything in the inbox into DIR/<destination>/, then
    /// delete it on the server.
    Pull {
        /// Where the ZIPs go.
        #[arg(short = 'd', long = "dir")]
        dir: PathBuf,
    },
    /// Send files to an office, sealed for its current certificates.
    Send {
        /// The office number.
        #[arg(long)]
        office: String,
        /// The files (at most 20 MB together).
        files: Vec<PathBuf>,
    },
    /// A new society certificate from the CA, published to offices.
    Renew,
    /// Keep approving, pulling into --inbox and sending what is dropped in --outbox/<office>/.
    Serve(ServeArgs),
}

impl SocietyCommand {
    /// The command's name, for the log.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            SocietyCommand::Setup(_) => "society setup",
            SocietyCommand::Approve(_) => "society approve",
            SocietyCommand::Inbox { .. } => "society inbox",
            SocietyCommand::Pull { .. } => "society pull",
            SocietyCommand::Send { .. } => "society send",
            SocietyCommand::Renew => "society renew",
            SocietyCommand::Serve(_) => "society serve",
        }
    }
}

/// `kx society setup`.
#[derive(Args, Debug)]
pub(crate) struct SetupArgs {
    /// The KX server's URL (its bootstrap HTTPS listener), e.g. https://kx.example.
    #[arg(long, value_parser = ops::https_url)]
    server: String,
    /// The CA certificate of the KX server's TLS certificate (PEM).
    #[arg(long)]
    ca: PathBuf,
    /// The society user's login ID.
    #[arg(long)]
    id: String,
    /// The one-time setup code.
    #[arg(long)]
    code: String,
    /// Validity of the society CA, in days.
    #[arg(long, default_value_t = ops::CA_DAYS)]
    ca_days: u32,
    /// Validity of the society certificate, in days.
    #[arg(long, default_value_t = ops::CERTIFICATE_DAYS)]
    days: u32,
    /// Protect the keys with a cheap key derivation: throw-away demo and test profiles only.
    #[arg(long, env = "KX_INSECURE_FAST_KDF", hide = true)]
    insecure_fast_kdf: bool,
}

/// `kx society approve`.
#[derive(Args, Debug)]
pub(crate) struct ApproveArgs {
    /// Approve every pending request that passes the checks, without asking.
    #[arg(long)]
    all: bool,
    /// Only these requests.
    requests: Vec<String>,
    /// Validity of issued office certificates, in days.
    #[arg(long, default_value_t = ops::CERTIFICATE_DAYS)]
    days: u32,
    /// Only list the pending requests.
    #[arg(long)]
    list: bool,
    /// Refuse the requests named (their office app stops waiting with this reason).
    #[arg(long, value_name = "REASON", requires = "requests", conflicts_with_all = ["all", "list"])]
    refuse: Option<String>,
}

/// `kx society serve`.
#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// Where pulled files go (DIR/<destination>/<sealed name>).
    #[arg(long)]
    inbox: PathBuf,
    /// Files dropped in OUTBOX/<office number>/ are sent; then moved to OUTBOX/sent/<office>/
    /// (or OUTBOX/failed/<office>/ with a .error note). Drop files atomically (write
    /// elsewhere, then rename): names starting with `.` are ignored.
    #[arg(long)]
    outbox: PathBuf,
    /// Seconds between rounds.
    #[arg(long, default_value_t = 30)]
    interval: u64,
    /// Also approve pending certificate requests (the server checked their one-time codes).
    #[arg(long)]
    approve: bool,
    /// Validity of certificates issued with --approve, in days.
    #[arg(long, default_value_t = ops::CERTIFICATE_DAYS)]
    days: u32,
    /// One round, then exit.
    #[arg(long)]
    once: bool,
}

/// Runs a `kx society` command.
pub(crate) fn run(ctx: &Ctx, command: SocietyCommand) -> Result<()> {
    match &command {
        SocietyCommand::Setup(args) => return setup(ctx, args),
        // The rules first (E2002–E2007), before the PIN is asked, as the office app does.
        SocietyCommand::Send { office, files } => {
            ops::check_files(Function::Attachments, office, files)?;
        }
        _ => {}
    }
    let mut session = session::open(ctx)?;
    if session.kind() != PartyKind::Society {
        return Err(
            kx_client::Error::Usage("this profile is an office app, not a society".into()).into(),
        );
    }
    match command {
        SocietyCommand::Setup(_) => Ok(()), // handled above
        SocietyCommand::Approve(args) => approve(&session, ctx, &args),
        SocietyCommand::Inbox { json } => print_inbox(&ops::inbox(&session)?, json),
        SocietyCommand::Pull { dir } => {
            let pulled = ops::pull(&session, &dir, &Bars::default())?;
            print_received(&pulled);
            reported(&pulled)
        }
        SocietyCommand::Send { office, files } => {
            let uploaded = ops::send_to_office(&mut session, &office, &files, &Bars::default())?;
            println!(
                "ok    {}  {}  {} bytes",
                uploaded.id, uploaded.name, uploaded.size
            );
            Ok(())
        }
        SocietyCommand::Renew => {
            ops::renew_society(&session)?;
            renewed();
            Ok(())
        }
        SocietyCommand::Serve(args) => serve(&mut session, &args),
    }
}

/// Says that the society certificate was renewed.
pub(crate) fn renewed() {
    println!("Renewed and published the society certificate.");
}

/// `kx society setup`: the CA and the society certificate are made by `kx-client`; the server
/// only learns the certificates.
fn setup(ctx: &Ctx, args: &SetupArgs) -> Result<()> {
    let profile = &ctx.profile;
    let lock = profile.lock()?;
    profile.ensure_new()?;
    let enrolment = SocietyEnrolment::new(
        args.server.clone(),
        &args.ca,
        args.id.clone(),
        args.code.clone(),
        (args.ca_days, args.days),
        args.insecure_fast_kdf,
    )?;
    let pin = ctx.secrets.new_pin()?;
    let password = ctx.secrets.password("仮パスワード (temporary password)")?;
    let society = ops::setup_society(profile, &lock, &enrolment, &pin, &password)?;
    let mut session = session::start(ctx, lock, pin)?;
    settings::replace_temporary_password(&mut session, ctx)?;
    println!(
        "Set up: society {} {}, profile {}",
        society.number,
        society.name,
        profile.root().display()
    );
    Ok(())
}

/// Prints the decision on a request.
fn print_decision(r: &PendingRequest, approval: &Approval) {
    match approval {
        Approval::Issued => println!(
            "issued {}  office {} {}  user {}",
            r.request, r.office_number, r.office_name, r.user_id
        ),
        Approval::Refused(reason) => println!(
            "refused {}  office {}: {reason}",
            r.request, r.office_number
        ),
    }
}

/// `kx society approve`.
fn approve(session: &Session, ctx: &Ctx, args: &ApproveArgs) -> Result<()> {
    let pending = ops::pending_requests(session)?;
    let chosen: Vec<PendingRequest> = pending
        .into_iter()
        .filter(|r| args.requests.is_empty() || args.requests.contains(&r.request))
        .collect();
    if args.list || chosen.is_empty() {
        if chosen.is_empty() {
            println!("(no pending certificate requests)");
        }
        for r in &chosen {
            println!(
                "{}  {:?}  office {} {}  user {}  {}",
                r.request,
                r.kind,
                r.office_number,
                r.office_name,
                r.user_id,
                when(r.created_at)
            );
        }
        return Ok(());
    }
    if let Some(reason) = &args.refuse {
        for r in &chosen {
            ops::refuse(session, r, reason)?;
            println!(
                "refused {}  office {}: {reason}",
                r.request, r.office_number
            );
        }
        return Ok(());
    }
    let decided = ops::approve(session, &chosen, args.days, &mut |r| {
        let question = format!(
            "Issue a certificate ({:?}) for office {} {}, user {}?",
            r.kind, r.office_number, r.office_name, r.user_id
        );
        ui::confirm(&question, args.all || ctx.yes)
    })?;
    for (r, approval) in &decided {
        match approval {
            Some(approval) => print_decision(r, approval),
            None => println!("skipped {}", r.request),
        }
    }
    Ok(())
}

/// A step of a `serve` round failed: which, and the failure with its cause and 対応方法 (the
/// library logged it with its cause chain).
fn step_failed(step: &str, error: kx_client::Error) {
    eprintln!("{step} failed; the next round tries again:");
    match error.into_failure() {
        Ok(failure) => print_failure(&failure),
        Err(other) => eprintln!("  {}", other.cause_chain()),
    }
}

/// `kx society serve`: rounds of approve (optional), pull, send the outbox.
fn serve(session: &mut Session, args: &ServeArgs) -> Result<()> {
    let options = ServeOptions {
        inbox: args.inbox.clone(),
        outbox: args.outbox.clone(),
        interval: Duration::from_secs(args.interval),
        approve_days: args.approve.then_some(args.days),
        once: args.once,
    };
    ops::serve(session, &options, &mut |event| match event {
        ServeEvent::StepFailed { step, error } => step_failed(step, error),
        ServeEvent::Decided(r, approval) => print_decision(&r, &approval),
        ServeEvent::Pulled(outcome) => print_received(std::slice::from_ref(&outcome)),
        ServeEvent::Sent {
            office,
            name,
            uploaded,
        } => println!(
            "sent  {office}/{name}  as {}  {}",
            uploaded.name, uploaded.id
        ),
        ServeEvent::Retry {
            office,
            name,
            reason,
        } => println!("retry {office}/{name}  {reason}"),
        ServeEvent::Refused {
            office,
            name,
            reason,
        } => println!("fail  {office}/{name}  {reason}"),
        _ => {}
    })?;
    Ok(())
}
