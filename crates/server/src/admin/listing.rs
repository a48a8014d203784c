//! What every `kxd admin … list` prints: a table aligned for a person reading a terminal
//! (Japanese names take two columns a character), or with `--json` an array of objects for a
//! script, with the same columns as keys.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr as _;

/// The output options every `list` takes.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
pub(crate) struct ListFormat {
    /// Print a JSON array of objects (one per row, the column names as keys) instead of a
    /// table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Rows under named columns.
#[derive(Debug)]
pub(crate) struct Listing {
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
}

impl Listing {
    /// An empty listing of `columns` (snake_case: the JSON keys; upper-cased, the headers).
    pub(crate) fn new(columns: &'static [&'static str]) -> Listing {
        Listing {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row, one value per column.
    pub(crate) fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "{:?}", self.columns);
        self.rows.push(row);
    }

    /// Prints the listing as `format` says.
    pub(crate) fn print(&self, format: ListFormat) -> anyhow::Result<()> {
        if format.json {
            println!("{}", serde_json::to_string_pretty(&self.json())?);
        } else {
            print!("{}", self.table());
        }
        Ok(())
    }

    fn json(&self) -> Value {
        let objects = self.rows.iter().map(|row| {
            let object: Map<String, Value> = self
                .columns
                .iter()
                .map(|column| (*column).to_owned())
                .zip(row.iter().cloned())
                .collect();
            Value::Object(object)
        });
        Value::Array(objects.collect())
    }

    fn table(&self) -> String {
        let headers: Vec<String> = self
            .columns
            .iter()
            .map(|column| column.replace('_', " ").to_uppercase())
            .collect();
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(cell).collect())
            .collect();
        let widths: Vec<usize> = (0..headers.len())
            .map(|i| {
                std::iter::once(&headers[i])
                    .chain(cells.iter().map(|row| &row[i]))
                    .map(|text| text.width())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in std::iter::once(&headers).chain(&cells) {
            let mut text = String::new();
            for (i, value) in line.iter().enumerate() {
                if i + 1 < line.len() {
                    let pad = widths[i] - value.width();
                    let _ = write!(text, "{value}{:pad$}  ", "");
                } else {
                    text.push_str(value);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        if cells.is_empty() {
            out.push_str("(なし / none)\n");
        }
        out
    }
}

/// A value as a table shows it: `-` for none or empty, lists comma-separated.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) if text.is_empty() => "-".to_owned(),
        Value::String(text) => text.clone(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A login's password as a listing shows it: `none`, `temporary` (to be changed at the next
/// login) or `set`.
pub(crate) fn password_state(has_password: bool, must_change: bool) -> &'static str {
    match (has_password, must_change) {
        (false, _) => "none",
        (true, true) => "temporary",
        (true, false) => "set",
    }
}

/// Until when a lock after failed logins holds, if it still does. The store's lock runs on
/// the system clock, not the installation's movable one.
pub(crate) fn lapsing_lock(until: Option<kx_store::Timestamp>) -> Option<String> {
    until
        .filter(|until| *until > chrono::Utc::now())
        .map(listed_time)
}

/// A time as listings show it: RFC 3339 in UTC to the second (`2026-04-01T09:00:00Z`).
pub(crate) fn listed_time(at: kx_store::Timestamp) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn columns_align_by_display_width_and_json_keeps_the_values() {
        let mut listing = Listing::new(&["number", "name", "quota_bytes", "networks"]);
        listing.push(vec![
            json!("0001"),
            json!("東京支店"),
            json!(209715200),
            json!([]),
        ]);
        listing.push(vec![
            json!("12"),
            json!("Osaka"),
            json!(1),
            json!(["127.0.0.0/8", "::1/128"]),
        ]);
        assert_eq!(
            listing.table(),
            "NUMBER  NAME      QUOTA BYTES  NETWORKS\n\
             0001    東京支店  209715200    -\n\
             12      Osaka     1            127.0.0.0/8,::1/128\n"
        );
        assert_eq!(
            listing.json(),
            json!([
                {"number": "0001", "name": "東京支店", "quota_bytes": 209715200, "networks": []},
                {"number": "12", "name": "Osaka", "quota_bytes": 1, "networks": ["127.0.0.0/8", "::1/128"]}
            ])
        );
    }

    #[test]
    fn an_empty_listing_says_so() {
        let listing = Listing::new(&["id", "locked"]);
        assert_eq!(listing.table(), "ID  LOCKED\n(なし / none)\n");
        assert_eq!(listing.json(), json!([]));
    }
}
