//! The private key under a PIN: PKCS#8 `EncryptedPrivateKeyInfo` with PBES2 (scrypt,
//! AES-256-CBC), readable by `openssl pkcs8`.
//!
//! # What a 4-digit PIN does and does not protect against
//!
//! The spec fixes the PIN at 4 digits (§5, E1005): 10,000 possibilities. No key-derivation
//! cost makes that a secret against someone who has *copied the key file*: at the default
//! cost below (scrypt N = 2^14, r = 8, p = 8: about 0.2 s and 16 MiB per guess on the
//! project's machines) one core tries every PIN in well under an hour, and a few cores in
//! minutes. What the PIN does give:
//!
//! - a casual user of the same PC, or a stolen backup examined without effort, cannot use the
//!   key without the PIN;
//! - the key is never on disk in the clear, so it does not leak through careless copies,
//!   search indexes or logs;
//! - every guess costs real time and memory, so guessing is not free and not instant.
//!
//! What it does not give: protection against an attacker who holds the file and is willing to
//! spend an hour of CPU, or malware on the PC (which can read the PIN as it is typed). Those
//! are answered outside this crate: file permissions on the key, and revoking the office
//! certificate (the CA's CRL) when a PC is lost, after which a recovered key is useless for new
//! exchanges.
//!
//! Why N = 2^14 and not more memory: OpenSSL 3.0 refuses scrypt parameters needing more than
//! 32 MiB when decrypting PKCS#8 (`openssl pkcs8` must open our files), so the extra cost is
//! bought with parallelism p = 8 instead, which costs time but not memory.

pub mod file;

use der::Decode;
use pkcs8::pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::PrivateKey;

/// PEM label of an encrypted key file.
const PEM_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// A 4-digit PIN, wiped from memory on drop.
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Accepts exactly four ASCII digits (the app's E1005 rule).
    pub fn new(pin: &str) -> Result<Self> {
        if pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(Zeroizing::new(pin.to_owned())))
        } else {
            Err(Error::PinFormat)
        }
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// scrypt cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    /// log2 of the CPU/memory cost N.
    pub log_n: u8,
    /// Block size r.
    pub r: u32,
    /// Parallelism p.
    pub p: u32,
}

impl KdfCost {
    /// The default for key files: see the module documentation for why.
    pub const DEFAULT: Self = Self {
        log_n: 14,
        r: 8,
        p: 8,
    };
    /// A cheap cost for tests and throw-away demo keys only.
    pub const INSECURE_FAST: Self = Self {
        log_n: 10,
        r: 8,
        p: 1,
    };
}

/// Fresh PBES2 parameters (scrypt at `cost`, AES-256-CBC, random salt and IV).
fn fresh_parameters<'a>(
    cost: KdfCost,
    salt: &'a mut [u8; 16],
    iv: &'a mut [u8; 16],
) -> Result<pbes2::Parameters<'a>> {
    OsRng.fill_bytes(salt);
    OsRng.fill_bytes(iv);
    let scrypt = pkcs8::pkcs5::scrypt::Params::new(cost.log_n, cost.r, cost.p, 32)
        .map_err(|_| Error::Key("invalid scrypt parameters".into()))?;
    pbes2::Parameters::scrypt_aes256cbc(scrypt, salt, iv).map_err(|e| Error::Key(e.to_string()))
}

/// Encrypts `key` under `pin`, returning the PEM text of the `EncryptedPrivateKeyInfo`.
pub fn encrypt_key(key: &PrivateKey, pin: &Pin, cost: KdfCost) -> Result<Zeroizing<String>> {
    let (mut salt, mut iv) = ([0u8; 16], [0u8; 16]);
    let params = fresh_parameters(cost, &mut salt, &mut iv)?;
    let der = key.to_pkcs8_der()?;
    let encrypted = PrivateKeyInfo::from_der(&der)?
        .encrypt_with_params(params, pin.0.as_bytes())
        .map_err(|e| Error::Key(e.to_string()))?;
    let pem = der::pem::encode_string(PEM_LABEL, der::pem::LineEnding::LF, encrypted.as_bytes())
        .map_err(der::Error::from)?;
    Ok(Zeroizing::new(pem))
}

/// PEM label of a secret sealed with [`seal_secret`].
const SECRET_LABEL: &str = "KX ENCRYPTED SECRET";

/// Prefixed to a secret before encryption so that a wrong PIN is told apart from a right one
/// (CBC padding alone lets one wrong PIN in 256 through).
const SECRET_MAGIC: &[u8] = b"KXS1";

