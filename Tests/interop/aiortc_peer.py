#!/usr/bin/env python3
"""An aiortc peer speaking the skylark-peer JSON-lines contract (see peer_protocol.py)."""

from __future__ import annotations

import asyncio
import fractions
import logging
import os
import sys
import time

import numpy as np
from av import AudioFrame

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aioice.ice  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from aiortc.rtcrtpreceiver import RTCRtpReceiver  # noqa: E402

import audio_analysis  # noqa: E402
import peer_protocol  # noqa: E402

SAMPLE_RATE = 48000
PTIME = 0.020
AMPLITUDE = 0.5

log = logging.getLogger("aiortc_peer")


class SineTrack(MediaStreamTrack):
    """A mono 48 kHz s16 sine, paced in real time, 20 ms per frame."""

    kind = "audio"

    def __init__(self, frequency: float) -> None:
        super().__init__()
        self._frequency = frequency
        self._samples = int(SAMPLE_RATE * PTIME)
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            wait = self._start + self._pts / SAMPLE_RATE - now
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(self._samples) + self._pts) / SAMPLE_RATE
        pcm = (AMPLITUDE * 32767 * np.sin(2 * np.pi * self._frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        self._pts += self._samples
        return frame


class AudioCollector:
    """Consumes a remote audio track, keeping the first channel as float samples."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.sample_rate = SAMPLE_RATE
        self.task: asyncio.Task | None = None

    def start(self, track: MediaStreamTrack) -> None:
        self.task = asyncio.ensure_future(self._consume(track))

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            pcm = frame.to_ndarray()
            channels = len(frame.layout.channels)
            if frame.format.is_planar or channels == 1:
                mono = pcm[0]
            else:
                mono = pcm.reshape(-1)[::channels]
            if frame.format.name.startswith("s16"):
                mono = audio_analysis.s16_to_float(mono)
            else:
                mono = np.asarray(mono, dtype=np.float64)
            self.sample_rate = frame.sample_rate
            self.chunks.append(mono)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    def analysis(self) -> dict:
        if not self.chunks:
            return {"frequency": 0.0, "level": 0.0}
        return audio_analysis.analyse(np.concatenate(self.chunks), self.sample_rate)


class PayloadCounter:
    """Counts received RTP payload bytes (W3C bytesReceived), which aiortc's stats lack."""

    total = 0

    @classmethod
    def install(cls) -> None:
        original = RTCRtpReceiver._handle_rtp_packet

        async def counting(self, packet, arrival_time_ms):
            cls.total += len(packet.payload)
            return await original(self, packet, arrival_time_ms)

        RTCRtpReceiver._handle_rtp_packet = counting


def restrict_host_candidates(address: str) -> None:
    """Make aioice gather host candidates on `address` only.

    aioice skips 127.0.0.1 on its own; in a namespace with only `lo` that would
    leave no candidates at all.
    """

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        is_v6 = ":" in address
        return [address] if (use_ipv6 if is_v6 else use_ipv4) else []

    aioice.ice.get_host_addresses = host_addresses


async def run(args) -> int:
    if args.bind:
        restrict_host_candidates(args.bind)
    PayloadCounter.install()
    # No ICE servers: aiortc would otherwise default to a public STUN server.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    report = peer_protocol.empty_report()
    connected = asyncio.Event()
    finished = asyncio.Event()
    collector = AudioCollector()

    @pc.on("connectionstatechange")
    def on_state() -> None:
        log.info("connectionState=%s", pc.connectionState)
        if pc.connectionState == "connected":
            report["connected"] = True
            connected.set()
        elif pc.connectionState in ("failed", "closed"):
            finished.set()

    @pc.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        if track.kind == "audio" and args.recv:
            collector.start(track)

    tone = SineTrack(args.tone) if args.tone is not None else None
    direction = peer_protocol.direction(args)
    loop = asyncio.get_running_loop()

    try:
        if args.role == "offerer":
            pc.addTransceiver(tone if tone is not None else "audio", direction=direction)
            await pc.setLocalDescription(await pc.createOffer())
            peer_protocol.write_message({"type": "offer", "sdp": pc.localDescription.sdp})
            answer = await loop.run_in_executor(None, peer_protocol.read_message, "answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        else:
            offer = await loop.run_in_executor(None, peer_protocol.read_message, "offer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "audio":
                    if tone is not None:
                        transceiver.sender.replaceTrack(tone)  # synchronous in aiortc
                    transceiver.direction = direction
                    break
            await pc.setLocalDescription(await pc.createAnswer())
            peer_protocol.write_message({"type": "answer", "sdp": pc.localDescription.sdp})

        waiter = asyncio.ensure_future(connected.wait())
        failer = asyncio.ensure_future(finished.wait())
        await asyncio.wait({waiter, failer}, timeout=args.connect_timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        failer.cancel()
        if report["connected"]:
            await asyncio.sleep(args.seconds)
        else:
            log.error("not connected (connectionState=%s)", pc.connectionState)

        stats = await pc.getStats()
        for s in stats.values():
            if s.type == "inbound-rtp":
                report["received"]["packets"] += s.packetsReceived
            elif s.type == "outbound-rtp":
                report["sent"]["packets"] += s.packetsSent
        report["received"]["bytes"] = PayloadCounter.total
        report["iceState"] = pc.iceConnectionState
        report["connectionState"] = pc.connectionState
        await collector.stop()
        report["received"].update(collector.analysis())
    finally:
        await pc.close()

    peer_protocol.write_message(report)
    return 0 if report["connected"] else 1


def main() -> int:
    args = peer_protocol.parse_args("aiortc interop peer")
    logging.basicConfig(
        level=logging.DEBUG if os.environ.get("PEER_DEBUG") else logging.WARNING,
        stream=sys.stderr,
        format="aiortc_peer %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
