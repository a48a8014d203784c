//! The settings (§5): PIN, server password, user profile; and logout.

use kx_crypto::keystore::{Pin, change_pin as rewrap, open_secret, seal_secret};
use kx_exchange::Code;
use kx_exchange::api::{PasswordChange, ProfileUpdate, User, path};
use kx_exchange::settings::{check_pin_change, check_profile, item};
use reqwest::Method;

use super::failure::Failure;
use super::profile::{ProfileDir, ProfileLock};
use super::session::Session;

/// Changes the PIN from `current` to `new` (typed twice: `again`): every file under the PIN
/// is re-encrypted, all computed before any is replaced, so a wrong current PIN (E1002)
/// changes nothing. The caller holds the profile's lock.
pub fn change_pin(
    profile: &ProfileDir,
    _lock: &ProfileLock,
    current: &str,
    new: &str,
    again: &str,
) -> crate::Result<()> {
    let config = profile.config()?;
    check_pin_change(current, new, again).map_err(Failure::from)?;
    let (old, new) = (Pin::new(current)?, Pin::new(new)?);
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
        let text = rewrap(&std::fs::read(&path)?, &old, &new, config.kdf()).map_err(wrong_pin)?;
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
    Ok(())
}

/// Changes the password on the server (E1002 when the current one is wrong) and stores the
/// new one; the session goes on. `change` passed the policy
/// (`kx_exchange::settings::PasswordPolicy`) already.
pub fn change_password(session: &mut Session, change: &PasswordChange) -> crate::Result<()> {
    session
        .api
        .call_empty(Method::POST, path::PASSWORD, Some(change))?;
    let sealed = seal_secret(change.new.as_bytes(), &session.pin, session.config.kdf())?;
    session.profile.write("password.enc", sealed.as_bytes())?;
    session.password_changed()?;
    tracing::info!("password changed");
    Ok(())
}

/// Sets the user name (full-width), user code and notification mail address; the update is
/// checked (E1001, E1006–E1009) before it is sent.
pub fn set_profile(session: &mut Session, update: &ProfileUpdate) -> crate::Result<User> {
    check_profile(update).map_err(Failure::from)?;
    let user: User = session.api.call(Method::PUT, path::PROFILE, update)?;
    session.user_changed(user.clone())?;
    tracing::info!("profile changed");
    Ok(user)
}

/// Ends the session on the server and forgets the token.
pub fn logout(session: &Session) -> crate::Result<()> {
    session
        .api
        .call_empty::<()>(Method::DELETE, path::SESSION, None)?;
    session.forget_token()?;
    tracing::info!("logged out");
    Ok(())
}
