"""The harness, the aiortc peer and the Chromium driver against each other.

These involve no Skylark code: they prove the test rig works, so a failure in
test_library_interop.py points at skylark-peer, not at the rig.
"""

from __future__ import annotations

import pytest

from harness import Peer, assert_connected, assert_received_tone, assert_sent, run_pair

SECONDS = 3.0


@pytest.mark.parametrize(
    ("offer_tone", "answer_tone"),
    [(440.0, 660.0), (660.0, 440.0)],
    ids=["offer440-answer660", "offer660-answer440"],
)
def test_aiortc_to_aiortc_sendrecv(offer_tone: float, answer_tone: float) -> None:
    result = run_pair(Peer("aiortc", tone=offer_tone, recv=True), Peer("aiortc", tone=answer_tone, recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "answerer", offer_tone)
    assert_received_tone(result, "offerer", answer_tone)
    assert_sent(result, "offerer")
    assert_sent(result, "answerer")


def test_aiortc_sendonly_offer_to_recvonly_answer() -> None:
    result = run_pair(Peer("aiortc", tone=440.0), Peer("aiortc", recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "answerer", 440.0)
    assert "a=sendonly" in result.offer_sdp, result.offer_sdp
    assert "a=recvonly" in result.answer_sdp, result.answer_sdp


def test_aiortc_recvonly_offer_to_sendonly_answer() -> None:
    result = run_pair(Peer("aiortc", recv=True), Peer("aiortc", tone=660.0), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "offerer", 660.0)
    assert "a=recvonly" in result.offer_sdp, result.offer_sdp
    assert "a=sendonly" in result.answer_sdp, result.answer_sdp


def test_chromium_offerer_to_aiortc() -> None:
    result = run_pair(Peer("chromium", tone=440.0, recv=True), Peer("aiortc", tone=660.0, recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "answerer", 440.0)
    assert_received_tone(result, "offerer", 660.0)
    assert ".local" not in result.offer_sdp, f"Chromium used mDNS candidates:\n{result.offer_sdp}"
    assert "127.0.0.1" in result.offer_sdp, f"no loopback candidate:\n{result.offer_sdp}"


def test_aiortc_offerer_to_chromium() -> None:
    result = run_pair(Peer("aiortc", tone=440.0, recv=True), Peer("chromium", tone=660.0, recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "answerer", 440.0)
    assert_received_tone(result, "offerer", 660.0)
    assert ".local" not in result.answer_sdp, f"Chromium used mDNS candidates:\n{result.answer_sdp}"
