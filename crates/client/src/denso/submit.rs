//! Sending: `kx denso send`, `kx denso cancel`, `kx denso upstream` (with a profile).
//!
//! Every message goes through the same steps, in this order, so that nothing is lost and no
//! number is wasted or reused:
//!
//! 1. build it with the number the store would hand out next, and refuse locally, with the
//!    spec's reason, what the federation would refuse ([`kx_denso::inspect`]) and the data
//!    files whose record structure it would answer `DataErr`
//!    ([`kx_records::check_structure`]); `--no-check` sends them anyway, to see the
//!    federation's own answer;
//! 2. open the SMTP session (STARTTLS, AUTH) and refuse a message larger than the server's
//!    `SIZE`;
//! 3. reserve the number durably ([`State::reserve`]); a crash from here on leaves it marked
//!    *reserved, not sent* and it is never handed out again;
//! 4. build the final message, send it, record the outcome.
//!
//! For the test of step 3, `KX_TEST_CRASH_AFTER_RESERVE=1` aborts the process right after the
//! reservation is committed; it has no other use.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use kx_denso::message::{Attachment, DataDelete, DataSend, Upstream};
use kx_denso::names::{DataFileKind, data_file_kind};
use kx_denso::{Context, Mailbox, Message, OrgKind, TransmissionNumber, UsedNumbers, inspect};
use kx_lzh::{Limits, Writer};

use super::profile::Profile;
use super::state::{DataFileNote, State};
use super::{EXIT_REFUSED, ProfileArgs};
use crate::net::smtp::SmtpSession;

/// `kx denso send`.
#[derive(Args)]
pub(crate) struct SendArgs {
    /// Pack the files into one LZH archive (named after the transmission number).
    #[arg(long)]
    lzh: bool,
    /// Send even what the local checks refuse, to see the federation's own answer (for test
    /// environments).
    #[arg(long)]
    no_check: bool,
    #[command(flatten)]
    profile: ProfileArgs,
    /// The data files: CSV (up to 8 alphanumerics + .CSV) or LZH (up to 20 + .LZH).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `kx denso cancel`.
#[derive(Args)]
pub(crate) struct CancelArgs {
    #[command(flatten)]
    profile: ProfileArgs,
    /// The transmission number of the submission to cancel.
    number: String,
}

/// `kx denso upstream` with a profile (no `--from`): the message is sent.
pub(crate) struct UpstreamSendArgs {
    /// The profile.
    pub(crate) profile: ProfileArgs,
    /// 独自情報名.
    pub(crate) name: String,
    /// The address the upstream kind defines.
    pub(crate) to: Option<String>,
    /// 一意番号; allocated like a transmission number when absent.
    pub(crate) unique: Option<String>,
    /// The parameter.
    pub(crate) param: Option<String>,
    /// The body.
    pub(crate) body: String,
    /// The files.
    pub(crate) files: Vec<PathBuf>,
}

/// The numbers this store has handed out, for the duplicate check of [`inspect`].
struct LocalNumbers(HashSet<String>);

impl UsedNumbers for LocalNumbers {
    fn number_used(&self, number: &TransmissionNumber) -> bool {
        self.0.contains(number.as_str())
    }

