//! The checker's configurable tables: the layout of each 交換情報識別番号 and the form each one
//! counts as (spec §7). They are one TOML document; the default is `tables/default.toml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;
use crate::csv::sjis_represents;

/// The default tables, as shipped (`crates/records/tables/default.toml`).
pub const DEFAULT_TABLES: &str = include_str!("../tables/default.toml");

/// The form a data record counts as in TransmitInfo.txt (帳票).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// 請求書 (claim).
    Claim,
    /// 給付管理票 (benefit-management form).
    BenefitManagement,
    /// 再審査申立書 (re-examination request).
    Reexamination,
}

/// The kind (属性) of a data item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ItemKind {
    /// 数字: ASCII digits, a leading `-` for negative numbers.
    #[serde(rename = "数字")]
    Numeric,
    /// 英数: half-width characters only, no lower-case letters.
    #[serde(rename = "英数")]
    Alphanumeric,
    /// 漢字: full-width characters only.
    #[serde(rename = "漢字")]
    Kanji,
    /// 年月: `yyyymm`.
    #[serde(rename = "yyyymm")]
    YearMonth,
    /// 年月日: `yyyymmdd`.
    #[serde(rename = "yyyymmdd")]
    Date,
}

/// The TransmitInfo.txt エラー情報 element an item's value fills (spec §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum ReportField {
    /// `<保険者番号>`: 保険者（事業所）番号.
    #[serde(rename = "保険者番号")]
    OrgNumber,
    /// `<被保険者番号>`.
    #[serde(rename = "被保険者番号")]
    InsuredNumber,
    /// `<サービス提供年月>`.
    #[serde(rename = "サービス提供年月")]
    ServiceMonth,
    /// `<サービス種類>`.
    #[serde(rename = "サービス種類")]
    ServiceKind,
}

/// One data item of a layout.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    /// The item's name (項目名), reported as エラー項目名.
    pub name: String,
    /// Its kind.
    pub kind: ItemKind,
    /// Its maximum length in Shift_JIS bytes (a leading `-` counts).
    #[serde(rename = "max")]
    pub max_bytes: usize,
    /// Whether it may not be empty (必須).
    #[serde(default)]
    pub required: bool,
    /// The TransmitInfo.txt element its value fills, if any.
    #[serde(default, rename = "transmit_info")]
    pub report: Option<ReportField>,
}

/// The layout of one 交換情報識別番号: its data items in order (item 1 = the identifier).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    items: Vec<ItemSpec>,
}

impl Layout {
    /// The data items, item 1 first.
    pub fn items(&self) -> &[ItemSpec] {
        &self.items
    }
}

/// The checker's tables: layouts and forms by 交換情報識別番号.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    layouts: BTreeMap<String, Layout>,
    forms: BTreeMap<String, Form>,
}

/// The TOML document as written, before its rules are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TablesToml {
    forms: BTreeMap<Form, Vec<String>>,
    layouts: BTreeMap<String, Layout>,
}

impl Tables {
    /// Reads tables from a TOML document (the format of `tables/default.toml`).
    ///
    /// Errors name the place: a TOML or field error with its line, or the identifier and item
    /// that breaks a rule (identifier not 4 half-width digits / upper-case letters, an empty
    /// layout, an item name that is empty or not Shift_JIS, a zero length, a date shorter than
    /// its pattern, two items filling one TransmitInfo element, an identifier in two forms).
    pub fn from_toml(text: &str) -> Result<Tables, Error> {
        let toml: TablesToml =
            toml::from_str(text).map_err(|e| Error::RecordTables(e.to_string()))?;
        for (id, layout) in &toml.layouts {
            check_layout(id, layout).map_err(Error::RecordTables)?;
        }
        let mut forms = BTreeMap::new();
        for (form, ids) in toml.forms {
            for id in ids {
                check_id(&id).map_err(|e| Error::RecordTables(format!("forms: {e}")))?;
                if let Some(other) = forms.insert(id.clone(), form) {
                    return Err(Error::RecordTables(format!(
                        "forms: \"{id}\" is listed under both {} and {}",
                        form_key(other),
                        form_key(form)
                    )));
                }
            }
        }
        Ok(Tables {
            layouts: toml.layouts,
            forms,
        })
    }

