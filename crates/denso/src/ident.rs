//! Identities of the 伝送 protocol (spec §2): organisation kinds and numbers, account IDs, mail
//! addresses, 識別番号 and 伝送整理番号.
//!
//! Every type here is parsed, never merely validated: holding an [`AccountId`] or a
//! [`TransmissionNumber`] means it obeys the rules.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::Error;

/// The kind of a federation client (都道府県 / 保険者 / 福祉事務所 / 事業所).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrgKind {
    /// 都道府県: account IDs start with `K`.
    Prefecture,
    /// 保険者: account IDs start with `H`.
    Insurer,
    /// 福祉事務所: account IDs start with `F`.
    WelfareOffice,
    /// 事業所 (care or business office): account IDs start with `J`.
    Office,
}

impl OrgKind {
    /// Every kind, in the order of spec §2.
    pub const ALL: [OrgKind; 4] = [
        OrgKind::Prefecture,
        OrgKind::Insurer,
        OrgKind::WelfareOffice,
        OrgKind::Office,
    ];

    /// The letter that starts this kind's account IDs.
    pub const fn letter(self) -> char {
        match self {
            OrgKind::Prefecture => 'K',
            OrgKind::Insurer => 'H',
            OrgKind::WelfareOffice => 'F',
            OrgKind::Office => 'J',
        }
    }

    /// The kind whose account IDs start with `letter`.
    pub fn from_letter(letter: char) -> Option<OrgKind> {
        OrgKind::ALL.into_iter().find(|k| k.letter() == letter)
    }

    /// How many digits the organisation number has (都道府県番号 2, 保険者番号 6, 福祉事務所番号 6,
    /// 事業所番号 10).
    pub const fn number_len(self) -> usize {
        match self {
            OrgKind::Prefecture => 2,
            OrgKind::Insurer | OrgKind::WelfareOffice => 6,
            OrgKind::Office => 10,
        }
    }

    /// The fixed prefix that pads the organisation number to a 10-character 識別番号, and that
    /// also follows the letter in an account ID.
    pub const fn code_prefix(self) -> &'static str {
        match self {
            OrgKind::Prefecture => "00000000",
            OrgKind::Insurer => "0000",
            OrgKind::WelfareOffice => "0012",
            OrgKind::Office => "",
        }
    }

    /// The characters allowed as the last (seq) character of an account ID, in order: `0-9`
    /// then `A-Z` without `I` and `O` for K/H/F (34 values), `0-9` for J (10 values).
    pub const fn seq_alphabet(self) -> &'static str {
        match self {
            OrgKind::Office => "0123456789",
            _ => "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ",
        }
    }

    /// The word used on the command line and in configuration files.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrgKind::Prefecture => "prefecture",
            OrgKind::Insurer => "insurer",
            OrgKind::WelfareOffice => "welfare",
            OrgKind::Office => "office",
        }
    }
}

impl fmt::Display for OrgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrgKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        OrgKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::Identity(format!("unknown organisation kind {s:?}")))
    }
}

/// An organisation: its kind and its number (都道府県番号 / 保険者番号 / 福祉事務所番号 / 事業所番号).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgNumber {
    kind: OrgKind,
    number: String,
}

impl OrgNumber {
    /// Parses an organisation number of the given kind: exactly as many digits as the kind has.
    pub fn new(kind: OrgKind, number: &str) -> Result<OrgNumber, Error> {
        if number.len() != kind.number_len() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Identity(format!(
                "a {kind} number has {} digits, not {number:?}",
                kind.number_len()
            )));
        }
        Ok(OrgNumber {
            kind,
            number: number.to_owned(),
        })
    }

    /// The organisation's kind.
    pub fn kind(&self) -> OrgKind {
        self.kind
    }

    /// The number itself, without padding.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The 10-character 識別番号 that starts this organisation's transmission numbers.
    pub fn org_code(&self) -> OrgCode {
        OrgCode(format!("{}{}", self.kind.code_prefix(), self.number))
    }

    /// The account ID with the given seq character.
    pub fn account(&self, seq: char) -> Result<AccountId, Error> {
        if !self.kind.seq_alphabet().contains(seq) {
            return Err(Error::Identity(format!(
                "{seq:?} is not a seq character of a {} account",
                self.kind
            )));
        }
        Ok(AccountId {
            org: self.clone(),
            seq,
        })
    }

    /// The master account (seq `0`), which receives `Transmit Result`.
    pub fn master(&self) -> AccountId {
        AccountId {
            org: self.clone(),
            seq: '0',
        }
    }
}

impl fmt::Display for OrgNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.number)
    }
}

/// An account ID (ID), also the local part of its mail address: e.g. `J12345678900`.
///
/// Layout (spec §2): kind letter + the kind's prefix + organisation number + one seq character;
/// 12 characters for every kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId {
    org: OrgNumber,
    seq: char,
}

impl AccountId {
    /// The organisation the account belongs to.
    pub fn org(&self) -> &OrgNumber {
        &self.org
    }

    /// The seq character.
    pub fn seq(&self) -> char {
        self.seq
    }

    /// Whether this is the organisation's master ID (マスタID, seq `0`).
    pub fn is_master(&self) -> bool {
        self.seq == '0'
    }

