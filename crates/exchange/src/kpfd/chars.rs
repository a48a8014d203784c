//! Which bytes are Shift_JIS (CP932, as `encoding_rs` reads it), and which characters the
//! 日本年金機構's 使用可能文字 list allows (research D1, D2).

use encoding_rs::SHIFT_JIS;

use super::{FindingKind, Findings};

/// What the file is, if it is Unicode text rather than Shift_JIS.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unicode {
    /// Starts with the UTF-8 byte order mark.
    Utf8Bom,
    /// Starts with a UTF-16 byte order mark.
    Utf16,
    /// UTF-8 with non-ASCII characters: where the first is, and which.
    Utf8 { line: usize, detail: String },
    /// Not recognisably Unicode.
    No,
}

/// Whether `bytes` are Unicode text. UTF-8 is recognised when the whole file is valid UTF-8
/// with a non-ASCII character and either is no valid Shift_JIS or holds a character from
/// U+0800 up (every kana and kanji): a Shift_JIS file whose only non-ASCII bytes are
/// half-width katakana can happen to be valid UTF-8 of Latin letters, never of kana.
pub(super) fn unicode(bytes: &[u8]) -> Unicode {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Unicode::Utf8Bom;
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Unicode::Utf16;
    }
    let Some(first) = bytes.iter().position(|b| !b.is_ascii()) else {
        return Unicode::No;
    };
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Unicode::No;
    };
    let wide = text.chars().any(|c| c >= '\u{800}');
    let sjis = SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .is_some();
    if !wide && sjis {
        return Unicode::No;
    }
    let line = bytes[..first].iter().filter(|&&b| b == b'\n').count() + 1;
    let c = text[first..].chars().next().unwrap_or_default();
    Unicode::Utf8 {
        line,
        detail: describe(c),
    }
}

/// `U+2460 '①'`, or `U+0009` for a control character.
pub(super) fn describe(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("U+{:04X} '{c}'", u32::from(c))
    }
}

/// What one character of a line is.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    /// In the lists.
    Allowed,
    /// A double quote.
    Quote,
    /// No Shift_JIS character.
    NotShiftJis,
    /// A CP932 extension beyond JIS X 0208, and which.
    Extended(&'static str),
    /// A two-byte character outside D1's ranges.
    Unlisted,
    /// A one-byte character outside D2's list.
    UnlistedHalfWidth,
}

/// The two-byte ranges of D1 (the 使用可能文字 list: Kirico's `charset_validator.rb`, the VB
/// `Usable2ByteCodes`, quoted 参考資料2; High for SHFD, Medium for KPFD).
const ALLOWED_2: &[(u16, u16)] = &[
    (0x8140, 0x8140), // 全角スペース
    (0x8141, 0x8164), // 記述記号
    (0x8165, 0x817A), // 括弧
    (0x817B, 0x818A), // 学術記号
    (0x818B, 0x8193), // 単位記号
    (0x8194, 0x81AC), // 一般記号
    (0x824F, 0x8258), // 数字
    (0x8260, 0x8279), // ローマ字 大文字
    (0x8281, 0x829A), // ローマ字 小文字
    (0x829F, 0x82F1), // ひらがな
    (0x8340, 0x8396), // カタカナ
    (0x839F, 0x83B6), // ギリシア 大文字
    (0x83BF, 0x83D6), // ギリシア 小文字
    (0x8440, 0x8460), // ロシア 大文字
    (0x8470, 0x8491), // ロシア 小文字
    (0x889F, 0x9872), // 第一水準漢字
    (0x989F, 0xEAA4), // 第二水準漢字
];

/// The CP932 extensions beyond JIS X 0208 (D1: not allowed though CP932 encodes them).
const EXTENSIONS: &[(u16, u16, &str)] = &[
    (0x8740, 0x879C, "NEC特殊文字"),
    (0xED40, 0xEEFC, "NEC選定IBM拡張文字"),
    (0xF040, 0xF9FC, "外字"),
    (0xFA40, 0xFC4B, "IBM拡張文字"),
];

