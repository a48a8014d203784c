//! TransmitInfo.txt (spec §6.3, source §9.3): the XML attachment of every production Regist,
//! with the reception counts of each data file and, when there are any, the detailed format
//! errors. The element names are the project's decision (spec §6.3).

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;

use crate::csv::{decode_sjis, encode_sjis, parse_digits, sjis_represents};
use crate::format::{FormatError, is_review_code};
use crate::{Counts, FileCheck, FormCounts};
use kx_denso::OrgKind;

use crate::Error;

const ROOT: &str = "伝送情報";
const RECEIPTS: &str = "受付";
const RECEIPT: &str = "受付情報";
const RECEIPT_FIELDS: [&str; 5] = [
    "データファイル名",
    "請求書件数",
    "給付管理票件数",
    "再審査申立書件数",
    "全レコード件数",
];
const ERRORS: &str = "エラー";
const ERROR: &str = "エラー情報";
const ERROR_FIELDS: [&str; 11] = [
    "エラーデータファイル名",
    "エラー行番号",
    "交換情報識別番号",
    "保険者番号",
    "被保険者番号",
    "サービス提供年月",
    "サービス種類",
    "エラー項目番号",
    "エラー項目名",
    "エラーコード",
    "エラー内容",
];
/// Whitespace in the XML sense: what indentation is made of.
const XML_SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

/// One 受付情報: the reception counts of one data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// データファイル名.
    pub file: String,
    /// 請求書件数, 給付管理票件数, 再審査申立書件数: only offices (事業所) get them (§9.3.4).
    pub forms: Option<FormCounts>,
    /// 全レコード件数.
    pub total: u64,
}

impl Receipt {
    /// The receipt of a file with `counts`, sent by an organisation of `kind`.
    pub fn new(file: &str, counts: Counts, kind: OrgKind) -> Receipt {
        Receipt {
            file: file.to_owned(),
            forms: (kind == OrgKind::Office).then_some(counts.forms),
            total: counts.total,
        }
    }
}

/// The TransmitInfo.txt attachment (拡張情報ファイル).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransmitInfo {
    /// 受付: one 受付情報 per data file, in the order the files were attached.
    pub receipts: Vec<Receipt>,
    /// エラー: every format error; the block is written only when there is one.
    pub errors: Vec<FormatError>,
}

impl TransmitInfo {
    /// The attachment's file name.
    pub const FILE_NAME: &'static str = "TransmitInfo.txt";

