//! The exchange's end-to-end fixture: the real `kxd` (`init --api`, `admin`, `serve`) in a
//! temporary directory with a clock file, certificates and sealed files made with the
//! `openssl` CLI, and `curl` as the client (client certificates via `--cert/--key`).

#![allow(dead_code, unreachable_pub)] // each test uses a different part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kx_testkit::{Credentials, Environment, Installation, Python, Server};
use serde_json::Value;

pub(crate) use kx_testkit::{run, word_after};

pub const DOMAIN: &str = "kx.test";
pub const SOCIETY: &str = "06139999";
pub const SOCIETY_NAME: &str = "架空健康保険組合";
pub const SOCIETY_USER: &str = "kenpo1";
pub const OFFICE: &str = "0001";
pub const OFFICE_NAME: &str = "架空商事株式会社";
pub const OFFICE_USER: &str = "office1";
pub const DESTINATIONS: [&str; 5] = ["業務課", "給付課", "保健課", "総務課", "京都事務所"];
/// The instant the clock file starts at.
pub const T0: &str = "2026-04-01T00:00:00Z";

/// `openssl ARGS` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> String {
    run(Command::new("openssl").current_dir(dir).args(args))
}

/// A served installation: society, destinations, one office, their users.
pub struct Kxd {
    server: Option<Server>,
    installation: Installation,
    pub https: u16,
    pub api: u16,
    /// What `kxd admin` gave each login ID, the latest.
    credentials: BTreeMap<String, Credentials>,
}

impl Kxd {
    /// `kxd init` (test-loopback, api on 127.0.0.1), settings changed by `tune` (the
    /// `kxd.toml` text), the society, its destinations, one office and a user each.
    pub fn start(tune: impl FnOnce(&mut String)) -> Kxd {
        let installation = Installation::init(env!("CARGO_BIN_EXE_kxd"), DOMAIN)
            .https()
            .api()
            .environment(Environment::TestLoopback)
            .clock(T0)
            .env("RUST_LOG", "info")
            // Failed logins here test answers and lock-out, not the per-source penalty
            // (hostile_logins.rs does).
            .setting("login_penalty = 1", "login_penalty = 0")
            .setting(
                "login_attempts_per_minute = 30",
                "login_attempts_per_minute = 1000",
            )
            .create();
        installation.edit_settings(tune);
        let mut credentials = BTreeMap::new();
        let society = installation.add_society(SOCIETY, SOCIETY_NAME, SOCIETY_USER);
        credentials.insert(SOCIETY_USER.to_owned(), society);
        for nickname in DESTINATIONS {
            installation.add_destination(SOCIETY, nickname);
        }
        installation.add_office(SOCIETY, OFFICE, OFFICE_NAME, None);
        let office = installation.add_office_user(OFFICE_USER, SOCIETY, OFFICE);
        credentials.insert(OFFICE_USER.to_owned(), office);
        let mut kxd = Kxd {
            server: None,
            installation,
            https: 0,
            api: 0,
            credentials,
        };
        kxd.serve();
        kxd
    }

    /// Records the temporary password and code `kxd admin` printed for `id`.
    pub fn remember(&mut self, id: &str, out: &str) {
        self.credentials
            .insert(id.to_owned(), Credentials::parse(out));
    }

    fn credentials(&self, id: &str) -> &Credentials {
        self.credentials
            .get(id)
            .unwrap_or_else(|| panic!("nothing was printed for {id}"))
    }

    pub fn code(&self, id: &str) -> String {
        self.credentials(id).code.clone()
    }

    pub fn password(&self, id: &str) -> String {
        self.credentials(id).password.clone()
    }

    /// Starts `kxd serve` and waits for its endpoints.
    pub fn serve(&mut self) {
        let server = self.installation.serve();
        self.https = server.port("https");
        self.api = server.port("api");
        self.server = Some(server);
    }

