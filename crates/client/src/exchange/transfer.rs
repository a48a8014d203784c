//! Moving files: ZIP → seal → upload, and download → open → ZIP on disk. Neither holds a
//! whole file in memory: a send streams through a bounded pipe into the request, a receive
//! through temporary files.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use kx_crypto::{
    Certificate, ContentEncryption, Quarantine, Receiver, Recipient, SealOptions, Sealer, Signer,
};
use kx_exchange::api::{Function, UploadQuery, Uploaded, path};
use kx_exchange::send::{Candidate, check_send, worth_compressing};
use kx_exchange::{Code, Refusal};
use serde::de::DeserializeOwned;
use tempfile::NamedTempFile;

use super::failure::Failure;
use super::http::Http;
use super::profile::sync_dir;
use super::session::Session;
use crate::progress::{Counted, Phase, Progress};
use kx_net::pipe::{self, PipeWriter};

/// I/O buffer for files and the network.
const BUFFER: usize = 1 << 16;

/// A file the user chose to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Where it is.
    pub(crate) path: PathBuf,
    /// Its name in the ZIP.
    pub(crate) name: String,
}

/// Checks a send with the app's rules (E2002–E2007) before anything leaves.
pub fn check_files(
    function: Function,
    destination: &str,
    paths: &[PathBuf],
) -> crate::Result<Vec<Outgoing>> {
    let files: Vec<Outgoing> = paths
        .iter()
        .map(|path| Outgoing {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: path.clone(),
        })
        .collect();
    let sizes: Vec<Option<u64>> = files
        .iter()
        .map(|f| {
            fs::metadata(&f.path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        })
        .collect();
    let candidates: Vec<Candidate<'_>> = files
        .iter()
        .zip(&sizes)
        .map(|(f, size)| Candidate {
            name: &f.name,
            size: *size,
        })
        .collect();
    check_send(function, Some(destination), &candidates).map_err(Failure::from)?;
    Ok(files)
}

/// ZIPs `files`, seals the ZIP for `recipients` with our key, and uploads it to `to`, all at
/// once: the sealed bytes go into the request body as they are made.
pub(crate) fn send(
    session: &mut Session,
    recipients: &[Certificate],
    files: &[Outgoing],
    to: &str,
    office: &str,
    function: Function,
    progress: &dyn Progress,
) -> Result<Uploaded> {
    let recipients = recipients
        .iter()
        .map(|c| Recipient::new(c.clone()))
        .collect::<kx_crypto::Result<Vec<_>>>()?;
    let signer = Signer::new(session.key.clone(), session.cert.clone())?;
    let name = session.next_sealed_name(office)?;
    // The sealed length is known only at the end: the bar counts the plaintext sealed, which
    // runs at most the pipe's few chunks ahead of the network.
    let total = files
        .iter()
        .filter_map(|f| fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    progress.start(Phase::Upload, &name, Some(total));
    let query = UploadQuery {
        to: to.to_owned(),
        function,
        name: name.clone(),
    };
    let target = format!("{}?{}", path::FILES, query_string(&query)?);
    let uploaded = upload_sealed::<Uploaded>(&session.api, &target, |out| {
        seal_zip(out, &signer, &recipients, files, progress)
    });
    progress.finish();
    let uploaded = uploaded?;
    tracing::info!(id = %uploaded.id, name = %uploaded.name, size = uploaded.size, to, "sent");
    Ok(uploaded)
}

/// Uploads to `target` what `seal` writes while it writes it (a chunked body without length),
/// so that sealing and the network overlap and memory holds one bounded pipe whatever the
/// size. A failure of `seal` aborts the request, so the server sees the body break off, never
/// a complete one, and is the failure returned; a failed upload stops `seal` at its next write
/// and is the failure returned.
fn upload_sealed<T: DeserializeOwned>(
    api: &Http,
    target: &str,
    seal: impl FnOnce(&mut PipeWriter) -> Result<()> + Send,
) -> Result<T> {
    let (mut writer, reader) = pipe::pipe();
    std::thread::scope(|scope| {
        let sealing = scope.spawn(move || {
            let sealed = seal(&mut writer).and_then(|()| Ok(writer.finish()?));
            match sealed {
                // The upload ended first: its answer says why.
                Err(_) if writer.hung_up() => Ok(()),
                // Dropping the unfinished writer here is what aborts the upload.
                other => other,
            }
        });
        let uploaded = api.upload(target, reader);
        let sealed = sealing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        sealed?;
        uploaded
    })
}

/// Writes the ZIP of `files`, signed by `signer` and encrypted for `recipients`, into `out`;
/// `bar` counts the plaintext read.
fn seal_zip(
    out: impl Write,
    signer: &Signer,
    recipients: &[Recipient],
    files: &[Outgoing],
    progress: &dyn Progress,
) -> Result<()> {
    let options = SealOptions {
        content: ContentEncryption::Aes256Cbc,
        signing_time: SystemTime::now(),
    };
    let sealer = Sealer::new(signer, recipients, options, out)?;
    let mut zip = zip::ZipWriter::new_stream(sealer);
    let zip_options = zip::write::SimpleFileOptions::default().large_file(false);
    for file in files {
        // A file that vanished since the check is the manual's E2007.
        let input = File::open(&file.path)
            .map_err(|_| Refusal::new(Code::E2007, &[&file.name]))
            .map_err(Failure::from)?;
        let method = if worth_compressing(&file.name) {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip_options.compression_method(method);
        let options = match input.metadata().ok().and_then(|m| m.modified().ok()) {
            Some(modified) => options.last_modified_time(zip_time(modified)),
            None => options,
        };
        zip.start_file(file.name.as_str(), options)?;
        io::copy(
            &mut BufReader::with_capacity(BUFFER, Counted::new(input, progress)),
            &mut zip,
        )?;
    }
    zip.finish()?.into_inner().finish()?;
    Ok(())
}

/// A file's modification time as a ZIP entry's (local time, 2-second steps, 1980–2107).
fn zip_time(modified: SystemTime) -> zip::DateTime {
    use chrono::{Datelike as _, Timelike as _};
    let local = chrono::DateTime::<chrono::Local>::from(modified);
    zip::DateTime::from_date_and_time(
        u16::try_from(local.year()).unwrap_or(1980),
        local.month() as u8,
        local.day() as u8,
        local.hour() as u8,
        local.minute() as u8,
        (local.second() as u8).min(58),
    )
    .unwrap_or_default()
}

/// `to=…&function=…&name=…`, percent-encoded (nicknames are Japanese).
fn query_string(query: &UploadQuery) -> Result<String> {
    let mut url = reqwest::Url::parse("https://x/").context("url")?;
    url.query_pairs_mut()
        .append_pair("to", &query.to)
        .append_pair("function", query.function.as_str())
        .append_pair("name", &query.name);
    Ok(url.query().unwrap_or_default().to_owned())
}

/// A sealed name fit to be a file name: the server's name when it is the expected shape, the
/// file's ID otherwise (never a path the server chose).
pub(crate) fn safe_name(name: &str, id: &str) -> String {
    let ok = !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        name.to_owned()
    } else {
        let id: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        format!("{id}.zip")
    }
}

/// Plaintext on its way to `dest`: a temporary file beside it, renamed into place (after
/// fsync) only once `open` has verified everything, deleted otherwise.
struct Spool {
    tmp: BufWriter<NamedTempFile>,
    dest: PathBuf,
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tmp.flush()
    }
}

impl Quarantine for Spool {
    type Released = PathBuf;

    fn release(self) -> io::Result<PathBuf> {
        let tmp = self.tmp.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.dest).map_err(|e| e.error)?;
        if let Some(dir) = self.dest.parent() {
            sync_dir(dir).map_err(io::Error::other)?;
        }
        Ok(self.dest)
    }
}