    fn unique_used(&self, _kind: &str, unique: &str) -> bool {
        self.0.contains(unique)
    }
}

/// Builds a message for a transmission number (each kind of message has its own).
trait BuildMessage: Fn(&TransmissionNumber) -> anyhow::Result<Message> {}

impl<F: Fn(&TransmissionNumber) -> anyhow::Result<Message>> BuildMessage for F {}

/// What one kind of message needs to be built for a given number.
struct Draft {
    /// `DataSend`, `DataDelete` or `Upstream`.
    kind: &'static str,
    /// DataDelete: the number cancelled; upstream: the kind name.
    target: Option<String>,
    /// The data files, as counted before sending.
    data_files: Vec<DataFileNote>,
    /// Builds the message for a number.
    build: Box<dyn BuildMessage>,
}

/// The number for `serial`: the org code, the account's seq character, nine digits.
fn number_for(profile: &Profile, serial: u64) -> anyhow::Result<TransmissionNumber> {
    let org = profile.account.org();
    let serial = format!("{}{serial:09}", profile.account.seq());
    Ok(TransmissionNumber::new(org, &serial)?)
}

/// The test hook of the module docs.
const CRASH_HOOK: &str = "KX_TEST_CRASH_AFTER_RESERVE";

/// A CSV counted: its data records, or the structure error the federation will find.
fn note(name: &str, data: &[u8]) -> DataFileNote {
    let checked = kx_records::check_structure(data);
    DataFileNote {
        name: name.to_owned(),
        records: checked.as_ref().ok().map(|file| file.data.len() as u64),
        structure_error: checked.err().map(|code| code.code().to_owned()),
    }
}

/// The CSV files a submission carries, counted: LZH archives are unpacked in memory.
fn data_file_notes(files: &[Attachment]) -> Vec<DataFileNote> {
    let mut notes = Vec::new();
    for file in files {
        match data_file_kind(&file.name) {
            Some(DataFileKind::Lzh) => {
                let Ok(entries) = kx_lzh::unpack(&file.data, &Limits::default()) else {
                    continue;
                };
                for entry in entries.iter().filter(|e| !e.entry.is_directory) {
                    let name = entry.entry.path.components().last().cloned();
                    notes.push(note(&name.unwrap_or_default(), &entry.data));
                }
            }
            _ => notes.push(note(&file.name, &file.data)),
        }
    }
    notes
}

/// Packs files into one `-lh5-` archive named `<number>.LZH`.
fn pack(number: &TransmissionNumber, files: &[Attachment]) -> anyhow::Result<Attachment> {
    let mut writer = Writer::new(Vec::new());
    let now = std::time::SystemTime::now();
    for file in files {
        writer
            .add_file(&file.name, now, &file.data)
            .with_context(|| format!("cannot pack {}", file.name))?;
    }
    Ok(Attachment::new(format!("{number}.LZH"), writer.finish()?))
}

/// `kx denso send`.
pub(crate) fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let files = crate::denso_cmd::read_attachments(&args.files)?;
    let data_files = data_file_notes(&files);
    let from = Mailbox::new(profile.address());
    let to = Mailbox::new(profile.settings.transmit.clone());
    let lzh = args.lzh;
    let draft = Draft {
        kind: "DataSend",
        target: None,
        data_files,
        build: Box::new(move |number| {
            let files = if lzh {
                vec![pack(number, &files)?]
            } else {
                files.clone()
            };
            Ok(Message::DataSend(DataSend {
                from: from.clone(),
                to: to.clone(),
                date: chrono::Local::now().fixed_offset(),
                number: number.clone(),
                files,
            }))
        }),
    };
    submit(&args.profile, &profile, &mut state, draft, args.no_check)
}

/// `kx denso cancel`.
pub(crate) fn cancel(args: CancelArgs) -> anyhow::Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    let cancel: TransmissionNumber = args
        .number
        .parse()
        .with_context(|| format!("{:?} is not a transmission number", args.number))?;
    if !state.has_number(cancel.as_str())? {
        eprintln!("kx denso: note: {cancel} was not sent from this profile");
    }
    let from = Mailbox::new(profile.address());
    let to = Mailbox::new(profile.settings.transmit.clone());
    let draft = Draft {
        kind: "DataDelete",
        target: Some(cancel.to_string()),
        data_files: Vec::new(),
        build: Box::new(move |number| {
            Ok(Message::DataDelete(DataDelete {
                from: from.clone(),
                to: to.clone(),
                date: chrono::Local::now().fixed_offset(),
                number: number.clone(),
                cancel: cancel.clone(),
            }))
        }),
    };
    submit(&args.profile, &profile, &mut state, draft, false)
}

