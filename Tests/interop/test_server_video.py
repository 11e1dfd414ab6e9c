"""Video through `skylark serve` with real browsers and encoders: simulcast from Chromium, each viewer on its own
layer, codec negotiation both ways.

One headless Chromium hosts the publisher and the viewers as separate RTCPeerConnections (one browser keeps the
2-core machine free for the encoders); what each viewer decoded is read from its own getStats().
"""

from __future__ import annotations

import asyncio
import random
import re
import select
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

import whip_clients
from skylark_server import SkylarkServer
from test_server_media import assert_heard, start_chromium

# The page-side half: WHIP/WHEP over fetch from the server's own origin, simulcast with three encodings.
VIDEO_JS = r"""
window.sk = window.sk || {};
const gathered = (pc) => new Promise((resolve) => {
  if (pc.iceGatheringState === "complete") return resolve();
  pc.addEventListener("icegatheringstatechange", () => { if (pc.iceGatheringState === "complete") resolve(); });
  setTimeout(resolve, 5000);
});
// Chromium's send-side estimate starts at 300 kbps and, with no transport-cc feedback, ramps up over tens of
// seconds; a start bitrate lets all three layers run from the first seconds of the test.
const startBitrate = (sdp) => sdp.replace(/a=rtpmap:(\d+) (VP8|H264)\/90000\r\n/g, (line, pt) => {
  const fmtp = new RegExp(`a=fmtp:${pt} ([^\r]*)\r\n`);
  return line + (fmtp.test(sdp) ? "" : `a=fmtp:${pt} x-google-start-bitrate=2500\r\n`);
}).replace(/a=fmtp:(\d+) ((?:(?!x-google)[^\r])*)\r\n/g, (line, pt, rest) =>
  /apt=/.test(rest) ? line : `a=fmtp:${pt} ${rest};x-google-start-bitrate=2500\r\n`);
async function exchange(pc, url, rewrite) {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/sdp"},
                                     body: pc.localDescription.sdp});
  const text = await response.text();
  if (response.status !== 201) return {status: response.status, body: text};
  await pc.setRemoteDescription({type: "answer", sdp: rewrite ? rewrite(text) : text});
  return {status: 201, answer: text, location: response.headers.get("Location")};
}
window.skPublish = async function (url, codec, simulcast) {
  const media = await navigator.mediaDevices.getUserMedia({video: {width: 1280, height: 720, frameRate: 30}});
  const pc = new RTCPeerConnection();
  const encodings = simulcast ? [{rid: "q", scaleResolutionDownBy: 4}, {rid: "h", scaleResolutionDownBy: 2}, {rid: "f"}]
                              : [{}];
  const transceiver = pc.addTransceiver(media.getVideoTracks()[0], {direction: "sendonly", sendEncodings: encodings});
  if (codec) {
    const codecs = RTCRtpSender.getCapabilities("video").codecs;
    const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === `video/${codec}` &&
      (codec !== "h264" || /packetization-mode=1/.test(c.sdpFmtpLine) && /profile-level-id=42e01f/.test(c.sdpFmtpLine)));
    transceiver.setCodecPreferences(wanted.concat(codecs.filter((c) => /rtx/i.test(c.mimeType))));
  }
  // The machine is small: keep the resolution and let the frame rate give instead.
  const parameters = transceiver.sender.getParameters();
  parameters.degradationPreference = "maintain-resolution";
  await transceiver.sender.setParameters(parameters);
  const result = await exchange(pc, url, startBitrate);
  window.sk.publisher = pc;
  return result;
};
window.skView = async function (name, url, relayPort, serverPort, options) {
  const pc = new RTCPeerConnection();
  if (options && options.audio) {
    pc.addTransceiver("audio", {direction: "recvonly"});
    // What the viewer hears, through WebAudio (Chromium feeds remote audio into it only while a media element
    // plays the stream too; muted is enough).
    pc.addEventListener("track", (event) => {
      if (event.track.kind !== "audio") return;
      const stream = new MediaStream([event.track]);
      const element = new Audio();
      element.muted = true;
      element.srcObject = stream;
      element.play().catch(() => {});
      const context = new AudioContext({sampleRate: 48000});
      context.resume();
      const analyser = context.createAnalyser();
      analyser.fftSize = 8192;
      context.createMediaStreamSource(stream).connect(analyser);
      pc.skylarkAudio = {element, context, analyser};
    });
  }
  const video = pc.addTransceiver("video", {direction: "recvonly"});
  if (options && options.videoCodec) {
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
    video.setCodecPreferences(codecs.filter((c) => c.mimeType.toLowerCase() === `video/${options.videoCodec}`));
  }
  const viaRelay = relayPort ? (sdp) => sdp.split(` 127.0.0.1 ${serverPort} typ host`).join(` 127.0.0.1 ${relayPort} typ host`)
                             : null;
  const result = await exchange(pc, url, viaRelay);
  window.sk[name] = pc;
  return result;
};
window.skSent = async function () {
  const layers = {};
  (await window.sk.publisher.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video") layers[s.rid || "-"] = {width: s.frameWidth || 0, bytes: s.bytesSent};
  });
  return layers;
};
window.skReceived = async function (name) {
  let video = {width: 0, height: 0, framesDecoded: 0, codec: "", videoPackets: 0};
  const report = await window.sk[name].getStats();
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      const codec = report.get(s.codecId);
      video = {width: s.frameWidth || 0, height: s.frameHeight || 0, framesDecoded: s.framesDecoded || 0,
               codec: codec ? codec.mimeType : "", videoPackets: s.packetsReceived || 0};
    }
  });
  const audio = window.sk[name].skylarkAudio;
  if (audio) {
    const spectrum = new Float32Array(audio.analyser.frequencyBinCount);
    audio.analyser.getFloatFrequencyData(spectrum);
    let peak = 1;
    for (let i = 1; i < spectrum.length; i++) if (spectrum[i] > spectrum[peak]) peak = i;
    const samples = new Float32Array(audio.analyser.fftSize);
    audio.analyser.getFloatTimeDomainData(samples);
    video.frequency = peak * 48000 / audio.analyser.fftSize;
    video.level = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
  }
  return video;
};
"""


