#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) for herald-mail's tests.

Usage: server.py OUT_DIR

Starts three listeners on 127.0.0.1, each with AUTH PLAIN/LOGIN that accepts only
herald@example.com / auth-code-123 (535 otherwise):
  plain     no TLS, AUTH allowed in clear        (security "none")
  starttls  STARTTLS required before AUTH/MAIL   (security "starttls")
  tls       TLS from the first byte              (security "tls")
The test CA and the server certificate (localhost, 127.0.0.1) are generated at start into OUT_DIR.

Each accepted message is saved as OUT_DIR/<listener>-<queue id>.eml with
OUT_DIR/<listener>-<queue id>.json: the envelope ("mail_from", "rcpt_tos") and the message as
Python's email parser decodes it ("from", "to", "subject", "message_id", "content_type", "text",
"html"). OUT_DIR/<listener>.connections holds how many SMTP connections said EHLO/HELO on that
listener. Recipients choose a failure:
  fail421@… → 421 at RCPT, fail451@… → 451 at RCPT, reject550@… → 550 at RCPT,
  spam@… → 554 at DATA, big552@… → 552 at DATA.
When ready it prints one JSON line: {"plain": port, "starttls": port, "tls": port, "ca": path}.
It runs until stdin closes or it is killed.
"""
import datetime
import email
import email.policy
import ipaddress
import json
import logging
import os
import socket
import ssl
import sys
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# aiosmtpd logs a warning about its own use of a deprecated attribute on every login.
logging.getLogger("mail.log").addFilter(lambda record: "login_data is deprecated" not in record.getMessage())

USER = b"herald@example.com"
PASSWORD = b"auth-code-123"
RCPT_REPLIES = {
    "fail421@example.com": "421 4.3.2 Service not available, closing channel",
    "fail451@example.com": "451 4.3.0 Temporary local problem, try again later",
    "reject550@example.com": "550 5.1.1 User unknown",
}
DATA_REPLIES = {
    "spam@example.com": "554 5.7.1 DT:SPM message rejected as spam",
    "big552@example.com": "552 5.3.4 Message size exceeds fixed limit",
}


def make_certs(out_dir):
    """Writes ca.pem, server.pem and server.key; returns (cert path, key path, CA path)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        sys.exit("tests/smtp/server.py needs the 'cryptography' package (installed with moto by scripts/test-deps.sh)")

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=7)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Herald test CA"))
        .issuer_name(name("Herald test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = [os.path.join(out_dir, n) for n in ("server.pem", "server.key", "ca.pem")]
    with open(paths[0], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths[1], "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    with open(paths[2], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    return paths


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER, PASSWORD)
    # handled=False: aiosmtpd itself answers 235, or 535 on failure.
    return AuthResult(success=ok, handled=False)


class Recorder:
    """Saves every accepted message and answers the configured failures."""

    def __init__(self, out_dir, listener):
        self.out_dir, self.listener = out_dir, listener
        self.lock = threading.Lock()
        self.sessions = 0

    def _write(self, name, data):
        tmp = os.path.join(self.out_dir, f".{uuid.uuid4().hex}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.out_dir, name))

    def _count(self, server):
        # One SMTP object per TCP connection (STARTTLS makes a new session, not a new object).
        if not getattr(server, "herald_counted", False):
            server.herald_counted = True
            with self.lock:
                self.sessions += 1
                self._write(f"{self.listener}.connections", str(self.sessions).encode())

    async def handle_HELO(self, server, session, envelope, hostname):
        self._count(server)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._count(server)
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = RCPT_REPLIES.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        for rcpt in envelope.rcpt_tos:
            reply = DATA_REPLIES.get(rcpt.lower())
            if reply:
                return reply
        queue_id = uuid.uuid4().hex[:12].upper()
        base = f"{self.listener}-{queue_id}"
        raw = envelope.original_content or envelope.content
        meta = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "listener": self.listener}
        meta.update(parse(raw))
        self._write(base + ".eml", raw)
        self._write(base + ".json", json.dumps(meta).encode())
        return f"250 2.0.0 OK queued as {queue_id}"


def parse(raw):
    """The headers and parts a test checks, decoded by Python's own MIME parser."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return {
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "content_type": msg.get_content_type(),
        "text": text.get_content() if text is not None else None,
        "html": html.get_content() if html is not None else None,
    }


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    cert, key, ca = make_certs(out_dir)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    common = dict(hostname="127.0.0.1", authenticator=authenticator, server_hostname="localhost")
    controllers = {
        "plain": Controller(Recorder(out_dir, "plain"), port=free_port(), auth_require_tls=False, **common),
        "starttls": Controller(
            Recorder(out_dir, "starttls"), port=free_port(), tls_context=server_ctx, require_starttls=True, **common
        ),
        # aiosmtpd does not see that an implicit-TLS connection is encrypted: allow AUTH explicitly.
        "tls": Controller(
            Recorder(out_dir, "tls"), port=free_port(), ssl_context=server_ctx, auth_require_tls=False, **common
        ),
    }
    for c in controllers.values():
        c.start()
    ready = {name: c.port for name, c in controllers.items()}
    ready["ca"] = ca
    print(json.dumps(ready), flush=True)
    try:
        sys.stdin.read()  # returns when the parent closes stdin or dies
    except KeyboardInterrupt:
        pass
    for c in controllers.values():
        c.stop()


if __name__ == "__main__":
    main()
