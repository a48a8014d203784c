//! The health insurance society's server (健康保険組合サーバ): its own CA, the approval of
//! office certificate requests, pulling what offices sent, sending to offices, renewing its
//! certificate, and `serve`, which keeps doing all of that around an inbox and an outbox
//! directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::{Pin, seal_secret};
use kx_crypto::{
    Certificate, CertificateAuthority, KeyKind, PrivateKey, Profile, PublicKey,
    certificate_request, certificate_to_pem, parse_certificates, request_from_pem_or_der,
};
use kx_exchange::Code;
use kx_exchange::api::{
    Decision, Function, InboxEntry, OfficeEntry, Party, PartyKind, PendingRequest,
    PublishCertificate, SocietySetup, SocietySetupDone, Uploaded, path,
};
use reqwest::Method;

use super::enrol::{bootstrap, office_subject};
use super::failure::Failure;
use super::office::{FileOutcome, remove};
use super::profile::{Config, ProfileDir, ProfileLock};
use super::serve_state::ServeState;
use super::session::{Session, load_key};
use super::transfer;
use crate::progress::{NoProgress, Progress};

const DAY: Duration = Duration::from_secs(86_400);

/// The validity of a society's CA, in days, unless chosen otherwise.
pub const CA_DAYS: u32 = 3650;
/// The validity of the society's certificate and of the office certificates it issues, in
/// days, unless chosen otherwise.
pub const CERTIFICATE_DAYS: u32 = 730;

/// What a society sets up with: the server, its one-time code, the validity of its CA and
/// certificate.
#[derive(Clone, Debug)]
pub struct SocietyEnrolment {
    server: String,
    server_ca: Vec<Certificate>,
    id: String,
    code: String,
    ca_days: u32,
    days: u32,
    insecure_fast_kdf: bool,
}

impl SocietyEnrolment {
    /// Reads the server's CA certificate (`ca`), before any secret is asked. The CA is valid
    /// `ca_days`, the society certificate `days`; `insecure_fast_kdf` protects the keys with a
    /// cheap key derivation (throw-away demo and test profiles only).
    pub fn new(
        server: String,
        ca: &Path,
        id: String,
        code: String,
        (ca_days, days): (u32, u32),
        insecure_fast_kdf: bool,
    ) -> crate::Result<SocietyEnrolment> {
        let server_ca = parse_certificates(
            &fs::read(ca).with_context(|| format!("reading {}", ca.display()))?,
        )?;
        Ok(SocietyEnrolment {
            server,
            server_ca,
            id,
            code,
            ca_days,
            days,
            insecure_fast_kdf,
        })
    }
}

/// Sets a society up: its CA, key and certificate are made here (the server only learns the
/// certificates) under the new `pin`, with the temporary `password` (E1001 when empty), and
/// registered with the one-time code. The caller holds the profile's lock; then it opens a
/// [`Session`] and replaces the temporary password. Returns the society.
pub fn setup_society(
    profile: &ProfileDir,
    _lock: &ProfileLock,
    args: &SocietyEnrolment,
    pin: &Pin,
    password: &str,
) -> crate::Result<Party> {
    profile.ensure_new()?;
    if password.is_empty() {
        return Err(Failure::new(Code::E1001, &["パスワード"]).into());
    }
    let mut config = Config {
        kind: PartyKind::Society,
        server: args.server.clone(),
        api_url: String::new(),
        id: args.id.clone(),
        party: None,
        society: None,
        serial: 0,
        insecure_fast_kdf: args.insecure_fast_kdf,
    };
    let cost = config.kdf();
    let now = SystemTime::now();
    let ca_key = PrivateKey::generate(KeyKind::P256)?;
    let ca = CertificateAuthority::create_root(
        ca_key.clone(),
        &format!("CN=KX Society CA {},O=KX Society", args.id),
        now,
        DAY * args.ca_days,
    )?;
    let key = PrivateKey::generate(KeyKind::P256)?;
    let request = certificate_request(&key, &society_subject(&args.id))?;
    let cert = ca.issue(&request, Profile::Society, now, DAY * args.days)?;
    // A rerun after a failed registration starts over: nothing here was registered.
    for name in ["ca-key.pem", "key.pem"] {
        profile.remove(name)?;
    }
    profile.write_certificates("server-ca.pem", &args.server_ca)?;
    KeyFile::at(profile.file("ca-key.pem")).create(&ca_key, pin, cost)?;
    KeyFile::at(profile.file("key.pem")).create(&key, pin, cost)?;
    profile.write_certificates("society-ca.pem", std::slice::from_ref(ca.certificate()))?;
    profile.write_certificates("cert.pem", std::slice::from_ref(&cert))?;
    profile.write_certificates("society.pem", std::slice::from_ref(&cert))?;
    profile.write(
        "password.enc",
        seal_secret(password.as_bytes(), pin, cost)?.as_bytes(),
    )?;
    let done: SocietySetupDone = bootstrap(profile, &config.server)?.call(
        Method::POST,
        path::SOCIETY_SETUP,
        &SocietySetup {
            id: args.id.clone(),
            code: args.code.clone(),
            ca_pem: certificate_to_pem(ca.certificate())?,
            certificate_pem: certificate_to_pem(&cert)?,
        },
    )?;
    config.api_url = done.api_url;
    config.party = Some(done.society.clone());
    config.society = Some(done.society.clone());
    profile.write_json("config.json", &config)?;
    tracing::info!(society = %done.society.number, "society set up");
    Ok(done.society)
}

