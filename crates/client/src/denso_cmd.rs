//! `kx denso …`: lint, parse and build 伝送 messages.

use std::process::ExitCode;

use clap::Subcommand;

/// The `kx denso` subcommands.
#[derive(Subcommand)]
pub(crate) enum DensoCommand {}

pub(crate) fn run(cmd: DensoCommand) -> ExitCode {
    match cmd {}
}
