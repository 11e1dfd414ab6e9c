"""`skylark serve` over HTTP, as an operator or a WHIP/WHEP client sees it.

CORS, the captured offers of real clients, tokens, busy streams, PATCH (trickle and ICE restart), DELETE, the
web pages, and bad input of every kind, each answered with the right 4xx and a problem+json detail. While all of
that happens an aiortc publisher plays a 440 Hz tone to an aiortc viewer through the same server; the last test
checks the viewer still hears it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import whip_clients
from skylark_server import Response, SkylarkServer

OFFERS = Path(__file__).resolve().parents[1] / "SDPTests" / "Offers"
WHIP_OFFERS = ["aiortc-whip-audio", "chromium-whip-audio", "chromium-whip-audio-video", "firefox-whip-audio",
               "firefox-whip-audio-video", "ffmpeg-whip-audio"]
WHEP_OFFERS = ["aiortc-whep-audio", "chromium-whep-audio", "firefox-whep-audio"]
LIVE_STREAM = "live"
TRICKLE = "application/trickle-ice-sdpfrag"


def offer(name: str) -> str:
    return (OFFERS / f"{name}.sdp").read_text()


def crlf(text: str) -> str:
    return "\r\n".join(text.splitlines()) + "\r\n"


def problem_detail(response: Response, status: int) -> str:
    """Asserts an application/problem+json answer with `status` and returns its detail."""
    assert response.status == status, f"expected {status}, got {response.status}: {response.text}"
    content_type = response.header("Content-Type") or ""
    assert content_type.split(";")[0].strip() == "application/problem+json", content_type
    body = json.loads(response.body)
    assert body.get("status") == status, body
    detail = body.get("detail")
    assert isinstance(detail, str) and detail, body
    return detail


def delete(server: SkylarkServer, location: str, token: str | None = None) -> Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return server.request("DELETE", location, headers=headers)


def stream_names(server: SkylarkServer) -> list[str]:
    return [stream["name"] for stream in server.streams()]


# MARK: - Fixtures


class LivePair:
    """An aiortc publisher → Skylark → aiortc viewer on its own event loop thread, playing for the whole module."""

    def __init__(self, server: SkylarkServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-pair", daemon=True)
        self.thread.start()
        self.publisher: whip_clients.Client | None = None
        self.viewer: whip_clients.Client | None = None

    def run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        self.publisher = await whip_clients.publisher(self.server, LIVE_STREAM, 440)
        self.viewer = await whip_clients.viewer(self.server, LIVE_STREAM)
        await self.publisher.wait_connected()
        await self.viewer.wait_connected()

    async def _listen(self, seconds: float) -> dict:
        self.viewer.collector.chunks.clear()
        await asyncio.sleep(seconds)
        return {**self.viewer.collector.analysis(), "state": self.viewer.pc.connectionState}

    async def _close(self) -> None:
        for client in (self.viewer, self.publisher):
            if client is not None:
                await client.close()

    def start(self) -> None:
        self.run(self._start())

    def listen(self, seconds: float) -> dict:
        return self.run(self._listen(seconds), timeout=seconds + 10)

    def close(self) -> None:
        try:
            self.run(self._close(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    instance = SkylarkServer(["--ice-server", "stun:stun.example.net:3478"])
    instance.start(tmp_path_factory.mktemp("skylark-http"))
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def live(server):
    pair = LivePair(server)
    try:
        pair.start()
        first = pair.listen(1.5)
        assert abs(first["frequency"] - 440) < 10 and first["level"] > 0.05, f"live pair never played: {first}"
        yield pair
    finally:
        pair.close()


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    instance = SkylarkServer(["--publish-token", "pub-secret", "--view-token", "view-secret"])
    instance.start(tmp_path_factory.mktemp("skylark-tokens"))
    yield instance
    instance.stop()


# MARK: - CORS


def test_preflight_on_whip_endpoint(server, live):
    response = server.request("OPTIONS", "/whip/x", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status == 204, response.text
    assert response.body == b""
    assert response.header("Accept-Post") == "application/sdp"
    methods = [m.strip() for m in (response.header("Access-Control-Allow-Methods") or "").split(",")]
    assert "POST" in methods, methods
    allowed_headers = (response.header("Access-Control-Allow-Headers") or "").lower()
    for name in ("authorization", "content-type", "if-match"):
        assert name in allowed_headers, allowed_headers
    assert response.header("Access-Control-Allow-Origin") == "*"
    # RFC 9725 §4.6: STUN/TURN servers as Link headers, also on the preflight.
    assert '<stun:stun.example.net:3478>; rel="ice-server"' in (response.header("Link") or "")


def test_preflight_on_session_and_whep(server):
    for path, method in (("/whep/x", "POST"), ("/whip/x/someid", "PATCH"), ("/whep/x/someid", "DELETE")):
        response = server.request("OPTIONS", path)
        assert response.status == 204, (path, response.status, response.text)
        methods = [m.strip() for m in (response.header("Access-Control-Allow-Methods") or "").split(",")]
        assert method in methods, (path, methods)


def test_responses_expose_location_and_etag(server):
    response = server.post_offer("/whip/cors", offer("aiortc-whip-audio"))
    assert response.status == 201, response.text
    try:
        exposed = [h.strip().lower() for h in (response.header("Access-Control-Expose-Headers") or "").split(",")]
        assert "location" in exposed and "etag" in exposed, exposed
        assert response.header("Access-Control-Allow-Origin") == "*"
        # Errors carry CORS too, or a browser cannot read why it failed.
        error = server.post_offer("/whip/cors", "garbage")
        assert error.status == 400
        assert error.header("Access-Control-Allow-Origin") == "*"
    finally:
        assert delete(server, response.header("Location")).status == 200


# MARK: - Captured offers


def check_created(response: Response, path: str, server: SkylarkServer) -> str:
    """Common checks on a 201 answer; returns the answer text."""
    assert response.status == 201, f"{path}: {response.status} {response.text}"
    assert (response.header("Content-Type") or "").split(";")[0] == "application/sdp"
    assert int(response.header("Content-Length")) == len(response.body)
    location = response.header("Location") or ""
    assert re.fullmatch(re.escape(path) + r"/[A-Za-z0-9_-]+", location), location
    assert re.fullmatch(r'"[^"]+"', response.header("ETag") or ""), response.header("ETag")
    answer = response.text
    assert answer.startswith("v=0\r\n"), answer[:40]
    lines = answer.split("\r\n")
    assert "a=ice-lite" in lines, answer
    candidates = [line for line in lines if line.startswith("a=candidate:")]
    assert candidates, answer
    first = candidates[0].split()
    assert first[4] == "127.0.0.1" and first[5] == str(server.udp_port), candidates[0]
    assert any(line.startswith("a=fingerprint:sha-256 ") for line in lines), answer
    # RFC 9725 §4.6: the configured STUN server comes back as a Link header.
    assert '<stun:stun.example.net:3478>; rel="ice-server"' in (response.header("Link") or ""), response.headers
    return answer


def accepted_sections(answer: str) -> list[list[str]]:
    sections, current = [], None
    for line in answer.split("\r\n"):
        if line.startswith("m="):
            current = [line]
            sections.append(current)
        elif current is not None and line:
            current.append(line)
    return [s for s in sections if s[0].split()[1] != "0"]


@pytest.mark.parametrize("name", WHIP_OFFERS)
def test_captured_whip_offer(server, name):
    path = f"/whip/cap-{name}"
    response = server.post_offer(path, offer(name))
    answer = check_created(response, path, server)
    try:
        sections = accepted_sections(answer)
        assert sections, answer
        assert all("a=recvonly" in section for section in sections), answer
        assert any(s[0].startswith("m=audio") and any("opus/48000/2" in l for l in s) for s in sections), answer
        if "video" in name:
            assert any(s[0].startswith("m=video") for s in sections), answer
        # FFmpeg offers setup:passive, so the server is the DTLS client; browsers offer actpass.
        setup = "a=setup:active" if name.startswith("ffmpeg") else "a=setup:passive"
        assert all(setup in s for s in sections), answer
        assert f"cap-{name}" in stream_names(server)
    finally:
        assert delete(server, response.header("Location")).status == 200
    assert f"cap-{name}" not in stream_names(server)


@pytest.mark.parametrize("name", WHEP_OFFERS)
def test_captured_whep_offer(server, name):
    path = f"/whep/cap-{name}"
    response = server.post_offer(path, offer(name))
    answer = check_created(response, path, server)
    try:
        sections = accepted_sections(answer)
        assert sections and all("a=sendonly" in section for section in sections), answer
        assert any(line.startswith("a=ssrc:") for line in answer.split("\r\n")), answer
        listed = {s["name"]: s for s in server.streams()}
        assert listed[f"cap-{name}"]["viewers"] == 1 and listed[f"cap-{name}"]["publishing"] is False
    finally:
        assert delete(server, response.header("Location")).status == 200


# MARK: - Tokens


@pytest.mark.parametrize("kind,token,other", [("whip", "pub-secret", "view-secret"), ("whep", "view-secret", "pub-secret")])
def test_tokens(token_server, kind, token, other):
    sdp = offer("aiortc-whip-audio" if kind == "whip" else "aiortc-whep-audio")
    path = f"/{kind}/secret"
    missing = token_server.post_offer(path, sdp)
    assert "token" in problem_detail(missing, 401)
    assert (missing.header("WWW-Authenticate") or "").startswith("Bearer"), missing.headers
    for wrong in ("nope", other, token + "x", token[:-1]):
        response = token_server.post_offer(path, sdp, token=wrong)
        problem_detail(response, 401)
        assert (response.header("WWW-Authenticate") or "").startswith("Bearer")
    # Not a Bearer scheme at all.
    basic = token_server.request("POST", path, sdp, {"Content-Type": "application/sdp", "Authorization": f"Basic {token}"})
    problem_detail(basic, 401)
    created = token_server.post_offer(path, sdp, token=token)
    assert created.status == 201, created.text
    location = created.header("Location")
    etag = created.header("ETag")

    # PATCH and DELETE need the token too.
    fragment = "a=ice-ufrag:zz\r\na=ice-pwd:zzzzzzzzzzzzzzzzzzzzzzzz\r\n"
    for headers in ({}, {"Authorization": "Bearer nope"}):
        patched = token_server.request("PATCH", location, fragment,
                                       {"Content-Type": TRICKLE, "If-Match": "*", **headers})
        problem_detail(patched, 401)
        deleted = token_server.request("DELETE", location, headers=headers)
        problem_detail(deleted, 401)
        assert (deleted.header("WWW-Authenticate") or "").startswith("Bearer")
    trickle = token_server.request("PATCH", location, "a=end-of-candidates\r\n",
                                   {"Content-Type": TRICKLE, "If-Match": etag, "Authorization": f"Bearer {token}"})
    assert trickle.status == 204, trickle.text
    assert delete(token_server, location, token).status == 200
    assert delete(token_server, location, token).status == 404


# MARK: - Busy streams


def test_second_publisher_gets_409_until_replace(server):
    sdp = offer("aiortc-whip-audio")
    first = server.post_offer("/whip/busy", sdp)
    assert first.status == 201, first.text
    second = server.post_offer("/whip/busy", offer("chromium-whip-audio"))
    detail = problem_detail(second, 409)
    assert "replace=1" in detail and "DELETE" in detail, detail
    replaced = server.post_offer("/whip/busy?replace=1", offer("chromium-whip-audio"))
    assert replaced.status == 201, replaced.text
    assert replaced.header("Location") != first.header("Location")
    # The replaced publisher's session is gone; the new one is the stream's publisher.
    assert delete(server, first.header("Location")).status == 404
    listed = {s["name"]: s for s in server.streams()}
    assert listed["busy"]["publishing"] is True
    assert delete(server, replaced.header("Location")).status == 200
    assert "busy" not in stream_names(server)


# MARK: - PATCH


@pytest.fixture(params=["\r\n", "\n"], ids=["crlf", "lf"])
def eol(request) -> str:
    """Line ending of PATCH fragments: CRLF as RFC 8840 fragments (SDP lines) and browsers use, and bare LF."""
    return request.param


@pytest.fixture
def session(server):
    created = server.post_offer("/whip/patch", offer("aiortc-whip-audio"))
    assert created.status == 201, created.text
    yield created
    delete(server, created.header("Location"))


def trickle_fragment(eol: str) -> str:
    """A trickle fragment as a browser sends it: the current credentials, the mid, a candidate (RFC 8840 §9)."""
    return eol.join(["a=ice-ufrag:OLGL", "a=ice-pwd:m7QWOYMtqIULBq2waDRfAp", "m=audio 9 UDP/TLS/RTP/SAVPF 0",
                     "a=mid:0", "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host", "a=end-of-candidates"]) + eol


def restart_fragment(eol: str) -> str:
    return eol.join(["a=ice-ufrag:NEWU", "a=ice-pwd:newpasswordnewpassword12", "m=audio 9 UDP/TLS/RTP/SAVPF 0",
                     "a=mid:0"]) + eol


def patch(server, location, body, content_type=TRICKLE, if_match=None) -> Response:
    headers = {"Content-Type": content_type} if content_type else {}
    if if_match is not None:
        headers["If-Match"] = if_match
    return server.request("PATCH", location, body, headers)


def test_patch_wrong_content_type(server, session):
    location, etag = session.header("Location"), session.header("ETag")
    for content_type in ("application/sdp", "text/plain", None):
        detail = problem_detail(patch(server, location, trickle_fragment("\r\n"), content_type, etag), 415)
        assert TRICKLE in detail, detail


def test_patch_without_if_match(server, session, eol):
    detail = problem_detail(patch(server, session.header("Location"), trickle_fragment(eol)), 428)
    assert "If-Match" in detail, detail


def test_patch_with_stale_etag(server, session, eol):
    problem_detail(patch(server, session.header("Location"), trickle_fragment(eol), if_match='"stale"'), 412)


def test_patch_trickle(server, session, eol):
    response = patch(server, session.header("Location"), trickle_fragment(eol), if_match=session.header("ETag"))
    assert response.status == 204, response.text
    assert response.body == b""


def test_patch_ice_restart(server, session, eol):
    location, etag = session.header("Location"), session.header("ETag")
    restarted = patch(server, location, restart_fragment(eol), if_match="*")
    assert restarted.status == 200, restarted.text
    assert (restarted.header("Content-Type") or "").split(";")[0] == TRICKLE
    new_etag = restarted.header("ETag") or ""
    assert re.fullmatch(r'"[^"]+"', new_etag) and new_etag != etag, (etag, new_etag)
    lines = restarted.text.split("\r\n")
    ufrags = [line.split(":", 1)[1] for line in lines if line.startswith("a=ice-ufrag:")]
    old_ufrag = next(l for l in session.text.split("\r\n") if l.startswith("a=ice-ufrag:")).split(":", 1)[1]
    assert ufrags and ufrags[0] != old_ufrag, restarted.text
    assert any(line.startswith("a=ice-pwd:") for line in lines), restarted.text
    assert any(line.startswith("a=candidate:") and " 127.0.0.1 " in line for line in lines), restarted.text
    # The old ETag is stale now; the new one works.
    after = "a=candidate:2 1 udp 2130706431 127.0.0.1 10 typ host" + eol
    problem_detail(patch(server, location, after, if_match=etag), 412)
    assert patch(server, location, after, if_match=new_etag).status == 204


def test_patch_bad_fragments(server, session):
    location = session.header("Location")
    half = problem_detail(patch(server, location, "a=ice-ufrag:ONLY\r\n", if_match="*"), 400)
    assert "ice-pwd" in half, half
    junk = problem_detail(patch(server, location, "this is not sdp\r\n", if_match="*"), 400)
    assert "line 1" in junk, junk


def test_patch_unknown_session(server, session):
    location = session.header("Location")
    for unknown in ("/whip/patch/doesnotexist", location.replace("/whip/", "/whep/"), location.replace("/patch/", "/other/")):
        problem_detail(patch(server, unknown, trickle_fragment("\r\n"), if_match="*"), 404)


# MARK: - DELETE


def test_delete_twice(server):
    created = server.post_offer("/whip/gone", offer("firefox-whip-audio"))
    assert created.status == 201, created.text
    viewer = server.post_offer("/whep/gone", offer("firefox-whep-audio"))
    assert viewer.status == 201, viewer.text
    listed = {s["name"]: s for s in server.streams()}
    assert listed["gone"] == {"name": "gone", "publishing": True, "viewers": 1, "video": False}, listed
    first = delete(server, created.header("Location"))
    assert first.status == 200, first.text
    problem_detail(delete(server, created.header("Location")), 404)
    listed = {s["name"]: s for s in server.streams()}
    assert listed["gone"]["publishing"] is False and listed["gone"]["viewers"] == 1
    assert delete(server, viewer.header("Location")).status == 200
    problem_detail(delete(server, viewer.header("Location")), 404)
    assert "gone" not in stream_names(server)
    # A session id under the wrong kind or stream is not found either.
    problem_detail(delete(server, "/whip/gone/nosuchsession"), 404)


# MARK: - Bad input


def bad_offer(server, sdp, path="/whip/bad", content_type="application/sdp") -> Response:
    return server.request("POST", path, sdp, {"Content-Type": content_type} if content_type else {})


@pytest.mark.parametrize("body", ["hello world\r\n", "hello", "\r\n\r\n", "v=0", "x=\x00\x01\x02",
                                  "=\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\xff\xfe"])
def test_garbage_sdp(server, live, body):
    detail = problem_detail(bad_offer(server, body.encode("latin-1")), 400)
    assert re.search(r"SDP line \d+", detail), detail


def test_sdp_without_version_line(server, live):
    sdp = crlf("\n".join(l for l in offer("aiortc-whip-audio").splitlines() if not l.startswith("v=")))
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "SDP line 1" in detail and "v=" in detail, detail


def test_broken_media_line(server, live):
    sdp = offer("aiortc-whip-audio").replace("m=audio 58275 UDP/TLS/RTP/SAVPF 96 9 0 8", "m=audio notaport UDP/TLS/RTP/SAVPF 96")
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "SDP line 7" in detail and "m=" in detail, detail
    sdp = offer("aiortc-whip-audio").replace("m=audio 58275 UDP/TLS/RTP/SAVPF 96 9 0 8", "m=audio 9")
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "SDP line 7" in detail and "m=" in detail, detail


def test_too_many_media_sections(server, live):
    base = offer("aiortc-whip-audio").splitlines()
    head = [l for l in base[:base.index(next(l for l in base if l.startswith("m=")))] if not l.startswith("a=group")]
    session_level = ["a=ice-ufrag:OLGL", "a=ice-pwd:m7QWOYMtqIULBq2waDRfAp", "a=setup:actpass",
                     next(l for l in base if l.startswith("a=fingerprint:sha-256"))]
    lines = head + session_level
    for index in range(65):
        lines += ["m=audio 9 UDP/TLS/RTP/SAVPF 96", f"a=mid:{index}", "a=sendonly", "a=rtpmap:96 opus/48000/2"]
    sdp = crlf("\n".join(lines))
    assert len(sdp) < 65536
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "SDP line" in detail and "media sections" in detail, detail


def test_overlong_line(server, live):
    sdp = offer("aiortc-whip-audio").replace("s=-", "s=" + "x" * 5000)
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "SDP line 3" in detail and "4096" in detail, detail


def test_missing_fingerprint(server, live):
    sdp = crlf("\n".join(l for l in offer("chromium-whip-audio").splitlines() if not l.startswith("a=fingerprint")))
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "fingerprint" in detail, detail


def test_missing_ice_credentials(server, live):
    sdp = crlf("\n".join(l for l in offer("chromium-whip-audio").splitlines() if not l.startswith("a=ice-pwd")))
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "ice-pwd" in detail, detail


def test_unsupported_codecs_only(server, live):
    lines = []
    for line in offer("aiortc-whip-audio").splitlines():
        if line.startswith("m=audio"):
            line = "m=audio 58275 UDP/TLS/RTP/SAVPF 0"
        if line.startswith("a=rtpmap:") and not line.startswith("a=rtpmap:0 "):
            continue
        lines.append(line)
    detail = problem_detail(bad_offer(server, crlf("\n".join(lines))), 406)
    assert "Opus" in detail, detail
    whep = problem_detail(bad_offer(server, crlf("\n".join(lines)).replace("a=sendonly", "a=recvonly"), "/whep/bad"), 406)
    assert "Opus" in whep, whep


@pytest.mark.parametrize("direction", ["inactive", "recvonly"])
def test_whip_offer_that_does_not_send(server, live, direction):
    sdp = offer("aiortc-whip-audio").replace("a=sendonly", f"a={direction}")
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "send" in detail and direction in detail, detail


def test_whep_offer_that_does_not_receive(server, live):
    sdp = offer("aiortc-whep-audio").replace("a=recvonly", "a=sendonly")
    detail = problem_detail(bad_offer(server, sdp, "/whep/bad"), 400)
    assert "receive" in detail, detail


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/sdp-but-not", None])
def test_wrong_content_type(server, live, content_type):
    detail = problem_detail(bad_offer(server, offer("aiortc-whip-audio"), content_type=content_type), 415)
    assert "application/sdp" in detail, detail


def test_content_type_parameters_and_case_are_accepted(server, live):
    response = bad_offer(server, offer("aiortc-whip-audio"), "/whip/ctype", "Application/SDP; charset=utf-8")
    assert response.status == 201, response.text
    assert delete(server, response.header("Location")).status == 200


def test_empty_body(server, live):
    detail = problem_detail(bad_offer(server, ""), 400)
    assert "no SDP offer" in detail, detail


def test_sdp_over_parser_limit(server, live):
    sdp = offer("aiortc-whip-audio") + "a=x-padding:" + "y" * 4000 + "\r\n"
    sdp += ("a=x-padding:" + "z" * 4000 + "\r\n") * 20
    detail = problem_detail(bad_offer(server, sdp), 400)
    assert "65536" in detail, detail


def test_body_over_limit(server, live):
    body = b"v=0\r\n" + b"a=" + b"x" * (2 << 20) + b"\r\n"
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as s:
        s.sendall(b"POST /whip/big HTTP/1.1\r\nHost: t\r\nContent-Type: application/sdp\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode())
        try:
            s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may stop reading once it has answered
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), data[:200]
    assert b"application/problem+json" in head.lower(), head
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    assert json.loads(rest[:length]).get("status") == 413, rest[:length]
    assert server.alive()
    assert server.request("GET", "/healthz").status == 200


@pytest.mark.parametrize("path,status", [
    ("/whip/..", 400), ("/whip/%2e%2e", 400), ("/whip/%2e", 400), ("/whip/" + "a" * 100, 400), ("/whip/a%20b", 400),
    ("/whip/caf%C3%A9", 400), ("/whip/a%00b", 400), ("/whep/" + "b" * 65, 400),
])
def test_bad_stream_name(server, live, path, status):
    detail = problem_detail(server.post_offer(path, offer("aiortc-whip-audio")), status)
    assert "stream name" in detail, detail


def test_longest_stream_name_is_fine(server, live):
    name = "n" * 64
    response = server.post_offer(f"/whip/{name}", offer("aiortc-whip-audio"))
    assert response.status == 201, response.text
    assert delete(server, response.header("Location")).status == 200


@pytest.mark.parametrize("path", ["/nope", "/whip", "/whip/", "/whip/x/y/z", "/whipx/y", "/streams/x", "/apix"])
def test_unknown_path(server, live, path):
    problem_detail(server.request("POST", path, offer("aiortc-whip-audio"), {"Content-Type": "application/sdp"}), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD"])
def test_wrong_method_on_endpoint(server, live, method):
    response = server.request(method, "/whip/x")
    assert response.status == 405, response.text
    allow = [m.strip() for m in (response.header("Allow") or "").split(",")]
    assert "POST" in allow, allow
    if method != "HEAD":
        problem_detail(response, 405)


def test_wrong_method_on_session(server, live):
    response = server.request("GET", "/whip/x/someid")
    detail = problem_detail(response, 405)
    assert "PATCH" in (response.header("Allow") or ""), detail


def test_flood_of_garbage(server, live):
    def post(index: int) -> int:
        body = f"garbage {index}\r\n" + "z" * (index % 50)
        return server.request("POST", f"/whip/flood{index % 7}", body, {"Content-Type": "application/sdp"}, timeout=30).status

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = list(pool.map(post, range(200)))
    assert statuses == [400] * 200, sorted(set(statuses))
    assert time.monotonic() - started < 20
    assert server.alive()
    assert server.request("GET", "/healthz").text == "ok\n"
    assert not any(name.startswith("flood") for name in stream_names(server))


def test_many_viewers_that_never_connect(server, live):
    before = server.streams()
    sdp = offer("chromium-whep-audio")

    def post(_: int) -> Response:
        return server.post_offer("/whep/crowd", sdp)

    with ThreadPoolExecutor(max_workers=10) as pool:
        created = list(pool.map(post, range(50)))
    assert [r.status for r in created] == [201] * 50, [r.text for r in created if r.status != 201][:3]
    locations = {r.header("Location") for r in created}
    assert len(locations) == 50
    listed = {s["name"]: s for s in server.streams()}
    assert listed["crowd"]["viewers"] == 50 and listed["crowd"]["publishing"] is False
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda location: delete(server, location).status, locations))
    assert statuses == [200] * 50
    assert server.streams() == before
    # The only stream left is the live pair's.
    assert [s["name"] for s in server.streams()] == [LIVE_STREAM]


# MARK: - Web pages


@pytest.mark.parametrize("path,content_type,marker", [
    ("/", "text/html", b"<html"), ("/index.html", "text/html", b"<html"),
    ("/publish.html", "text/html", b"<html"), ("/watch.html", "text/html", b"<html"),
    ("/whip-client.js", "text/javascript", b""), ("/style.css", "text/css", b""),
])
def test_web_pages(server, path, content_type, marker):
    response = server.request("GET", path)
    assert response.status == 200, (path, response.status)
    assert (response.header("Content-Type") or "").split(";")[0] == content_type, response.header("Content-Type")
    assert response.body and marker in response.body
    assert int(response.header("Content-Length")) == len(response.body)


@pytest.mark.parametrize("path", ["/../etc/passwd", "/%2e%2e/etc/passwd", "/..%2Fetc%2Fpasswd", "/public/../../etc/passwd",
                                  "/./index.html/../../../etc/passwd", "/.git/config", "/%2e%2e%2f%2e%2e%2fetc/passwd",
                                  "//etc/passwd", "/etc/passwd", "/nope.html"])
def test_no_files_outside_web_root(server, path):
    response = server.request("GET", path)
    assert response.status == 404, (path, response.status, response.text[:200])
    assert b"root:" not in response.body


def test_streams_and_healthz(server, live):
    health = server.request("GET", "/healthz")
    assert health.status == 200 and health.text == "ok\n"
    response = server.request("GET", "/streams")
    assert response.status == 200
    assert (response.header("Content-Type") or "").startswith("application/json")
    assert response.header("Cache-Control") == "no-store"
    listed = {s["name"]: s for s in json.loads(response.body)}
    assert listed[LIVE_STREAM] == {"name": LIVE_STREAM, "publishing": True, "viewers": 1, "video": False}, listed


# MARK: - The pair played through all of it


def test_live_pair_still_plays(server, live):
    assert server.alive(), server.log()
    result = live.listen(3.0)
    assert result["state"] == "connected", result
    assert abs(result["frequency"] - 440) < 10, result
    assert result["level"] > 0.05, result
    assert "ended" not in "\n".join(l for l in server.log().splitlines() if LIVE_STREAM in l), server.log()
