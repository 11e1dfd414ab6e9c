"""Interop tests run only inside a private network namespace whose one interface is `lo`.

Then every host candidate is 127.0.0.1 and nothing can reach the outside
network. scripts/test sets that up (`unshare --net`); to run on the host's
network anyway, set SKYLARK_INTEROP_ALLOW_HOST_NETWORK=1.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


def network_interfaces() -> list[str]:
    """Interfaces of this process's network namespace.

    /proc/self/net follows the namespace; /sys/class/net shows the one /sys was mounted in.
    """
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines if ":" in line)


def loopback_is_up() -> bool:
    """A UDP datagram to ourselves on 127.0.0.1 arrives only if `lo` is up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", 0))
            s.settimeout(1.0)
            s.sendto(b"lo?", s.getsockname())
            return s.recv(16) == b"lo?"
        except OSError:
            return False


@pytest.fixture(scope="session", autouse=True)
def private_loopback_network() -> None:
    if os.environ.get("SKYLARK_INTEROP_ALLOW_HOST_NETWORK") == "1":
        return
    interfaces = network_interfaces()
    if interfaces != ["lo"]:
        pytest.exit(
            f"interop tests must run in a network namespace with only `lo` (found: {', '.join(interfaces)}); "
            "use scripts/test, or: unshare --net sh -c 'ip link set lo up && exec .venv/bin/python -m pytest "
            "Tests/interop'  (SKYLARK_INTEROP_ALLOW_HOST_NETWORK=1 overrides)",
            returncode=3,
        )
    if not loopback_is_up():
        pytest.exit("loopback interface `lo` is down: run `ip link set lo up` first", returncode=3)
