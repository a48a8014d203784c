//! Hostile clients on the wire against the real `kxd` (issue 12, findings 3–5): over-long
//! lines that try to smuggle a command, commands and bodies trickled a byte at a time, and
//! one address trying to take every place on a listener. The clients are Python sockets for
//! what no well-behaved client sends, and `smtplib`, `poplib` and `http.client` for the
//! ordinary client that must be served meanwhile.

use std::sync::LazyLock;

use kx_testkit::office::{self, MASTER_ID, MASTER_PASSWORD};
use kx_testkit::{Installation, Python, Server};
use serde_json::{Value, json};

/// One served installation with the office and its master account.
struct Kxd {
    server: Server,
    installation: Installation,
}

impl Kxd {
    /// `kxd init` (SMTP, POP3, HTTPS, passwords without TLS) with `settings` replacing lines
    /// of `kxd.toml`, then `kxd serve`.
    fn start(settings: &[(&str, &str)]) -> Kxd {
        let (installation, server) = office::serve(env!("CARGO_BIN_EXE_kxd"), settings);
        Kxd {
            server,
            installation,
        }
    }

    /// Runs `script` after [`PRELUDE`]; the JSON of the `out` object it fills.
    fn python(&self, script: &str) -> Value {
        let ports = json!({
            "smtp": self.server.port("smtp"),
            "pop3": self.server.port("pop3"),
            "https": self.server.port("https"),
        });
        let output = Python::new(format!("{PRELUDE}\n{script}\nprint(json.dumps(out))\n"))
            .arg(ports.to_string())
            .arg(self.installation.ca())
            .arg(MASTER_ID)
            .arg(MASTER_PASSWORD)
            .output();
        assert!(
            output.status.success(),
            "python failed:\n{}\nkxd.log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.installation.log()
        );
        serde_json::from_slice(&output.stdout).expect("the script prints JSON")
    }
}

/// Deadlines short enough to be missed within a test: a command line in 2 s, a transfer at
/// 5 bytes/s over 2-second windows, an HTTPS body in 6 s. Shared by the tests that do not
/// fill a listener.
static IMPATIENT: LazyLock<Kxd> = LazyLock::new(|| {
    Kxd::start(&[
        ("command_timeout = 30", "command_timeout = 2"),
        ("min_transfer_rate = 1024", "min_transfer_rate = 5"),
        ("transfer_rate_window = 30", "transfer_rate_window = 2"),
        ("request_body_timeout = 3000", "request_body_timeout = 6"),
    ])
});

/// Connections, line reading and trickling, for every script.
const PRELUDE: &str = r#"
import base64, collections, http.client, json, poplib, smtplib, socket, ssl, sys, time

PORTS = json.loads(sys.argv[1])
CONTEXT = ssl.create_default_context(cafile=sys.argv[2])
USER, PASSWORD = sys.argv[3], sys.argv[4]
PLAIN = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
out = {}


class Conn:
    """One connection from `source`; lines read with a deadline, what happened instead named."""

    def __init__(self, listener, source="127.0.0.1", tls=False):
        self.sock = socket.create_connection(
            ("127.0.0.1", PORTS[listener]), timeout=10, source_address=(source, 0))
        self.buf = b""
        # A TLS connection turned away is closed before the handshake ends.
        self.handshake = "(no TLS)"
        if tls:
            try:
                self.sock = CONTEXT.wrap_socket(self.sock, server_hostname="127.0.0.1")
                self.handshake = "(handshake)"
            except (ssl.SSLError, ConnectionResetError):
                self.handshake = "(closed)"

    def line(self, timeout=10):
        if self.handshake == "(closed)":
            return "(closed)"
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except socket.timeout:
                return "(no answer)"
            except (ConnectionResetError, ssl.SSLError):
                return "(closed)"
            if not chunk:
                return "(closed)"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("latin-1").rstrip("\r")

    def reply(self):
        """The last line of an SMTP reply."""
        while True:
            line = self.line()
            if line[3:4] != "-":
                return line

    def send(self, data):
        """Sends `data`; false when the server has closed the connection."""
        try:
            self.sock.sendall(data.encode() if isinstance(data, str) else data)
            return True
        except OSError:
            return False

    def rest(self):
        """The lines up to the end of the connection; what ended it last."""
        lines = [self.line()]
        while lines[-1] not in ("(closed)", "(no answer)"):
            lines.append(self.line())
        return lines

    def trickle(self, label, data, every, meanwhile=None, wait=10):
        """Sends `data` a byte every `every` seconds until the server answers; after the first
        byte, runs `meanwhile` (another client's business). What the server said; after how
        many seconds goes to `out["seconds"][label]`."""
        start = time.time()
        answer = "(no answer)"
        for i, byte in enumerate(data.encode()):
            if not self.send(bytes([byte])):
                break
            if i == 0 and meanwhile:
                meanwhile()
            answer = self.line(timeout=every)
            if answer != "(no answer)":
                break
        else:
            answer = self.line(timeout=wait)
        out.setdefault("seconds", {})[label] = round(time.time() - start, 1)
        return answer