/// Encrypts a small secret (e.g. the server password the app logs in with) under `pin`, with
/// the same PBES2 scrypt + AES-256-CBC as key files, so it is exactly as safe as the key beside
/// it: see the module documentation for what a 4-digit PIN does and does not protect against.
///
/// The result is PEM (`KX ENCRYPTED SECRET`) around the DER of an
/// `EncryptedPrivateKeyInfo`-shaped structure (algorithm, ciphertext).
pub fn seal_secret(secret: &[u8], pin: &Pin, cost: KdfCost) -> Result<String> {
    let (mut salt, mut iv) = ([0u8; 16], [0u8; 16]);
    let params = fresh_parameters(cost, &mut salt, &mut iv)?;
    let mut plain = Zeroizing::new(SECRET_MAGIC.to_vec());
    plain.extend_from_slice(secret);
    let scheme = pkcs8::pkcs5::EncryptionScheme::from(params);
    let ciphertext = scheme
        .encrypt(pin.0.as_bytes(), &plain)
        .map_err(|e| Error::Key(e.to_string()))?;
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: scheme,
        encrypted_data: &ciphertext,
    };
    let der = der::Encode::to_der(&info)?;
    Ok(
        der::pem::encode_string(SECRET_LABEL, der::pem::LineEnding::LF, &der)
            .map_err(der::Error::from)?,
    )
}

/// Decrypts a secret sealed with [`seal_secret`]; a wrong PIN is [`Error::WrongPin`].
pub fn open_secret(sealed: &str, pin: &Pin) -> Result<Zeroizing<Vec<u8>>> {
    let (label, doc) = der::Document::from_pem(sealed)?;
    if label != SECRET_LABEL {
        return Err(Error::Key(format!(
            "expected a {SECRET_LABEL}, found {label}"
        )));
    }
    let info = EncryptedPrivateKeyInfo::from_der(doc.as_bytes())?;
    let plain = Zeroizing::new(
        info.encryption_algorithm
            .decrypt(pin.0.as_bytes(), info.encrypted_data)
            .map_err(|_| Error::WrongPin)?,
    );
    match plain.strip_prefix(SECRET_MAGIC) {
        Some(secret) => Ok(Zeroizing::new(secret.to_vec())),
        None => Err(Error::WrongPin),
    }
}

/// Decrypts an encrypted key file (PEM or DER) with `pin`.
pub fn decrypt_key(file: &[u8], pin: &Pin) -> Result<PrivateKey> {
    let der = match std::str::from_utf8(file) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => {
            let (label, doc) = der::Document::from_pem(text)?;
            if label != PEM_LABEL {
                return Err(Error::Key(format!(
                    "expected an {PEM_LABEL}, found {label}"
                )));
            }
            doc.as_bytes().to_vec()
        }
        _ => file.to_vec(),
    };
    let info = EncryptedPrivateKeyInfo::from_der(&der)?;
    let plain = info
        .decrypt(pin.0.as_bytes())
        .map_err(|_| Error::WrongPin)?;
    // A wrong PIN passes the CBC padding check about once in 256 tries; the key structure
    // then fails to parse, which is the same answer.
    PrivateKey::from_pkcs8_der(plain.as_bytes()).map_err(|_| Error::WrongPin)
}

/// Re-encrypts a key file under a new PIN (fresh salt and IV).
pub fn change_pin(file: &[u8], old: &Pin, new: &Pin, cost: KdfCost) -> Result<Zeroizing<String>> {
    encrypt_key(&decrypt_key(file, old)?, new, cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyKind;

    #[test]
    fn pin_must_be_four_digits() {
        for bad in ["123", "12345", "12a4", "１２３４", ""] {
            assert!(matches!(Pin::new(bad), Err(Error::PinFormat)), "{bad}");
        }
        assert!(Pin::new("0000").is_ok());
    }

    #[test]
    fn key_round_trips_and_wrong_pin_is_refused() -> Result<()> {
        let key = PrivateKey::generate(KeyKind::P256)?;
        let file = encrypt_key(&key, &Pin::new("1234")?, KdfCost::INSECURE_FAST)?;
        assert!(file.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = decrypt_key(file.as_bytes(), &Pin::new("1234")?)?;
        assert_eq!(back.public_key(), key.public_key());
        let err = decrypt_key(file.as_bytes(), &Pin::new("1235")?).expect_err("wrong PIN");
        assert!(matches!(err, Error::WrongPin), "{err}");
        let changed = change_pin(
            file.as_bytes(),
            &Pin::new("1234")?,
            &Pin::new("9876")?,
            KdfCost::INSECURE_FAST,
        )?;
        assert!(decrypt_key(changed.as_bytes(), &Pin::new("1234")?).is_err());
        assert_eq!(
            decrypt_key(changed.as_bytes(), &Pin::new("9876")?)?.public_key(),
            key.public_key()
        );
        Ok(())
    }

    #[test]
    fn secrets_round_trip_under_the_pin() -> Result<()> {
        let sealed = seal_secret(b"Temp-Pass-123", &Pin::new("1234")?, KdfCost::INSECURE_FAST)?;
        assert!(sealed.starts_with("-----BEGIN KX ENCRYPTED SECRET-----"));
        assert_eq!(
            open_secret(&sealed, &Pin::new("1234")?)?.as_slice(),
            b"Temp-Pass-123"
        );
        for wrong in ["0000", "1235", "4321"] {
            let err = open_secret(&sealed, &Pin::new(wrong)?).expect_err("wrong PIN");
            assert!(matches!(err, Error::WrongPin), "{err}");
        }
        Ok(())
    }
}