class ThrottledRelay:
    """A UDP relay between one viewer and the server that drops a share of the server's video packets while
    `loss` is above zero (RTP headers travel in the clear under SRTP, RTCP passes untouched)."""

    def __init__(self, server_port: int) -> None:
        self.server = ("127.0.0.1", server_port)
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.bind(("127.0.0.1", 0))
        self.port = self.front.getsockname()[1]
        self.viewer = None
        self.loss = 0.0
        self.dropped = 0
        self.running = True
        self.random = random.Random(7)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.2)
            for sock in ready:
                data, addr = sock.recvfrom(2048)
                if sock is self.front:
                    self.viewer = addr
                    self.back.sendto(data, self.server)
                elif self.viewer is not None:
                    is_rtp = len(data) >= 12 and 0x80 <= data[0] <= 0xBF and not 64 <= data[1] & 0x7F <= 95
                    if is_rtp and self.loss > 0 and self.random.random() < self.loss:
                        self.dropped += 1
                        continue
                    self.front.sendto(data, self.viewer)

    def close(self) -> None:
        self.running = False
        self.thread.join(timeout=2)
        self.front.close()
        self.back.close()


@pytest.fixture
def browser():
    tmp = Path(tempfile.mkdtemp(prefix="skylark-chromium-"))
    driver = start_chromium(tmp, "video")
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def load_page(driver, server) -> None:
    driver.get(f"{server.base_url}/index.html")
    driver.execute_script(VIDEO_JS)


