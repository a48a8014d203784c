//! Enrolment (`kx setup`) and renewal (`kx renew`) of an office app: the key is made here and
//! never leaves; the society's CA issues the certificate through the server's request queue.
//!
//! Enrolment runs in steps so that the face can ask for secrets in between: [`enrol`] makes the
//! key and the request (or [`pending_enrolment`] finds one waiting), [`wait_for_certificate`]
//! polls until the society decides, then the face opens a [`Session`] and replaces the
//! temporary password.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::{KdfCost, Pin, seal_secret};
use kx_crypto::{
    Certificate, KeyKind, PrivateKey, TrustStore, certificate_request, check_office_certificate,
    parse_certificates, request_to_pem,
};
use kx_exchange::Code;
use kx_exchange::api::{
    CertificateRequest, Enrolment as EnrolmentCall, PartyKind, RequestState, RequestStatus,
    RequestTicket, path,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::failure::Failure;
use super::http::Http;
use super::profile::{Config, ProfileDir, ProfileLock};
use super::session::{Session, certificate_from};
use crate::error::{Later, Usage};
use crate::progress::{Phase, Progress};

/// How long to wait for the society, and how often to ask.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// How long to wait for the society to issue the certificate; the same operation again
    /// keeps waiting.
    pub wait: Duration,
    /// The time between polls (clamped to 0.1–60 s).
    pub poll: Duration,
}

impl Default for WaitOptions {
    /// Ten minutes, polling every two seconds.
    fn default() -> WaitOptions {
        WaitOptions {
            wait: Duration::from_secs(600),
            poll: Duration::from_secs(2),
        }
    }
}

/// What an office enrols with: the society's one-time code for its login ID.
#[derive(Clone, Debug)]
pub struct EnrolmentRequest {
    server: String,
    server_ca: Vec<Certificate>,
    id: String,
    code: String,
    insecure_fast_kdf: bool,
}

impl EnrolmentRequest {
    /// Checks that the first run of a setup has everything (a usage error names what is
    /// missing) and reads the server's CA certificate, before any secret is asked.
    /// `insecure_fast_kdf` protects the key with a cheap key derivation: throw-away demo and
    /// test profiles only.
    pub fn new(
        server: Option<String>,
        ca: Option<&Path>,
        id: Option<String>,
        code: Option<String>,
        insecure_fast_kdf: bool,
    ) -> crate::Result<EnrolmentRequest> {
        let missing = |what: &str| Usage(format!("kx setup needs --{what}"));
        let server = server.ok_or_else(|| missing("server"))?;
        let ca = ca.ok_or_else(|| missing("ca"))?;
        let id = id.ok_or_else(|| missing("id"))?;
        let code = code.ok_or_else(|| missing("code"))?;
        let server_ca = parse_certificates(
            &std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?,
        )?;
        Ok(EnrolmentRequest {
            server,
            server_ca,
            id,
            code,
            insecure_fast_kdf,
        })
    }
}

