//! Debian's HAProxy in front of test instances: docs/haproxy.cfg, the configuration
//! operators are given, with loopback addresses in place of its example ones.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `haproxy`, killed when dropped.
pub struct HaProxy {
    child: Child,
    dir: tempfile::TempDir,
    /// The port each frontend of docs/haproxy.cfg listens on, by name.
    ports: BTreeMap<String, u16>,
}

impl HaProxy {
    /// Starts HAProxy with docs/haproxy.cfg: each `frontend NAME` bound to a free loopback
    /// port, and the servers of `backend kxd_NAME` replaced by `backends[NAME]` (addresses
    /// `127.0.0.1:PORT`, one per instance). Frontends `backends` does not name are left out.
    pub fn start(backends: &BTreeMap<&str, Vec<String>>) -> HaProxy {
        let dir = tempfile::tempdir().expect("a directory");
        let documented = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/haproxy.cfg"),
        )
        .expect("docs/haproxy.cfg");
        let socket = dir.path().join("stats.sock");
        let mut ports = BTreeMap::new();
        let mut config = String::new();
        let mut section: Option<(&str, String)> = None;
        for line in documented.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [kind @ ("frontend" | "backend"), name] => {
                    let base = name.trim_start_matches("kxd_").to_owned();
                    section = Some((kind, base));
                }
                ["global" | "defaults"] => section = None,
                _ => {}
            }
            let wanted = section
                .as_ref()
                .is_none_or(|(_, base)| backends.contains_key(base.as_str()));
            if !wanted {
                continue;
            }
            match (words.first(), &section) {
                (Some(&"stats"), _) => {
                    config.push_str(&format!(
                        // admin: the tests move a restarted instance's server to its new port.
                        "    stats socket {} mode 600 level admin\n",
                        socket.display()
                    ));
                }
                (Some(&"bind"), Some((_, name))) => {
                    let port = free_port();
                    ports.insert(name.clone(), port);
                    config.push_str(&format!("    bind 127.0.0.1:{port}\n"));
                }
                (Some(&"server"), Some((_, name))) => {
                    // Written once per backend, at its first server line.
                    if words.get(1) == Some(&"kxd1") {
                        for (i, address) in backends[name.as_str()].iter().enumerate() {
                            config.push_str(&format!(
                                "    server kxd{} {address} check inter 500ms fall 2 rise 1\n",
                                i + 1
                            ));
                        }
                    }
                }
                _ => {
                    config.push_str(line);
                    config.push('\n');
                }
            }
        }
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, &config).expect("haproxy.cfg written");
        let check = Command::new("haproxy")
            .arg("-c")
            .arg("-f")
            .arg(&file)
            .output()
            .expect("haproxy runs (scripts/test installs it)");
        assert!(
            check.status.success(),
            "haproxy refuses the configuration:\n{config}\n{}",
            String::from_utf8_lossy(&check.stderr)
        );
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("a log");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("haproxy starts");
        let proxy = HaProxy { child, dir, ports };
        let started = Instant::now();
        while !proxy
            .ports
            .values()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "haproxy does not listen:\n{config}\n{}",
                std::fs::read_to_string(proxy.dir.path().join("haproxy.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        proxy
    }

    /// The port of the frontend `name` (`smtp`, `pop3`, `https`, `api`).
    pub fn port(&self, name: &str) -> u16 {
        self.ports[name]
    }

    /// Points server `server` (`kxd1`, `kxd2`, …) of backend `kxd_NAME` at `address`
    /// (`127.0.0.1:PORT`): an instance restarted on another port.
    pub fn set_server(&self, name: &str, server: &str, address: &str) {
        let (ip, port) = address.rsplit_once(':').expect("host:port");
        let answer = self.command(&format!(
            "set server kxd_{name}/{server} addr {ip} port {port}"
        ));
        assert!(!answer.contains("No such"), "{answer}");
    }

    /// One command on the stats socket; HAProxy's answer.
    fn command(&self, command: &str) -> String {
        let mut socket =
            std::os::unix::net::UnixStream::connect(self.dir.path().join("stats.sock"))
                .expect("the stats socket");
        socket
            .write_all(format!("{command}\n").as_bytes())
            .expect("asked");
        let mut answer = String::new();
        socket.read_to_string(&mut answer).expect("answered");
        answer
    }

    /// The sessions each server of backend `kxd_NAME` has taken so far, from HAProxy's own
    /// statistics (`show stat`), by server name.
    pub fn sessions(&self, name: &str) -> BTreeMap<String, u64> {
        let csv = self.command("show stat");
        let backend = format!("kxd_{name}");
        let header: Vec<&str> = csv
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let stot = header
            .iter()
            .position(|h| *h == "stot")
            .expect("an stot column");
        csv.lines()
            .skip(1)
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(',').collect();
                let server = *fields.get(1)?;
                if fields.first() != Some(&backend.as_str()) || !server.starts_with("kxd") {
                    return None;
                }
                Some((server.to_owned(), fields.get(stot)?.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port free now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