    /// The attachment for the checked files of one submission by an organisation of `kind`.
    ///
    /// A `DataErr` file is listed with zero counts: it was received, but none of its records
    /// goes on to the review system, which is exactly what the sender should see (§9.3.4).
    pub fn from_checks<'a>(
        kind: OrgKind,
        files: impl IntoIterator<Item = (&'a str, &'a FileCheck)>,
    ) -> TransmitInfo {
        let mut info = TransmitInfo::default();
        for (file, check) in files {
            let counts = match check {
                FileCheck::DataErr(_) => Counts::default(),
                FileCheck::Checked {
                    format_errors,
                    counts,
                } => {
                    info.errors.extend(format_errors.iter().cloned());
                    *counts
                }
            };
            info.receipts.push(Receipt::new(file, counts, kind));
        }
        info
    }

    /// The attachment's bytes: XML 1.0 in Shift_JIS, CRLF line ends, two-space indentation as
    /// in the spec sample, an empty value as an empty-element tag.
    ///
    /// `& < > " '` are written as entities; tabs, line breaks, a leading or trailing space and
    /// characters Shift_JIS cannot hold as character references, so every value reads back
    /// exactly. Fails on a character XML 1.0 cannot carry at all (other control characters) or
    /// on an error code that is not two half-width alphanumerics.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\r\n");
        xml.push_str(&format!("<{ROOT}>\r\n  <{RECEIPTS}>\r\n"));
        for receipt in &self.receipts {
            xml.push_str(&format!("    <{RECEIPT}>\r\n"));
            let mut fields = vec![(RECEIPT_FIELDS[0], receipt.file.clone())];
            if let Some(forms) = receipt.forms {
                fields.push((RECEIPT_FIELDS[1], forms.claims.to_string()));
                fields.push((RECEIPT_FIELDS[2], forms.benefit_management.to_string()));
                fields.push((RECEIPT_FIELDS[3], forms.reexaminations.to_string()));
            }
            fields.push((RECEIPT_FIELDS[4], receipt.total.to_string()));
            for (name, value) in fields {
                push_leaf(&mut xml, name, &value)?;
            }
            xml.push_str(&format!("    </{RECEIPT}>\r\n"));
        }
        xml.push_str(&format!("  </{RECEIPTS}>\r\n"));
        if !self.errors.is_empty() {
            xml.push_str(&format!("  <{ERRORS}>\r\n"));
            for error in &self.errors {
                if !is_review_code(&error.code) {
                    return Err(Error::TransmitInfo(format!(
                        "error code \"{}\" is not two half-width alphanumerics",
                        error.code
                    )));
                }
                xml.push_str(&format!("    <{ERROR}>\r\n"));
                for (name, value) in ERROR_FIELDS.iter().zip(error_values(error)) {
                    push_leaf(&mut xml, name, &value)?;
                }
                xml.push_str(&format!("    </{ERROR}>\r\n"));
            }
            xml.push_str(&format!("  </{ERRORS}>\r\n"));
        }
        xml.push_str(&format!("</{ROOT}>\r\n"));
        // Every character outside Shift_JIS became a character reference above.
        encode_sjis(&xml)
            .ok_or_else(|| Error::TransmitInfo("text not representable in Shift_JIS".into()))
    }

    /// Reads a TransmitInfo.txt: Shift_JIS, any indentation and line ends, values trimmed of
    /// XML whitespace (character references excepted), comments and CDATA allowed.
    ///
    /// Only the elements of spec §6.3 are accepted, each where it belongs and at most once. A
    /// 受付情報 needs its データファイル名 and 全レコード件数 and has all three per-form counts or
    /// none; an エラー情報 element that is missing reads as empty, so its numbers and code must
    /// still be there.
    pub fn parse(bytes: &[u8]) -> Result<TransmitInfo, Error> {
        let text = decode_sjis(bytes)
            .ok_or_else(|| Error::TransmitInfo("the file is not Shift_JIS".into()))?;
        read_document(&parse_tree(&text)?).map_err(Error::TransmitInfo)
    }
}

/// The 11 エラー情報 values of an error, in element order.
fn error_values(error: &FormatError) -> [String; 11] {
    [
        error.file.clone(),
        error.line.to_string(),
        error.exchange_id.clone(),
        error.org_number.clone(),
        error.insured_number.clone(),
        error.service_month.clone(),
        error.service_kind.clone(),
        error.item.to_string(),
        error.item_name.clone(),
        error.code.clone(),
        error.text.clone(),
    ]
}

/// Writes `<name>value</name>` (or `<name/>`) at the leaf indentation.
fn push_leaf(xml: &mut String, name: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        xml.push_str(&format!("      <{name}/>\r\n"));
        return Ok(());
    }
    xml.push_str(&format!("      <{name}>"));
    let last = value.chars().count() - 1;
    for (index, c) in value.chars().enumerate() {
        match c {
            '&' => xml.push_str("&amp;"),
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            '\t' | '\n' | '\r' => xml.push_str(&format!("&#{};", u32::from(c))),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(Error::TransmitInfo(format!(
                    "<{name}>: U+{:04X} cannot appear in XML 1.0",
                    u32::from(c)
                )));
            }
            ' ' if index == 0 || index == last => xml.push_str("&#32;"),
            c if !sjis_represents(c) => xml.push_str(&format!("&#{};", u32::from(c))),
            c => xml.push(c),
        }
    }
    xml.push_str(&format!("</{name}>\r\n"));
    Ok(())
}

/// An element: its name, its child elements and its text (trimmed).
struct Node {
    name: String,
    children: Vec<Node>,
    text: String,
}

