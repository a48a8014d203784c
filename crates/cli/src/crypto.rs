//! `kx crypto …`: keys, requests, the society CA, and sealing / opening files, for operators
//! and interop tests.
//!
//! PINs are never taken on the command line (they would show in the process list and shell
//! history): an encrypted key's PIN comes from the environment variable named by `--pin-env`
//! (default `KX_PIN`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kx_client::crypto;
use kx_client::kx_crypto::keystore::{KdfCost, Pin};
use kx_client::kx_crypto::{self, KeyKind};
use kx_client::kx_exchange::Code;

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
            let crypto = match &e {
                kx_client::Error::Other(cause) => cause.downcast_ref::<kx_crypto::Error>(),
                _ => None,
            };
            match crypto {
                Some(err) => {
                    let code = Code::from(err.app_code());
                    eprintln!("kx crypto: {code}\n  {}\n  cause: {err:#}", code.english());
                    eprintln!("対応方法: {}", code.remedy());
                    eprintln!("What to do: {}", code.remedy_english());
                }
                None => eprintln!("kx crypto: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn execute(cmd: CryptoCommand) -> kx_client::Result<()> {
    match cmd {
        CryptoCommand::Keygen {
            rsa,
            pin_env,
            insecure_fast_kdf,
            out,
        } => {
            let cost = if insecure_fast_kdf {
                KdfCost::INSECURE_FAST
            } else {
                KdfCost::DEFAULT
            };
            let pin = pin_env.as_deref().map(pin_from).transpose()?;
            let kind = rsa.map_or(KeyKind::P256, KeyKind::Rsa);
            crypto::keygen(kind, pin.as_ref(), cost, &out)
        }
        CryptoCommand::Csr { key, subject, out } => {
            crypto::request(&key.key, &|| pin_from(&key.pin_env), &subject, &out)
        }
        CryptoCommand::CaInit {
            key,
            subject,
            days,
            out,
        } => crypto::ca_init(&key.key, &|| pin_from(&key.pin_env), &subject, days, &out),
        CryptoCommand::Issue {
            ca,
            csr,
            society,
            days,
            out,
        } => crypto::issue(
            &ca.files(&|| pin_from(&ca.ca_pin_env)),
            &csr,
            society,
            days,
            &out,
        ),
        CryptoCommand::Crl {
            ca,
            revoke,
            days,
            out,
        } => crypto::crl(&ca.files(&|| pin_from(&ca.ca_pin_env)), &revoke, days, &out),
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
            let request = crypto::SealRequest {
                key: &key.key,
                pin: &|| pin_from(&key.pin_env),
                cert: &cert,
                recipients: &recipients,
                pss,
                pkcs1,
                gcm,
            };
            crypto::seal(&request, &input, &output)
        }
        CryptoCommand::Open {
            key,
            cert,
            trust,
            crl,
            input,
            output,
        } => {
            let request = crypto::OpenRequest {
                key: &key.key,
                pin: &|| pin_from(&key.pin_env),
                cert: cert.as_deref(),
                trust: &trust,
                crls: &crl,
            };
            crypto::open(&request, &input, &output)
        }
    }
}

impl CaArgs {
    fn files<'a>(&'a self, pin: crypto::PinSource<'a>) -> crypto::CaFiles<'a> {
        crypto::CaFiles {
            key: &self.ca_key,
            pin,
            cert: &self.ca_cert,
        }
    }
}

/// The PIN in the environment variable `var`.
fn pin_from(var: &str) -> kx_client::Result<Pin> {
    let pin = std::env::var(var).map_err(|_| {
        kx_client::Error::Usage(format!("set the PIN in the environment variable {var}"))
    })?;
    Ok(Pin::new(&pin)?)
}
