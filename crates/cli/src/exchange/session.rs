//! Opening a session for a command: the lock (E0001) before the PIN is asked, then the notices
//! of the login (§2.2) in words, and the renewal offered to a person at a terminal.

use std::io::IsTerminal as _;

use kx_client::exchange::{Notice, ProfileLock, Session, WaitOptions, renew_office, renew_society};
use kx_client::kx_crypto::keystore::Pin;
use kx_client::kx_exchange::api::PartyKind;
use kx_client::kx_exchange::settings::item;

use super::Ctx;
use super::ui;
use crate::progress::Bars;

/// Opens a session: lock, PIN, login, notices.
pub(crate) fn open(ctx: &Ctx) -> kx_client::Result<Session> {
    let lock = ctx.profile.lock()?;
    let pin = ctx.secrets.pin(item::PIN)?;
    start(ctx, lock, pin)
}

/// Opens a session with the lock already held and the PIN already asked (setup).
pub(crate) fn start(ctx: &Ctx, lock: ProfileLock, pin: Pin) -> kx_client::Result<Session> {
    let (session, notices) = Session::open(&ctx.profile, lock, pin)?;
    tell(&session, &notices)?;
    Ok(session)
}

/// Tells the notices of a login on standard error; offers the renewal when it is due.
pub(crate) fn tell(session: &Session, notices: &[Notice]) -> kx_client::Result<()> {
    for notice in notices {
        match notice {
            Notice::UpdateAvailable {
                version,
                current,
                notes,
                url,
            } => eprintln!(
                "A new version of kx is available: {version} (this is {current}). {notes}\n  {url}"
            ),
            Notice::SocietyCertificateReplaced(code) => {
                eprintln!("{} {}", code.code(), code.japanese());
                eprintln!("  {}", code.english());
                eprintln!("  Fetched the society's latest certificate.");
            }
            Notice::RenewalDue { days_left } => renewal(session, *days_left)?,
            _ => {}
        }
    }
    Ok(())
}

/// The renewal notice: only a person at a terminal is asked; scripts get the notice.
fn renewal(session: &Session, days_left: i64) -> kx_client::Result<()> {
    eprintln!("Our certificate expires in {days_left} days (電子証明書の更新).");
    if std::io::stdin().is_terminal() && ui::confirm("Renew the certificate now?", false)? {
        match session.kind() {
            PartyKind::Office => {
                let cert = renew_office(session, &WaitOptions::default(), &Bars::default())?;
                super::enrol::renewed(&cert);
            }
            PartyKind::Society => {
                renew_society(session)?;
                super::society::renewed();
            }
        }
    } else {
        eprintln!("Renew it with `kx renew` (offices) or `kx society renew`.");
    }
    Ok(())
}
