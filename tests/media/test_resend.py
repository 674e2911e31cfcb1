"""Holes in a publisher's stream asked for again, with real timers."""

from __future__ import annotations

import asyncio

from media import resend
from media.resend import Resend


async def test_a_hole_is_asked_at_once_then_again_until_it_comes() -> None:
    asked: list[list[int]] = []
    given_up: list[int] = []
    tracker = Resend(asked.append, lambda: given_up.append(1))
    for seq in (65_533, 65_534, 1, 2):  # 65 535 and 0 lost across the wrap
        tracker.note(seq)
    assert asked == [[65_535, 0]]
    await asyncio.sleep(resend.RESEND_EVERY * 1.5)
    assert asked[-1] == [65_535, 0], "asked again while missing"
    tracker.note(0)  # the resend of 0 comes
    await asyncio.sleep(resend.RESEND_EVERY * 1.2)
    assert asked[-1] == [65_535] and tracker.recovered == 1
    assert not given_up
    tracker.close()


async def test_a_hole_that_never_fills_is_given_up_for_a_key_frame() -> None:
    asked: list[list[int]] = []
    given_up: list[int] = []
    tracker = Resend(asked.append, lambda: given_up.append(1))
    tracker.note(10)
    tracker.note(12)
    await asyncio.sleep(resend.RESEND_EVERY * (resend.MAX_TRIES + 1))
    assert len(asked) == resend.MAX_TRIES and given_up == [1]
    assert tracker.missing == [] and tracker.given_up == 1
    tracker.close()


async def test_a_jump_is_a_new_start_not_a_thousand_holes() -> None:
    asked: list[list[int]] = []
    tracker = Resend(asked.append, lambda: None)
    tracker.note(10)
    tracker.note(10 + resend.MAX_HOLE + 5)
    assert asked == [] and tracker.missing == []
    tracker.close()
