//! The terminal: secrets typed without echo (or read from standard input for scripts) and
//! confirmations.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::Context;
use kx_client::exchange::Failure;
use kx_client::kx_crypto::keystore::Pin;
use kx_client::kx_exchange::api::PasswordChange;
use kx_client::kx_exchange::settings::{PasswordPolicy, check_new_pin, check_pin, item};
use kx_client::{Error, Result};
use zeroize::Zeroizing;

/// Where PINs and passwords come from: the terminal, or (with `--pin-stdin` /
/// `--password-stdin`) one line each from standard input, in the order the command asks.
pub(crate) struct Secrets {
    pin_stdin: bool,
    password_stdin: bool,
}

impl Secrets {
    /// Secrets from standard input for the kinds flagged, the terminal otherwise.
    pub(crate) fn new(pin_stdin: bool, password_stdin: bool) -> Secrets {
        Secrets {
            pin_stdin,
            password_stdin,
        }
    }

    /// A PIN for `label` (E1001 empty, E1005 not four digits).
    pub(crate) fn pin(&self, label: &str) -> Result<Pin> {
        let text = self.ask(self.pin_stdin, label, "--pin-stdin")?;
        check_pin(label, &text).map_err(Failure::from)?;
        Ok(Pin::new(&text)?)
    }

    /// A new PIN: entered twice on a terminal (E1003 when they differ), once from stdin.
    pub(crate) fn new_pin(&self) -> Result<Pin> {
        let first = self.ask(self.pin_stdin, item::NEW_PIN, "--pin-stdin")?;
        if self.pin_stdin {
            check_pin(item::NEW_PIN, &first).map_err(Failure::from)?;
        } else {
            let again = self.ask(false, item::NEW_PIN_AGAIN, "--pin-stdin")?;
            check_new_pin(&first, &again).map_err(Failure::from)?;
        }
        Ok(Pin::new(&first)?)
    }

    /// The raw text of a PIN prompt (for the PIN change, which checks three at once).
    pub(crate) fn pin_text(&self, label: &str) -> Result<Zeroizing<String>> {
        self.ask(self.pin_stdin, label, "--pin-stdin")
    }

    /// A password for `label`.
    pub(crate) fn password(&self, label: &str) -> Result<Zeroizing<String>> {
        self.ask(self.password_stdin, label, "--password-stdin")
    }

    /// A new server password to replace `current`, entered twice and checked against the
    /// policy (E1001, E1003, E1004, E1010–E1012) before anything is sent. On a terminal a
    /// refused one is asked again; from standard input the refusal fails the command.
    pub(crate) fn new_password(&self, current: &str) -> Result<PasswordChange> {
        loop {
            let change = PasswordChange {
                current: current.to_owned(),
                new: self.password(item::NEW_PASSWORD)?.to_string(),
                confirm: self.password(item::NEW_PASSWORD_AGAIN)?.to_string(),
            };
            match PasswordPolicy::default().check_change(&change) {
                Ok(()) => return Ok(change),
                Err(refusal) if !self.password_stdin => {
                    super::report::print_failure(&Failure::from(refusal));
                }
                Err(refusal) => return Err(Failure::from(refusal).into()),
            }
        }
    }

    fn ask(&self, from_stdin: bool, label: &str, flag: &str) -> Result<Zeroizing<String>> {
        if from_stdin {
            let mut line = Zeroizing::new(String::new());
            io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading a secret from standard input")
                .map_err(Error::Other)?;
            let trimmed = line.trim_end_matches(['\r', '\n']).to_owned();
            return Ok(Zeroizing::new(trimmed));
        }
        if !io::stdin().is_terminal() {
            return Err(Error::Usage(format!(
                "{label}: no terminal to ask on; pass {flag}"
            )));
        }
        let text = rpassword::prompt_password(format!("{label}: "))
            .with_context(|| format!("reading {label}"))
            .map_err(Error::Other)?;
        Ok(Zeroizing::new(text))
    }
}

/// Asks a yes/no question; `yes` (from `--yes`) answers it. Without a terminal the answer is no.
pub(crate) fn confirm(question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !io::stdin().is_terminal() {
        eprintln!("{question} [y/N] (no terminal: not confirmed; pass --yes)");
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    io::stderr().flush()?;
    let mut answer = String::new();
    io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "はい"))
}
