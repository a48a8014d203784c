//! `kx lzh …`: create, list and extract LZH archives.

use std::process::ExitCode;

use clap::Subcommand;

/// The `kx lzh` subcommands.
#[derive(Subcommand)]
pub(crate) enum LzhCommand {}

pub(crate) fn run(cmd: LzhCommand) -> ExitCode {
    match cmd {}
}
