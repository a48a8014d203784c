//! argon2id password hashes, computed by a bounded pool: each worker holds one buffer of the
//! memory cost (19 MiB by default) for its life and computes every check in it, so the number
//! of workers bounds the memory that logins, even unauthenticated ones, can take. (Allocating
//! the buffer per check would not: the allocator keeps freed buffers per thread arena, and
//! arenas outnumber workers.)

use std::panic::AssertUnwindSafe;
#[cfg(test)]
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::Error;
use crate::config::{PasswordParams, PasswordPool};

/// A worker's argon2 memory, grown to the largest cost it has computed.
type Memory = Vec<Block>;

/// One hash or verification, run by a worker of the pool in its memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hashes and verifies passwords off the async threads (a hash takes tens of milliseconds), on
/// a fixed number of threads of its own with a bounded queue in front: a check that finds the
/// queue full is refused at once ([`Error::Busy`]) without hashing anything.
pub(crate) struct Passwords {
    /// The cost of new hashes (a stored hash is verified with its own).
    params: Params,
    jobs: SyncSender<Job>,
    /// A hash of a random password, verified against when there is no real one, so an
    /// unknown account costs as much as a known one.
    decoy: String,
    /// How many hashes ran; tests prove unknown accounts are hashed too.
    #[cfg(test)]
    pub(crate) runs: AtomicU64,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Passwords {
    /// Prepares the hasher, its decoy hash and the pool's threads, which end when this is
    /// dropped.
    pub(crate) fn new(params: PasswordParams, pool: PasswordPool) -> Result<Arc<Passwords>, Error> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(password_error)?;
        let random = SaltString::generate(&mut OsRng);
        let decoy = hash_with(&params, random.as_str(), &mut Memory::new())?;
        Ok(Arc::new(Passwords {
            params,
            jobs: start_workers(pool)?,
            decoy,
            #[cfg(test)]
            runs: AtomicU64::new(0),
        }))
    }

    /// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of `password`.
    /// [`Error::Busy`] when the pool's queue is full.
    pub(crate) async fn hash(self: &Arc<Self>, password: &str) -> Result<String, Error> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move |memory| hash_with(&params, &password, memory))
            .await
    }

    /// Whether `password` matches `hash`; with no hash, runs against the decoy and says no.
    /// [`Error::Busy`] when the pool's queue is full.
    pub(crate) async fn verify(
        self: &Arc<Self>,
        password: &str,
        hash: Option<String>,
    ) -> Result<bool, Error> {
        let this = Arc::clone(self);
        let password = password.to_owned();
        self.run(move |memory| {
            #[cfg(test)]
            this.runs.fetch_add(1, Ordering::Relaxed);
            let known = hash.is_some();
            let stored = hash.as_deref().unwrap_or(&this.decoy);
            let matches = verify_with(stored, &password, memory)?;
            Ok(known && matches)
        })
        .await
    }

    /// Queues `work` for the pool and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The waiter may have gone (its connection closed); the work is done all the same.
            let _ = done.send(work(memory));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Error::Busy,
            TrySendError::Disconnected(_) => {
                Error::Password("the password pool has stopped".into())
            }
        })?;
        result
            .await
            .map_err(|_| Error::Password("a password check panicked".into()))?
    }
}

/// Starts `pool.workers` threads (at least one) taking jobs from a queue of `pool.queue`.
fn start_workers(pool: PasswordPool) -> Result<SyncSender<Job>, Error> {
    let (jobs, queue) = sync_channel::<Job>(pool.queue);
    let queue = Arc::new(Mutex::new(queue));
    for n in 0..pool.workers.max(1) {
        let queue = Arc::clone(&queue);
        std::thread::Builder::new()
            .name(format!("kx-password-{n}"))
            .spawn(move || work(&queue))?;
    }
    Ok(jobs)
}

/// A worker: runs jobs in its memory until every sender is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::new();
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panicking check fails its own login (its result channel is dropped), not the pool.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

