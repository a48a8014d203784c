//! `seal`: sign (SignedData) then encrypt (EnvelopedData / AuthEnvelopedData), streamed.
//!
//! The output is BER as `openssl cms -stream` writes it: the outer structures have indefinite
//! lengths and the content is a constructed OCTET STRING of fixed-size segments, so neither the
//! plaintext nor the ciphertext is ever held whole. The small structures (recipient infos,
//! certificates, signer info) are ordinary DER from the `cms` types.

use std::io::{self, Read, Write};
use std::time::SystemTime;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::RecipientInfo;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use der::asn1::{Any, ObjectIdentifier, OctetString, SetOfVec};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use crate::ber::{self, Segmenter};
use crate::content::{ContentEncryption, Encryptor, KEY_LEN, random_key};
use crate::error::{Error, Result};
use crate::hasher::BackgroundHash;
use crate::keys::{PrivateKey, PublicKey};
use crate::oid;
use crate::recipient::Recipient;
use crate::sig::{self, SignatureScheme};

/// Content segment size: big enough that framing is noise, small enough to stay in cache.
const SEGMENT: usize = 64 * 1024;

/// The sender: its key, its certificate (which is embedded in every message) and its scheme.
#[derive(Clone, Debug)]
pub struct Signer {
    key: PrivateKey,
    cert: Certificate,
    chain: Vec<Certificate>,
    scheme: SignatureScheme,
}

impl Signer {
    /// A signer with the default scheme for its key; the key must match the certificate.
    pub fn new(key: PrivateKey, cert: Certificate) -> Result<Self> {
        if key.public_key() != PublicKey::of(&cert)? {
            return Err(Error::Key(
                "the private key does not belong to the certificate".into(),
            ));
        }
        let scheme = SignatureScheme::default_for(&key);
        Ok(Self {
            key,
            cert,
            chain: Vec::new(),
            scheme,
        })
    }

    /// Chooses the signature scheme (e.g. RSA-PSS instead of PKCS#1 v1.5).
    pub fn with_scheme(mut self, scheme: SignatureScheme) -> Result<Self> {
        let fits = matches!(
            (&self.key, scheme),
            (
                PrivateKey::Rsa(_),
                SignatureScheme::RsaPkcs1v15 | SignatureScheme::RsaPss
            ) | (PrivateKey::P256(_), SignatureScheme::Ecdsa)
        );
        if !fits {
            return Err(Error::Key(format!("{scheme:?} does not fit this key type")));
        }
        self.scheme = scheme;
        Ok(self)
    }

    /// Adds intermediate CA certificates to embed beside the signer's own.
    pub fn with_chain(mut self, chain: Vec<Certificate>) -> Self {
        self.chain = chain;
        self
    }

    fn signer_info(&self, digest: &[u8], signing_time: SystemTime) -> Result<SignerInfo> {
        let attr = |oid: ObjectIdentifier, value: Any| -> Result<Attribute> {
            Ok(Attribute {
                oid,
                values: SetOfVec::try_from(vec![value])?,
            })
        };
        let time = Time::try_from(signing_time)?;
        let attrs = SetOfVec::try_from(vec![
            attr(oid::ATTR_CONTENT_TYPE, Any::from(oid::DATA))?,
            attr(oid::ATTR_SIGNING_TIME, Any::from_der(&time.to_der()?)?)?,
            attr(
                oid::ATTR_MESSAGE_DIGEST,
                Any::from_der(&OctetString::new(digest)?.to_der()?)?,
            )?,
        ])?;
        let signature = sig::sign(&self.key, self.scheme, &attrs.to_der()?)?;
        let signature_algorithm = match self.scheme {
            // RFC 3370 §3.2: CMS names PKCS#1 v1.5 by the key algorithm.
            SignatureScheme::RsaPkcs1v15 => AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
            other => other.algorithm()?,
        };
        Ok(SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.cert.tbs_certificate.issuer.clone(),
                serial_number: self.cert.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: sha256_algorithm(),
            signed_attrs: Some(attrs),
            signature_algorithm,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        })
    }
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::SHA256,
        parameters: None,
    }
}

/// Choices for sealing beyond who signs and who receives.
#[derive(Clone, Copy, Debug)]
pub struct SealOptions {
    /// The content cipher.
    pub content: ContentEncryption,
    /// The signing time to state (the crate reads no clock).
    pub signing_time: SystemTime,
}

/// The encrypting layer: writes the envelope around whatever is written to it.
struct Envelope<W: Write> {
    out: W,
    enc: Encryptor,
    seg: Segmenter,
}

