//! Party certificates and the certificate queue.
//!
//! The server never signs: a society's own CA does (on the society server). The store only
//! records what was issued, so that a TLS client certificate maps to its party by the SHA-256
//! fingerprint of its DER, and keeps the queue through which offices ask and societies answer.

use chrono::Duration;

use super::users::redeem_code_in;
use super::{CodeKind, PartyId, PartyKind, ms, random_hex, sha256_hex};
use crate::db::{Conn, Flag, Timestamp, timestamp};
use crate::words::stored_words;
use crate::{Error, Store};

/// A certificate to record: its DER and expiry (the caller parsed and checked it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its notAfter.
    pub not_after: Timestamp,
}

/// A recorded certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Its row id.
    pub id: i64,
    /// Whose it is.
    pub party: PartyId,
    /// Office: the user who enrolled it.
    pub user: Option<String>,
    /// DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    /// Its notAfter.
    pub not_after: Timestamp,
    /// Whether it is the party's (or, for an office, the user's) current certificate; only a
    /// current one logs in.
    pub current: bool,
    /// When it was recorded.
    pub created_at: Timestamp,
}

/// Why a certificate is requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// First enrolment with a one-time code.
    Enrol,
    /// Renewal by a logged-in user.
    Renew,
}

stored_words!(RequestKind {
    Enrol = "enrol",
    Renew = "renew"
});

/// Where a request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestState {
    /// Waiting for the society.
    Pending,
    /// The society issued a certificate.
    Issued,
    /// The society refused.
    Refused,
    /// The society did not decide in time.
    Expired,
}

stored_words!(RequestState {
    Pending = "pending",
    Issued = "issued",
    Refused = "refused",
    Expired = "expired"
});

/// A certificate request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The random capability the requester polls with.
    pub id: String,
    /// Enrolment or renewal.
    pub kind: RequestKind,
    /// The office asking.
    pub party: PartyId,
    /// The user asking.
    pub user: String,
    /// The PKCS#10 request, DER.
    pub csr_der: Vec<u8>,
    /// Where it stands.
    pub state: RequestState,
    /// Refused: the society's reason.
    pub refusal: Option<String>,
    /// Issued: the certificate, DER.
    pub certificate: Option<Vec<u8>>,
    /// When it was asked.
    pub created_at: Timestamp,
    /// Undecided by then, it expires.
    pub expires_at: Timestamp,
}

impl CertificateRequest {
    /// Where it stands at `now`: a pending request past its expiry is expired, whether or not
    /// the retention job has marked it yet.
    pub fn state_at(&self, now: Timestamp) -> RequestState {
        if self.state == RequestState::Pending && now >= self.expires_at {
            RequestState::Expired
        } else {
            self.state
        }
    }
}

/// What [`Store::enrol`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnrolOutcome {
    /// The code was used up and the request queued under this id.
    Queued(String),
    /// Unknown user, a user of a society, or a wrong, used or expired code: nothing changed.
    Refused,
}

/// What [`Store::setup_society`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupOutcome {
    /// The society's CA and certificate are recorded.
    Done(PartyId),
    /// Unknown user, not a society's, or a wrong, used or expired code: nothing changed.
    Refused,
}

/// A society's answer to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Issued this certificate (checked by the caller against the society CA and the CSR).
    Issue(NewCertificate),
    /// Refused, for this reason.
    Refuse(String),
}

type RequestRow = (
    String,
    String,
    i64,
    String,
    Vec<u8>,
    String,
    Option<String>,
    Option<Vec<u8>>,
    i64,
    i64,
);

const REQUEST_COLUMNS: &str = "SELECT r.id, r.kind, r.party_id, r.user_id, r.csr_der, r.state, \
     r.refusal, c.der, r.created_at, r.expires_at FROM ex_certificate_requests r \
     LEFT JOIN ex_certificates c ON c.id = r.certificate_id";

fn request(
    (id, kind, party, user, csr_der, state, refusal, certificate, created_at, expires_at): RequestRow,
) -> Result<CertificateRequest, Error> {
    Ok(CertificateRequest {
        id,
        kind: kind.parse()?,
        party: PartyId(party),
        user,
        csr_der,
        state: state.parse()?,
        refusal,
        certificate,
        created_at: timestamp(created_at)?,
        expires_at: timestamp(expires_at)?,
    })
}

type CertificateRow = (i64, i64, Option<String>, Vec<u8>, String, i64, Flag, i64);

