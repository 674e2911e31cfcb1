"""Who may review which recordings, and what the review pages list and show.

A recording session belongs to the facility that filed the consult and to the
facilities of the people recorded in it. A supervisor sees the sessions where one of
those is in their own subtree of the referral tree. Clinicians and specialists see the
sessions they were recorded in only when ``recordings.participants_may_view`` is on.
Admins manage facilities and accounts, not medical records: they see none (default
deny, like every role not named here).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Facility, Role, User
from consult_server.config import RecordingsConfig
from consult_server.consults.service import Consults
from consult_server.errors import BadRequest
from consult_server.local_time import day_start
from recordings.catalog import Entry, RecordingCatalog
from recordings.sessions import (
    Query,
    RecordedFile,
    RecordedSession,
    RecordedSessions,
    Scope,
    duration,
)

PAGE_SIZE = 20
#: What the session page's timeline shows (consult_events kinds).
TIMELINE_KINDS = (
    "room_join",
    "room_leave",
    "room_drop",
    "room_return",
    "room_audio_off",
    "room_audio_on",
    "room_video_off",
    "room_video_on",
    "recording_start",
    "recording_stop",
)
STATUSES = ("recording", "complete", "interrupted", "damaged", "deleted")


def _date(value: str, name: str, end: bool) -> float:
    try:
        day = datetime.date.fromisoformat(value)
        # Read in the service's time: "to 2026-12-01" includes that whole local day.
        return day_start(day + datetime.timedelta(days=1) if end else day)
    except (ValueError, OverflowError):
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD)", "bad_filter") from None


@dataclass(frozen=True)
class ReviewFilters:
    facility_id: int | None = None
    specialty: str | None = None
    date_from: str = ""
    date_to: str = ""
    min_minutes: int = 0
    status: str | None = None
    page: int = 1

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ReviewFilters:
        def number(name: str, low: int, high: int) -> int | None:
            raw = query.get(name, "").strip()
            if not raw:
                return None
            if (
                not (raw.isascii() and raw.isdigit() and len(raw) <= 10)
                or not low <= int(raw) <= high
            ):
                raise BadRequest(f"{name} must be a number from {low} to {high}", "bad_filter")
            return int(raw)

        status = query.get("status", "").strip() or None
        if status is not None and status not in STATUSES:
            raise BadRequest("unknown status", "bad_filter")
        specialty = query.get("specialty", "").strip() or None
        if specialty is not None and (len(specialty) > 64 or not specialty.isascii()):
            raise BadRequest("unknown specialty", "bad_filter")
        filters = cls(
            facility_id=number("facility", 1, 2**31),
            specialty=specialty,
            date_from=query.get("from", "").strip(),
            date_to=query.get("to", "").strip(),
            min_minutes=number("min_minutes", 0, 24 * 60) or 0,
            status=status,
            page=number("page", 1, 100_000) or 1,
        )
        for value, name in ((filters.date_from, "from"), (filters.date_to, "to")):
            if value:
                _date(value, name, end=name == "to")
        return filters

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters as URL parameters (for paging links)."""
        values = {
            "facility": self.facility_id or "",
            "specialty": self.specialty or "",
            "from": self.date_from,
            "to": self.date_to,
            "min_minutes": self.min_minutes or "",
            "status": self.status or "",
            "page": self.page,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v not in ("", None)}


@dataclass(frozen=True)
class TimelineEntry:
    #: Seconds from the session's start.
    offset: float
    kind: str
    who: str


@dataclass(frozen=True)
class RecordedSessionDetails:
    """Everything a session's page shows."""

    id: int
    consult_id: int
    started_at: float
    #: The session's end, or its last file's while it has none.
    ended_at: float | None
    summary: str
    urgency: str
    facility: str
    specialty: str
    clinician: str
    files: list[RecordedFile]
    timeline: list[TimelineEntry]
    status: str

    @property
    def duration(self) -> float | None:
        return duration(self.started_at, self.ended_at)


