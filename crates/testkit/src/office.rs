//! The 伝送 office (事業所) and master account that end-to-end tests install when one account
//! is all they need.

use std::path::PathBuf;

use crate::{Installation, Server};

/// The federation's mail domain: accounts are `ID@DOMAIN`.
pub const DOMAIN: &str = "denso.test.kokuho";
/// The office's org code (識別番号).
pub const OFFICE: &str = "1312345678";
/// The office's master account (マスタID: sequence `0`).
pub const MASTER_ID: &str = "J13123456780";
/// The master account's password.
pub const MASTER_PASSWORD: &str = "pw-J13123456780-secret";

/// `kxd init` with SMTP, POP3 and HTTPS and passwords allowed without TLS, `settings` replacing
/// lines of `kxd.toml` as [`crate::Init::settings`] does, the office and its master account
/// added, then `kxd serve`.
pub fn serve(kxd: impl Into<PathBuf>, settings: &[(&str, &str)]) -> (Installation, Server) {
    let installation = Installation::init(kxd, DOMAIN)
        .https()
        .allow_plaintext_auth()
        .settings(settings)
        .create();
    installation.add_office_org(OFFICE);
    installation.add_account(MASTER_ID, MASTER_PASSWORD);
    let server = installation.serve();
    (installation, server)
}
