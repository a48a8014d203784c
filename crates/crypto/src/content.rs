//! Content encryption, streamed: AES-256-CBC (EnvelopedData) and AES-256-GCM
//! (AuthEnvelopedData).
//!
//! Both work block-wise in place on buffers the caller fills, so the envelope never holds more
//! than one segment of the file. GCM is assembled from AES-CTR and GHASH because the AEAD
//! crates only take whole messages.

use aes::Aes256;
use aes::cipher::inout::InOutBuf;
use aes::cipher::{
    BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit, StreamCipher,
};
use der::asn1::{Any, OctetString};
use der::{Decode, Encode, Sequence};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use rand_core::{OsRng, RngCore};
use spki::AlgorithmIdentifierOwned;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::oid;

/// AES block size.
pub(crate) const BLOCK: usize = 16;
/// Length of the content-encryption key (AES-256).
pub(crate) const KEY_LEN: usize = 32;
/// GCM tag length we produce (and the longest we accept).
const TAG_LEN: usize = 16;
/// GCM nonce length (the only one with the fast J0 derivation).
const NONCE_LEN: usize = 12;

/// The content cipher of a sealed message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ContentEncryption {
    /// AES-256-CBC in EnvelopedData: what every CMS implementation reads.
    #[default]
    Aes256Cbc,
    /// AES-256-GCM in AuthEnvelopedData (RFC 5083): authenticated, faster.
    Aes256Gcm,
}

/// `GCMParameters` (RFC 5084).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct GcmParameters {
    nonce: OctetString,
    #[asn1(default = "default_icv_len")]
    icv_len: u8,
}

fn default_icv_len() -> u8 {
    12
}

/// `data` as AES blocks; callers pass whole blocks only.
fn whole_blocks(data: &mut [u8]) -> InOutBuf<'_, '_, aes::Block> {
    debug_assert_eq!(data.len() % BLOCK, 0);
    InOutBuf::from(data).into_chunks().0
}

/// A fresh random content-encryption key.
pub(crate) fn random_key() -> Zeroizing<[u8; KEY_LEN]> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(key.as_mut());
    key
}

struct Gcm {
    ctr: ctr::Ctr32BE<Aes256>,
    ghash: GHash,
    tag_mask: [u8; BLOCK],
    len: u64,
}

impl Gcm {
    fn new(key: &[u8; KEY_LEN], nonce: &[u8; NONCE_LEN]) -> Self {
        let aes = Aes256::new(key.into());
        let mut h = aes::Block::default();
        aes.encrypt_block(&mut h);
        let mut j0 = aes::Block::default();
        j0[..NONCE_LEN].copy_from_slice(nonce);
        j0[BLOCK - 1] = 1;
        let mut tag_mask = j0;
        aes.encrypt_block(&mut tag_mask);
        let mut counter = j0;
        counter[BLOCK - 1] = 2;
        Self {
            ctr: ctr::Ctr32BE::<Aes256>::new(key.into(), &counter),
            ghash: GHash::new(&h),
            tag_mask: tag_mask.into(),
            len: 0,
        }
    }

    /// Authenticates ciphertext; every call but the last must be whole blocks.
    fn absorb(&mut self, ciphertext: &[u8]) {
        self.ghash.update_padded(ciphertext);
        self.len += ciphertext.len() as u64;
    }

    fn tag(self) -> [u8; BLOCK] {
        let mut ghash = self.ghash;
        let mut lengths = ghash::Block::default();
        lengths[8..].copy_from_slice(&(self.len * 8).to_be_bytes());
        ghash.update(&[lengths]);
        let mut tag: [u8; BLOCK] = ghash.finalize().into();
        tag.iter_mut().zip(self.tag_mask).for_each(|(t, m)| *t ^= m);
        tag
    }
}

enum EncState {
    Cbc(Box<cbc::Encryptor<Aes256>>),
    Gcm(Box<Gcm>),
}

/// Encrypts content as it streams by.
pub(crate) struct Encryptor {
    state: EncState,
    algorithm: AlgorithmIdentifierOwned,
}