/// Text inside an element as read: literal text (`true`, trimmed at the element's edges) or
/// text from a reference or CDATA (`false`, kept as written).
type Pieces = Vec<(String, bool)>;

fn parse_tree(xml: &str) -> Result<Node, Error> {
    let fail = |why: String| Error::TransmitInfo(why);
    let mut reader = Reader::from_str(xml);
    let mut open: Vec<(Node, Pieces)> = Vec::new();
    let mut root = None;
    loop {
        let event = reader.read_event().map_err(|e| {
            fail(format!(
                "not well-formed XML at byte {}: {e}",
                reader.error_position()
            ))
        })?;
        let piece = match event {
            Event::Start(start) => {
                let name = start.name().as_ref().to_owned();
                open.push((Node::new(name), Vec::new()));
                None
            }
            Event::Empty(empty) => {
                let name = empty.name().as_ref().to_owned();
                close(Node::new(name), Vec::new(), &mut open, &mut root)?;
                None
            }
            Event::End(_) => {
                let (node, pieces) = open
                    .pop()
                    .ok_or_else(|| fail("an end tag without its start".into()))?;
                close(node, pieces, &mut open, &mut root)?;
                None
            }
            Event::Text(text) => Some((text.xml10_content().into_owned(), true)),
            Event::CData(cdata) => Some((cdata.xml10_content().into_owned(), false)),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&reference)
                        .ok_or_else(|| fail(format!("unknown entity &{};", &*reference)))?
                        .to_owned(),
                    Err(e) => return Err(fail(format!("bad character reference: {e}"))),
                };
                Some((resolved, false))
            }
            Event::Eof => break,
            // The declaration, comments, processing instructions and a doctype carry nothing.
            _ => None,
        };
        match (piece, open.last_mut()) {
            (Some(piece), Some((_, pieces))) => pieces.push(piece),
            (Some((text, true)), None) if text.trim_matches(XML_SPACE).is_empty() => {}
            (Some(_), None) => return Err(fail("text outside the root element".into())),
            (None, _) => {}
        }
    }
    if let Some((node, _)) = open.last() {
        return Err(fail(format!("<{}> is not closed", node.name)));
    }
    root.ok_or_else(|| fail("no root element".into()))
}

impl Node {
    fn new(name: String) -> Node {
        Node {
            name,
            children: Vec::new(),
            text: String::new(),
        }
    }
}

/// Finishes an element: joins its text and hangs it on its parent (or makes it the root).
fn close(
    mut node: Node,
    pieces: Pieces,
    open: &mut [(Node, Pieces)],
    root: &mut Option<Node>,
) -> Result<(), Error> {
    node.text = join_pieces(pieces);
    match open.last_mut() {
        Some((parent, _)) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err(Error::TransmitInfo("more than one root element".into())),
    }
    Ok(())
}

/// Joins an element's text, trimming literal whitespace at its edges but never text that came
/// from a reference (that is how a value keeps a leading or trailing space).
fn join_pieces(pieces: Pieces) -> String {
    let mut text = String::new();
    let mut kept: Option<(usize, usize)> = None;
    for (piece, literal) in pieces {
        let start = text.len();
        text.push_str(&piece);
        if !literal {
            kept = Some((kept.map_or(start, |k| k.0), text.len()));
        }
    }
    let lead = text.len() - text.trim_start_matches(XML_SPACE).len();
    let trail = text.trim_end_matches(XML_SPACE).len();
    let (start, end) = match kept {
        Some((first, last)) => (lead.min(first), trail.max(last)),
        None => (lead, trail),
    };
    if start >= end {
        String::new()
    } else {
        text[start..end].to_owned()
    }
}

