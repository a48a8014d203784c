//! Enrolment (`kx setup`) and renewal (`kx renew`) of an office app: the key is made here and
//! never leaves; the society's CA issues the certificate through the server's request queue.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use clap::Args;
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::{KdfCost, Pin, seal_secret};
use kx_crypto::{
    Certificate, KeyKind, PrivateKey, TrustStore, certificate_request, check_office_certificate,
    parse_certificates, request_to_pem,
};
use kx_exchange::Code;
use kx_exchange::api::{
    CertificateRequest, Enrolment, PartyKind, RequestState, RequestStatus, RequestTicket, path,
};
use kx_exchange::settings::item;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::failure::{Failure, Later, Usage};
use super::http::Http;
use super::profile::{Config, ProfileDir};
use super::session::{Session, certificate_from};
use super::ui;

/// How long to wait for the society, and how often to ask.
#[derive(Args, Debug, Clone)]
pub(crate) struct WaitArgs {
    /// Seconds to wait for the society to issue the certificate; run the command again to keep
    /// waiting.
    #[arg(long = "wait", default_value_t = 600)]
    wait: u64,
    /// Seconds between polls.
    #[arg(long, default_value_t = 2.0, hide = true)]
    poll: f64,
}

/// `kx setup`.
#[derive(Args, Debug)]
pub(crate) struct SetupArgs {
    /// The KX server's URL (its bootstrap HTTPS listener), e.g. https://kx.example.
    #[arg(long, value_parser = super::http::https_url)]
    server: Option<String>,
    /// The CA certificate of the KX server's TLS certificate (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The login ID the society gave.
    #[arg(long)]
    id: Option<String>,
    /// The one-time enrolment code the society gave.
    #[arg(long)]
    code: Option<String>,
    /// Protect the key with a cheap key derivation: throw-away demo and test profiles only.
    #[arg(long, env = "KX_INSECURE_FAST_KDF", hide = true)]
    insecure_fast_kdf: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

/// A certificate request still waiting for the society (`enrolment.json`): a rerun of the
/// command resumes waiting instead of making another key.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    request: String,
    /// The key file the certificate will belong to.
    key_file: String,
    /// The settings to write once issued (setup only).
    config: Option<Config>,
}

/// The subject of an office's certificate request: its login ID, which the society checks
/// against the request's user.
pub(crate) fn office_subject(id: &str) -> String {
    format!("CN={id},O=KX Office")
}

/// The bootstrap (server-authenticated) client of a profile.
pub(crate) fn bootstrap(profile: &ProfileDir, server: &str) -> Result<Http> {
    Http::new(server, &profile.certificates("server-ca.pem")?, None)
}

/// `kx setup`: enrol (or resume waiting), then log in once.
pub(crate) fn setup(ctx: &Ctx, args: &SetupArgs) -> Result<()> {
    let profile = &ctx.profile;
    let lock = profile.lock()?;
    profile.ensure_new()?;
    let pending: Option<Pending> = profile.read_json("enrolment.json").ok();
    let (pending, pin) = match pending {
        Some(pending) => {
            eprintln!("Resuming the enrolment waiting for the society.");
            (pending, None)
        }
        None => {
            let (pending, pin) = start_enrolment(ctx, args)?;
            (pending, Some(pin))
        }
    };
    let config = pending
        .config
        .clone()
        .context("enrolment.json without settings")?;
    let client = bootstrap(profile, &config.server)?;
    let status = wait_for_certificate(profile, &client, &pending.request, &args.wait)?;
    let api_url = status
        .api_url
        .clone()
        .unwrap_or_else(|| config.api_url.clone());
    store_issued(profile, &status, &pending.key_file, "key.pem")?;
    profile.write_json("config.json", &Config { api_url, ..config })?;
    profile.remove("enrolment.json")?;
    println!("The society issued our certificate.");
    let pin = match pin {
        Some(pin) => pin,
        None => ctx.secrets.pin(item::PIN)?,
    };
    let mut session = Session::start(ctx, lock, pin)?;
    session.after_login()?;
    super::settings::replace_temporary_password(&mut session, ctx)?;
    println!(
        "Set up: office {} {} of {} {}, profile {}",
        session.who.party.number,
        session.who.party.name,
        session.who.society.number,
        session.who.society.name,
        profile.root().display()
    );
    Ok(())
}