const CERTIFICATE_COLUMNS: &str = "SELECT id, party_id, user_id, der, fingerprint, not_after, \
     (current IS TRUE), created_at FROM ex_certificates";

fn certificate(
    (id, party, user, der, fingerprint, not_after, current, created_at): CertificateRow,
) -> Result<CertificateRecord, Error> {
    Ok(CertificateRecord {
        id,
        party: PartyId(party),
        user,
        der,
        fingerprint,
        not_after: timestamp(not_after)?,
        current: current.0,
        created_at: timestamp(created_at)?,
    })
}

/// Records `cert` as the current certificate of `party` (for an office: of `user`), the
/// earlier ones of the same holder no longer current. Returns its row id.
async fn record_current_in(
    conn: &mut Conn,
    party: PartyId,
    user: Option<&str>,
    cert: &NewCertificate,
    now: Timestamp,
) -> Result<i64, Error> {
    sqlx::query(
        "UPDATE ex_certificates SET current = FALSE \
         WHERE party_id = $1 AND ($2 IS NULL OR user_id = $2)",
    )
    .bind(party.0)
    .bind(user)
    .execute(&mut *conn)
    .await?;
    let fingerprint = sha256_hex(&cert.der);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ex_certificates (party_id, user_id, der, fingerprint, not_after, current, \
         created_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id",
    )
    .bind(party.0)
    .bind(user)
    .bind(&cert.der)
    .bind(&fingerprint)
    .bind(cert.not_after.timestamp_millis())
    .bind(now.timestamp_millis())
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        crate::db::or_conflict(e, || Error::Exists(format!("certificate {fingerprint}")))
    })?;
    Ok(id)
}

/// The kind of `user`'s party, inside a transaction.
async fn user_party_in(conn: &mut Conn, user: &str) -> Result<Option<(PartyId, PartyKind)>, Error> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT p.id, p.kind FROM ex_users u JOIN ex_parties p ON p.id = u.party_id \
         WHERE u.id = $1",
    )
    .bind(user)
    .fetch_optional(conn)
    .await?;
    row.map(|(id, kind)| Ok((PartyId(id), kind.parse()?)))
        .transpose()
}

impl Store {
    /// An office user's first enrolment: uses up the one-time `code` and queues the PKCS#10
    /// request `csr_der` for the society, in one transaction. Undecided for `lifetime`, the
    /// request expires.
    pub async fn enrol(
        &self,
        user: &str,
        code: &str,
        csr_der: &[u8],
        now: Timestamp,
        lifetime: Duration,
    ) -> Result<EnrolOutcome, Error> {
        let mut tx = self.db.write().await?;
        let Some((party, PartyKind::Office)) = user_party_in(&mut tx, user).await? else {
            return Ok(EnrolOutcome::Refused);
        };
        if !redeem_code_in(&mut tx, user, code, CodeKind::Enrolment, now).await? {
            return Ok(EnrolOutcome::Refused);
        }
        let id = insert_request_in(
            &mut tx,
            RequestKind::Enrol,
            party,
            user,
            csr_der,
            now,
            lifetime,
        )
        .await?;
        tx.commit().await?;
        Ok(EnrolOutcome::Queued(id))
    }

