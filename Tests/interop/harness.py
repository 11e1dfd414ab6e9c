"""Runs two JSON-lines peers against each other (see peer_protocol.py).

    result = run_pair(Peer("aiortc", tone=440), Peer("chromium", recv=True))

starts the offerer and the answerer as subprocesses, relays the offer and the
answer between them, and collects both reports. Every step has a timeout; on
a protocol failure HarnessError carries both peers' stderr.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent

PEER_KINDS = ("aiortc", "chromium", "skylark")

OFFER_TIMEOUT = 45.0     # Chromium start-up plus ICE gathering
ANSWER_TIMEOUT = 45.0
REPORT_MARGIN = 45.0     # on top of --seconds and the peers' connect timeout
CONNECT_TIMEOUT = 20.0


class HarnessError(AssertionError):
    """A peer broke the protocol, timed out or could not be started."""


def skylark_peer_path() -> Path:
    """The skylark-peer binary: $SKYLARK_PEER, else .build/debug/skylark-peer."""
    configured = os.environ.get("SKYLARK_PEER")
    return Path(configured) if configured else REPO_ROOT / ".build" / "debug" / "skylark-peer"


def require_skylark_peer() -> Path:
    path = skylark_peer_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise HarnessError(
            f"skylark-peer binary not found or not executable at {path}; "
            "build it with `swift build --product skylark-peer` or set SKYLARK_PEER"
        )
    return path


@dataclass(frozen=True)
class Peer:
    kind: str
    tone: float | None = None
    recv: bool = False

    def __post_init__(self) -> None:
        if self.kind not in PEER_KINDS:
            raise ValueError(f"unknown peer kind {self.kind!r}; expected one of {PEER_KINDS}")

    def label(self) -> str:
        parts = [self.kind]
        if self.tone is not None:
            parts.append(f"tone={self.tone:g}")
        if self.recv:
            parts.append("recv")
        return "/".join(parts)

    def command(self, role: str, seconds: float, bind: str | None) -> list[str]:
        if self.kind == "skylark":
            cmd = [str(require_skylark_peer())]
        else:
            cmd = [sys.executable, str(HERE / f"{self.kind}_peer.py")]
        cmd += ["--role", role, "--seconds", f"{seconds:g}"]
        if self.tone is not None:
            cmd += ["--tone", f"{self.tone:g}"]
        if self.recv:
            cmd.append("--recv")
        if bind:
            cmd += ["--bind", bind]
        return cmd


class PeerProcess:
    """One peer subprocess: JSON lines out of stdout, stderr kept in a file."""

    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        self.command = command
        self.stderr_file = tempfile.TemporaryFile(mode="w+b")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.noise: list[str] = []
        try:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.stderr_file,
                text=True,
                bufsize=1,
                cwd=REPO_ROOT,
                start_new_session=True,  # own process group: browser children are cleaned up with it
            )
        except OSError as error:
            raise HarnessError(f"{name}: cannot start {command[0]}: {error}") from error
        self.reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def receive(self, expected_type: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise HarnessError(f"{self.name}: no {expected_type!r} within {timeout:g}s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=5)
                raise HarnessError(
                    f"{self.name}: exited (code {self.process.returncode}) before sending {expected_type!r}"
                )
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self.noise.append(line.rstrip("\n"))
                continue
            if not isinstance(message, dict) or message.get("type") != expected_type:
                raise HarnessError(f"{self.name}: expected {expected_type!r}, got {line.strip()[:200]}")
            return message

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise HarnessError(f"{self.name}: cannot write to stdin: {error}") from error

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """End the peer's whole process group (it was started in a session of its own)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            if self.wait(5) is None:
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.wait(5)
        else:
            # The leader exited; reap any children it left in its group.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stderr_text(self, limit: int = 6000) -> str:
        self.stderr_file.flush()
        self.stderr_file.seek(0)
        data = self.stderr_file.read().decode("utf-8", "replace")
        return data if len(data) <= limit else "...\n" + data[-limit:]

    def close(self) -> None:
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        self.stderr_file.close()


