"""IPv6: a server on ::1 only, a dual-stack one on [::] serving IPv4 and IPv6 clients at once, and the addresses
its answers announce (RFC 8866 §5.7 `c=IN IP6`, RFC 8839 candidates), with aiortc as the clients."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

import whip_clients
from aiortc_peer import restrict_host_candidates
from skylark_server import SkylarkServer, skylark_binary
from test_server_media import assert_heard


@pytest.fixture
def on_ipv6_loopback():
    """aiortc gathers its host candidate on ::1 inside the test, and on 127.0.0.1 again after it."""
    restrict_host_candidates("::1")
    yield
    restrict_host_candidates("127.0.0.1")


async def hang_up(*clients) -> None:
    for client in clients:
        assert await client.delete() == 200
        await client.close()


def run(server, scenario) -> None:
    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def answer_lines(client, prefix: str) -> list[str]:
    return [line for line in client.pc.remoteDescription.sdp.splitlines() if line.startswith(prefix)]


def test_an_ipv6_only_server_relays_over_ipv6(tmp_path, on_ipv6_loopback):
    server = SkylarkServer(extra_args=["--open-streams", "on"], http_host="::1", udp_host="::1").start(tmp_path)

    async def scenario():
        publisher = await whip_clients.publisher(server, "six", 523.25)
        viewer = await whip_clients.viewer(server, "six")
        await asyncio.gather(publisher.wait_connected(10), viewer.wait_connected(10))
        await asyncio.sleep(2.5)
        assert_heard(viewer, 523.25, "the IPv6 viewer")
        for client in (publisher, viewer):
            assert answer_lines(client, "c=") == ["c=IN IP6 ::1"]
            candidates = answer_lines(client, "a=candidate:")
            assert candidates and all(" ::1 " in line for line in candidates), candidates
        # The HTTP side is on ::1 too.
        assert server.streams() == [{"name": "six", "publishing": True, "viewers": 1, "video": False}]
        await hang_up(viewer, publisher)

    run(server, scenario)


def test_a_dual_stack_server_serves_ipv4_and_ipv6_clients_on_one_port(tmp_path):
    server = SkylarkServer(extra_args=["--open-streams", "on"], udp_host="::").start(tmp_path)

    async def scenario():
        restrict_host_candidates("::1")
        try:
            publisher = await whip_clients.publisher(server, "both", 440)
        finally:
            restrict_host_candidates("127.0.0.1")
        viewer = await whip_clients.viewer(server, "both")
        await asyncio.gather(publisher.wait_connected(10), viewer.wait_connected(10))
        await asyncio.sleep(2.5)
        # Published over IPv6, heard over IPv4.
        assert_heard(viewer, 440, "the IPv4 viewer of an IPv6 publisher")
        candidates = answer_lines(viewer, "a=candidate:")
        assert any(" 127.0.0.1 " in line for line in candidates) and any(" ::1 " in line for line in candidates), candidates
        assert f":{server.udp_port}" in server.log() and "candidates carry this machine's own addresses" in server.log()
        await hang_up(viewer, publisher)

    run(server, scenario)


def test_announce_takes_host_names(tmp_path):
    server = SkylarkServer(extra_args=["--open-streams", "on", "--announce", "localhost"]).start(tmp_path)

    async def scenario():
        viewer = await whip_clients.viewer(server, "named")
        candidates = answer_lines(viewer, "a=candidate:")
        assert any(" 127.0.0.1 " in line for line in candidates), candidates
        assert "announced name resolved" in server.log() and "name=localhost" in server.log()
        await viewer.close()

    run(server, scenario)
    done = subprocess.run([str(skylark_binary()), "serve", "--announce", "no-such-host.invalid", "--database",
                           str(tmp_path / "x.sqlite")], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "--announce no-such-host.invalid: the name does not resolve" in done.stderr
    done = subprocess.run([str(skylark_binary()), "serve", "--announce", "not a name!"], capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "IP address or a host name" in done.stderr
