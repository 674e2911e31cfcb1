"""Socket payload validation: bad shapes get a precise code."""

from __future__ import annotations

import pytest

from signaling.messages import (
    BadMessage,
    CandidateMessage,
    JoinMessage,
    MediaStateMessage,
    OfferMessage,
)


@pytest.mark.parametrize(
    ("parse", "payload", "code"),
    [
        (JoinMessage.parse, None, "bad_payload"),
        (JoinMessage.parse, ["token"], "bad_payload"),
        (JoinMessage.parse, {}, "token_missing"),
        (JoinMessage.parse, {"token": "x" * 5000}, "token_missing"),
        (OfferMessage.parse, {"token": "t", "type": "answer", "sdp": "v=0"}, "bad_sdp"),
        (OfferMessage.parse, {"token": "t", "type": "offer", "sdp": "hello"}, "bad_sdp"),
        (
            OfferMessage.parse,
            {"token": "t", "type": "offer", "sdp": "v=0" + "a" * 70000},
            "bad_sdp",
        ),
        (CandidateMessage.parse, {"token": "t", "candidate": "text"}, "bad_candidate"),
        (MediaStateMessage.parse, {"token": "t", "audio": "yes", "video": True}, "bad_payload"),
        (
            MediaStateMessage.parse,
            {"token": "t", "audio": True, "video": True, "quality": "great"},
            "bad_payload",
        ),
        (
            MediaStateMessage.parse,
            {"token": "t", "audio": True, "video": True, "video_paused": "yes"},
            "bad_payload",
        ),
    ],
)
def test_bad_payloads_are_named(parse: object, payload: object, code: str) -> None:
    with pytest.raises(BadMessage) as info:
        parse(payload)  # type: ignore[operator]
    assert info.value.code == code


def test_good_payloads_parse() -> None:
    assert OfferMessage.parse({"token": "t", "type": "offer", "sdp": "v=0\r\n"}).sdp == "v=0\r\n"
    assert CandidateMessage.parse({"token": "t", "candidate": None}).candidate is None
    assert MediaStateMessage.parse({"token": "t", "audio": False, "video": True}).audio is False
    state = MediaStateMessage.parse(
        {"token": "t", "audio": True, "video": True, "video_paused": True, "quality": "poor"}
    )
    assert (state.video_paused, state.quality) == (True, "poor")