    /// Starts another `kxd serve` on the same data directory (as behind a load balancer);
    /// it and its api port.
    pub fn second_server(&self) -> (Server, u16) {
        let server = self.installation.serve();
        let api = server.port("api");
        (server, api)
    }

    /// The installation, to serve more instances of it.
    pub fn installation(&self) -> &Installation {
        &self.installation
    }

    /// The bound address of listener `name` of the served instance, `host:port`.
    pub fn address(&self, name: &str) -> &str {
        self.server.as_ref().expect("kxd serve runs").address(name)
    }

    pub fn data(&self) -> &Path {
        self.installation.data()
    }

    /// Stops `kxd serve` (SIGKILL: nothing acknowledged may depend on a clean shutdown).
    pub fn stop(&mut self) {
        self.server = None;
    }

    /// Rewrites `kxd.toml` with `tune` and restarts `kxd serve`.
    pub fn restart_with(&mut self, tune: impl FnOnce(&mut String)) {
        self.stop();
        self.installation.edit_settings(tune);
        self.serve();
    }

    pub fn log(&self) -> String {
        self.installation.log()
    }

    /// `kxd admin --data DIR ARGS`; its standard output.
    pub fn admin(&self, args: &[&str]) -> String {
        self.installation.admin(args)
    }

    /// Moves the server's clock to `at` (RFC 3339).
    pub fn set_clock(&self, at: &str) {
        self.installation.set_clock(at);
    }

    /// The installation's server CA (what clients trust).
    pub fn server_ca(&self) -> PathBuf {
        self.installation.ca()
    }

    /// A client of the bootstrap listener (no client certificate).
    pub fn bootstrap(&self) -> Client<'_> {
        Client {
            kxd: self,
            port: self.https,
            identity: None,
            interface: None,
            token: None,
        }
    }

    /// A client of the api listener presenting `identity` (certificate, key), or none.
    pub fn api_client(&self, identity: Option<&Identity>) -> Client<'_> {
        self.api_client_on(self.api, identity)
    }

    /// A client of the api listener on `port` (another process's) presenting `identity`.
    pub fn api_client_on(&self, port: u16, identity: Option<&Identity>) -> Client<'_> {
        Client {
            kxd: self,
            port,
            identity: identity.cloned(),
            interface: None,
            token: None,
        }
    }

    /// The SQL answer of `query` on the database, one row per line, columns joined by `|`.
    pub fn sql(&self, query: &str) -> String {
        self.installation.sql(query)
    }
}

/// A certificate and its key, as files.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A CA made with openssl.
pub struct Ca {
    pub identity: Identity,
}

impl Ca {
    /// A self-signed CA `name` in `dir`.
    pub fn new(dir: &Path, name: &str) -> Ca {
        let (key, cert) = new_key(
            dir,
            name,
            &[
                "-x509",
                "-days",
                "3650",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            "pem",
        );
        Ca {
            identity: Identity {
                cert: dir.join(cert),
                key,
            },
        }
    }

    /// Signs `csr` (a file in `dir`) as a party certificate: client authentication and
    /// S/MIME, `days` long; the PEM file name.
    pub fn sign(&self, dir: &Path, csr: &str, name: &str, days: u32) -> PathBuf {
        let ext = dir.join(format!("{name}.ext"));
        std::fs::write(
            &ext,
            "basicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=clientAuth,emailProtection\n",
        )
        .expect("extensions file");
        let cert = format!("{name}.pem");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                self.identity.cert.to_str().expect("utf-8"),
                "-CAkey",
                self.identity.key.to_str().expect("utf-8"),
                "-CAcreateserial",
                "-days",
                &days.to_string(),
                "-extfile",
                ext.to_str().expect("utf-8"),
                "-out",
                &cert,
            ],
        );
        dir.join(cert)
    }
}

/// A fresh RSA key and PKCS#10 request `name.key`, `name.csr` in `dir`.
pub fn key_and_csr(dir: &Path, name: &str) -> (PathBuf, String) {
    new_key(dir, name, &["-new"], "csr")
}