def smtp_served():
    s = smtplib.SMTP("127.0.0.1", PORTS["smtp"], timeout=10)
    code = s.noop()[0]
    s.quit()
    return code


def pop3_served():
    p = poplib.POP3("127.0.0.1", PORTS["pop3"], timeout=10)
    p.user(USER)
    answer = p.pass_(PASSWORD).decode()
    p.quit()
    return answer.split(" ")[0]


def https_served():
    c = http.client.HTTPSConnection("127.0.0.1", PORTS["https"], context=CONTEXT, timeout=10)
    c.request("GET", "/password")
    status = c.getresponse().status
    c.close()
    return status
"#;

#[test]
fn an_over_long_line_is_answered_once_and_its_tail_is_no_command() {
    let out = IMPATIENT.python(
        r#"
s = Conn("smtp")
replies = [s.reply()]
s.send("EHLO client.test\r\n")
replies.append(s.reply())
# Each over-long line comes in two writes, the first one exactly as long as the limit, so that
# the second starts where a receiver that forgets the line would begin a new command.
# An AUTH continuation (limit 2050 with CRLF), its tail looking like commands:
s.send("AUTH PLAIN\r\n")
replies.append(s.reply())
s.send("A" * 2050)
time.sleep(0.3)
s.send("QUIT\r\nNOOP\r\n")
replies.append(s.reply())
replies.append(s.reply())
s.send("AUTH PLAIN %s\r\nMAIL FROM:<%s@denso.test.kokuho>\r\n" % (PLAIN, USER))
replies.append(s.reply())
replies.append(s.reply())
# A command line (limit 4096) whose tail is `RSET`, which would drop the envelope, and the
# recipient after it would be refused.
s.send("x" * 4096)
time.sleep(0.3)
s.send("RSET\r\nRCPT TO:<transmit@denso.test.kokuho>\r\nQUIT\r\n")
replies.extend([s.reply(), s.reply(), s.reply(), s.line()])
out["smtp"] = replies

p = Conn("pop3")
replies = [p.line()]
# A POP3 command (limit 255; the CR would be the 255th byte) whose tail is `QUIT`.
p.send("USER " + "a" * 249)
time.sleep(0.3)
p.send("QUIT\r\nNOOP\r\n")
replies.extend([p.line(), p.line()])
out["pop3"] = replies
"#,
    );
    let smtp = [
        "220 denso.test.kokuho ESMTP kxd",
        "250 AUTH PLAIN LOGIN",
        "334 ",
        "500 5.5.6 Authentication line too long",
        // The AUTH exchange is over, the session back where it began: NOOP is a command.
        "250 2.0.0 OK",
        "235 2.7.0 Authentication successful",
        "250 2.1.0 Sender OK",
        "500 5.5.2 Line too long",
        "250 2.1.5 Recipient OK",
        "221 2.0.0 Bye",
        "(closed)",
    ];
    let pop3 = [
        "+OK kxd POP3 server ready",
        "-ERR Line too long",
        "-ERR Not authenticated",
    ];
    assert_eq!(out, json!({"smtp": smtp, "pop3": pop3}));
}

/// Runs `script` against [`IMPATIENT`] and compares what it found with `expected`. The seconds
/// it measured until a client was cut off go to the test's output, never into an assertion:
/// machines differ.
fn against_impatient(what: &str, script: &str, expected: Value) {
    let mut out = IMPATIENT.python(script);
    if let Some(seconds) = out.as_object_mut().and_then(|o| o.remove("seconds")) {
        eprintln!("{what}: seconds until cut off {seconds}");
    }
    assert_eq!(out, expected);
}

#[test]
fn a_trickled_command_misses_its_deadline_while_others_are_served() {
    let expected = json!({
        "smtp": "421 4.4.2 Command not completed in time, closing",
        "smtp_after": "(closed)",
        "pop3": "-ERR Command not completed in time, closing",
        "pop3_after": "(closed)",
        "served": {"smtp": 250, "pop3": "+OK"},
    });
    against_impatient(
        "trickled commands",
        r#"
served = {}
s = Conn("smtp")
s.reply()
out["smtp"] = s.trickle("smtp", "NOOP " + "x" * 15 + "\r\n", 1,
                        meanwhile=lambda: served.update(smtp=smtp_served()))
out["smtp_after"] = s.line()
p = Conn("pop3")
p.line()
out["pop3"] = p.trickle("pop3", "USER " + "a" * 15 + "\r\n", 1,
                        meanwhile=lambda: served.update(pop3=pop3_served()))
out["pop3_after"] = p.line()
out["served"] = served
"#,
        expected,
    );
}

