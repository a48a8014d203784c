//! `kx lzh …`: create, list and extract LZH archives.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Local};
use clap::{Subcommand, ValueEnum};
use kx_client::kx_lzh::Compression;

/// The `kx lzh` subcommands.
#[derive(Subcommand)]
pub(crate) enum LzhCommand {
    /// Create an archive from files and directories (directories recurse).
    Create {
        /// The archive to write (replaced only once it is complete).
        out: PathBuf,
        /// Take PATHs relative to this directory.
        #[arg(short = 'C', value_name = "DIR")]
        dir: Option<PathBuf>,
        /// How to store file data; lh5 stores a file as lh0 when compression does not help.
        #[arg(long, value_enum, default_value_t = MethodArg::Lh5)]
        method: MethodArg,
        /// Files and directories to add, as they will be named in the archive.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Extract an archive safely into a directory.
    Extract {
        /// The archive to read.
        archive: PathBuf,
        /// The directory to extract into (created if missing).
        #[arg(short = 'd', value_name = "DIR")]
        dest: PathBuf,
    },
    /// List an archive: name, size, packed size, method, CRC and date.
    List {
        /// The archive to read.
        archive: PathBuf,
    },
}

/// Methods `kx lzh create` writes.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum MethodArg {
    /// LZSS + Huffman, as LHA writes by default.
    Lh5,
    /// Stored.
    Lh0,
}

pub(crate) fn run(cmd: LzhCommand) -> ExitCode {
    let result = match cmd {
        LzhCommand::Create {
            out,
            dir,
            method,
            paths,
        } => {
            let compression = match method {
                MethodArg::Lh5 => Compression::Lh5,
                MethodArg::Lh0 => Compression::Lh0,
            };
            kx_client::lzh::create(&out, dir.as_deref(), compression, &paths)
        }
        LzhCommand::Extract { archive, dest } => extract(&archive, &dest),
        LzhCommand::List { archive } => list(&archive),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("kx lzh: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn extract(archive: &Path, dest: &Path) -> kx_client::Result<()> {
    let done = kx_client::lzh::extract(archive, dest)?;
    println!(
        "{} files, {} directories, {} bytes extracted into {}",
        done.files,
        done.directories,
        done.bytes,
        dest.display()
    );
    Ok(())
}

fn list(archive: &Path) -> kx_client::Result<()> {
    let entries = kx_client::lzh::list(archive)?;
    println!(
        "{:>12} {:>12} {:<6} {:<5} {:<19} NAME",
        "SIZE", "PACKED", "METHOD", "CRC", "DATE"
    );
    for entry in &entries {
        let date = entry.modified.map_or_else(
            || "-".to_owned(),
            |t| {
                DateTime::<Local>::from(t)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        );
        let name = if entry.is_directory {
            format!("{}/", entry.path)
        } else {
            entry.path.to_string()
        };
        println!(
            "{:>12} {:>12} {:<6} {:04X}  {:<19} {}",
            entry.size, entry.packed_size, entry.method, entry.crc, date, name
        );
    }
    Ok(())
}