/// The subject of the society's own certificates.
fn society_subject(id: &str) -> String {
    format!("CN={id},O=KX Society")
}

/// The society's CA, from its key under the PIN.
fn authority(session: &Session) -> Result<CertificateAuthority> {
    let key = load_key(&session.profile, "ca-key.pem", &session.pin)?;
    let cert = session.profile.certificate("society-ca.pem")?;
    Ok(CertificateAuthority::new(key, cert)?)
}

/// The certificate requests of offices waiting for the society (the server checked their
/// one-time codes).
pub fn pending_requests(session: &Session) -> crate::Result<Vec<PendingRequest>> {
    Ok(session.api.get(path::SOCIETY_CERTIFICATE_REQUESTS)?)
}

/// Refuses a request: its office app stops waiting with `reason`.
pub fn refuse(session: &Session, r: &PendingRequest, reason: &str) -> crate::Result<()> {
    let refusal = Decision {
        certificate_pem: None,
        refused: Some(reason.to_owned()),
    };
    decide(session, r, &refusal)
}

/// What the society decided on a request it approved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Approval {
    /// A certificate was issued.
    Issued,
    /// The request failed the checks (its subject, its key): refused with this reason.
    Refused(String),
}

/// Approves each request of `requests` that `confirm` agrees to (the others are skipped,
/// `None`): issues a certificate valid `days` when it passes the checks, refuses it
/// otherwise. The CA's key is opened once.
pub fn approve(
    session: &Session,
    requests: &[PendingRequest],
    days: u32,
    confirm: &mut dyn FnMut(&PendingRequest) -> crate::Result<bool>,
) -> crate::Result<Vec<(PendingRequest, Option<Approval>)>> {
    let ca = authority(session)?;
    let mut decided = Vec::new();
    for r in requests {
        if !confirm(r)? {
            decided.push((r.clone(), None));
            continue;
        }
        let (decision, approval) = match issue(&ca, r, days) {
            Ok(cert) => (
                Decision {
                    certificate_pem: Some(certificate_to_pem(&cert)?),
                    refused: None,
                },
                Approval::Issued,
            ),
            Err(reason) => (
                Decision {
                    certificate_pem: None,
                    refused: Some(reason.clone()),
                },
                Approval::Refused(reason),
            ),
        };
        decide(session, r, &decision)?;
        if approval == Approval::Issued {
            tracing::info!(office = %r.office_number, kind = ?r.kind, "certificate issued");
        }
        decided.push((r.clone(), Some(approval)));
    }
    Ok(decided)
}

/// Posts the society's decision on a request.
pub fn decide(session: &Session, r: &PendingRequest, decision: &Decision) -> crate::Result<()> {
    session.api.call_empty(
        Method::POST,
        &format!("{}/{}", path::SOCIETY_CERTIFICATE_REQUESTS, r.request),
        Some(decision),
    )?;
    Ok(())
}

/// The checks before signing a request: the subject is the requesting user's, the key is
/// P-256 or RSA of at least 2048 bits, the request's own signature verifies (`issue` checks).
fn issue(ca: &CertificateAuthority, r: &PendingRequest, days: u32) -> Result<Certificate, String> {
    let request = request_from_pem_or_der(r.csr_pem.as_bytes()).map_err(|e| e.to_string())?;
    let subject = request.info.subject.to_string();
    if subject != office_subject(&r.user_id) {
        return Err(format!("subject {subject:?} is not the requesting user's"));
    }
    match PublicKey::from_spki(&request.info.public_key).map_err(|e| e.to_string())? {
        PublicKey::P256(_) => {}
        PublicKey::Rsa(key) => {
            use rsa::traits::PublicKeyParts as _;
            if key.size() < 256 {
                return Err("RSA key shorter than 2048 bits".into());
            }
        }
    }
    ca.issue(&request, Profile::Office, SystemTime::now(), DAY * days)
        .map_err(|e| e.to_string())
}