def wait_for(what: str, probe, condition, seconds: float = 25):
    deadline = time.monotonic() + seconds
    value = probe()
    while not condition(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = probe()
    assert condition(value), f"{what}: {value}"
    return value


@pytest.mark.parametrize("codec", ["vp8", "h264"])
def test_chromium_simulcast_reaches_each_viewer_at_its_layer(tmp_path, browser, codec):
    """Chromium publishes a 1280x720 camera as three layers (rid q/h/f, 1/4, 1/2 and full size): the answer accepts
    them, so all three are sent; a viewer gets the highest (1280x720), a second one that asked for `?layer=low`
    gets 320x180. The first viewer's packets then go through a relay that loses a quarter of them: it is
    stepped down to a smaller layer, and back to 1280x720 once the loss stops."""
    server = SkylarkServer().start(tmp_path)
    relay = ThrottledRelay(server.udp_port)
    try:
        load_page(browser, server)
        published = browser.execute_script("return window.skPublish(arguments[0], arguments[1], true)",
                                            f"{server.base_url}/whip/sim", codec)
        assert published["status"] == 201, published
        answer = published["answer"]
        assert "a=simulcast:recv q;h;f\r\n" in answer, answer
        assert all(f"a=rid:{rid} recv\r\n" in answer for rid in "qhf"), answer
        sent = wait_for("Chromium sends three layers", lambda: browser.execute_script("return window.skSent()"),
                        lambda layers: len(layers) == 3 and all(layer["bytes"] > 50_000 for layer in layers.values()))
        assert sent["f"]["width"] == 1280, sent

        high = browser.execute_script("return window.skView('high', arguments[0], arguments[1], arguments[2])",
                                      f"{server.base_url}/whep/sim", relay.port, server.udp_port)
        assert high["status"] == 201, high
        low = browser.execute_script("return window.skView('low', arguments[0])", f"{server.base_url}/whep/sim?layer=low")
        assert low["status"] == 201, low

        def received(name):
            return lambda: browser.execute_script("return window.skReceived(arguments[0])", name)

        first = wait_for("the default viewer decodes the full layer", received("high"),
                         lambda v: v["width"] == 1280 and v["height"] == 720 and v["framesDecoded"] > 30)
        assert first["codec"].lower() == f"video/{codec}", first
        wait_for("the ?layer=low viewer decodes the smallest layer", received("low"),
                 lambda v: v["width"] == 320 and v["height"] == 180 and v["framesDecoded"] > 30)

        relay.loss = 0.25
        wait_for("the lossy viewer is stepped down", received("high"), lambda v: 0 < v["width"] < 1280)
        time.sleep(4)  # still lossy: it stays down
        assert 0 < received("high")()["width"] < 1280, received("high")()
        assert relay.dropped > 50, f"the relay dropped only {relay.dropped} packets"
        relay.loss = 0.0
        wait_for("the viewer is back on the full layer once loss stops", received("high"),
                 lambda v: v["width"] == 1280, seconds=40)
        # The low viewer was never moved.
        assert browser.execute_script("return window.skReceived('low')")["width"] == 320
        assert server.streams() == [{"name": "sim", "publishing": True, "viewers": 2, "video": True}]
    finally:
        relay.close()
        server.stop()


def test_a_vp8_first_offer_is_answered_with_vp8_and_a_vp8_only_viewer_of_h264_gets_no_video(tmp_path, browser):
    """RFC 3264 §6.1: Chromium's own offer lists VP8 first and is answered with VP8. A stream published in H.264
    is offered to a viewer that only decodes VP8: it keeps its audio and gets its video section rejected (port 0),
    and a video-only VP8 viewer is refused with 406 saying what the stream sends."""
    server = SkylarkServer().start(tmp_path)
    try:
        load_page(browser, server)
        published = browser.execute_script("return window.skPublish(arguments[0], null, false)",
                                            f"{server.base_url}/whip/vp8first")
        assert published["status"] == 201, published
        assert re.search(r"m=video \d+ UDP/TLS/RTP/SAVPF (\d+)\r\n(?:.*\r\n)*?a=rtpmap:\1 VP8/90000", published["answer"]), \
            published["answer"]
    finally:
        server.stop()

    (tmp_path / "h264").mkdir()
    server = SkylarkServer().start(tmp_path / "h264")
    try:
        async def scenario():
            from aiortc import VideoStreamTrack
            from aiortc.rtcrtpsender import RTCRtpSender

            publisher = whip_clients.Client(server, "/whip/avc")
            publisher.pc.addTransceiver(whip_clients.SineTrack(440), direction="sendonly")
            video = publisher.pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
            video.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                       if c.mimeType == "video/H264"])
            await publisher.negotiate()
            await publisher.wait_connected()

            # Chromium (aiortc cannot take an answer with a rejected section) as the VP8-only viewer.
            load_page(browser, server)
            viewed = await asyncio.to_thread(
                browser.execute_script, "return window.skView('vp8only', arguments[0], null, null, arguments[1])",
                f"{server.base_url}/whep/avc", {"audio": True, "videoCodec": "vp8"})
            assert viewed["status"] == 201, viewed
            assert re.search(r"m=video 0 ", viewed["answer"]), viewed["answer"]
            assert re.search(r"m=audio [1-9]\d* ", viewed["answer"]), viewed["answer"]
            deadline = time.monotonic() + 15
            heard = {}
            while time.monotonic() < deadline:
                heard = await asyncio.to_thread(browser.execute_script, "return window.skReceived('vp8only')")
                if heard.get("level", 0) > 0.05 and abs(heard["frequency"] - 440) < 10:
                    break
                await asyncio.sleep(0.5)
            assert heard.get("level", 0) > 0.05 and abs(heard["frequency"] - 440) < 10, \
                f"the VP8-only viewer did not hear the 440 Hz tone: {heard}"
            assert heard["videoPackets"] == 0, f"the VP8-only viewer was sent H.264: {heard}"

            video_only = whip_clients.Client(server, "/whep/avc")
            only = video_only.pc.addTransceiver("video", direction="recvonly")
            only.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/VP8"])
            await video_only.pc.setLocalDescription(await video_only.pc.createOffer())
            refused = await asyncio.to_thread(server.post_offer, "/whep/avc", video_only.pc.localDescription.sdp)
            assert refused.status == 406, refused.text
            assert "the stream sends H.264" in refused.text and "VP8" in refused.text, refused.text
            await video_only.pc.close()
            await publisher.close()

        asyncio.run(scenario())
    finally:
        server.stop()


