//! How an exchange operation fails in the user's words: the app's code with the manual's
//! message, what happened and what to do next.

use std::fmt;

use kx_exchange::api::{ENROLMENT_CODE, PASSWORD_CHANGE_REQUIRED, Problem, SETUP_CODE};
use kx_exchange::settings::item;
use kx_exchange::{Code, Refusal};

/// What to do when the server refuses because the password is still the temporary one.
pub const TEMPORARY_PASSWORD: &str =
    "The password is still the temporary one: change it with `kx password change`.";

/// A failure the user sees as `code message`.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The code.
    pub code: Code,
    /// The manual's message, placeholders filled.
    pub message: String,
    /// The same message in English, its items in English too, shown beside the Japanese.
    pub english: String,
    /// The server's machine-readable reason, if the server refused.
    pub reason: Option<String>,
    /// What happened, for the user and the log (never a secret or file content).
    pub detail: Option<String>,
    /// What the user should do next, printed as a plain line after the message.
    pub hint: Option<&'static str>,
}

impl Failure {
    /// A failure with `code` about `items`.
    pub fn new(code: Code, items: &[&str]) -> Failure {
        Failure {
            code,
            message: code.fill(items),
            english: code.fill_english(items),
            reason: None,
            detail: None,
            hint: None,
        }
    }

    /// Adds what happened.
    pub fn detail(mut self, detail: impl fmt::Display) -> Failure {
        self.detail = Some(detail.to_string());
        self
    }

    /// Adds what to do next.
    pub fn hint(mut self, hint: &'static str) -> Failure {
        self.hint = Some(hint);
        self
    }

    /// The failure on one line with all it knows: `code message (English)`, then the
    /// server's reason, what happened and what to do next when there are.
    pub fn explained(&self) -> String {
        let mut line = format!("{} {} ({})", self.code.code(), self.message, self.english);
        if let Some(reason) = &self.reason {
            line.push_str(&format!(" [{reason}]"));
        }
        for part in [self.detail.as_deref(), self.hint].into_iter().flatten() {
            line.push_str(": ");
            line.push_str(&part.replace('\n', " "));
        }
        line
    }

    /// Whether the server refused because the session is over (expired, another address or
    /// certificate): the app logs in again.
    pub fn is_session_over(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("session_"))
    }
}

/// What a refused one-time code means: the server gives one answer for an unknown ID and a
/// wrong, used or expired code.
pub const ONE_TIME_CODE_REFUSED: &str = "the one-time code is wrong or already used (or expired, \
     or not the code of this ID): a code works once; ask the society for a new one";

impl From<Problem> for Failure {
    /// The server's refusal; one that only a password change lifts says so in its hint, since
    /// E0002 alone would read as a wrong password. A refused one-time code (which the server
    /// answers as E0002, the login code) becomes E1002 about the ワンタイムコード: the password
    /// was never checked.
    fn from(problem: Problem) -> Failure {
        if problem.reason == ENROLMENT_CODE || problem.reason == SETUP_CODE {
            return Failure {
                reason: Some(problem.reason),
                ..Failure::new(Code::E1002, &[item::ONE_TIME_CODE]).detail(ONE_TIME_CODE_REFUSED)
            };
        }
        let hint = (problem.reason == PASSWORD_CHANGE_REQUIRED).then_some(TEMPORARY_PASSWORD);
        Failure {
            code: problem.code,
            message: problem.message,
            english: problem.english,
            detail: None,
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
            english: refusal.english(),
            reason: None,
            detail: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_one_time_code_says_so() {
        for reason in [ENROLMENT_CODE, SETUP_CODE] {
            let failure = Failure::from(Problem::new(Code::E0002, &[], reason));
            assert_eq!(failure.code, Code::E1002);
            assert_eq!(failure.message, "ワンタイムコードが一致しません。");
            assert_eq!(failure.english, "The one-time code does not match.");
            assert!(
                failure
                    .detail
                    .as_deref()
                    .is_some_and(|d| d.contains("wrong or already used")),
                "{failure:?}"
            );
            assert_eq!(failure.reason.as_deref(), Some(reason));
        }
        let wrong = Failure::from(Problem::new(Code::E0002, &[], "password"));
        assert_eq!((wrong.code, wrong.detail), (Code::E0002, None));
    }
}
