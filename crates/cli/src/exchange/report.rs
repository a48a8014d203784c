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

/// `Reported` when any file of `outcomes` failed, after each failure's code, message and
/// 対応方法 once on standard error (the result lines said which files).
pub(crate) fn reported<T>(outcomes: &[FileOutcome<T>]) -> Result<(), Failed> {
    let mut explained: Vec<(Code, String)> = Vec::new();
    for err in outcomes.iter().filter_map(|o| o.result.as_ref().err()) {
        let failure = file_failure(err);
        if explained.contains(&(failure.code, failure.message.clone())) {
            continue;
        }
        eprintln!("{failure}");
        eprintln!("  {}", failure.english);
        print_remedy(failure.code);
        explained.push((failure.code, failure.message));
    }
    if explained.is_empty() {
        return Ok(());
    }
    Err(Failed::Reported)
}

/// Prints one file's failure line with its code and message on standard output, the English
/// indented under it; [`reported`] then explains each code once.
pub(crate) fn result_failure(id: &str, name: &str, err: &Error) {
    let failure = file_failure(err);
    println!("fail  {id}  {name}  {failure}");
    println!("      {}", failure.english);
    match err {
        Error::Exchange(f) => {
            tracing::warn!(id, code = f.code.code(), reason = ?f.reason, detail = ?f.detail, "file failed");
        }
        other => tracing::warn!(id, error = %format!("{other:#}"), "file failed"),
    }
}

/// A file's failure as shown: its own, or E9999 for anything else.
fn file_failure(err: &Error) -> Failure {
    match err {
        Error::Exchange(f) => f.clone(),
        _ => Failure::new(Code::E9999, &[]),
    }
}

/// Prints a failure as the manual's error dialog shows it: the code and message, the English
/// beside it, what happened, what to do next, and the manual's 対応方法 in both languages.
pub(crate) fn print_failure(failure: &Failure) {
    eprintln!("{failure}");
    eprintln!("  {}", failure.english);
    if let Some(detail) = &failure.detail {
        eprintln!("  {detail}");
    }
    if let Some(hint) = failure.hint {
        eprintln!("{hint}");
    }
    print_remedy(failure.code);
}

/// The manual's 対応方法 for `code`, in Japanese and in English.
pub(crate) fn print_remedy(code: Code) {
    eprintln!("対応方法: {}", code.remedy());
    eprintln!("What to do: {}", code.remedy_english());
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
    print_failure(&failure);
    ExitCode::FAILURE
}
