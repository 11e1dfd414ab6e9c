"""aiortc as a WHIP publisher and a WHEP viewer of a Skylark server."""

from __future__ import annotations

import asyncio

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from aiortc_peer import AudioCollector, SineTrack, restrict_host_candidates
from skylark_server import SkylarkServer

restrict_host_candidates("127.0.0.1")


class Client:
    def __init__(self, server: SkylarkServer, path: str, token: str | None = None) -> None:
        self.server = server
        self.path = path
        self.token = token
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.location: str | None = None
        self.etag: str | None = None
        self.collector = AudioCollector()
        self.connected = asyncio.Event()

        @self.pc.on("connectionstatechange")
        def _state() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

        @self.pc.on("track")
        def _track(track) -> None:
            if track.kind == "audio":
                self.collector.start(track)

    async def negotiate(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        response = await asyncio.to_thread(self.server.post_offer, self.path, self.pc.localDescription.sdp, self.token)
        assert response.status == 201, f"POST {self.path}: {response.status} {response.text}"
        self.location = response.header("Location")
        self.etag = response.header("ETag")
        assert self.location and self.location.startswith(self.path + "/"), self.location
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=response.text, type="answer"))

    async def wait_connected(self, timeout: float = 10) -> None:
        await asyncio.wait_for(self.connected.wait(), timeout)

    async def delete(self) -> int:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = await asyncio.to_thread(self.server.request, "DELETE", self.location, None, headers)
        return response.status

    async def close(self) -> None:
        await self.collector.stop()
        await self.pc.close()


async def publisher(server: SkylarkServer, stream: str, frequency: float, token: str | None = None) -> Client:
    client = Client(server, f"/whip/{stream}", token)
    client.pc.addTransceiver(SineTrack(frequency), direction="sendonly")
    await client.negotiate()
    return client


async def viewer(server: SkylarkServer, stream: str, token: str | None = None) -> Client:
    client = Client(server, f"/whep/{stream}", token)
    client.pc.addTransceiver("audio", direction="recvonly")
    await client.negotiate()
    return client
