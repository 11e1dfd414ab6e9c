"""End-to-end media through `skylark serve`, with clients we did not write.

Every test starts its own server on 127.0.0.1 and checks what a listener would: the tone that was published
arrives at the viewers with the right frequency and a real level, and the sessions are gone afterwards.
"""

from __future__ import annotations

import asyncio
import fractions
import signal
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

import whip_clients
from aiortc import RTCSessionDescription
from chromium_peer import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
from skylark_server import SkylarkServer

TOLERANCE_HZ = 10


@pytest.fixture
def server(tmp_path):
    server = SkylarkServer().start(tmp_path)
    yield server
    server.stop()


def assert_heard(client, frequency: float, who: str) -> None:
    analysis = client.collector.analysis()
    assert abs(analysis["frequency"] - frequency) < TOLERANCE_HZ, f"{who} heard {analysis}"
    assert analysis["level"] > 0.05, f"{who} heard silence: {analysis}"


def test_aiortc_publisher_reaches_viewers_that_join_before_and_after(server):
    async def scenario():
        early = await whip_clients.viewer(server, "room")  # before anything is published
        publisher = await whip_clients.publisher(server, "room", 440)
        await publisher.wait_connected()
        late = [await whip_clients.viewer(server, "room") for _ in range(2)]
        for viewer in [early, *late]:
            await viewer.wait_connected()
        await asyncio.sleep(2.5)
        assert server.streams() == [{"name": "room", "publishing": True, "viewers": 3, "video": False}]
        for index, viewer in enumerate([early, *late]):
            assert_heard(viewer, 440, f"viewer {index}")
        for client in [early, *late, publisher]:
            assert await client.delete() == 200
            await client.close()
        await asyncio.sleep(0.2)
        assert server.streams() == []
        assert server.log().count("msg=\"session ended\"") == 4

    asyncio.run(scenario())


def test_a_new_publisher_reaches_existing_viewers_without_them_reconnecting(server):
    async def scenario():
        first = await whip_clients.publisher(server, "relay", 440)
        viewer = await whip_clients.viewer(server, "relay")
        await viewer.wait_connected()
        await asyncio.sleep(1.5)
        assert_heard(viewer, 440, "viewer before the switch")
        # A second publisher is refused while the first is live ...
        busy = await asyncio.to_thread(server.post_offer, "/whip/relay", "v=0\r\n")
        assert busy.status in (400, 409)
        # ... unless it asks to take over (e.g. the same encoder reconnecting).
        second = whip_clients.Client(server, "/whip/relay?replace=1")
        second.pc.addTransceiver(whip_clients.SineTrack(660), direction="sendonly")
        await second.negotiate()
        await second.wait_connected()
        viewer.collector.chunks.clear()
        await asyncio.sleep(2.0)
        assert_heard(viewer, 660, "viewer after the switch")
        for client in [viewer, second, first]:
            await client.close()

    asyncio.run(scenario())


def open_descriptors(server) -> list[str]:
    """What each of the server's descriptors is open on, so a leak names itself."""
    import os
    directory = f"/proc/{server.process.pid}/fd"
    targets = []
    for name in sorted(os.listdir(directory), key=int):
        try:
            targets.append(f"{name} -> {os.readlink(f'{directory}/{name}')}")
        except OSError:
            pass
    return targets


def test_twenty_viewers_all_receive_the_publisher(server):
    async def scenario():
        descriptors_before = open_descriptors(server)
        publisher = await whip_clients.publisher(server, "crowd", 523.25)
        viewers = [await whip_clients.viewer(server, "crowd") for _ in range(20)]
        await asyncio.gather(*(viewer.wait_connected(15) for viewer in viewers))
        await asyncio.sleep(2.5)
        assert server.streams()[0]["viewers"] == 20
        for index, viewer in enumerate(viewers):
            assert_heard(viewer, 523.25, f"viewer {index}")
        for viewer in viewers:
            assert await viewer.delete() == 200
            await viewer.close()
        assert await publisher.delete() == 200
        await publisher.close()
        await asyncio.sleep(0.5)
        # All sessions share the one UDP socket; ending them leaves nothing open behind.
        assert server.streams() == []
        # The one allowed extra is the connection of the streams() request just made, which may not be closed yet.
        descriptors_after = open_descriptors(server)
        leaked = [target for target in descriptors_after if target not in descriptors_before]
        assert len(descriptors_after) <= len(descriptors_before) + 1, f"descriptors leaked: {leaked}"

    asyncio.run(scenario())


