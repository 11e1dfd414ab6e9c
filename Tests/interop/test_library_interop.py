"""skylark-peer (the Swift stack) against aiortc and Chromium, as offerer and as answerer.

The binary is $SKYLARK_PEER or .build/debug/skylark-peer (`swift build --product
skylark-peer`). A missing binary fails these tests; it never skips them.
"""

from __future__ import annotations

import pytest

from harness import HarnessError, Peer, assert_connected, assert_received_tone, assert_sent, require_skylark_peer, run_pair

SECONDS = 3.0
SWIFT_TONE = 440.0
OTHER_TONE = 660.0

OTHERS = ["aiortc", "chromium"]


def require_binary() -> None:
    """Fail (never skip) when skylark-peer has not been built."""
    problem = None
    try:
        require_skylark_peer()
    except HarnessError as error:
        problem = str(error)
    if problem is not None:
        pytest.fail(problem, pytrace=False)


@pytest.mark.parametrize("other", OTHERS)
def test_skylark_offerer_sendrecv(other: str) -> None:
    require_binary()
    result = run_pair(Peer("skylark", tone=SWIFT_TONE, recv=True), Peer(other, tone=OTHER_TONE, recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "answerer", SWIFT_TONE)
    assert_received_tone(result, "offerer", OTHER_TONE)
    assert_sent(result, "offerer")


@pytest.mark.parametrize("other", OTHERS)
def test_skylark_answerer_sendrecv(other: str) -> None:
    require_binary()
    result = run_pair(Peer(other, tone=OTHER_TONE, recv=True), Peer("skylark", tone=SWIFT_TONE, recv=True), SECONDS)
    assert_connected(result)
    assert_received_tone(result, "offerer", SWIFT_TONE)
    assert_received_tone(result, "answerer", OTHER_TONE)
    assert_sent(result, "answerer")


def test_skylark_sendonly_offerer_to_aiortc() -> None:
    require_binary()
    result = run_pair(Peer("skylark", tone=SWIFT_TONE), Peer("aiortc", recv=True), SECONDS)
    assert_connected(result)
    assert "a=sendonly" in result.offer_sdp, result.offer_sdp
    assert_received_tone(result, "answerer", SWIFT_TONE)


def test_skylark_recvonly_offerer_from_aiortc() -> None:
    require_binary()
    result = run_pair(Peer("skylark", recv=True), Peer("aiortc", tone=OTHER_TONE), SECONDS)
    assert_connected(result)
    assert "a=recvonly" in result.offer_sdp, result.offer_sdp
    assert_received_tone(result, "offerer", OTHER_TONE)
