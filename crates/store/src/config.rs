//! How a [`Store`](crate::Store) is opened.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::{Host, Url};

use crate::Error;

/// Where the metadata lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Database {
    /// An SQLite database file (created when missing), run in WAL mode with full fsync.
    Sqlite(PathBuf),
    /// A PostgreSQL database, which several kxd may share.
    Postgres(DatabaseUrl),
}

impl Database {
    /// `postgres://…` (or `postgresql://…`) as PostgreSQL; anything else is refused.
    pub fn postgres(url: &str) -> Result<Database, crate::Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(DatabaseUrl(url.to_owned())))
        } else {
            Err(crate::Error::Invalid(format!(
                "the database must be a postgres:// URL (not {})",
                DatabaseUrl(url.to_owned()).redacted()
            )))
        }
    }
}

/// A database URL, which may carry a password: never shown whole (its `Debug` and
/// [`DatabaseUrl::redacted`] hide the password).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL itself, for the driver only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, for logs and messages.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return url.clone();
        };
        let authority_end = url[scheme_end..]
            .find(['/', '?'])
            .map_or(url.len(), |i| scheme_end + i);
        let authority = &url[scheme_end..authority_end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &authority[..colon],
                &url[scheme_end + at..]
            ),
            _ => url.clone(),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The argon2id cost parameters for account passwords.
///
/// The default is OWASP's recommended minimum for argon2id (Password Storage Cheat Sheet):
/// 19 MiB of memory (m = 19456 KiB), 2 iterations (t = 2), 1 lane (p = 1). Tests lower them to
/// stay fast; production should not. Hashes keep their parameters, so raising them later only
/// affects passwords set afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory cost in KiB (m).
    pub memory_kib: u32,
    /// Number of passes (t).
    pub iterations: u32,
    /// Degree of parallelism (p).
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        PasswordParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// How many password checks (hashes and verifications) run at once, and how many may wait.
///
/// Each running check holds its argon2 memory cost, so `workers` × `memory_kib` bounds what
/// password checks take; a check that finds `queue` checks waiting already is refused at once
/// as busy, without hashing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPool {
    /// Checks running at once (threads of their own). Default: the number of cores.
    pub workers: usize,
    /// Checks waiting for a worker beyond those running. Default 32.
    pub queue: usize,
}

impl Default for PasswordPool {
    fn default() -> Self {
        PasswordPool {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 32,
        }
    }
}

/// When failed logins lock an account (or exchange user) for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Failed logins within `window` that lock the account (default 5; 0 counts as 1).
    pub after: u32,
    /// How far back failures count, from the first of them. Default 30 minutes.
    pub window: Duration,
    /// How long the lock lasts; failures during it are not counted. Default 30 minutes.
    pub duration: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            after: 5,
            window: Duration::from_secs(30 * 60),
            duration: Duration::from_secs(30 * 60),
        }
    }
}

/// Everything [`Store::open`](crate::Store::open) needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The metadata database.
    pub database: Database,
    /// Where the blobs are kept.
    pub blobs: Blobs,
    /// When failed logins lock an account for a while.
    pub lockout: Lockout,
    /// Cost of password hashes.
    pub password: PasswordParams,
    /// How many password checks run at once.
    pub password_pool: PasswordPool,
}

impl StoreConfig {
    /// The embedded default inside a data directory: `DIR/kx.sqlite3` and `DIR/blobs/`.
    pub fn in_dir(dir: &Path) -> StoreConfig {
        StoreConfig {
            database: Database::Sqlite(dir.join("kx.sqlite3")),
            blobs: Blobs::Local(dir.join("blobs")),
            lockout: Lockout::default(),
            password: PasswordParams::default(),
            password_pool: PasswordPool::default(),
        }
    }
}

/// Where the blobs (raw messages, mailbox messages, sealed files) are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Blobs {
    /// A local directory (created when missing); the embedded default is `DIR/blobs`.
    Local(PathBuf),
    /// A bucket of an S3-compatible object store, which several kxd may share.
    S3(S3Bucket),
}

