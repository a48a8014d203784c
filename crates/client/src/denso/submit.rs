//! Sending with a profile: data (DataSend), cancels (DataDelete), upstream notices.
//!
//! Every message goes through the same steps, in this order, so that nothing is lost and no
//! number is wasted or reused:
//!
//! 1. build it with the number the store would hand out next, and find, with the spec's
//!    reason, what the federation would refuse ([`kx_denso::inspect`]) and the data files
//!    whose record structure it would answer `DataErr`
//!    ([`kx_records::check_structure`]) — a [`Checked`] message; the face refuses it or
//!    (`--no-check`) sends it anyway, to see the federation's own answer;
//! 2. open the SMTP session (STARTTLS, AUTH) and refuse a message larger than the server's
//!    `SIZE`;
//! 3. reserve the number durably ([`State::reserve`]); a crash from here on leaves it marked
//!    *reserved, not sent* and it is never handed out again;
//! 4. build the final message, send it, record the outcome.
//!
//! Each durable step is reported to the face as a [`Checkpoint`] (the `kx` face's crash test
//! hooks hang on them).

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context as _;
use kx_denso::message::{Attachment, DataDelete, DataSend, Upstream};
use kx_denso::names::{DataFileKind, data_file_kind};
use kx_denso::{
    Context, ErrorCode, Inspection, Mailbox, Message, OrgKind, TransmissionNumber, UsedNumbers,
    inspect,
};
use kx_lzh::{Budget, Writer};

use super::message::read_attachments;
use super::profile::Profile;
use super::state::{DataFileNote, State};
use kx_net::smtp::SmtpSession;

/// A durable step of a send or a fetch, committed before the next begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checkpoint<'a> {
    /// The transmission number is reserved in the state store; the message is not sent yet.
    Reserved(&'a str),
    /// A fetched message is stored; it is not deleted on the server yet.
    Stored,
}

