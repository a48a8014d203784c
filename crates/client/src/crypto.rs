//! Keys, certificate requests, the society CA and CRLs, and sealing / opening files, for
//! operators and interop tests. An encrypted key's PIN is asked for only when needed.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use kx_crypto::keystore::{KdfCost, Pin, decrypt_key, encrypt_key};
use kx_crypto::{
    Certificate, CertificateAuthority, ContentEncryption, KeyKind, KeyTransport, PrivateKey,
    Profile, Quarantine, Receiver, Recipient, SealOptions, SignatureScheme, Signer, TrustStore,
    certificate_from_pem_or_der, certificate_request, certificate_to_pem, crl_from_pem_or_der,
    crl_to_pem, parse_certificates, private_key_to_pem, request_from_pem_or_der, request_to_pem,
};

const DAY: Duration = Duration::from_secs(86_400);
/// I/O buffer: large enough that system calls do not show in the throughput.
const BUFFER: usize = 1 << 20;

/// Where an encrypted key's PIN comes from: asked for only when a key turns out to be
/// encrypted.
pub type PinSource<'a> = &'a dyn Fn() -> crate::Result<Pin>;

/// A CA's key and certificate files, and where the key's PIN comes from.
pub struct CaFiles<'a> {
    /// The CA's private key (PKCS#8 PEM, encrypted or not).
    pub key: &'a Path,
    /// Its PIN, when encrypted.
    pub pin: PinSource<'a>,
    /// The CA's certificate.
    pub cert: &'a Path,
}

/// A new private key of `kind` written to `out` (which must not exist): encrypted under `pin`
/// with `cost`, or in the clear without one.
pub fn keygen(kind: KeyKind, pin: Option<&Pin>, cost: KdfCost, out: &Path) -> crate::Result<()> {
    let key = PrivateKey::generate(kind)?;
    let pem = match pin {
        Some(pin) => encrypt_key(&key, pin, cost)?,
        None => private_key_to_pem(&key)?,
    };
    Ok(write_new(out, pem.as_bytes())?)
}

/// A certificate request for `key` with `subject` (an RFC 4514 name) written to `out`.
pub fn request(key: &Path, pin: PinSource<'_>, subject: &str, out: &Path) -> crate::Result<()> {
    let request = certificate_request(&load_key(key, pin)?, subject)?;
    Ok(write_new(out, request_to_pem(&request)?.as_bytes())?)
}

/// A self-signed root CA certificate for `key`, valid `days`, written to `out`.
pub fn ca_init(
    key: &Path,
    pin: PinSource<'_>,
    subject: &str,
    days: u32,
    out: &Path,
) -> crate::Result<()> {
    let key = load_key(key, pin)?;
    let ca = CertificateAuthority::create_root(key, subject, SystemTime::now(), DAY * days)?;
    Ok(write_new(
        out,
        certificate_to_pem(ca.certificate())?.as_bytes(),
    )?)
}

/// A certificate for the request `csr`, an office's or (`society`) a society's, valid `days`,
/// written to `out`.
pub fn issue(
    ca: &CaFiles<'_>,
    csr: &Path,
    society: bool,
    days: u32,
    out: &Path,
) -> crate::Result<()> {
    let ca = load_ca(ca)?;
    let request = request_from_pem_or_der(&read(csr)?)?;
    let profile = if society {
        Profile::Society
    } else {
        Profile::Office
    };
    let cert = ca.issue(&request, profile, SystemTime::now(), DAY * days)?;
    Ok(write_new(out, certificate_to_pem(&cert)?.as_bytes())?)
}

/// A CRL revoking the certificates `revoke` as of now, valid `days`, written to `out`.
pub fn crl(ca: &CaFiles<'_>, revoke: &[PathBuf], days: u32, out: &Path) -> crate::Result<()> {
    let now = SystemTime::now();
    let ca = load_ca(ca)?;
    let revoked = revoke
        .iter()
        .map(|path| Ok((load_cert(path)?.tbs_certificate.serial_number, now)))
        .collect::<Result<Vec<_>>>()?;
    let crl = ca.crl(&revoked, now, now + DAY * days)?;
    std::fs::write(out, crl_to_pem(&crl)?).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// How to seal a file.
pub struct SealRequest<'a> {
    /// The signer's key.
    pub key: &'a Path,
    /// Its PIN, when encrypted.
    pub pin: PinSource<'a>,
    /// The signer's certificate.
    pub cert: &'a Path,
    /// The recipients' certificates.
    pub recipients: &'a [PathBuf],
    /// Sign RSA with PSS instead of PKCS #1 v1.5.
    pub pss: bool,
    /// Wrap for RSA recipients with PKCS #1 v1.5 instead of OAEP.
    pub pkcs1: bool,
    /// Encrypt with AES-256-GCM instead of AES-256-CBC.
    pub gcm: bool,
}

