# Prelude of every poplib script in tests/pop3.rs: argv is PORT CA_FILE; a script fills `out`.
import base64
import json
import poplib
import ssl
import sys

PORT = int(sys.argv[1])
CONTEXT = ssl.create_default_context(cafile=sys.argv[2])
out = {}


def connect():
    return poplib.POP3("127.0.0.1", PORT, timeout=10)


def tls():
    m = connect()
    m.stls(CONTEXT)
    return m


def login(user="alice", password=None):
    m = tls()
    m.user(user)
    m.pass_(password or user + "-pw")
    return m


def error(call, *args):
    """The -ERR line a call raised, or None if it succeeded."""
    try:
        call(*args)
    except poplib.error_proto as e:
        return e.args[0].decode()
    return None


def message(lines):
    """A multi-line response as the bytes the server stored (CRLF lines), in hex."""
    return (b"\r\n".join(lines) + b"\r\n").hex()


def plain(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()
