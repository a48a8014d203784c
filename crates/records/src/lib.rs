//! The reference record checker (spec §7), the two reply attachments it feeds — CsvErr.txt
//! (§6.2) and TransmitInfo.txt (§6.3) — and the Regist built from its verdicts ([`regist`]).
//! Pure data, like `kx-denso`, whose messages it fills.
//!
//! The review system behind the gateway is not part of KX, but a Regist reply needs a verdict
//! per data file, so this module checks each file the way the MHLW 介護保険 interface
//! specification lays records out:
//!
//! 1. **Structure** ([`check_structure`]): Shift_JIS, CRLF after every record, a 12-item control
//!    record first, data records, an end record last, continuous record numbers, the control
//!    record's count, no control bytes. The first defect makes the file `DataErr` with one
//!    `A0xxxx` [`ErrorCode`] for `X-Ex2-IFArea`.
//! 2. **Format** ([`check_file`]): each data record whose 交換情報識別番号 has a layout in the
//!    [`Tables`] is checked item by item; every defect is a [`FormatError`] with a two-character
//!    [`ReviewCode`]. A file with format errors is still `Success` in `X-IFArea`; it is named in
//!    `X-Ex3-IFArea` and described in [`CsvErr`] (its first error) and [`TransmitInfo`] (all).
//! 3. **Counts** ([`Counts`]): data records by form (請求書 / 給付管理票 / 再審査申立書, from the
//!    tables) and in total, for TransmitInfo.txt.
//!
//! # Replacing the tables
//!
//! The layouts and forms are data: one TOML document, [`DEFAULT_TABLES`] (the file
//! `crates/records/tables/default.toml`, whose comments describe every key). An operator who needs
//! other layouts copies that file, edits the copy and points the server configuration key
//! `denso.record_tables` at it. The server reads the file and hands its text to
//! [`Tables::from_toml`] (this crate does no file I/O); an invalid table is an
//! [`Error::RecordTables`] that names the identifier and the item.
//! Without the key the server uses [`Tables::default`].

mod csv;
mod csv_err;
mod error;
mod format;
pub mod ledger;
pub mod reception;
pub mod regist;
mod structure;
mod tables;
mod transmit_info;

pub use csv_err::{CsvErr, CsvErrRecord};
pub use format::{FormatError, ReviewCode};
pub use structure::{ControlRecord, DataFile, DataRecord, check_structure};
pub use tables::{DEFAULT_TABLES, Form, ItemKind, ItemSpec, Layout, ReportField, Tables};
pub use transmit_info::{Receipt, TransmitInfo};

use kx_denso::ErrorCode;

pub use error::Error;

/// Data records counted by form (TransmitInfo.txt 請求書件数 / 給付管理票件数 / 再審査申立書件数).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormCounts {
    /// 請求書件数.
    pub claims: u64,
    /// 給付管理票件数.
    pub benefit_management: u64,
    /// 再審査申立書件数.
    pub reexaminations: u64,
}

/// The reception counts of one data file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// The data records by form.
    pub forms: FormCounts,
    /// 全レコード件数: every data record, whatever its form.
    pub total: u64,
}

/// The verdict on one data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileCheck {
    /// The file breaks a structural rule (Regist `DataErr`, `X-Ex2-IFArea: <file>,<code>`).
    DataErr(ErrorCode),
    /// The file's structure is sound (Regist `Success`): its format errors, if any, and its
    /// counts.
    Checked {
        /// Every format error, in file order.
        format_errors: Vec<FormatError>,
        /// The file's reception counts.
        counts: Counts,
    },
}

/// Checks one data file, named `name` (as attached), against every rule of spec §7.
pub fn check_file(name: &str, bytes: &[u8], tables: &Tables) -> FileCheck {
    match check_structure(bytes) {
        Err(code) => FileCheck::DataErr(code),
        Ok(file) => {
            let (format_errors, counts) = format::check_data(name, &file, tables);
            FileCheck::Checked {
                format_errors,
                counts,
            }
        }
    }
}
