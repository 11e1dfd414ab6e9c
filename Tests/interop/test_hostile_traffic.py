"""Hostile traffic against a live publisher→viewer pair: datagrams forged from the pair's own addresses.

On UDP a source address costs nothing to forge. Whatever the clients did not send — SRTP/SRTCP with their SSRCs
and garbage tags, DTLS records of every kind, ClientHellos, STUN checks that fail MESSAGE-INTEGRITY or
FINGERPRINT, garbage — must be dropped and counted while the viewer keeps hearing the publisher.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import audio_analysis
import whip_clients
from skylark_server import SkylarkServer

ADMIN = "admin-secret-for-hostile-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
FORGER = Path(__file__).resolve().parent / "datagram_forger.py"
ATTACK_SECONDS = 6
RATE = 20_000  # forged datagrams per second, 400 times the publisher's packet rate


@pytest.fixture
def server(tmp_path):
    server = SkylarkServer(extra_args=["--admin-token", ADMIN]).start(tmp_path)
    yield server
    server.stop()


def sessions(server) -> dict[str, dict]:
    response = server.request("GET", "/api/sessions", None, AUTH)
    assert response.status == 200, response.text
    return {session["role"]: session for session in json.loads(response.body)}


def drops(server) -> dict[str, int]:
    text = server.request("GET", "/metrics").text
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'^skylark_dropped_datagrams_total\{reason="(\w+)"\} (\d+)$', text, re.M)}


def sdp_value(sdp: str, name: str) -> str:
    match = re.search(rf"^a={name}:(\S+)", sdp, re.M)
    assert match, f"no a={name} in\n{sdp}"
    return match.group(1)


def target(name: str, client, session: dict) -> dict:
    local, remote = client.pc.localDescription.sdp, client.pc.remoteDescription.sdp
    return {"name": name, "port": int(session["remoteAddress"].rsplit(":", 1)[1]),
            "client_ufrag": sdp_value(local, "ice-ufrag"), "server_ufrag": sdp_value(remote, "ice-ufrag"),
            "server_password": sdp_value(remote, "ice-pwd")}


def test_forged_datagrams_from_the_pairs_addresses_change_nothing(server):
    async def scenario():
        publisher = await whip_clients.publisher(server, "live", 440)
        viewer = await whip_clients.viewer(server, "live")
        await publisher.wait_connected()
        await viewer.wait_connected()
        await asyncio.sleep(1)
        before = sessions(server)
        assert set(before) == {"publisher", "viewer"} and all(s["connected"] for s in before.values()), before
        dropped_before = drops(server)
        plan = {"server_port": server.udp_port, "seconds": ATTACK_SECONDS, "rate": RATE,
                "targets": [target("publisher", publisher, before["publisher"]),
                            target("viewer", viewer, before["viewer"])]}
        forger = subprocess.Popen([sys.executable, str(FORGER), json.dumps(plan)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        # What the viewer decoded, in half-second windows, from the moment the flood could start.
        windows: list[np.ndarray] = []
        seen = len(viewer.collector.chunks)
        started = time.monotonic()
        while forger.poll() is None and time.monotonic() - started < ATTACK_SECONDS + 15:
            await asyncio.sleep(0.5)
            chunks = viewer.collector.chunks
            windows.append(np.concatenate(chunks[seen:]) if len(chunks) > seen else np.zeros(0))
            seen = len(chunks)
        out, err = forger.communicate(timeout=10)
        assert forger.returncode == 0, f"forger failed: {out} {err}"
        report = json.loads(out.strip().splitlines()[-1])
        assert report["total"] > RATE * ATTACK_SECONDS * 0.5, report

        # The viewer heard the tone in every half second of the flood (the first windows are the forger
        # watching traffic, which is fine to include: the tone must be there too).
        rate = viewer.collector.sample_rate
        for index, samples in enumerate(windows):
            assert len(samples) >= 0.35 * rate, f"window {index}: only {len(samples) / rate:.2f} s of audio"
            frequency = audio_analysis.dominant_frequency(samples, rate)
            level = audio_analysis.rms_level(samples)
            assert abs(frequency - 440) < 15 and level > 0.05, f"window {index}: {frequency:.0f} Hz, level {level:.3f}"

        after = sessions(server)
        for role in ("publisher", "viewer"):
            assert after[role]["id"] == before[role]["id"] and after[role]["connected"], after
            assert after[role]["remoteAddress"] == before[role]["remoteAddress"], after
        assert publisher.pc.connectionState == "connected" and viewer.pc.connectionState == "connected"
        assert "session ended" not in server.log()

        dropped = {reason: count - dropped_before.get(reason, 0) for reason, count in drops(server).items()}
        for reason in ("no_session", "unknown_protocol", "stun_integrity", "stun_fingerprint",
                       "dtls_not_authenticated", "dtls_unexpected_epoch", "srtp_authentication"):
            assert dropped.get(reason, 0) > 0, f"{reason} not counted: {dropped}"
        # The kernel may drop some of the flood at the socket; most of it must have been seen and counted.
        assert sum(dropped.values()) > report["total"] * 0.5, (dropped, report)
        assert after["viewer"]["rejected"] > 0 and after["publisher"]["rejected"] > 0, after

        for client in (viewer, publisher):
            assert await client.delete() == 200
            await client.close()

    asyncio.run(scenario())
