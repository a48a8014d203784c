//! The settings (§5): PIN, server password, user profile; and logout.

use anyhow::Result;
use clap::Subcommand;
use kx_crypto::keystore::{Pin, change_pin, open_secret, seal_secret};
use kx_exchange::Code;
use kx_exchange::api::{PasswordChange, ProfileUpdate, User, path};
use kx_exchange::settings::{check_pin_change, check_profile, item};
use reqwest::Method;

use super::Ctx;
use super::failure::{Failure, TEMPORARY_PASSWORD};
use super::session::{Session, stored_password};

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

/// `kx pin change`: every file under the PIN is re-encrypted, all computed before any is
/// replaced, so a wrong current PIN (E1002) changes nothing.
pub(crate) fn pin(ctx: &Ctx, PinCommand::Change: PinCommand) -> Result<()> {
    let profile = &ctx.profile;
    let _lock = profile.lock()?;
    let config = profile.config()?;
    let current = ctx.secrets.pin_text(item::PIN)?;
    let new = ctx.secrets.pin_text(item::NEW_PIN)?;
    let again = ctx.secrets.pin_text(item::NEW_PIN_AGAIN)?;
    check_pin_change(&current, &new, &again).map_err(Failure::from)?;
    let (old, new) = (Pin::new(&current)?, Pin::new(&new)?);
    let wrong_pin = |_| Failure::new(Code::E1002, &[item::PIN]);
    let mut replaced: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let mut keys = vec![profile.file("key.pem"), profile.file("ca-key.pem")];
    keys.extend(
        profile
            .old_generations()?
            .into_iter()
            .map(|d| d.join("key.pem")),
    );
    for path in keys.into_iter().filter(|p| p.exists()) {
        let text =
            change_pin(&std::fs::read(&path)?, &old, &new, config.kdf()).map_err(wrong_pin)?;
        replaced.push((path, text.as_bytes().to_vec()));
    }
    let password = open_secret(
        &std::fs::read_to_string(profile.file("password.enc"))?,
        &old,
    )
    .map_err(wrong_pin)?;
    let sealed = seal_secret(&password, &new, config.kdf())?;
    replaced.push((profile.file("password.enc"), sealed.into_bytes()));
    for (path, contents) in &replaced {
        super::profile::write_atomically(path, contents)?;
    }
    tracing::info!("PIN changed");
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
    let mut session = Session::open_to_change_password(ctx, lock, pin, &current)?;
    change_password(&mut session, &change)
}

/// Changes the password on the server (E1002 when the current one is wrong) and stores the
/// new one; the session goes on.
fn change_password(session: &mut Session, change: &PasswordChange) -> Result<()> {
    session
        .api
        .call_empty(Method::POST, path::PASSWORD, Some(change))?;
    let sealed = seal_secret(change.new.as_bytes(), &session.pin, session.config.kdf())?;
    session.profile.write("password.enc", sealed.as_bytes())?;
    session.password_changed()?;
    tracing::info!("password changed");
    println!("The password was changed.");
    Ok(())
}

/// The end of a setup: the temporary password the society gave is replaced by one the user
/// chooses (the new one twice), as the server refuses everything else until then. If that
/// fails, the profile is set up all the same and the failure says how to finish.
pub(crate) fn replace_temporary_password(session: &mut Session, ctx: &Ctx) -> Result<()> {
    if !session.who.must_change_password {
        return Ok(());
    }
    eprintln!("Choose a new password to replace the temporary one the society gave.");
    let current = stored_password(&session.profile, &session.pin)?;
    ctx.secrets
        .new_password(&current)
        .and_then(|change| change_password(session, &change))
        .map_err(|err| match err.downcast::<Failure>() {
            Ok(failure) => failure.hint(TEMPORARY_PASSWORD).into(),
            // A usage error (no terminal to ask on) has no place for it: said first.
            Err(other) => {
                eprintln!("{TEMPORARY_PASSWORD}");
                other
            }
        })
}

/// `kx profile set`.
pub(crate) fn profile(ctx: &Ctx, command: ProfileCommand) -> Result<()> {
    let ProfileCommand::Set { name, code, mail } = command;
    let update = ProfileUpdate { name, code, mail };
    check_profile(&update).map_err(Failure::from)?;
    let session = Session::open(ctx)?;
    let user: User = session.api.call(Method::PUT, path::PROFILE, &update)?;
    tracing::info!("profile changed");
    println!(
        "ユーザ名: {}\nユーザコード: {}\nメールアドレス: {}",
        user.name, user.code, user.mail
    );
    Ok(())
}

/// `kx logout`: ends the session on the server and forgets the token.
pub(crate) fn logout(ctx: &Ctx) -> Result<()> {
    let session = Session::open(ctx)?;
    session
        .api
        .call_empty::<()>(Method::DELETE, path::SESSION, None)?;
    session.forget_token()?;
    tracing::info!("logged out");
    println!("Logged out.");
    Ok(())
}
