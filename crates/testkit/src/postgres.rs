//! PostgreSQL for the tests. scripts/test starts a server in `target/test-postgres` where the
//! test role may create databases and names it in `KX_TEST_POSTGRES_SERVER`, for the tests that
//! always need one (moving a store onto it); for its second pass it also sets
//! `KX_TEST_POSTGRES`, and then every store a test opens gets a fresh database of its own
//! there. Without `KX_TEST_POSTGRES`, stores are on SQLite.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable that puts the tests' stores on this server
/// (`postgres://USER@127.0.0.1:PORT/postgres`).
pub const ENV: &str = "KX_TEST_POSTGRES";
/// The variable naming the server for the tests that need one whatever the stores are on.
pub const SERVER_ENV: &str = "KX_TEST_POSTGRES_SERVER";

/// Whether the tests run on PostgreSQL.
pub fn enabled() -> bool {
    std::env::var(ENV).is_ok_and(|url| !url.is_empty())
}

/// The database of the store in `dir`: made fresh the first time, the same one whenever the
/// store in `dir` is opened again (a restart keeps its data), remembered in `dir`; `None`
/// when the tests run on SQLite.
pub fn database_for(dir: &std::path::Path) -> Option<String> {
    let remembered = dir.join(".kx-test-database");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return Some(url);
    }
    let url = fresh_database()?;
    std::fs::create_dir_all(dir).expect("the store's directory");
    std::fs::write(&remembered, &url).expect("the test database remembered");
    Some(url)
}

/// A fresh, empty database on the test server (its URL), made with the real `psql`; `None`
/// when the tests run on SQLite.
pub fn fresh_database() -> Option<String> {
    let server = std::env::var(ENV).ok().filter(|url| !url.is_empty())?;
    Some(create_on(&server))
}

/// A fresh, empty database on the server scripts/test started, whatever the stores are on.
pub fn fresh_database_on_server() -> String {
    let server = [ENV, SERVER_ENV]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
        .unwrap_or_else(|| {
            panic!(
                "no PostgreSQL for the tests: scripts/test starts one; by hand, \
                 export {SERVER_ENV}=$(scripts/test-postgres)"
            )
        });
    create_on(&server)
}

/// Creates a database of its own name on `server`; its URL.
fn create_on(server: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "kx_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let made = Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs (scripts/test installs postgresql)");
    assert!(
        made.status.success(),
        "CREATE DATABASE {name} on {ENV}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    with_database(server, &name)
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{name}?{query}"),
        None => format!("{root}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://kx@127.0.0.1:5432/postgres", "t1"),
            "postgres://kx@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://kx@127.0.0.1:5432", "t1"),
            "postgres://kx@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgres://kx@h/postgres?sslmode=disable", "t1"),
            "postgres://kx@h/t1?sslmode=disable"
        );
    }
}
