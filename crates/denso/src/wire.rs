//! The raw shape of a mail message: header fields with their exact bytes, bodies, MIME parts.
//!
//! Ordinary MIME parsers normalise away what the 伝送 rules are about (the single space after
//! a colon, trailing blanks, CRLF), so both [`crate::inspect`] and [`crate::parse`] read
//! messages through this module, which keeps every byte and its line number.

use base64::Engine as _;
use encoding_rs::{ISO_2022_JP, SHIFT_JIS};

/// One header field as it stands in the message.
#[derive(Clone, Debug)]
pub(crate) struct RawHeader<'a> {
    /// The field name, as written.
    pub(crate) name: &'a [u8],
    /// Everything after the colon up to (not including) the CRLF that ends the field,
    /// continuation lines included.
    pub(crate) value: &'a [u8],
    /// The 1-based line the field starts on.
    pub(crate) line: usize,
}

impl RawHeader<'_> {
    /// Whether the field has this name (case-insensitive, as RFC 2822 says).
    pub(crate) fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    /// The field name as text (names are printable ASCII; anything else shows as U+FFFD).
    pub(crate) fn name_text(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    /// The value decoded from Shift_JIS, unfolded (each CRLF before white space removed) and
    /// trimmed of the white space around it. `None` when the bytes are not Shift_JIS.
    pub(crate) fn text(&self) -> Option<String> {
        let (decoded, had_errors) = SHIFT_JIS.decode_without_bom_handling(self.value);
        if had_errors {
            return None;
        }
        Some(unfold(&decoded).trim().to_owned())
    }

    /// Like [`RawHeader::text`], replacing undecodable bytes instead of failing.
    pub(crate) fn text_lossy(&self) -> String {
        let (decoded, _) = SHIFT_JIS.decode_without_bom_handling(self.value);
        unfold(&decoded).trim().to_owned()
    }
}

/// Removes the line breaks of folded header lines (RFC 2822 §2.2.3). A bare LF or CR ends a
/// line too (see [`line_at`]), so it folds like CRLF: such line ends are reported as
/// violations elsewhere, not misread here.
fn unfold(value: &str) -> String {
    value.replace(['\r', '\n'], "")
}

/// A header block and the body that follows it.
#[derive(Clone, Debug)]
pub(crate) struct Entity<'a> {
    /// The header fields in order.
    pub(crate) headers: Vec<RawHeader<'a>>,
    /// Lines of the header block that are neither a field nor a continuation (1-based).
    pub(crate) malformed_lines: Vec<usize>,
    /// The body bytes.
    pub(crate) body: &'a [u8],
    /// The 1-based line the body starts on.
    pub(crate) body_line: usize,
}

impl<'a> Entity<'a> {
    /// Splits `bytes` (which start on line `first_line`) into header fields and body.
    pub(crate) fn parse(bytes: &'a [u8], first_line: usize) -> Entity<'a> {
        // (name start, colon, value end, line) per field; a continuation line moves the value
        // end of the field before it.
        let mut fields: Vec<(usize, usize, usize, usize)> = Vec::new();
        let mut malformed_lines = Vec::new();
        let mut pos = 0;
        let mut line = first_line;
        while pos < bytes.len() {
            let (content, next) = line_at(bytes, pos);
            let content_end = pos + content.len();
            if content.is_empty() {
                pos = next;
                line += 1;
                break;
            }
            if content[0] == b' ' || content[0] == b'\t' {
                match fields.last_mut() {
                    Some(last) => last.2 = content_end,
                    None => malformed_lines.push(line),
                }
            } else {
                match content.iter().position(|&b| b == b':') {
                    Some(colon) if colon > 0 && content[..colon].iter().all(is_field_name_byte) => {
                        fields.push((pos, pos + colon, content_end, line))
                    }
                    _ => malformed_lines.push(line),
                }
            }
            pos = next;
            line += 1;
        }
        let headers = fields
            .into_iter()
            .map(|(start, colon, end, line)| RawHeader {
                name: &bytes[start..colon],
                value: &bytes[colon + 1..end],
                line,
            })
            .collect();
        Entity {
            headers,
            malformed_lines,
            body: &bytes[pos.min(bytes.len())..],
            body_line: line,
        }
    }

    /// The first field with this name.
    pub(crate) fn header(&self, name: &str) -> Option<&RawHeader<'a>> {
        self.headers.iter().find(|h| h.is(name))
    }

