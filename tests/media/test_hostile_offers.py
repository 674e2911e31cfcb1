"""Hostile offers and candidates against the media hub (issue 11, part 3).

Every offer gets an answer or a MediaError; nothing else escapes, not even later in
aiortc's background tasks; a refused offer leaves the room and the sender's working
peer as they were; a participant can always leave. The fuzzer runs a fixed budget here
(``CONSULT_FUZZ_EXAMPLES`` for a longer run, see docs/security.md).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from media.errors import MediaError
from media.hub import MediaHub
from media.ice_host import configure_host_addresses, install_rtp_fast_path, reset_host_addresses
from tests.media.hostile_sdp import CHROMIUM_OFFER, candidates, offers, saved_inputs
from tests.support.peers import ClientPeer

ROOM, ME, OTHER = "consult:5", 1, 2
EXAMPLES = int(os.environ.get("CONSULT_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OFFER_CODES = {"bad_sdp"}
CANDIDATE_CODES = {"bad_candidate", "no_peer", "too_many_candidates"}


class Loop:
    """One event loop for a whole fuzz run, recording what escapes into it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.escaped: list[str] = []
        self.loop.set_exception_handler(self._escaped)

    def _escaped(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        self.escaped.append(f"{context.get('message')}: {error!r}")

    def run(self, coro: Any, within: float = 10.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, within))

    def settle(self) -> None:
        """Let aiortc's background tasks for what just happened run (and fail)."""
        self.run(asyncio.sleep(0.05))

    def close(self) -> None:
        self.loop.close()


@pytest.fixture
def loop() -> Iterator[Loop]:
    configure_host_addresses(["127.0.0.1"])
    install_rtp_fast_path()
    running = Loop()
    yield running
    running.close()
    reset_host_addresses()


async def _try_offer(hub: MediaHub, sdp: str) -> str | None:
    try:
        return await hub.handle_offer(ROOM, ME, sdp, [OTHER])
    except MediaError as exc:
        assert exc.code in OFFER_CODES, exc.code
        return None


def test_the_chromium_offer_the_fuzzer_starts_from_is_answered(loop: Loop) -> None:
    hub = MediaHub()
    answer = loop.run(_try_offer(hub, CHROMIUM_OFFER))
    assert answer is not None and answer.startswith("v=0")
    assert answer.count("m=audio") == 2 and answer.count("m=video") == 2
    loop.run(hub.close())
    assert loop.escaped == []


def test_fuzzed_offers_are_answered_or_refused_and_leave_nothing_behind(loop: Loop) -> None:
    hub = MediaHub()
    tried = answered = 0

    @FUZZ
    @given(offers())
    def one(sdp: str) -> None:
        nonlocal tried, answered
        tried += 1
        answer = loop.run(_try_offer(hub, sdp))
        if answer is None:
            assert hub.stats() == {"rooms": 0, "peers": 0}
        else:
            answered += 1
            assert hub.stats() == {"rooms": 1, "peers": 1}
        loop.settle()
        loop.run(hub.leave(ROOM, ME), within=5)
        assert hub.stats() == {"rooms": 0, "peers": 0}
        assert loop.escaped == []

    one()
    loop.run(hub.close())
    assert tried >= min(EXAMPLES, 50)
    assert 0 < answered < tried  # the mutations reach both sides of the screen


@pytest.mark.parametrize(("name", "sdp"), saved_inputs())
def test_each_input_that_once_broke_the_hub_is_refused_cleanly(
    loop: Loop, name: str, sdp: str
) -> None:
    hub = MediaHub()
    with pytest.raises(MediaError) as refused:
        loop.run(hub.handle_offer(ROOM, ME, sdp, [OTHER]))
    assert refused.value.code == "bad_sdp"
    loop.settle()
    loop.run(hub.leave(ROOM, ME), within=5)
    loop.run(hub.close())
    assert hub.stats() == {"rooms": 0, "peers": 0}
    assert loop.escaped == []


def test_fuzzed_candidates_are_taken_or_refused(loop: Loop) -> None:
    hub = MediaHub()
    assert loop.run(_try_offer(hub, CHROMIUM_OFFER)) is not None
    peer = hub.room(ROOM).peers[ME]  # type: ignore[union-attr]
    outcomes: dict[str, int] = {}

    @FUZZ
    @given(candidates())
    def one(candidate: object) -> None:
        try:
            used = loop.run(hub.add_candidate(ROOM, ME, candidate))
            outcome = "used" if used else "ignored"
        except MediaError as exc:
            assert exc.code in CANDIDATE_CODES, exc.code
            outcome = exc.code
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        loop.settle()
        assert hub.room(ROOM).peers[ME] is peer  # type: ignore[union-attr]
        assert loop.escaped == []

    one()
    loop.run(hub.leave(ROOM, ME), within=5)
    loop.run(hub.close())
    assert "bad_candidate" in outcomes and "ignored" in outcomes, outcomes
    assert loop.escaped == []


async def test_a_refused_offer_leaves_the_senders_working_call_as_it_was(
    hub: MediaHub,
) -> None:
    """A participant mid-call sends a bad offer (a buggy page, or someone with their
    token): the call they are in goes on, same peer, media still flowing."""
    me, other = ClientPeer((220, 40, 40)), ClientPeer((40, 40, 220))
    try:
        await me.accept(await hub.handle_offer(ROOM, ME, await me.offer(), [OTHER]))
        await other.accept(await hub.handle_offer(ROOM, OTHER, await other.offer(), [ME]))
        deadline = asyncio.get_running_loop().time() + 20
        while other.received.audio_frames < 10 or not other.received.frames:
            assert asyncio.get_running_loop().time() < deadline, "no media before the test"
            await asyncio.sleep(0.05)
        room = hub.room(ROOM)
        assert room is not None
        before = room.peers[ME]
        publications = dict(room.publications)
        for bad in (CHROMIUM_OFFER.replace("m=audio", "m=image", 1), "v=0\r\n"):
            with pytest.raises(MediaError):
                await hub.handle_offer(ROOM, ME, bad, [OTHER])
        assert room.peers[ME] is before and room.publications == publications
        frames = len(other.received.frames) + other.received.audio_frames
        heard = other.received.audio_frames
        await asyncio.sleep(1.0)
        assert other.received.audio_frames > heard + 20, "media stopped after a bad offer"
        assert frames > 0
    finally:
        await me.close()
        await other.close()