@dataclass
class PairResult:
    offerer: Peer
    answerer: Peer
    offerer_report: dict
    answerer_report: dict
    offerer_exit: int | None
    answerer_exit: int | None
    offer_sdp: str
    answer_sdp: str
    duration: float
    stderr: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """Both reports and stderr tails, for assertion messages."""
        return "\n".join(
            [
                f"offerer {self.offerer.label()} exit={self.offerer_exit} report={json.dumps(self.offerer_report)}",
                f"answerer {self.answerer.label()} exit={self.answerer_exit} report={json.dumps(self.answerer_report)}",
                *(f"--- {name} stderr ---\n{text}" for name, text in self.stderr.items() if text.strip()),
            ]
        )


def run_pair(
    offerer: Peer,
    answerer: Peer,
    seconds: float = 3.0,
    bind: str | None = "127.0.0.1",
) -> PairResult:
    """Connect `offerer` to `answerer`, run media for `seconds`, return both reports."""
    started = time.monotonic()
    # Build both commands first so a missing binary fails before anything starts.
    offerer_cmd = offerer.command("offerer", seconds, bind)
    answerer_cmd = answerer.command("answerer", seconds, bind)
    procs: list[PeerProcess] = []
    try:
        off = PeerProcess(f"offerer({offerer.label()})", offerer_cmd)
        procs.append(off)
        ans = PeerProcess(f"answerer({answerer.label()})", answerer_cmd)
        procs.append(ans)

        offer = off.receive("offer", OFFER_TIMEOUT)
        ans.send(offer)
        answer = ans.receive("answer", ANSWER_TIMEOUT)
        off.send(answer)

        report_timeout = seconds + CONNECT_TIMEOUT + REPORT_MARGIN
        deadline = time.monotonic() + report_timeout
        off_report = off.receive("report", report_timeout)
        ans_report = ans.receive("report", max(1.0, deadline - time.monotonic()))
        off_exit = off.wait(15)
        ans_exit = ans.wait(15)
        return PairResult(
            offerer=offerer,
            answerer=answerer,
            offerer_report=off_report,
            answerer_report=ans_report,
            offerer_exit=off_exit,
            answerer_exit=ans_exit,
            offer_sdp=offer.get("sdp", ""),
            answer_sdp=answer.get("sdp", ""),
            duration=time.monotonic() - started,
            stderr={p.name: p.stderr_text() for p in procs},
        )
    except HarnessError as error:
        for p in procs:
            p.kill()
        details = "\n".join(f"--- {p.name} stderr ---\n{p.stderr_text()}" for p in procs)
        noise = "\n".join(f"--- {p.name} non-JSON stdout ---\n" + "\n".join(p.noise) for p in procs if p.noise)
        raise HarnessError(f"{error}\n{details}\n{noise}".rstrip()) from None
    finally:
        for p in procs:
            p.kill()
            p.close()


# Assertions shared by the tests.

FREQUENCY_TOLERANCE_HZ = 10.0
MIN_LEVEL = 0.01


def assert_connected(result: PairResult) -> None:
    for role, report, code in (
        ("offerer", result.offerer_report, result.offerer_exit),
        ("answerer", result.answerer_report, result.answerer_exit),
    ):
        assert report.get("connected") is True, f"{role} did not connect\n{result.describe()}"
        assert code == 0, f"{role} exited with {code}\n{result.describe()}"


def assert_received_tone(result: PairResult, role: str, tone: float) -> None:
    """The peer in `role` received `tone` Hz: packets, bytes, level and frequency."""
    report = result.offerer_report if role == "offerer" else result.answerer_report
    received = report.get("received", {})
    context = f"{role} receiving {tone:g} Hz\n{result.describe()}"
    assert received.get("packets", 0) > 0, f"no packets: {context}"
    assert received.get("bytes", 0) > 0, f"no bytes: {context}"
    assert received.get("level", 0.0) > MIN_LEVEL, f"level {received.get('level')} <= {MIN_LEVEL}: {context}"
    frequency = received.get("frequency", 0.0)
    assert abs(frequency - tone) <= FREQUENCY_TOLERANCE_HZ, f"frequency {frequency:.1f} Hz: {context}"


def assert_sent(result: PairResult, role: str) -> None:
    report = result.offerer_report if role == "offerer" else result.answerer_report
    assert report.get("sent", {}).get("packets", 0) > 0, f"{role} sent no packets\n{result.describe()}"
