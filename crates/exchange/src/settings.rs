//! The settings screens' rules (§5): PIN, server password and profile.

use serde::{Deserialize, Serialize};

use crate::api::{PasswordChange, ProfileUpdate};
use crate::code::Code;
use crate::refusal::Refusal;

/// The item names the messages are filled with, as the app's screens label them.
pub mod item {
    /// PIN.
    pub const PIN: &str = "PIN";
    /// The new PIN.
    pub const NEW_PIN: &str = "新しいPIN";
    /// The new PIN, again.
    pub const NEW_PIN_AGAIN: &str = "新しいPIN（確認）";
    /// The current password.
    pub const CURRENT_PASSWORD: &str = "現在のパスワード";
    /// The new password.
    pub const NEW_PASSWORD: &str = "新しいパスワード";
    /// The new password, again.
    pub const NEW_PASSWORD_AGAIN: &str = "新しいパスワード（確認）";
    /// The user name.
    pub const USER_NAME: &str = "ユーザ名";
    /// The mail address.
    pub const MAIL: &str = "メールアドレス";
    /// The one-time code of an enrolment or a society setup.
    pub const ONE_TIME_CODE: &str = "ワンタイムコード";
}

/// Checks a PIN: exactly four digits (E1005), non-empty first (E1001).
pub fn check_pin(label: &str, pin: &str) -> Result<(), Refusal> {
    if pin.is_empty() {
        return Err(Refusal::new(Code::E1001, &[label]));
    }
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Refusal::new(Code::E1005, &[label]));
    }
    Ok(())
}

/// Checks a PIN chosen at the first start, typed twice: well-formed and equal (E1001, E1005,
/// E1003).
pub fn check_new_pin(new: &str, again: &str) -> Result<(), Refusal> {
    check_pin(item::NEW_PIN, new)?;
    if new != again {
        return Err(Refusal::new(
            Code::E1003,
            &[item::NEW_PIN, item::NEW_PIN_AGAIN],
        ));
    }
    Ok(())
}

/// Checks a PIN change: both new PINs well-formed and equal, and different from the current
/// one (E1001, E1005, E1003, E1004). Whether the current PIN is right, only the key file knows.
pub fn check_pin_change(current: &str, new: &str, again: &str) -> Result<(), Refusal> {
    check_pin(item::PIN, current)?;
    check_pin(item::NEW_PIN_AGAIN, again)?;
    check_new_pin(new, again)?;
    if new == current {
        return Err(Refusal::new(Code::E1004, &[item::NEW_PIN, item::PIN]));
    }
    Ok(())
}

/// A character class a password may be required to contain (E1011).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CharClass {
    /// `A`–`Z`.
    Upper,
    /// `a`–`z`.
    Lower,
    /// `0`–`9`.
    Digit,
    /// ASCII punctuation.
    Symbol,
}

impl CharClass {
    /// The class's name in the message.
    pub fn japanese(self) -> &'static str {
        match self {
            CharClass::Upper => "英大文字",
            CharClass::Lower => "英小文字",
            CharClass::Digit => "数字",
            CharClass::Symbol => "記号",
        }
    }

    fn contains(self, c: char) -> bool {
        match self {
            CharClass::Upper => c.is_ascii_uppercase(),
            CharClass::Lower => c.is_ascii_lowercase(),
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Symbol => c.is_ascii_punctuation(),
        }
    }
}

/// The server password policy (E1010–E1012); the society configures it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// The fewest characters.
    pub min_length: usize,
    /// The most characters.
    pub max_length: usize,
    /// Classes every password must contain.
    pub required: Vec<CharClass>,
}

impl Default for PasswordPolicy {
    /// 10 to 64 characters with upper- and lower-case letters and digits.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 10,
            max_length: 64,
            required: vec![CharClass::Upper, CharClass::Lower, CharClass::Digit],
        }
    }
}

impl PasswordPolicy {
    /// Checks a password change, in the screen's order: every field given (E1001), the new
    /// one twice alike (E1003), new ≠ current (E1004), half-width letters, digits and symbols
    /// only (E1010), the length (E1012), the required classes (E1011). Whether `current` is
    /// right is the server's check (E1002).
    pub fn check_change(&self, change: &PasswordChange) -> Result<(), Refusal> {
        for (value, label) in [
            (&change.current, item::CURRENT_PASSWORD),
            (&change.new, item::NEW_PASSWORD),
            (&change.confirm, item::NEW_PASSWORD_AGAIN),
        ] {
            if value.is_empty() {
                return Err(Refusal::new(Code::E1001, &[label]));
            }
        }
        if change.new != change.confirm {
            return Err(Refusal::new(
                Code::E1003,
                &[item::NEW_PASSWORD, item::NEW_PASSWORD_AGAIN],
            ));
        }
        if change.new == change.current {
            return Err(Refusal::new(
                Code::E1004,
                &[item::NEW_PASSWORD, item::CURRENT_PASSWORD],
            ));
        }
        self.check(&change.new)
    }

    /// Checks one password against the policy (E1010, E1012, E1011).
    pub fn check(&self, password: &str) -> Result<(), Refusal> {
        if !password.chars().all(|c| c.is_ascii_graphic()) {
            return Err(Refusal::new(Code::E1010, &[]));
        }
        let length = password.chars().count();
        if !(self.min_length..=self.max_length).contains(&length) {
            let bounds = format!("{}文字以上{}文字以下", self.min_length, self.max_length);
            return Err(Refusal::new(Code::E1012, &[&bounds]));
        }
        if !self
            .required
            .iter()
            .all(|class| password.chars().any(|c| class.contains(c)))
        {
            let names: Vec<&str> = self.required.iter().map(|c| c.japanese()).collect();
            return Err(Refusal::new(Code::E1011, &[&names.join("・")]));
        }
        Ok(())
    }
}

