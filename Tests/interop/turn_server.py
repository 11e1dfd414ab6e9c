"""coturn (Debian's `turnserver`) on 127.0.0.1 with `use-auth-secret`, and a minimal TURN Allocate (RFC 8656 §7.1)
to ask it whether a username and password are good."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import socket
import struct
import subprocess
import time
from pathlib import Path

from skylark_server import free_port

MAGIC_COOKIE = 0x2112A442
ALLOCATE = 0x0003
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE, REQUESTED_TRANSPORT = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015, 0x0019


class Coturn:
    """One coturn process relaying between loopback addresses, checking REST credentials made from `secret`."""

    def __init__(self, tmp_dir: Path, secret: str = "turn-secret-for-tests") -> None:
        self.secret = secret
        self.realm = "skylark.test"
        self.port = free_port(socket.SOCK_DGRAM)
        self.log_path = tmp_dir / f"coturn-{self.port}.log"
        low = 40000 + (self.port % 200) * 100
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={self.port}",
             f"--min-port={low}", f"--max-port={low + 99}", "--use-auth-secret", f"--static-auth-secret={secret}",
             f"--realm={self.realm}", "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp-relay",
             "--log-file=stdout", "--simple-log", f"--pidfile={tmp_dir / f'coturn-{self.port}.pid'}"],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"turnserver exited ({self.process.returncode}):\n{self.log()}")
            if allocate("127.0.0.1", self.port, None, None)[0] == 401:
                return
            time.sleep(0.1)
        raise AssertionError(f"turnserver did not answer in 10 s:\n{self.log()}")

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _attribute(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def _attributes(message: bytes) -> dict[int, bytes]:
    found, offset = {}, 20
    while offset + 4 <= len(message):
        kind, length = struct.unpack_from("!HH", message, offset)
        found.setdefault(kind, message[offset + 4:offset + 4 + length])
        offset += 4 + length + (-length % 4)
    return found


def _request(sock: socket.socket, address: tuple[str, int], attributes: bytes, key: bytes | None) -> bytes:
    transaction = secrets.token_bytes(12)
    if key is not None:
        # MESSAGE-INTEGRITY over the message with its length already counting the 24-byte attribute (RFC 8489 §14.5).
        header = struct.pack("!HHI", ALLOCATE, len(attributes) + 24, MAGIC_COOKIE) + transaction
        attributes += _attribute(MESSAGE_INTEGRITY, hmac.new(key, header + attributes, hashlib.sha1).digest())
    sock.sendto(struct.pack("!HHI", ALLOCATE, len(attributes), MAGIC_COOKIE) + transaction + attributes, address)
    while True:
        response, _ = sock.recvfrom(2048)
        if response[8:20] == transaction:
            return response


def allocate(host: str, port: int, username: str | None, password: str | None) -> tuple[int, str]:
    """An Allocate for a UDP relay: (0, "") when it succeeds, else (error code, reason) as the server says."""
    transport = _attribute(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        try:
            first = _request(sock, (host, port), transport, None)
        except OSError:
            return -1, "no answer"
        if username is None or struct.unpack_from("!H", first)[0] == 0x0103:
            return _outcome(first)
        attributes = _attributes(first)
        realm, nonce = attributes.get(REALM, b""), attributes.get(NONCE, b"")
        key = hashlib.md5(f"{username}:{realm.decode()}:{password}".encode()).digest()  # RFC 8489 §9.2.2
        second = _request(sock, (host, port), _attribute(USERNAME, username.encode()) + _attribute(REALM, realm)
                          + _attribute(NONCE, nonce) + transport, key)
        return _outcome(second)


def _outcome(message: bytes) -> tuple[int, str]:
    if struct.unpack_from("!H", message)[0] == 0x0103:
        return 0, ""
    error = _attributes(message).get(ERROR_CODE, b"\0\0\0\0")
    return (error[2] & 0x07) * 100 + error[3], error[4:].decode(errors="replace")


def rest_credential(secret: str, user: str, expires_at: int) -> tuple[str, str]:
    """What the TURN REST convention makes: ("<expiry>:<user>", base64(HMAC-SHA1(secret, username)))."""
    import base64
    username = f"{expires_at}:{user}"
    return username, base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
