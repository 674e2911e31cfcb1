"""Who may review which recordings, and what the review pages list and show.

A recording session belongs to the facility that filed the consult and to the
facilities of the people recorded in it. A supervisor sees the sessions where one of
those is in their own subtree of the referral tree. Clinicians and specialists see the
sessions they were recorded in only when ``recordings.participants_may_view`` is on.
Admins manage facilities and accounts, not medical records: they see none (default
deny, like every role not named here).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.config import RecordingsConfig
from consult_server.errors import BadRequest
from consult_server.store.db import Database, Row

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
#: Vietnam's time (UTC+7, no daylight saving): how the date filters are read.
LOCAL_OFFSET = datetime.timezone(datetime.timedelta(hours=7))

#: A session's status from its files': the worst one wins.


def _count(status: str) -> str:
    return f"SUM(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END)"


_STATUS_SQL = (
    f"CASE WHEN {_count('recording')} > 0 THEN 'recording'"
    f" WHEN {_count('damaged')} > 0 THEN 'damaged'"
    f" WHEN {_count('interrupted')} > 0 THEN 'interrupted'"
    f" WHEN {_count('deleted')} = COUNT(*) THEN 'deleted'"
    " ELSE 'complete' END"
)


@dataclass(frozen=True)
class Scope:
    """What a user may review: sessions touching ``facilities``, or those recording
    ``participant``; neither: nothing."""

    facilities: frozenset[int] = frozenset()
    participant: int | None = None

    @property
    def empty(self) -> bool:
        return not self.facilities and self.participant is None

    def where(self) -> tuple[str, list[Any]]:
        """SQL condition on session ``s`` and consult ``c``."""
        if self.facilities:
            marks = ",".join("?" for _ in self.facilities)
            ids = sorted(self.facilities)
            return (
                f"(c.facility_id IN ({marks}) OR EXISTS (SELECT 1 FROM recordings r2"
                " JOIN users u2 ON u2.id = r2.user_id WHERE r2.session_id = s.id"
                f" AND u2.facility_id IN ({marks})))",
                [*ids, *ids],
            )
        if self.participant is not None:
            return (
                "EXISTS (SELECT 1 FROM recordings r2 WHERE r2.session_id = s.id"
                " AND r2.user_id = ?)",
                [self.participant],
            )
        return "0", []


def _date(value: str, name: str, end: bool) -> float:
    try:
        day = datetime.date.fromisoformat(value)
        start = datetime.datetime.combine(day, datetime.time(), LOCAL_OFFSET)
        if end:
            start += datetime.timedelta(days=1)
        return start.timestamp()
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
class SessionRow:
    id: int
    consult_id: int
    started_at: float
    ended_at: float | None
    facility: str
    specialty: str
    people: str
    status: str
    size: int
    files: int

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True)
class Page:
    rows: list[SessionRow]
    total: int
    page: int
    pages: int


class Review:
    def __init__(self, db: Database, accounts: Accounts, config: RecordingsConfig) -> None:
        self.db = db
        self.accounts = accounts
        self.config = config

    async def scope(self, user: User) -> Scope:
        if user.role is Role.SUPERVISOR:
            tree = await self.accounts.referral_tree()
            return Scope(facilities=frozenset(tree.descendants(user.facility_id)))
        if user.role in (Role.CLINICIAN, Role.SPECIALIST) and self.config.participants_may_view:
            return Scope(participant=user.id)
        return Scope()

    async def may_review(self, user: User, session_id: int) -> bool:
        scope = await self.scope(user)
        if scope.empty:
            return False
        condition, params = scope.where()
        row = await self.db.fetch_one(
            "SELECT 1 FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            f" WHERE s.id = ? AND {condition}",
            (session_id, *params),
        )
        return row is not None

    async def facilities_in_scope(self, user: User) -> list[Row]:
        scope = await self.scope(user)
        if not scope.facilities:
            return []
        marks = ",".join("?" for _ in scope.facilities)
        return await self.db.fetch_all(
            f"SELECT id, name, level FROM facilities WHERE id IN ({marks}) ORDER BY name",
            sorted(scope.facilities),
        )

    async def listing(self, user: User, filters: ReviewFilters, language: str) -> Page:
        scope = await self.scope(user)
        if scope.empty:
            return Page([], 0, 1, 1)
        condition, params = scope.where()
        clauses, having = [condition], []
        if filters.facility_id is not None:
            tree = await self.accounts.referral_tree()
            inside = Scope(facilities=frozenset(tree.descendants(filters.facility_id)))
            more, extra = inside.where()
            clauses.append(more)
            params += extra
        if filters.specialty:
            clauses.append("c.specialty_code = ?")
            params.append(filters.specialty)
        if filters.date_from:
            clauses.append("s.started_at >= ?")
            params.append(_date(filters.date_from, "from", end=False))
        if filters.date_to:
            clauses.append("s.started_at < ?")
            params.append(_date(filters.date_to, "to", end=True))
        having_params: list[Any] = []
        if filters.min_minutes:
            having.append("COALESCE(s.ended_at, MAX(r.ended_at)) - s.started_at >= ?")
            having_params.append(filters.min_minutes * 60)
        if filters.status:
            having.append(f"{_STATUS_SQL} = ?")
            having_params.append(filters.status)
        name = "name_en" if language == "en" else "name_vi"
        body = (
            "FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN specialties sp ON sp.code = c.specialty_code"
            " JOIN recordings r ON r.session_id = s.id"
            " JOIN users u ON u.id = r.user_id"
            f" WHERE {' AND '.join(clauses)} GROUP BY s.id, f.name, sp.{name}"
            + (f" HAVING {' AND '.join(having)}" if having else "")
        )
        all_params = [*params, *having_params]
        counted = await self.db.fetch_one(
            f"SELECT COUNT(*) AS n FROM (SELECT s.id {body}) AS matching", all_params
        )
        total = int(counted["n"]) if counted else 0
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(filters.page, pages)
        rows = await self.db.fetch_all(
            "SELECT s.id, s.consult_id, s.started_at,"
            " COALESCE(s.ended_at, MAX(r.ended_at)) AS ended_at, f.name AS facility,"
            f" sp.{name} AS specialty, {self._joined('u.display_name')} AS people,"
            f" {_STATUS_SQL} AS status, COALESCE(SUM(r.size), 0) AS size, COUNT(r.id) AS files"
            f" {body} ORDER BY s.started_at DESC LIMIT ? OFFSET ?",
            [*all_params, PAGE_SIZE, (page - 1) * PAGE_SIZE],
        )
        return Page([SessionRow(**row) for row in rows], total, page, pages)

    def _joined(self, column: str) -> str:
        """The aggregate joining a group's texts with ", " in this engine's SQL."""
        if self.db.postgresql:
            return f"STRING_AGG({column}, ', ')"
        return f"GROUP_CONCAT({column}, ', ')"

    async def session(self, session_id: int, language: str) -> dict[str, Any] | None:
        """Everything the session page shows (the caller checked ``may_review``)."""
        name = "name_en" if language == "en" else "name_vi"
        head = await self.db.fetch_one(
            "SELECT s.id, s.consult_id, s.started_at, s.ended_at, c.summary, c.urgency,"
            f" f.name AS facility, sp.{name} AS specialty, u.display_name AS clinician"
            " FROM recording_sessions s JOIN consults c ON c.id = s.consult_id"
            " JOIN facilities f ON f.id = c.facility_id"
            " JOIN specialties sp ON sp.code = c.specialty_code"
            " JOIN users u ON u.id = c.clinician_id WHERE s.id = ?",
            (session_id,),
        )
        if head is None:
            return None
        files = await self.files(session_id)
        ends = [f["ended_at"] for f in files if f["ended_at"] is not None]
        ended = head["ended_at"] or (max(ends) if ends else None)
        events = await self.db.fetch_all(
            "SELECT e.at, e.kind, u.display_name AS who FROM consult_events e"
            " LEFT JOIN users u ON u.id = e.actor_id WHERE e.consult_id = ? AND e.kind IN"
            f" ({','.join('?' for _ in TIMELINE_KINDS)}) ORDER BY e.at, e.id",
            (head["consult_id"], *TIMELINE_KINDS),
        )
        start = head["started_at"]
        until = (ended or start) + 5
        timeline = [
            {"offset": max(0.0, e["at"] - start), "kind": e["kind"], "who": e["who"] or ""}
            for e in events
            if start - 5 <= e["at"] <= until
        ]
        status = await self.db.fetch_one(
            f"SELECT {_STATUS_SQL} AS status FROM recordings r WHERE r.session_id = ?",
            (session_id,),
        )
        return {
            **dict(head),
            "ended_at": ended,
            "duration": None if ended is None else max(0.0, ended - start),
            "files": files,
            "timeline": timeline,
            "status": status["status"] if status else "complete",
        }

    async def files(self, session_id: int) -> list[dict[str, Any]]:
        rows = await self.db.fetch_all(
            "SELECT r.id, r.user_id, r.role, r.status, r.size, r.sha256, r.frames,"
            " r.frames_dropped, r.started_at, r.ended_at, u.display_name AS name,"
            " f.name AS facility"
            " FROM recordings r JOIN users u ON u.id = r.user_id"
            " JOIN facilities f ON f.id = u.facility_id WHERE r.session_id = ? ORDER BY r.id",
            (session_id,),
        )
        return [dict(r) for r in rows]

    async def recording(self, recording_id: int) -> Row | None:
        return await self.db.fetch_one(
            "SELECT r.id, r.session_id, r.consult_id, r.user_id, r.role, r.path, r.status,"
            " r.sha256, r.size, r.started_at FROM recordings r WHERE r.id = ?",
            (recording_id,),
        )

    async def mark_damaged(self, recording_id: int) -> None:
        await self.db.execute(
            "UPDATE recordings SET status = 'damaged' WHERE id = ? AND status IN"
            " ('complete', 'interrupted')",
            (recording_id,),
        )


def local_date(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, LOCAL_OFFSET).strftime("%Y-%m-%d %H:%M")


def clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


REVIEW: AppKey[Review] = AppKey("review")
