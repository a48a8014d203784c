//! `kx crypto …`: keys, requests, the society CA, and sealing / opening files, for operators
//! and interop tests.
//!
//! PINs are never taken on the command line (they would show in the process list and shell
//! history): an encrypted key's PIN comes from the environment variable named by `--pin-env`
//! (default `KX_PIN`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use kx_crypto::keystore::{KdfCost, Pin, decrypt_key, encrypt_key};
use kx_crypto::{
    Certificate, CertificateAuthority, ContentEncryption, KeyKind, KeyTransport, PrivateKey,
    Profile, Quarantine, Receiver, Recipient, SealOptions, SignatureScheme, Signer, TrustStore,
    certificate_from_pem_or_der, certificate_request, certificate_to_pem, crl_from_pem_or_der,
    crl_to_pem, parse_certificates, private_key_to_pem, request_from_pem_or_der, request_to_pem,
};
use kx_exchange::Code;

const DAY: Duration = Duration::from_secs(86_400);
/// I/O buffer: large enough that system calls do not show in the throughput.
const BUFFER: usize = 1 << 20;

/// The `kx crypto` subcommands.
#[derive(Subcommand)]
pub(crate) enum CryptoCommand {
    /// Generate a private key (P-256 unless --rsa); encrypted under a PIN with --pin-env.
    Keygen {
        /// RSA with this many bits instead of P-256.
        #[arg(long)]
        rsa: Option<usize>,
        /// Encrypt the key under the 4-digit PIN in this environment variable.
        #[arg(long)]
        pin_env: Option<String>,
        /// A cheap PIN key derivation, for throw-away demo and test keys only.
        #[arg(long, requires = "pin_env")]
        insecure_fast_kdf: bool,
        /// Where to write the PEM key (must not exist).
        out: PathBuf,
    },
    /// Write a PKCS#10 certificate request for a key.
    Csr {
        #[command(flatten)]
        key: KeyArgs,
        /// Subject, RFC 4514 text, e.g. "CN=Office 0001,O=Example Society".
        #[arg(long)]
        subject: String,
        /// Where to write the PEM request.
        out: PathBuf,
    },
    /// Create a society CA: a self-signed root certificate for a key.
    CaInit {
        #[command(flatten)]
        key: KeyArgs,
        /// Subject of the CA.
        #[arg(long)]
        subject: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
        /// Where to write the PEM certificate.
        out: PathBuf,
    },
    /// Issue a certificate from a PKCS#10 request.
    Issue {
        #[command(flatten)]
        ca: CaArgs,
        /// The request (PEM or DER).
        #[arg(long)]
        csr: PathBuf,
        /// Issue a society certificate instead of an office one.
        #[arg(long)]
        society: bool,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// Where to write the PEM certificate.
        out: PathBuf,
    },
    /// Write a CRL revoking the given certificates.
    Crl {
        #[command(flatten)]
        ca: CaArgs,
        /// Certificates to revoke.
        #[arg(long)]
        revoke: Vec<PathBuf>,
        /// Days until the next CRL is due.
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Where to write the PEM CRL.
        out: PathBuf,
    },
    /// Sign IN with --key/--cert and encrypt it for every --recipient into OUT (CMS, DER).
    Seal {
        #[command(flatten)]
        key: KeyArgs,
        /// The signer's certificate.
        #[arg(long)]
        cert: PathBuf,
        /// A recipient's certificate (repeat for several).
        #[arg(long = "recipient", required = true)]
        recipients: Vec<PathBuf>,
        /// Sign with RSA-PSS instead of PKCS#1 v1.5 (RSA keys only).
        #[arg(long)]
        pss: bool,
        /// RSA recipients get PKCS#1 v1.5 key transport instead of OAEP.
        #[arg(long)]
        pkcs1: bool,
        /// AES-256-GCM (AuthEnvelopedData) instead of AES-256-CBC.
        #[arg(long)]
        gcm: bool,
        /// The file to seal.
        input: PathBuf,
        /// Where to write the sealed message.
        output: PathBuf,
    },
    /// Decrypt IN with --key, verify its signer against --trust, write the content to OUT.
    ///
    /// OUT appears only once everything verified; on failure it is not created.
    Open {
        #[command(flatten)]
        key: KeyArgs,
        /// Our certificate, to find our entry among several recipients.
        #[arg(long)]
        cert: Option<PathBuf>,
        /// Trusted CA certificates (PEM, one or more per file; repeatable).
        #[arg(long = "trust", required = true)]
        trust: Vec<PathBuf>,
        /// CRLs to check the signer's chain against.
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// The sealed message.
        input: PathBuf,
        /// Where to write the verified content.
        output: PathBuf,
    },
}

/// A private key file and, when it is encrypted, where its PIN comes from.
#[derive(Args)]
pub(crate) struct KeyArgs {
    /// The private key (PKCS#8 PEM, plain or encrypted).
    #[arg(long)]
    key: PathBuf,
    /// Environment variable holding the PIN of an encrypted key.
    #[arg(long, default_value = "KX_PIN")]
    pin_env: String,
}

/// The CA's key and certificate.
#[derive(Args)]
pub(crate) struct CaArgs {
    /// The CA's private key.
    #[arg(long)]
    ca_key: PathBuf,
    /// Environment variable holding the PIN of an encrypted CA key.
    #[arg(long, default_value = "KX_PIN")]
    ca_pin_env: String,
    /// The CA's certificate.
    #[arg(long)]
    ca_cert: PathBuf,
}