def test_https_with_a_certificate_from_the_command_line(tmp_path):
    import ssl
    import subprocess
    import http.client

    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"), "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    server = SkylarkServer(extra_args=["--tls-cert", str(tmp_path / "cert.pem"),
                                       "--tls-key", str(tmp_path / "key.pem")]).start(tmp_path)
    try:
        assert f"https://127.0.0.1:{server.http_port}/" in server.log()
        context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        context.check_hostname = False
        connection = http.client.HTTPSConnection("127.0.0.1", server.http_port, context=context, timeout=10)
        connection.request("GET", "/publish.html")
        response = connection.getresponse()
        assert response.status == 200 and b"WHIP" in response.read()
        connection.close()
    finally:
        server.stop()


def publish_with_ffmpeg(url: str, seconds: float, frequency: float, errors: list[str]) -> None:
    """FFmpeg's own WHIP muxer (inside PyAV): Opus 48 kHz stereo, paced in real time."""
    try:
        container = av.open(url, "w", format="whip")
        stream = container.add_stream("libopus", rate=48000)
        stream.layout = "stereo"
        samples, pts, start = 960, 0, time.monotonic()
        while pts < seconds * 48000:
            t = (np.arange(samples) + pts) / 48000
            mono = (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate = 48000
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, 48000)
            for packet in stream.encode(frame):
                container.mux(packet)
            pts += samples
            wait = start + pts / 48000 - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        for packet in stream.encode(None):
            container.mux(packet)
        container.close()
    except Exception as error:  # reported by the test
        errors.append(repr(error))


def test_ffmpeg_whip_publisher_to_aiortc_viewer(server):
    async def scenario():
        viewer = await whip_clients.viewer(server, "ffmpeg")
        errors: list[str] = []
        thread = threading.Thread(target=publish_with_ffmpeg,
                                  args=(f"{server.base_url}/whip/ffmpeg", 4.0, 440, errors))
        thread.start()
        await asyncio.sleep(3.5)
        streams = server.streams()
        await asyncio.to_thread(thread.join)
        assert errors == [], f"FFmpeg failed: {errors}\n{server.log()}"
        assert streams == [{"name": "ffmpeg", "publishing": True, "viewers": 1, "video": False}]
        assert_heard(viewer, 440, "aiortc viewer of FFmpeg")
        await viewer.close()
        await asyncio.sleep(0.3)
        # FFmpeg sends DELETE when it closes: the publisher session is gone.
        assert all(not stream["publishing"] for stream in server.streams())

    asyncio.run(scenario())


def start_chromium(tmp: Path, name: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp / name}")
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp / f"{name}.log"),
                      env={"TMPDIR": str(tmp)})
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(30)
    return driver


def open_pages(tmp: Path, server, stream: str, browsers: list, watchers: int = 1, query: str = ""):
    """A Chromium on publish.html and `watchers` more on watch.html of `stream`, all started; each browser is
    appended to `browsers` as soon as it exists, so the caller's `finally` quits it. Returns (publisher, watchers)."""
    publisher = start_chromium(tmp, "publisher")
    browsers.append(publisher)
    publisher.get(f"{server.base_url}/publish.html?stream={stream}&autostart=1{query}")
    watching = []
    for index in range(watchers):
        watcher = start_chromium(tmp, f"watcher{index}")
        browsers.append(watcher)
        watcher.get(f"{server.base_url}/watch.html?stream={stream}&autostart=1{query}")
        watching.append(watcher)
    return publisher, watching


