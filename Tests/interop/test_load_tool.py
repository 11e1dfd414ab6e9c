"""`skylark load` and `skylark udp-ceiling` run as a user runs them: against a real `skylark serve`, as separate
processes, with their JSON output checked against what the server itself reports."""

from __future__ import annotations

import json
import subprocess

import pytest

from skylark_server import SkylarkServer, skylark_binary


@pytest.fixture
def server(tmp_path):
    server = SkylarkServer(extra_args=["--open-streams", "on"]).start(tmp_path)
    yield server
    server.stop()


def run_json_lines(*args: str, timeout: float) -> list[dict]:
    done = subprocess.run([str(skylark_binary()), *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("poll_interval", ["20", "0"])
def test_load_measures_every_viewer_of_a_publisher(server, poll_interval):
    viewers = 30
    lines = run_json_lines(
        "load", "--server", server.base_url, "--stream", "loadtest", "--viewers", str(viewers),
        "--publishers", "1", "--seconds", "3", "--server-pid", str(server.process.pid),
        "--poll-interval", poll_interval, "--json", timeout=90)
    summary = [line for line in lines if line["type"] == "summary"][-1]
    intervals = [line for line in lines if line["type"] == "interval"]
    assert intervals, "no per-second lines"
    assert summary["failure_count"] == 0, summary["failures"]
    assert summary["viewers_receiving"] == viewers
    assert summary["publishers_connected"] == 1
    # One publisher at 50 packets/s fans out to every viewer.
    assert 0.9 * 50 * viewers <= summary["packets_per_s"] <= 1.1 * 50 * viewers
    assert summary["loss_percent"] <= 0.5
    # Delay is publisher send time → kernel arrival at the viewer's socket: positive, and far below the 20 ms
    # packet interval on an idle loopback.
    assert 0 < summary["delay_p50_ms"] < 20
    assert summary["delay_p50_ms"] <= summary["delay_p99_ms"] <= summary["delay_max_ms"]
    assert 0 < summary["join_p50_ms"] <= summary["join_p99_ms"] < 5000
    assert summary["setup_per_s"] > 0
    assert summary["server_cpu"] > 0
    assert summary["server_bytes_per_viewer"] > 0
    assert summary["delete_failures"] == 0
    # Every session the load tool opened was deleted again.
    assert server.streams() == []


@pytest.mark.parametrize("video", ["single", "simulcast"])
def test_load_with_video_reaches_every_viewer_on_the_top_layer(server, video):
    viewers = 10
    lines = run_json_lines(
        "load", "--server", server.base_url, "--stream", "videoload", "--viewers", str(viewers), "--video", video,
        "--seconds", "3", "--server-pid", str(server.process.pid), "--json", timeout=90)
    summary = [line for line in lines if line["type"] == "summary"][-1]
    assert summary["failure_count"] == 0, summary["failures"]
    assert summary["viewers_receiving"] == viewers
    # Every viewer gets the 1.5 Mbit/s layer (f): 6 packets a frame at 30 frames a second, keyframes a little more.
    assert summary["viewers_by_layer"]["f"] == viewers, summary["viewers_by_layer"]
    if video == "simulcast":
        assert summary["viewers_by_layer"]["q"] == summary["viewers_by_layer"]["h"] == 0
    assert 0.85 * 180 * viewers <= summary["video_packets_per_s"] <= 1.15 * 186 * viewers
    assert 0.8 * 1.5e6 * viewers <= summary["video_bytes_per_s"] * 8 <= 1.3 * 1.5e6 * viewers
    # Audio still arrives beside it.
    assert summary["packets_per_s"] - summary["video_packets_per_s"] >= 0.9 * 50 * viewers
    assert summary["loss_percent"] <= 0.5
    assert 0 < summary["video_join_p50_ms"] <= summary["video_join_p99_ms"] < 5000
    assert summary["delete_failures"] == 0
    assert server.streams() == []


def test_load_reports_why_viewers_failed(server):
    lines = run_json_lines(
        "load", "--server", server.base_url, "--stream", "bad name!", "--viewers", "2", "--seconds", "1",
        "--join-timeout", "2", "--json", timeout=60)
    summary = [line for line in lines if line["type"] == "summary"][-1]
    assert summary["viewers_receiving"] == 0
    assert summary["failure_count"] >= 1
    assert any("400" in reason for reason in summary["failures"]), summary["failures"]


def test_udp_ceiling_prints_a_rate():
    [result] = run_json_lines("udp-ceiling", "--seconds", "1", "--destinations", "50", "--json", timeout=30)
    assert result["packets_per_cpu_s"] > 10_000
    assert 0 < result["sender_cpu"] <= 1.05