/// `openssl req` making a fresh RSA key `name.key` and `name.SUFFIX` (a CSR, or with
/// `-x509` a self-signed certificate), subject `CN=name`.
fn new_key(dir: &Path, name: &str, extra: &[&str], suffix: &str) -> (PathBuf, String) {
    let key = format!("{name}.key");
    let out = format!("{name}.{suffix}");
    let subject = format!("/CN={name}");
    let mut args = vec![
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &out,
    ];
    args.extend(["-subj", &subject]);
    args.extend(extra);
    openssl(dir, &args);
    (dir.join(key), out)
}

/// A party certificate issued by `ca` in one go.
pub fn party_identity(dir: &Path, ca: &Ca, name: &str) -> Identity {
    let (key, csr) = key_and_csr(dir, name);
    Identity {
        cert: ca.sign(dir, &csr, name, 1000),
        key,
    }
}

/// An answer: HTTP status (0 when there was none), body, curl's exit code.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub exit: i32,
    pub stderr: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} / {}",
                String::from_utf8_lossy(&self.body),
                self.stderr
            )
        })
    }

    /// The E-code of a problem body.
    pub fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    pub fn reason(&self) -> String {
        self.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts the status, showing the body when it differs.
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status,
            status,
            "body: {} stderr: {}",
            String::from_utf8_lossy(&self.body),
            self.stderr
        );
        self
    }
}

/// `curl` against one listener.
#[derive(Clone)]
pub struct Client<'a> {
    kxd: &'a Kxd,
    port: u16,
    identity: Option<Identity>,
    interface: Option<String>,
    pub token: Option<String>,
}

