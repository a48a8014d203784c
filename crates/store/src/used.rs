//! The used-number answers [`kx_denso::inspect`] needs, looked up before it runs: `inspect`
//! is synchronous and pure, the store is neither.

use std::collections::HashSet;

use kx_denso::{OrgCode, TransmissionNumber, UsedNumbers};

use crate::{Error, Store};

/// What the store knew, when it was asked, about the numbers one message uses. Numbers not
/// looked up count as unused: the final word is [`Store::accept`]'s and
/// [`Store::receive_upstream`]'s uniqueness check, so a stale answer can never let a number
/// be used twice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsedSnapshot {
    numbers: HashSet<TransmissionNumber>,
    uniques: HashSet<(String, String)>,
}

impl UsedNumbers for UsedSnapshot {
    fn number_used(&self, number: &TransmissionNumber) -> bool {
        self.numbers.contains(number)
    }

    fn unique_used(&self, kind: &str, unique: &str) -> bool {
        self.uniques.contains(&(kind.to_owned(), unique.to_owned()))
    }
}

impl Store {
    /// Looks up whether `org` has used `number` and whether `unique` (upstream kind, 一意番号)
    /// has been used, for [`kx_denso::Context::used`].
    pub async fn used_snapshot(
        &self,
        org: &OrgCode,
        number: Option<&TransmissionNumber>,
        unique: Option<(&str, &str)>,
    ) -> Result<UsedSnapshot, Error> {
        let mut snapshot = UsedSnapshot::default();
        if let Some(number) = number
            && self.number_used(org, number).await?
        {
            snapshot.numbers.insert(number.clone());
        }
        if let Some((kind, unique)) = unique
            && self.unique_used(kind, unique).await?
        {
            snapshot
                .uniques
                .insert((kind.to_owned(), unique.to_owned()));
        }
        Ok(snapshot)
    }
}
