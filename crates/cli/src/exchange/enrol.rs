//! Enrolment (`kx setup`) and renewal (`kx renew`) of an office app.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use kx_client::exchange::{
    self as ops, EnrolmentRequest, WaitOptions, enrol, pending_enrolment, wait_for_certificate,
};
use kx_client::kx_exchange::settings::item;

use super::Ctx;
use super::report::Failed;
use super::{session, settings};
use crate::progress::Bars;

/// How long to wait for the society, and how often to ask.
#[derive(Args, Debug, Clone)]
pub(crate) struct WaitArgs {
    /// Seconds to wait for the society to issue the certificate; run the command again to keep
    /// waiting.
    #[arg(long = "wait", default_value_t = 600)]
    wait: u64,
    /// Seconds between polls.
    #[arg(long, default_value_t = 2.0, hide = true)]
    poll: f64,
}

impl WaitArgs {
    fn options(&self) -> WaitOptions {
        WaitOptions {
            wait: Duration::from_secs(self.wait),
            poll: Duration::from_secs_f64(self.poll.clamp(0.1, 60.0)),
        }
    }
}

/// `kx setup`.
#[derive(Args, Debug)]
pub(crate) struct SetupArgs {
    /// The KX server's URL (its bootstrap HTTPS listener), e.g. https://kx.example.
    #[arg(long, value_parser = ops::https_url)]
    server: Option<String>,
    /// The CA certificate of the KX server's TLS certificate (PEM).
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The login ID the society gave.
    #[arg(long)]
    id: Option<String>,
    /// The one-time enrolment code the society gave.
    #[arg(long)]
    code: Option<String>,
    /// Protect the key with a cheap key derivation: throw-away demo and test profiles only.
    #[arg(long, env = "KX_INSECURE_FAST_KDF", hide = true)]
    insecure_fast_kdf: bool,
    #[command(flatten)]
    wait: WaitArgs,
}

/// `kx setup`: enrol (or resume waiting), then log in once.
pub(crate) fn setup(ctx: &Ctx, args: &SetupArgs) -> Result<(), Failed> {
    let profile = &ctx.profile;
    let lock = profile.lock()?;
    let (enrolment, pin) = match pending_enrolment(profile, &lock)? {
        Some(pending) => {
            eprintln!("Resuming the enrolment waiting for the society.");
            (pending, None)
        }
        None => {
            let request = EnrolmentRequest::new(
                args.server.clone(),
                args.ca.as_deref(),
                args.id.clone(),
                args.code.clone(),
                args.insecure_fast_kdf,
            )?;
            let pin = ctx.secrets.new_pin()?;
            let password = ctx.secrets.password("仮パスワード (temporary password)")?;
            (enrol(profile, &lock, &request, &pin, &password)?, Some(pin))
        }
    };
    wait_for_certificate(profile, &enrolment, &args.wait.options(), &Bars::default())?;
    println!("The society issued our certificate.");
    let pin = match pin {
        Some(pin) => pin,
        None => ctx.secrets.pin(item::PIN)?,
    };
    let mut session = session::start(ctx, lock, pin)?;
    settings::replace_temporary_password(&mut session, ctx)?;
    println!(
        "Set up: office {} {} of {} {}, profile {}",
        session.party().number,
        session.party().name,
        session.society().number,
        session.society().name,
        profile.root().display()
    );
    Ok(())
}

/// `kx renew`.
pub(crate) fn renew(ctx: &Ctx, wait: &WaitArgs) -> Result<(), Failed> {
    let session = session::open(ctx)?;
    let cert = ops::renew_office(&session, &wait.options(), &Bars::default())?;
    renewed(&cert);
    Ok(())
}

/// Says where the renewed certificate is.
pub(crate) fn renewed(cert: &Path) {
    println!("Renewed: the new certificate is in {}", cert.display());
}
