//! Where a service notice's data lies (spec §6.8): a path on an organisation's folder of the
//! federation's read-only download area, as a サービス情報 notice's `X-IFArea` names it.
//!
//! One rule reads every such path: the operator's `publish --location` and the names of the
//! files published, and what FTP and HTTPS clients ask for. `/` is the organisation's own
//! folder; `.` and empty names are dropped and `..` steps back up, so `a/../b` is `/b`, but
//! nothing can name a place above the folder. Refused: a `..` above the folder, NUL, a
//! backslash or any other control character, a name starting with `.` (the server's
//! unfinished copies are hidden that way), a name longer than [`MAX_NAME`] bytes and more than
//! [`MAX_DEPTH`] names.

use std::fmt;

use crate::Error;

/// The longest name (one path component), in bytes.
pub const MAX_NAME: usize = 255;

/// The most names a location may have.
pub const MAX_DEPTH: usize = 16;

/// A checked path inside an organisation's download folder; [`Location::root`] is the folder.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    names: Vec<String>,
}

impl Location {
    /// The organisation's folder itself (`/`).
    pub fn root() -> Location {
        Location::default()
    }

    /// Reads a path, absolute (`/kaigo/x`) or relative to the folder (`kaigo/x`): the same.
    pub fn parse(text: &str) -> Result<Location, Error> {
        let mut location = Location::root();
        for name in text.split('/') {
            match name {
                "" | "." => {}
                ".." => {
                    if location.names.pop().is_none() {
                        return Err(refused(text, "it leads above the folder"));
                    }
                }
                name => location.push(name).map_err(|why| refused(text, why))?,
            }
        }
        Ok(location)
    }

    /// This location with one more name, which must be a plain name (no `/`, not `..`).
    pub fn join(&self, name: &str) -> Result<Location, Error> {
        let mut location = self.clone();
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(refused(name, "it is not a plain name"));
        }
        location.push(name).map_err(|why| refused(name, why))?;
        Ok(location)
    }

    /// The names from the folder down.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The last name; `None` for the folder itself.
    pub fn file_name(&self) -> Option<&str> {
        self.names.last().map(String::as_str)
    }

    /// Whether this is the folder itself.
    pub fn is_root(&self) -> bool {
        self.names.is_empty()
    }

    fn push(&mut self, name: &str) -> Result<(), &'static str> {
        if name.starts_with('.') {
            return Err("a name may not start with '.'");
        }
        if name.len() > MAX_NAME {
            return Err("a name is too long");
        }
        if name.chars().any(|c| c == '\\' || c.is_control()) {
            return Err("it holds a backslash or a control character");
        }
        if self.names.len() == MAX_DEPTH {
            return Err("it is too deep");
        }
        self.names.push(name.to_owned());
        Ok(())
    }
}

fn refused(text: &str, why: &str) -> Error {
    Error::Location(format!("{text:?}: {why}"))
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.names.is_empty() {
            return f.write_str("/");
        }
        for name in &self.names {
            write!(f, "/{name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> Option<String> {
        Location::parse(text).ok().map(|l| l.to_string())
    }

    #[test]
    fn paths_are_normalised_inside_the_folder() {
        assert_eq!(
            shown("/kaigo/exchangeinfo322").as_deref(),
            Some("/kaigo/exchangeinfo322")
        );
        assert_eq!(shown("kaigo//./x/").as_deref(), Some("/kaigo/x"));
        assert_eq!(shown("/a/../b").as_deref(), Some("/b"));
        assert_eq!(shown("").as_deref(), Some("/"));
        assert_eq!(shown("/").as_deref(), Some("/"));
        assert_eq!(
            shown("データ/請求.csv").as_deref(),
            Some("/データ/請求.csv")
        );
        assert!(Location::parse("/").unwrap().is_root());
        assert_eq!(
            Location::parse("/a/b.csv").unwrap().file_name(),
            Some("b.csv")
        );
    }

    #[test]
    fn escapes_and_strange_names_are_refused() {
        for bad in [
            "..",
            "/..",
            "/a/../..",
            "../0000131011",
            "a\\..\\b",
            "a\0b",
            "a\nb",
            "/.hidden",
            "/a/.x.tmp",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Location::parse(&"a/".repeat(MAX_DEPTH + 1)).is_err());
        assert!(Location::parse(&"a".repeat(MAX_NAME + 1)).is_err());
        let dir = Location::parse("/kaigo").unwrap();
        assert_eq!(dir.join("x.csv").unwrap().to_string(), "/kaigo/x.csv");
        for bad in ["a/b", "..", ".", ".x", "", "a\\b"] {
            assert!(dir.join(bad).is_err(), "{bad:?}");
        }
    }
}
