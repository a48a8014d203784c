//! The health insurance society's server (健康保険組合サーバ): its own CA, the approval of
//! office certificate requests, pulling what offices sent, sending to offices, renewing its
//! certificate, and `serve`, which keeps doing all of that around an inbox and an outbox
//! directory.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::seal_secret;
use kx_crypto::{
    Certificate, CertificateAuthority, KeyKind, PrivateKey, Profile, PublicKey,
    certificate_request, certificate_to_pem, parse_certificates, request_from_pem_or_der,
};
use kx_exchange::Code;
use kx_exchange::api::{
    Decision, Function, InboxEntry, OfficeEntry, PartyKind, PendingRequest, PublishCertificate,
    SocietySetup, SocietySetupDone, path,
};
use reqwest::Method;

use super::Ctx;
use super::enrol::{bootstrap, office_subject};
use super::failure::{Failure, Reported, Usage};
use super::office::{print_inbox, result_failure};
use super::profile::Config;
use super::session::{Session, load_key};
use super::transfer;
use super::ui;

const DAY: Duration = Duration::from_secs(86_400);

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
    #[arg(long, value_parser = super::http::https_url)]
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
    #[arg(long, default_value_t = 3650)]
    ca_days: u32,
    /// Validity of the society certificate, in days.
    #[arg(long, default_value_t = 730)]
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
    #[arg(long, default_value_t = 730)]
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
    #[arg(long, default_value_t = 730)]
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
            transfer::check_files(Function::Attachments, office, files)?;
        }
        _ => {}
    }
    let mut session = Session::open(ctx)?;
    if session.config.kind != PartyKind::Society {
        return Err(Usage("this profile is an office app, not a society".into()).into());
    }
    match command {
        SocietyCommand::Setup(_) => Ok(()), // handled above
        SocietyCommand::Approve(args) => approve(&session, ctx, &args, false),
        SocietyCommand::Inbox { json } => {
            let entries: Vec<InboxEntry> = session.api.get(path::INBOX)?;
            print_inbox(&entries, json)
        }
        SocietyCommand::Pull { dir } => report(pull(&session, &dir, true)?),
        SocietyCommand::Send { office, files } => {
            let uploaded = send(&mut session, &office, &files, true)?;
            println!(
                "ok    {}  {}  {} bytes",
                uploaded.id, uploaded.name, uploaded.size
            );
            Ok(())
        }
        SocietyCommand::Renew => renew(&session),
        SocietyCommand::Serve(args) => serve(&mut session, ctx, &args),
    }
}

fn report(failed: usize) -> Result<()> {
    if failed > 0 {
        Err(Reported.into())
    } else {
        Ok(())
    }
}