    /// A logged-in office user asks for a renewed certificate; returns the request id.
    /// Undecided for `lifetime`, the request expires.
    pub async fn request_renewal(
        &self,
        user: &str,
        party: PartyId,
        csr_der: &[u8],
        now: Timestamp,
        lifetime: Duration,
    ) -> Result<String, Error> {
        let mut tx = self.db.write().await?;
        let id = insert_request_in(
            &mut tx,
            RequestKind::Renew,
            party,
            user,
            csr_der,
            now,
            lifetime,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The request with this id (the poller's capability).
    pub async fn certificate_request(&self, id: &str) -> Result<Option<CertificateRequest>, Error> {
        let row: Option<RequestRow> = sqlx::query_as(&format!("{REQUEST_COLUMNS} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(request).transpose()
    }

    /// The requests of a society's offices pending at `now` (not expired), oldest first.
    pub async fn pending_requests(
        &self,
        society: PartyId,
        now: Timestamp,
    ) -> Result<Vec<CertificateRequest>, Error> {
        let rows: Vec<RequestRow> = sqlx::query_as(&format!(
            "{REQUEST_COLUMNS} JOIN ex_parties p ON p.id = r.party_id \
             WHERE r.state = 'pending' AND r.expires_at > $2 AND p.society_id = $1 \
             ORDER BY r.created_at, r.id"
        ))
        .bind(society.0)
        .bind(now.timestamp_millis())
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(request).collect()
    }

    /// Records a society's answer to a pending request of one of its offices. False when
    /// there is no such pending request for this society (unknown, decided, expired at `now`,
    /// another's).
    pub async fn decide_request(
        &self,
        society: PartyId,
        id: &str,
        decision: &Decision,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let mut tx = self.db.write().await?;
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT r.party_id, r.user_id FROM ex_certificate_requests r \
             JOIN ex_parties p ON p.id = r.party_id \
             WHERE r.id = $1 AND r.state = 'pending' AND r.expires_at > $3 AND p.society_id = $2",
        )
        .bind(id)
        .bind(society.0)
        .bind(now.timestamp_millis())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((party, user)) = row else {
            return Ok(false);
        };
        match decision {
            Decision::Issue(cert) => {
                let cert_id =
                    record_current_in(&mut tx, PartyId(party), Some(&user), cert, now).await?;
                sqlx::query(
                    "UPDATE ex_certificate_requests SET state = 'issued', certificate_id = $2, \
                     decided_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(cert_id)
                .bind(now.timestamp_millis())
                .execute(&mut *tx)
                .await?;
            }
            Decision::Refuse(reason) => {
                sqlx::query(
                    "UPDATE ex_certificate_requests SET state = 'refused', refusal = $2, \
                     decided_at = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(reason)
                .bind(now.timestamp_millis())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A society's first user sets the society up: uses up the one-time setup `code`, records
    /// its CA (the api listener starts trusting it) and its own current certificate.
    pub async fn setup_society(
        &self,
        user: &str,
        code: &str,
        ca_der: &[u8],
        cert: &NewCertificate,
        now: Timestamp,
    ) -> Result<SetupOutcome, Error> {
        let mut tx = self.db.write().await?;
        let Some((party, PartyKind::Society)) = user_party_in(&mut tx, user).await? else {
            return Ok(SetupOutcome::Refused);
        };
        if !redeem_code_in(&mut tx, user, code, CodeKind::Setup, now).await? {
            return Ok(SetupOutcome::Refused);
        }
        sqlx::query("UPDATE ex_parties SET ca_der = $2 WHERE id = $1")
            .bind(party.0)
            .bind(ca_der)
            .execute(&mut *tx)
            .await?;
        record_current_in(&mut tx, party, None, cert, now).await?;
        Store::bump_ca_generation(&mut tx).await?;
        tx.commit().await?;
        Ok(SetupOutcome::Done(party))
    }

    /// A society publishes a renewed certificate of its own; the earlier ones stay listed,
    /// no longer current.
    pub async fn publish_society_certificate(
        &self,
        society: PartyId,
        cert: &NewCertificate,
        now: Timestamp,
    ) -> Result<(), Error> {
        let mut tx = self.db.write().await?;
        record_current_in(&mut tx, society, None, cert, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The certificate with this fingerprint (SHA-256 of its DER, lower-case hex).
    pub async fn certificate_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Option<CertificateRecord>, Error> {
        let row: Option<CertificateRow> =
            sqlx::query_as(&format!("{CERTIFICATE_COLUMNS} WHERE fingerprint = $1"))
                .bind(fingerprint)
                .fetch_optional(self.db.pool())
                .await?;
        row.map(certificate).transpose()
    }

    /// A party's certificates, newest first; only the current ones when `current_only`.
    pub async fn certificates(
        &self,
        party: PartyId,
        current_only: bool,
    ) -> Result<Vec<CertificateRecord>, Error> {
        let rows: Vec<CertificateRow> = sqlx::query_as(&format!(
            "{CERTIFICATE_COLUMNS} WHERE party_id = $1 AND (current OR NOT $2) \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(party.0)
        .bind(current_only)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(certificate).collect()
    }
}

async fn insert_request_in(
    conn: &mut Conn,
    kind: RequestKind,
    party: PartyId,
    user: &str,
    csr_der: &[u8],
    now: Timestamp,
    lifetime: Duration,
) -> Result<String, Error> {
    // 128 random bits: the poller's only credential for fetching the answer.
    let id = random_hex(16);
    sqlx::query(
        "INSERT INTO ex_certificate_requests (id, kind, party_id, user_id, csr_der, state, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(party.0)
    .bind(user)
    .bind(csr_der)
    .bind(now.timestamp_millis())
    .bind(now.timestamp_millis() + ms(lifetime))
    .execute(conn)
    .await?;
    Ok(id)
}
