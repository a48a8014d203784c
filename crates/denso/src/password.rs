//! The 伝送 password rule (パスワード設定規則) of the web password-change page (spec §3.3.2):
//! what a new password must be, checked in a fixed order, with a message in Japanese and
//! English for each refusal.

/// The shortest password the policy accepts, in characters.
pub const MIN_LENGTH: usize = 10;
/// The longest password the policy accepts, in characters.
pub const MAX_LENGTH: usize = 64;

/// Why a new password is refused (checked in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Fewer than [`MIN_LENGTH`] or more than [`MAX_LENGTH`] characters.
    Length,
    /// A character outside printable ASCII, or a space.
    Characters,
    /// Fewer than three of the four classes (upper, lower, digit, symbol).
    Classes,
    /// The ID appears in it.
    ContainsId,
    /// Equal to the current password.
    SameAsCurrent,
    /// The confirmation differs.
    Mismatch,
}

impl Problem {
    /// Every problem, in the order they are checked.
    pub const ALL: [Problem; 6] = [
        Problem::Length,
        Problem::Characters,
        Problem::Classes,
        Problem::ContainsId,
        Problem::SameAsCurrent,
        Problem::Mismatch,
    ];

    /// The name written to the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Problem::Length => "length",
            Problem::Characters => "characters",
            Problem::Classes => "classes",
            Problem::ContainsId => "contains-id",
            Problem::SameAsCurrent => "same-as-current",
            Problem::Mismatch => "mismatch",
        }
    }

    /// The message shown: Japanese, then English.
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            Problem::Length => (
                "パスワードは10文字以上64文字以下にしてください。",
                "The password must be 10 to 64 characters long.",
            ),
            Problem::Characters => (
                "使用できる文字は半角の英字・数字・記号です（空白は使えません）。",
                "Use only ASCII letters, digits and symbols (no spaces).",
            ),
            Problem::Classes => (
                "英大文字・英小文字・数字・記号のうち3種類以上を含めてください。",
                "Use at least three of: upper-case letters, lower-case letters, digits, symbols.",
            ),
            Problem::ContainsId => (
                "パスワードにIDを含めないでください。",
                "The password must not contain the ID.",
            ),
            Problem::SameAsCurrent => (
                "現在のパスワードとは異なるパスワードにしてください。",
                "The new password must differ from the current one.",
            ),
            Problem::Mismatch => (
                "確認用のパスワードが一致しません。",
                "The confirmation does not match the new password.",
            ),
        }
    }
}

/// Checks a new password against the policy; the first problem found, if any.
pub fn check_policy(id: &str, current: &str, new: &str, confirm: &str) -> Result<(), Problem> {
    let length = new.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(Problem::Length);
    }
    if !new.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Problem::Characters);
    }
    let classes = [
        new.chars().any(|c| c.is_ascii_uppercase()),
        new.chars().any(|c| c.is_ascii_lowercase()),
        new.chars().any(|c| c.is_ascii_digit()),
        new.chars().any(|c| c.is_ascii_punctuation()),
    ];
    if classes.iter().filter(|&&present| present).count() < 3 {
        return Err(Problem::Classes);
    }
    let id = id.trim();
    if !id.is_empty() && new.to_ascii_lowercase().contains(&id.to_ascii_lowercase()) {
        return Err(Problem::ContainsId);
    }
    if new == current {
        return Err(Problem::SameAsCurrent);
    }
    if new != confirm {
        return Err(Problem::Mismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "J13123456780";
    const CURRENT: &str = "pw-J13123456780-secret";

    fn check(new: &str) -> Result<(), Problem> {
        check_policy(ID, CURRENT, new, new)
    }

    #[test]
    fn good_passwords_pass() {
        for good in [
            "Correct-Horse1", // all four classes
            "abcdefgh1!",     // lower, digit, symbol; exactly 10 characters
            "ABCDEFGHi1",     // upper, lower, digit
            "ABCDEFGH!1",     // upper, symbol, digit
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        assert_eq!(
            check(&format!("Aa1{}", "x".repeat(61))),
            Ok(()),
            "64 characters"
        );
    }

    #[test]
    fn each_rule_has_its_problem() {
        assert_eq!(check("Aa1!short"), Err(Problem::Length), "9 characters");
        assert_eq!(
            check(&format!("Aa1!{}", "x".repeat(61))),
            Err(Problem::Length),
            "65"
        );
        assert_eq!(check("Aa1! spaced out"), Err(Problem::Characters));
        assert_eq!(check("Aa1!パスワード長い"), Err(Problem::Characters));
        assert_eq!(
            check("alllowercase12"),
            Err(Problem::Classes),
            "two classes"
        );
        assert_eq!(check("ALLUPPER!!!!"), Err(Problem::Classes), "two classes");
        assert_eq!(check("abcdefghijklmn"), Err(Problem::Classes), "one class");
        assert_eq!(check("x-J13123456780-Y"), Err(Problem::ContainsId));
        assert_eq!(
            check("x-j13123456780-Y"),
            Err(Problem::ContainsId),
            "any case"
        );
        assert_eq!(
            check_policy(ID, "Same-Pass-123", "Same-Pass-123", "Same-Pass-123"),
            Err(Problem::SameAsCurrent)
        );
        assert_eq!(
            check_policy(ID, CURRENT, "Fresh-Pass-123", "Fresh-Pass-124"),
            Err(Problem::Mismatch)
        );
    }

    #[test]
    fn problems_are_reported_in_order() {
        // Short and too few classes and mismatched: the length is reported.
        assert_eq!(
            check_policy(ID, CURRENT, "abc", "abd"),
            Err(Problem::Length)
        );
        // Containing the ID and mismatched: the ID is reported.
        assert_eq!(
            check_policy(ID, CURRENT, "J13123456780-A", "other"),
            Err(Problem::ContainsId)
        );
    }

    #[test]
    fn every_problem_has_a_bilingual_message_and_a_name() {
        let mut names = std::collections::BTreeSet::new();
        for problem in Problem::ALL {
            let (ja, en) = problem.message();
            assert!(!ja.is_ascii(), "{problem:?} has Japanese");
            assert!(
                en.is_ascii() && en.ends_with('.'),
                "{problem:?} has English"
            );
            assert!(names.insert(problem.name()), "{problem:?} has its own name");
        }
    }
}