/// `kx society setup`: the CA and the society certificate are made here; the server only
/// learns the certificates.
fn setup(ctx: &Ctx, args: &SetupArgs) -> Result<()> {
    let profile = &ctx.profile;
    let lock = profile.lock()?;
    profile.ensure_new()?;
    let server_ca = parse_certificates(
        &fs::read(&args.ca).with_context(|| format!("reading {}", args.ca.display()))?,
    )?;
    let pin = ctx.secrets.new_pin()?;
    let password = ctx.secrets.password("仮パスワード (temporary password)")?;
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
    profile.write_certificates("server-ca.pem", &server_ca)?;
    KeyFile::at(profile.file("ca-key.pem")).create(&ca_key, &pin, cost)?;
    KeyFile::at(profile.file("key.pem")).create(&key, &pin, cost)?;
    profile.write_certificates("society-ca.pem", std::slice::from_ref(ca.certificate()))?;
    profile.write_certificates("cert.pem", std::slice::from_ref(&cert))?;
    profile.write_certificates("society.pem", std::slice::from_ref(&cert))?;
    profile.write(
        "password.enc",
        seal_secret(password.as_bytes(), &pin, cost)?.as_bytes(),
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
    let mut session = Session::start(ctx, lock, pin)?;
    session.after_login()?;
    super::settings::replace_temporary_password(&mut session, ctx)?;
    println!(
        "Set up: society {} {}, profile {}",
        done.society.number,
        done.society.name,
        profile.root().display()
    );
    Ok(())
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

/// `kx society approve` (and `serve --approve` with `unattended`).
fn approve(session: &Session, ctx: &Ctx, args: &ApproveArgs, unattended: bool) -> Result<()> {
    let pending: Vec<PendingRequest> = session.api.get(path::SOCIETY_CERTIFICATE_REQUESTS)?;
    let chosen: Vec<&PendingRequest> = pending
        .iter()
        .filter(|r| args.requests.is_empty() || args.requests.contains(&r.request))
        .collect();
    if args.list || (!unattended && chosen.is_empty()) {
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
                super::office::when(r.created_at)
            );
        }
        return Ok(());
    }
    if let Some(reason) = &args.refuse {
        for r in chosen {
            let refusal = Decision {
                certificate_pem: None,
                refused: Some(reason.clone()),
            };
            decide(session, r, &refusal)?;
            println!(
                "refused {}  office {}: {reason}",
                r.request, r.office_number
            );
        }
        return Ok(());
    }
    let ca = authority(session)?;
    for r in chosen {
        let question = format!(
            "Issue a certificate ({:?}) for office {} {}, user {}?",
            r.kind, r.office_number, r.office_name, r.user_id
        );
        if !unattended && !ui::confirm(&question, args.all || ctx.yes)? {
            println!("skipped {}", r.request);
            continue;
        }
        let decision = match issue(&ca, r, args.days) {
            Ok(cert) => Decision {
                certificate_pem: Some(certificate_to_pem(&cert)?),
                refused: None,
            },
            Err(reason) => {
                println!(
                    "refused {}  office {}: {reason}",
                    r.request, r.office_number
                );
                Decision {
                    certificate_pem: None,
                    refused: Some(reason),
                }
            }
        };
        decide(session, r, &decision)?;
        if decision.certificate_pem.is_some() {
            println!(
                "issued {}  office {} {}  user {}",
                r.request, r.office_number, r.office_name, r.user_id
            );
            tracing::info!(office = %r.office_number, kind = ?r.kind, "certificate issued");
        }
    }
    Ok(())
}

