//! The wire types of the KX server's HTTPS API (`/api/v1`), shared by `kxd` and `kx` so both
//! sides read and write the same JSON. `docs/api/openapi.yaml` documents the same routes.
//!
//! Two listeners serve them: the *bootstrap* routes ([`path::ENROLMENTS`],
//! [`path::SOCIETY_SETUP`], [`path::APP_VERSION`]) on the server-authenticated `https`
//! listener, for parties that have no certificate yet; every other route on the `api`
//! listener, which requires a client certificate issued by a registered society's CA.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::code::Code;

/// The route paths.
pub mod path {
    /// `POST` login (→ [`super::Session`]), `DELETE` logout.
    pub const SESSION: &str = "/api/v1/session";
    /// `POST` [`super::PasswordChange`].
    pub const PASSWORD: &str = "/api/v1/password";
    /// `PUT` [`super::ProfileUpdate`] (→ [`super::User`]).
    pub const PROFILE: &str = "/api/v1/profile";
    /// `GET` an office's destinations (→ `Vec<`[`super::Destination`]`>`).
    pub const DESTINATIONS: &str = "/api/v1/destinations";
    /// `GET` a society's offices (→ `Vec<`[`super::OfficeEntry`]`>`).
    pub const OFFICES: &str = "/api/v1/offices";
    /// `GET` [`super::Certificates`]; a society `POST`s [`super::PublishCertificate`].
    pub const CERTIFICATES: &str = "/api/v1/certificates";
    /// An office `POST`s a renewal [`super::CertificateRequest`] (→ [`super::RequestTicket`]).
    pub const CERTIFICATE_REQUESTS: &str = "/api/v1/certificate-requests";
    /// A society `GET`s the pending `Vec<`[`super::PendingRequest`]`>`, and `POST`s a
    /// [`super::Decision`] to `…/{request}`.
    pub const SOCIETY_CERTIFICATE_REQUESTS: &str = "/api/v1/society/certificate-requests";
    /// `POST` a sealed file with [`super::UploadQuery`] (→ [`super::Uploaded`]); `GET` or
    /// `DELETE` `…/{id}`.
    pub const FILES: &str = "/api/v1/files";
    /// `GET` → `Vec<`[`super::InboxEntry`]`>`.
    pub const INBOX: &str = "/api/v1/inbox";
    /// `GET` → `Vec<`[`super::HistoryEntry`]`>`.
    pub const HISTORY: &str = "/api/v1/history";
    /// `GET` with [`super::SentQuery`] → `Vec<`[`super::SentEntry`]`>`.
    pub const SENT: &str = "/api/v1/sent";
    /// `GET` → [`super::AppVersion`] (bootstrap listener, and the api listener).
    pub const APP_VERSION: &str = "/api/v1/app-version";
    /// `POST` [`super::Enrolment`] (→ [`super::RequestTicket`]); `GET` `…/{request}` →
    /// [`super::RequestStatus`] (bootstrap listener).
    pub const ENROLMENTS: &str = "/api/v1/enrolments";
    /// `POST` [`super::SocietySetup`] → [`super::SocietySetupDone`] (bootstrap listener).
    pub const SOCIETY_SETUP: &str = "/api/v1/society-setup";
}

/// The media type of a sealed file (CMS, DER).
pub const SEALED_MEDIA_TYPE: &str = "application/pkcs7-mime";

/// Which side of the exchange a party is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartyKind {
    /// An office (事業所).
    Office,
    /// A health insurance society (健康保険組合).
    Society,
}

/// A party as the other side sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// Office or society.
    pub kind: PartyKind,
    /// The society's insurer number, or the office's number within its society.
    pub number: String,
    /// The display name.
    pub name: String,
}

/// A user of a party, as shown in the settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The login ID.
    pub id: String,
    /// The user name (full-width).
    pub name: String,
    /// The user code the society assigned, if any.
    pub code: String,
    /// Where notification mails go; empty for none.
    pub mail: String,
}

/// `POST /session`: the login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Login {
    /// The login ID.
    pub id: String,
    /// The password.
    pub password: String,
}

/// The answer to a login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token; valid only from the login's source address with the login's
    /// certificate.
    pub token: String,
    /// The party whose certificate and user logged in.
    pub party: Party,
    /// The society the party belongs to (itself for a society).
    pub society: Party,
    /// The user.
    pub user: User,
    /// True while the password is the temporary one the society gave: until it is changed,
    /// the session gets [`PASSWORD_CHANGE_REQUIRED`] on every route but a few.
    pub must_change_password: bool,
    /// The published app version, if any.
    pub app_version: Option<AppVersion>,
}

