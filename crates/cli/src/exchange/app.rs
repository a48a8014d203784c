//! `kx app`: the browser app over the same profile (the office screens, or the society desk
//! for a society profile), served on 127.0.0.1 until its 終了 button or Ctrl-C.

use clap::Args;
use kx_app::{Launched, Options};

use super::Ctx;
use super::report::Failed;

/// `kx app`.
#[derive(Args, Debug)]
pub(crate) struct AppArgs {
    /// The port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Print the launch URL without opening the browser.
    #[arg(long)]
    no_open: bool,
    /// Seconds without use before the app locks itself back to the PIN screen (default: the
    /// minutes set in the app's 設定, 10 unless changed).
    #[arg(long, hide = true)]
    idle_seconds: Option<u64>,
    /// Protect a new key with a cheap key derivation: throw-away demo and test profiles only.
    #[arg(long, env = "KX_INSECURE_FAST_KDF", hide = true)]
    insecure_fast_kdf: bool,
}

/// Runs the app; the launch URL (with its one-time token) is printed for a browser that does
/// not open by itself.
pub(crate) fn run(ctx: &Ctx, args: &AppArgs) -> Result<(), Failed> {
    let options = Options {
        profile: ctx.profile.clone(),
        port: args.port,
        open_browser: !args.no_open,
        idle: args.idle_seconds.map(std::time::Duration::from_secs),
        insecure_fast_kdf: args.insecure_fast_kdf,
    };
    let ready = |url: &str, launched: &Launched| match launched {
        Launched::Here => {
            println!("kx app: open {url}\n  (終了 in the app, or Ctrl-C here, stops it)")
        }
        Launched::Elsewhere => println!("kx app is already running for this profile: open {url}"),
    };
    kx_app::run(options, ready).map_err(|err| match err {
        kx_app::Error::Client(err) => Failed::from(err),
        other => Failed::from(kx_client::Error::Other(other.into())),
    })?;
    Ok(())
}