/// Downloads file `id` and opens it into `dir/name`, with the manual's two progress bars
/// (download, then decryption). Fails with the code the user sees.
pub(crate) fn receive(
    session: &Session,
    id: &str,
    name: &str,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = safe_name(name, id);
    let mut response = session
        .api
        .download(&format!("{}/{}", path::FILES, id))
        .map_err(|e| server_failure(e, "受信"))?;
    let len = response.content_length().unwrap_or(0);
    progress.start(Phase::Download, &name, Some(len));
    let mut sealed = tempfile::Builder::new()
        .prefix(".kx-download-")
        .tempfile_in(dir)?;
    {
        let mut out = BufWriter::with_capacity(BUFFER, sealed.as_file_mut());
        let copied = io::copy(&mut Counted::new(&mut response, progress), &mut out);
        progress.finish();
        copied.map_err(|e| Failure::new(Code::E8005, &["受信"]).detail(e))?;
        out.flush()?;
    }
    let len = sealed.as_file().metadata()?.len();
    let trust = session.society_trust()?;
    let mut last_error = None;
    for (key, cert) in session.receivers()? {
        io::Seek::rewind(sealed.as_file_mut())?;
        progress.start(Phase::Decryption, &name, Some(len));
        let spool = Spool {
            tmp: BufWriter::with_capacity(
                BUFFER,
                tempfile::Builder::new()
                    .prefix(".kx-open-")
                    .tempfile_in(dir)?,
            ),
            dest: dir.join(&name),
        };
        let input = BufReader::with_capacity(BUFFER, Counted::new(sealed.as_file(), progress));
        let receiver = Receiver {
            key: &key,
            cert: Some(&cert),
        };
        let result = kx_crypto::open(input, receiver, &trust, SystemTime::now(), spool);
        progress.finish();
        match result {
            Ok(opened) => {
                tracing::info!(id, name = %name, "received");
                return Ok(opened.content);
            }
            // Sealed for a key a renewal retired (or the current one): try the next.
            Err(kx_crypto::Error::NotARecipient) => {
                last_error = Some(kx_crypto::Error::NotARecipient)
            }
            Err(err) => return Err(Failure::from(err).into()),
        }
    }
    Err(Failure::from(last_error.unwrap_or(kx_crypto::Error::NotARecipient)).into())
}

