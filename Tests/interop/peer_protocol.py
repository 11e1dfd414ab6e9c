"""The JSON-lines contract every interop peer follows (same as skylark-peer).

    PEER --role offerer|answerer [--tone HZ] [--recv] [--seconds N] [--bind ADDR]

offerer: prints {"type":"offer","sdp":...}, reads {"type":"answer","sdp":...}.
answerer: reads {"type":"offer",...}, prints {"type":"answer",...}.
Candidates are embedded in the SDP (no trickle). After connecting, media runs
for --seconds, then {"type":"report",...} is printed and the peer exits 0 if it
connected, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import sys


def parse_args(description: str, argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--role", choices=("offerer", "answerer"), required=True)
    p.add_argument("--tone", type=float, default=None, metavar="HZ", help="send a sine tone at HZ via Opus")
    p.add_argument("--recv", action="store_true", help="receive and analyse audio")
    p.add_argument("--seconds", type=float, default=3.0, help="media duration after connecting")
    p.add_argument("--bind", default=None, metavar="ADDR", help="only gather host candidates on ADDR")
    p.add_argument("--connect-timeout", type=float, default=20.0, help="give up connecting after this many seconds")
    return p.parse_args(argv)


def direction(args: argparse.Namespace) -> str:
    """Transceiver direction implied by --tone / --recv."""
    send = args.tone is not None
    if send and args.recv:
        return "sendrecv"
    if send:
        return "sendonly"
    if args.recv:
        return "recvonly"
    return "inactive"


def write_message(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read_message(expected_type: str) -> dict:
    """Read one JSON line from stdin; raise if it is missing or of the wrong type."""
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError(f"stdin closed while waiting for {expected_type!r}")
    message = json.loads(line)
    if message.get("type") != expected_type:
        raise RuntimeError(f"expected {expected_type!r}, got {message.get('type')!r}")
    return message


def empty_report() -> dict:
    return {
        "type": "report",
        "connected": False,
        "iceState": "new",
        "connectionState": "new",
        "received": {"packets": 0, "bytes": 0, "frequency": 0.0, "level": 0.0},
        "sent": {"packets": 0},
    }
