#!/usr/bin/env python3
"""A headless-Chromium peer speaking the skylark-peer JSON-lines contract (see peer_protocol.py).

Selenium drives peer.html, which uses the browser's own RTCPeerConnection:
tone via WebAudio OscillatorNode -> MediaStreamDestination, receive analysis
via AnalyserNode, packet counts from getStats().
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

import peer_protocol  # noqa: E402

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BINARY", "/usr/bin/chromedriver")
GATHER_TIMEOUT_MS = 10_000

# Flags that matter for WebRTC on loopback, without trickle:
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # we run as root (CI)
    "--disable-dev-shm-usage",
    "--disable-gpu",
    # Media permissions and playback without a user gesture.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # Gather host candidates on 127.0.0.1 (Chromium drops loopback by default) ...
    "--allow-loopback-in-peer-connection",
    # ... and put real addresses in the SDP instead of <uuid>.local mDNS names,
    # which a peer without mDNS (aiortc, skylark-peer) cannot resolve.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # Keep the browser quiet: no background traffic, no first-run UI.
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-extensions",
    "--metrics-recording-only",
    "--password-store=basic",
]


def start_browser(profile_dir: str, log_path: str) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager from looking for one online.
    # Chromium's own stderr (D-Bus and ALSA complaints) goes to the driver log,
    # which is shown only when something failed.
    service = Service(executable_path=CHROMEDRIVER, log_output=log_path)
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_script_timeout(60)
    driver.get((HERE / "peer.html").as_uri())
    return driver


def call(driver: webdriver.Chrome, function: str, *args):
    """Call window.<function>(*args) and await its promise; raise on a JS exception."""
    return driver.execute_script(f"return window.{function}(...arguments);", *args)


def dump_console(driver: webdriver.Chrome) -> None:
    try:
        for entry in driver.get_log("browser"):
            print(f"chromium_peer console: {entry.get('level')} {entry.get('message')}", file=sys.stderr)
    except Exception:  # noqa: BLE001 - diagnostics only
        pass


def dump_driver_log(path: str, limit: int = 4000) -> None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return
    lines = [line for line in text.splitlines() if "dbus" not in line.lower()]
    tail = "\n".join(lines)[-limit:]
    print(f"chromium_peer: chromedriver/chromium log tail:\n{tail}", file=sys.stderr)


def run(args) -> int:
    opts = {"tone": args.tone, "recv": args.recv, "gatherTimeoutMs": GATHER_TIMEOUT_MS}
    profile_dir = tempfile.mkdtemp(prefix="skylark-chromium-")
    log_path = os.path.join(tempfile.gettempdir(), f"skylark-chromedriver-{os.getpid()}.log")
    driver = None
    ok = False
    try:
        driver = start_browser(profile_dir, log_path)
        if args.role == "offerer":
            local = call(driver, "peerOffer", opts)
            if not local["gatheringComplete"]:
                print("chromium_peer: ICE gathering did not complete; sending partial SDP", file=sys.stderr)
            peer_protocol.write_message({"type": "offer", "sdp": local["sdp"]})
            answer = peer_protocol.read_message("answer")
            call(driver, "peerAccept", answer["sdp"])
        else:
            offer = peer_protocol.read_message("offer")
            local = call(driver, "peerAnswer", opts, offer["sdp"])
            if not local["gatheringComplete"]:
                print("chromium_peer: ICE gathering did not complete; sending partial SDP", file=sys.stderr)
            peer_protocol.write_message({"type": "answer", "sdp": local["sdp"]})

        state = call(driver, "peerWaitConnected", int(args.connect_timeout * 1000))
        if state["connected"]:
            call(driver, "peerStartMedia")
            time.sleep(args.seconds)
        else:
            print(f"chromium_peer: not connected (connectionState={state['connectionState']})", file=sys.stderr)
        report = call(driver, "peerReport")
        if not report["connected"] or os.environ.get("PEER_DEBUG"):
            dump_console(driver)
        peer_protocol.write_message(report)
        ok = report["connected"]
        return 0 if ok else 1
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as error:  # noqa: BLE001
                print(f"chromium_peer: driver.quit failed: {error}", file=sys.stderr)
        shutil.rmtree(profile_dir, ignore_errors=True)
        if not ok or os.environ.get("PEER_DEBUG"):
            dump_driver_log(log_path)
        try:
            os.unlink(log_path)
        except OSError:
            pass


def main() -> int:
    # Turn SIGTERM into SystemExit so the browser is quit in `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = peer_protocol.parse_args("Chromium interop peer")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
