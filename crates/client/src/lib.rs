//! `kx-client`: every user operation of 伝送 and the KX exchange.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod crypto_cmd;
mod denso;
mod denso_cmd;
mod exchange;
mod lzh_cmd;
mod net;

/// The user's tool for the 伝送 protocol, LZH archives and the KX exchange.
#[derive(Parser)]
#[command(name = "kx", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    exchange: exchange::Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// KX cryptography: keys, requests, the society CA, sealing and opening files.
    #[command(subcommand)]
    Crypto(crypto_cmd::CryptoCommand),
    /// The 伝送 mail protocol: lint, parse and build messages; send, fetch and follow up.
    #[command(subcommand)]
    Denso(Box<denso_cmd::DensoCommand>),
    /// LZH (LHA) archives: create, list and extract safely.
    #[command(subcommand)]
    Lzh(lzh_cmd::LzhCommand),
    #[command(flatten)]
    Exchange(exchange::Command),
}

/// Runs `kx`.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crypto(cmd) => crypto_cmd::run(cmd),
        Command::Denso(cmd) => denso_cmd::run(*cmd),
        Command::Lzh(cmd) => lzh_cmd::run(cmd),
        Command::Exchange(cmd) => exchange::run(cli.exchange, cmd),
    }
}