/// Half-width katakana and their marks (U+FF61–U+FF9F): not full-width.
fn is_half_width(c: char) -> bool {
    c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c)
}

/// Checks a profile change (§5): a user name, full-width (E1001, E1006); a mail address,
/// half-width and well-formed (E1001, E1007, E1008). The user code is free text.
pub fn check_profile(profile: &ProfileUpdate) -> Result<(), Refusal> {
    if profile.name.trim().is_empty() {
        return Err(Refusal::new(Code::E1001, &[item::USER_NAME]));
    }
    if profile.name.chars().any(is_half_width) {
        return Err(Refusal::new(Code::E1006, &[item::USER_NAME]));
    }
    if profile.mail.is_empty() {
        return Err(Refusal::new(Code::E1001, &[item::MAIL]));
    }
    if !profile.mail.is_ascii() {
        return Err(Refusal::new(Code::E1007, &[]));
    }
    if !well_formed_mail(&profile.mail) {
        return Err(Refusal::new(Code::E1008, &[]));
    }
    Ok(())
}

/// `local@domain`: an RFC 5322 dot-atom on each side, the domain with at least one dot.
fn well_formed_mail(mail: &str) -> bool {
    const ATEXT: &str = "!#$%&'*+-/=?^_`{|}~";
    let Some((local, domain)) = mail.split_once('@') else {
        return false;
    };
    let dot_atom = |s: &str, extra: &str| {
        !s.is_empty()
            && s.split('.').all(|atom| {
                !atom.is_empty()
                    && atom
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
            })
    };
    mail.len() <= 254 && dot_atom(local, ATEXT) && dot_atom(domain, "-") && domain.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(current: &str, new: &str, confirm: &str) -> PasswordChange {
        PasswordChange {
            current: current.into(),
            new: new.into(),
            confirm: confirm.into(),
        }
    }

    fn code<T>(result: Result<T, Refusal>) -> Option<Code> {
        result.err().map(|r| r.code)
    }

    #[test]
    fn password_rules_in_order() {
        let p = PasswordPolicy::default();
        assert_eq!(
            code(p.check_change(&change("", "a", "a"))),
            Some(Code::E1001)
        );
        assert_eq!(
            code(p.check_change(&change("Old-Pass-1", "New-Pass-12", "New-Pass-13"))),
            Some(Code::E1003)
        );
        assert_eq!(
            code(p.check_change(&change("Same-Pass-1", "Same-Pass-1", "Same-Pass-1"))),
            Some(Code::E1004)
        );
        assert_eq!(
            code(p.check_change(&change("Old-Pass-1", "Neue Pass 12", "Neue Pass 12"))),
            Some(Code::E1010)
        );
        assert_eq!(
            code(p.check_change(&change("Old-Pass-1", "パスワード12345", "パスワード12345"))),
            Some(Code::E1010)
        );
        let short = p
            .check_change(&change("Old-Pass-1", "Ab1", "Ab1"))
            .unwrap_err();
        assert_eq!(
            short.message(),
            "パスワードは10文字以上64文字以下で入力してください。"
        );
        let classes = p
            .check_change(&change("Old-Pass-1", "abcdefghij1", "abcdefghij1"))
            .unwrap_err();
        assert_eq!(
            classes.message(),
            "パスワードは英大文字・英小文字・数字を含む値で入力してください。"
        );
        assert_eq!(
            code(p.check_change(&change("Old-Pass-1", "Good-Pass-12", "Good-Pass-12"))),
            None
        );
    }

    #[test]
    fn pin_rules() {
        assert_eq!(code(check_pin(item::PIN, "")), Some(Code::E1001));
        assert_eq!(
            check_pin(item::PIN, "12a4").unwrap_err().message(),
            "PINは数値4桁で入力してください。"
        );
        assert_eq!(code(check_pin(item::PIN, "12345")), Some(Code::E1005));
        assert_eq!(
            code(check_pin_change("1234", "5678", "5679")),
            Some(Code::E1003)
        );
        assert_eq!(
            code(check_pin_change("1234", "1234", "1234")),
            Some(Code::E1004)
        );
        assert_eq!(code(check_pin_change("1234", "5678", "5678")), None);
    }

    #[test]
    fn profile_rules() {
        let profile = |name: &str, mail: &str| ProfileUpdate {
            name: name.into(),
            code: "U001".into(),
            mail: mail.into(),
        };
        assert_eq!(
            code(check_profile(&profile("山田　太郎", "taro@example.jp"))),
            None
        );
        assert_eq!(
            code(check_profile(&profile("", "taro@example.jp"))),
            Some(Code::E1001)
        );
        assert_eq!(
            code(check_profile(&profile("Yamada", "taro@example.jp"))),
            Some(Code::E1006)
        );
        assert_eq!(
            code(check_profile(&profile("ﾔﾏﾀﾞ", "taro@example.jp"))),
            Some(Code::E1006)
        );
        assert_eq!(
            code(check_profile(&profile("山田", "ｔａｒｏ@example.jp"))),
            Some(Code::E1007)
        );
        for bad in [
            "taro",
            "taro@",
            "@example.jp",
            "taro@example",
            "ta ro@example.jp",
            "a..b@example.jp",
        ] {
            assert_eq!(
                code(check_profile(&profile("山田", bad))),
                Some(Code::E1008),
                "{bad}"
            );
        }
    }
}