impl Encryptor {
    /// A cipher under `key` with a fresh random IV or nonce.
    pub(crate) fn new(kind: ContentEncryption, key: &[u8; KEY_LEN]) -> Result<Self> {
        Ok(match kind {
            ContentEncryption::Aes256Cbc => {
                let mut iv = [0u8; BLOCK];
                OsRng.fill_bytes(&mut iv);
                Self {
                    state: EncState::Cbc(Box::new(cbc::Encryptor::new(key.into(), &iv.into()))),
                    algorithm: AlgorithmIdentifierOwned {
                        oid: oid::AES256_CBC,
                        parameters: Some(Any::from_der(&OctetString::new(iv)?.to_der()?)?),
                    },
                }
            }
            ContentEncryption::Aes256Gcm => {
                let mut nonce = [0u8; NONCE_LEN];
                OsRng.fill_bytes(&mut nonce);
                let params = GcmParameters {
                    nonce: OctetString::new(nonce)?,
                    icv_len: TAG_LEN as u8,
                };
                Self {
                    state: EncState::Gcm(Box::new(Gcm::new(key, &nonce))),
                    algorithm: AlgorithmIdentifierOwned {
                        oid: oid::AES256_GCM,
                        parameters: Some(Any::from_der(&params.to_der()?)?),
                    },
                }
            }
        })
    }

    /// The `contentEncryptionAlgorithm` to write into the envelope.
    pub(crate) fn algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    /// Encrypts whole blocks in place.
    pub(crate) fn blocks(&mut self, data: &mut [u8]) {
        debug_assert_eq!(data.len() % BLOCK, 0);
        match &mut self.state {
            EncState::Cbc(c) => c.encrypt_blocks_inout_mut(whole_blocks(data)),
            EncState::Gcm(g) => {
                g.ctr.apply_keystream(data);
                g.absorb(data);
            }
        }
    }

    /// Encrypts the final partial block (padding it for CBC) and returns the GCM tag, if any.
    pub(crate) fn finish(mut self, tail: &mut Vec<u8>) -> Option<[u8; BLOCK]> {
        match self.state {
            EncState::Cbc(_) => {
                let pad = BLOCK - tail.len() % BLOCK;
                tail.resize(tail.len() + pad, pad as u8);
                self.blocks(tail);
                None
            }
            EncState::Gcm(mut g) => {
                g.ctr.apply_keystream(tail);
                g.absorb(tail);
                Some(g.tag())
            }
        }
    }
}

enum DecState {
    Cbc(Box<cbc::Decryptor<Aes256>>),
    Gcm { gcm: Box<Gcm>, tag_len: usize },
}

/// Decrypts content as it streams by.
pub(crate) struct Decryptor {
    state: DecState,
}

impl Decryptor {
    /// Recognises the `contentEncryptionAlgorithm`; `authenticated` says whether the envelope
    /// was AuthEnvelopedData, which must use an AEAD and only an AEAD.
    pub(crate) fn check(algorithm: &AlgorithmIdentifierOwned, authenticated: bool) -> Result<()> {
        match (algorithm.oid, authenticated) {
            (oid::AES256_CBC, false) | (oid::AES256_GCM, true) => Ok(()),
            (other, _) => Err(Error::Unsupported(format!("content encryption {other}"))),
        }
    }

    /// A decryptor for `algorithm` (already [`Decryptor::check`]ed) under `key`.
    pub(crate) fn new(algorithm: &AlgorithmIdentifierOwned, key: &[u8]) -> Result<Self> {
        let key: &[u8; KEY_LEN] = key
            .try_into()
            .map_err(|_| Error::Decrypt("content-encryption key has the wrong length"))?;
        let params = algorithm
            .parameters
            .as_ref()
            .ok_or(Error::Malformed("content encryption without parameters"))?
            .to_der()?;
        Ok(Self {
            state: match algorithm.oid {
                oid::AES256_CBC => {
                    let iv = OctetString::from_der(&params)?;
                    let iv: &[u8; BLOCK] = iv
                        .as_bytes()
                        .try_into()
                        .map_err(|_| Error::Malformed("CBC IV length"))?;
                    DecState::Cbc(Box::new(cbc::Decryptor::new(key.into(), iv.into())))
                }
                oid::AES256_GCM => {
                    let params = GcmParameters::from_der(&params)?;
                    let nonce: &[u8; NONCE_LEN] =
                        params.nonce.as_bytes().try_into().map_err(|_| {
                            Error::Unsupported("GCM nonce other than 12 bytes".into())
                        })?;
                    let tag_len = usize::from(params.icv_len);
                    if !(12..=TAG_LEN).contains(&tag_len) {
                        return Err(Error::Unsupported("GCM tag shorter than 12 bytes".into()));
                    }
                    DecState::Gcm {
                        gcm: Box::new(Gcm::new(key, nonce)),
                        tag_len,
                    }
                }
                other => return Err(Error::Unsupported(format!("content encryption {other}"))),
            },
        })
    }

    /// Plaintext bytes at the end of what [`Decryptor::blocks`] produced that may still turn
    /// out to be padding.
    pub(crate) fn held_back(&self) -> usize {
        match self.state {
            DecState::Cbc(_) => BLOCK,
            DecState::Gcm { .. } => 0,
        }
    }

