//! How a command fails: the app's code with the manual's message (exit 1), a usage error
//! (exit 2), or not yet (exit 75, the `EX_TEMPFAIL` of `sysexits.h`, so scripts can tell
//! "later" from "failed").

use std::process::ExitCode;

use kx_client::Error;
use kx_client::exchange::{Failure, FileOutcome};
use kx_client::kx_exchange::Code;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The operation's error.
    Error(Error),
    /// One result line per file has said it already: just exit 1.
    Reported,
}

impl From<Error> for Failed {
    fn from(err: Error) -> Failed {
        Failed::Error(err)
    }
}

impl From<Failure> for Failed {
    fn from(failure: Failure) -> Failed {
        Failed::Error(Error::Exchange(failure))
    }
}

/// `Reported` when any file of `outcomes` failed.
pub(crate) fn reported<T>(outcomes: &[FileOutcome<T>]) -> Result<(), Failed> {
    if outcomes.iter().any(|o| o.result.is_err()) {
        return Err(Failed::Reported);
    }
    Ok(())
}

/// Prints one file's failure line with its code.
pub(crate) fn result_failure(id: &str, name: &str, err: &Error) {
    match err {
        Error::Exchange(f) => {
            println!("fail  {id}  {name}  {f}");
            tracing::warn!(id, code = f.code.code(), reason = ?f.reason, detail = ?f.detail, "file failed");
        }
        other => {
            println!(
                "fail  {id}  {name}  {} {}",
                Code::E9999.code(),
                Code::E9999.japanese()
            );
            tracing::warn!(id, error = %format!("{other:#}"), "file failed");
        }
    }
}

/// Prints what went wrong and chooses the exit status: 1 for a failure, 2 for a usage error.
pub(crate) fn report(failed: Failed) -> ExitCode {
    let err = match failed {
        Failed::Reported => return ExitCode::FAILURE,
        Failed::Error(err) => err,
    };
    let failure = match err.into_failure() {
        Ok(failure) => failure,
        Err(Error::Later(later)) => {
            tracing::info!("not yet: {later}");
            eprintln!("kx: {later}");
            return ExitCode::from(75);
        }
        Err(other) => {
            eprintln!("kx: {other}");
            return ExitCode::from(2);
        }
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
