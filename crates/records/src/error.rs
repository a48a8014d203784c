//! The crate's one error type.

/// Why tables, CsvErr.txt, TransmitInfo.txt or a Regist cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reference record checker's tables (TOML) are invalid; the text names the place (TOML
    /// line, or the 交換情報識別番号 and item).
    #[error("record tables: {0}")]
    RecordTables(String),
    /// A CsvErr.txt cannot be built or parsed.
    #[error("CsvErr.txt: {0}")]
    CsvErr(String),
    /// A TransmitInfo.txt cannot be built or parsed.
    #[error("TransmitInfo.txt: {0}")]
    TransmitInfo(String),
}