@dataclass(frozen=True)
class Page:
    rows: list[RecordedSession]
    total: int
    page: int
    pages: int


class Review:
    def __init__(
        self,
        sessions: RecordedSessions,
        catalog: RecordingCatalog,
        accounts: Accounts,
        consults: Consults,
        config: RecordingsConfig,
    ) -> None:
        self.store = sessions
        self.consults = consults
        self.catalog = catalog
        self.accounts = accounts
        self.config = config

    def reviews_any(self, user: User) -> bool:
        """Whether ``user``'s role may review at all: supervisors (their facilities'
        recordings), participants only when ``recordings.participants_may_view`` is on,
        admins never. Pages show the review link by this."""
        return user.role is Role.SUPERVISOR or (
            user.role in (Role.CLINICIAN, Role.SPECIALIST) and self.config.participants_may_view
        )

    async def scope(self, user: User) -> Scope:
        if not self.reviews_any(user):
            return Scope()
        if user.role is Role.SUPERVISOR:
            tree = await self.accounts.referral_tree()
            return Scope(facilities=frozenset(tree.descendants(user.facility_id)))
        return Scope(participant=user.id)

    async def may_review(self, user: User, recording_session_id: int) -> bool:
        scope = await self.scope(user)
        return not scope.empty and await self.store.in_scope(scope, recording_session_id)

    async def facilities_in_scope(self, user: User) -> list[Facility]:
        """The facilities a supervisor may filter by, by name."""
        scope = await self.scope(user)
        if not scope.facilities:
            return []
        found = [f for f in await self.accounts.facilities() if f.id in scope.facilities]
        return sorted(found, key=lambda f: f.name)

    async def listing(self, user: User, filters: ReviewFilters, language: str) -> Page:
        scope = await self.scope(user)
        if scope.empty:
            return Page([], 0, 1, 1)
        within = None
        if filters.facility_id is not None:
            tree = await self.accounts.referral_tree()
            within = frozenset(tree.descendants(filters.facility_id))

        def query(page: int) -> Query:
            return Query(
                scope=scope,
                within=within,
                specialty=filters.specialty,
                started_from=(
                    _date(filters.date_from, "from", end=False) if filters.date_from else None
                ),
                started_before=_date(filters.date_to, "to", end=True) if filters.date_to else None,
                min_seconds=filters.min_minutes * 60,
                status=filters.status,
                language=language,
                limit=PAGE_SIZE,
                offset=(page - 1) * PAGE_SIZE,
            )

        total, rows = await self.store.sessions(query(filters.page))
        pages = max(1, math.ceil(total / PAGE_SIZE))
        if filters.page > pages:  # past the end: the last page
            total, rows = await self.store.sessions(query(pages))
        return Page(rows, total, min(filters.page, pages), pages)

    async def recorded_session(
        self, recording_session_id: int, language: str
    ) -> RecordedSessionDetails | None:
        """Everything the session page shows (the caller checked ``may_review``)."""
        head = await self.store.head(recording_session_id, language)
        if head is None:
            return None
        files = await self.store.files(recording_session_id)
        ends = [f.ended_at for f in files if f.ended_at is not None]
        ended = head.ended_at or (max(ends) if ends else None)
        start = head.started_at
        until = (ended or start) + 5
        timeline = [
            TimelineEntry(max(0.0, e.at - start), e.kind, e.who)
            for e in await self.consults.timeline(head.consult_id, TIMELINE_KINDS)
            if start - 5 <= e.at <= until
        ]
        status = await self.store.status(recording_session_id) or "complete"
        return RecordedSessionDetails(
            **{**dataclasses.asdict(head), "ended_at": ended},
            files=files,
            timeline=timeline,
            status=status,
        )

    async def recording(self, recording_id: int) -> Entry | None:
        return await self.catalog.entry(recording_id)

    async def mark_damaged(self, recording_id: int) -> None:
        await self.catalog.damaged(recording_id)


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


REVIEW: AppKey[Review] = AppKey("review")