fn read_document(root: &Node) -> Result<TransmitInfo, String> {
    if root.name != ROOT {
        return Err(format!("the root element is <{}>, not <{ROOT}>", root.name));
    }
    no_text(root)?;
    let mut receipts = None;
    let mut errors = None;
    for child in &root.children {
        let slot = match child.name.as_str() {
            RECEIPTS => &mut receipts,
            ERRORS => &mut errors,
            other => return Err(format!("unexpected <{other}> in <{ROOT}>")),
        };
        if slot.replace(child).is_some() {
            return Err(format!("<{}> appears twice", child.name));
        }
    }
    let receipts = receipts.ok_or_else(|| format!("<{RECEIPTS}> is missing"))?;
    let mut info = TransmitInfo::default();
    for node in entries(receipts, RECEIPT)? {
        let [file, claims, benefit, reexaminations, total] = leaves(node, RECEIPT_FIELDS)?;
        let forms = match (claims, benefit, reexaminations) {
            (None, None, None) => None,
            (Some(claims), Some(benefit), Some(reexaminations)) => Some(FormCounts {
                claims: count(RECEIPT_FIELDS[1], &claims)?,
                benefit_management: count(RECEIPT_FIELDS[2], &benefit)?,
                reexaminations: count(RECEIPT_FIELDS[3], &reexaminations)?,
            }),
            _ => return Err(format!("<{RECEIPT}> has some but not all per-form counts")),
        };
        info.receipts.push(Receipt {
            file: required(RECEIPT_FIELDS[0], file)?,
            forms,
            total: count(RECEIPT_FIELDS[4], &required(RECEIPT_FIELDS[4], total)?)?,
        });
    }
    if let Some(errors) = errors {
        for node in entries(errors, ERROR)? {
            let fields = leaves(node, ERROR_FIELDS)?;
            let [
                file,
                line,
                id,
                org,
                insured,
                month,
                kind,
                item,
                name,
                code,
                text,
            ] = fields.map(Option::unwrap_or_default);
            if !is_review_code(&code) {
                return Err(format!(
                    "<{}> \"{code}\" is not two half-width alphanumerics",
                    ERROR_FIELDS[9]
                ));
            }
            info.errors.push(FormatError {
                file,
                line: count(ERROR_FIELDS[1], &line)?,
                exchange_id: id,
                org_number: org,
                insured_number: insured,
                service_month: month,
                service_kind: kind,
                item: count(ERROR_FIELDS[7], &item)?,
                item_name: name,
                code,
                text,
            });
        }
    }
    Ok(info)
}

/// The children of a list element, each of which must be an `entry` element.
fn entries<'a>(list: &'a Node, entry: &str) -> Result<&'a [Node], String> {
    no_text(list)?;
    match list.children.iter().find(|c| c.name != entry) {
        Some(other) => Err(format!("unexpected <{}> in <{}>", other.name, list.name)),
        None => Ok(&list.children),
    }
}

/// The values of an element's leaf children, by name; each may appear once, no other may.
fn leaves<const N: usize>(node: &Node, names: [&str; N]) -> Result<[Option<String>; N], String> {
    no_text(node)?;
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for child in &node.children {
        let index = names
            .iter()
            .position(|n| *n == child.name)
            .ok_or_else(|| format!("unexpected <{}> in <{}>", child.name, node.name))?;
        if let Some(grandchild) = child.children.first() {
            return Err(format!(
                "unexpected <{}> in <{}>",
                grandchild.name, child.name
            ));
        }
        if values[index].replace(child.text.clone()).is_some() {
            return Err(format!("<{}> appears twice in <{}>", child.name, node.name));
        }
    }
    Ok(values)
}

fn no_text(node: &Node) -> Result<(), String> {
    if node.text.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected text in <{}>", node.name))
    }
}

fn required(name: &str, value: Option<String>) -> Result<String, String> {
    value.ok_or_else(|| format!("<{name}> is missing"))
}