/// The first run of `kx setup`: PIN, password, key, request.
fn start_enrolment(ctx: &Ctx, args: &SetupArgs) -> Result<(Pending, Pin)> {
    let missing = |what: &str| Usage(format!("kx setup needs --{what}"));
    let server = args.server.clone().ok_or_else(|| missing("server"))?;
    let ca = args.ca.as_ref().ok_or_else(|| missing("ca"))?;
    let id = args.id.clone().ok_or_else(|| missing("id"))?;
    let code = args.code.clone().ok_or_else(|| missing("code"))?;
    let profile = &ctx.profile;
    let server_ca = parse_certificates(
        &std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?,
    )?;
    profile.write_certificates("server-ca.pem", &server_ca)?;
    let pin = ctx.secrets.new_pin()?;
    let password = ctx.secrets.password("仮パスワード (temporary password)")?;
    if password.is_empty() {
        return Err(Failure::new(Code::E1001, &["パスワード"]).into());
    }
    let config = Config {
        kind: PartyKind::Office,
        server,
        api_url: String::new(),
        id: id.clone(),
        party: None,
        society: None,
        serial: 0,
        insecure_fast_kdf: args.insecure_fast_kdf,
    };
    let cost = config.kdf();
    profile.write(
        "password.enc",
        seal_secret(password.as_bytes(), &pin, cost)?.as_bytes(),
    )?;
    let key = fresh_key(profile, "key.new.pem", &pin, cost)?;
    let csr = request_to_pem(&certificate_request(&key, &office_subject(&id))?)?;
    let client = bootstrap(profile, &config.server)?;
    let ticket: RequestTicket = client.call(
        Method::POST,
        path::ENROLMENTS,
        &Enrolment {
            id,
            code,
            csr_pem: csr,
        },
    )?;
    tracing::info!("enrolment requested");
    let pending = Pending {
        request: ticket.request,
        key_file: "key.new.pem".into(),
        config: Some(config),
    };
    profile.write_json("enrolment.json", &pending)?;
    Ok((pending, pin))
}

/// A new P-256 key written under `pin` to `name` (replacing a leftover of an earlier attempt).
fn fresh_key(profile: &ProfileDir, name: &str, pin: &Pin, cost: KdfCost) -> Result<PrivateKey> {
    profile.remove(name)?;
    let key = PrivateKey::generate(KeyKind::P256)?;
    KeyFile::at(profile.file(name)).create(&key, pin, cost)?;
    Ok(key)
}

/// Polls the request until the society decides, with a spinner; refusal (by the society, or
/// by the server when the society did not decide in time) and timeout fail. A refused request
/// is forgotten with its key, so the next run starts anew (with a new code).
fn wait_for_certificate(
    profile: &ProfileDir,
    client: &Http,
    request: &str,
    wait: &WaitArgs,
) -> Result<RequestStatus> {
    let spinner = ui::spinner("Waiting for the society to issue the certificate…");
    let deadline = Instant::now() + Duration::from_secs(wait.wait);
    let result = loop {
        let status: RequestStatus = client.get(&format!("{}/{request}", path::ENROLMENTS))?;
        match status.state {
            RequestState::Issued => break Ok(status),
            RequestState::Refused => {
                profile.remove("enrolment.json")?;
                profile.remove("key.new.pem")?;
                break Err(Failure::new(Code::E0003, &[])
                    .detail(format!(
                        "the certificate request was refused: {}",
                        status.refused.unwrap_or_default()
                    ))
                    .into());
            }
            RequestState::Pending if Instant::now() >= deadline => {
                break Err(Later(
                    "the society has not issued the certificate yet: run the same command again later to keep waiting".into(),
                )
                .into());
            }
            RequestState::Pending => {
                std::thread::sleep(Duration::from_secs_f64(wait.poll.clamp(0.1, 60.0)));
            }
        }
    };
    spinner.finish_and_clear();
    result
}

