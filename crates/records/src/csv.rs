//! The item syntax shared by data files and `CsvErr.txt` (spec §7, research notes A7): items
//! separated by commas, each optionally wrapped in double quotes with `""` standing for a quote
//! inside, and the Shift_JIS helpers both need.

use encoding_rs::SHIFT_JIS;

/// Splits one record (without its CRLF) into its items, unquoting them.
///
/// Returns `None` when the quoting is malformed: an unterminated quoted item, text after a
/// closing quote, or a quote inside an unquoted item (A7 allows a quote only as `""` inside a
/// quoted item, so a bare one means the writer did not quote).
pub(crate) fn split_items(record: &str) -> Option<Vec<String>> {
    let mut items = Vec::new();
    let mut chars = record.chars().peekable();
    loop {
        let mut item = String::new();
        let ended = if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        item.push('"');
                    }
                    '"' => break,
                    c => item.push(c),
                }
            }
            match chars.next() {
                None => true,
                Some(',') => false,
                Some(_) => return None,
            }
        } else {
            loop {
                match chars.next() {
                    None => break true,
                    Some(',') => break false,
                    Some('"') => return None,
                    Some(c) => item.push(c),
                }
            }
        };
        items.push(item);
        if ended {
            return Some(items);
        }
    }
}

/// Joins items into one record (without its CRLF), quoting only the items that need it: those
/// holding a comma or a double quote, so that [`split_items`] reads them back unchanged.
pub(crate) fn join_items<S: AsRef<str>>(items: &[S]) -> String {
    let mut record = String::new();
    for (i, item) in items.iter().enumerate() {
        let item = item.as_ref();
        if i > 0 {
            record.push(',');
        }
        if item.contains([',', '"']) {
            record.push('"');
            record.push_str(&item.replace('"', "\"\""));
            record.push('"');
        } else {
            record.push_str(item);
        }
    }
    record
}

/// A number written in ASCII digits only (no sign, no spaces); leading zeros are allowed.
pub(crate) fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// How many bytes `c` takes in Shift_JIS: one for ASCII (and U+0080, which the WHATWG decoder
/// maps to a single byte) and half-width katakana, two for everything else a Shift_JIS file can
/// hold. Item lengths (research notes A7 "バイト数") and the 英数 / 漢字 rules are counted this way.
pub(crate) fn sjis_width(c: char) -> usize {
    if c <= '\u{80}' || ('\u{FF61}'..='\u{FF9F}').contains(&c) {
        1
    } else {
        2
    }
}

/// Decodes Shift_JIS (the Windows code set, as encoding_rs implements it), or `None` when a byte
/// sequence is not Shift_JIS.
pub(crate) fn decode_sjis(bytes: &[u8]) -> Option<String> {
    SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.into_owned())
}

/// Encodes `text` as Shift_JIS, or `None` when some character would not read back as itself
/// (no mapping at all, or a lossy one such as `¥` → `\`).
pub(crate) fn encode_sjis(text: &str) -> Option<Vec<u8>> {
    let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
    if unmappable || decode_sjis(&bytes).as_deref() != Some(text) {
        return None;
    }
    Some(bytes.into_owned())
}

/// Whether `c` survives a Shift_JIS round trip.
pub(crate) fn sjis_represents(c: char) -> bool {
    c.is_ascii() || encode_sjis(c.encode_utf8(&mut [0; 4])).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(record: &str) -> Option<Vec<String>> {
        split_items(record)
    }

    #[test]
    fn splits_plain_and_quoted_items() {
        assert_eq!(split("1,2,abc").unwrap(), ["1", "2", "abc"]);
        assert_eq!(split("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(split("\"\",x").unwrap(), ["", "x"]);
        assert_eq!(split("\"say \"\"hi\"\"\"").unwrap(), ["say \"hi\""]);
        assert_eq!(split("a,,b,").unwrap(), ["a", "", "b", ""]);
        assert_eq!(split("").unwrap(), [""]);
    }

    #[test]
    fn rejects_malformed_quoting() {
        assert_eq!(split("\"abc"), None);
        assert_eq!(split("\"ab\"c,d"), None);
        assert_eq!(split("ab\"c"), None);
    }

    #[test]
    fn join_quotes_only_what_needs_it_and_round_trips() {
        let items = ["plain", "a,b", "say \"hi\"", "", "漢字"];
        let record = join_items(&items);
        assert_eq!(record, "plain,\"a,b\",\"say \"\"hi\"\"\",,漢字");
        assert_eq!(split(&record).unwrap(), items);
    }

    #[test]
    fn digits_only_numbers_with_any_padding() {
        assert_eq!(parse_digits::<u64>("0000000000000000000000125"), Some(125));
        assert_eq!(parse_digits::<u64>("0"), Some(0));
        for bad in ["", "-1", "+1", " 1", "1a", "１"] {
            assert_eq!(parse_digits::<u64>(bad), None, "{bad}");
        }
        assert_eq!(parse_digits::<u32>("4294967296"), None);
    }

    #[test]
    fn widths_and_round_trips() {
        assert_eq!(sjis_width('A'), 1);
        assert_eq!(sjis_width('ｱ'), 1);
        assert_eq!(sjis_width('ア'), 2);
        assert_eq!(sjis_width('漢'), 2);
        assert!(sjis_represents('漢'));
        assert!(!sjis_represents('¥'), "¥ encodes as a backslash");
        assert!(!sjis_represents('😀'));
        assert_eq!(encode_sjis("漢字").unwrap(), [0x8A, 0xBF, 0x8E, 0x9A]);
        assert_eq!(decode_sjis(&[0x82, 0xA0]).as_deref(), Some("あ"));
        assert_eq!(decode_sjis(&[0x82]), None);
    }
}