/// `POST /password`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new password.
    pub new: String,
    /// The new password again.
    pub confirm: String,
}

/// `PUT /profile`: user name, user code and mail address (§5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUpdate {
    /// The user name, full-width.
    pub name: String,
    /// The user code.
    pub code: String,
    /// The mail address for notifications, half-width.
    pub mail: String,
}

/// A destination (送信先) of a society, chosen by nickname.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// The nickname, e.g. `給付課`.
    pub nickname: String,
}

/// An office as its society sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OfficeEntry {
    /// The office number.
    pub number: String,
    /// The office name.
    pub name: String,
    /// The office's current certificates (PEM): seal for each of them.
    pub certificates: Vec<String>,
}

/// A published certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertificateEntry {
    /// The certificate, PEM.
    pub pem: String,
    /// SHA-256 of its DER, lower-case hex.
    pub fingerprint: String,
    /// When it expires.
    pub not_after: DateTime<Utc>,
    /// False once superseded by a renewal.
    pub current: bool,
}

/// `GET /certificates`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Certificates {
    /// The society's CA certificate, PEM: the trust anchor of every exchange certificate.
    pub society_ca_pem: String,
    /// The society's certificates, the current ones marked.
    pub society: Vec<CertificateEntry>,
    /// The caller's own current certificate.
    pub own: Option<CertificateEntry>,
}

/// `POST /certificates`: a society publishes its renewed certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishCertificate {
    /// The new certificate, PEM, issued by the society's CA.
    pub certificate_pem: String,
}

/// `POST /certificate-requests`: an office asks for a renewed certificate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CertificateRequest {
    /// The PKCS#10 request, PEM; its key never left the office.
    pub csr_pem: String,
}

/// `POST /enrolments`: an office app enrols with the one-time code (bootstrap listener).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrolment {
    /// The login ID the code was issued for.
    pub id: String,
    /// The one-time enrolment code.
    pub code: String,
    /// The PKCS#10 request, PEM.
    pub csr_pem: String,
}

/// The handle of a queued certificate request: a capability, so keep it private.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestTicket {
    /// The request's random identifier.
    pub request: String,
}

/// What became of a certificate request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestState {
    /// Waiting for the society.
    Pending,
    /// The society issued the certificate.
    Issued,
    /// The society refused, or did not decide within the server's limit and the request
    /// expired ([`RequestStatus::refused`] says which, and what to do).
    Refused,
}

/// `GET /enrolments/{request}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RequestStatus {
    /// Where the request stands.
    pub state: RequestState,
    /// The issued certificate, PEM.
    pub certificate_pem: Option<String>,
    /// The society's CA certificate, PEM (once issued).
    pub society_ca_pem: Option<String>,
    /// The society's current certificates, PEM (once issued).
    #[serde(default)]
    pub society_certificates: Vec<String>,
    /// The URL of the api listener (once issued).
    pub api_url: Option<String>,
    /// Why it was refused: the society's reason, or `expired: …` with what to do next.
    pub refused: Option<String>,
}

/// Why a certificate is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    /// First enrolment of an office app.
    Enrol,
    /// Renewal of a certificate about to expire.
    Renew,
}

/// A request waiting for the society's decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request's identifier.
    pub request: String,
    /// Enrolment or renewal.
    pub kind: RequestKind,
    /// The office asking.
    pub office_number: String,
    /// Its name.
    pub office_name: String,
    /// The user whose app made the key.
    pub user_id: String,
    /// The PKCS#10 request, PEM.
    pub csr_pem: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// The society's decision on a request: exactly one of the two fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Decision {
    /// The certificate issued, PEM.
    pub certificate_pem: Option<String>,
    /// Why it is refused.
    pub refused: Option<String>,
}

/// `POST /society-setup`: a society registers its CA and certificate (bootstrap listener).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SocietySetup {
    /// The society user's login ID.
    pub id: String,
    /// The one-time setup code.
    pub code: String,
    /// The society's CA certificate, PEM.
    pub ca_pem: String,
    /// The society's own certificate, PEM, issued by that CA: it logs in with it and offices
    /// seal for it.
    pub certificate_pem: String,
}

/// The answer to a society setup.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SocietySetupDone {
    /// The society.
    pub society: Party,
    /// The URL of the api listener.
    pub api_url: String,
}

/// The two send functions (§4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Function {
    /// 電子申請: `KPFD.CSV` only.
    #[serde(rename = "e-application")]
    EApplication,
    /// 電子申請以外: attachment documents.
    #[serde(rename = "attachments")]
    Attachments,
}

