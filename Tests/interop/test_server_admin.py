"""Operating Skylark: the SQLite state, the management API, metrics, the command line, restarts and crashes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time

import pytest

import whip_clients
from skylark_server import SkylarkServer, skylark_binary

ADMIN = "admin-secret-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
JSON_AUTH = {**AUTH, "Content-Type": "application/json"}


@pytest.fixture
def server(tmp_path):
    server = SkylarkServer(extra_args=["--admin-token", ADMIN, "--open-streams", "off"]).start(tmp_path)
    yield server
    server.stop()


def api(server, method, path, body=None, headers=AUTH):
    response = server.request(method, path, json.dumps(body) if body is not None else None,
                              {**headers, **({"Content-Type": "application/json"} if body is not None else {})})
    data = json.loads(response.body) if response.body and "json" in (response.header("Content-Type") or "") else None
    return response.status, data


def test_the_api_needs_the_admin_token(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {ADMIN}"}):
        response = server.request("GET", "/api/streams", headers=headers)
        assert response.status == 401
        assert response.header("Content-Type") == "application/problem+json"
        assert "admin token" in json.loads(response.body)["detail"]
    assert api(server, "GET", "/api/streams") == (200, [])


def test_streams_tokens_sessions_and_history_through_the_api(server):
    status, created = api(server, "POST", "/api/streams", {"name": "show", "viewRequiresToken": True})
    assert status == 201 and created["name"] == "show" and len(created["publishToken"]) >= 40
    assert created["viewToken"] and created["viewToken"] != created["publishToken"]
    assert api(server, "POST", "/api/streams", {"name": "show"})[0] == 409
    assert api(server, "POST", "/api/streams", {"name": "bad name"})[0] == 400
    assert api(server, "POST", "/api/streams", {"nom": "x"})[0] == 400
    assert server.request("POST", "/api/streams", '{"name":"x"}', AUTH).status == 415
    status, streams = api(server, "GET", "/api/streams")
    assert [s["name"] for s in streams] == ["show"] and streams[0]["viewRequiresToken"] is True

    async def scenario():
        # Unregistered streams are closed (--open-streams off); registered ones need their tokens.
        refused = await asyncio.to_thread(server.post_offer, "/whip/other", "v=0\r\n")
        assert refused.status == 404
        with pytest.raises(AssertionError, match="401"):
            await whip_clients.publisher(server, "show", 440, token="wrong")
        publisher = await whip_clients.publisher(server, "show", 440, token=created["publishToken"])
        with pytest.raises(AssertionError, match="401"):
            await whip_clients.viewer(server, "show")
        viewer = await whip_clients.viewer(server, "show", token=created["viewToken"])
        await viewer.wait_connected()
        await asyncio.sleep(1.5)

        status, sessions = api(server, "GET", "/api/sessions")
        assert status == 200 and sorted(s["role"] for s in sessions) == ["publisher", "viewer"]
        for session in sessions:
            assert session["connected"] is True and session["remoteAddress"].startswith("127.0.0.1:")
            assert session["localAddress"] == f"127.0.0.1:{server.udp_port}"
            assert session["bitrateIn" if session["role"] == "publisher" else "bitrateOut"] > 10_000
            assert "packetsLost" in session and "jitter" in session and "roundTripTime" in session
        viewer_id = next(s["id"] for s in sessions if s["role"] == "viewer")
        assert api(server, "GET", f"/api/sessions/{viewer_id}")[1]["stream"] == "show"

        # Kick the viewer; it is gone from the live list and in the history with the reason.
        assert server.request("DELETE", f"/api/sessions/{viewer_id}", headers=AUTH).status == 204
        assert server.request("DELETE", f"/api/sessions/{viewer_id}", headers=AUTH).status == 404
        assert [s["role"] for s in api(server, "GET", "/api/sessions")[1]] == ["publisher"]

        # Rotating the publish token: the old one stops working for new sessions.
        status, rotated = api(server, "POST", "/api/streams/show/tokens", {"kind": "publish"})
        assert status == 201 and rotated["token"] != created["publishToken"]
        assert await publisher.delete() == 200
        with pytest.raises(AssertionError, match="401"):
            await whip_clients.publisher(server, "show", 440, token=created["publishToken"])
        again = await whip_clients.publisher(server, "show", 440, token=rotated["token"])
        assert await again.delete() == 200
        for client in (viewer, publisher, again):
            await client.close()

    asyncio.run(scenario())
    time.sleep(0.3)
    status, page = api(server, "GET", "/api/history?limit=2")
    assert status == 200 and len(page["items"]) == 2 and page["next"]
    status, rest = api(server, "GET", f"/api/history?limit=50&cursor={page['next']}")
    items = page["items"] + rest["items"]
    assert rest["next"] is None and len(items) == 3
    assert [i["startedAt"] for i in items] == sorted((i["startedAt"] for i in items), reverse=True)
    kicked = next(i for i in items if i["role"] == "viewer")
    assert kicked["endReason"] == "kicked by an operator" and kicked["packetsOut"] > 50 and kicked["seconds"] > 1
    assert all(i["endedAt"] >= i["startedAt"] for i in items)

    assert server.request("DELETE", "/api/streams/show", headers=AUTH).status == 204
    assert api(server, "GET", "/api/streams") == (200, [])
    assert server.request("GET", "/api/nothing", headers=AUTH).status == 404


def test_api_tokens_from_the_api_and_the_command_line(server):
    status, token = api(server, "POST", "/api/tokens", {"name": "ci"})
    assert status == 201 and token["name"] == "ci"
    assert api(server, "GET", "/api/streams", headers={"Authorization": f"Bearer {token['token']}"})[0] == 200
    output = subprocess.run([str(skylark_binary()), "token", "create", "ops", "--database", str(server.database)],
                            capture_output=True, text=True, check=True).stdout
    cli_token = re.search(r": (\S+)$", output.strip()).group(1)
    assert api(server, "GET", "/api/tokens", headers={"Authorization": f"Bearer {cli_token}"})[0] == 200
    names = [t["name"] for t in api(server, "GET", "/api/tokens")[1]]
    assert names == ["ci", "ops"]
    assert server.request("DELETE", f"/api/tokens/{token['id']}", headers=AUTH).status == 204
    assert api(server, "GET", "/api/streams", headers={"Authorization": f"Bearer {token['token']}"})[0] == 401
    listing = subprocess.run([str(skylark_binary()), "token", "list", "--database", str(server.database)],
                             capture_output=True, text=True, check=True).stdout
    assert "ops" in listing and cli_token not in listing


def test_metrics_and_health(server):
    # An unregistered stream, allowed after a restart with --open-streams on.
    server.stop()
    server.extra_args = ["--admin-token", ADMIN, "--open-streams", "on"]
    server.start(server.log_path.parent, keep_ports=True)

    async def scenario():
        publisher = await whip_clients.publisher(server, "m", 440)
        await publisher.wait_connected()
        await asyncio.sleep(1.0)
        assert server.request("GET", "/healthz").text == "ok\n"
        response = await asyncio.to_thread(server.request, "GET", "/metrics")
        await publisher.close()
        return response

    response = asyncio.run(scenario())
    assert response.status == 200 and response.header("Content-Type").startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'skylark_sessions{role="publisher"} 1' in text
    assert 'skylark_stream_viewers{stream="m"} 0' in text
    received = int(re.search(r"^skylark_packets_received_total (\d+)$", text, re.M).group(1))
    assert received > 30
    assert re.search(r'^skylark_http_requests_total\{code="2xx"\} [1-9]', text, re.M)
    assert "skylark_dtls_handshake_failures_total 0" in text


def test_the_command_line_manages_streams_in_the_database(tmp_path):
    database = tmp_path / "cli.sqlite"
    run = lambda *args: subprocess.run([str(skylark_binary()), *args, "--database", str(database)],
                                       capture_output=True, text=True)
    created = run("stream", "create", "radio", "--view-token")
    assert created.returncode == 0, created.stderr
    publish_token = re.search(r"publish token: (\S+)", created.stdout).group(1)
    assert re.search(r"view token: +(\S+)", created.stdout)
    assert "radio" in run("stream", "list").stdout
    assert run("stream", "create", "radio").returncode != 0
    bad = run("stream", "create", "no spaces")
    assert bad.returncode != 0 and "letters, digits" in bad.stderr
    rotated = run("stream", "rotate", "radio")
    new_token = re.search(r"publish token: (\S+)", rotated.stdout).group(1)
    assert new_token != publish_token
    # The database file is what the server uses.
    server = SkylarkServer(database=database, extra_args=["--open-streams", "off"]).start(tmp_path)
    try:
        async def scenario():
            publisher = await whip_clients.publisher(server, "radio", 440, token=new_token)
            await publisher.close()
        asyncio.run(scenario())
    finally:
        server.stop()
    assert run("stream", "delete", "radio").returncode == 0
    assert "no streams" in run("stream", "list").stdout
    assert "Create, list, delete streams" in subprocess.run([str(skylark_binary()), "--help"], capture_output=True, text=True).stdout


def test_restart_keeps_state_and_records_what_a_crash_left_open(tmp_path):
    server = SkylarkServer(extra_args=["--admin-token", ADMIN]).start(tmp_path)

    async def scenario():
        status, created = api(server, "POST", "/api/streams", {"name": "durable"})
        assert status == 201
        publisher = await whip_clients.publisher(server, "durable", 440, token=created["publishToken"])
        await publisher.wait_connected()
        await asyncio.sleep(0.5)
        server.process.send_signal(signal.SIGKILL)  # a crash with a live session
        server.process.wait()
        await publisher.close()
        await asyncio.to_thread(server.start, tmp_path, True)
        assert [s["name"] for s in api(server, "GET", "/api/streams")[1]] == ["durable"]
        history = api(server, "GET", "/api/history")[1]["items"]
        assert len(history) == 1 and history[0]["endReason"] == "the server restarted"
        assert "recorded as ended" in server.log()
        # The token from before the crash still works.
        publisher = await whip_clients.publisher(server, "durable", 440, token=created["publishToken"])
        await publisher.wait_connected()
        # SIGTERM: sessions end as with DELETE and are recorded; the process exits cleanly.
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.process.wait, 15) == 0
        await publisher.close()
        await asyncio.to_thread(server.start, tmp_path, True)
        history = api(server, "GET", "/api/history")[1]["items"]
        assert history[0]["endReason"] == "server shutting down"

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_sigterm_as_soon_as_the_server_says_it_is_running_stops_it_cleanly(tmp_path):
    # A supervisor may stop the server the moment it is up: the stop is still the graceful one.
    for attempt in range(5):
        server = SkylarkServer().start(tmp_path)
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0, f"attempt {attempt}: exit {server.process.returncode}\n{server.log()}"
        assert re.search(r"msg=\"?stopped\"?$", server.log().rstrip()), server.log()


def test_the_first_start_makes_an_admin_token_when_none_is_given(tmp_path):
    server = SkylarkServer().start(tmp_path)
    try:
        match = re.search(r'created the first admin token.* token=(\S+)', server.log())
        assert match, server.log()
        token = match.group(1)
        assert api(server, "GET", "/api/tokens", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert server.request("GET", "/dashboard.html").status == 200
    finally:
        server.stop()
    again = SkylarkServer(database=server.database).start(tmp_path)
    try:
        assert "created the first admin token" not in again.log()
    finally:
        again.stop()


def test_the_dashboard_shows_live_streams_and_sessions_and_kicks(server, tmp_path):
    from test_server_media import start_chromium

    async def scenario():
        status, created = api(server, "POST", "/api/streams", {"name": "board"})
        publisher = await whip_clients.publisher(server, "board", 440, token=created["publishToken"])
        await publisher.wait_connected()
        browser = await asyncio.to_thread(start_chromium, tmp_path, "dashboard")
        try:
            await asyncio.to_thread(browser.get, f"{server.base_url}/dashboard.html")
            browser.find_element("id", "token").send_keys(ADMIN)
            browser.find_element("css selector", "#login button, #login [type=submit]").click()
            text = ""
            for _ in range(40):
                await asyncio.sleep(0.25)
                text = browser.find_element("id", "sessions").text
                if "publisher" in text:
                    break
            assert "board" in browser.find_element("id", "streams").text
            assert "publisher" in text, text
            kick = browser.find_elements("css selector", "#sessions button")
            assert kick, "no kick button"
            kick[0].click()
            for _ in range(40):
                await asyncio.sleep(0.25)
                if not api(server, "GET", "/api/sessions")[1]:
                    break
            assert api(server, "GET", "/api/sessions")[1] == []
        finally:
            browser.quit()
            await publisher.close()

    asyncio.run(scenario())
