//! One app per profile (E0001): the running app writes where it listens and a control secret
//! into the profile (a private file); a second `kx app` for the same profile, refused the
//! profile's lock, asks the running one for a launch token and points the browser there.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use kx_client::exchange::ProfileDir;
use serde::{Deserialize, Serialize};

use crate::guard::CONTROL_HEADER;

/// The file in the profile.
const FILE: &str = "app-instance.json";

/// Where the running app listens, and the secret to ask it for a launch token.
#[derive(Serialize, Deserialize)]
struct Instance {
    port: u16,
    control: String,
}

/// Says that this process serves the profile on `port`.
pub(crate) fn publish(profile: &ProfileDir, port: u16, control: &str) -> kx_client::Result<()> {
    let instance = Instance {
        port,
        control: control.to_owned(),
    };
    let json = serde_json::to_vec(&instance).map_err(|e| kx_client::Error::Other(e.into()))?;
    profile.write_private(FILE, &json)
}

/// Says that it no longer does.
pub(crate) fn withdraw(profile: &ProfileDir) {
    if let Err(err) = profile.remove_private(FILE) {
        tracing::warn!(error = %err, "could not remove the app's instance file");
    }
}

/// A launch URL from the app already serving `profile`, or `None` when none answers (the lock
/// is then held by a `kx` command, or a crashed app left its file behind).
pub(crate) fn hand_off(profile: &ProfileDir) -> Option<String> {
    let bytes = profile.read_private(FILE).ok()??;
    let instance: Instance = serde_json::from_slice(&bytes).ok()?;
    let token = ask_token(&instance).ok()?;
    Some(format!("http://127.0.0.1:{}/launch/{token}", instance.port))
}

/// `POST /instance/launch` on the running app, answered with a fresh launch token.
fn ask_token(instance: &Instance) -> std::io::Result<String> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, instance.port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /instance/launch HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{CONTROL_HEADER}: {}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n",
        instance.port, instance.control
    )?;
    let mut answer = String::new();
    stream.take(4096).read_to_string(&mut answer)?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no answer"))?;
    let token = body.trim();
    if head.starts_with("HTTP/1.1 200")
        && token.len() == 64
        && token.bytes().all(|b| b.is_ascii_hexdigit())
    {
        Ok(token.to_owned())
    } else {
        Err(std::io::Error::other("refused"))
    }
}
