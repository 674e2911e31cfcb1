"""Simulcast (RFC 8853): a presenter's browser sends its camera at two qualities,
and each subscriber is forwarded the one its own link carries.

aiortc knows nothing of simulcast: it reads an offer's ``a=rid``/``a=simulcast`` lines
as nothing, and its answer names only the header extensions it implements. So the
offer is read here (``offered``), the answer is given the lines that accept the layers
and the RID header extensions (``accept``), and the packet path tells the layers apart
by SSRC, named by the RID their first packets carry (``media.publication``).

Which layer a subscriber gets (``LayerChoice``), once a second from its leg's
estimate (REMB, less the loss it reports):
- a new leg starts on the best layer (most viewers' links carry it; a weak one falls
  within a second or two);
- down at once, to the best layer that fits, when the estimate falls below what the
  leg gets (a receive-side estimate sits near the incoming rate while the link carries
  it, and falls under it on overuse); up at once when the estimate covers a better one;
- a receive-side estimate never rises far above what flows (GCC caps it near 1.5 times
  the incoming rate), so a leg that fell is tried one layer up blindly, first
  ``FIRST_TRY`` seconds after its fall; a try that fails (the estimate falls within
  ``TRY_SECONDS``) doubles the wait, up to ``LONGEST_WAIT``. (Probing with padding
  before a try would spare a weak link those seconds: not yet.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#: At most this many layers are accepted.
MAX_LAYERS = 3
#: A layer fits a leg when its bitrate is at most this share of the leg's estimate.
FITS = 0.85
FIRST_TRY = 15.0
LONGEST_WAIT = 120.0
TRY_SECONDS = 5.0
#: What the leg's audio takes from its estimate, bits/s.
AUDIO_SHARE = 40_000


@dataclass(frozen=True)
class Offered:
    """One video section's simulcast: its RIDs (in the offer's order) and the ids of
    the RID and repaired-RID header extensions (0: not offered)."""

    rids: tuple[str, ...]
    rid_id: int
    repaired_id: int


def _sections(sdp: str) -> list[list[str]]:
    lines = sdp.replace("\r\n", "\n").split("\n")
    sections: list[list[str]] = [[]]
    for line in lines:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    return sections


def _mid(section: list[str]) -> str | None:
    return next((line[6:] for line in section if line.startswith("a=mid:")), None)


def _extension_id(section: list[str], uri: str) -> int:
    for line in section:
        found = re.fullmatch(r"a=extmap:(\d{1,3})(?:/\w+)? (\S+)", line)
        if found and found.group(2) == uri:
            return int(found.group(1))
    return 0


def offered(sdp: str) -> dict[str, Offered]:
    """The video sections of an offer that send simulcast, by mid."""
    found: dict[str, Offered] = {}
    for section in _sections(sdp)[1:]:
        if not section[0].startswith("m=video"):
            continue
        mid = _mid(section)
        simulcast = next((line for line in section if line.startswith("a=simulcast:send ")), None)
        rid_id = _extension_id(section, RID_URI)
        if mid is None or simulcast is None or not rid_id:
            continue
        sent = {
            line.split()[0][6:]
            for line in section
            if re.fullmatch(r"a=rid:[\w-]{1,16} send( .*)?", line)
        }
        # One alternative per layer (";"), paused ones ("~") left out.
        names = [alt.split(",")[0] for alt in simulcast.split(" ", 1)[1].split(";")]
        rids = tuple(name for name in names if name in sent and not name.startswith("~"))
        if len(rids) > 1:
            found[mid] = Offered(
                rids[:MAX_LAYERS], rid_id, _extension_id(section, REPAIRED_RID_URI)
            )
    return found


def accept(answer: str, layers: dict[str, Offered]) -> str:
    """The answer, accepting each section's offered layers."""
    if not layers:
        return answer
    out: list[str] = []
    for section in _sections(answer):
        offer = layers.get(_mid(section) or "") if section and section[0].startswith("m=") else None
        if offer is None:
            out += section
            continue
        added = [f"a=extmap:{offer.rid_id} {RID_URI}"]
        if offer.repaired_id:
            added.append(f"a=extmap:{offer.repaired_id} {REPAIRED_RID_URI}")
        added += [f"a=rid:{rid} recv" for rid in offer.rids]
        added.append("a=simulcast:recv " + ";".join(offer.rids))
        last_extmap = max(
            (i for i, line in enumerate(section) if line.startswith("a=extmap:")), default=0
        )
        kept = [line for line in section if line]
        at = min(last_extmap + 1, len(kept))
        out += kept[:at] + added + kept[at:]
        if section and section[-1] == "":
            out.append("")
    return "\r\n".join(out)


@dataclass
class LayerChoice:
    """One subscriber's layer of one simulcast track."""

    rank: int = 99
    next_try: float | None = None
    wait: float = FIRST_TRY
    tried_at: float | None = None

    def update(self, bitrates: list[int], estimate: int, now: float) -> int:
        """The rank to forward, given each rank's bitrate now (lowest first; 0: not
        flowing) and the leg's estimate (bits/s, audio included)."""
        flowing = [rank for rank, rate in enumerate(bitrates) if rate > 0]
        if not flowing:
            return self.rank
        room = max(0, estimate - AUDIO_SHARE)
        fits = max((rank for rank in flowing if bitrates[rank] <= FITS * room), default=flowing[0])
        current = min(self.rank, len(bitrates) - 1)
        # A receive-side estimate sits near what flows while the link carries it, and
        # falls below it on overuse: only that (or loss, in the estimate) moves a leg down.
        overused = current not in flowing or room < FITS * bitrates[current]
        if fits < current and overused:
            if self.tried_at is not None and now - self.tried_at < TRY_SECONDS:
                self.wait = min(LONGEST_WAIT, self.wait * 2)  # the try failed
            self.tried_at = None
            self.next_try = now + self.wait
            self.rank = fits
        elif fits > current:
            self.rank = fits
        else:  # it carries what it gets
            self.rank = current
            better = [rank for rank in flowing if rank > current]
            if better and self.next_try is not None and now >= self.next_try:
                self.rank = better[0]
                self.tried_at = now
                self.next_try = None
            elif self.tried_at is not None and now - self.tried_at >= TRY_SECONDS:
                self.tried_at = None  # it held: a later fall waits the first wait again
                self.wait = FIRST_TRY
        return self.rank