class FFmpegVideoPublisher:
    """FFmpeg's own WHIP muxer (inside PyAV) sending H.264 from libx264 at 640x360, 30 frames a second, a keyframe
    every second, paced in real time on a thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.errors: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        import av
        import numpy as np

        try:
            container = av.open(self.url, "w", format="whip")
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline", "g": "30",
                              "bf": "0"}
            start, index = time.monotonic(), 0
            while self.running and index < 30 * 60:
                picture = np.zeros((360, 640, 3), dtype=np.uint8)
                picture[:, (index * 8) % 640:(index * 8) % 640 + 40] = 255  # a moving bar
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                frame.pts = index
                for packet in stream.encode(frame):
                    container.mux(packet)
                index += 1
                wait = start + index / 30 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            container.close()
        except Exception as error:  # reported by the test
            self.errors.append(repr(error))

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=10)


def test_ffmpeg_h264_publisher_to_a_chromium_viewer(tmp_path, browser):
    """FFmpeg's WHIP muxer (through PyAV) publishes H.264 it encodes with libx264; a Chromium viewer is answered with
    a matching H.264 and decodes the frames at the size they were encoded."""
    server = SkylarkServer().start(tmp_path)
    try:
        publisher = FFmpegVideoPublisher(f"{server.base_url}/whip/ffvideo")
        try:
            wait_for("FFmpeg publishes", lambda: (server.streams(), publisher.errors),
                     lambda state: publisher.errors or any(x["publishing"] and x["video"] for x in state[0]))
            assert publisher.errors == [], f"FFmpeg failed: {publisher.errors}\n{server.log()}"
            load_page(browser, server)
            viewed = browser.execute_script("return window.skView('viewer', arguments[0])", f"{server.base_url}/whep/ffvideo")
            assert viewed["status"] == 201, viewed
            assert "H264/90000" in viewed["answer"], viewed["answer"]
            decoded = wait_for("Chromium decodes FFmpeg's H.264",
                               lambda: browser.execute_script("return window.skReceived('viewer')"),
                               lambda v: v["framesDecoded"] > 30)
            assert (decoded["width"], decoded["height"]) == (640, 360), decoded
            assert decoded["codec"].lower() == "video/h264", decoded
        finally:
            publisher.stop()
        assert publisher.errors == [], f"FFmpeg failed: {publisher.errors}"
    finally:
        server.stop()
