//! `kx check-kpfd`: the pre-send check of a `KPFD.CSV`, on its own, and before
//! `kx send --e-application`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;
use kx_client::exchange::check_kpfd;
use kx_client::kx_exchange::kpfd::{FindingKind, Report, Severity};
use serde::Serialize;

use super::report::Failed;

/// `kx check-kpfd`.
#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    /// The file to check (KPFD.CSV).
    file: PathBuf,
    /// JSON instead of lines.
    #[arg(long)]
    json: bool,
}

/// `kx check-kpfd`: the findings on standard output; exit 1 when any is an error.
pub(crate) fn run(args: &CheckArgs) -> Result<(), Failed> {
    let report = check_kpfd(&args.file)?;
    let name = args.file.display().to_string();
    if args.json {
        let text =
            serde_json::to_string_pretty(&json(&name, &report)).map_err(kx_client::Error::from)?;
        println!("{text}");
    } else {
        print(&mut io::stdout().lock(), &name, &report);
    }
    if report.has_errors() {
        return Err(Failed::Reported);
    }
    Ok(())
}

/// Checks the files of an e-application send (`KPFD.CSV`) and prints what it finds on
/// standard error. Errors refuse the send unless `ignore` (`--ignore-check`); warnings never
/// do.
pub(crate) fn before_send(files: &[PathBuf], ignore: bool) -> Result<(), Failed> {
    let mut refused = false;
    for path in files {
        let report = check_kpfd(path)?;
        tracing::info!(
            errors = report.errors().count(),
            warnings = report.warnings().count(),
            omitted = report.omitted,
            "KPFD.CSV checked"
        );
        if report.is_clean() {
            continue;
        }
        let name = path.display().to_string();
        print(&mut io::stderr().lock(), &name, &report);
        if report.has_errors() {
            if ignore {
                eprintln!("{name}: sending anyway (--ignore-check)");
            } else {
                refused = true;
            }
        }
    }
    if refused {
        eprintln!(
            "kx: not sent: the check found errors. Correct the file, or send it anyway with --ignore-check."
        );
        return Err(Failed::Reported);
    }
    Ok(())
}

/// One line a finding, `error    line 3, field 5: 日本語 / English (detail)`, then the count.
fn print(out: &mut dyn Write, name: &str, report: &Report) {
    // A closed pipe is not the check's failure.
    let _ = write_report(out, name, report);
}

fn write_report(out: &mut dyn Write, name: &str, report: &Report) -> io::Result<()> {
    if report.is_clean() {
        return writeln!(out, "ok    {name}: no findings");
    }
    for finding in &report.findings {
        writeln!(out, "{:<8} {finding}", severity(finding.severity))?;
    }
    let errors = report.errors().count();
    let warnings = report.warnings().count();
    writeln!(
        out,
        "{name}: {errors} error(s), {warnings} warning(s){}",
        if report.omitted > 0 {
            format!(", {} more of the same kinds not listed", report.omitted)
        } else {
            String::new()
        }
    )
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

/// The report as `kx check-kpfd --json` prints it.
#[derive(Serialize)]
struct Json<'a> {
    file: &'a str,
    errors: usize,
    warnings: usize,
    omitted: usize,
    findings: Vec<JsonFinding<'a>>,
}

/// A finding with both texts.
#[derive(Serialize)]
struct JsonFinding<'a> {
    severity: Severity,
    line: Option<usize>,
    field: Option<usize>,
    kind: FindingKind,
    japanese: &'static str,
    english: &'static str,
    detail: Option<&'a str>,
}

fn json<'a>(name: &'a str, report: &'a Report) -> Json<'a> {
    Json {
        file: name,
        errors: report.errors().count(),
        warnings: report.warnings().count(),
        omitted: report.omitted,
        findings: report
            .findings
            .iter()
            .map(|f| JsonFinding {
                severity: f.severity,
                line: f.line,
                field: f.field,
                kind: f.kind,
                japanese: f.kind.japanese(),
                english: f.kind.english(),
                detail: f.detail.as_deref(),
            })
            .collect(),
    }
}