fn in_ranges(code: u16, ranges: &[(u16, u16)]) -> bool {
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

/// The one-byte characters of D2 (the VB `Usable1ByteCodes`, Kirico's classes; Medium):
/// space, `,`, `-`, digits, Latin letters, `[` `]`, half-width katakana ｦ–ﾟ.
fn allowed_1(b: u8) -> bool {
    matches!(b, b' ' | b',' | b'-' | b'[' | b']' | 0xA6..=0xDF) || b.is_ascii_alphanumeric()
}

/// Whether `b` leads a two-byte Shift_JIS character.
fn is_lead(b: u8) -> bool {
    matches!(b, 0x81..=0x9F | 0xE0..=0xFC)
}

fn is_trail(b: u8) -> bool {
    matches!(b, 0x40..=0x7E | 0x80..=0xFC)
}

/// The class of the character `bytes` start with, and its length.
fn classify(bytes: &[u8]) -> (Class, usize) {
    let b = bytes[0];
    if b == b'"' {
        return (Class::Quote, 1);
    }
    if allowed_1(b) {
        return (Class::Allowed, 1);
    }
    if b.is_ascii() || (0xA1..=0xA5).contains(&b) {
        return (Class::UnlistedHalfWidth, 1);
    }
    if !is_lead(b) {
        // 0x80, 0xA0, 0xFD–0xFF: no character of CP932.
        return (Class::NotShiftJis, 1);
    }
    let Some(&trail) = bytes.get(1).filter(|&&t| is_trail(t)) else {
        // The next byte starts the next character.
        return (Class::NotShiftJis, 1);
    };
    let code = u16::from_be_bytes([b, trail]);
    // Every code in the ranges is a character (JIS X 0208's rows there are full).
    if in_ranges(code, ALLOWED_2) {
        return (Class::Allowed, 2);
    }
    if SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(&bytes[..2])
        .is_none()
    {
        return (Class::NotShiftJis, 2);
    }
    match EXTENSIONS
        .iter()
        .find(|&&(lo, hi, _)| (lo..=hi).contains(&code))
    {
        Some(&(_, _, block)) => (Class::Extended(block), 2),
        None => (Class::Unlisted, 2),
    }
}

/// The character of `bytes` (one Shift_JIS character) as `U+2460 '①' (NEC特殊文字, 0x8740)`.
fn describe_sjis(bytes: &[u8], block: Option<&str>) -> String {
    let (text, _) = SHIFT_JIS.decode_without_bom_handling(bytes);
    let c = text.chars().next().unwrap_or_default();
    let code: String = bytes.iter().map(|b| format!("{b:02X}")).collect();
    match block {
        Some(block) => format!("{} ({block}, 0x{code})", describe(c)),
        None => format!("{} (0x{code})", describe(c)),
    }
}

/// Checks the characters of line `number` (its bytes without the line ending).
pub(super) fn check_line(number: usize, bytes: &[u8], findings: &mut Findings) {
    let mut field = 1;
    let mut quoted_field = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (class, len) = classify(&bytes[i..]);
        let here = &bytes[i..i + len];
        let at = (Some(number), Some(field));
        match class {
            Class::Allowed => {}
            // One finding per field, however many quotes it has.
            Class::Quote if quoted_field == field => {}
            Class::Quote => {
                quoted_field = field;
                findings.add(FindingKind::Quote, at.0, at.1, None);
            }
            Class::NotShiftJis => findings.add_with(FindingKind::NotShiftJis, at.0, at.1, || {
                let hex: Vec<String> = here.iter().map(|b| format!("0x{b:02X}")).collect();
                Some(format!("bytes {}", hex.join(" ")))
            }),
            Class::Extended(block) => {
                findings.add_with(FindingKind::ExtendedCharacter, at.0, at.1, || {
                    Some(describe_sjis(here, Some(block)))
                })
            }
            Class::Unlisted => {
                findings.add_with(FindingKind::UnlistedCharacter, at.0, at.1, || {
                    Some(describe_sjis(here, None))
                })
            }
            Class::UnlistedHalfWidth => {
                findings.add_with(FindingKind::UnlistedHalfWidth, at.0, at.1, || {
                    Some(describe_sjis(here, None))
                })
            }
        }
        if here == b"," {
            field += 1;
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`classify`] takes a code in the ranges for a character without decoding it.
    #[test]
    fn every_listed_code_is_a_character() {
        for &(lo, hi) in ALLOWED_2 {
            for code in lo..=hi {
                let [lead, trail] = code.to_be_bytes();
                // A0–DF are one-byte characters, never a lead.
                if !is_lead(lead) || !is_trail(trail) {
                    continue;
                }
                assert!(
                    SHIFT_JIS
                        .decode_without_bom_handling_and_without_replacement(&[lead, trail])
                        .is_some(),
                    "{code:04X}"
                );
            }
        }
    }
}
