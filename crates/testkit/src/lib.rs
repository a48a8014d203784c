//! What the end-to-end tests of the workspace share: commands run to completion, Python
//! scripts, the real `kxd` installed in a temporary directory and served, a throw-away CA
//! for the protocol tests, and an S3-compatible server. Only ever a `[dev-dependencies]` entry.

mod ca;
pub mod haproxy;
mod kxd;
mod noise;
pub mod office;
pub mod postgres;
mod process;
mod s3;

pub use ca::TestCa;
pub use kxd::{Credentials, Environment, Init, Installation, Server, kxd_bin, word_after};
pub use noise::noise;
pub use process::{Python, files_under, run, run_with_input};
pub use s3::S3Server;
