//! `open`: decrypt the envelope, verify the signature and the signer's chain, streamed.
//!
//! One pass: the ciphertext is decrypted as it is read and the plaintext hashed and written to
//! a caller-provided [`Quarantine`] while it streams. The quarantine is released (and only
//! then does the caller get the content) after the envelope's integrity (CBC padding or the
//! GCM tag), the content digest, the signature and the signer's chain have all been checked;
//! on any failure it is dropped unreleased. A two-pass design (verify, then decrypt again)
//! would need a seekable input and twice the work; a quarantine file costs one write.

use std::io::{self, Read, Write};
use std::time::SystemTime;

use cms::enveloped_data::RecipientInfo;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::time::Time;

use crate::ber::{self, BerReader, End, Octets};
use crate::chain::{Purpose, TrustStore};
use crate::content::{BLOCK, Decryptor};
use crate::error::{Error, Result};
use crate::hasher::BackgroundHash;
use crate::keys::PrivateKey;
use crate::oid;
use crate::recipient::Us;
use crate::sig;

/// Most entries of one kind we accept, so that a hostile message cannot make us hold an
/// unbounded number of small structures.
const MAX_ENTRIES: usize = 1024;

/// Where `open` puts plaintext until it has been verified.
///
/// Implementations must not expose what was written until [`Quarantine::release`] is called,
/// and must discard it when dropped unreleased (e.g. a temporary file that is renamed into
/// place on release and deleted on drop).
pub trait Quarantine: Write {
    /// What the caller gets once the content is verified.
    type Released;

    /// Makes the verified content available.
    fn release(self) -> io::Result<Self::Released>;
}

impl Quarantine for Vec<u8> {
    type Released = Vec<u8>;

    fn release(self) -> io::Result<Vec<u8>> {
        Ok(self)
    }
}

/// The receiver: its key and, optionally, its certificate (to pick its recipient entry).
#[derive(Clone, Copy, Debug)]
pub struct Receiver<'a> {
    /// Our private key.
    pub key: &'a PrivateKey,
    /// Our certificate; without it every recipient entry of our key type is tried.
    pub cert: Option<&'a Certificate>,
}

/// A verified, decrypted message.
#[derive(Debug)]
pub struct Opened<T> {
    /// The content, released from quarantine.
    pub content: T,
    /// The signer's certificate (verified to chain to the trust store).
    pub signer: Certificate,
    /// The signing time the signer stated, if any.
    pub signing_time: Option<SystemTime>,
}

/// Opens a sealed message from `input`: decrypts with `receiver`'s key, verifies the
/// signature and the signer's chain against `trust` at time `now`.
pub fn open<Q: Quarantine>(
    input: impl Read,
    receiver: Receiver<'_>,
    trust: &TrustStore,
    now: SystemTime,
    mut spool: Q,
) -> Result<Opened<Q::Released>> {
    let mut outer = BerReader::new(input);
    let header = envelope_header(&mut outer)?;
    let cek = Us {
        key: receiver.key,
        cert: receiver.cert,
    }
    .unwrap(&header.infos)?;
    let decryptor = Decryptor::new(&header.algorithm, &cek)?;
    let plain = Plain::new(outer.octets(header.content), decryptor);
    let mut inner = BerReader::new(plain);
    let parsed = signed_data(&mut inner, &mut spool).and_then(|signed| {
        inner.expect_eof()?;
        Ok(signed)
    });
    // Whatever the inner parse said, read the envelope to its end: an altered ciphertext must
    // be reported as such (the GCM tag), not as whatever garbage it decrypted to.
    let mut plain = inner.into_inner();
    io::copy(&mut plain, &mut io::sink()).map_err(ber::from_io)?;
    let decryptor = plain.decryptor;
    let mac = envelope_trailer(&mut outer, header.authenticated, header.ends)?;
    decryptor.verify_tag(mac.as_ref().map(OctetString::as_bytes))?;
    let signed = parsed?;

    let signer = signed.verify(trust, now)?;
    Ok(Opened {
        content: spool.release()?,
        signer: signer.0,
        signing_time: signer.1,
    })
}