def test_chromium_publish_page_to_two_chromium_watch_pages(server):
    tmp = Path(tempfile.mkdtemp(prefix="skylark-chromium-"))
    browsers = []
    try:
        publisher, watchers = open_pages(tmp, server, "browser", browsers, watchers=2)
        deadline = time.monotonic() + 20
        stats = []
        while time.monotonic() < deadline:
            stats = [watcher.execute_script("return window.skylarkStats") for watcher in watchers]
            if all(s["bytesReceived"] > 20000 and s["audioLevel"] > 0 for s in stats):
                break
            time.sleep(0.5)
        status = publisher.execute_script("return document.getElementById('status').textContent")
        assert all(s["bytesReceived"] > 20000 for s in stats), f"{stats}; publisher: {status}\n{server.log()}"
        assert all(s["audioLevel"] > 0 for s in stats), f"watchers heard silence: {stats}"
        assert server.streams() == [{"name": "browser", "publishing": True, "viewers": 2, "video": False}]
        # Stopping the pages sends DELETE for each session.
        for browser in browsers:
            browser.execute_script("document.getElementById('stop').click()")
        deadline = time.monotonic() + 5
        while server.streams() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.streams() == []
    finally:
        for browser in browsers:
            browser.quit()


def test_video_is_relayed_to_viewers_that_ask_for_it(server):
    from aiortc import VideoStreamTrack

    async def scenario():
        publisher = whip_clients.Client(server, "/whip/video")
        publisher.pc.addTransceiver(whip_clients.SineTrack(440), direction="sendonly")
        publisher.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await publisher.negotiate()
        await publisher.wait_connected()
        await asyncio.sleep(1.0)  # the viewer joins mid-stream: the server must ask for a keyframe
        viewer = whip_clients.Client(server, "/whep/video")
        viewer.pc.addTransceiver("audio", direction="recvonly")
        viewer.pc.addTransceiver("video", direction="recvonly")
        frames: list = []

        @viewer.pc.on("track")
        def on_track(track):
            if track.kind == "video":
                async def consume():
                    while True:
                        try:
                            frames.append(await track.recv())
                        except Exception:
                            return
                asyncio.ensure_future(consume())

        await viewer.negotiate()
        await viewer.wait_connected()
        await asyncio.sleep(3.0)
        assert server.streams() == [{"name": "video", "publishing": True, "viewers": 1, "video": True}]
        assert len(frames) > 20, f"the viewer decoded {len(frames)} video frames"
        assert frames[-1].width == 640 and frames[-1].height == 480
        assert_heard(viewer, 440, "audio+video viewer")
        await viewer.close()
        await publisher.close()

    asyncio.run(scenario())


TRANSPORT_STATE = """
const pc = window.skylarkPublisher || window.skylarkViewer;
const done = arguments[arguments.length - 1];
pc.getStats().then((report) => {
  let transport = null;
  report.forEach((entry) => { if (entry.type === "transport") transport = entry; });
  const pair = transport && report.get(transport.selectedCandidatePairId);
  done(transport && { ufrag: transport.iceLocalUsernameFragment, ice: transport.iceState, dtls: transport.dtlsState,
                      pair: transport.selectedCandidatePairId, pairState: pair && pair.state,
                      responses: pair ? pair.responsesReceived : 0 });
});
"""


