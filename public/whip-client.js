// Minimal WHIP (RFC 9725) and WHEP clients for the Skylark pages: one POST with the complete offer (candidates
// gathered first, so no trickle is needed), PATCH for ICE restart, DELETE on stop.
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
    await pc.setRemoteDescription({ type: "answer", sdp: body });
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