/// The outer structure of an envelope, read up to the start of its encrypted content.
pub(crate) struct EnvelopeHeader {
    /// AuthEnvelopedData (AES-GCM) rather than EnvelopedData (AES-CBC).
    pub(crate) authenticated: bool,
    /// The recipient entries of kinds this crate reads.
    pub(crate) infos: Vec<RecipientInfo>,
    /// The content-encryption algorithm, recognised by [`Decryptor::check`].
    pub(crate) algorithm: AlgorithmIdentifierOwned,
    /// The header of the encrypted content, whose value follows.
    pub(crate) content: ber::Header,
    /// Where the EncryptedContentInfo, the envelope, the explicit `[0]` and the ContentInfo end.
    pub(crate) ends: [End; 4],
}

/// Reads a ContentInfo holding an EnvelopedData or AuthEnvelopedData up to the value of its
/// encrypted content: everything that can be judged without the recipient's key.
pub(crate) fn envelope_header<R: Read>(outer: &mut BerReader<R>) -> Result<EnvelopeHeader> {
    let outer_end = content_info(outer)?;
    let authenticated = match read_oid(outer)? {
        oid::ENVELOPED_DATA => false,
        oid::AUTH_ENVELOPED_DATA => true,
        _ => {
            return Err(Error::Malformed(
                "not an EnvelopedData or AuthEnvelopedData",
            ));
        }
    };
    let explicit = outer.expect(ber::CONTEXT_0, "ContentInfo content must be [0]")?;
    let explicit_end = outer.end_of(explicit);
    let envelope = outer.expect(ber::SEQUENCE, "envelope must be a SEQUENCE")?;
    let envelope_end = outer.end_of(envelope);
    outer.element()?; // version: nothing in it changes how we read the rest
    if outer.peek_tag()? == Some(ber::CONTEXT_0) {
        outer.element()?; // originatorInfo: certificates we have no use for
    }
    let infos = recipient_infos(outer)?;
    let eci = outer.expect(ber::SEQUENCE, "EncryptedContentInfo must be a SEQUENCE")?;
    let eci_end = outer.end_of(eci);
    if read_oid(outer)? != oid::DATA {
        return Err(Error::Unsupported(
            "encrypted content type other than data".into(),
        ));
    }
    let algorithm = AlgorithmIdentifierOwned::from_der(&outer.element()?)?;
    Decryptor::check(&algorithm, authenticated)?;
    let content = outer.header()?;
    if content.tag != ber::CONTEXT_0 && content.tag != ber::CONTEXT_0_PRIMITIVE {
        return Err(Error::Malformed("encrypted content missing"));
    }
    Ok(EnvelopeHeader {
        authenticated,
        infos,
        algorithm,
        content,
        ends: [eci_end, envelope_end, explicit_end, outer_end],
    })
}

/// Reads what follows the encrypted content: the GCM tag, unprotected attributes and the
/// closing of every enclosing element, then the end of input.
fn envelope_trailer<R: Read>(
    r: &mut BerReader<R>,
    authenticated: bool,
    ends: [End; 4],
) -> Result<Option<OctetString>> {
    let [eci_end, envelope_end, explicit_end, outer_end] = ends;
    r.finish(eci_end)?;
    let mut mac = None;
    if authenticated {
        if r.peek_tag()? == Some(0xa1) {
            return Err(Error::Unsupported("authenticated attributes".into()));
        }
        mac = Some(OctetString::from_der(&r.element()?)?);
    }
    while !r.at_end(envelope_end)? {
        r.element()?; // unprotected / unauthenticated attributes
    }
    r.finish(explicit_end)?;
    r.finish(outer_end)?;
    r.expect_eof()?;
    Ok(mac)
}

fn content_info<R: Read>(r: &mut BerReader<R>) -> Result<End> {
    let header = r.expect(ber::SEQUENCE, "ContentInfo must be a SEQUENCE")?;
    Ok(r.end_of(header))
}

fn read_oid<R: Read>(r: &mut BerReader<R>) -> Result<ObjectIdentifier> {
    Ok(ObjectIdentifier::from_der(&r.element()?)?)
}

/// Reads the SET OF RecipientInfo entry by entry, so that an unsorted (BER) set still parses.
fn recipient_infos<R: Read>(r: &mut BerReader<R>) -> Result<Vec<RecipientInfo>> {
    let set = r.expect(ber::SET, "RecipientInfos must be a SET")?;
    let end = r.end_of(set);
    let mut infos = Vec::new();
    while !r.at_end(end)? {
        if infos.len() == MAX_ENTRIES {
            return Err(Error::Malformed("too many recipient infos"));
        }
        let element = r.element()?;
        // Entries of kinds we do not know are skipped, not fatal: they are for someone else.
        if let Ok(info) = RecipientInfo::from_der(&element) {
            infos.push(info);
        }
    }
    Ok(infos)
}