/// A server refusal keeps its code; a failure without one becomes E8005 for `operation`.
pub(crate) fn server_failure(err: anyhow::Error, operation: &str) -> anyhow::Error {
    match err.downcast::<Failure>() {
        Ok(failure) => failure.into(),
        Err(other) => Failure::new(Code::E8005, &[operation])
            .detail(format!("{other:#}"))
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc;

    use super::*;

    /// An HTTP/1.1 peer on loopback for one connection, and the API client to it.
    fn peer() -> Result<(TcpListener, Http)> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let api = Http::plaintext(&format!("http://{}", listener.local_addr()?))?;
        Ok((listener, api))
    }

    /// Reads from `conn` until `needle` has arrived; returns everything read.
    fn read_until(conn: &mut TcpStream, needle: &[u8]) -> io::Result<Vec<u8>> {
        let mut got = Vec::new();
        let mut buffer = [0u8; 4096];
        while !got.windows(needle.len()).any(|w| w == needle) {
            let n = conn.read(&mut buffer)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got.extend_from_slice(&buffer[..n]);
        }
        Ok(got)
    }

    #[test]
    fn a_sealing_failure_aborts_the_request_and_is_what_the_send_reports() -> Result<()> {
        let (listener, api) = peer()?;
        let (seen, wait_for_server) = mpsc::channel();
        let server = std::thread::spawn(move || -> io::Result<Vec<u8>> {
            let (mut conn, _) = listener.accept()?;
            let mut got = read_until(&mut conn, b"sealed so far")?;
            let _ = seen.send(());
            // Until the client closes the connection, or ends the body cleanly (the fault).
            let mut buffer = [0u8; 4096];
            while !got.ends_with(b"\r\n0\r\n\r\n") {
                let n = conn.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buffer[..n]);
            }
            Ok(got)
        });
        let err = upload_sealed::<Uploaded>(&api, "/api/v1/files", move |out| {
            out.write_all(b"sealed so far")?;
            out.flush()?;
            let _ = wait_for_server.recv();
            Err(Failure::new(Code::E2007, &["a.pdf"]).into())
        })
        .expect_err("the sealing failed");
        assert_eq!(
            err.downcast_ref::<Failure>().map(|f| f.code),
            Some(Code::E2007),
            "{err:#}"
        );
        let got = server.join().expect("the server thread")?;
        let request = String::from_utf8_lossy(&got).to_ascii_lowercase();
        assert!(request.contains("transfer-encoding: chunked"), "{request}");
        assert!(!request.contains("content-length"), "{request}");
        assert!(
            !request.ends_with("\r\n0\r\n\r\n"),
            "a clean end: {request}"
        );
        Ok(())
    }

    #[test]
    fn a_connection_lost_mid_upload_stops_the_sealing_and_is_what_the_send_reports() -> Result<()> {
        let (listener, api) = peer()?;
        let server = std::thread::spawn(move || -> io::Result<()> {
            let (mut conn, _) = listener.accept()?;
            read_until(&mut conn, b"\r\n\r\n")?;
            Ok(())
        });
        // Endless: only the upload's end can stop it.
        let err = upload_sealed::<Uploaded>(&api, "/api/v1/files", |out| {
            loop {
                out.write_all(&[0u8; 1 << 16])?;
            }
        })
        .expect_err("the connection closed");
        server.join().expect("the server thread")?;
        let failure = err
            .downcast_ref::<Failure>()
            .expect("a failure with a code");
        assert_eq!(failure.code, Code::E9999, "{err:#}");
        assert!(
            failure
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("cannot reach the KX server")),
            "{failure:?}"
        );
        Ok(())
    }

    #[test]
    fn names_from_the_server_never_become_paths() {
        let good = "Send-KS-06139999-00001-00001-202401232041116.zip";
        assert_eq!(safe_name(good, "f1"), good);
        for bad in [
            "../x.zip",
            "/etc/passwd",
            ".hidden.zip",
            "a/b.zip",
            "",
            "名前.zip",
        ] {
            assert_eq!(safe_name(bad, "f1/.."), "f1.zip", "{bad}");
        }
    }

    #[test]
    fn upload_queries_are_percent_encoded() -> Result<()> {
        let query = UploadQuery {
            to: "給付課".into(),
            function: Function::EApplication,
            name: "Send-JG-1.zip".into(),
        };
        assert_eq!(
            query_string(&query)?,
            "to=%E7%B5%A6%E4%BB%98%E8%AA%B2&function=e-application&name=Send-JG-1.zip"
        );
        Ok(())
    }
}
