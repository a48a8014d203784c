//! `kxd`: the KX server.

use clap::Parser;

/// The KX server: the 伝送 gateway (SMTP in, POP3 out) and the KX exchange (HTTPS).
#[derive(Parser)]
#[command(name = "kxd", version, about, long_about = None)]
struct Cli {}

fn main() {
    Cli::parse();
}