pub(crate) fn run(cmd: CryptoCommand) -> ExitCode {
    match execute(cmd) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<kx_crypto::Error>() {
                Some(err) => {
                    let code = Code::from(err.app_code());
                    eprintln!("kx crypto: {code}\n  {}\n  cause: {err:#}", code.english());
                }
                None => eprintln!("kx crypto: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn execute(cmd: CryptoCommand) -> Result<()> {
    let now = SystemTime::now();
    match cmd {
        CryptoCommand::Keygen {
            rsa,
            pin_env,
            insecure_fast_kdf,
            out,
        } => {
            let key = PrivateKey::generate(rsa.map_or(KeyKind::P256, KeyKind::Rsa))?;
            let cost = if insecure_fast_kdf {
                KdfCost::INSECURE_FAST
            } else {
                KdfCost::DEFAULT
            };
            let pem = match pin_env {
                Some(var) => encrypt_key(&key, &pin_from(&var)?, cost)?,
                None => private_key_to_pem(&key)?,
            };
            write_new(&out, pem.as_bytes())
        }
        CryptoCommand::Csr { key, subject, out } => {
            let request = certificate_request(&load_key(&key.key, &key.pin_env)?, &subject)?;
            write_new(&out, request_to_pem(&request)?.as_bytes())
        }
        CryptoCommand::CaInit {
            key,
            subject,
            days,
            out,
        } => {
            let key = load_key(&key.key, &key.pin_env)?;
            let ca = CertificateAuthority::create_root(key, &subject, now, DAY * days)?;
            write_new(&out, certificate_to_pem(ca.certificate())?.as_bytes())
        }
        CryptoCommand::Issue {
            ca,
            csr,
            society,
            days,
            out,
        } => {
            let ca = load_ca(&ca)?;
            let request = request_from_pem_or_der(&read(&csr)?)?;
            let profile = if society {
                Profile::Society
            } else {
                Profile::Office
            };
            let cert = ca.issue(&request, profile, now, DAY * days)?;
            write_new(&out, certificate_to_pem(&cert)?.as_bytes())
        }
        CryptoCommand::Crl {
            ca,
            revoke,
            days,
            out,
        } => {
            let ca = load_ca(&ca)?;
            let revoked = revoke
                .iter()
                .map(|path| Ok((load_cert(path)?.tbs_certificate.serial_number, now)))
                .collect::<Result<Vec<_>>>()?;
            let crl = ca.crl(&revoked, now, now + DAY * days)?;
            std::fs::write(&out, crl_to_pem(&crl)?)
                .with_context(|| format!("writing {}", out.display()))
        }
        CryptoCommand::Seal {
            key,
            cert,
            recipients,
            pss,
            pkcs1,
            gcm,
            input,
            output,
        } => {
            let mut signer = Signer::new(load_key(&key.key, &key.pin_env)?, load_cert(&cert)?)?;
            if pss {
                signer = signer.with_scheme(SignatureScheme::RsaPss)?;
            }
            let recipients = recipients
                .iter()
                .map(|path| {
                    let cert = load_cert(path)?;
                    let rsa = matches!(
                        kx_crypto::PublicKey::of(&cert)?,
                        kx_crypto::PublicKey::Rsa(_)
                    );
                    Ok(if pkcs1 && rsa {
                        Recipient::with_transport(cert, KeyTransport::RsaPkcs1v15)?
                    } else {
                        Recipient::new(cert)?
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let content = if gcm {
                ContentEncryption::Aes256Gcm
            } else {
                ContentEncryption::Aes256Cbc
            };
            let options = SealOptions {
                content,
                signing_time: now,
            };
            let reader = BufReader::with_capacity(BUFFER, open_input(&input)?);
            let mut out = Spool::new(&output)?;
            kx_crypto::seal(&signer, &recipients, options, reader, &mut out.writer)?;
            out.release()?;
            Ok(())
        }
        CryptoCommand::Open {
            key,
            cert,
            trust,
            crl,
            input,
            output,
        } => {
            let private = load_key(&key.key, &key.pin_env)?;
            let cert = cert.as_deref().map(load_cert).transpose()?;
            let mut anchors = Vec::new();
            for path in &trust {
                anchors.extend(parse_certificates(&read(path)?)?);
            }
            let crls = crl
                .iter()
                .map(|p| Ok(crl_from_pem_or_der(&read(p)?)?))
                .collect::<Result<Vec<_>>>()?;
            let trust = TrustStore::new(anchors).with_crls(crls);
            let reader = BufReader::with_capacity(BUFFER, open_input(&input)?);
            let receiver = Receiver {
                key: &private,
                cert: cert.as_ref(),
            };
            kx_crypto::open(reader, receiver, &trust, now, Spool::new(&output)?)?;
            Ok(())
        }
    }
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

fn pin_from(var: &str) -> Result<Pin> {
    let pin =
        std::env::var(var).map_err(|_| anyhow!("set the PIN in the environment variable {var}"))?;
    Ok(Pin::new(&pin)?)
}

fn load_key(path: &Path, pin_env: &str) -> Result<PrivateKey> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        Ok(decrypt_key(&bytes, &pin_from(pin_env)?)?)
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

fn load_ca(args: &CaArgs) -> Result<CertificateAuthority> {
    Ok(CertificateAuthority::new(
        load_key(&args.ca_key, &args.ca_pin_env)?,
        load_cert(&args.ca_cert)?,
    )?)
}