/// The decrypted content of the envelope as a reader.
struct Plain<'a, R> {
    octets: Octets<'a, R>,
    decryptor: Decryptor,
    buf: Vec<u8>,
    /// `buf[start..ready]` may be handed out.
    start: usize,
    ready: usize,
    /// `buf[ready..decrypted]` is plaintext that may yet be padding.
    decrypted: usize,
    /// `buf[decrypted..filled]` is ciphertext short of a whole block.
    filled: usize,
    eof: bool,
}

impl<'a, R: Read> Plain<'a, R> {
    fn new(octets: Octets<'a, R>, decryptor: Decryptor) -> Self {
        Self {
            octets,
            decryptor,
            buf: vec![0; 64 * 1024 + 2 * BLOCK],
            start: 0,
            ready: 0,
            decrypted: 0,
            filled: 0,
            eof: false,
        }
    }

    fn refill(&mut self) -> Result<()> {
        self.buf.copy_within(self.ready..self.filled, 0);
        self.decrypted -= self.ready;
        self.filled -= self.ready;
        self.start = 0;
        self.ready = 0;
        let n = self.octets.read_checked(&mut self.buf[self.filled..])?;
        if n == 0 {
            self.decryptor
                .tail(&mut self.buf[self.decrypted..self.filled])?;
            self.decrypted = self.filled;
            self.ready = self.decrypted - self.decryptor.padding(&self.buf[..self.decrypted])?;
            self.eof = true;
            return Ok(());
        }
        self.filled += n;
        let whole = (self.filled - self.decrypted) / BLOCK * BLOCK;
        self.decryptor
            .blocks(&mut self.buf[self.decrypted..self.decrypted + whole]);
        self.decrypted += whole;
        self.ready = self.decrypted.saturating_sub(self.decryptor.held_back());
        Ok(())
    }
}

impl<R: Read> Read for Plain<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.start == self.ready && !self.eof {
            self.refill().map_err(ber::into_io)?;
        }
        let n = out.len().min(self.ready - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

/// What the SignedData said, gathered while its content streamed to the quarantine.
struct Signed {
    content_type: ObjectIdentifier,
    digest: Vec<u8>,
    certificates: Vec<Certificate>,
    signer_infos: Vec<SignerInfo>,
}

fn signed_data<R: Read>(r: &mut BerReader<R>, spool: &mut impl Write) -> Result<Signed> {
    let outer_end = content_info(r)?;
    if read_oid(r)? != oid::SIGNED_DATA {
        return Err(Error::Malformed("the envelope does not contain SignedData"));
    }
    let explicit = r.expect(ber::CONTEXT_0, "ContentInfo content must be [0]")?;
    let explicit_end = r.end_of(explicit);
    let sd = r.expect(ber::SEQUENCE, "SignedData must be a SEQUENCE")?;
    let sd_end = r.end_of(sd);
    r.element()?; // version
    r.element()?; // digestAlgorithms: we hash with SHA-256 and insist the signer did too
    let encap = r.expect(ber::SEQUENCE, "EncapsulatedContentInfo must be a SEQUENCE")?;
    let encap_end = r.end_of(encap);
    let content_type = read_oid(r)?;
    if r.at_end(encap_end)? {
        return Err(Error::Unsupported("detached signature (no content)".into()));
    }
    let explicit_content = r.expect(ber::CONTEXT_0, "eContent must be [0]")?;
    let explicit_content_end = r.end_of(explicit_content);
    let octets = r.header()?;
    if octets.tag != ber::OCTET_STRING && octets.tag != ber::OCTET_STRING_CONSTRUCTED {
        return Err(Error::Malformed("eContent must be an OCTET STRING"));
    }
    let hash = BackgroundHash::start()?;
    {
        let mut content = r.octets(octets);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = content.read_checked(&mut buf)?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n])?;
            spool.write_all(&buf[..n])?;
        }
    }
    r.finish(explicit_content_end)?;
    r.finish(encap_end)?;
    let mut certificates = Vec::new();
    if r.peek_tag()? == Some(ber::CONTEXT_0) {
        let set = r.header()?;
        let end = r.end_of(set);
        while !r.at_end(end)? {
            if certificates.len() == MAX_ENTRIES {
                return Err(Error::Malformed("too many certificates"));
            }
            // Attribute certificates and other choices are not ours to use.
            if let Ok(cert) = Certificate::from_der(&r.element()?) {
                certificates.push(cert);
            }
        }
    }
    if r.peek_tag()? == Some(0xa1) {
        r.element()?; // CRLs travel separately, in the trust store
    }
    let set = r.expect(ber::SET, "SignerInfos must be a SET")?;
    let set_end = r.end_of(set);
    let mut signer_infos = Vec::new();
    while !r.at_end(set_end)? {
        if signer_infos.len() == MAX_ENTRIES {
            return Err(Error::Malformed("too many signer infos"));
        }
        signer_infos.push(SignerInfo::from_der(&r.element()?)?);
    }
    r.finish(sd_end)?;
    r.finish(explicit_end)?;
    r.finish(outer_end)?;
    Ok(Signed {
        content_type,
        digest: hash.finish()?,
        certificates,
        signer_infos,
    })
}

