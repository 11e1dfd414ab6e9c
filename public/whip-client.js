// Minimal WHIP (RFC 9725) and WHEP clients for the Skylark pages: one POST with the complete offer (candidates
// gathered first, so no trickle is needed), PATCH for ICE restart when the connection fails, DELETE on stop.
"use strict";

async function waitForGathering(pc, timeoutMs = 2000) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
    });
  });
}

function problemText(response, body) {
  try {
    const problem = JSON.parse(body);
    return `${response.status} ${problem.title || ""}${problem.detail ? ": " + problem.detail : ""}`;
  } catch (_) {
    return `${response.status} ${body || response.statusText}`;
  }
}

/// The ICE part of an SDP as an `application/trickle-ice-sdpfrag` body (RFC 8840 §9): credentials, then each
/// section's mid and candidates.
function iceFragment(sdp) {
  const lines = sdp.split(/\r?\n/);
  const out = [];
  const ufrag = lines.find((line) => line.startsWith("a=ice-ufrag:"));
  const pwd = lines.find((line) => line.startsWith("a=ice-pwd:"));
  if (ufrag) out.push(ufrag);
  if (pwd) out.push(pwd);
  for (const line of lines) {
    if (line.startsWith("m=") || line.startsWith("a=mid:") || line.startsWith("a=candidate:") ||
        line === "a=end-of-candidates") out.push(line);
  }
  return out.join("\r\n") + "\r\n";
}

/// The previous answer with the server's new ICE credentials from a PATCH response (RFC 9725 §4.4), and a newer
/// session version (RFC 8866 §5.2).
function restartedAnswer(answer, fragment) {
  const find = (name) => fragment.split(/\r?\n/).find((line) => line.startsWith(name));
  const ufrag = find("a=ice-ufrag:"), pwd = find("a=ice-pwd:");
  if (!ufrag || !pwd) throw new Error("the server's ICE restart answer has no credentials");
  return answer.split(/\r?\n/).map((line) => {
    if (line.startsWith("a=ice-ufrag:")) return ufrag;
    if (line.startsWith("a=ice-pwd:")) return pwd;
    const origin = line.match(/^o=(\S+) (\S+) (\d+) (.*)$/);
    if (origin) return `o=${origin[1]} ${origin[2]} ${BigInt(origin[3]) + 1n} ${origin[4]}`;
    return line;
  }).join("\r\n");
}

/// The ICE servers of `Link: <url>; rel="ice-server"; username="…"; credential="…"` headers (RFC 9725 §4.6), as
/// RTCIceServer dictionaries. Several Link headers arrive joined by ", ".
function iceServersFromLinks(header) {
  const servers = [];
  for (const match of (header || "").matchAll(/<([^>]*)>([^<]*)/g)) {
    const params = {};
    for (const param of match[2].matchAll(/;\s*([A-Za-z-]+)\s*=\s*"([^"]*)"/g)) params[param[1].toLowerCase()] = param[2];
    if (params.rel !== "ice-server") continue;
    const server = { urls: match[1] };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

class WHIPSession {
  /// endpoint: "/whip/<stream>" or "/whep/<stream>"; token: Bearer token or "".
  constructor(endpoint, token) {
    this.endpoint = endpoint;
    this.token = token;
    this.resource = null;
    this.etag = null;
  }

  headers(contentType) {
    const headers = { "Content-Type": contentType };
    if (this.token) headers["Authorization"] = "Bearer " + this.token;
    return headers;
  }

  /// The STUN and TURN servers to make the RTCPeerConnection with: an OPTIONS to the endpoint before the offer,
  /// with the token, so TURN credentials (made per stream, time-limited) come back in its Link headers.
  async iceServers() {
    try {
      const headers = {};
      if (this.token) headers["Authorization"] = "Bearer " + this.token;
      const response = await fetch(this.endpoint, { method: "OPTIONS", headers });
      return iceServersFromLinks(response.headers.get("Link"));
    } catch (_) {
      return [];  // no ICE servers: host candidates still work on an open network
    }
  }

  /// RTCConfiguration for this session: its ICE servers, and only relayed candidates with `?relay=1` in the page's
  /// address (to try a TURN server, or for networks where nothing else gets through).
  async configuration() {
    const relay = new URLSearchParams(location.search).get("relay") === "1";
    return { iceServers: await this.iceServers(), iceTransportPolicy: relay ? "relay" : "all" };
  }

  async start(pc) {
    this.pc = pc;
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    const response = await fetch(this.endpoint, {
      method: "POST", headers: this.headers("application/sdp"), body: pc.localDescription.sdp,
    });
    const body = await response.text();
    if (response.status !== 201) throw new Error(problemText(response, body));
    this.resource = new URL(response.headers.get("Location"), location.href).toString();
    this.etag = response.headers.get("ETag");
    this.answer = body;
    await pc.setRemoteDescription({ type: "answer", sdp: body });
    pc.addEventListener("iceconnectionstatechange", () => {
      if (pc.iceConnectionState === "failed" && this.resource && !this.restarting) {
        this.restartIce().catch((error) => console.warn("ICE restart failed:", error.message));
      }
    });
  }

  /// ICE restart (RFC 9725 §4.4): new credentials and candidates in a PATCH with `If-Match: *`; the server answers
  /// with its own new credentials, which go into the answer. Returns the session's new ETag.
  async restartIce() {
    const pc = this.pc;
    this.restarting = true;
    try {
      pc.restartIce();
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      await waitForGathering(pc);
      const headers = this.headers("application/trickle-ice-sdpfrag");
      headers["If-Match"] = "*";
      const response = await fetch(this.resource, { method: "PATCH", headers, body: iceFragment(pc.localDescription.sdp) });
      const body = await response.text();
      if (response.status !== 200) throw new Error(problemText(response, body));
      this.etag = response.headers.get("ETag") || this.etag;
      this.answer = restartedAnswer(this.answer, body);
      await pc.setRemoteDescription({ type: "answer", sdp: this.answer });
      return this.etag;
    } finally {
      this.restarting = false;
    }
  }

  async stop() {
    if (this.pc) this.pc.close();
    if (!this.resource) return;
    const headers = {};
    if (this.token) headers["Authorization"] = "Bearer " + this.token;
    try { await fetch(this.resource, { method: "DELETE", headers }); } catch (_) { /* the server frees it on timeout */ }
    this.resource = null;
  }
}

/// Linear RMS level (0…1) of an audio track through WebAudio.
function levelMeter(stream, onLevel) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const data = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += v * v;
    onLevel(Math.sqrt(sum / data.length));
  }, 100);
  return { stop() { clearInterval(timer); context.close(); } };
}