/// Posts the society's decision on a request.
fn decide(session: &Session, r: &PendingRequest, decision: &Decision) -> Result<()> {
    session.api.call_empty(
        Method::POST,
        &format!("{}/{}", path::SOCIETY_CERTIFICATE_REQUESTS, r.request),
        Some(decision),
    )
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
/// only after it was durably written. Returns how many failed.
fn pull(session: &Session, dir: &Path, progress: bool) -> Result<usize> {
    let entries: Vec<InboxEntry> = session.api.get(path::INBOX)?;
    let mut failed = 0;
    for entry in &entries {
        let folder = entry
            .destination
            .as_deref()
            .filter(|d| !d.is_empty() && !d.contains(['/', '\\']) && !d.starts_with('.'))
            .unwrap_or("_");
        let result =
            transfer::receive(session, &entry.id, &entry.name, &dir.join(folder), progress)
                .and_then(|path| {
                    session
                        .api
                        .call_empty::<()>(
                            Method::DELETE,
                            &format!("{}/{}", path::FILES, entry.id),
                            None,
                        )
                        .map_err(|e| transfer::server_failure(e, "削除"))?;
                    Ok(path)
                });
        match result {
            Ok(path) => println!("ok    {}  {}  -> {}", entry.id, entry.name, path.display()),
            Err(err) => {
                failed += 1;
                result_failure(&entry.id, &entry.name, &err);
            }
        }
    }
    Ok(failed)
}

/// Sends `files` to office `number`, sealed for its current certificates (each checked to
/// chain to our CA: the server cannot slip in a key of its own).
fn send(
    session: &mut Session,
    number: &str,
    files: &[PathBuf],
    progress: bool,
) -> Result<kx_exchange::api::Uploaded> {
    let outgoing = transfer::check_files(Function::Attachments, number, files)?;
    let offices: Vec<OfficeEntry> = session.api.get(path::OFFICES)?;
    let office = offices
        .iter()
        .find(|o| o.number == number)
        .ok_or_else(|| Failure::new(Code::E8004, &[]))?;
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
    transfer::send(
        session,
        &recipients,
        &outgoing,
        number,
        number,
        Function::Attachments,
        progress,
    )
}

/// `kx society renew`: a new key and certificate from our CA, published; the old pair stays
/// in `old/` for files sealed for it.
pub(crate) fn renew(session: &Session) -> Result<()> {
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
    println!("Renewed and published the society certificate.");
    Ok(())
}

/// `kx society serve`: rounds of approve (optional), pull, send the outbox.
fn serve(session: &mut Session, ctx: &Ctx, args: &ServeArgs) -> Result<()> {
    let approve_args = ApproveArgs {
        all: true,
        requests: Vec::new(),
        days: args.days,
        list: false,
        refuse: None,
    };
    let mut session_over = false;
    loop {
        tracing::info!("serve round");
        if let Err(err) = session.keep_alive(std::mem::take(&mut session_over)) {
            eprintln!("login: {err:#}");
            tracing::warn!(error = %format!("{err:#}"), "login failed");
        }
        if args.approve
            && let Err(err) = approve(session, ctx, &approve_args, true)
        {
            session_over |= is_session_over(&err);
            eprintln!("approve: {err:#}");
            tracing::warn!(error = %format!("{err:#}"), "approve failed");
        }
        match pull(session, &args.inbox, false) {
            Ok(failed) if failed > 0 => tracing::warn!(failed, "pull had failures"),
            Ok(_) => {}
            Err(err) => {
                session_over |= is_session_over(&err);
                eprintln!("pull: {err:#}");
                tracing::warn!(error = %format!("{err:#}"), "pull failed");
            }
        }
        match send_outbox(session, &args.outbox) {
            Ok(over) => session_over |= over,
            Err(err) => {
                session_over |= is_session_over(&err);
                eprintln!("outbox: {err:#}");
                tracing::warn!(error = %format!("{err:#}"), "outbox failed");
            }
        }
        if args.once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

/// Whether the server ended the session (the next round logs in again).
fn is_session_over(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Failure>()
        .is_some_and(Failure::is_session_over)
}

/// Sends each file in `outbox/<office>/`, then moves it to `outbox/sent/<office>/` or, when
/// the file itself is refused (E2002–E2007, E8004 no such office), with a `.error` note to
/// `outbox/failed/<office>/`. Anything else (the session, the network, the server, a full
/// quota) leaves it in place for the next round. Returns whether the server ended the session.
fn send_outbox(session: &mut Session, outbox: &Path) -> Result<bool> {
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
            match send(session, &number, std::slice::from_ref(&file), false) {
                Ok(uploaded) => {
                    println!(
                        "sent  {number}/{name}  as {}  {}",
                        uploaded.name, uploaded.id
                    );
                    move_into(&file, &outbox.join("sent").join(&number), &name)?;
                }
                Err(err) if !refuses_the_file(&err) => {
                    session_over |= is_session_over(&err);
                    println!("retry {number}/{name}  {err}");
                    tracing::warn!(office = %number, code = code_of(&err), "outbox file left for the next round");
                }
                Err(err) => {
                    let note = match err.downcast_ref::<Failure>() {
                        Some(f) => format!("{f}\n{}\n", f.detail.clone().unwrap_or_default()),
                        None => format!(
                            "{} {}\n{err:#}\n",
                            Code::E9999.code(),
                            Code::E9999.japanese()
                        ),
                    };
                    println!(
                        "fail  {number}/{name}  {}",
                        note.lines().next().unwrap_or_default()
                    );
                    tracing::warn!(office = %number, "outbox file failed");
                    let failed = outbox.join("failed").join(&number);
                    let moved = move_into(&file, &failed, &name)?;
                    let mut error_name = moved.file_name().unwrap_or_default().to_os_string();
                    error_name.push(".error");
                    fs::write(failed.join(error_name), note)?;
                }
            }
        }
    }
    Ok(session_over)
}

/// The code of a failure, for the log (whose causes may name the user's files).
fn code_of(err: &anyhow::Error) -> &'static str {
    err.downcast_ref::<Failure>()
        .map_or(Code::E9999.code(), |f| f.code.code())
}

/// Whether a send failed because of the file or its address, not of the moment.
fn refuses_the_file(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Failure>()
        .is_some_and(|f| f.code.code().starts_with("E2") || f.code == Code::E8004)
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
