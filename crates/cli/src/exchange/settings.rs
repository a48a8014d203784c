//! The settings (§5): PIN, server password, user profile; and logout.

use clap::Subcommand;
use kx_client::exchange::{self as ops, Failure, Session, TEMPORARY_PASSWORD};
use kx_client::kx_exchange::Code;
use kx_client::kx_exchange::api::ProfileUpdate;
use kx_client::kx_exchange::settings::{check_profile, item};

use super::Ctx;
use super::report::Failed;
use super::session;

type Result<T, E = Failed> = std::result::Result<T, E>;

/// `kx pin …`.
#[derive(Subcommand, Debug)]
pub(crate) enum PinCommand {
    /// Change the PIN: current, new, new again (three lines with --pin-stdin).
    Change,
}

/// `kx password …`.
#[derive(Subcommand, Debug)]
pub(crate) enum PasswordCommand {
    /// Change the server password: current, new, new again (three lines with
    /// --password-stdin, after the PIN line with --pin-stdin).
    ///
    /// While the password is a temporary one (after a reset by the society, the current
    /// password is the one it gave), this and logout are all the server allows.
    Change,
}

/// `kx profile …`.
#[derive(Subcommand, Debug)]
pub(crate) enum ProfileCommand {
    /// Set the user name (full-width), user code and notification mail address.
    Set {
        /// The user name, full-width.
        #[arg(long)]
        name: String,
        /// The user code.
        #[arg(long, default_value = "")]
        code: String,
        /// Where notification mails go, half-width.
        #[arg(long)]
        mail: String,
    },
}

/// `kx pin change`.
pub(crate) fn pin(ctx: &Ctx, PinCommand::Change: PinCommand) -> Result<()> {
    let lock = ctx.profile.lock()?;
    let current = ctx.secrets.pin_text(item::PIN)?;
    let new = ctx.secrets.pin_text(item::NEW_PIN)?;
    let again = ctx.secrets.pin_text(item::NEW_PIN_AGAIN)?;
    ops::change_pin(&ctx.profile, &lock, &current, &new, &again)?;
    println!("The PIN was changed.");
    Ok(())
}

/// `kx password change`: everything is asked and checked before the login.
pub(crate) fn password(ctx: &Ctx, PasswordCommand::Change: PasswordCommand) -> Result<()> {
    let lock = ctx.profile.lock()?;
    let pin = ctx.secrets.pin(item::PIN)?;
    let current = ctx.secrets.password(item::CURRENT_PASSWORD)?;
    if current.is_empty() {
        return Err(Failure::new(Code::E1001, &[item::CURRENT_PASSWORD]).into());
    }
    let change = ctx.secrets.new_password(&current)?;
    let (mut session, notices) =
        Session::open_to_change_password(&ctx.profile, lock, pin, &current)?;
    session::tell(&session, &notices)?;
    ops::change_password(&mut session, &change)?;
    println!("The password was changed.");
    Ok(())
}

/// The end of a setup: the temporary password the society gave is replaced by one the user
/// chooses (the new one twice), as the server refuses everything else until then. If that
/// fails, the profile is set up all the same and the failure says how to finish.
pub(crate) fn replace_temporary_password(session: &mut Session, ctx: &Ctx) -> Result<()> {
    if !session.must_change_password() {
        return Ok(());
    }
    eprintln!("Choose a new password to replace the temporary one the society gave.");
    let current = session.stored_password()?;
    let changed = ctx.secrets.new_password(&current).and_then(|change| {
        ops::change_password(session, &change)?;
        println!("The password was changed.");
        Ok(())
    });
    changed.map_err(|err| match err {
        kx_client::Error::Exchange(failure) => failure.hint(TEMPORARY_PASSWORD).into(),
        // A usage error (no terminal to ask on) has no place for it: said first.
        other => {
            eprintln!("{TEMPORARY_PASSWORD}");
            other.into()
        }
    })
}

/// `kx profile set`.
pub(crate) fn profile(ctx: &Ctx, command: ProfileCommand) -> Result<()> {
    let ProfileCommand::Set { name, code, mail } = command;
    let update = ProfileUpdate { name, code, mail };
    check_profile(&update).map_err(Failure::from)?;
    let mut session = session::open(ctx)?;
    let user = ops::set_profile(&mut session, &update)?;
    println!(
        "ユーザ名: {}\nユーザコード: {}\nメールアドレス: {}",
        user.name, user.code, user.mail
    );
    Ok(())
}

/// `kx logout`.
pub(crate) fn logout(ctx: &Ctx) -> Result<()> {
    let session = session::open(ctx)?;
    ops::logout(&session)?;
    println!("Logged out.");
    Ok(())
}
