//! Entry paths: relative, `/`-separated, free of anything that could escape a target
//! directory, and their Shift_JIS form inside headers.

use std::fmt;
use std::path::PathBuf;

use encoding_rs::SHIFT_JIS;

use crate::Error;

/// A safe relative path inside an archive, e.g. `1234567890/RESULT.CSV`.
///
/// Every component is non-empty, is not `.` or `..`, and holds no separator, drive colon or
/// control character, so joining it under a directory never leaves that directory. Names
/// Windows cannot hold (`<>"|?*`, trailing dots or spaces, device names such as `CON` or
/// `LPT1.TXT`) are refused too: the archives travel to and from Windows machines.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryPath {
    components: Vec<String>,
}

fn invalid(path: &str, reason: &'static str) -> Error {
    Error::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// Why one path component is unsafe here or on Windows (where the archives are used), if it is.
fn component_problem(part: &str) -> Option<&'static str> {
    let stem = part
        .split('.')
        .next()
        .unwrap_or(part)
        .trim_end()
        .to_ascii_uppercase();
    let device = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.ends_with(|c: char| c.is_ascii_digit()));
    match part {
        ".." => Some("`..` climbs out of the target"),
        _ if part.contains(':') => Some("drive letter or stream name (`:`)"),
        _ if part.chars().any(char::is_control) => Some("control character"),
        _ if part.contains(['<', '>', '"', '|', '?', '*']) => {
            Some("character not allowed in Windows file names")
        }
        _ if part.ends_with(['.', ' ']) => Some("trailing dot or space, which Windows drops"),
        _ if device => Some("Windows device name"),
        _ => None,
    }
}

impl EntryPath {
    /// Parses a `/`- or `\`-separated relative path; a trailing separator is allowed.
    pub fn new(path: &str) -> Result<Self, Error> {
        if path.starts_with(['/', '\\']) {
            return Err(invalid(path, "absolute path"));
        }
        let mut components = Vec::new();
        for part in path
            .split(['/', '\\'])
            .filter(|part| !part.is_empty() && *part != ".")
        {
            if let Some(reason) = component_problem(part) {
                return Err(invalid(path, reason));
            }
            components.push(part.to_owned());
        }
        if components.is_empty() {
            return Err(invalid(path, "empty path"));
        }
        Ok(Self { components })
    }

    /// The components, outermost first.
    pub fn components(&self) -> &[String] {
        &self.components
    }

    /// The path relative to a directory on this system.
    pub fn to_path_buf(&self) -> PathBuf {
        self.components.iter().collect()
    }

    /// The directory part and the last component, each Shift_JIS encoded as level-2
    /// headers store them: the directory with `0xFF` after every component.
    pub(crate) fn to_shift_jis(&self) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let encode = |part: &str| {
            let (bytes, _, unmappable) = SHIFT_JIS.encode(part);
            if unmappable {
                Err(invalid(&self.to_string(), "not representable in Shift_JIS"))
            } else {
                Ok(bytes.into_owned())
            }
        };
        let (name, dirs) = self
            .components
            .split_last()
            .ok_or_else(|| invalid("", "empty path"))?;
        let mut dir = Vec::new();
        for part in dirs {
            dir.extend(encode(part)?);
            dir.push(0xFF);
        }
        Ok((dir, encode(name)?))
    }
}

impl fmt::Display for EntryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.components.join("/"))
    }
}

/// Decodes a name from a header: UTF-8 when it is valid UTF-8 (some archivers write it,
/// and Japanese Shift_JIS text almost never is), otherwise Shift_JIS.
pub(crate) fn decode_name(raw: &[u8]) -> Option<String> {
    if let Ok(text) = std::str::from_utf8(raw) {
        return Some(text.to_owned());
    }
    SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(raw)
        .map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        for bad in [
            "/etc/passwd",
            "\\win",
            "a/../../b",
            "..",
            "C:/x",
            "c:x",
            "a/\u{0}b",
            "",
            "./",
            "a/\u{1b}",
            "a|b",
            "x?",
            "CON",
            "nul.txt",
            "com1.csv",
            "dir./f",
            "f ",
        ] {
            assert!(
                matches!(EntryPath::new(bad), Err(Error::InvalidPath { .. })),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn ordinary_names_that_resemble_devices_are_fine() {
        for good in [
            "CONTRACT.CSV",
            "com10.txt",
            "a.b.c",
            "1234567890/RESULT.CSV",
            ".hidden",
        ] {
            assert!(EntryPath::new(good).is_ok(), "{good:?} refused");
        }
    }

    #[test]
    fn normalises_separators_and_dots() {
        let path = EntryPath::new("./組合\\sub//請求.CSV").expect("valid");
        assert_eq!(path.to_string(), "組合/sub/請求.CSV");
    }

    #[test]
    fn shift_jis_round_trip() {
        let path = EntryPath::new("1234567890/請求.CSV").expect("valid");
        let (dir, name) = path.to_shift_jis().expect("encodable");
        assert_eq!(dir, b"1234567890\xFF");
        assert_eq!(name, b"\x90\xbf\x8b\x81.CSV");
        assert_eq!(decode_name(&name).as_deref(), Some("請求.CSV"));
    }

    #[test]
    fn refuses_names_without_shift_jis_form() {
        let path = EntryPath::new("emoji😀.csv").expect("valid path");
        assert!(matches!(
            path.to_shift_jis(),
            Err(Error::InvalidPath { .. })
        ));
    }
}