impl Blobs {
    /// Reads kxd.toml's `blobs` setting: a directory (relative to `base`, the data directory)
    /// or `s3://BUCKET?endpoint=URL&region=REGION&prefix=PREFIX&credentials=FILE` (every
    /// parameter optional; see [`S3Bucket`]). The keys come from `credentials` when it names a
    /// file, from `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` otherwise.
    pub fn parse(text: &str, base: &Path) -> Result<Blobs, Error> {
        Blobs::parse_with(text, base, &|name| std::env::var(name).ok())
    }

    /// [`Blobs::parse`] with the environment given (tests).
    pub(crate) fn parse_with(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Blobs, Error> {
        let text = text.trim();
        match text.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("s3") => {
                Ok(Blobs::S3(S3Bucket::parse(text, base, env)?))
            }
            Some((scheme, _)) => Err(settings(format!(
                "blobs: {scheme}:// is not a blob store (a directory or s3://BUCKET)"
            ))),
            None if text.is_empty() => Err(settings("blobs: empty".into())),
            None => Ok(Blobs::Local(base.join(text))),
        }
    }
}

impl fmt::Display for Blobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blobs::Local(dir) => write!(f, "{}", dir.display()),
            Blobs::S3(bucket) => bucket.fmt(f),
        }
    }
}

/// A bucket of an S3-compatible object store, reached with path-style requests
/// (`ENDPOINT/BUCKET/KEY`), under an optional key prefix.
///
/// Plain HTTP is allowed only to a loopback endpoint (`127.x.x.x`, `::1`, `localhost`): the
/// requests carry claims data and signatures a network could replay. Its `Debug` and
/// `Display` never show the secret key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Bucket {
    pub(crate) bucket: String,
    /// Without one, AWS's endpoint for the region.
    pub(crate) endpoint: Option<String>,
    pub(crate) region: String,
    /// Key prefix without leading or trailing `/`; `None` for the bucket's top.
    pub(crate) prefix: Option<String>,
    pub(crate) keys: S3Keys,
    pub(crate) allow_http: bool,
}

/// The region when the URL names none.
const DEFAULT_REGION: &str = "us-east-1";

impl S3Bucket {
    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The endpoint, when not AWS's.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The key prefix, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    fn parse(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<S3Bucket, Error> {
        // The text is never quoted back: a mistaken URL may hold a secret.
        let url = Url::parse(text).map_err(|e| settings(format!("blobs: not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(settings(
                "blobs: keys do not belong in the URL: name a file with credentials=FILE, \
                 or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .into(),
            ));
        }
        let bucket = url.host_str().unwrap_or_default().to_owned();
        if !valid_bucket(&bucket) {
            return Err(settings(format!(
                "blobs: {bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, \
                 dots and hyphens)"
            )));
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() || url.port().is_some() {
            return Err(settings(
                "blobs: s3://BUCKET takes no port, path or fragment (a key prefix goes in prefix=)"
                    .into(),
            ));
        }
        let mut params = Params::default();
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "endpoint" => &mut params.endpoint,
                "region" => &mut params.region,
                "prefix" => &mut params.prefix,
                "credentials" => &mut params.credentials,
                other => {
                    return Err(settings(format!(
                        "blobs: unknown parameter {other:?} (endpoint, region, prefix, credentials)"
                    )));
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(settings(format!("blobs: {key} given twice")));
            }
        }
        let (endpoint, allow_http) = match params.endpoint {
            Some(endpoint) => {
                let (endpoint, allow_http) = check_endpoint(&endpoint)?;
                (Some(endpoint), allow_http)
            }
            None => (None, false),
        };
        let region = params.region.unwrap_or_else(|| DEFAULT_REGION.to_owned());
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(settings(format!("blobs: {region:?} is not a region")));
        }
        let keys = match params.credentials {
            Some(file) => S3Keys::from_file(&base.join(file))?,
            None => S3Keys::from_env(env)?,
        };
        Ok(S3Bucket {
            bucket,
            endpoint,
            region,
            prefix: params
                .prefix
                .map(|p| check_prefix(&p))
                .transpose()?
                .flatten(),
            keys,
            allow_http,
        })
    }
}

impl fmt::Display for S3Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}", self.bucket)?;
        if let Some(prefix) = &self.prefix {
            write!(f, "/{prefix}")?;
        }
        match &self.endpoint {
            Some(endpoint) => write!(f, " at {endpoint} ({})", self.region),
            None => write!(f, " ({})", self.region),
        }
    }
}