/// An upstream notice (上り連絡) to send with a profile.
#[derive(Clone, Debug)]
pub struct UpstreamRequest {
    /// 独自情報名.
    pub name: String,
    /// The address the upstream kind defines.
    pub to: Option<String>,
    /// 一意番号; allocated like a transmission number when absent.
    pub unique: Option<String>,
    /// The parameter.
    pub param: Option<String>,
    /// The body.
    pub body: String,
    /// The files.
    pub files: Vec<PathBuf>,
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

/// A CSV counted: its data records, or the structure error the federation will find.
fn note(name: &str, data: &[u8]) -> DataFileNote {
    let checked = kx_records::check_structure(data);
    DataFileNote {
        name: name.to_owned(),
        records: checked.as_ref().ok().map(|file| file.data.len() as u64),
        structure_error: checked.err().map(|code| code.code().to_owned()),
    }
}

/// The CSV files a submission carries, counted: LZH archives are unpacked in memory, all of
/// them within one budget, as the server unpacks them.
fn data_file_notes(files: &[Attachment]) -> Vec<DataFileNote> {
    let mut budget = Budget::default();
    let mut notes = Vec::new();
    for file in files {
        match data_file_kind(&file.name) {
            Some(DataFileKind::Lzh) => {
                let Ok(entries) = kx_lzh::unpack(&file.data, &mut budget) else {
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

/// A message built for the next number and checked, not yet sent.
pub struct Checked {
    draft: Draft,
    bytes: Vec<u8>,
    /// What the federation would refuse in it.
    pub inspection: Inspection,
    /// The data files whose record structure the federation will answer `DataErr`.
    pub structure_errors: Vec<(String, ErrorCode)>,
}

impl Checked {
    /// Whether the federation would refuse the message or a file in it.
    pub fn refused(&self) -> bool {
        !self.inspection.is_valid() || !self.structure_errors.is_empty()
    }
}

/// Checks a DataSend of `files` (packed into one LZH archive with `lzh`).
pub fn check_send(
    profile: &Profile,
    state: &State,
    files: &[PathBuf],
    lzh: bool,
) -> crate::Result<Checked> {
    let files = read_attachments(files)?;
    let data_files = data_file_notes(&files);
    let from = Mailbox::new(profile.address());
    let to = Mailbox::new(profile.settings.transmit.clone());
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
    check(profile, state, draft)
}

/// Checks a DataDelete cancelling `number`; also says whether this profile sent `number`.
pub fn check_cancel(
    profile: &Profile,
    state: &State,
    number: &str,
) -> crate::Result<(Checked, bool)> {
    let cancel: TransmissionNumber = number
        .parse()
        .with_context(|| format!("{number:?} is not a transmission number"))?;
    let known = state.has_number(cancel.as_str())?;
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
    Ok((check(profile, state, draft)?, known))
}

/// Checks an upstream notice; an office may send none ([`ErrorCode::UpstreamFromOffice`]).
pub fn check_upstream(
    profile: &Profile,
    state: &State,
    request: UpstreamRequest,
) -> crate::Result<Checked> {
    if profile.account.org().kind() == OrgKind::Office {
        return Err(crate::Error::Denso(ErrorCode::UpstreamFromOffice));
    }
    let files = read_attachments(&request.files)?;
    let from = Mailbox::new(profile.address());
    let to = match request.to {
        Some(to) => {
            Mailbox::parse(&to).map_err(|_| anyhow::anyhow!("--to {to:?} is not an address"))?
        }
        None => {
            return Err(anyhow::anyhow!(
                "--to is required: the address the federation defined for {}",
                request.name
            )
            .into());
        }
    };
    let fixed_unique = request.unique;
    let (name, param, body) = (request.name, request.param, request.body);
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
    check(profile, state, draft)
}

/// Step 1 of the module docs.
fn check(profile: &Profile, state: &State, draft: Draft) -> crate::Result<Checked> {
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
            ..Context::default()
        },
    );
    let structure_errors = draft
        .data_files
        .iter()
        .filter_map(|f| {
            let code = ErrorCode::from_code(f.structure_error.as_deref()?)?;
            Some((f.name.clone(), code))
        })
        .collect();
    Ok(Checked {
        draft,
        bytes,
        inspection,
        structure_errors,
    })
}

/// What the federation's server took.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Submitted {
    /// A DataSend with its transmission number.
    Data(String),
    /// A DataDelete: its number and the number it cancels.
    Cancel {
        /// The DataDelete's own number.
        number: String,
        /// The number cancelled.
        cancels: String,
    },
    /// An upstream notice: its unique number (which `unique` may have fixed) and kind.
    Upstream {
        /// 一意番号.
        unique: String,
        /// 独自情報名.
        kind: String,
    },
}

/// Steps 2–4 of the module docs: sends a checked message with `password`, whatever the
/// check found (the face decides whether to).
pub fn submit(
    profile: &Profile,
    state: &mut State,
    checked: Checked,
    password: &str,
    checkpoint: &mut dyn FnMut(Checkpoint<'_>),
) -> crate::Result<Submitted> {
    let Checked { draft, bytes, .. } = checked;
    let org_code = profile.account.org().org_code().to_string();
    let endpoint = profile.endpoint(&profile.settings.smtp)?;
    let mut session = SmtpSession::open(&endpoint, &profile.settings.id, password)
        .with_context(|| format!("SMTP at {}", profile.settings.smtp))?;
    session.check_size(bytes.len()).context("not sent")?;

    let number = state.reserve(&org_code, draft.kind, |serial| {
        // Cannot fail: the org is the account's own, and its seq plus nine digits is always a
        // valid serial (the candidate above was built the same way).
        number_for(profile, serial)
            .map(|n| n.to_string())
            .unwrap_or_default()
    })?;
    checkpoint(Checkpoint::Reserved(&number));
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
            Ok(match message {
                Message::DataDelete(m) => Submitted::Cancel {
                    number: number.to_string(),
                    cancels: m.cancel.to_string(),
                },
                Message::Upstream(m) => Submitted::Upstream {
                    unique: m.unique,
                    kind: m.kind,
                },
                _ => Submitted::Data(number.to_string()),
            })
        }
        Err(e) => {
            state.mark_sent(number.as_str(), Some(&e.to_string()))?;
            Err(anyhow::Error::new(e)
                .context(format!("{number} was reserved but not sent"))
                .into())
        }
    }
}
