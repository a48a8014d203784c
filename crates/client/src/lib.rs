//! `kx-client`: every user operation of 伝送 and of the KX exchange, for the `kx` command line
//! and the browser app.
//!
//! Each operation is a function that takes what it needs — paths, choices, and the secrets and
//! confirmations the face asked the user for — and returns a typed result or an [`Error`].
//! Long operations report through [`Progress`]. Nothing here prints, reads the terminal or
//! exits the process: that is the face's work.
//!
//! - [`denso`]: the 伝送 client: profiles, send, cancel, upstream, fetch, watch, status; and
//!   the message tools (lint, parse, build).
//! - [`exchange`]: the KX exchange, office and society.
//! - [`lzh`]: LZH archives: create, list, extract.
//! - [`crypto`]: keys, certificate requests, the society CA, sealing and opening files.
//!
//! The pure crates whose types the operations take and return are re-exported, so that a
//! face depends on this crate alone.

pub mod crypto;
pub mod denso;
mod error;
pub mod exchange;
pub mod lzh;
mod platform;
mod progress;

pub use error::{Error, Result};
pub use progress::{NoProgress, Phase, Progress};
pub use {kx_crypto, kx_denso, kx_exchange, kx_lzh, kx_records};

/// Installs *ring* as the process's TLS provider (no aws-lc, no native-tls); every face calls
/// this once before an operation that talks to a server.
pub fn install_tls_provider() {
    // Already installed (a second call, or a face that chose first) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
