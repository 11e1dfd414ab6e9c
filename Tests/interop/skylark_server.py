"""Starts and stops a `skylark serve` for end-to-end tests, and talks WHIP/WHEP to it."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def skylark_binary() -> Path:
    path = Path(os.environ.get("SKYLARK_SERVER", ROOT / ".build" / "debug" / "skylark"))
    if not os.access(path, os.X_OK):
        raise AssertionError(
            f"skylark binary not found or not executable at {path}; build it with "
            "`swift build --product skylark` or set SKYLARK_SERVER"
        )
    return path


def bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    # Every header line in order, for headers sent more than once (Link).
    header_lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def headers_all(self, name: str) -> list[str]:
        return [value for key, value in self.header_lines if key.lower() == name.lower()]


@dataclass
class SkylarkServer:
    """One running server with its own HTTP and UDP ports, on 127.0.0.1 unless told otherwise (an IPv6 host
    such as "::1" or "::" is written in brackets)."""

    extra_args: list[str] = field(default_factory=list)
    database: Path | None = None
    http_port: int = 0
    udp_port: int = 0
    http_host: str = "127.0.0.1"
    udp_host: str = "127.0.0.1"
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def start(self, tmp_dir: Path, keep_ports: bool = False) -> "SkylarkServer":
        if not keep_ports or not self.http_port:
            self.http_port = free_port(socket.SOCK_STREAM)
            self.udp_port = free_port(socket.SOCK_DGRAM)
        if self.database is None:
            self.database = tmp_dir / f"skylark-{self.http_port}.sqlite"
        self.log_path = tmp_dir / f"skylark-{self.http_port}.log"
        offset = len(self.log())
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [str(skylark_binary()), "serve", "--http", f"{bracketed(self.http_host)}:{self.http_port}",
             "--udp", f"{bracketed(self.udp_host)}:{self.udp_port}", "--web-root", str(ROOT / "public"),
             "--database", str(self.database), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"skylark exited at start ({self.process.returncode}):\n{self.log()}")
            if "Skylark is running" in self.log()[offset:]:
                return self
            time.sleep(0.05)
        raise AssertionError(f"skylark did not start in 20 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    @property
    def base_url(self) -> str:
        return f"http://{bracketed(self.http_host)}:{self.http_port}"

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float = 10) -> Response:
        if isinstance(body, str):
            body = body.encode()
        connection = http.client.HTTPConnection(self.http_host, self.http_port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            lines = response.getheaders()
            return Response(response.status, dict(lines), response.read(), lines)
        finally:
            connection.close()

    def post_offer(self, path: str, sdp: str, token: str | None = None) -> Response:
        headers = {"Content-Type": "application/sdp"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", path, sdp, headers)

    def streams(self) -> list[dict]:
        import json
        return json.loads(self.request("GET", "/streams").body)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None