def test_chromium_pages_restart_ice_and_keep_playing(server):
    """RFC 9725 §4.4 from the pages' client: the publisher and then the viewer restart ICE over PATCH with new
    credentials; the server answers with its own, Chromium's checks with the new credentials succeed, and the
    viewer keeps hearing the publisher without a new session."""
    tmp = Path(tempfile.mkdtemp(prefix="skylark-chromium-"))
    browsers = []

    def wait_for(what, condition, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"{what}; server log:\n{server.log()[-3000:]}")

    try:
        publisher, [watcher] = open_pages(tmp, server, "restart", browsers)
        wait_for("the watcher never heard the publisher",
                 lambda: watcher.execute_script("return window.skylarkStats.bytesReceived") > 20000)

        for browser in (publisher, watcher):
            before = browser.execute_async_script(TRANSPORT_STATE)
            old_etag = browser.execute_script("return window.skylarkSession.etag")
            new_etag = browser.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "window.skylarkSession.restartIce().then(done, (error) => done('error: ' + error.message));")
            assert new_etag and not new_etag.startswith("error") and new_etag != old_etag, new_etag
            # The transport moves to a pair of the new ICE generation only once a check with the new credentials
            # got the server's answer.
            after = wait_for(
                "ICE did not connect again with the new credentials",
                lambda: (lambda state: state if state and state["ufrag"] != before["ufrag"]
                         and state["pair"] != before["pair"] and state["pairState"] == "succeeded"
                         and state["responses"] > 0 and state["ice"] in ("connected", "completed")
                         and state["dtls"] == "connected" else None)(
                    browser.execute_async_script(TRANSPORT_STATE)))
            assert after["ufrag"] != before["ufrag"] and after["pair"] != before["pair"]

        heard = watcher.execute_script("return window.skylarkStats.bytesReceived")
        wait_for("audio stopped after the ICE restarts",
                 lambda: watcher.execute_script("return window.skylarkStats.bytesReceived") > heard + 20000)
        assert watcher.execute_script("return window.skylarkStats.audioLevel") > 0
        assert server.streams() == [{"name": "restart", "publishing": True, "viewers": 1, "video": False}]
    finally:
        for browser in browsers:
            browser.quit()


