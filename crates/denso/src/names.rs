//! File-name rules: data files of a DataSend (§5.4(1)) and forbidden extensions (§8.3.8(1),
//! §10.2.8(1)).

/// Extensions never sent as attachments, in either direction.
pub const FORBIDDEN_EXTENSIONS: &[&str] = &[
    "ad", "adp", "crt", "ins", "mdb", "mde", "msc", "msp", "sct", "shb", "vb", "wsc", "wsf", "cpl",
    "shs", "vsd", "vst", "vss", "vsw", "asp", "bas", "bat", "chm", "cmd", "com", "hlp", "hta",
    "inf", "isp", "js", "jse", "lnk", "msi", "mst", "pcd", "pif", "reg", "scr", "vbe", "vbs", "ws",
    "wsh",
];

/// The kind of data file a DataSend may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataFileKind {
    /// Up to 8 alphanumerics + `.CSV`: exchange data as it is.
    Csv,
    /// Up to 20 alphanumerics + `.LZH`: exchange data compressed with LHA, unpacked by the server.
    Lzh,
}

/// Whether `name` is a data-file name, and of which kind. The extension matches
/// case-insensitively (the source's own sample writes `xxxxxxx1.csv`).
pub fn data_file_kind(name: &str) -> Option<DataFileKind> {
    let (stem, ext) = name.rsplit_once('.')?;
    let (kind, max) = if ext.eq_ignore_ascii_case("csv") {
        (DataFileKind::Csv, 8)
    } else if ext.eq_ignore_ascii_case("lzh") {
        (DataFileKind::Lzh, 20)
    } else {
        return None;
    };
    (!stem.is_empty() && stem.len() <= max && stem.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(kind)
}

/// The extension of `name`, lower-cased, if it has one.
pub fn extension(name: &str) -> Option<String> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

/// Whether `name` ends with one of [`FORBIDDEN_EXTENSIONS`].
pub fn has_forbidden_extension(name: &str) -> bool {
    extension(name).is_some_and(|ext| FORBIDDEN_EXTENSIONS.contains(&ext.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_file_names() {
        assert_eq!(data_file_kind("AAAA.csv"), Some(DataFileKind::Csv));
        assert_eq!(data_file_kind("ABCDEFGH.CSV"), Some(DataFileKind::Csv));
        assert_eq!(data_file_kind("ABCDEFGHI.CSV"), None);
        assert_eq!(
            data_file_kind("A1234567890123456789.LZH"),
            Some(DataFileKind::Lzh)
        );
        assert_eq!(data_file_kind("A12345678901234567890.LZH"), None);
        assert_eq!(data_file_kind("A_B.CSV"), None);
        assert_eq!(data_file_kind(".CSV"), None);
        assert_eq!(data_file_kind("ＡＢ.CSV"), None);
        assert_eq!(data_file_kind("AB.TXT"), None);
    }

    #[test]
    fn forbidden_extensions() {
        assert!(has_forbidden_extension("x.BAT"));
        assert!(has_forbidden_extension("a.b.vbs"));
        assert!(!has_forbidden_extension("x.doc"));
        assert!(!has_forbidden_extension("bat"));
    }
}
