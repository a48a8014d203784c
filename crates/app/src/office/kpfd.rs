//! The pre-send check of `KPFD.CSV` on the e-application screen (`kx_exchange::kpfd`, through
//! `kx_client::exchange::check_kpfd`, as `kx send --e-application` runs it): the findings
//! listed under the file added, so the clerk can fix the file before anything is sent. An
//! error holds the send back until the clerk chooses to send anyway; a warning never does.

use std::path::PathBuf;

use kx_client::exchange::check_kpfd;
use kx_client::kx_exchange::kpfd::{Finding, Report, Severity};
use maud::{Markup, html};

use crate::page::{self, Shown, Visit};
use crate::words::{self, Tr};

/// The form field of 「エラーがあっても送信する」.
pub(crate) const IGNORE: &str = "ignore-check";

/// What the check found in each file: (its name, the report), or why it could not check.
pub(crate) type Checked = Result<Vec<(String, Report)>, Shown>;

/// Checks `files` (name, path); blocking.
pub(crate) fn check(files: &[(String, PathBuf)]) -> Checked {
    files
        .iter()
        .map(|(name, path)| Ok((name.clone(), check_kpfd(path)?)))
        .collect::<kx_client::Result<_>>()
        .map_err(Shown::from)
}

/// Whether any report holds an error.
pub(crate) fn has_errors(checked: &Checked) -> bool {
    checked
        .as_ref()
        .is_ok_and(|reports| reports.iter().any(|(_, r)| r.has_errors()))
}

/// The findings of each file; with `held` (a send asked for while errors remain), why the
/// send waits.
pub(crate) fn findings(visit: &Visit, checked: &Checked, held: bool) -> Markup {
    html! {
        section aria-labelledby="kpfd-check" {
            h2 #kpfd-check { (visit.t(words::KPFD_CHECK)) }
            @match checked {
                Err(shown) => (page::failure(visit.lang, shown)),
                Ok(reports) => @for (name, report) in reports { (one(visit, name, report)) }
            }
            @if held { p.bad role="alert" { (visit.t(words::KPFD_HELD)) } }
        }
    }
}

fn one(visit: &Visit, name: &str, report: &Report) -> Markup {
    let count = |severity| {
        report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    html! {
        @if report.is_clean() {
            p.done role="status" { (name) ": " (visit.t(words::KPFD_CLEAN)) }
        } @else {
            p role="status" {
                (name) ": " (visit.t(words::ERROR)) " " (count(Severity::Error)) " / "
                (visit.t(words::WARNING)) " " (count(Severity::Warning))
            }
            @if report.has_errors() { p { (visit.t(words::KPFD_FIX)) } }
            table {
                (page::columns(visit.lang, &[words::SEVERITY, words::LINE, words::FIELD, words::FINDING]))
                tbody { @for f in &report.findings { (row(visit, f)) } }
            }
            @if report.omitted > 0 { p.detail { (visit.t(words::KPFD_OMITTED)) ": " (report.omitted) } }
        }
    }
}

fn row(visit: &Visit, finding: &Finding) -> Markup {
    let (severity, class) = match finding.severity {
        Severity::Error => (words::ERROR, "finding error"),
        Severity::Warning => (words::WARNING, "finding warning"),
    };
    let kind = Tr {
        ja: finding.kind.japanese(),
        en: finding.kind.english(),
    };
    html! {
        tr class=(class) {
            td { (visit.t(severity)) }
            td.num { @if let Some(line) = finding.line { (line) } }
            td.num { @if let Some(field) = finding.field { (field) } }
            td {
                (visit.t(kind))
                @if let Some(detail) = &finding.detail { " (" (detail) ")" }
            }
        }
    }
}
