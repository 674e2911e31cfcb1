"""Hostile offers and candidates for the fuzz tests and the security battery.

Mutations of a real Chromium offer (audio + video of its own, one pair received),
line by line and token by token, as an attacker with a socket would send them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import strategies as st

HOSTILE = Path(__file__).parent / "hostile"
CHROMIUM_OFFER = (HOSTILE / "chromium_offer.sdp").read_bytes().decode("ascii")
_LINES = CHROMIUM_OFFER.rstrip("\r\n").split("\r\n")

TOKENS = (
    "",
    "0",
    "-1",
    "65536",
    "99999999999999999999",
    "image",
    "application",
    "text",
    "UDP/DTLS/SCTP",
    "RTP/AVP",
    "webrtc-datachannel",
    "inactive",
    "recvonly",
    "sendonly",
    "actpass",
    "holdconn",
    "sha-1",
    "127.0.0.1",
    "10.0.0.1",
    "::1",
    "x.local",
    "0.0.0.0",  # noqa: S104 (a candidate address, nothing binds it)
    "255.255.255.255",
    "typ",
    "relay",
    "tcp",
    "*",
    "é",
    ":",
    "/",
    "a=",
    "m=image 9 UDP/TLS/RTP/SAVPF 96",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
)


def saved_inputs() -> list[tuple[str, str]]:
    """Every input that once broke the hub: (file name, offer)."""
    return [
        (path.name, path.read_bytes().decode("utf-8"))
        for path in sorted(HOSTILE.glob("regression-*.sdp"))
    ]


@st.composite
def offers(draw: Any) -> str:
    lines = list(_LINES)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(("drop", "copy", "token", "cut", "kind", "text")))
        if how == "drop" and len(lines) > 1:
            del lines[at]
        elif how == "copy":
            lines.insert(at, lines[draw(st.integers(0, len(lines) - 1))])
        elif how == "token":
            parts = lines[at].split(" ")
            index = draw(st.integers(0, len(parts) - 1))
            parts[index] = draw(st.sampled_from(TOKENS) | st.text(max_size=12))
            lines[at] = " ".join(parts)
        elif how == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        elif how == "kind":
            kind = draw(st.sampled_from(("audio", "video", "image", "application", "text")))
            lines[at] = lines[at].replace("audio", kind).replace("video", kind)
        else:
            lines[at] = draw(st.sampled_from("vosctmab")) + "=" + draw(st.text(max_size=40))
    return "\r\n".join(lines) + "\r\n"


_CANDIDATE = "candidate:911908622 1 udp 2122194687 192.0.2.2 58821 typ host generation 0"


@st.composite
def candidates(draw: Any) -> object:
    """What a socket may send as ``room:candidate``'s candidate."""
    parts = _CANDIDATE.split(" ")
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(parts) - 1))
        parts[index] = draw(st.sampled_from(TOKENS) | st.text(max_size=12))
    line = " ".join(parts)
    return draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "candidate": st.just(line) | st.text(max_size=80),
                    "sdpMid": st.sampled_from(["0", "1", "7", "", None, 3]),
                    "sdpMLineIndex": st.sampled_from([0, 1, 99, -1, None, "0"]),
                }
            ),
            st.none(),
            st.just(line),
            st.integers(),
            st.lists(st.just(line), max_size=2),
        )
    )