    /// The layout of a 交換情報識別番号, if the tables have one.
    pub fn layout(&self, exchange_id: &str) -> Option<&Layout> {
        self.layouts.get(exchange_id)
    }

    /// The form a 交換情報識別番号 counts as, if any.
    pub fn form(&self, exchange_id: &str) -> Option<Form> {
        self.forms.get(exchange_id).copied()
    }
}

impl Default for Tables {
    /// The shipped tables ([`DEFAULT_TABLES`]).
    fn default() -> Tables {
        // The embedded document is checked by a unit test, so this cannot fail at run time.
        Tables::from_toml(DEFAULT_TABLES).expect("the embedded default tables are valid")
    }
}

/// The TOML key of a form, for error messages.
fn form_key(form: Form) -> &'static str {
    match form {
        Form::Claim => "claim",
        Form::BenefitManagement => "benefit_management",
        Form::Reexamination => "reexamination",
    }
}

/// A 交換情報識別番号 is 4 half-width digits or upper-case letters (英数 4, no lower-case).
fn check_id(id: &str) -> Result<(), String> {
    if id.len() == 4
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(format!(
            "\"{id}\" is not a 交換情報識別番号 (4 half-width digits or upper-case letters)"
        ))
    }
}

fn check_layout(id: &str, layout: &Layout) -> Result<(), String> {
    check_id(id).map_err(|e| format!("layouts: {e}"))?;
    if layout.items.is_empty() {
        return Err(format!("layout \"{id}\": no items"));
    }
    let mut reports: Vec<(ReportField, usize)> = Vec::new();
    for (index, item) in layout.items.iter().enumerate() {
        let number = index + 1;
        let at = format!("layout \"{id}\", item {number} ({})", item.name);
        if item.name.is_empty() {
            return Err(format!("layout \"{id}\", item {number}: the name is empty"));
        }
        if !item
            .name
            .chars()
            .all(|c| c >= ' ' && c != ',' && sjis_represents(c))
        {
            return Err(format!(
                "{at}: the name must be Shift_JIS text without control characters or commas"
            ));
        }
        let least = match item.kind {
            ItemKind::YearMonth => 6,
            ItemKind::Date => 8,
            _ => 1,
        };
        if item.max_bytes < least {
            return Err(format!("{at}: max must be at least {least}"));
        }
        if let Some(report) = item.report {
            if let Some((_, first)) = reports.iter().find(|(r, _)| *r == report) {
                return Err(format!(
                    "{at}: item {first} already fills that TransmitInfo element"
                ));
            }
            reports.push((report, number));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Tables::from_toml(text) {
            Err(Error::RecordTables(message)) => message,
            other => panic!("expected a table error, got {other:?}"),
        }
    }

    const FORMS: &str = "[forms]\nclaim = [\"7111\"]\n";

    #[test]
    fn the_default_tables_parse_with_the_spec_layouts() {
        let tables = Tables::default();
        assert_eq!(tables.layout("7111").unwrap().items().len(), 18);
        assert_eq!(tables.layout("71B2").unwrap().items().len(), 11);
        assert!(tables.layout("7131").is_none());
        for id in ["7111", "7112", "7113"] {
            assert_eq!(tables.form(id), Some(Form::Claim));
        }
        for id in ["8221", "8222"] {
            assert_eq!(tables.form(id), Some(Form::BenefitManagement));
        }
        for id in ["71B2", "1741", "1742"] {
            assert_eq!(tables.form(id), Some(Form::Reexamination));
        }
        assert_eq!(tables.form("7131"), None);
        let first = &tables.layout("71B2").unwrap().items()[0];
        assert_eq!(first.name, "交換情報識別番号");
        assert_eq!(first.kind, ItemKind::Alphanumeric);
        assert_eq!(first.max_bytes, 4);
        assert!(first.required);
    }

    #[test]
    fn toml_syntax_and_unknown_keys_are_errors_with_their_place() {
        assert!(error("[forms\n").contains("line 1"));
        assert!(error(&format!("{FORMS}[layouts]\nextra = 1\n")).contains("extra"));
        let unknown_item_key = format!(
            "{FORMS}[layouts.7111]\nitems = [{{ name = \"a\", kind = \"英数\", max = 4, size = 3 }}]\n"
        );
        assert!(error(&unknown_item_key).contains("size"));
        let bad_kind = format!(
            "{FORMS}[layouts.7111]\nitems = [{{ name = \"a\", kind = \"text\", max = 4 }}]\n"
        );
        assert!(error(&bad_kind).contains("text"));
        assert!(error("[layouts]\n").contains("forms"));
    }

    #[test]
    fn bad_identifiers_are_named() {
        let message = error(&format!(
            "{FORMS}[layouts.71b2]\nitems = [{{ name = \"a\", kind = \"英数\", max = 4 }}]\n"
        ));
        assert!(message.contains("\"71b2\""), "{message}");
        let message = error("[forms]\nclaim = [\"711\"]\n[layouts]\n");
        assert!(message.contains("\"711\""), "{message}");
    }

    #[test]
    fn an_identifier_in_two_forms_is_an_error() {
        let message = error("[forms]\nclaim = [\"7111\"]\nreexamination = [\"7111\"]\n[layouts]\n");
        assert!(
            message.contains("\"7111\"") && message.contains("both"),
            "{message}"
        );
    }

    #[test]
    fn item_rules_name_the_identifier_and_item() {
        let layout = |items: &str| format!("{FORMS}[layouts.7111]\nitems = [{items}]\n");
        let message = error(&layout(""));
        assert!(message.contains("\"7111\": no items"), "{message}");
        let message = error(&layout(
            "{ name = \"a\", kind = \"英数\", max = 4 }, { name = \"b\", kind = \"数字\", max = 0 }",
        ));
        assert!(message.contains("item 2 (b)"), "{message}");
        let message = error(&layout("{ name = \"月\", kind = \"yyyymm\", max = 4 }"));
        assert!(message.contains("at least 6"), "{message}");
        let message = error(&layout("{ name = \"日\", kind = \"yyyymmdd\", max = 6 }"));
        assert!(message.contains("at least 8"), "{message}");
        let message = error(&layout("{ name = \"\", kind = \"英数\", max = 4 }"));
        assert!(message.contains("item 1: the name is empty"), "{message}");
        let message = error(&layout("{ name = \"😀\", kind = \"英数\", max = 4 }"));
        assert!(message.contains("Shift_JIS"), "{message}");
        let message = error(&layout(
            "{ name = \"a\", kind = \"英数\", max = 4, transmit_info = \"被保険者番号\" }, \
             { name = \"b\", kind = \"英数\", max = 4, transmit_info = \"被保険者番号\" }",
        ));
        assert!(message.contains("item 2 (b): item 1 already"), "{message}");
        let message = error(&layout(
            "{ name = \"a\", kind = \"英数\", max = 4, transmit_info = \"住所\" }",
        ));
        assert!(message.contains("住所"), "{message}");
    }

    #[test]
    fn an_operator_table_replaces_the_default() {
        let tables = Tables::from_toml(
            "[forms]\nbenefit_management = [\"8222\"]\n\
             [layouts.8222]\nitems = [{ name = \"交換情報識別番号\", kind = \"英数\", max = 4, required = true }]\n",
        )
        .unwrap();
        assert_eq!(tables.form("8222"), Some(Form::BenefitManagement));
        assert_eq!(tables.form("7111"), None);
        assert!(tables.layout("7111").is_none());
        assert_eq!(tables.layout("8222").unwrap().items().len(), 1);
    }
}