    /// How many fields have this name.
    pub(crate) fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|h| h.is(name)).count()
    }

    /// The decoded, unfolded value of the first field with this name.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.header(name).map(RawHeader::text_lossy)
    }
}

/// RFC 2822 field names: printable ASCII except the colon.
fn is_field_name_byte(b: &u8) -> bool {
    (33..=126).contains(b) && *b != b':'
}

/// The line starting at `pos` without its line ending, and where the next line starts.
/// CRLF, a bare LF and a bare CR all end a line, so a message with wrong line endings is still
/// read line by line (and reported, by [`line_ending_defects`]).
fn line_at(bytes: &[u8], pos: usize) -> (&[u8], usize) {
    let rest = &bytes[pos..];
    match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
        Some(i) if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') => (&rest[..i], pos + i + 2),
        Some(i) => (&rest[..i], pos + i + 1),
        None => (rest, bytes.len()),
    }
}

/// The 1-based lines whose ending is not CRLF (a bare LF, a bare CR), or which are longer than
/// RFC 2822's 998 characters.
pub(crate) fn line_ending_defects(bytes: &[u8]) -> (Option<usize>, Option<usize>) {
    let mut bad_ending = None;
    let mut too_long = None;
    let mut pos = 0;
    let mut line = 1;
    while pos < bytes.len() {
        let (content, next) = line_at(bytes, pos);
        let ending = &bytes[pos + content.len()..next];
        if bad_ending.is_none() && !ending.is_empty() && ending != b"\r\n" {
            bad_ending = Some(line);
        }
        if too_long.is_none() && content.len() > 998 {
            too_long = Some(line);
        }
        pos = next;
        line += 1;
    }
    (bad_ending, too_long)
}

/// A `Content-Type` value split into its media type and parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContentType {
    /// `type/subtype`, lower-cased.
    pub(crate) media_type: String,
    /// Parameters in order, names lower-cased, values unquoted.
    pub(crate) params: Vec<(String, String)>,
}

impl ContentType {
    /// Parses `type/subtype; name=value; name="quoted value"`.
    pub(crate) fn parse(value: &str) -> ContentType {
        let mut parts = split_params(value).into_iter();
        let media_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let params = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                Some((name.trim().to_ascii_lowercase(), unquote(value.trim())))
            })
            .collect();
        ContentType { media_type, params }
    }

    /// The value of a parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the `charset` parameter is ISO-2022-JP.
    pub(crate) fn is_iso_2022_jp(&self) -> bool {
        self.param("charset")
            .is_some_and(|c| c.eq_ignore_ascii_case("iso-2022-jp"))
    }
}

/// Splits at semicolons that are not inside double quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == ';' && !quoted {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

fn unquote(value: &str) -> String {
    match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => value.to_owned(),
    }
}

/// The parts of a multipart body and how the split went.
#[derive(Clone, Debug)]
pub(crate) struct Multipart<'a> {
    /// Each body part, parsed as an entity.
    pub(crate) parts: Vec<Entity<'a>>,
    /// Whether the closing delimiter `--boundary--` was found.
    pub(crate) closed: bool,
}

/// Splits a multipart body at its boundary delimiters (RFC 2046 §5.1.1). The CRLF before each
/// delimiter belongs to the delimiter, so part bodies keep exactly their own bytes.
pub(crate) fn split_multipart<'a>(
    body: &'a [u8],
    body_line: usize,
    boundary: &str,
) -> Multipart<'a> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // Positions of lines that start with the delimiter, each with what follows it.
    let mut marks: Vec<(usize, usize, bool, usize)> = Vec::new();
    let mut pos = 0;
    let mut line = body_line;
    while pos < body.len() {
        let (content, next) = line_at(body, pos);
        if let Some(rest) = content.strip_prefix(delimiter) {
            let closing = rest.starts_with(b"--");
            let rest = if closing { &rest[2..] } else { rest };
            if rest.iter().all(|&b| b == b' ' || b == b'\t') {
                marks.push((pos, next, closing, line));
            }
        }
        pos = next;
        line += 1;
    }
    let mut parts = Vec::new();
    let mut closed = false;
    for (i, &(_, content_start, closing, line)) in marks.iter().enumerate() {
        if closing {
            closed = true;
            break;
        }
        let end = marks.get(i + 1).map_or(body.len(), |&(start, ..)| start);
        let mut part = &body[content_start..end];
        // The line break before the next delimiter belongs to that delimiter.
        if i + 1 < marks.len() {
            part = part
                .strip_suffix(b"\r\n")
                .or_else(|| part.strip_suffix(b"\n"))
                .unwrap_or(part);
        }
        parts.push(Entity::parse(part, line + 1));
    }
    Multipart { parts, closed }
}