    /// The account's mail address in the federation's domain.
    pub fn address(&self, domain: &str) -> String {
        format!("{self}@{domain}")
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.org.kind;
        write!(
            f,
            "{}{}{}{}",
            kind.letter(),
            kind.code_prefix(),
            self.org.number,
            self.seq
        )
    }
}

impl FromStr for AccountId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::Identity(format!("{s:?} is not an account ID"));
        let mut chars = s.chars();
        let kind = chars
            .next()
            .and_then(OrgKind::from_letter)
            .ok_or_else(bad)?;
        let rest = chars.as_str();
        let prefix = kind.code_prefix();
        if !s.is_ascii() || rest.len() != prefix.len() + kind.number_len() + 1 {
            return Err(bad());
        }
        let number = rest.strip_prefix(prefix).ok_or_else(bad)?;
        let (number, seq) = number.split_at(kind.number_len());
        let seq = seq.chars().next().ok_or_else(bad)?;
        OrgNumber::new(kind, number)
            .and_then(|org| org.account(seq))
            .map_err(|_| bad())
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A 識別番号: the 10-character organisation code that starts a transmission number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgCode(String);

impl OrgCode {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The organisation this code names. Prefixes are tried longest first: office numbers start
    /// with a non-zero prefecture number, so no code is ambiguous.
    pub fn org(&self) -> Option<OrgNumber> {
        [
            OrgKind::Prefecture,
            OrgKind::WelfareOffice,
            OrgKind::Insurer,
            OrgKind::Office,
        ]
        .into_iter()
        .find_map(|kind| {
            let number = self.0.strip_prefix(kind.code_prefix())?;
            OrgNumber::new(kind, number).ok()
        })
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `s` is made only of digits and upper-case ASCII letters.
pub(crate) fn is_upper_alnum(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// A 伝送整理番号: 20 digits or upper-case letters, 識別番号 (10) + 整理番号 (10).
///
/// Made by the client, unique within its organisation; the server stops managing it once it has
/// returned the Regist (spec §5.4(3)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransmissionNumber(String);

impl TransmissionNumber {
    /// Builds a number from an organisation and its 10-character 整理番号 (serial).
    pub fn new(org: &OrgNumber, serial: &str) -> Result<TransmissionNumber, Error> {
        format!("{}{serial}", org.org_code()).parse()
    }

    /// The first ten characters, the 識別番号.
    pub fn org_code(&self) -> OrgCode {
        OrgCode(self.0[..10].to_owned())
    }

    /// The last ten characters, the 整理番号.
    pub fn serial(&self) -> &str {
        &self.0[10..]
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TransmissionNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TransmissionNumber {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        if s.len() == 20 && is_upper_alnum(s) {
            Ok(TransmissionNumber(s.to_owned()))
        } else {
            Err(Error::Identity(format!(
                "{s:?} is not a transmission number (20 digits or upper-case letters)"
            )))
        }
    }
}

impl Serialize for TransmissionNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_of_every_kind_round_trip() {
        for (id, kind, number, code) in [
            ("K00000000990", OrgKind::Prefecture, "99", "0000000099"),
            ("H0000123456Z", OrgKind::Insurer, "123456", "0000123456"),
            (
                "F0012654321A",
                OrgKind::WelfareOffice,
                "654321",
                "0012654321",
            ),
            ("J13123456789", OrgKind::Office, "1312345678", "1312345678"),
        ] {
            let parsed: AccountId = id.parse().expect(id);
            assert_eq!(parsed.to_string(), id);
            assert_eq!(parsed.org().kind(), kind);
            assert_eq!(parsed.org().number(), number);
            assert_eq!(parsed.org().org_code().as_str(), code);
            assert_eq!(parsed.org().org_code().org().as_ref(), Some(parsed.org()));
        }
    }

    #[test]
    fn seq_rules() {
        let pref = OrgNumber::new(OrgKind::Prefecture, "13").expect("valid");
        assert_eq!(pref.seq_alphabet_len(), 34);
        assert!(pref.account('I').is_err());
        assert!(pref.account('O').is_err());
        assert!(pref.account('Z').is_ok());
        let office = OrgNumber::new(OrgKind::Office, "1312345678").expect("valid");
        assert!(office.account('A').is_err());
        assert!(office.account('9').is_ok());
        assert!(office.master().is_master());
        assert!("J1312345678A".parse::<AccountId>().is_err());
        assert!("K0000000013I".parse::<AccountId>().is_err());
        assert!("J131234567890".parse::<AccountId>().is_err());
        assert!("X13123456780".parse::<AccountId>().is_err());
        assert!("H1000123456Z".parse::<AccountId>().is_err());
    }

    #[test]
    fn transmission_numbers() {
        let office = OrgNumber::new(OrgKind::Office, "1312345678").expect("valid");
        let tn = TransmissionNumber::new(&office, "20260401A1").expect("valid");
        assert_eq!(tn.as_str(), "131234567820260401A1");
        assert_eq!(tn.org_code(), office.org_code());
        assert_eq!(tn.serial(), "20260401A1");
        assert!(
            "131234567820260401a1"
                .parse::<TransmissionNumber>()
                .is_err()
        );
        assert!("131234567820260401A".parse::<TransmissionNumber>().is_err());
        assert!(
            "１31234567820260401A"
                .parse::<TransmissionNumber>()
                .is_err()
        );
    }

    impl OrgNumber {
        fn seq_alphabet_len(&self) -> usize {
            self.kind.seq_alphabet().len()
        }
    }
}