/// `kx denso upstream` with a profile.
pub(crate) fn upstream(args: UpstreamSendArgs) -> anyhow::Result<ExitCode> {
    let (profile, mut state) = args.profile.open()?;
    if profile.account.org().kind() == OrgKind::Office {
        let code = kx_denso::ErrorCode::UpstreamFromOffice;
        eprintln!(
            "kx denso: refused: {} {}\n         {}",
            code.code(),
            code.message_en(),
            code.message_ja()
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let files = crate::denso_cmd::read_attachments(&args.files)?;
    let from = Mailbox::new(profile.address());
    let to = match args.to {
        Some(to) => {
            Mailbox::parse(&to).map_err(|_| anyhow::anyhow!("--to {to:?} is not an address"))?
        }
        None => anyhow::bail!(
            "--to is required: the address the federation defined for {}",
            args.name
        ),
    };
    let fixed_unique = args.unique;
    let (name, param, body) = (args.name, args.param, args.body);
    let draft = Draft {
        kind: "Upstream",
        target: Some(name.clone()),
        data_files: Vec::new(),
        build: Box::new(move |number| {
            Ok(Message::Upstream(Upstream {
                from: from.clone(),
                to: to.clone(),
                date: chrono::Local::now().fixed_offset(),
                kind: name.clone(),
                unique: fixed_unique.clone().unwrap_or_else(|| number.to_string()),
                parameter: param.clone(),
                body: body.clone(),
                files: files.clone(),
            }))
        }),
    };
    submit(&args.profile, &profile, &mut state, draft, false)
}

/// The steps of the module docs.
fn submit(
    args: &ProfileArgs,
    profile: &Profile,
    state: &mut State,
    draft: Draft,
    no_check: bool,
) -> anyhow::Result<ExitCode> {
    let org_code = profile.account.org().org_code().to_string();
    let candidate = number_for(profile, state.peek_serial(&org_code)?)?;
    let bytes = (draft.build)(&candidate)?.to_bytes()?;
    let used = LocalNumbers(state.submissions()?.into_iter().map(|s| s.number).collect());
    let inspection = inspect(
        &bytes,
        &Context {
            account: Some(&profile.account),
            domain: Some(&profile.settings.domain),
            transmit_address: (draft.kind != "Upstream").then_some(&profile.settings.transmit),
            upstream: None,
            used: Some(&used),
        },
    );
    let structure_errors: Vec<(&str, kx_denso::ErrorCode)> = draft
        .data_files
        .iter()
        .filter_map(|f| {
            let code = kx_denso::ErrorCode::from_code(f.structure_error.as_deref()?)?;
            Some((f.name.as_str(), code))
        })
        .collect();
    for (name, code) in &structure_errors {
        eprintln!(
            "  {} {name}: {} (the federation answers DataErr)\n         {}",
            code.code(),
            code.message_en(),
            code.message_ja()
        );
    }
    if !inspection.is_valid() || !structure_errors.is_empty() {
        if !inspection.is_valid() {
            crate::denso_cmd::print_violations(&inspection, &mut std::io::stderr().lock())?;
        }
        if !no_check {
            eprintln!(
                "kx denso: not sent (no number used): the federation would refuse this message"
            );
            return Ok(ExitCode::from(EXIT_REFUSED));
        }
        eprintln!("kx denso: --no-check: sending it anyway");
    }

    let password = args.password(profile)?;
    let endpoint = profile.endpoint(&profile.settings.smtp)?;
    let mut session = SmtpSession::open(&endpoint, &profile.settings.id, &password)
        .with_context(|| format!("SMTP at {}", profile.settings.smtp))?;
    session.check_size(bytes.len()).context("not sent")?;

    let number = state.reserve(&org_code, draft.kind, |serial| {
        // Cannot fail: the org is the account's own, and its seq plus nine digits is always a
        // valid serial (the candidate above was built the same way).
        number_for(profile, serial)
            .map(|n| n.to_string())
            .unwrap_or_default()
    })?;
    if std::env::var_os(CRASH_HOOK).is_some_and(|v| v == "1") {
        eprintln!("kx denso: {CRASH_HOOK}: aborting after reserving {number}");
        std::process::abort();
    }
    let number: TransmissionNumber = number.parse()?;
    let message = (draft.build)(&number)?;
    let attachments: Vec<String> = match &message {
        Message::DataSend(m) => m.files.iter().map(|f| f.name.clone()).collect(),
        Message::Upstream(m) => m.files.iter().map(|f| f.name.clone()).collect(),
        _ => Vec::new(),
    };
    let bytes = message.to_bytes()?;
    state.describe(
        number.as_str(),
        &attachments,
        &draft.data_files,
        draft.target.as_deref(),
        &bytes,
    )?;
    let from = profile.address();
    let to = match &message {
        Message::Upstream(m) => m.to.address.clone(),
        _ => profile.settings.transmit.clone(),
    };
    match session.send(&from, &[&to], &bytes) {
        Ok(_) => {
            state.mark_sent(number.as_str(), None)?;
            session.quit();
            match &message {
                Message::DataDelete(m) => println!("{number} (cancels {})", m.cancel),
                // The unique number, which --unique may have fixed.
                Message::Upstream(m) => println!("{} ({})", m.unique, m.kind),
                _ => println!("{number}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            state.mark_sent(number.as_str(), Some(&e.to_string()))?;
            Err(anyhow::Error::new(e).context(format!("{number} was reserved but not sent")))
        }
    }
}
