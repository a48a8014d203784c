//! What every end-to-end fixture of `kxd` does with processes: run a command to completion, and
//! wait for a starting `kxd serve` to name the ports it bound.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long `kxd serve` may take to bind its listeners.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Runs a command to completion, panicking with its output when it fails; its standard output.
pub(crate) fn run(command: &mut Command) -> String {
    let output = command.output().expect("the command runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits until the `kxd serve` just started on `data` has written `endpoints.json` (remove a
/// file left by an earlier process before starting it), and returns each listener's port.
/// `log` is shown if it never does.
pub(crate) fn wait_for_ports(data: &Path, log: impl Fn() -> String) -> BTreeMap<String, u16> {
    let started = Instant::now();
    let endpoints: BTreeMap<String, String> = loop {
        if let Ok(text) = std::fs::read(data.join("endpoints.json")) {
            break serde_json::from_slice(&text).expect("endpoints.json is JSON");
        }
        assert!(
            started.elapsed() < START_DEADLINE,
            "kxd serve did not start:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    endpoints
        .into_iter()
        .map(|(name, address)| {
            let (_, port) = address.rsplit_once(':').expect("host:port");
            (name, port.parse().expect("a port"))
        })
        .collect()
}