/// Checks and stores what the society issued: our certificate (for the key in `key_file`,
/// chaining to the society CA), the CA and the society's certificates; the key becomes
/// `key_name`.
fn store_issued(
    profile: &ProfileDir,
    status: &RequestStatus,
    key_file: &str,
    key_name: &str,
) -> Result<()> {
    let pem = status
        .certificate_pem
        .as_deref()
        .context("issued without a certificate")?;
    let cert = certificate_from(pem, "certificate")?;
    let ca = match &status.society_ca_pem {
        Some(ca) => certificate_from(ca, "society CA")?,
        None => profile.certificate("society-ca.pem")?,
    };
    let trust = TrustStore::new(vec![ca.clone()]);
    let now = SystemTime::now();
    check_office_certificate(&cert, now).map_err(|code| Failure::new(Code::from(code), &[]))?;
    trust
        .check_signer(&cert, now)
        .map_err(|e| Failure::new(Code::E0003, &[]).detail(e))?;
    let mut society: Vec<Certificate> = Vec::new();
    for pem in &status.society_certificates {
        let c = certificate_from(pem, "society certificate")?;
        trust
            .check_signer(&c, now)
            .map_err(|e| Failure::new(Code::E8002, &[]).detail(e))?;
        society.push(c);
    }
    society.sort_by_key(|c| {
        std::cmp::Reverse(c.tbs_certificate.validity.not_after.to_unix_duration())
    });
    profile.write_certificates("society-ca.pem", &[ca])?;
    if !society.is_empty() {
        profile.write_certificates("society.pem", &society)?;
    }
    std::fs::rename(profile.file(key_file), profile.file(key_name))?;
    profile.write_certificates("cert.pem", &[cert])?;
    Ok(())
}

/// `kx renew`.
pub(crate) fn renew(ctx: &Ctx, wait: &WaitArgs) -> Result<()> {
    let session = Session::open(ctx)?;
    if session.config.kind != PartyKind::Office {
        return Err(Usage("a society renews with `kx society renew`".into()).into());
    }
    renew_with(&session, wait)
}

/// The renewal prompt's answer (§2.2).
pub(crate) fn renew_office(session: &Session) -> Result<()> {
    renew_with(
        session,
        &WaitArgs {
            wait: 600,
            poll: 2.0,
        },
    )
}

/// Renews: a new key, a request with the same subject over the session, the wait; the old key
/// moves to `old/` so files sealed for it still open.
fn renew_with(session: &Session, wait: &WaitArgs) -> Result<()> {
    let profile = &session.profile;
    let pending: Option<Pending> = profile.read_json("enrolment.json").ok();
    let pending = match pending {
        Some(p) => p,
        None => {
            let key = fresh_key(profile, "key.new.pem", &session.pin, session.config.kdf())?;
            let subject = session.cert.tbs_certificate.subject.to_string();
            let csr = request_to_pem(&certificate_request(&key, &subject)?)?;
            let ticket: RequestTicket = session.api.call(
                Method::POST,
                path::CERTIFICATE_REQUESTS,
                &CertificateRequest { csr_pem: csr },
            )?;
            let pending = Pending {
                request: ticket.request,
                key_file: "key.new.pem".into(),
                config: None,
            };
            profile.write_json("enrolment.json", &pending)?;
            pending
        }
    };
    let client = bootstrap(profile, &session.config.server)?;
    let status = wait_for_certificate(profile, &client, &pending.request, wait)?;
    profile.retire_current_key()?;
    store_issued(profile, &status, &pending.key_file, "key.pem")?;
    profile.remove("enrolment.json")?;
    session.forget_token()?;
    tracing::info!("certificate renewed");
    println!(
        "Renewed: the new certificate is in {}",
        profile.file("cert.pem").display()
    );
    Ok(())
}