impl<W: Write> Envelope<W> {
    fn begin(
        mut out: W,
        infos: &[RecipientInfo],
        content: ContentEncryption,
        cek: &[u8; KEY_LEN],
    ) -> Result<Self> {
        let enc = Encryptor::new(content, cek)?;
        let authenticated = content == ContentEncryption::Aes256Gcm;
        let mut encoded = infos
            .iter()
            .map(Encode::to_der)
            .collect::<der::Result<Vec<_>>>()?;
        encoded.sort();
        let any_kari = infos.iter().any(|i| matches!(i, RecipientInfo::Kari(_)));
        // RFC 5652 §6.1 and RFC 5083 §2.1.
        let version: u8 = if any_kari && !authenticated { 2 } else { 0 };
        ber::open_indefinite(&mut out, ber::SEQUENCE)?;
        let kind = if authenticated {
            oid::AUTH_ENVELOPED_DATA
        } else {
            oid::ENVELOPED_DATA
        };
        out.write_all(&kind.to_der()?)?;
        ber::open_indefinite(&mut out, ber::CONTEXT_0)?;
        ber::open_indefinite(&mut out, ber::SEQUENCE)?;
        out.write_all(&version.to_der()?)?;
        ber::write_tlv(&mut out, ber::SET, &encoded.concat())?;
        ber::open_indefinite(&mut out, ber::SEQUENCE)?;
        out.write_all(&oid::DATA.to_der()?)?;
        out.write_all(&enc.algorithm().to_der()?)?;
        ber::open_indefinite(&mut out, ber::CONTEXT_0)?;
        Ok(Self {
            out,
            enc,
            seg: Segmenter::new(SEGMENT),
        })
    }

    fn end(mut self) -> Result<W> {
        let tag = self.enc.finish(self.seg.pending_mut());
        self.seg.emit(&mut self.out)?;
        ber::close_indefinite(&mut self.out)?;
        ber::close_indefinite(&mut self.out)?;
        if let Some(tag) = tag {
            ber::write_tlv(&mut self.out, ber::OCTET_STRING, &tag)?;
        }
        for _ in 0..3 {
            ber::close_indefinite(&mut self.out)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Envelope<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.seg.room());
        self.seg.pending_mut().extend_from_slice(&data[..n]);
        if self.seg.room() == 0 {
            self.enc.blocks(self.seg.pending_mut());
            self.seg.emit(&mut self.out)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A message being sealed: write the plaintext into it, then [`Sealer::finish`].
pub struct Sealer<'a, W: Write> {
    env: Envelope<W>,
    seg: Segmenter,
    hash: BackgroundHash,
    signer: &'a Signer,
    signing_time: SystemTime,
}

impl<'a, W: Write> Sealer<'a, W> {
    /// Starts a message from `signer` to `recipients` (at least one), writing to `out`.
    pub fn new(
        signer: &'a Signer,
        recipients: &[Recipient],
        options: SealOptions,
        out: W,
    ) -> Result<Self> {
        if recipients.is_empty() {
            return Err(Error::Key(
                "a sealed message needs at least one recipient".into(),
            ));
        }
        let cek = random_key();
        let infos = recipients
            .iter()
            .map(|r| r.wrap(&cek))
            .collect::<Result<Vec<_>>>()?;
        let mut env = Envelope::begin(out, &infos, options.content, &cek)?;
        ber::open_indefinite(&mut env, ber::SEQUENCE)?;
        env.write_all(&oid::SIGNED_DATA.to_der()?)?;
        ber::open_indefinite(&mut env, ber::CONTEXT_0)?;
        ber::open_indefinite(&mut env, ber::SEQUENCE)?;
        env.write_all(&1u8.to_der()?)?;
        ber::write_tlv(&mut env, ber::SET, &sha256_algorithm().to_der()?)?;
        ber::open_indefinite(&mut env, ber::SEQUENCE)?;
        env.write_all(&oid::DATA.to_der()?)?;
        ber::open_indefinite(&mut env, ber::CONTEXT_0)?;
        ber::open_indefinite(&mut env, ber::OCTET_STRING_CONSTRUCTED)?;
        Ok(Self {
            env,
            seg: Segmenter::new(SEGMENT),
            hash: BackgroundHash::start()?,
            signer,
            signing_time: options.signing_time,
        })
    }

    /// Signs, closes every structure and returns the output writer.
    pub fn finish(mut self) -> Result<W> {
        self.hash.update(self.seg.pending_mut())?;
        self.seg.emit(&mut self.env)?;
        for _ in 0..3 {
            ber::close_indefinite(&mut self.env)?;
        }
        let certs = std::iter::once(&self.signer.cert)
            .chain(&self.signer.chain)
            .map(Encode::to_der)
            .collect::<der::Result<Vec<_>>>()?;
        ber::write_tlv(&mut self.env, ber::CONTEXT_0, &certs.concat())?;
        let digest = self.hash.finish()?;
        let info = self.signer.signer_info(&digest, self.signing_time)?;
        ber::write_tlv(&mut self.env, ber::SET, &info.to_der()?)?;
        for _ in 0..3 {
            ber::close_indefinite(&mut self.env)?;
        }
        self.env.end()
    }
}

impl<W: Write> Write for Sealer<'_, W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(self.seg.room());
        self.seg.pending_mut().extend_from_slice(&data[..n]);
        if self.seg.room() == 0 {
            self.hash
                .update(self.seg.pending_mut())
                .map_err(crate::ber::into_io)?;
            self.seg.emit(&mut self.env)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.env.flush()
    }
}

/// Seals everything `input` yields into `out`; see [`Sealer`] for writing piecewise.
pub fn seal<W: Write>(
    signer: &Signer,
    recipients: &[Recipient],
    options: SealOptions,
    mut input: impl Read,
    out: W,
) -> Result<W> {
    let mut sealer = Sealer::new(signer, recipients, options, out)?;
    io::copy(&mut input, &mut sealer)?;
    sealer.finish()
}
