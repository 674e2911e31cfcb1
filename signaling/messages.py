"""Socket.io payloads validated into frozen dataclasses before the core sees them.

Every room message carries the join token; anything malformed raises ``BadMessage``
with a stable code, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from media.errors import ConsultServerError

MAX_TOKEN = 1024
MAX_SDP = 64 * 1024
#: The longest chat message, in characters.
MAX_CHAT = 2000


class BadMessage(ConsultServerError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code)


def as_object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadMessage("bad_payload", "expected an object")
    return payload


def token_of(payload: dict[str, Any]) -> str:
    token = payload.get("token")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise BadMessage("token_missing", "the join token is missing")
    return token


@dataclass(frozen=True)
class OfferMessage:
    token: str
    sdp: str

    @classmethod
    def parse(cls, payload: object) -> OfferMessage:
        data = as_object(payload)
        return cls(token_of(data), _offer_sdp(data))


@dataclass(frozen=True)
class JoinMessage:
    token: str
    #: The page's offer, sent with the join (one round trip less to the call).
    offer: str | None = None

    @classmethod
    def parse(cls, payload: object) -> JoinMessage:
        data = as_object(payload)
        offer = data.get("offer")
        return cls(token_of(data), None if offer is None else _offer_sdp(as_object(offer)))


def _offer_sdp(data: dict[str, Any]) -> str:
    sdp = data.get("sdp")
    if data.get("type") != "offer":
        raise BadMessage("bad_sdp", "type must be offer")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP:
        raise BadMessage("bad_sdp", "sdp is missing, malformed or too large")
    return sdp


@dataclass(frozen=True)
class CandidateMessage:
    token: str
    candidate: dict[str, Any] | None

    @classmethod
    def parse(cls, payload: object) -> CandidateMessage:
        data = as_object(payload)
        candidate = data.get("candidate")
        if candidate is not None and not isinstance(candidate, dict):
            raise BadMessage("bad_candidate", "candidate must be an object or null")
        return cls(token_of(data), candidate)


#: A participant's link as its page judges it (loss, round trip, bitrate).
QUALITIES = ("good", "fair", "poor")


@dataclass(frozen=True)
class MediaStateMessage:
    """What a participant sends: microphone and camera on or off, whether the page
    paused its video for the link's sake (not the person's), and its link quality."""

    token: str
    audio: bool
    video: bool
    video_paused: bool = False
    quality: str | None = None

    @classmethod
    def parse(cls, payload: object) -> MediaStateMessage:
        data = as_object(payload)
        audio, video = data.get("audio"), data.get("video")
        if not isinstance(audio, bool) or not isinstance(video, bool):
            raise BadMessage("bad_payload", "audio and video must be true or false")
        paused = data.get("video_paused", False)
        if not isinstance(paused, bool):
            raise BadMessage("bad_payload", "video_paused must be true or false")
        quality = data.get("quality")
        if quality is not None and quality not in QUALITIES:
            raise BadMessage("bad_payload", "quality must be good, fair or poor")
        return cls(token_of(data), audio, video, paused, quality)


@dataclass(frozen=True)
class ChatMessage:
    """A line of chat in a room: text, with its line breaks, no other control characters."""

    token: str
    text: str

    @classmethod
    def parse(cls, payload: object) -> ChatMessage:
        data = as_object(payload)
        text = data.get("text")
        if not isinstance(text, str):
            raise BadMessage("chat_empty", "the message is empty")
        text = text.strip()
        if not text:
            raise BadMessage("chat_empty", "the message is empty")
        if len(text) > MAX_CHAT:
            raise BadMessage("chat_too_long", f"a message holds at most {MAX_CHAT} characters")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadMessage("chat_bad_text", "the message is not valid text") from None
        if any(ord(c) < 32 and c not in "\n\t" for c in text.replace("\r\n", "\n")):
            raise BadMessage("chat_bad_text", "the message holds control characters")
        return cls(token_of(data), text.replace("\r\n", "\n"))


@dataclass(frozen=True)
class AnswerMessage:
    """A presenter marks a question answered: which one."""

    token: str
    question_id: int

    @classmethod
    def parse(cls, payload: object) -> AnswerMessage:
        data = as_object(payload)
        question_id = data.get("id")
        if isinstance(question_id, bool) or not isinstance(question_id, int) or question_id < 1:
            raise BadMessage("bad_question", "say which question (its id)")
        return cls(token_of(data), question_id)
