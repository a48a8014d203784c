# Prelude of every Python script in tests/gateway.rs. argv: SMTP_PORT POP3_PORT CA_FILE KXD_PID.
# A script fills `out`; the runner prints it as JSON. Binary data travels as Base64.
import base64
import email
import json
import os
import poplib
import re
import signal
import smtplib
import ssl
import sys
from xml.etree import ElementTree

SMTP_PORT, POP3_PORT = int(sys.argv[1]), int(sys.argv[2])
CONTEXT = ssl.create_default_context(cafile=sys.argv[3])
KXD_PID = int(sys.argv[4])
out = {}


def smtp(user, password):
    """A submission session after STARTTLS and one AUTH PLAIN attempt (smtplib's login() would
    try several mechanisms, and every try counts towards the lock-out)."""
    s = smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30)
    s.starttls(context=CONTEXT)
    s.ehlo()
    s.user, s.password = user, password
    s.auth("PLAIN", s.auth_plain)
    return s


def submit(s, sender, to, message):
    """One mail transaction: [code, text] of the first refusal, or of the answer to DATA."""
    for step in (lambda: s.mail(sender), lambda: s.rcpt(to)):
        code, text = step()
        if code != 250:
            s.rset()
            return [code, text.decode()]
    code, text = s.data(base64.b64decode(message))
    return [code, text.decode()]


def send(user, password, messages):
    """Submits each (sender, recipient, message) in one session as `user`: their answers."""
    s = smtp(user, password)
    answers = [submit(s, sender, to, message) for sender, to, message in messages]
    s.quit()
    return answers


def smtp_auth(user, password):
    """The reply code of one AUTH PLAIN attempt on a new connection."""
    try:
        smtp(user, password).quit()
        return 235
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code


def pop(user, password, secure=True):
    """A POP3 session after STLS (unless not `secure`) and USER/PASS."""
    m = poplib.POP3("127.0.0.1", POP3_PORT, timeout=30)
    if secure:
        m.stls(CONTEXT)
    m.user(user)
    m.pass_(password)
    return m


def pop_login(user, password, secure=True):
    """"+OK" when the login succeeds, else the server's -ERR line."""
    try:
        pop(user, password, secure).quit()
        return "+OK"
    except poplib.error_proto as e:
        return e.args[0].decode()


def unfold(value):
    """A header value unfolded and trimmed around commas, as spec section 6 tells readers."""
    return ",".join(part.strip() for part in re.sub(r"\r?\n[ \t]+", " ", value).split(","))


def text(part):
    """A part's content decoded with its declared charset, with LF line ends."""
    data = part.get_payload(decode=True)
    return data.decode(part.get_content_charset() or "us-ascii").replace("\r\n", "\n")


def parse(raw):
    """A retrieved message as Python's email package reads it."""
    msg = email.message_from_bytes(raw)
    parts = [p for p in msg.walk() if not p.is_multipart()]
    bodies = [p for p in parts if p.get_filename() is None]
    attachments = [p for p in parts if p.get_filename() is not None]
    return {
        "raw": base64.b64encode(raw).decode(),
        "headers": {name: unfold(value) for name, value in msg.items()},
        "content_type": msg.get_content_type(),
        "body": text(bodies[0]) if bodies else None,
        "attachments": [attachment(p) for p in attachments],
    }


def attachment(part):
    """A file part: its name, its bytes, for a .txt (TransmitInfo.txt, CsvErr.txt: spec
    section 6.2) its text, which is Shift_JIS, and for TransmitInfo.txt what its XML says."""
    name, data = part.get_filename(), part.get_payload(decode=True)
    text = data.decode("shift_jis") if name.lower().endswith(".txt") else None
    return {
        "name": name,
        "data": base64.b64encode(data).decode(),
        "text": text,
        "transmit_info": transmit_info(text) if name == "TransmitInfo.txt" else None,
    }


def transmit_info(text):
    """Each 受付情報 as {element: value}, and how many エラー情報 there are. expat reads no
    Shift_JIS, so the decoded text is parsed without its XML declaration."""
    root = ElementTree.fromstring(text.split("?>", 1)[1])
    return {
        "receipts": [{e.tag: e.text for e in r} for r in root.iter("受付情報")],
        "errors": len(list(root.iter("エラー情報"))),
    }


def mailbox(user, password):
    """Every message in the mailbox, oldest first; nothing is deleted."""
    m = pop(user, password)
    count = m.stat()[0]
    mails = [parse(b"\r\n".join(m.retr(n)[1]) + b"\r\n") for n in range(1, count + 1)]
    m.quit()
    return mails


def delete_all(user, password):
    """Marks every message deleted and commits with QUIT; how many there were."""
    m = pop(user, password)
    count = m.stat()[0]
    for n in range(1, count + 1):
        m.dele(n)
    m.quit()
    return count


def run_streams(stream, streams):
    """Runs stream(*args) for every args in `streams`, each in its own thread; waits for all."""
    import threading
    threads = [threading.Thread(target=stream, args=a) for a in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