/// Pulls everything in the inbox into `dir/<destination>/`; each file is deleted on the server
/// only after it was durably written.
pub fn pull(
    session: &Session,
    dir: &Path,
    progress: &dyn Progress,
) -> crate::Result<Vec<FileOutcome<PathBuf>>> {
    let entries: Vec<InboxEntry> = session.api.get(path::INBOX)?;
    let mut outcomes = Vec::new();
    for entry in entries {
        let folder = entry
            .destination
            .as_deref()
            .filter(|d| !d.is_empty() && !d.contains(['/', '\\']) && !d.starts_with('.'))
            .unwrap_or("_");
        let result =
            super::office::receive(session, &entry.id, &entry.name, &dir.join(folder), progress)
                .and_then(|path| {
                    remove(session, &entry.id, "削除")?;
                    Ok(path)
                });
        outcomes.push(FileOutcome {
            id: entry.id,
            name: entry.name,
            result,
        });
    }
    Ok(outcomes)
}

/// Sends `files` to office `number`, sealed for its current certificates (each checked to
/// chain to our CA: the server cannot slip in a key of its own). The files pass the rules
/// (E2002–E2007) first; an office unknown or without a valid certificate is E8004.
pub fn send_to_office(
    session: &mut Session,
    number: &str,
    files: &[PathBuf],
    progress: &dyn Progress,
) -> crate::Result<Uploaded> {
    let outgoing = transfer::check_files(Function::Attachments, number, files)?;
    let offices: Vec<OfficeEntry> = session.api.get(path::OFFICES)?;
    let office = offices.iter().find(|o| o.number == number).ok_or_else(|| {
        Failure::new(Code::E8004, &[]).detail(format!("no office numbered {number:?}"))
    })?;
    let trust = session.society_trust()?;
    let now = SystemTime::now();
    let mut recipients = Vec::new();
    for pem in &office.certificates {
        let cert = super::session::certificate_from(pem, "office certificate")?;
        if trust.check_signer(&cert, now).is_ok() {
            recipients.push(cert);
        }
    }
    if recipients.is_empty() {
        return Err(Failure::new(Code::E8004, &[])
            .detail(format!("office {number} has no valid certificate"))
            .into());
    }
    Ok(transfer::send(
        session,
        &recipients,
        &outgoing,
        number,
        number,
        Function::Attachments,
        progress,
    )?)
}

/// Renews the society certificate: a new key and certificate from our CA, published; the old
/// pair stays in `old/` for files sealed for it.
pub fn renew_society(session: &Session) -> crate::Result<()> {
    let profile = &session.profile;
    let ca = authority(session)?;
    let key = PrivateKey::generate(KeyKind::P256)?;
    let subject = session.cert.tbs_certificate.subject.to_string();
    let request = certificate_request(&key, &subject)?;
    let lifetime = DAY * 730;
    let cert = ca.renew(
        &session.cert,
        &request,
        Profile::Society,
        SystemTime::now(),
        lifetime,
    )?;
    session.api.call_empty(
        Method::POST,
        path::CERTIFICATES,
        Some(&PublishCertificate {
            certificate_pem: certificate_to_pem(&cert)?,
        }),
    )?;
    profile.retire_current_key()?;
    profile.remove("key.new.pem")?;
    KeyFile::at(profile.file("key.new.pem")).create(&key, &session.pin, session.config.kdf())?;
    fs::rename(profile.file("key.new.pem"), profile.file("key.pem"))?;
    profile.write_certificates("cert.pem", std::slice::from_ref(&cert))?;
    profile.write_certificates("society.pem", std::slice::from_ref(&cert))?;
    session.forget_token()?;
    tracing::info!("society certificate renewed");
    Ok(())
}

/// What `serve` does each round.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where pulled files go (`DIR/<destination>/<sealed name>`).
    pub inbox: PathBuf,
    /// Files dropped in `OUTBOX/<office number>/` are sent; then moved to `OUTBOX/sent/<office>/`
    /// (or `OUTBOX/failed/<office>/` with a `.error` note). Names starting with `.` are ignored.
    pub outbox: PathBuf,
    /// The time between rounds (at least a second).
    pub interval: Duration,
    /// Also approve pending certificate requests, with certificates valid this many days.
    pub approve_days: Option<u32>,
    /// One round, then return.
    pub once: bool,
}

