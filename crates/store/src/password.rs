//! argon2id password hashes.

use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::Error;
use crate::config::PasswordParams;

/// Hashes and verifies passwords off the async threads (a hash takes tens of milliseconds).
#[derive(Debug)]
pub(crate) struct Passwords {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when there is no real one, so an
    /// unknown account costs as much as a known one.
    decoy: String,
    /// How many hashes ran; tests prove unknown accounts are hashed too.
    #[cfg(test)]
    pub(crate) runs: AtomicU64,
}

impl Passwords {
    /// Prepares the hasher and its decoy hash.
    pub(crate) fn new(params: PasswordParams) -> Result<Arc<Passwords>, Error> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| Error::Password(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy = hash_with(&argon2, SaltString::generate(&mut OsRng).as_str())?;
        Ok(Arc::new(Passwords {
            argon2,
            decoy,
            #[cfg(test)]
            runs: AtomicU64::new(0),
        }))
    }

    /// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of `password`.
    pub(crate) async fn hash(self: &Arc<Self>, password: &str) -> Result<String, Error> {
        let this = Arc::clone(self);
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_with(&this.argon2, &password)).await?
    }

    /// Whether `password` matches `hash`; with no hash, runs against the decoy and says no.
    pub(crate) async fn verify(
        self: &Arc<Self>,
        password: &str,
        hash: Option<String>,
    ) -> Result<bool, Error> {
        let this = Arc::clone(self);
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            #[cfg(test)]
            this.runs.fetch_add(1, Ordering::Relaxed);
            let known = hash.is_some();
            let stored = hash.as_deref().unwrap_or(&this.decoy);
            let parsed = PasswordHash::new(stored).map_err(|e| Error::Password(e.to_string()))?;
            let matches = this
                .argon2
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(known && matches)
        })
        .await?
    }
}

fn hash_with(argon2: &Argon2<'_>, password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_argon2id_with_owasp_parameters() {
        let passwords = Passwords::new(PasswordParams::default()).unwrap();
        assert!(
            passwords
                .decoy
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            passwords.decoy
        );
    }
}