class LossyRelay:
    """A UDP relay between a viewer and the server that drops one in `drop_every` of the server's video packets
    and counts the retransmissions (RTP headers travel in the clear under SRTP)."""

    def __init__(self, server_port: int, video_payload_type: int, rtx_payload_type: int, drop_every: int) -> None:
        self.server = ("127.0.0.1", server_port)
        self.video_payload_type = video_payload_type
        self.rtx_payload_type = rtx_payload_type
        self.drop_every = drop_every
        self.viewer: tuple[str, int] | None = None
        self.video_seen = 0
        self.dropped: set[int] = set()
        self.retransmissions = 0

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        relay = self

        class Front(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                relay.viewer = addr
                relay.back.sendto(data, relay.server)

        class Back(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                if relay.viewer is None:
                    return
                if len(data) >= 12 and 0x80 <= data[0] <= 0xBF and data[1] & 0x7F == relay.video_payload_type:
                    relay.video_seen += 1
                    if relay.video_seen % relay.drop_every == 0:
                        relay.dropped.add(int.from_bytes(data[2:4], "big"))
                        return
                elif len(data) >= 12 and 0x80 <= data[0] <= 0xBF and data[1] & 0x7F == relay.rtx_payload_type:
                    relay.retransmissions += 1
                relay.front.sendto(data, relay.viewer)

        self.front, _ = await loop.create_datagram_endpoint(Front, local_addr=("127.0.0.1", 0))
        self.back, _ = await loop.create_datagram_endpoint(Back, local_addr=("127.0.0.1", 0))
        return self.front.get_extra_info("sockname")[1]

    def close(self) -> None:
        self.front.close()
        self.back.close()


def test_lost_video_is_retransmitted_on_nack(tmp_path):
    """The viewer's video goes through a relay that drops one packet in 15; aiortc asks for them again with RTCP
    NACK (RFC 4585 §6.2.1) and the server resends them as RTX (RFC 4588) from the publisher's recent packets, so
    the viewer has every packet in the end. With two workers the publisher and the viewer live on different
    shards, so the retransmission crosses them."""
    import re

    from aiortc import VideoStreamTrack

    server = SkylarkServer(extra_args=["--workers", "2"]).start(tmp_path)

    async def scenario():
        publisher = whip_clients.Client(server, "/whip/lossy")
        publisher.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
        await publisher.negotiate()
        await publisher.wait_connected()

        viewer = whip_clients.Client(server, "/whep/lossy")
        viewer.pc.addTransceiver("video", direction="recvonly")
        frames: list = []

        @viewer.pc.on("track")
        def on_track(track):
            async def consume():
                while True:
                    try:
                        frames.append(await track.recv())
                    except Exception:
                        return
            asyncio.ensure_future(consume())

        await viewer.pc.setLocalDescription(await viewer.pc.createOffer())
        response = await asyncio.to_thread(server.post_offer, "/whep/lossy", viewer.pc.localDescription.sdp)
        assert response.status == 201, response.text
        viewer.location = response.header("Location")
        answer = response.text
        match = re.search(r"m=video \d+ UDP/TLS/RTP/SAVPF (\d+)", answer)
        assert match, answer
        video = int(match.group(1))
        assert re.search(rf"a=rtcp-fb:{video} nack\r\n", answer), "the answer offers NACK for the video codec"
        rtx = re.search(rf"a=fmtp:(\d+) apt={video}\r\n", answer)
        assert rtx and re.search(r"a=ssrc-group:FID \d+ \d+", answer), "the answer pairs an RTX stream with the video"
        relay = LossyRelay(server.udp_port, video, int(rtx.group(1)), drop_every=15)
        relay_port = await relay.start()
        # The viewer reaches the server only through the relay.
        answer = answer.replace(f" 127.0.0.1 {server.udp_port} typ host", f" 127.0.0.1 {relay_port} typ host")
        await viewer.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await viewer.wait_connected()
        await asyncio.sleep(4.0)

        assert len(relay.dropped) >= 5, f"only {relay.video_seen} video packets passed the relay"
        assert relay.retransmissions >= 0.8 * len(relay.dropped), \
            f"{relay.retransmissions} retransmissions for {len(relay.dropped)} dropped packets"
        # What the viewer still misses (aiortc's own NACK bookkeeping): at most the packet dropped last.
        receiver = viewer.pc.getReceivers()[0]
        missing = receiver._RTCRtpReceiver__nack_generator.missing & relay.dropped
        assert len(missing) <= 1, f"still missing {sorted(missing)} of {sorted(relay.dropped)}"
        assert len(frames) > 20, f"the viewer decoded {len(frames)} video frames"
        relay.close()
        await viewer.close()
        await publisher.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


VANISHING_VIEWER = """
import asyncio, sys
sys.path.insert(0, {here!r})
from skylark_server import SkylarkServer
import whip_clients
server = SkylarkServer(http_port={http}, udp_port={udp})
async def main():
    viewer = await whip_clients.viewer(server, "vanish")
    await viewer.wait_connected()
    print("connected", flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def test_a_viewer_that_vanishes_is_dropped_by_consent_freshness(server):
    import subprocess
    import sys

    here = str(Path(__file__).resolve().parent)
    script = VANISHING_VIEWER.format(here=here, http=server.http_port, udp=server.udp_port)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "connected"
        assert server.streams()[0]["viewers"] == 1
        child.kill()  # no DELETE, no DTLS close_notify: the client is simply gone
        child.wait()
        deadline = time.monotonic() + 45
        while server.streams() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert server.streams() == [], "the vanished viewer was never dropped"
        assert "consent" in server.log()
    finally:
        child.kill()


def test_a_viewer_that_stops_reading_does_not_slow_the_others(server):
    import subprocess
    import sys

    here = str(Path(__file__).resolve().parent)
    script = VANISHING_VIEWER.replace('"vanish"', '"steady"').format(here=here, http=server.http_port, udp=server.udp_port)

    async def scenario():
        publisher = await whip_clients.publisher(server, "steady", 440)
        await publisher.wait_connected()
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert (await asyncio.to_thread(child.stdout.readline)).strip() == "connected"
            child.send_signal(signal.SIGSTOP)  # alive, but its socket is no longer read
            viewers = [await whip_clients.viewer(server, "steady") for _ in range(2)]
            for viewer in viewers:
                await viewer.wait_connected()
            await asyncio.sleep(3.0)
            assert server.streams()[0]["viewers"] == 3
            for index, viewer in enumerate(viewers):
                assert_heard(viewer, 440, f"viewer {index} beside a stalled one")
                stats = await viewer.pc.getStats()
                lost = sum(getattr(s, "packetsLost", 0) or 0 for s in stats.values() if s.type == "inbound-rtp")
                assert lost <= 2, f"viewer {index} lost {lost} packets"
            for viewer in viewers:
                await viewer.close()
        finally:
            child.kill()
            child.wait()
            await publisher.close()

    asyncio.run(scenario())