/// What happened in a round of `serve`.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeEvent {
    /// A step of the round failed as a whole (`login`, `approve`, `pull`, `outbox`); the next
    /// round tries again.
    StepFailed {
        /// The step.
        step: &'static str,
        /// Why.
        error: crate::Error,
    },
    /// A certificate request was decided.
    Decided(PendingRequest, Approval),
    /// A file of the inbox was pulled, or failed to be.
    Pulled(FileOutcome<PathBuf>),
    /// A file of the outbox was sent (and moved to `sent/`).
    Sent {
        /// The office.
        office: String,
        /// The file's name in the outbox.
        name: String,
        /// What the server took.
        uploaded: Uploaded,
    },
    /// A file of the outbox could not be sent now (the session, the network, the server, a
    /// full quota) and stays for the next round.
    Retry {
        /// The office.
        office: String,
        /// The file's name in the outbox.
        name: String,
        /// Why, in one line.
        reason: String,
    },
    /// A file of the outbox was refused for itself (E2002–E2007, E8004 no such office) and
    /// moved to `failed/` beside a `.error` note.
    Refused {
        /// The office.
        office: String,
        /// The file's name in the outbox.
        name: String,
        /// The note's first line: the code and message.
        reason: String,
    },
}

/// Keeps approving (optional), pulling into the inbox and sending the outbox, round after
/// round, logging in again whenever the session ends; `events` hears of everything done.
/// Returns only with [`ServeOptions::once`].
pub fn serve(
    session: &mut Session,
    options: &ServeOptions,
    events: &mut dyn FnMut(ServeEvent),
) -> crate::Result<()> {
    // Counted as the events pass, written after each round.
    let state = std::cell::RefCell::new(ServeState::starting(options));
    let profile = session.profile.clone();
    let events = &mut |event: ServeEvent| {
        state.borrow_mut().count(&event);
        events(event);
    };
    let mut session_over = false;
    loop {
        tracing::info!("serve round");
        if let Err(err) = session.keep_alive(std::mem::take(&mut session_over)) {
            step_failed(events, "login", err.into());
        }
        if let Some(days) = options.approve_days {
            match pending_requests(session)
                .and_then(|pending| approve(session, &pending, days, &mut |_| Ok(true)))
            {
                Ok(decided) => decided
                    .into_iter()
                    .filter_map(|(r, approval)| Some(ServeEvent::Decided(r, approval?)))
                    .for_each(&mut *events),
                Err(err) => session_over |= step_failed(events, "approve", err),
            }
        }
        match pull(session, &options.inbox, &NoProgress) {
            Ok(pulled) => {
                let failures = pulled.iter().filter(|p| p.result.is_err()).count();
                if failures > 0 {
                    tracing::warn!(failed = failures, "pull had failures");
                }
                pulled
                    .into_iter()
                    .map(ServeEvent::Pulled)
                    .for_each(&mut *events);
            }
            Err(err) => session_over |= step_failed(events, "pull", err),
        }
        match send_outbox(session, &options.outbox, events) {
            Ok(over) => session_over |= over,
            Err(err) => session_over |= step_failed(events, "outbox", err.into()),
        }
        state.borrow_mut().round_done(&profile);
        if options.once {
            return Ok(());
        }
        std::thread::sleep(options.interval.max(Duration::from_secs(1)));
    }
}

/// Tells of a failed step of a round; returns whether the server ended the session.
fn step_failed(
    events: &mut dyn FnMut(ServeEvent),
    step: &'static str,
    error: crate::Error,
) -> bool {
    tracing::warn!(error = %error.cause_chain(), "{step} failed");
    let over = is_session_over(&error);
    events(ServeEvent::StepFailed { step, error });
    over
}

/// Whether the server ended the session (the next round logs in again).
fn is_session_over(err: &crate::Error) -> bool {
    matches!(err, crate::Error::Exchange(f) if f.is_session_over())
}

