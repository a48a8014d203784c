//! What may name a user or an office: the same rule whether an operator types it in a command
//! or a society administrator in the console.

/// Whether `id` may be an exchange user's login ID: 1 to 64 visible ASCII characters (no
/// spaces), so it can be typed anywhere and needs no escaping in a header or a log.
pub fn valid_login_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic())
}

/// Whether `number` may be an office's number within its society: a word without spaces.
pub fn valid_office_number(number: &str) -> bool {
    !number.trim().is_empty() && !number.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_numbers_are_words() {
        assert!(valid_login_id("tanaka.k@office-1"));
        assert!(!valid_login_id(""));
        assert!(!valid_login_id("tanaka k"));
        assert!(!valid_login_id("田中"));
        assert!(!valid_login_id(&"x".repeat(65)));
        assert!(valid_office_number("0001"));
        assert!(valid_office_number("東京支店"));
        assert!(!valid_office_number(" "));
        assert!(!valid_office_number("00 01"));
    }
}
