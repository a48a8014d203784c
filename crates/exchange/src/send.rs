//! What may be sent (§4): the two functions' file rules and the 20 MB limit, checked by the
//! app before anything leaves the office (E2002–E2007) and by the server on what arrives.

use crate::api::Function;
use crate::code::Code;
use crate::refusal::Refusal;

/// The only file the e-application function (電子申請) accepts.
pub const E_APPLICATION_FILE: &str = "KPFD.CSV";

/// The extensions the other function (電子申請以外) accepts, lower-case.
pub const ATTACHMENT_EXTENSIONS: &[&str] = &[
    "xls", "xlsx", "doc", "docx", "ppt", "pptx", "pdf", "jpeg", "jpg", "tiff", "tif", "xml", "txt",
    "csv",
];

/// Allowed extensions whose formats are compressed already (Office Open XML is a ZIP, PDF
/// streams are deflated, JPEG is lossy-compressed): deflating them again costs most of a
/// send's time and saves next to nothing, so they are stored in the send's ZIP as they are.
pub const COMPRESSED_EXTENSIONS: &[&str] = &["xlsx", "docx", "pptx", "pdf", "jpeg", "jpg"];

/// The most plaintext one send may carry: "20MB", read as 20 MiB.
pub const MAX_SEND_BYTES: u64 = 20 * 1024 * 1024;

/// The most sealed bytes the server accepts for one send: the plaintext limit plus room for the
/// ZIP directory, the signature and the envelope.
pub const MAX_SEALED_BYTES: u64 = MAX_SEND_BYTES + 1024 * 1024;

/// A file the user added to a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Its name, without directories.
    pub name: &'a str,
    /// Its size now, or `None` when it no longer exists.
    pub size: Option<u64>,
}

/// The extension of `name`, lower-case, or `""`.
pub fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether `function` accepts a file called `name` (the file chooser's filter).
pub fn accepts(function: Function, name: &str) -> bool {
    match function {
        Function::EApplication => name.eq_ignore_ascii_case(E_APPLICATION_FILE),
        Function::Attachments => ATTACHMENT_EXTENSIONS.contains(&extension(name).as_str()),
    }
}

/// Whether a file called `name` should be deflated in the send's ZIP.
pub fn worth_compressing(name: &str) -> bool {
    !COMPRESSED_EXTENSIONS.contains(&extension(name).as_str())
}

/// Checks a send before anything is sealed, in the order the app reports: no file (E2002), an
/// extension the function refuses (E2004), a name twice (E2003, ignoring case as Windows
/// does), a file gone since it was added (E2007), more than [`MAX_SEND_BYTES`] (E2006), no
/// destination (E2005).
pub fn check_send(
    function: Function,
    destination: Option<&str>,
    files: &[Candidate<'_>],
) -> Result<(), Refusal> {
    if files.is_empty() {
        return Err(Refusal::new(Code::E2002, &[]));
    }
    check_chosen(function, files)?;
    if destination.is_none_or(|d| d.trim().is_empty()) {
        return Err(Refusal::new(Code::E2005, &[]));
    }
    Ok(())
}

/// Checks the files chosen so far, as each is added (E2004, E2003, E2007, E2006 in
/// [`check_send`]'s order): the app refuses a file the send could never carry at once.
pub fn check_chosen(function: Function, files: &[Candidate<'_>]) -> Result<(), Refusal> {
    for file in files {
        if !accepts(function, file.name) {
            return Err(Refusal::new(Code::E2004, &[&extension(file.name)]));
        }
    }
    for (i, file) in files.iter().enumerate() {
        if files[..i]
            .iter()
            .any(|earlier| earlier.name.eq_ignore_ascii_case(file.name))
        {
            return Err(Refusal::new(Code::E2003, &[]));
        }
    }
    let mut total: u64 = 0;
    for file in files {
        match file.size {
            Some(size) => total = total.saturating_add(size),
            None => return Err(Refusal::new(Code::E2007, &[file.name])),
        }
    }
    if total > MAX_SEND_BYTES {
        return Err(Refusal::new(Code::E2006, &[]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64) -> Candidate<'_> {
        Candidate {
            name,
            size: Some(size),
        }
    }

    fn code(result: Result<(), Refusal>) -> Option<Code> {
        result.err().map(|r| r.code)
    }

    #[test]
    fn each_rule_has_its_code() {
        let a = Function::Attachments;
        let to = Some("給付課");
        assert_eq!(code(check_send(a, to, &[])), Some(Code::E2002));
        let exe = check_send(a, to, &[file("setup.EXE", 1)]).unwrap_err();
        assert_eq!(
            (exe.code, exe.message()),
            (
                Code::E2004,
                "「exe」拡張子のファイルは追加できません。".to_owned()
            )
        );
        assert_eq!(
            code(check_send(a, to, &[file("a.pdf", 1), file("A.PDF", 1)])),
            Some(Code::E2003)
        );
        let gone = [
            file("a.pdf", 1),
            Candidate {
                name: "b.pdf",
                size: None,
            },
        ];
        assert_eq!(check_send(a, to, &gone).unwrap_err().items, vec!["b.pdf"]);
        assert_eq!(
            code(check_send(
                a,
                to,
                &[file("a.pdf", MAX_SEND_BYTES), file("b.csv", 1)]
            )),
            Some(Code::E2006)
        );
        assert_eq!(
            code(check_send(a, to, &[file("a.pdf", MAX_SEND_BYTES)])),
            None
        );
        assert_eq!(
            code(check_send(a, None, &[file("a.pdf", 1)])),
            Some(Code::E2005)
        );
        assert_eq!(
            code(check_send(a, Some(" "), &[file("a.pdf", 1)])),
            Some(Code::E2005)
        );
    }

    #[test]
    fn e_application_takes_kpfd_csv_only() {
        let e = Function::EApplication;
        assert_eq!(
            code(check_send(e, Some("業務課"), &[file("KPFD.CSV", 10)])),
            None
        );
        assert_eq!(
            code(check_send(e, Some("業務課"), &[file("kpfd.csv", 10)])),
            None
        );
        assert_eq!(
            code(check_send(e, Some("業務課"), &[file("資格取得届.pdf", 10)])),
            Some(Code::E2004)
        );
        assert!(!accepts(Function::Attachments, "noextension"));
    }

    #[test]
    fn compressed_formats_are_stored() {
        assert!(!worth_compressing("scan.PDF"));
        assert!(!worth_compressing("book.xlsx"));
        assert!(worth_compressing("KPFD.CSV"));
        assert!(worth_compressing("old.xls"));
    }
}