fn count<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    parse_digits(value).ok_or_else(|| format!("<{name}> \"{value}\" is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kx_denso::ErrorCode;

    fn sjis(text: &str) -> Vec<u8> {
        encoding_rs::SHIFT_JIS.encode(text).0.into_owned()
    }

    fn error() -> FormatError {
        FormatError {
            file: "AAAA.csv".into(),
            line: 2,
            exchange_id: "71B2".into(),
            org_number: "1234567890".into(),
            insured_number: "H000000001".into(),
            service_month: "202604".into(),
            service_kind: String::new(),
            item: 2,
            item_name: "申立年月日".into(),
            code: "06".into(),
            text: "年月日が正しくありません".into(),
        }
    }

    const OFFICE_SAMPLE: &str = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\r\n\
<伝送情報>\r\n\
\x20 <受付>\r\n\
\x20   <受付情報>\r\n\
\x20     <データファイル名>AAAA.csv</データファイル名>\r\n\
\x20     <請求書件数>1</請求書件数>\r\n\
\x20     <給付管理票件数>0</給付管理票件数>\r\n\
\x20     <再審査申立書件数>0</再審査申立書件数>\r\n\
\x20     <全レコード件数>12</全レコード件数>\r\n\
\x20   </受付情報>\r\n\
\x20 </受付>\r\n\
\x20 <エラー>\r\n\
\x20   <エラー情報>\r\n\
\x20     <エラーデータファイル名>AAAA.csv</エラーデータファイル名>\r\n\
\x20     <エラー行番号>2</エラー行番号>\r\n\
\x20     <交換情報識別番号>71B2</交換情報識別番号>\r\n\
\x20     <保険者番号>1234567890</保険者番号>\r\n\
\x20     <被保険者番号>H000000001</被保険者番号>\r\n\
\x20     <サービス提供年月>202604</サービス提供年月>\r\n\
\x20     <サービス種類/>\r\n\
\x20     <エラー項目番号>2</エラー項目番号>\r\n\
\x20     <エラー項目名>申立年月日</エラー項目名>\r\n\
\x20     <エラーコード>06</エラーコード>\r\n\
\x20     <エラー内容>年月日が正しくありません</エラー内容>\r\n\
\x20   </エラー情報>\r\n\
\x20 </エラー>\r\n\
</伝送情報>\r\n";

    fn office_info() -> TransmitInfo {
        let counts = Counts {
            forms: FormCounts {
                claims: 1,
                ..FormCounts::default()
            },
            total: 12,
        };
        TransmitInfo {
            receipts: vec![Receipt::new("AAAA.csv", counts, OrgKind::Office)],
            errors: vec![error()],
        }
    }

    #[test]
    fn office_layout_is_byte_exact_and_round_trips() {
        let bytes = office_info().to_bytes().unwrap();
        assert_eq!(bytes, sjis(OFFICE_SAMPLE));
        assert_eq!(TransmitInfo::parse(&bytes).unwrap(), office_info());
    }

    #[test]
    fn other_kinds_get_only_the_total_and_no_error_block_without_errors() {
        let counts = Counts {
            forms: FormCounts {
                claims: 0,
                benefit_management: 3,
                reexaminations: 0,
            },
            total: 3,
        };
        for kind in [
            OrgKind::Prefecture,
            OrgKind::Insurer,
            OrgKind::WelfareOffice,
        ] {
            let info = TransmitInfo {
                receipts: vec![Receipt::new("B.CSV", counts, kind)],
                errors: vec![],
            };
            let expected = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\r\n<伝送情報>\r\n  <受付>\r\n    <受付情報>\r\n      <データファイル名>B.CSV</データファイル名>\r\n      <全レコード件数>3</全レコード件数>\r\n    </受付情報>\r\n  </受付>\r\n</伝送情報>\r\n";
            let bytes = info.to_bytes().unwrap();
            assert_eq!(bytes, sjis(expected));
            assert_eq!(TransmitInfo::parse(&bytes).unwrap(), info);
        }
    }

    #[test]
    fn from_checks_lists_every_file_and_every_error() {
        let checked = FileCheck::Checked {
            format_errors: vec![error(), error()],
            counts: Counts {
                forms: FormCounts::default(),
                total: 5,
            },
        };
        let rejected = FileCheck::DataErr(ErrorCode::RecordCount);
        let info =
            TransmitInfo::from_checks(OrgKind::Office, [("A.csv", &checked), ("B.csv", &rejected)]);
        assert_eq!(info.errors.len(), 2);
        assert_eq!(info.receipts[0].total, 5);
        assert_eq!(info.receipts[1].file, "B.csv");
        assert_eq!(info.receipts[1].total, 0);
        assert_eq!(info.receipts[1].forms, Some(FormCounts::default()));
    }

    #[test]
    fn special_characters_are_escaped_and_read_back() {
        let mut tricky = error();
        tricky.item_name = " <a & b> \"c\" 'd' ".into();
        tricky.text = "tab\there\r\nnext ¥ 😀 漢字".into();
        let info = TransmitInfo {
            receipts: vec![],
            errors: vec![tricky],
        };
        let bytes = info.to_bytes().unwrap();
        let text = decode_sjis(&bytes).unwrap();
        assert!(text.contains(
            "<エラー項目名>&#32;&lt;a &amp; b&gt; &quot;c&quot; &apos;d&apos;&#32;</エラー項目名>"
        ));
        assert!(text.contains("tab&#9;here&#13;&#10;next &#165; &#128512; 漢字"));
        assert_eq!(TransmitInfo::parse(&bytes).unwrap(), info);
        let mut bad = error();
        bad.text = "bell\u{7}".into();
        let bad = TransmitInfo {
            receipts: vec![],
            errors: vec![bad],
        };
        assert!(bad.to_bytes().is_err());
    }

    #[test]
    fn parse_tolerates_layout_comments_and_cdata() {
        let text = "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n<!-- reply -->\n<伝送情報><受付>\n\t<受付情報>\n<データファイル名>\n  A.csv\n</データファイル名><全レコード件数> 7 </全レコード件数></受付情報>\n</受付><エラー>\n<エラー情報><エラーデータファイル名>A.csv</エラーデータファイル名><エラー行番号>3</エラー行番号>\n<交換情報識別番号>7111</交換情報識別番号><エラー項目番号>2</エラー項目番号><エラー項目名><![CDATA[ <名> ]]></エラー項目名><エラーコード>05</エラーコード><エラー内容>年月が正しくありません</エラー内容></エラー情報></エラー></伝送情報>";
        let info = TransmitInfo::parse(&sjis(text)).unwrap();
        assert_eq!(info.receipts[0].file, "A.csv");
        assert_eq!(info.receipts[0].total, 7);
        assert_eq!(info.receipts[0].forms, None);
        assert_eq!(info.errors[0].line, 3);
        assert_eq!(info.errors[0].item_name, " <名> ");
        assert_eq!(info.errors[0].org_number, "");
    }

    #[test]
    fn parse_rejects_what_is_not_a_transmit_info() {
        let bad = |text: &str| TransmitInfo::parse(&sjis(text)).unwrap_err().to_string();
        let receipt =
            |inner: &str| format!("<伝送情報><受付><受付情報>{inner}</受付情報></受付></伝送情報>");
        assert!(bad("<伝送情報><受付></伝送情報>").contains("well-formed"));
        assert!(bad("<受付/>").contains("root"));
        assert!(bad("<伝送情報/>").contains("<受付> is missing"));
        assert!(bad("<伝送情報><受付/><受付/></伝送情報>").contains("twice"));
        assert!(bad("<伝送情報><受付/><その他/></伝送情報>").contains("その他"));
        assert!(bad("<伝送情報><受付>x</受付></伝送情報>").contains("text"));
        assert!(bad(&receipt("<データファイル名>A</データファイル名>")).contains("全レコード件数"));
        assert!(
            bad(&receipt(
                "<データファイル名>A</データファイル名><全レコード件数>-1</全レコード件数>"
            ))
            .contains("not a number")
        );
        assert!(bad(&receipt(
            "<データファイル名>A</データファイル名><請求書件数>1</請求書件数><全レコード件数>1</全レコード件数>"
        ))
        .contains("per-form"));
        assert!(bad("<伝送情報><受付/></伝送情報><x/>").contains("root"));
        assert!(bad("<伝送情報><受付/>&nbsp;</伝送情報>").contains("nbsp"));
        assert!(TransmitInfo::parse(&[0x82, 0x20]).is_err());
        let mut wrong_code = error();
        wrong_code.code = "6".into();
        let info = TransmitInfo {
            receipts: vec![],
            errors: vec![wrong_code],
        };
        assert!(info.to_bytes().is_err());
    }
}
