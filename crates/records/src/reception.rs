//! The check of a Regist against what was sent (§9.3.4): an office that meant to send claims
//! and benefit-management forms but sent only part of them, or whose file lost records on the
//! way, should see it at once, not when the review system pays less.

use std::fmt;

use crate::{FormCounts, TransmitInfo};

/// A data file as the client counted it before sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentFile {
    /// The CSV's name (inside the LZH when packed).
    pub name: String,
    /// Its data records, when the file's structure could be read.
    pub records: Option<u64>,
}

/// What the federation's Regist said about a submission.
#[derive(Clone, Copy, Debug)]
pub struct Reception<'a> {
    /// Whether the check result was `Success` (the per-file results are then listed).
    pub success: bool,
    /// The files the Regist lists.
    pub listed: &'a [&'a str],
    /// The Regist's TransmitInfo.txt, when it carried one and it could be read.
    pub info: Option<&'a TransmitInfo>,
}

/// Something that looks incomplete in a reception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceptionWarning {
    /// A file was sent, but the successful Regist does not list it.
    NotListed {
        /// The file sent.
        file: String,
    },
    /// The federation counted fewer records than the file held when it was sent.
    FewerRecords {
        /// The file.
        file: String,
        /// 全レコード件数 of TransmitInfo.txt.
        received: u64,
        /// The data records counted before sending.
        held: u64,
    },
    /// Claims (請求書) arrived but no benefit-management form (給付管理票).
    NoBenefitManagement {
        /// The claims received.
        claims: u64,
    },
}

impl fmt::Display for ReceptionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceptionWarning::NotListed { file } => {
                write!(f, "{file} was sent but the Regist does not list it")
            }
            ReceptionWarning::FewerRecords {
                file,
                received,
                held,
            } => write!(
                f,
                "{file}: the federation received {received} of the {held} records the file held"
            ),
            ReceptionWarning::NoBenefitManagement { claims } => write!(
                f,
                "{claims} claim(s) (請求書) but no benefit-management form (給付管理票): was a file forgotten?"
            ),
        }
    }
}

/// Every warning about `reception` of the files `sent`, in the order: unlisted files, short
/// files, missing forms. File names compare without regard to ASCII case.
pub fn check_reception(sent: &[SentFile], reception: &Reception<'_>) -> Vec<ReceptionWarning> {
    let mut warnings = Vec::new();
    if reception.success {
        for file in sent {
            if !reception
                .listed
                .iter()
                .any(|listed| listed.eq_ignore_ascii_case(&file.name))
            {
                warnings.push(ReceptionWarning::NotListed {
                    file: file.name.clone(),
                });
            }
        }
    }
    let Some(info) = reception.info else {
        return warnings;
    };
    for receipt in &info.receipts {
        let held = sent
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(&receipt.file))
            .and_then(|f| f.records);
        if let Some(held) = held
            && receipt.total < held
        {
            warnings.push(ReceptionWarning::FewerRecords {
                file: receipt.file.clone(),
                received: receipt.total,
                held,
            });
        }
    }
    let forms: Vec<&FormCounts> = info
        .receipts
        .iter()
        .filter_map(|r| r.forms.as_ref())
        .collect();
    let claims: u64 = forms.iter().map(|f| f.claims).sum();
    let benefit: u64 = forms.iter().map(|f| f.benefit_management).sum();
    if claims > 0 && benefit == 0 {
        warnings.push(ReceptionWarning::NoBenefitManagement { claims });
    }
    warnings
}

/// Counts in words: `3 records in all: 2 claims (請求書), 1 benefit-management form (給付管理票),
/// 0 re-examination requests (再審査申立書)`.
pub fn counts_in_words(total: u64, forms: Option<&FormCounts>) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut words = plural(total, "record", "records") + " in all";
    if let Some(f) = forms {
        words.push_str(&format!(
            ": {} (請求書), {} (給付管理票), {} (再審査申立書)",
            plural(f.claims, "claim", "claims"),
            plural(
                f.benefit_management,
                "benefit-management form",
                "benefit-management forms"
            ),
            plural(
                f.reexaminations,
                "re-examination request",
                "re-examination requests"
            )
        ));
    }
    words
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Receipt;

    fn sent(files: &[(&str, u64)]) -> Vec<SentFile> {
        files
            .iter()
            .map(|(name, records)| SentFile {
                name: (*name).into(),
                records: Some(*records),
            })
            .collect()
    }

    /// A receipt with claims and benefit-management forms only; the ledger's tests use it too.
    pub(crate) fn receipt(file: &str, claims: u64, benefit: u64, total: u64) -> Receipt {
        Receipt {
            file: file.into(),
            forms: Some(FormCounts {
                claims,
                benefit_management: benefit,
                reexaminations: 0,
            }),
            total,
        }
    }

    #[test]
    fn complete_receptions_raise_no_warning() {
        let info = TransmitInfo {
            receipts: vec![receipt("A.CSV", 2, 0, 2), receipt("B.CSV", 0, 1, 1)],
            errors: Vec::new(),
        };
        let reception = Reception {
            success: true,
            listed: &["a.csv", "B.CSV"],
            info: Some(&info),
        };
        let files = sent(&[("A.CSV", 2), ("B.CSV", 1)]);
        assert_eq!(check_reception(&files, &reception), Vec::new());
    }

    #[test]
    fn incomplete_receptions_are_named() {
        let info = TransmitInfo {
            receipts: vec![receipt("A.CSV", 3, 0, 3)],
            errors: Vec::new(),
        };
        let reception = Reception {
            success: true,
            listed: &["A.CSV"],
            info: Some(&info),
        };
        let w = check_reception(&sent(&[("A.CSV", 5), ("B.CSV", 1)]), &reception);
        assert_eq!(
            w,
            vec![
                ReceptionWarning::NotListed {
                    file: "B.CSV".into()
                },
                ReceptionWarning::FewerRecords {
                    file: "A.CSV".into(),
                    received: 3,
                    held: 5
                },
                ReceptionWarning::NoBenefitManagement { claims: 3 },
            ]
        );
        assert_eq!(
            w[0].to_string(),
            "B.CSV was sent but the Regist does not list it"
        );
        assert_eq!(
            w[1].to_string(),
            "A.CSV: the federation received 3 of the 5 records the file held"
        );
        assert!(w[2].to_string().contains("no benefit-management form"));
    }

    #[test]
    fn a_check_error_lists_no_file_and_warns_of_none() {
        let reception = Reception {
            success: false,
            listed: &[],
            info: None,
        };
        assert_eq!(
            check_reception(&sent(&[("A.CSV", 5)]), &reception),
            Vec::new()
        );
    }

    #[test]
    fn counts_read_as_words() {
        assert_eq!(counts_in_words(1, None), "1 record in all");
        let forms = FormCounts {
            claims: 1,
            benefit_management: 2,
            reexaminations: 0,
        };
        assert_eq!(
            counts_in_words(3, Some(&forms)),
            "3 records in all: 1 claim (請求書), 2 benefit-management forms (給付管理票), \
             0 re-examination requests (再審査申立書)"
        );
    }
}
