//! An operation's session with the KX server: the profile's lock (E0001), the PIN, our key and
//! certificate (E3002 when it expired), the mutual-TLS client, the login (cached token, E0002),
//! and the notices of a fresh login: the update notice, the society's latest certificate
//! (E3001/E3003) and the renewal due (§2.2).

use std::time::SystemTime;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeDelta, Utc};
use kx_crypto::keystore::file::KeyFile;
use kx_crypto::keystore::{Pin, open_secret};
use kx_crypto::{
    Certificate, PrivateKey, TrustStore, certificate_from_pem_or_der, check_office_certificate,
    check_society_certificate, days_left, renewal_due,
};
use kx_exchange::Code;
use kx_exchange::api::{self, AppVersion, Certificates, Login, Party, PartyKind, User, path};
use kx_exchange::settings::item;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::failure::Failure;
use super::http::Http;
use super::profile::{Config, ProfileDir, ProfileLock};

/// The server forgets an idle session after 30 minutes and any session after 12 hours; the
/// app stops reusing its token a little earlier so a command does not start on a dying one.
const IDLE_REUSE: TimeDelta = TimeDelta::minutes(25);
const ABSOLUTE_REUSE: TimeDelta = TimeDelta::hours(11);

/// The session token and whom it belongs to, cached in `session.json` (0600).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Cached {
    token: String,
    /// SHA-256 of the certificate the token is bound to.
    certificate: String,
    /// Ourselves.
    pub(crate) party: Party,
    /// Our society.
    pub(crate) society: Party,
    /// The user logged in.
    pub(crate) user: User,
    /// Whether the password is still the society's temporary one.
    pub(crate) must_change_password: bool,
    logged_in_at: DateTime<Utc>,
    last_used: DateTime<Utc>,
}

/// What a fresh login has to tell the user (§2.2), in the order it was found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// The society published a newer app version than this build.
    UpdateAvailable {
        /// The published version.
        version: String,
        /// This build's version.
        current: &'static str,
        /// The release notes.
        notes: String,
        /// Where to get it.
        url: String,
    },
    /// The society certificate we held expired (E3001) or was superseded (E3003); the latest
    /// was fetched and checked.
    SocietyCertificateReplaced(Code),
    /// Our certificate expires in `days_left` days: renew it (電子証明書の更新) with
    /// [`super::renew_office`] or [`super::renew_society`].
    RenewalDue {
        /// Whole days left.
        days_left: i64,
    },
}

/// An open session.
pub struct Session {
    /// The profile.
    pub(crate) profile: ProfileDir,
    /// Its settings.
    pub(crate) config: Config,
    /// The PIN, kept for the keys a renewal retired and for re-encrypting.
    pub(crate) pin: Pin,
    /// Our current key.
    pub(crate) key: PrivateKey,
    /// Our current certificate.
    pub(crate) cert: Certificate,
    /// The api listener, logged in.
    pub(crate) api: Http,
    /// Who we are logged in as.
    pub(crate) who: Cached,
    _lock: ProfileLock,
}

/// A wrong PIN is the manual's E1002 (PINが一致しません。).
pub(crate) fn load_key(profile: &ProfileDir, name: &str, pin: &Pin) -> Result<PrivateKey> {
    KeyFile::at(profile.file(name))
        .load(pin)
        .map_err(|err| match err {
            kx_crypto::Error::WrongPin => Failure::new(Code::E1002, &[item::PIN]).into(),
            other => anyhow::Error::from(other).context(format!("loading {name}")),
        })
}