/// Signs and encrypts `input` into `output` (written only when complete).
pub fn seal(request: &SealRequest<'_>, input: &Path, output: &Path) -> crate::Result<()> {
    let mut signer = Signer::new(
        load_key(request.key, request.pin)?,
        load_cert(request.cert)?,
    )?;
    if request.pss {
        signer = signer.with_scheme(SignatureScheme::RsaPss)?;
    }
    let recipients = request
        .recipients
        .iter()
        .map(|path| {
            let cert = load_cert(path)?;
            let rsa = matches!(
                kx_crypto::PublicKey::of(&cert)?,
                kx_crypto::PublicKey::Rsa(_)
            );
            Ok(if request.pkcs1 && rsa {
                Recipient::with_transport(cert, KeyTransport::RsaPkcs1v15)?
            } else {
                Recipient::new(cert)?
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let content = if request.gcm {
        ContentEncryption::Aes256Gcm
    } else {
        ContentEncryption::Aes256Cbc
    };
    let options = SealOptions {
        content,
        signing_time: SystemTime::now(),
    };
    let reader = BufReader::with_capacity(BUFFER, open_input(input)?);
    let mut out = Spool::new(output)?;
    kx_crypto::seal(&signer, &recipients, options, reader, &mut out.writer)?;
    out.release()?;
    Ok(())
}

/// How to open a sealed file.
pub struct OpenRequest<'a> {
    /// The recipient's key.
    pub key: &'a Path,
    /// Its PIN, when encrypted.
    pub pin: PinSource<'a>,
    /// The recipient's certificate, to pick its entry among several.
    pub cert: Option<&'a Path>,
    /// The trust anchors the signer must chain to.
    pub trust: &'a [PathBuf],
    /// CRLs to check the signer against.
    pub crls: &'a [PathBuf],
}

/// Decrypts and verifies `input` into `output` (released only once the signature verified).
pub fn open(request: &OpenRequest<'_>, input: &Path, output: &Path) -> crate::Result<()> {
    let private = load_key(request.key, request.pin)?;
    let cert = request.cert.map(load_cert).transpose()?;
    let mut anchors = Vec::new();
    for path in request.trust {
        anchors.extend(parse_certificates(&read(path)?)?);
    }
    let crls = request
        .crls
        .iter()
        .map(|p| Ok(crl_from_pem_or_der(&read(p)?)?))
        .collect::<Result<Vec<_>>>()?;
    let trust = TrustStore::new(anchors).with_crls(crls);
    let reader = BufReader::with_capacity(BUFFER, open_input(input)?);
    let receiver = Receiver {
        key: &private,
        cert: cert.as_ref(),
    };
    kx_crypto::open(
        reader,
        receiver,
        &trust,
        SystemTime::now(),
        Spool::new(output)?,
    )?;
    Ok(())
}

/// Output written to a temporary file beside its destination and renamed into place only
/// when released; dropped unreleased, the temporary file is deleted.
struct Spool {
    writer: BufWriter<tempfile::NamedTempFile>,
    dest: PathBuf,
}

impl Spool {
    fn new(dest: &Path) -> Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(Self {
            writer: BufWriter::with_capacity(BUFFER, tmp),
            dest: dest.to_owned(),
        })
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer.flush()
    }
}

impl Quarantine for Spool {
    type Released = PathBuf;

    fn release(self) -> std::io::Result<PathBuf> {
        let tmp = self.writer.into_inner().map_err(|e| e.into_error())?;
        tmp.persist(&self.dest).map_err(|e| e.error)?;
        Ok(self.dest)
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn open_input(path: &Path) -> Result<File> {
    File::open(path).with_context(|| format!("opening {}", path.display()))
}

fn write_new(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

fn load_key(path: &Path, pin: PinSource<'_>) -> Result<PrivateKey> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        Ok(decrypt_key(&bytes, &pin().map_err(anyhow::Error::new)?)?)
    } else if text.contains("-----BEGIN PRIVATE KEY-----") {
        Ok(PrivateKey::from_pkcs8_pem(&text)?)
    } else {
        bail!("{}: not a PKCS#8 PEM private key", path.display())
    }
}

fn load_cert(path: &Path) -> Result<Certificate> {
    certificate_from_pem_or_der(&read(path)?)
        .with_context(|| format!("reading the certificate {}", path.display()))
}

fn load_ca(ca: &CaFiles<'_>) -> Result<CertificateAuthority> {
    Ok(CertificateAuthority::new(
        load_key(ca.key, ca.pin)?,
        load_cert(ca.cert)?,
    )?)
}