/// A certificate request waiting for the society (`enrolment.json`): a rerun of the setup
/// resumes waiting instead of making another key.
#[derive(Debug, Serialize, Deserialize)]
pub struct Enrolment {
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

/// The enrolment waiting for the society, if an earlier setup of this (not yet set up)
/// profile requested one; the caller holds the profile's lock.
pub fn pending_enrolment(
    profile: &ProfileDir,
    _lock: &ProfileLock,
) -> crate::Result<Option<Enrolment>> {
    profile.ensure_new()?;
    Ok(profile.read_json("enrolment.json").ok())
}

/// The first step of a setup: the profile's key under the new `pin`, the society's temporary
/// `password` (E1001 when empty) kept under it, the certificate request with the one-time
/// code. The caller holds the profile's lock.
pub fn enrol(
    profile: &ProfileDir,
    _lock: &ProfileLock,
    request: &EnrolmentRequest,
    pin: &Pin,
    password: &str,
) -> crate::Result<Enrolment> {
    profile.ensure_new()?;
    if password.is_empty() {
        return Err(Failure::new(Code::E1001, &["パスワード"]).into());
    }
    profile.write_certificates("server-ca.pem", &request.server_ca)?;
    let config = Config {
        kind: PartyKind::Office,
        server: request.server.clone(),
        api_url: String::new(),
        id: request.id.clone(),
        party: None,
        society: None,
        serial: 0,
        insecure_fast_kdf: request.insecure_fast_kdf,
    };
    let cost = config.kdf();
    profile.write(
        "password.enc",
        seal_secret(password.as_bytes(), pin, cost)?.as_bytes(),
    )?;
    let key = fresh_key(profile, "key.new.pem", pin, cost)?;
    let csr = request_to_pem(&certificate_request(&key, &office_subject(&request.id))?)?;
    let client = bootstrap(profile, &config.server)?;
    let ticket: RequestTicket = client.call(
        Method::POST,
        path::ENROLMENTS,
        &EnrolmentCall {
            id: request.id.clone(),
            code: request.code.clone(),
            csr_pem: csr,
        },
    )?;
    tracing::info!("enrolment requested");
    let pending = Enrolment {
        request: ticket.request,
        key_file: "key.new.pem".into(),
        config: Some(config),
    };
    profile.write_json("enrolment.json", &pending)?;
    Ok(pending)
}

/// Waits for the society to issue the certificate of `enrolment` (refused: E0003; not in
/// time: [`crate::Error::Later`]), checks and keeps it; the profile is then set up and a
/// [`Session`] can be opened.
pub fn wait_for_certificate(
    profile: &ProfileDir,
    enrolment: &Enrolment,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> crate::Result<()> {
    let config = enrolment
        .config
        .clone()
        .context("enrolment.json without settings")?;
    let client = bootstrap(profile, &config.server)?;
    let status = wait_for(profile, &client, &enrolment.request, wait, progress)?;
    let api_url = status
        .api_url
        .clone()
        .unwrap_or_else(|| config.api_url.clone());
    store_issued(profile, &status, &enrolment.key_file, "key.pem")?;
    profile.write_json("config.json", &Config { api_url, ..config })?;
    profile.remove("enrolment.json")?;
    Ok(())
}

/// A new P-256 key written under `pin` to `name` (replacing a leftover of an earlier attempt).
fn fresh_key(profile: &ProfileDir, name: &str, pin: &Pin, cost: KdfCost) -> Result<PrivateKey> {
    profile.remove(name)?;
    let key = PrivateKey::generate(KeyKind::P256)?;
    KeyFile::at(profile.file(name)).create(&key, pin, cost)?;
    Ok(key)
}

/// Polls the request until the society decides; refusal (by the society, or
/// by the server when the society did not decide in time) and timeout fail. A refused request
/// is forgotten with its key, so the next run starts anew (with a new code).
fn wait_for(
    profile: &ProfileDir,
    client: &Http,
    request: &str,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> Result<RequestStatus> {
    progress.start(Phase::WaitingForCertificate, request, None);
    let deadline = Instant::now() + wait.wait;
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
                std::thread::sleep(
                    wait.poll
                        .clamp(Duration::from_millis(100), Duration::from_secs(60)),
                );
            }
        }
    };
    progress.finish();
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

/// Renews the office certificate: a new key, a request with the same subject over the
/// session, the wait; the old key moves to `old/` so files sealed for it still open. Returns
/// where the new certificate is.
pub fn renew_office(
    session: &Session,
    wait: &WaitOptions,
    progress: &dyn Progress,
) -> crate::Result<PathBuf> {
    if session.config.kind != PartyKind::Office {
        return Err(crate::Error::Usage(
            "a society renews with `kx society renew`".into(),
        ));
    }
    let profile = &session.profile;
    let pending: Option<Enrolment> = profile.read_json("enrolment.json").ok();
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
            let pending = Enrolment {
                request: ticket.request,
                key_file: "key.new.pem".into(),
                config: None,
            };
            profile.write_json("enrolment.json", &pending)?;
            pending
        }
    };
    let client = bootstrap(profile, &session.config.server)?;
    let status = wait_for(profile, &client, &pending.request, wait, progress)?;
    profile.retire_current_key()?;
    store_issued(profile, &status, &pending.key_file, "key.pem")?;
    profile.remove("enrolment.json")?;
    session.forget_token()?;
    tracing::info!("certificate renewed");
    Ok(profile.file("cert.pem"))
}
