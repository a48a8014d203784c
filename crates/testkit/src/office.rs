//! The 伝送 office (事業所) and master account that end-to-end tests install when one account
//! is all they need.

/// The federation's mail domain: accounts are `ID@DOMAIN`.
pub const DOMAIN: &str = "denso.test.kokuho";
/// The office's org code (識別番号).
pub const OFFICE: &str = "1312345678";
/// The office's master account (マスタID: sequence `0`).
pub const MASTER_ID: &str = "J13123456780";
/// The master account's password.
pub const MASTER_PASSWORD: &str = "pw-J13123456780-secret";