/// SHA-256 of a certificate's DER, lower-case hex.
pub(crate) fn fingerprint(cert: &Certificate) -> Result<String> {
    let der = der::Encode::to_der(cert)?;
    Ok(Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Session {
    /// Opens a session with the profile's lock held and the PIN the user gave: key, login,
    /// certificate checks; the notices of the login come with it.
    pub fn open(
        profile: &ProfileDir,
        lock: ProfileLock,
        pin: Pin,
    ) -> crate::Result<(Session, Vec<Notice>)> {
        let session = Session::start_as(profile, lock, pin, None)?;
        let notices = session.after_login()?;
        Ok((session, notices))
    }

    /// Opens a session for a password change: when the server refuses the stored password
    /// (the society reset it and no session is cached), logs in with `current`, the one the
    /// user typed, so that a reset password can still be replaced.
    pub fn open_to_change_password(
        profile: &ProfileDir,
        lock: ProfileLock,
        pin: Pin,
        current: &str,
    ) -> crate::Result<(Session, Vec<Notice>)> {
        let session = Session::start_as(profile, lock, pin, Some(current))?;
        let notices = session.after_login()?;
        Ok((session, notices))
    }

    /// The profile.
    pub fn profile(&self) -> &ProfileDir {
        &self.profile
    }

    /// Whether this profile is an office app or a society.
    pub fn kind(&self) -> PartyKind {
        self.config.kind
    }

    /// Ourselves, as the server knows us.
    pub fn party(&self) -> &Party {
        &self.who.party
    }

    /// Our society.
    pub fn society(&self) -> &Party {
        &self.who.society
    }

    /// The user logged in: name, code and mail address as last known (設定変更 shows them).
    pub fn user(&self) -> &User {
        &self.who.user
    }

    /// Whether the server ended this session (idle or absolute end, another address, another
    /// certificate): the app asks for the PIN again, the way it began.
    pub fn ended_by_server(&self) -> bool {
        self.api.session_ended()
    }

    /// Whether the password is still the society's temporary one: the server allows only the
    /// password change ([`super::change_password`]) and logout until it is replaced.
    pub fn must_change_password(&self) -> bool {
        self.who.must_change_password
    }

    /// The server password kept in the profile (the current one for a change).
    pub fn stored_password(&self) -> crate::Result<Zeroizing<String>> {
        Ok(stored_password(&self.profile, &self.pin)?)
    }

    fn start_as(
        profile: &ProfileDir,
        lock: ProfileLock,
        pin: Pin,
        fallback: Option<&str>,
    ) -> Result<Session> {
        let profile = profile.clone();
        let config = profile.config()?;
        let key = load_key(&profile, "key.pem", &pin)?;
        let cert = profile.certificate("cert.pem")?;
        check_office_certificate(&cert, SystemTime::now())
            .map_err(|code| Failure::new(Code::from(code), &[]))?;
        let server_ca = profile.certificates("server-ca.pem")?;
        let mut api = Http::new(&config.api_url, &server_ca, Some((&cert, &key)))?;
        let fingerprint = fingerprint(&cert)?;
        let who = match resume(&profile, &mut api, &fingerprint)? {
            Some(who) => who,
            None => {
                let stored = stored_password(&profile, &pin)?;
                match (
                    login(&profile, &config, &mut api, &stored, &fingerprint),
                    fallback,
                ) {
                    (Err(err), Some(typed)) if refused_password(&err) => {
                        login(&profile, &config, &mut api, typed, &fingerprint)?
                    }
                    (result, _) => result?,
                }
            }
        };
        tracing::info!(party = %who.party.number, kind = ?config.kind, "session open");
        let mut session = Session {
            profile,
            config,
            pin,
            key,
            cert,
            api,
            who,
            _lock: lock,
        };
        session.remember_party()?;
        Ok(session)
    }

    /// The notices of a fresh session (§2.2): update, the society's latest certificate, our
    /// certificate's renewal.
    fn after_login(&self) -> Result<Vec<Notice>> {
        let mut notices: Vec<Notice> = self.update_notice().into_iter().collect();
        notices.extend(self.refresh_society_certificates()?);
        let now = SystemTime::now();
        if renewal_due(&self.cert, now) {
            notices.push(Notice::RenewalDue {
                days_left: days_left(&self.cert, now),
            });
        }
        Ok(notices)
    }

    /// Keeps the party names of the login in the profile (sealed names need the numbers).
    fn remember_party(&mut self) -> Result<()> {
        if self.config.party.as_ref() != Some(&self.who.party)
            || self.config.society.as_ref() != Some(&self.who.society)
        {
            self.config.party = Some(self.who.party.clone());
            self.config.society = Some(self.who.society.clone());
            self.profile.write_json("config.json", &self.config)?;
        }
        Ok(())
    }

    /// The notice of a newer app version than this build, if the society published one.
    fn update_notice(&self) -> Option<Notice> {
        let published = self.api.get::<AppVersion>(path::APP_VERSION).ok()?;
        newer(&published.version, env!("CARGO_PKG_VERSION")).then_some(Notice::UpdateAvailable {
            version: published.version,
            current: env!("CARGO_PKG_VERSION"),
            notes: published.notes,
            url: published.url,
        })
    }

    /// Fetches the society's certificates and keeps the latest (§2.2): a held certificate that
    /// expired (E3001) or was superseded (E3003) is replaced, after checking that the new one
    /// chains to the society CA we enrolled with.
    fn refresh_society_certificates(&self) -> Result<Option<Notice>> {
        let published: Certificates = self.api.get(path::CERTIFICATES)?;
        if self.config.kind == PartyKind::Society {
            return Ok(None);
        }
        let now = SystemTime::now();
        let trust = self.society_trust()?;
        let mut current = Vec::new();
        for entry in published.society.iter().filter(|e| e.current) {
            let cert = certificate_from_pem_or_der(entry.pem.as_bytes())?;
            trust.check_signer(&cert, now).map_err(|err| {
                Failure::new(Code::E8002, &[]).detail(format!(
                    "the society certificate the server published: {err}"
                ))
            })?;
            current.push((entry.not_after, cert));
        }
        current.sort_by_key(|(not_after, _)| std::cmp::Reverse(*not_after));
        let Some((_, latest)) = current.first() else {
            return Err(Failure::new(Code::E9998, &[])
                .detail("the server publishes no current society certificate")
                .into());
        };
        // None held yet (the enrolment answer carried none): take the published ones.
        let held = self.profile.certificates("society.pem").unwrap_or_default();
        let outdated = match held.first() {
            None => None,
            Some(held) => check_society_certificate(held, latest, now).err(),
        };
        let outdated = outdated.map(Code::from);
        if held.is_empty() || outdated.is_some() {
            if let Some(code) = outdated {
                tracing::info!(code = code.code(), "society certificate updated");
            }
            let certs: Vec<Certificate> = current.into_iter().map(|(_, c)| c).collect();
            self.profile.write_certificates("society.pem", &certs)?;
        }
        Ok(outdated.map(Notice::SocietyCertificateReplaced))
    }

    /// The society's CA as a trust store: what every exchange signer must chain to.
    pub(crate) fn society_trust(&self) -> Result<TrustStore> {
        Ok(TrustStore::new(
            self.profile.certificates("society-ca.pem")?,
        ))
    }

    /// The next sealed-file name for a send to `office` (our own number when we are one).
    pub(crate) fn next_sealed_name(&mut self, office: &str) -> Result<String> {
        self.config.serial = self.config.serial.wrapping_add(1) % 100_000;
        self.profile.write_json("config.json", &self.config)?;
        Ok(kx_exchange::sealed_name(
            self.config.kind,
            &self.who.society.number,
            office,
            self.config.serial,
            Utc::now(),
        ))
    }

    /// Our keys and certificates, current first, then those a renewal retired: files sealed
    /// before a renewal were encrypted for the old key.
    pub(crate) fn receivers(&self) -> Result<Vec<(PrivateKey, Certificate)>> {
        let mut out = vec![(self.key.clone(), self.cert.clone())];
        for dir in self.profile.old_generations()? {
            let key = KeyFile::at(dir.join("key.pem")).load(&self.pin)?;
            let cert = kx_crypto::parse_certificates(&std::fs::read(dir.join("cert.pem"))?)?;
            if let Some(cert) = cert.into_iter().next() {
                out.push((key, cert));
            }
        }
        Ok(out)
    }

    /// Logs in again when the session is near its idle or absolute end, or `over` says the
    /// server ended it: a long-running `kx society serve` outlives any one session.
    pub(crate) fn keep_alive(&mut self, over: bool) -> Result<()> {
        let now = Utc::now();
        if over
            || now - self.who.last_used > IDLE_REUSE
            || now - self.who.logged_in_at > ABSOLUTE_REUSE
        {
            let fingerprint = fingerprint(&self.cert)?;
            let password = stored_password(&self.profile, &self.pin)?;
            self.who = login(
                &self.profile,
                &self.config,
                &mut self.api,
                &password,
                &fingerprint,
            )?;
        } else {
            self.who.last_used = now;
        }
        Ok(())
    }

    /// Forgets the cached token (after logout or a renewal).
    pub(crate) fn forget_token(&self) -> Result<()> {
        self.profile.remove("session.json")
    }

    /// Records the user's name, code and mail address as the server now has them.
    pub(crate) fn user_changed(&mut self, user: User) -> Result<()> {
        self.who.user = user;
        self.profile.write_json("session.json", &self.who)
    }

    /// Records that the password is our own now: the server lets the same session do
    /// everything from the change on, so its token stays cached.
    pub(crate) fn password_changed(&mut self) -> Result<()> {
        self.who.must_change_password = false;
        self.profile.write_json("session.json", &self.who)
    }
}

/// The cached session, if it is still usable: checked with one cheap call.
fn resume(profile: &ProfileDir, api: &mut Http, fingerprint: &str) -> Result<Option<Cached>> {
    let Ok(mut cached) = profile.read_json::<Cached>("session.json") else {
        return Ok(None);
    };
    let now = Utc::now();
    if cached.certificate != fingerprint
        || now - cached.last_used > IDLE_REUSE
        || now - cached.logged_in_at > ABSOLUTE_REUSE
    {
        return Ok(None);
    }
    api.set_token(Some(cached.token.clone()));
    match api.get::<Certificates>(path::CERTIFICATES) {
        Ok(_) => {}
        Err(err)
            if err
                .downcast_ref::<Failure>()
                .is_some_and(Failure::is_session_over) =>
        {
            api.set_token(None);
            return Ok(None);
        }
        Err(err) => return Err(err),
    }
    cached.last_used = now;
    profile.write_json("session.json", &cached)?;
    Ok(Some(cached))
}

/// The server password kept in the profile under the PIN (E1002 when the PIN is wrong).
pub(crate) fn stored_password(profile: &ProfileDir, pin: &Pin) -> Result<Zeroizing<String>> {
    let sealed = std::fs::read_to_string(profile.file("password.enc"))
        .context("reading the stored password")?;
    let password =
        open_secret(&sealed, pin).map_err(|_| Failure::new(Code::E1002, &[item::PIN]))?;
    Ok(Zeroizing::new(
        String::from_utf8(password.to_vec()).context("the stored password")?,
    ))
}

/// Whether the login failed because the server refused the password itself.
fn refused_password(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Failure>()
        .is_some_and(|f| f.reason.as_deref() == Some(api::WRONG_PASSWORD))
}

/// Logs in with `password` (E0002 when the server refuses it).
fn login(
    profile: &ProfileDir,
    config: &Config,
    api: &mut Http,
    password: &str,
    fingerprint: &str,
) -> Result<Cached> {
    api.set_token(None);
    let answer: api::Session = api.call(
        Method::POST,
        path::SESSION,
        &Login {
            id: config.id.clone(),
            password: password.to_owned(),
        },
    )?;
    api.set_token(Some(answer.token.clone()));
    let now = Utc::now();
    let cached = Cached {
        token: answer.token,
        certificate: fingerprint.to_owned(),
        party: answer.party,
        society: answer.society,
        user: answer.user,
        must_change_password: answer.must_change_password,
        logged_in_at: now,
        last_used: now,
    };
    profile.write_json("session.json", &cached)?;
    tracing::info!("logged in");
    Ok(cached)
}

/// Whether version `a` is newer than `b` (dot-separated numbers; anything else compares as 0).
fn newer(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    parts(a) > parts(b)
}

/// Reads the PEM certificate the server sent, as a usage of `what`.
pub(crate) fn certificate_from(pem: &str, what: &str) -> Result<Certificate> {
    certificate_from_pem_or_der(pem.as_bytes())
        .with_context(|| format!("the {what} the server sent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(newer("0.10.0", "0.9.3"));
        assert!(newer("1.0.0", "0.1.0"));
        assert!(!newer("0.1.0", "0.1.0"));
        assert!(!newer("0.0.9", "0.1.0"));
    }
}
