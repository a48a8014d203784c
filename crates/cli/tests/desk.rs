//! The society desk in the browser (`kx app` with a society profile) end to end: the real
//! `kxd`, the real `kx app` of the society as a child process and Playwright in Debian's
//! chromium using the desk's screens (app_support/desk_*.py, driven by app_support/mod.rs as
//! the office app's are). The offices' side — requesting a certificate, sending, receiving —
//! is the real `kx` of each office, run here before a flow or when it asks.

mod app_support;
mod exchange_support;

use std::time::Duration;

use app_support::{App, flow, society};
use exchange_support::{SOCIETY_ID, SOCIETY_PIN, World, own_password};

#[test]
fn a_society_sets_up_its_desk_from_the_office_wizard() {
    let (mut w, temporary, code) = World::society_created();
    let mut app = App::start(&w.society, &[]);
    let ca = w.kxd.ca();
    let own = own_password(SOCIETY_ID);
    let printed = flow(
        &app,
        include_str!("app_support/desk_setup.py"),
        &[
            &w.kxd.https,
            ca.to_str().expect("UTF-8"),
            SOCIETY_ID,
            &code,
            &temporary,
            SOCIETY_PIN,
            &own,
        ],
        |q| society(&w, q),
    );
    assert!(printed.contains("SET UP"), "{printed}");
    let user = w.kxd.sql(&format!(
        "SELECT must_change_password FROM ex_users WHERE id = '{SOCIETY_ID}'"
    ));
    assert_eq!(user.trim(), "0");
    // 終了 stopped the app. The profile is the society's: the CLI opens it with the PIN and
    // the password the app stored, and the CA made in the browser issues an office's
    // certificate.
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    w.enrol("00001", "office1", "2468", None, true);
    w.office("00001").ok(&["inbox"]);
}