/// Sends each file in `outbox/<office>/`, then moves it to `outbox/sent/<office>/` or, when
/// the file itself is refused (E2002–E2007, E8004 no such office), with a `.error` note to
/// `outbox/failed/<office>/`. Anything else (the session, the network, the server, a full
/// quota) leaves it in place for the next round. Returns whether the server ended the session.
fn send_outbox(
    session: &mut Session,
    outbox: &Path,
    events: &mut dyn FnMut(ServeEvent),
) -> Result<bool> {
    let mut session_over = false;
    fs::create_dir_all(outbox)?;
    for office in fs::read_dir(outbox)? {
        let office = office?;
        let number = office.file_name().to_string_lossy().into_owned();
        if !office.file_type()?.is_dir()
            || matches!(number.as_str(), "sent" | "failed")
            || number.starts_with('.')
        {
            continue;
        }
        let mut files: Vec<PathBuf> = fs::read_dir(office.path())?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
        files.sort();
        for file in files {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match send_to_office(session, &number, std::slice::from_ref(&file), &NoProgress) {
                Ok(uploaded) => {
                    move_into(&file, &outbox.join("sent").join(&number), &name)?;
                    events(ServeEvent::Sent {
                        office: number.clone(),
                        name,
                        uploaded,
                    });
                }
                Err(err) if !refuses_the_file(&err) => {
                    session_over |= is_session_over(&err);
                    tracing::warn!(office = %number, code = code_of(&err), "outbox file left for the next round");
                    events(ServeEvent::Retry {
                        office: number.clone(),
                        name,
                        reason: err.cause_chain(),
                    });
                }
                Err(err) => {
                    let note = match &err {
                        crate::Error::Exchange(f) => format!(
                            "{f}\n{}\n{}\n対応方法: {}\nWhat to do: {}\n",
                            f.english,
                            f.detail.clone().unwrap_or_default(),
                            f.code.remedy(),
                            f.code.remedy_english()
                        ),
                        other => format!(
                            "{} {}\n{}\n{other:#}\n対応方法: {}\nWhat to do: {}\n",
                            Code::E9999.code(),
                            Code::E9999.japanese(),
                            Code::E9999.english(),
                            Code::E9999.remedy(),
                            Code::E9999.remedy_english()
                        ),
                    };
                    tracing::warn!(office = %number, "outbox file failed");
                    let failed = outbox.join("failed").join(&number);
                    let moved = move_into(&file, &failed, &name)?;
                    let mut error_name = moved.file_name().unwrap_or_default().to_os_string();
                    error_name.push(".error");
                    fs::write(failed.join(error_name), &note)?;
                    events(ServeEvent::Refused {
                        office: number.clone(),
                        name,
                        reason: note.lines().next().unwrap_or_default().to_owned(),
                    });
                }
            }
        }
    }
    Ok(session_over)
}

/// The code of a failure, for the log (whose causes may name the user's files).
fn code_of(err: &crate::Error) -> &'static str {
    match err {
        crate::Error::Exchange(f) => f.code.code(),
        _ => Code::E9999.code(),
    }
}

/// Whether a send failed because of the file or its address, not of the moment.
fn refuses_the_file(err: &crate::Error) -> bool {
    matches!(err, crate::Error::Exchange(f)
        if f.code.code().starts_with("E2") || f.code == Code::E8004)
}

/// Moves `file` into `dir` as `name` (with a time suffix if taken); returns the new path.
fn move_into(file: &Path, dir: &Path, name: &str) -> Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let mut target = dir.join(name);
    if target.exists() {
        target = dir.join(format!(
            "{name}.{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S%3f")
        ));
    }
    fs::rename(file, &target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kx_crypto::request_to_pem;
    use kx_exchange::api::RequestKind;

    fn pending(user: &str, subject: &str) -> Result<PendingRequest> {
        let key = PrivateKey::generate(KeyKind::P256)?;
        Ok(PendingRequest {
            request: "r1".into(),
            kind: RequestKind::Enrol,
            office_number: "00001".into(),
            office_name: "事業所".into(),
            user_id: user.into(),
            csr_pem: request_to_pem(&certificate_request(&key, subject)?)?,
            created_at: chrono::Utc::now(),
        })
    }

    #[test]
    fn only_requests_naming_their_user_are_signed() -> Result<()> {
        let now = SystemTime::now();
        let ca = CertificateAuthority::create_root(
            PrivateKey::generate(KeyKind::P256)?,
            "CN=Test CA",
            now,
            DAY * 10,
        )?;
        assert!(issue(&ca, &pending("office1", &office_subject("office1"))?, 5).is_ok());
        let other = issue(&ca, &pending("office1", &office_subject("office2"))?, 5);
        assert!(other.is_err_and(|reason| reason.contains("not the requesting user's")));
        let mut garbage = pending("office1", &office_subject("office1"))?;
        garbage.csr_pem = "not a request".into();
        assert!(issue(&ca, &garbage, 5).is_err());
        Ok(())
    }
}
