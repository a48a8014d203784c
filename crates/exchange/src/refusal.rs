//! A rule's refusal: the code and the names of the items concerned.

use std::fmt;

use crate::api::Problem;
use crate::code::Code;

/// Why a rule refused: the code the app shows and the items filling its placeholders.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Refusal {
    /// The code.
    pub code: Code,
    /// The items, in placeholder order.
    pub items: Vec<String>,
}

impl Refusal {
    /// A refusal with `code` about `items`.
    pub fn new(code: Code, items: &[&str]) -> Refusal {
        Refusal {
            code,
            items: items.iter().map(|item| (*item).to_owned()).collect(),
        }
    }

    /// The Japanese message, filled.
    pub fn message(&self) -> String {
        self.code.fill(&self.item_refs())
    }

    /// The English message, filled.
    pub fn english(&self) -> String {
        self.code.fill_english(&self.item_refs())
    }

    /// The refusal as the server answers it, with a machine-readable `reason`.
    pub fn problem(&self, reason: &str) -> Problem {
        Problem::new(self.code, &self.item_refs(), reason)
    }

    fn item_refs(&self) -> Vec<&str> {
        self.items.iter().map(String::as_str).collect()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.code(), self.message())
    }
}
