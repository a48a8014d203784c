//! `kx lzh …`: create, list and extract LZH archives.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, Local};
use clap::{Subcommand, ValueEnum};
use kx_lzh::{Compression, Limits, Writer};

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
        } => create(&out, dir.as_deref(), method, &paths),
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

fn create(
    out: &Path,
    base: Option<&Path>,
    method: MethodArg,
    paths: &[PathBuf],
) -> anyhow::Result<()> {
    let base = base.unwrap_or(Path::new("."));
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".kx-lzh-");
    // Temporary files are private; the finished archive is an ordinary file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let temp = builder
        .tempfile_in(out_dir)
        .with_context(|| format!("cannot create a file in {}", out_dir.display()))?;
    let compression = match method {
        MethodArg::Lh5 => Compression::Lh5,
        MethodArg::Lh0 => Compression::Lh0,
    };
    // The archive being written (and the one it replaces) may lie inside a tree being
    // archived; neither goes in.
    let own = [temp.path(), out]
        .into_iter()
        .filter_map(|path| fs::canonicalize(path).ok())
        .collect();
    let mut writer = Writer::with_compression(BufWriter::new(temp), compression);
    let mut tree = Tree {
        spool: tempfile::tempfile().context("cannot create a temporary file")?,
        base,
        own,
    };
    for path in paths {
        tree.add(&mut writer, path)?;
    }
    let temp = writer
        .finish()?
        .into_inner()
        .map_err(|err| err.into_error())?;
    temp.persist(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(())
}

/// Adds files and directories under `base` to an archive.
struct Tree<'a> {
    /// Holds each file's packed data until its header can be written.
    spool: File,
    base: &'a Path,
    /// The archive's own files, never added.
    own: Vec<PathBuf>,
}

impl Tree<'_> {
    fn add(&mut self, writer: &mut Writer<impl std::io::Write>, name: &Path) -> anyhow::Result<()> {
        let full = self.base.join(name);
        let Some(entry_name) = name.to_str() else {
            bail!("{}: the name is not valid Unicode", name.display())
        };
        let meta =
            fs::metadata(&full).with_context(|| format!("cannot read {}", full.display()))?;
        let modified = meta
            .modified()
            .with_context(|| format!("{}: no modification time", full.display()))?;
        if meta.is_dir() {
            // Following links to directories could loop forever.
            if fs::symlink_metadata(&full).is_ok_and(|link| link.is_symlink()) {
                bail!(
                    "{} is a link to a directory, which is not followed",
                    full.display()
                );
            }
            // `-C DIR .` archives DIR's contents; "." itself is no entry.
            if !name.components().all(|c| c == std::path::Component::CurDir) {
                writer
                    .add_directory(entry_name, modified)
                    .with_context(|| format!("cannot add {}", full.display()))?;
            }
            let mut children = fs::read_dir(&full)
                .and_then(|dir| {
                    dir.map(|child| child.map(|c| c.file_name()))
                        .collect::<Result<Vec<_>, _>>()
                })
                .with_context(|| format!("cannot list {}", full.display()))?;
            children.sort();
            for child in children {
                self.add(writer, &name.join(child))?;
            }
        } else if fs::canonicalize(&full).is_ok_and(|path| !self.own.contains(&path)) {
            let file =
                File::open(&full).with_context(|| format!("cannot open {}", full.display()))?;
            writer
                .add_file_from(entry_name, modified, file, &mut self.spool)
                .with_context(|| format!("cannot add {}", full.display()))?;
        }
        Ok(())
    }
}

fn extract(archive: &Path, dest: &Path) -> anyhow::Result<()> {
    let input = kx_lzh::open(archive)?;
    let done = kx_lzh::extract(input, dest, &Limits::default())
        .with_context(|| format!("extracting {} into {}", archive.display(), dest.display()))?;
    println!(
        "{} files, {} directories, {} bytes extracted into {}",
        done.files,
        done.directories,
        done.bytes,
        dest.display()
    );
    Ok(())
}

fn list(archive: &Path) -> anyhow::Result<()> {
    let entries = kx_lzh::list(kx_lzh::open(archive)?, &Limits::default())
        .with_context(|| format!("listing {}", archive.display()))?;
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