impl Client<'_> {
    /// Connects from this source address instead (e.g. 127.0.0.2).
    pub fn via_address(mut self, address: &str) -> Self {
        self.interface = Some(address.into());
        self
    }

    /// Uses this bearer token.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.into());
        self
    }

    fn command(&self, method: &str, path: &str) -> Command {
        let mut command = Command::new("curl");
        command.args(["-sS", "--max-time", "60"]);
        // `-X HEAD` would wait for the body Content-Length announces; `--head` does not.
        if method == "HEAD" {
            command.arg("--head");
        } else {
            command.args(["-X", method]);
        }
        command
            .arg("--cacert")
            .arg(self.kxd.server_ca())
            .args(["-w", "%{http_code}"]);
        if let Some(identity) = &self.identity {
            command
                .arg("--cert")
                .arg(&identity.cert)
                .arg("--key")
                .arg(&identity.key);
        }
        if let Some(interface) = &self.interface {
            command.args(["--interface", interface]);
        }
        if let Some(token) = &self.token {
            command.args(["-H", &format!("Authorization: Bearer {token}")]);
        }
        command.arg(format!("https://127.0.0.1:{}{path}", self.port));
        command
    }

    fn finish(output: Output, body_file: Option<&Path>) -> Reply {
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = match body_file {
            Some(file) => (
                std::fs::read(file).unwrap_or_default(),
                text.trim().to_owned(),
            ),
            None => {
                let split = text.len().saturating_sub(3);
                (text.as_bytes()[..split].to_vec(), text[split..].to_owned())
            }
        };
        Reply {
            status: status.parse().unwrap_or(0),
            body,
            exit: output.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A request with an optional JSON body.
    pub fn call(&self, method: &str, path: &str, json: Option<&Value>) -> Reply {
        let mut command = self.command(method, path);
        if let Some(json) = json {
            command
                .args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(json.to_string());
        }
        Self::finish(command.output().expect("curl runs"), None)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.call("GET", path, None)
    }

    /// Uploads `file` as a sealed file.
    pub fn upload(&self, to: &str, function: &str, name: &str, file: &Path) -> Reply {
        self.upload_with(to, function, name, file, &[])
    }

    /// Uploads `file` as a sealed file at `rate` bytes a second at most, so that it is on its
    /// way for a while.
    pub fn upload_at(&self, rate: u32, to: &str, function: &str, name: &str, file: &Path) -> Reply {
        self.upload_with(
            to,
            function,
            name,
            file,
            &["--limit-rate", &rate.to_string()],
        )
    }

    /// Uploads `file` as a sealed file in chunks, without announcing its length.
    pub fn upload_chunked(&self, to: &str, function: &str, name: &str, file: &Path) -> Reply {
        self.upload_with(
            to,
            function,
            name,
            file,
            &["-H", "Transfer-Encoding: chunked"],
        )
    }

    fn upload_with(
        &self,
        to: &str,
        function: &str,
        name: &str,
        file: &Path,
        extra: &[&str],
    ) -> Reply {
        let query = format!(
            "/api/v1/files?to={}&function={function}&name={}",
            encode(to),
            encode(name)
        );
        let mut command = self.command("POST", &query);
        command
            .args(extra)
            .args([
                "-H",
                "Content-Type: application/pkcs7-mime",
                "--data-binary",
            ])
            .arg(format!("@{}", file.display()));
        Self::finish(command.output().expect("curl runs"), None)
    }

    /// Starts uploading `file` as a sealed file with Python's `http.client` (a client we did
    /// not write), chunked, then breaks off halfway: no last chunk, the TCP stream ended
    /// without a TLS close_notify. Returns what the server answered: `STATUS BODY`, or
    /// `no answer` when it closed the connection instead.
    pub fn upload_broken_off(&self, to: &str, function: &str, name: &str, file: &Path) -> String {
        let script = "import http.client, socket, ssl, sys\n\
             host, port, ca, cert, key, token, target, body = sys.argv[1:9]\n\
             context = ssl.create_default_context(cafile=ca)\n\
             context.load_cert_chain(cert, key)\n\
             conn = http.client.HTTPSConnection(host, int(port), context=context)\n\
             conn.putrequest('POST', target)\n\
             conn.putheader('Authorization', 'Bearer ' + token)\n\
             conn.putheader('Content-Type', 'application/pkcs7-mime')\n\
             conn.putheader('Transfer-Encoding', 'chunked')\n\
             conn.endheaders()\n\
             data = open(body, 'rb').read()\n\
             half = data[:len(data) // 2]\n\
             for i in range(0, len(half), 65536):\n    \
                 piece = half[i:i + 65536]\n    \
                 conn.send(b'%x\\r\\n%s\\r\\n' % (len(piece), piece))\n\
             socket.socket.shutdown(conn.sock, socket.SHUT_WR)\n\
             try:\n    \
                 answer = conn.getresponse()\n    \
                 print(answer.status, answer.read().decode())\n\
             except (ConnectionError, http.client.HTTPException, ssl.SSLError):\n    \
                 print('no answer')\n";
        let identity = self.identity.as_ref().expect("a client certificate");
        let target = format!(
            "/api/v1/files?to={}&function={function}&name={}",
            encode(to),
            encode(name)
        );
        Python::new(script)
            .arg("127.0.0.1")
            .arg(self.port.to_string())
            .arg(self.kxd.server_ca())
            .arg(&identity.cert)
            .arg(&identity.key)
            .arg(self.token.as_deref().expect("logged in"))
            .arg(target)
            .arg(file)
            .run()
    }

    /// Downloads a file into `out`.
    pub fn download(&self, id: &str, out: &Path) -> Reply {
        let mut command = self.command("GET", &format!("/api/v1/files/{id}"));
        command.arg("-o").arg(out);
        Self::finish(command.output().expect("curl runs"), Some(out))
    }

    /// `POST /api/v1/session` as `id` with `password`.
    pub fn try_login(&self, id: &str, password: &str) -> Reply {
        self.call(
            "POST",
            "/api/v1/session",
            Some(&serde_json::json!({"id": id, "password": password})),
        )
    }

    /// Logs in as `id` with `password`; the client then carries the token.
    pub fn login(mut self, id: &str, password: &str) -> Self {
        let reply = self.try_login(id, password).expect(200);
        self.token = Some(reply.json()["token"].as_str().expect("a token").to_owned());
        self
    }

    /// `POST /api/v1/password` from `current` to `new` (twice).
    pub fn change_password(&self, current: &str, new: &str) -> Reply {
        self.call(
            "POST",
            "/api/v1/password",
            Some(&serde_json::json!({"current": current, "new": new, "confirm": new})),
        )
    }

    /// Changes the temporary password `temporary` to [`OWN_PASSWORD`], as the app does at
    /// setup (until then the session may do nothing else).
    pub fn replace_temporary_password(&self, temporary: &str) {
        self.change_password(temporary, OWN_PASSWORD).expect(204);
    }
}

/// Percent-encodes a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs `plain` with `signer` and encrypts it for `recipient` (DER CMS), as a real sender
/// would; returns the sealed file.
pub fn seal(dir: &Path, plain: &Path, signer: &Identity, recipient: &Path, name: &str) -> PathBuf {
    let signed = dir.join(format!("{name}.signed"));
    let sealed = dir.join(format!("{name}.p7m"));
    openssl(
        dir,
        &[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-in",
            plain.to_str().expect("utf-8"),
            "-signer",
            signer.cert.to_str().expect("utf-8"),
            "-inkey",
            signer.key.to_str().expect("utf-8"),
            "-outform",
            "DER",
            "-out",
            signed.to_str().expect("utf-8"),
        ],
    );
    openssl(
        dir,
        &[
            "cms",
            "-encrypt",
            "-binary",
            "-aes256",
            "-in",
            signed.to_str().expect("utf-8"),
            "-outform",
            "DER",
            "-out",
            sealed.to_str().expect("utf-8"),
            recipient.to_str().expect("utf-8"),
        ],
    );
    let _ = std::fs::remove_file(signed);
    sealed
}

/// Decrypts a sealed file with `recipient`'s key and verifies the signature to `ca`; the
/// plaintext.
pub fn open(dir: &Path, sealed: &Path, recipient: &Identity, ca: &Path) -> Vec<u8> {
    let signed = dir.join("opened.signed");
    let plain = dir.join("opened.plain");
    openssl(
        dir,
        &[
            "cms",
            "-decrypt",
            "-binary",
            "-inform",
            "DER",
            "-in",
            sealed.to_str().expect("utf-8"),
            "-recip",
            recipient.cert.to_str().expect("utf-8"),
            "-inkey",
            recipient.key.to_str().expect("utf-8"),
            "-out",
            signed.to_str().expect("utf-8"),
        ],
    );
    openssl(
        dir,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            signed.to_str().expect("utf-8"),
            "-CAfile",
            ca.to_str().expect("utf-8"),
            "-purpose",
            "any",
            "-out",
            plain.to_str().expect("utf-8"),
        ],
    );
    std::fs::read(plain).expect("the plaintext")
}