    /// Decrypts whole blocks in place.
    pub(crate) fn blocks(&mut self, data: &mut [u8]) {
        match &mut self.state {
            // Unlike encryption, CBC decryption runs several blocks in parallel.
            DecState::Cbc(c) => c.decrypt_blocks_inout_mut(whole_blocks(data)),
            DecState::Gcm { gcm, .. } => {
                gcm.absorb(data);
                gcm.ctr.apply_keystream(data);
            }
        }
    }

    /// Decrypts the partial tail in place (GCM only; CBC content is whole blocks).
    pub(crate) fn tail(&mut self, data: &mut [u8]) -> Result<()> {
        match &mut self.state {
            DecState::Cbc(_) if data.is_empty() => Ok(()),
            DecState::Cbc(_) => Err(Error::Decrypt(
                "CBC ciphertext is not a whole number of blocks",
            )),
            DecState::Gcm { .. } => {
                self.blocks(data);
                Ok(())
            }
        }
    }

    /// For CBC: the number of padding bytes at the end of `last_block`, checked.
    pub(crate) fn padding(&self, plaintext: &[u8]) -> Result<usize> {
        match self.state {
            DecState::Gcm { .. } => Ok(0),
            DecState::Cbc(_) => {
                let last = plaintext
                    .len()
                    .checked_sub(BLOCK)
                    .map(|start| &plaintext[start..]);
                let Some(last) = last else {
                    return Err(Error::Decrypt("CBC ciphertext is empty"));
                };
                let pad = usize::from(last[BLOCK - 1]);
                if pad == 0
                    || pad > BLOCK
                    || last[BLOCK - pad..].iter().any(|&b| usize::from(b) != pad)
                {
                    return Err(Error::Decrypt(
                        "bad CBC padding (wrong key or altered ciphertext)",
                    ));
                }
                Ok(pad)
            }
        }
    }

    /// For GCM: checks the authentication tag (the `mac` of AuthEnvelopedData).
    pub(crate) fn verify_tag(self, mac: Option<&[u8]>) -> Result<()> {
        match (self.state, mac) {
            (DecState::Cbc(_), None) => Ok(()),
            (DecState::Gcm { gcm, tag_len }, Some(mac)) if mac.len() == tag_len => {
                if bool::from(gcm.tag()[..tag_len].ct_eq(mac)) {
                    Ok(())
                } else {
                    Err(Error::Decrypt(
                        "GCM authentication tag mismatch (ciphertext altered)",
                    ))
                }
            }
            _ => Err(Error::Malformed(
                "authentication tag missing or of the wrong length",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gcm_reference(
        key: &[u8; KEY_LEN],
        nonce: &[u8; NONCE_LEN],
        pt: &[u8],
    ) -> (Vec<u8>, [u8; BLOCK]) {
        let mut g = Gcm::new(key, nonce);
        let mut ct = pt.to_vec();
        g.ctr.apply_keystream(&mut ct);
        g.absorb(&ct);
        (ct, g.tag())
    }

    #[test]
    fn gcm_matches_nist_test_case_14() {
        // NIST GCM spec test case 14: 256-bit zero key, zero IV, one zero block.
        let (ct, tag) = gcm_reference(&[0; 32], &[0; 12], &[0; 16]);
        assert_eq!(ct, hex("cea7403d4d606b6e074ec5d3baf39d18"));
        assert_eq!(tag.to_vec(), hex("d0d1c8a799996bf0265b98b5d48ab919"));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex literal"))
            .collect()
    }

    #[test]
    fn streamed_encryption_decrypts_for_both_ciphers() -> Result<()> {
        for kind in [ContentEncryption::Aes256Cbc, ContentEncryption::Aes256Gcm] {
            let key = random_key();
            let mut enc = Encryptor::new(kind, &key)?;
            let alg = enc.algorithm().clone();
            let mut head = vec![7u8; 64];
            enc.blocks(&mut head);
            let mut tail = b"tail".to_vec();
            let tag = enc.finish(&mut tail);
            let mut dec = Decryptor::new(&alg, key.as_ref())?;
            dec.blocks(&mut head);
            assert_eq!(head, vec![7u8; 64]);
            let whole = tail.len() / BLOCK * BLOCK;
            dec.blocks(&mut tail[..whole]);
            dec.tail(&mut tail[whole..])?;
            let pad = dec.padding(&tail)?;
            assert_eq!(&tail[..tail.len() - pad], b"tail");
            dec.verify_tag(tag.as_ref().map(|t| &t[..]))?;
        }
        Ok(())
    }
}