/// Decodes Base64 content, ignoring line breaks and other white space.
pub(crate) fn decode_base64(content: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = content
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Encodes Base64 content in lines of 76 characters, each ending with CRLF (RFC 2045 §6.8).
pub(crate) fn encode_base64(data: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push_str("\r\n");
    }
    out
}

/// Every line break (CRLF, or a lone CR or LF) as `\n`, so text reads the same however its
/// lines were ended, and normalising twice changes nothing.
pub(crate) fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Decodes an ISO-2022-JP body. `None` when the bytes are not valid ISO-2022-JP.
pub(crate) fn decode_iso_2022_jp(bytes: &[u8]) -> Option<String> {
    let (text, had_errors) = ISO_2022_JP.decode_without_bom_handling(bytes);
    (!had_errors).then(|| text.into_owned())
}

/// Encodes text as ISO-2022-JP. Characters ISO-2022-JP cannot hold are refused with the first
/// one found; half-width katakana become full-width, as the encoding standard prescribes.
pub(crate) fn encode_iso_2022_jp(text: &str) -> Result<Vec<u8>, char> {
    let (bytes, _, had_errors) = ISO_2022_JP.encode(text);
    if had_errors {
        let bad = text
            .chars()
            .find(|c| ISO_2022_JP.encode(&c.to_string()).2)
            .unwrap_or('\u{fffd}');
        return Err(bad);
    }
    Ok(bytes.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_raw_bytes_and_lines() {
        let msg = b"To: a@b\r\nSubject:  x \r\nContent-Type: multipart/mixed;\r\n     boundary=\"q\"\r\n\r\nbody";
        let e = Entity::parse(msg, 1);
        assert_eq!(e.headers.len(), 3);
        assert_eq!(e.headers[1].value, b"  x ");
        assert_eq!(e.headers[2].line, 3);
        assert_eq!(
            e.headers[2].text_lossy(),
            "multipart/mixed;     boundary=\"q\""
        );
        assert_eq!(e.body, b"body");
        assert_eq!(e.body_line, 6);
    }

    #[test]
    fn line_endings() {
        assert_eq!(line_ending_defects(b"a\r\nb\r\n"), (None, None));
        assert_eq!(line_ending_defects(b"a\r\nb\nc"), (Some(2), None));
        assert_eq!(line_ending_defects(b"a\rb"), (Some(1), None));
    }

    #[test]
    fn content_type_params() {
        let ct = ContentType::parse("multipart/mixed; boundary=\"a;b\"; charset=ISO-2022-JP");
        assert_eq!(ct.media_type, "multipart/mixed");
        assert_eq!(ct.param("boundary"), Some("a;b"));
        assert!(ct.is_iso_2022_jp());
    }

    #[test]
    fn multipart_parts_keep_their_bytes() {
        let body =
            b"--b\r\nContent-Type: text/plain\r\n\r\n--b\r\nX: y\r\n\r\nAAAA\r\n\r\n--b--\r\n";
        let m = split_multipart(body, 1, "b");
        assert!(m.closed);
        assert_eq!(m.parts.len(), 2);
        assert!(m.parts[0].body.is_empty());
        assert_eq!(m.parts[1].body, b"AAAA\r\n");
    }

    #[test]
    fn iso_2022_jp_round_trip() {
        let text = "３月の請求書締め切りのお知らせ";
        let bytes = encode_iso_2022_jp(text).expect("encodable");
        assert!(bytes.iter().all(|b| *b < 0x80));
        assert_eq!(decode_iso_2022_jp(&bytes).as_deref(), Some(text));
        assert!(encode_iso_2022_jp("😀").is_err());
    }
}