/// The society set up and the office enrolled through the queue, both logged in.
pub struct World {
    pub kxd: Kxd,
    pub pki: tempfile::TempDir,
    pub ca: Ca,
    pub society: Identity,
    pub office: Identity,
    pub society_password: String,
    pub office_password: String,
}

/// A fresh password the default policy accepts.
pub const NEW_PASSWORD: &str = "Fresh-Passw0rd";
/// The password the world's users chose in place of their temporary ones.
pub const OWN_PASSWORD: &str = "Own-Passw0rd-1";

impl World {
    /// Everything up to two logged-in parties (society and office).
    pub fn new(tune: impl FnOnce(&mut String)) -> World {
        World::with(Kxd::start(tune))
    }

    /// The society set up and the office enrolled on a started installation.
    pub fn with(kxd: Kxd) -> World {
        let pki = tempfile::tempdir().expect("a PKI directory");
        let dir = pki.path();
        let ca = Ca::new(dir, "society-ca");
        let society = party_identity(dir, &ca, "society");
        let setup = serde_json::json!({
            "id": SOCIETY_USER,
            "code": kxd.code(SOCIETY_USER),
            "ca_pem": std::fs::read_to_string(&ca.identity.cert).expect("CA"),
            "certificate_pem": std::fs::read_to_string(&society.cert).expect("certificate"),
        });
        let done = kxd
            .bootstrap()
            .call("POST", "/api/v1/society-setup", Some(&setup))
            .expect(200);
        assert_eq!(done.json()["society"]["number"], SOCIETY);

        let (office_key, office_csr) = key_and_csr(dir, "office");
        let enrolment = serde_json::json!({
            "id": OFFICE_USER,
            "code": kxd.code(OFFICE_USER),
            "csr_pem": std::fs::read_to_string(dir.join(&office_csr)).expect("CSR"),
        });
        let ticket = kxd
            .bootstrap()
            .call("POST", "/api/v1/enrolments", Some(&enrolment))
            .expect(202);
        let request = ticket.json()["request"]
            .as_str()
            .expect("a request id")
            .to_owned();
        let society_client = kxd
            .api_client(Some(&society))
            .login(SOCIETY_USER, &kxd.password(SOCIETY_USER));
        society_client.replace_temporary_password(&kxd.password(SOCIETY_USER));
        let pending = society_client
            .get("/api/v1/society/certificate-requests")
            .expect(200)
            .json();
        let csr_pem = pending[0]["csr_pem"].as_str().expect("the CSR").to_owned();
        std::fs::write(dir.join("queued.csr"), csr_pem).expect("CSR written");
        let issued = ca.sign(dir, "queued.csr", "office", 1000);
        society_client
            .call(
                "POST",
                &format!("/api/v1/society/certificate-requests/{request}"),
                Some(&serde_json::json!({
                    "certificate_pem": std::fs::read_to_string(&issued).expect("issued"),
                })),
            )
            .expect(204);
        let office = Identity {
            cert: issued,
            key: office_key,
        };
        kxd.api_client(Some(&office))
            .login(OFFICE_USER, &kxd.password(OFFICE_USER))
            .replace_temporary_password(&kxd.password(OFFICE_USER));
        World {
            kxd,
            pki,
            ca,
            society,
            office,
            society_password: OWN_PASSWORD.into(),
            office_password: OWN_PASSWORD.into(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.pki.path()
    }

    pub fn society_client(&self) -> Client<'_> {
        self.society_client_on(self.kxd.api)
    }

    /// The society logged in through the api listener on `port` (another process's, a
    /// balancer's).
    pub fn society_client_on(&self, port: u16) -> Client<'_> {
        self.kxd
            .api_client_on(port, Some(&self.society))
            .login(SOCIETY_USER, &self.society_password)
    }

    pub fn office_client(&self) -> Client<'_> {
        self.office_client_on(self.kxd.api)
    }

    /// The office logged in through the api listener on `port`.
    pub fn office_client_on(&self, port: u16) -> Client<'_> {
        self.kxd
            .api_client_on(port, Some(&self.office))
            .login(OFFICE_USER, &self.office_password)
    }

    /// Writes `content` to a file and seals it from the office for the society.
    pub fn sealed_for_society(&self, name: &str, content: &[u8]) -> PathBuf {
        let plain = self.dir().join(name);
        std::fs::write(&plain, content).expect("plaintext written");
        seal(self.dir(), &plain, &self.office, &self.society.cert, name)
    }

    /// Writes `content` to a file and seals it from the society for the office.
    pub fn sealed_for_office(&self, name: &str, content: &[u8]) -> PathBuf {
        let plain = self.dir().join(name);
        std::fs::write(&plain, content).expect("plaintext written");
        seal(self.dir(), &plain, &self.society, &self.office.cert, name)
    }
}
