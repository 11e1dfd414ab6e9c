"""TURN for clients: the server hands out coturn credentials in Link headers (RFC 9725 §4.6), made per request
from the secret coturn's use-auth-secret checks, and Chromium's pages reach it through coturn with relay-only ICE."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from skylark_server import SkylarkServer, skylark_binary
from test_server_media import open_pages
from turn_server import Coturn, allocate, rest_credential


@pytest.fixture
def coturn(tmp_path):
    server = Coturn(tmp_path)
    yield server
    server.stop()


def turn_links(response) -> list[dict[str, str]]:
    links = []
    for value in response.headers_all("Link"):
        match = re.match(r"<([^>]*)>(.*)", value)
        params = dict(re.findall(r';\s*([a-z-]+)="([^"]*)"', match.group(2)))
        if match.group(1).startswith("turn:"):
            links.append({"url": match.group(1), **params})
    return links


def test_credentials_in_the_link_header_are_what_coturn_accepts(tmp_path, coturn):
    server = SkylarkServer(extra_args=["--open-streams", "on", "--ice-server", "stun:127.0.0.1:3478",
                                       "--ice-server", coturn.url, "--turn-secret", coturn.secret,
                                       "--turn-credential-lifetime", "600"]).start(tmp_path)
    try:
        response = server.request("OPTIONS", "/whep/radio")
        assert response.status == 204
        [link] = turn_links(response)
        assert link["url"] == coturn.url and link["rel"] == "ice-server" and link["credential-type"] == "password"
        expiry, user = link["username"].split(":")
        assert user == "radio" and abs(int(expiry) - (time.time() + 600)) < 30
        assert allocate("127.0.0.1", coturn.port, link["username"], link["credential"]) == (0, "")
        # What coturn says to credentials that are not good: expired, or made from another secret.
        expired = rest_credential(coturn.secret, "radio", int(time.time()) - 60)
        assert allocate("127.0.0.1", coturn.port, *expired)[0] == 401
        forged = rest_credential("not-the-secret", "radio", int(time.time()) + 600)
        assert allocate("127.0.0.1", coturn.port, *forged)[0] == 401
    finally:
        server.stop()


def test_turn_options_that_cannot_work_are_refused_at_start():
    def serve(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(skylark_binary()), "serve", *args], capture_output=True, text=True, timeout=30)

    done = serve("--turn-secret", "s")
    assert done.returncode != 0 and "need a turn: or turns: URL" in done.stderr
    done = serve("--ice-server", "turn:127.0.0.1:3478", "--turn-username", "u")
    assert done.returncode != 0 and "--turn-username and --turn-password go together" in done.stderr
    done = serve("--ice-server", "http://example.net")
    assert done.returncode != 0 and "stun:, stuns:, turn: or turns: URL" in done.stderr


SELECTED_CANDIDATE_TYPE = """
const done = arguments[arguments.length - 1];
window[arguments[0]].getStats().then((report) => {
  let local = null;
  report.forEach((stat) => {
    if (stat.type === "transport" && stat.selectedCandidatePairId) {
      const pair = report.get(stat.selectedCandidatePairId);
      local = pair ? report.get(pair.localCandidateId) : null;
    }
  });
  done(local ? local.candidateType : null);
});
"""


def test_chromium_pages_publish_and_watch_through_coturn_with_relay_only(tmp_path, coturn):
    server = SkylarkServer(extra_args=["--open-streams", "on", "--ice-server", coturn.url,
                                       "--turn-secret", coturn.secret]).start(tmp_path)
    tmp = Path(tempfile.mkdtemp(prefix="skylark-chromium-"))
    browsers = []
    try:
        publisher, [watcher] = open_pages(tmp, server, "relayed", browsers, query="&relay=1")
        deadline = time.monotonic() + 25
        stats = {}
        while time.monotonic() < deadline:
            stats = watcher.execute_script("return window.skylarkStats") or {}
            if stats.get("bytesReceived", 0) > 20000 and stats.get("audioLevel", 0) > 0:
                break
            time.sleep(0.5)
        status = publisher.execute_script("return document.getElementById('status').textContent")
        assert stats.get("bytesReceived", 0) > 20000, f"{stats}; publisher: {status}\n{server.log()}\n{coturn.log()[-3000:]}"
        assert stats.get("audioLevel", 0) > 0, f"the watcher heard silence: {stats}"
        # Both pages' media go through coturn: their selected pairs use relayed candidates.
        assert publisher.execute_async_script(SELECTED_CANDIDATE_TYPE, "skylarkPublisher") == "relay"
        assert watcher.execute_async_script(SELECTED_CANDIDATE_TYPE, "skylarkViewer") == "relay"
        assert "relayed" in [stream["name"] for stream in server.streams()]
    finally:
        for browser in browsers:
            browser.quit()
        server.stop()