/// The PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) of `password` with a fresh salt.
fn hash_with(params: &Params, password: &str, memory: &mut Memory) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password,
        salt.as_salt(),
        memory,
    )?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`, computed with the stored parameters.
fn verify_with(stored: &str, password: &str, memory: &mut Memory) -> Result<bool, Error> {
    let parsed = PasswordHash::new(stored).map_err(password_error)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(password_error)?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(password_error)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(password_error)?;
    let salt = parsed
        .salt
        .ok_or_else(|| Error::Password("a stored hash without salt".into()))?;
    let computed = compute(algorithm, version, params, password, salt, memory)?;
    // `Output` compares in constant time.
    Ok(parsed.hash.is_some() && computed.hash == parsed.hash)
}

/// What `PasswordHasher::hash_password` computes, but in `memory` (grown when the cost needs
/// more) instead of a fresh allocation.
fn compute<'a>(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: Salt<'a>,
    memory: &mut Memory,
) -> Result<PasswordHash<'a>, Error> {
    let mut salt_buffer = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buffer).map_err(password_error)?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let phc_params = ParamsString::try_from(&params).map_err(password_error)?;
    let argon2 = Argon2::new(algorithm, version, params);
    let output = Output::init_with(output_len, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt_bytes,
                out,
                &mut memory[..blocks],
            )
            .map_err(argon2::password_hash::Error::from)
    })
    .map_err(password_error)?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: phc_params,
        salt: Some(salt),
        hash: Some(output),
    })
}

fn password_error(error: impl std::fmt::Display) -> Error {
    Error::Password(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_argon2id_with_owasp_parameters() {
        let passwords = Passwords::new(PasswordParams::default(), PasswordPool::default()).unwrap();
        assert!(
            passwords
                .decoy
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            passwords.decoy
        );
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_in_both_directions() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let params = Params::new(64, 1, 1, None).unwrap();
        let stock = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut memory = Memory::new();
        let ours = hash_with(&params, "pw", &mut memory).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(stock.verify_password(b"pw", &parsed).is_ok(), "{ours}");
        assert!(stock.verify_password(b"px", &parsed).is_err());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = stock.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(verify_with(&theirs, "pw", &mut memory).unwrap());
        assert!(!verify_with(&theirs, "px", &mut memory).unwrap());
        assert_eq!(memory.len(), 64, "one buffer of the cost, reused");
    }

    #[tokio::test]
    async fn a_check_beyond_the_workers_and_the_queue_is_busy_without_hashing() {
        let cheap = PasswordParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let pool = PasswordPool {
            workers: 1,
            queue: 1,
        };
        let passwords = Passwords::new(cheap, pool).unwrap();
        let (started, worker_busy) = tokio::sync::oneshot::channel();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let this = Arc::clone(&passwords);
        let running = tokio::spawn(async move {
            this.run(move |_| {
                let _ = started.send(());
                let _ = held.recv();
                Ok(())
            })
            .await
        });
        worker_busy.await.unwrap();
        let (queued_ran, queue_empty) = tokio::sync::oneshot::channel();
        let queued: Job = Box::new(move |_| {
            let _ = queued_ran.send(());
        });
        assert!(
            passwords.jobs.try_send(queued).is_ok(),
            "the queue has room for one"
        );

        let before = passwords.runs.load(Ordering::Relaxed);
        assert!(matches!(
            passwords.verify("pw", None).await,
            Err(Error::Busy)
        ));
        assert_eq!(
            passwords.runs.load(Ordering::Relaxed),
            before,
            "nothing hashed"
        );
        release.send(()).unwrap();
        running.await.unwrap().unwrap();
        // The worker takes the queued job off the queue before running it: once it has run,
        // the queue has room again.
        queue_empty.await.unwrap();
        assert!(!passwords.verify("pw", None).await.unwrap(), "free again");
    }
}
