"""A browser's offer, read strictly before aiortc sees it.

aiortc reads SDP leniently and assumes what it reads is whole: an offer missing a
fingerprint, with a media section outside the BUNDLE group, an ``m=image`` line or a
candidate with six fields gets into states that raise a dozen kinds of exception, some
later in background tasks, some when the peer is closed (which then never finishes).
Browsers send one narrow shape of offer; this module accepts that shape and refuses the
rest with a message saying what is wrong, before any peer exists.

It also screens candidates (``media.candidates``): the ones the server may not contact
are taken out of the offer, and at most ``MAX_REMOTE_CANDIDATES`` distinct ones stay.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from aiortc.rtcicetransport import RTCIceCandidate
from aiortc.sdp import candidate_from_sdp

from media.candidates import MAX_REMOTE_CANDIDATES, CandidatePolicy
from media.errors import MediaError

MAX_SDP_BYTES = 64 * 1024
MAX_LINES = 4000
#: Two for the participant's own camera and microphone, two per other publisher (a
#: consult has at most 4 people), with room to spare.
MAX_MEDIA_SECTIONS = 16
MAX_FORMATS = 64
PROTOCOL = "UDP/TLS/RTP/SAVPF"
#: A connection test's offer: one data channel.
PROBE_PROTOCOL = "UDP/DTLS/SCTP"

_LINE = re.compile(r"[a-z]=")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MID = re.compile(r"[A-Za-z0-9_.\-]{1,32}")
_ICE_CHARS = re.compile(r"[A-Za-z0-9+/]+")
_FINGERPRINT = re.compile(
    r"(sha-1|sha-224|sha-256|sha-384|sha-512) ([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2})+)"
)
_HASH_BYTES = {"sha-1": 20, "sha-224": 28, "sha-256": 32, "sha-384": 48, "sha-512": 64}
_PT_ATTRIBUTES = ("a=rtpmap:", "a=fmtp:", "a=rtcp-fb:")
_DIRECTIONS = {"a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"}
_SETUP = {"actpass", "active", "passive"}


def _refuse(message: str) -> MediaError:
    return MediaError("bad_sdp", message)


@dataclass
class _Section:
    number: int
    lines: list[str] = field(default_factory=list)


@dataclass
class ScreenedOffer:
    sdp: str
    #: Distinct candidates kept, and why the others were left out (reason -> count).
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


def _value(lines: list[str], prefix: str) -> list[str]:
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def _check_ice(session: list[str], section: _Section) -> None:
    for prefix, low in (("a=ice-ufrag:", 4), ("a=ice-pwd:", 22)):
        values = _value(section.lines, prefix) or _value(session, prefix)
        if len(values) != 1:
            raise _refuse(f"media section {section.number} needs one {prefix[2:-1]}")
        if not low <= len(values[0]) <= 256 or not _ICE_CHARS.fullmatch(values[0]):
            raise _refuse(f"media section {section.number} has a malformed {prefix[2:-1]}")
    fingerprints = _value(section.lines, "a=fingerprint:") or _value(session, "a=fingerprint:")
    if not fingerprints:
        raise _refuse(f"media section {section.number} has no DTLS fingerprint")
    for fingerprint in fingerprints:
        match = _FINGERPRINT.fullmatch(fingerprint)
        if match is None or len(match.group(2)) != 3 * _HASH_BYTES[match.group(1)] - 1:
            raise _refuse(f"media section {section.number} has a malformed fingerprint")
    setup = _value(section.lines, "a=setup:") or _value(session, "a=setup:")
    if len(setup) > 1 or (setup and setup[0] not in _SETUP):
        raise _refuse(f"media section {section.number} has a malformed setup")


def _int(text: str, low: int, high: int) -> int | None:
    if not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if low <= number <= high else None


def _check_media_line(section: _Section, line: str, probe: bool) -> list[int]:
    parts = line[2:].split(" ")
    if len(parts) < 4:
        raise _refuse(f"media section {section.number} has a malformed m= line")
    kind, port, protocol, *formats = parts
    if probe:
        if kind != "application" or protocol != PROBE_PROTOCOL or formats != ["webrtc-datachannel"]:
            raise _refuse("a connection test carries one data channel and no media")
        if _int(port, 0, 65535) is None:
            raise _refuse(f"media section {section.number} has a malformed port")
        return []
    if kind not in ("audio", "video"):
        raise _refuse(f"media section {section.number} is {kind[:16]!r}: only audio and video")
    if _int(port, 0, 65535) is None:
        raise _refuse(f"media section {section.number} has a malformed port")
    if protocol != PROTOCOL:
        raise _refuse(f"media section {section.number} must use {PROTOCOL}")
    numbers = [_int(f, 0, 127) for f in formats]
    if len(numbers) > MAX_FORMATS or any(n is None for n in numbers):
        raise _refuse(f"media section {section.number} has malformed payload types")
    return [n for n in numbers if n is not None]


def _check_section(session: list[str], section: _Section, probe: bool) -> str:
    """Check one media section; return its mid."""
    formats = set(_check_media_line(section, section.lines[0], probe))
    mids = _value(section.lines, "a=mid:")
    if len(mids) != 1 or not _MID.fullmatch(mids[0]):
        raise _refuse(f"media section {section.number} needs one well-formed mid")
    _check_ice(session, section)
    if sum(line in _DIRECTIONS for line in section.lines) > 1:
        raise _refuse(f"media section {section.number} has more than one direction")
    if "a=rtcp-mux" not in section.lines and not probe:
        raise _refuse(f"media section {section.number} must multiplex RTCP (rtcp-mux)")
    for line in section.lines:
        for prefix in _PT_ATTRIBUTES:
            if line.startswith(prefix):
                head = line[len(prefix) :].split(" ", 1)[0]
                if head != "*" or prefix != "a=rtcp-fb:":
                    number = _int(head, 0, 127)
                    if number is None or number not in formats:
                        raise _refuse(
                            f"media section {section.number} describes an unknown payload type"
                        )
        if line.startswith("a=rtpmap:") and not re.fullmatch(
            r"a=rtpmap:\d+ [A-Za-z0-9_.\-]+/\d{1,6}(/\d{1,2})?", line
        ):
            raise _refuse(f"media section {section.number} has a malformed rtpmap")
        if line.startswith("a=extmap:") and not re.fullmatch(
            r"a=extmap:\d{1,3}(/(sendrecv|sendonly|recvonly|inactive))? \S+", line
        ):
            raise _refuse(f"media section {section.number} has a malformed extmap")
        if line.startswith("a=ssrc:") and not re.fullmatch(r"a=ssrc:\d{1,10} \S.*", line):
            raise _refuse(f"media section {section.number} has a malformed ssrc")
        if line.startswith("a=ssrc-group:") and not re.fullmatch(
            r"a=ssrc-group:[A-Za-z]+( \d{1,10})+", line
        ):
            raise _refuse(f"media section {section.number} has a malformed ssrc-group")
    return mids[0]


def read_candidate(line: str) -> RTCIceCandidate:
    """One ``candidate:...`` attribute value; MediaError when it cannot be read."""
    fields = line.removeprefix("candidate:").split()
    if len(fields) < 8 or fields[6] != "typ" or len(line) > 1024:
        raise MediaError("bad_candidate", "a candidate line could not be read")
    if _int(fields[1], 1, 256) is None or _int(fields[3], 0, 2**32 - 1) is None:
        raise MediaError("bad_candidate", "a candidate line could not be read")
    if _int(fields[5], 0, 65535) is None or fields[7] not in ("host", "srflx", "prflx", "relay"):
        raise MediaError("bad_candidate", "a candidate line could not be read")
    try:
        return candidate_from_sdp(line.removeprefix("candidate:"))
    except Exception:  # aiortc's reader asserts and indexes: any failure is the same
        raise MediaError("bad_candidate", "a candidate line could not be read") from None


def candidate_refusal(candidate: RTCIceCandidate, policy: CandidatePolicy) -> str | None:
    """Why the server will not use this candidate, or None."""
    if candidate.component != 1:
        return "component"
    if candidate.protocol.lower() != "udp":
        return "transport"
    return policy.refusal(candidate.ip, candidate.port)


def _split(sdp: str) -> tuple[list[str], list[_Section]]:
    if not isinstance(sdp, str) or not sdp or len(sdp.encode("utf-8", "replace")) > MAX_SDP_BYTES:
        raise _refuse("the offer is missing or too large")
    if _CONTROL.search(sdp):
        raise _refuse("the offer has control characters")
    lines = [line.removesuffix("\r") for line in sdp.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) > MAX_LINES:
        raise _refuse("the offer has too many lines")
    if not lines or lines[0] != "v=0":
        raise _refuse("the offer must begin with v=0")
    session: list[str] = []
    sections: list[_Section] = []
    for line in lines:
        if not _LINE.match(line):
            raise _refuse("the offer has a line that is not type=value")
        if line.startswith("m="):
            if len(sections) == MAX_MEDIA_SECTIONS:
                raise _refuse(f"the offer has more than {MAX_MEDIA_SECTIONS} media sections")
            sections.append(_Section(len(sections)))
        (sections[-1].lines if sections else session).append(line)
    if not sections:
        raise _refuse("the offer must carry audio and/or video")
    return session, sections


def screen_offer(sdp: str, policy: CandidatePolicy, probe: bool = False) -> ScreenedOffer:
    """The offer with only the candidates the server may contact; MediaError("bad_sdp")
    saying what is wrong when it is not the shape a browser sends (``probe``: a
    connection test's, one data channel)."""
    session, sections = _split(sdp)
    if probe and len(sections) != 1:
        raise _refuse("a connection test carries one data channel and no media")
    mids = [_check_section(session, section, probe) for section in sections]
    if len(set(mids)) != len(mids):
        raise _refuse("two media sections share a mid")
    groups = [g.split(" ") for g in _value(session, "a=group:BUNDLE ")]
    if len(groups) != 1 or sorted(groups[0]) != sorted(mids):
        raise _refuse("every media section must be in one BUNDLE group")
    screened = ScreenedOffer("")
    seen: set[tuple[str, int]] = set()
    out: list[str] = list(session)
    for section in sections:
        for line in section.lines:
            if line.startswith("a=candidate:"):
                try:
                    candidate = read_candidate(line[2:])
                except MediaError:
                    raise _refuse(
                        f"media section {section.number} has an unreadable candidate"
                    ) from None
                reason = candidate_refusal(candidate, policy)
                place = (candidate.ip, candidate.port)
                if reason is None and place not in seen and len(seen) >= MAX_REMOTE_CANDIDATES:
                    reason = "too_many"
                if reason is not None:
                    screened.dropped[reason] += 1
                    continue
                seen.add(place)
            out.append(line)
    if not seen:
        # Ending candidates with none usable would fail ICE at once; left open, the
        # browser's own checks are learned as its candidates.
        out = [line for line in out if line != "a=end-of-candidates"]
    screened.sdp = "\r\n".join(out) + "\r\n"
    screened.kept = len(seen)
    return screened