/// The parameters of an `s3://` URL, each at most once.
#[derive(Default)]
struct Params {
    endpoint: Option<String>,
    region: Option<String>,
    prefix: Option<String>,
    credentials: Option<String>,
}

/// S3's rules for bucket names, less the exotic cases (no IP-address-like names).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// The endpoint without a trailing `/`, and whether it is plain HTTP (to loopback only).
fn check_endpoint(text: &str) -> Result<(String, bool), Error> {
    let url = Url::parse(text).map_err(|e| settings(format!("blobs: endpoint: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(settings(
            "blobs: endpoint: keys do not belong in the URL".into(),
        ));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(settings(format!(
            "blobs: endpoint {text} must be a scheme, a host and a port only"
        )));
    }
    let host = url
        .host()
        .ok_or_else(|| settings(format!("blobs: endpoint {text} names no host")))?;
    let allow_http = match url.scheme() {
        "https" => false,
        "http" if is_loopback(&host) => true,
        "http" => {
            return Err(settings(format!(
                "blobs: endpoint {text}: plain HTTP is refused to anything but a loopback address \
                 (127.0.0.1, ::1, localhost); use https://"
            )));
        }
        other => {
            return Err(settings(format!(
                "blobs: endpoint {text}: {other}:// is neither https:// nor http://"
            )));
        }
    };
    Ok((url.as_str().trim_end_matches('/').to_owned(), allow_http))
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => {
            address.is_loopback() || address.to_ipv4_mapped().is_some_and(|a| a.is_loopback())
        }
    }
}

/// The prefix without leading or trailing `/` (`None` when that leaves nothing); refuses
/// empty, `.` and `..` segments and characters object stores treat differently.
fn check_prefix(text: &str) -> Result<Option<String>, Error> {
    let trimmed = text.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    let fine = trimmed.split('/').all(|segment| {
        !matches!(segment, "" | "." | "..")
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if fine {
        Ok(Some(trimmed.to_owned()))
    } else {
        Err(settings(format!(
            "blobs: prefix {text:?}: segments of letters, digits, '-', '_' and '.' only"
        )))
    }
}

/// An S3 access key and its secret. `Debug` shows the key's id only.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Keys {
    access_key_id: String,
    secret_access_key: String,
}

impl fmt::Debug for S3Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Keys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Keys {
    /// A key and its secret, both non-empty.
    pub fn new(access_key_id: &str, secret_access_key: &str) -> Result<S3Keys, Error> {
        let (id, secret) = (access_key_id.trim(), secret_access_key.trim());
        if id.is_empty() || secret.is_empty() {
            return Err(settings(
                "s3 keys: the access key id and its secret must not be empty".into(),
            ));
        }
        Ok(S3Keys {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
        })
    }

    /// The access key id.
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub(crate) fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<S3Keys, Error> {
        let [id, secret] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
            .map(|name| env(name).filter(|v| !v.trim().is_empty()));
        match (id, secret) {
            (Some(id), Some(secret)) => S3Keys::new(&id, &secret),
            (None, None) => Err(settings(
                "blobs: no S3 keys: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a \
                 file with credentials=FILE"
                    .into(),
            )),
            (None, Some(_)) => Err(settings("blobs: AWS_ACCESS_KEY_ID is not set".into())),
            (Some(_), None) => Err(settings("blobs: AWS_SECRET_ACCESS_KEY is not set".into())),
        }
    }

    /// Reads a credentials file, which must be its user's alone: two lines (the key id, then
    /// the secret), or `aws_access_key_id = …` and `aws_secret_access_key = …` lines (as in
    /// an AWS credentials file with one profile; `#` comments and `[section]` lines are
    /// skipped). Errors never quote the file.
    fn from_file(path: &Path) -> Result<S3Keys, Error> {
        let shown = path.display();
        check_private(path)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| settings(format!("blobs: cannot read {shown}: {e}")))?;
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with(['#', ';']) && !l.starts_with('['))
            .collect();
        if lines.iter().any(|l| {
            named(l).is_some_and(|(n, _)| n == "access_key_id" || n == "secret_access_key")
        }) {
            let (mut id, mut secret) = (None, None);
            for (name, value) in lines.iter().filter_map(|l| named(l)) {
                let slot = match name.as_str() {
                    "access_key_id" => &mut id,
                    "secret_access_key" => &mut secret,
                    // Other settings of an AWS credentials file (a session token, a region).
                    _ => continue,
                };
                if slot.replace(value).is_some() {
                    return Err(settings(format!(
                        "blobs: {shown} names aws_{name} twice (one profile per file)"
                    )));
                }
            }
            match (id, secret) {
                (Some(id), Some(secret)) => S3Keys::new(id, secret),
                _ => Err(settings(format!(
                    "blobs: {shown} needs both aws_access_key_id and aws_secret_access_key"
                ))),
            }
        } else if let [id, secret] = lines[..] {
            S3Keys::new(id, secret)
        } else {
            Err(settings(format!(
                "blobs: {shown}: two lines (the access key id, then the secret) or \
                 aws_access_key_id = … and aws_secret_access_key = …"
            )))
        }
    }
}

