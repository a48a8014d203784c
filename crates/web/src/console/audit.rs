//! The audit log for federation operators: search by actor, action, account (the event's
//! object) and time range, and the same search as CSV.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{NaiveDate, TimeZone as _};
use maud::html;
use serde::Deserialize;

use kx_store::{AuditFilter, AuditRecord};

use super::federation::stored;
use super::page::{Notice, Text, html_response, time};
use super::require;
use super::{Console, Visit, store_failed};

/// Rows a page shows; the CSV holds up to [`CSV_ROWS`].
const PAGE_ROWS: u32 = 200;
const CSV_ROWS: u32 = 100_000;

pub(super) fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/audit", get(search))
        .route("/audit.csv", get(export))
}

/// The search form's fields, as typed.
#[derive(Deserialize, Default, Clone)]
struct Search {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    /// `YYYY-MM-DD`, local time, inclusive.
    #[serde(default)]
    from: String,
    /// `YYYY-MM-DD`, local time, inclusive.
    #[serde(default)]
    to: String,
}

impl Search {
    /// The store's filter, or the field that is not a date.
    fn filter(&self, limit: u32) -> Result<AuditFilter, &'static str> {
        let word = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let day = |text: &str, field: &'static str, next: bool| -> Result<_, &'static str> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| field)?;
            let date = if next {
                date.succ_opt().ok_or(field)?
            } else {
                date
            };
            let midnight = date.and_hms_opt(0, 0, 0).ok_or(field)?;
            let local = chrono::Local
                .from_local_datetime(&midnight)
                .earliest()
                .ok_or(field)?;
            Ok(Some(local.with_timezone(&chrono::Utc)))
        };
        Ok(AuditFilter {
            actor: word(&self.actor),
            action: word(&self.action),
            object: word(&self.object),
            since: day(&self.from, "from", false)?,
            until: day(&self.to, "to", true)?,
            limit: Some(limit),
        })
    }

    fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("actor", &self.actor),
                ("action", &self.action),
                ("object", &self.object),
                ("from", &self.from),
                ("to", &self.to),
            ])
            .finish()
    }
}

async fn search(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Query(search): Query<Search>,
) -> Response {
    require!(visit.federation());
    let lang = visit.lang;
    let (records, notice) = match search.filter(PAGE_ROWS) {
        Ok(filter) => (
            stored!(lang, "audit log", console.store().audit_log(&filter).await),
            None,
        ),
        Err(_) => (
            Vec::new(),
            Some(Notice::error(
                lang,
                Text(
                    "日付は YYYY-MM-DD で入力してください。",
                    "Give dates as YYYY-MM-DD.",
                ),
            )),
        ),
    };
    visit.audit(&console, "audit.search", "-", "ok").await;
    let body = html! {
        form method="get" action="/audit" {
            fieldset {
                legend { (lang.t(Text("検索条件", "Search"))) }
                label { (lang.t(Text("実行者", "Actor"))) input type="text" name="actor" value=(search.actor); }
                label { (lang.t(Text("操作", "Action"))) input type="text" name="action" value=(search.action) placeholder="smtp.login"; }
                label { (lang.t(Text("対象（IDなど）", "Object (account, …)"))) input type="text" name="object" value=(search.object); }
                label { (lang.t(Text("開始日", "From"))) input type="date" name="from" value=(search.from); }
                label { (lang.t(Text("終了日", "To"))) input type="date" name="to" value=(search.to); }
                button type="submit" { (lang.t(Text("検索", "Search"))) }
            }
        }
        p { a href={ "/audit.csv?" (search.query()) } download="audit.csv" { (lang.t(Text("CSVでダウンロード", "Download as CSV"))) } }
        p { (records.len()) " " (lang.t(Text("件（新しい順、最大200件）", "events (newest first, at most 200)"))) }
        table {
            thead { tr {
                th { (lang.t(Text("日時", "Time"))) } th { (lang.t(Text("実行者", "Actor"))) }
                th { (lang.t(Text("操作", "Action"))) } th { (lang.t(Text("対象", "Object"))) }
                th { (lang.t(Text("接続元", "Source"))) } th { (lang.t(Text("結果", "Outcome"))) }
            } }
            tbody {
                @for r in &records {
                    tr {
                        td { (time(r.at)) } td { (r.entry.actor) } td { (r.entry.action) } td { (r.entry.object) }
                        td { @if let Some(ip) = r.entry.source_ip { (ip.to_string()) } } td { (r.entry.outcome) }
                    }
                }
            }
        }
    };
    html_response(
        StatusCode::OK,
        visit
            .frame()
            .page(Text("監査ログ", "Audit log"), notice.as_ref(), body),
    )
}

async fn export(
    State(console): State<Arc<Console>>,
    visit: Visit,
    Query(search): Query<Search>,
) -> Response {
    require!(visit.federation());
    let lang = visit.lang;
    let Ok(filter) = search.filter(CSV_ROWS) else {
        return (StatusCode::BAD_REQUEST, "dates are YYYY-MM-DD\n").into_response();
    };
    let records = match console.store().audit_log(&filter).await {
        Ok(records) => records,
        Err(e) => return store_failed(lang, "audit export", &e),
    };
    visit
        .audit(&console, "audit.export", "-", &records.len().to_string())
        .await;
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit.csv\"",
            ),
        ],
        csv(&records),
    )
        .into_response()
}

/// RFC 4180 CSV with a header line, times in RFC 3339 (UTC). A field that a spreadsheet
/// would take for a formula gets a leading `'`, so opening the export runs nothing.
fn csv(records: &[AuditRecord]) -> String {
    fn field(out: &mut String, text: &str) {
        let guarded = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
        out.push('"');
        if guarded {
            out.push('\'');
        }
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    }
    let mut out = String::from("id,at,actor,action,object,source_ip,outcome\r\n");
    for r in records {
        out.push_str(&r.id.to_string());
        out.push(',');
        out.push_str(&r.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        for text in [
            r.entry.actor.as_str(),
            &r.entry.action,
            &r.entry.object,
            &r.entry
                .source_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            &r.entry.outcome,
        ] {
            out.push(',');
            field(&mut out, text);
        }
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kx_store::AuditEntry;

    #[test]
    fn the_csv_quotes_every_text_and_defuses_formulas() {
        let record = AuditRecord {
            id: 7,
            at: chrono::Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(),
            entry: AuditEntry::new("=cmd|' /C calc'!A0", "smtp.login", "J1\"3", None, "ok"),
        };
        assert_eq!(
            csv(&[record]),
            "id,at,actor,action,object,source_ip,outcome\r\n\
             7,2023-11-14T22:13:20.123Z,\"'=cmd|' /C calc'!A0\",\"smtp.login\",\"J1\"\"3\",\"\",\"ok\"\r\n"
        );
    }

    #[test]
    fn dates_are_whole_local_days() {
        let search = Search {
            from: "2026-12-01".into(),
            to: "2026-12-01".into(),
            ..Search::default()
        };
        let filter = search.filter(10).unwrap();
        let (since, until) = (filter.since.unwrap(), filter.until.unwrap());
        assert_eq!(until - since, chrono::Duration::days(1));
        let bad = Search {
            to: "12/01".into(),
            ..Search::default()
        };
        assert_eq!(bad.filter(10).unwrap_err(), "to");
    }
}