impl Signed {
    /// Verifies every signer; returns the first signer's certificate and signing time.
    fn verify(
        &self,
        trust: &TrustStore,
        now: SystemTime,
    ) -> Result<(Certificate, Option<SystemTime>)> {
        let mut first = None;
        for info in &self.signer_infos {
            let cert = self
                .signer_certificate(&info.sid)
                .ok_or(Error::SignerCertificateMissing)?;
            let signing_time = self.verify_signature(info, cert)?;
            let others: Vec<Certificate> = self
                .certificates
                .iter()
                .filter(|c| *c != cert)
                .cloned()
                .collect();
            trust.verify(cert, &others, now, Purpose::Signing)?;
            first.get_or_insert((cert.clone(), signing_time));
        }
        first.ok_or(Error::SignerCertificateMissing)
    }

    fn signer_certificate(&self, sid: &SignerIdentifier) -> Option<&Certificate> {
        self.certificates.iter().find(|c| match sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                c.tbs_certificate.issuer == ias.issuer
                    && c.tbs_certificate.serial_number == ias.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c
                .tbs_certificate
                .get::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own == *ski),
        })
    }

    fn verify_signature(
        &self,
        info: &SignerInfo,
        cert: &Certificate,
    ) -> Result<Option<SystemTime>> {
        if info.digest_alg.oid != oid::SHA256 {
            return Err(Error::Unsupported(format!(
                "digest {}",
                info.digest_alg.oid
            )));
        }
        let key = crate::keys::PublicKey::of(cert)?;
        let signature = info.signature.as_bytes();
        let Some(attrs) = &info.signed_attrs else {
            if self.content_type != oid::DATA {
                return Err(Error::Malformed(
                    "signed attributes are required for this content type",
                ));
            }
            sig::verify(&key, &info.signature_algorithm, &self.digest, signature)?;
            return Ok(None);
        };
        let single = |wanted: ObjectIdentifier| {
            let mut found = attrs.iter().filter(|a| a.oid == wanted);
            match (found.next(), found.next()) {
                (Some(a), None) if a.values.len() == 1 => Ok(a.values.get(0)),
                (None, None) => Ok(None),
                _ => Err(Error::Malformed("signed attribute repeated")),
            }
        };
        let digest = single(oid::ATTR_MESSAGE_DIGEST)?
            .ok_or(Error::Malformed("no message-digest attribute"))?;
        let content_type =
            single(oid::ATTR_CONTENT_TYPE)?.ok_or(Error::Malformed("no content-type attribute"))?;
        if content_type.decode_as::<ObjectIdentifier>()? != self.content_type {
            return Err(Error::BadSignature);
        }
        sig::verify(
            &key,
            &info.signature_algorithm,
            &Sha256::digest(attrs.to_der()?),
            signature,
        )?;
        if digest.decode_as::<OctetString>()?.as_bytes() != self.digest.as_slice() {
            return Err(Error::DigestMismatch);
        }
        let signing_time = single(oid::ATTR_SIGNING_TIME)?
            .map(|t| Time::from_der(&t.to_der()?))
            .transpose()?
            .map(|t| t.to_system_time());
        Ok(signing_time)
    }
}