/// A `name = value` line of a credentials file: the name lower-case, without `aws_`.
fn named(line: &str) -> Option<(String, &str)> {
    let (name, value) = line.split_once('=')?;
    let name = name.trim().to_ascii_lowercase();
    let name = name.strip_prefix("aws_").unwrap_or(&name).to_owned();
    Some((name, value.trim()))
}

/// Refuses a secret file that others may read (Unix: any group or other bit), as kxd's own
/// files never are (see [`files`](crate::files)).
fn check_private(path: &Path) -> Result<(), Error> {
    let meta = std::fs::metadata(path)
        .map_err(|e| settings(format!("blobs: cannot read {}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(settings(format!(
                "blobs: {} is readable by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    if !meta.is_file() {
        return Err(settings(format!("blobs: {} is not a file", path.display())));
    }
    Ok(())
}

fn settings(message: String) -> Error {
    Error::Settings(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("wJalrXUtnFEMI/K7MDENG".into()),
            _ => None,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Blobs, Error> {
        Blobs::parse_with(text, Path::new("/data"), &env)
    }

    fn bucket(text: &str) -> S3Bucket {
        match parse(text) {
            Ok(Blobs::S3(bucket)) => bucket,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn refusal(text: &str) -> String {
        match parse(text) {
            Err(Error::Settings(message)) => message,
            other => panic!("{text}: {other:?}"),
        }
    }

    /// A private file holding `text`.
    fn secret_file(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("s3-keys");
        crate::files::create_new(&path).expect("created");
        std::fs::write(&path, text).expect("written");
        path
    }

    #[test]
    fn the_default_is_the_directory_and_a_path_is_relative_to_the_data_directory() {
        assert_eq!(
            StoreConfig::in_dir(Path::new("/data")).blobs,
            Blobs::Local("/data/blobs".into())
        );
        assert_eq!(
            parse("elsewhere").unwrap(),
            Blobs::Local("/data/elsewhere".into())
        );
        assert_eq!(parse("/srv/kx").unwrap(), Blobs::Local("/srv/kx".into()));
        assert!(refusal("ftp://host/x").contains("ftp://"));
    }

    #[test]
    fn an_s3_url_names_bucket_endpoint_region_and_prefix() {
        let b = bucket(
            "s3://kx-blobs?endpoint=http://127.0.0.1:9000&region=eu-west-3&prefix=/kx/prod/",
        );
        assert_eq!(b.bucket(), "kx-blobs");
        assert_eq!(b.endpoint(), Some("http://127.0.0.1:9000"));
        assert_eq!(b.region(), "eu-west-3");
        assert_eq!(b.prefix(), Some("kx/prod"));
        assert!(b.allow_http);
        assert_eq!(b.keys.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(
            b.to_string(),
            "s3://kx-blobs/kx/prod at http://127.0.0.1:9000 (eu-west-3)"
        );
        let aws = bucket("s3://kx-blobs");
        assert_eq!(
            (aws.endpoint(), aws.region(), aws.prefix()),
            (None, "us-east-1", None)
        );
        assert!(!aws.allow_http);
        assert!(!bucket("s3://kx-blobs?endpoint=https://s3.example.net/").allow_http);
    }

    #[test]
    fn plain_http_is_for_loopback_endpoints_only() {
        for endpoint in [
            "http://localhost:9000",
            "http://127.8.9.10:9000",
            "http://[::1]:9000",
        ] {
            assert!(
                bucket(&format!("s3://kx-blobs?endpoint={endpoint}")).allow_http,
                "{endpoint}"
            );
        }
        for endpoint in [
            "http://10.0.0.5:9000",
            "http://s3.example.net",
            "http://[::2]:9000",
        ] {
            let message = refusal(&format!("s3://kx-blobs?endpoint={endpoint}"));
            assert!(message.contains("plain HTTP is refused"), "{message}");
        }
        assert!(refusal("s3://kx-blobs?endpoint=ftp://127.0.0.1").contains("ftp://"));
        assert!(refusal("s3://kx-blobs?endpoint=https://h/path").contains("host and a port only"));
    }

    #[test]
    fn malformed_urls_are_refused_without_quoting_secrets() {
        let message = refusal("s3://AKID:hunter2@kx-blobs");
        assert!(message.contains("keys do not belong"), "{message}");
        assert!(!message.contains("hunter2"));
        assert!(refusal("s3://kx-blobs?secret=hunter2").contains("unknown parameter \"secret\""));
        assert!(refusal("s3://kx-blobs?region=a&region=b").contains("twice"));
        assert!(refusal("s3://kx-blobs/some/path").contains("prefix="));
        assert!(refusal("s3://Kx_Blobs").contains("not a bucket name"));
        assert!(refusal("s3://kx-blobs?prefix=a/../b").contains("prefix"));
        assert!(refusal("s3://kx-blobs?region=EU").contains("region"));
    }

    #[test]
    fn keys_come_from_the_environment_or_a_private_file() {
        match Blobs::parse_with("s3://kx-blobs", Path::new("/"), &no_env) {
            Err(Error::Settings(message)) => {
                assert!(message.contains("AWS_ACCESS_KEY_ID"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        secret_file(dir.path(), "AKIDFILE\nsecret-from-file\n");
        let parsed =
            Blobs::parse_with("s3://kx-blobs?credentials=s3-keys", dir.path(), &env).unwrap();
        let Blobs::S3(b) = &parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            b.keys,
            S3Keys::new("AKIDFILE", "secret-from-file").unwrap(),
            "the file wins"
        );
        let debug = format!("{parsed:?}");
        assert!(
            debug.contains("AKIDFILE") && !debug.contains("secret-from-file"),
            "{debug}"
        );
        assert!(!parsed.to_string().contains("secret-from-file"));
        assert!(!format!("{:?}", bucket("s3://kx-blobs")).contains("wJalrXUtnFEMI"));

        std::fs::remove_file(dir.path().join("s3-keys")).unwrap();
        let path = secret_file(
            dir.path(),
            "[default]\n# the bucket's writer\naws_access_key_id = AKIDINI\nAWS_SECRET_ACCESS_KEY=s=cret\nregion = x\n",
        );
        let Blobs::S3(b) = Blobs::parse_with(
            &format!("s3://kx-blobs?credentials={}", path.display()),
            Path::new("/"),
            &no_env,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(b.keys, S3Keys::new("AKIDINI", "s=cret").unwrap());
    }

    #[test]
    fn a_credentials_file_must_be_private_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let path = secret_file(dir.path(), "only one line\n");
        let parse = || Blobs::parse_with("s3://kx-blobs?credentials=s3-keys", dir.path(), &no_env);
        match parse() {
            Err(Error::Settings(message)) => {
                assert!(message.contains("two lines"), "{message}");
                assert!(!message.contains("only one line"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(
            &path,
            "aws_access_key_id = A\naws_access_key_id = B\naws_secret_access_key = C\n",
        )
        .unwrap();
        assert!(matches!(parse(), Err(Error::Settings(m)) if m.contains("twice")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::write(&path, "AKID\nsecret\n").unwrap();
            assert!(parse().is_ok());
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            assert!(
                matches!(parse(), Err(Error::Settings(m)) if m.contains("readable by others (mode 640)"))
            );
        }
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(parse(), Err(Error::Settings(m)) if m.contains("cannot read")));
    }
}
