//! PostgreSQL for the tests that run on it. `KX_TEST_POSTGRES` names a server where the test
//! role may create databases (scripts/test starts one in `target/test-postgres`); each store a
//! test opens gets a fresh database of its own there. Unset, the tests run on SQLite.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// The variable naming the test server (`postgres://USER@127.0.0.1:PORT/postgres`).
pub const ENV: &str = "KX_TEST_POSTGRES";

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
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let server = std::env::var(ENV).ok().filter(|url| !url.is_empty())?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "kx_test_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let made = Command::new("psql")
        .args([&server, "-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs (scripts/test installs postgresql)");
    assert!(
        made.status.success(),
        "CREATE DATABASE {name} on {ENV}: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    Some(with_database(&server, &name))
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
