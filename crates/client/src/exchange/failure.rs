//! How a command fails: the app's code with the manual's message (exit 1), or a usage error
//! (exit 2). Everything else that escapes a command is E9999 with its cause.

use std::fmt;
use std::process::ExitCode;

use kx_exchange::api::{PASSWORD_CHANGE_REQUIRED, Problem};
use kx_exchange::{Code, Refusal};

/// What to do when the server refuses because the password is still the temporary one.
pub(crate) const TEMPORARY_PASSWORD: &str =
    "The password is still the temporary one: change it with `kx password change`.";

/// A failure the user sees as `code message`.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// The code.
    pub(crate) code: Code,
    /// The manual's message, placeholders filled.
    pub(crate) message: String,
    /// The server's machine-readable reason, if the server refused.
    pub(crate) reason: Option<String>,
    /// What happened, for the user and the log (never a secret or file content).
    pub(crate) detail: Option<String>,
    /// What the user should do next, printed as a plain line after the message.
    pub(crate) hint: Option<&'static str>,
}

impl Failure {
    /// A failure with `code` about `items`.
    pub(crate) fn new(code: Code, items: &[&str]) -> Failure {
        Failure {
            code,
            message: code.fill(items),
            reason: None,
            detail: None,
            hint: None,
        }
    }

    /// Adds what happened.
    pub(crate) fn detail(mut self, detail: impl fmt::Display) -> Failure {
        self.detail = Some(detail.to_string());
        self
    }

    /// Adds what to do next.
    pub(crate) fn hint(mut self, hint: &'static str) -> Failure {
        self.hint = Some(hint);
        self
    }

    /// Whether the server refused because the session is over (expired, another address or
    /// certificate): the app logs in again.
    pub(crate) fn is_session_over(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("session_"))
    }
}

impl From<Problem> for Failure {
    /// The server's refusal; one that only a password change lifts says so instead of the
    /// English of E0002, which would read as a wrong password.
    fn from(problem: Problem) -> Failure {
        let (detail, hint) = if problem.reason == PASSWORD_CHANGE_REQUIRED {
            (None, Some(TEMPORARY_PASSWORD))
        } else {
            (Some(problem.english), None)
        };
        Failure {
            code: problem.code,
            message: problem.message,
            detail,
            hint,
            reason: Some(problem.reason),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Failure {
        Failure {
            code: refusal.code,
            message: refusal.message(),
            reason: None,
            detail: Some(refusal.english()),
            hint: None,
        }
    }
}

impl From<kx_crypto::Error> for Failure {
    fn from(err: kx_crypto::Error) -> Failure {
        Failure::new(Code::from(err.app_code()), &[]).detail(err)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.code(), self.message)
    }
}

impl std::error::Error for Failure {}

/// The command line was wrong in a way clap cannot see (exit 2).
#[derive(Debug)]
pub(crate) struct Usage(pub(crate) String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// Not yet: the society has not decided; run the same command again later (exit 75, the
/// `EX_TEMPFAIL` of `sysexits.h`, so scripts can tell "later" from "failed").
#[derive(Debug)]
pub(crate) struct Later(pub(crate) String);

impl fmt::Display for Later {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Later {}

/// The failure has been printed already (one result line per file): just exit 1.
#[derive(Debug)]
pub(crate) struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("failures reported above")
    }
}

impl std::error::Error for Reported {}

/// Prints what went wrong and chooses the exit status: 1 for a failure, 2 for a usage error.
pub(crate) fn report(err: &anyhow::Error) -> ExitCode {
    if err.downcast_ref::<Reported>().is_some() {
        return ExitCode::FAILURE;
    }
    if let Some(later) = err.downcast_ref::<Later>() {
        tracing::info!("not yet: {later}");
        eprintln!("kx: {later}");
        return ExitCode::from(75);
    }
    if let Some(usage) = err.downcast_ref::<Usage>() {
        eprintln!("kx: {usage}");
        return ExitCode::from(2);
    }
    let failure = match err.downcast_ref::<Failure>() {
        Some(failure) => failure.clone(),
        None => match err.downcast_ref::<kx_crypto::Error>() {
            Some(crypto) => {
                Failure::new(Code::from(crypto.app_code()), &[]).detail(format!("{err:#}"))
            }
            None => Failure::new(Code::E9999, &[]).detail(format!("{err:#}")),
        },
    };
    // The input checks' details name the user's files (E2007) and items: the log keeps only
    // their code (no file names, no personal data in the log).
    let logged_detail = match failure.code.code().as_bytes().get(1) {
        Some(b'1' | b'2') => None,
        _ => failure.detail.as_deref(),
    };
    tracing::error!(code = failure.code.code(), reason = ?failure.reason, detail = ?logged_detail, "failed");
    eprintln!("{failure}");
    if let Some(detail) = &failure.detail {
        eprintln!("  {detail}");
    }
    if let Some(hint) = failure.hint {
        eprintln!("{hint}");
    }
    ExitCode::FAILURE
}