#[test]
fn message_data_below_the_minimum_rate_is_cut_off() {
    let expected = json!({
        "envelope": [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "354 Start mail input; end with <CRLF>.<CRLF>",
        ],
        "data": "421 4.4.2 Message data too slow, closing",
        "after": "(closed)",
        "served": {"smtp": 250},
    });
    against_impatient(
        "trickled message",
        r#"
s = Conn("smtp")
s.reply()
s.send("EHLO client.test\r\nAUTH PLAIN %s\r\n" % PLAIN)
s.reply()
s.reply()
s.send("MAIL FROM:<%s@denso.test.kokuho>\r\nRCPT TO:<transmit@denso.test.kokuho>\r\nDATA\r\n"
       % USER)
out["envelope"] = [s.reply(), s.reply(), s.reply()]
served = {}
out["data"] = s.trickle("data", "Subject: slow\r\n\r\nslow\r\n", 1,
                        meanwhile=lambda: served.update(smtp=smtp_served()))
out["after"] = s.line()
out["served"] = served
"#,
        expected,
    );
}

#[test]
fn a_trickled_request_body_is_cut_off_while_others_are_served() {
    let expected = json!({
        "slow": "HTTP/1.1 408 Request Timeout",
        "slow_after": "(closed)",
        "long": "HTTP/1.1 408 Request Timeout",
        "served": {"https": 200},
    });
    against_impatient(
        "trickled bodies",
        r#"
def post(length):
    c = Conn("https", tls=True)
    c.send("POST /password HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Content-Type: application/x-www-form-urlencoded\r\n"
           "Content-Length: %d\r\n\r\n" % length)
    return c

served = {}
# A byte every two seconds: below the floor in the first window.
c = post(100)
out["slow"] = c.trickle("slow", "a" * 12, 2,
                        meanwhile=lambda: served.update(https=https_served()))
out["slow_after"] = c.rest()[-1]

# Fast enough for the floor, but a body of 2000 bytes at 40 bytes/s outlasts the deadline.
c = post(2000)
start = time.time()
for _ in range(40):
    if not c.send("a" * 20):
        break
    out["long"] = c.line(timeout=0.5)
    if out["long"] != "(no answer)":
        break
out["seconds"]["long"] = round(time.time() - start, 1)
out["served"] = served
"#,
        expected,
    );
}

#[test]
fn one_address_cannot_take_every_place_on_a_listener() {
    // Room for 25 connections in all on each listener; one address may hold 20 of them.
    let kxd = Kxd::start(&[("max_connections = 1000", "max_connections = 25")]);
    let out = kxd.python(
        r#"
def greetings(listener, tls=False):
    held = [Conn(listener, tls=tls) for _ in range(25)]
    return held, [c.handshake if tls else c.line(timeout=2) for c in held]

held = {}
for listener in ("smtp", "pop3"):
    held[listener], said = greetings(listener)
    out[listener] = collections.Counter(line[:4] for line in said)
    out[listener + "_refusal"] = said[-1]
held["https"], said = greetings("https", tls=True)
out["https"] = collections.Counter(said)

other = Conn("smtp", source="127.0.0.2")
out["other_smtp"] = [other.reply()]
other.send("EHLO other.test\r\n")
out["other_smtp"].append(other.reply())
other = Conn("pop3", source="127.0.0.2")
out["other_pop3"] = [other.line()]
other.send("CAPA\r\n")
out["other_pop3"].append(other.line())
other = Conn("https", source="127.0.0.2", tls=True)
other.send("GET /password HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
out["other_https"] = other.line()
"#,
    );
    let expected = json!({
        "smtp": {"220 ": 20, "421 ": 5},
        "smtp_refusal": "421 4.7.0 Too many connections, try again later",
        "pop3": {"+OK ": 20, "-ERR": 5},
        "pop3_refusal": "-ERR [SYS/TEMP] Too many connections, try again later",
        // Turned away without a word: the client expects a TLS handshake.
        "https": {"(handshake)": 20, "(closed)": 5},
        "other_smtp": ["220 denso.test.kokuho ESMTP kxd", "250 AUTH PLAIN LOGIN"],
        "other_pop3": ["+OK kxd POP3 server ready", "+OK Capability list follows"],
        "other_https": "HTTP/1.1 200 OK",
    });
    assert_eq!(out, expected);
}