impl Function {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::EApplication => "e-application",
            Function::Attachments => "attachments",
        }
    }
}

/// The query of `POST /files`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadQuery {
    /// An office sends to a destination nickname, a society to an office number.
    pub to: String,
    /// The send function.
    pub function: Function,
    /// The sealed file's name ([`crate::sealed_name`]).
    pub name: String,
}

/// The answer to an upload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Uploaded {
    /// The file's identifier.
    pub id: String,
    /// The sealed file's name.
    pub name: String,
    /// Sealed bytes stored.
    pub size: u64,
    /// When the server committed it.
    pub sent_at: DateTime<Utc>,
}

/// A file waiting to be received.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InboxEntry {
    /// The file's identifier.
    pub id: String,
    /// The sealed file's name.
    pub name: String,
    /// Who sent it.
    pub from: Party,
    /// The destination nickname, for files sent to a society.
    pub destination: Option<String>,
    /// The send function.
    pub function: Function,
    /// Sealed bytes.
    pub size: u64,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The recipient's last download (the receive time its inbox shows), or none (`未`).
    /// The sender sees the first one ([`SentEntry::first_received_at`]).
    pub last_received_at: Option<DateTime<Utc>>,
    /// The end of the download window, for files sent to an office.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A received file deleted since, kept in the history for two years from its send date.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The file's identifier.
    pub id: String,
    /// The sealed file's name.
    pub name: String,
    /// Who sent it.
    pub from: Party,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The recipient's last download, if any.
    pub last_received_at: Option<DateTime<Utc>>,
    /// When it was deleted.
    pub deleted_at: DateTime<Utc>,
}

/// The query of `GET /sent`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SentQuery {
    /// Only files sent at or after this instant; all (up to two years) when absent.
    pub since: Option<DateTime<Utc>>,
}

/// A file the caller sent, with its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SentEntry {
    /// The file's identifier.
    pub id: String,
    /// The sealed file's name.
    pub name: String,
    /// The recipient.
    pub to: Party,
    /// The destination nickname, for files sent to a society.
    pub destination: Option<String>,
    /// The send function.
    pub function: Function,
    /// Sealed bytes.
    pub size: u64,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// The recipient's first download (`済` since then), or none (`未`); later downloads do
    /// not move it. The recipient sees the last one ([`InboxEntry::last_received_at`]).
    pub first_received_at: Option<DateTime<Utc>>,
    /// When the sender cancelled it.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// `GET /app-version`: the app version the society publishes (§2.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppVersion {
    /// The version, e.g. `0.2.0`.
    pub version: String,
    /// What changed.
    pub notes: String,
    /// Where to get it.
    pub url: String,
}

/// The [`Problem::reason`] of `401 E0002` at login when the password is wrong (or the ID
/// unknown).
pub const WRONG_PASSWORD: &str = "password";

/// The [`Problem::reason`] of `401 E0002` at an office's enrolment when its ID or one-time
/// code is refused: the ID is unknown, or the code is wrong, already used or expired (one
/// answer for all, so IDs cannot be probed).
pub const ENROLMENT_CODE: &str = "enrolment_code";

/// The [`Problem::reason`] of `401 E0002` at a society's setup when its ID or one-time setup
/// code is refused, as [`ENROLMENT_CODE`].
pub const SETUP_CODE: &str = "setup_code";

/// The [`Problem::reason`] of `403 E0002` on every route but logout, the password change and
/// the certificates while the user's password is still the temporary one an administrator
/// gave: it must be changed before anything else.
pub const PASSWORD_CHANGE_REQUIRED: &str = "password_change_required";

/// The body of every refusal: the app's code and message, and a machine-readable reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The code, e.g. `"E2006"`.
    pub code: Code,
    /// The manual's message, placeholders filled.
    pub message: String,
    /// The same in English.
    pub english: String,
    /// A stable machine-readable reason, e.g. `"already_downloaded"`.
    pub reason: String,
}

impl Problem {
    /// A refusal with `code`, its placeholders filled with `items`, and `reason`.
    pub fn new(code: Code, items: &[&str], reason: &str) -> Problem {
        Problem {
            code,
            message: code.fill(items),
            english: code.fill_english(items),
            reason: reason.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_carry_the_code_as_printed() {
        let problem = Problem::new(Code::E8005, &["削除"], "already_downloaded");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["code"], "E8005");
        assert_eq!(json["message"], "ファイルの削除に失敗しました。");
        let back: Problem = serde_json::from_value(json).unwrap();
        assert_eq!(back, problem);
    }

    #[test]
    fn functions_use_their_wire_names() {
        for f in [Function::EApplication, Function::Attachments] {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
    }
}
