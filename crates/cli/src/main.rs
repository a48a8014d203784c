//! `kx`: the user's tool, a thin face over `kx-client`: the command line (clap), printing,
//! prompts, progress bars and exit codes. Each subcommand group lives in its own module.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod crypto;
mod denso;
mod exchange;
mod lzh;
mod progress;

/// The user's tool for the 伝送 protocol, LZH archives and the KX exchange.
#[derive(Parser)]
#[command(name = "kx", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    exchange: exchange::Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// KX cryptography: keys, requests, the society CA, sealing and opening files.
    #[command(subcommand)]
    Crypto(crypto::CryptoCommand),
    /// The 伝送 mail protocol: lint, parse and build messages; send, fetch and follow up.
    #[command(subcommand)]
    Denso(Box<denso::DensoCommand>),
    /// LZH (LHA) archives: create, list and extract safely.
    #[command(subcommand)]
    Lzh(lzh::LzhCommand),
    #[command(flatten)]
    Exchange(exchange::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crypto(cmd) => crypto::run(cmd),
        Command::Denso(cmd) => denso::run(*cmd),
        Command::Lzh(cmd) => lzh::run(cmd),
        Command::Exchange(cmd) => exchange::run(cli.exchange, cmd),
    }
}
