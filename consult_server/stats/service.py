"""The figures a supervisor or an admin sees: over the facilities under their own,
filtered and grouped as the URL says; the rows the page, the CSV and the DHIS2 export
share."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.bookings.repository import BookingRepository
from consult_server.errors import Forbidden
from consult_server.stats.figures import Filters, Row, month_bounds, months_between
from consult_server.stats.repository import Slice, StatsRepository
from consult_server.teaching.repository import TeachingRepository
from recordings.sessions import RecordedSessions


@dataclass(frozen=True)
class Figures:
    filters: Filters
    rows: list[Row]
    total: Row
    #: The facilities the viewer sees (the filter's menu offers them).
    viewable: frozenset[int] = frozenset()


class Stats:
    def __init__(
        self,
        store: StatsRepository,
        sessions: RecordedSessions,
        accounts: Accounts,
        bookings: BookingRepository,
        teaching: TeachingRepository,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.accounts = accounts
        self.bookings = bookings
        self.teaching = teaching

    @staticmethod
    def sees_any(user: User) -> bool:
        """Supervisors and admins see the figures of the facilities under their own."""
        return user.role in (Role.SUPERVISOR, Role.ADMIN)

    async def scope(self, user: User) -> frozenset[int]:
        if not self.sees_any(user):
            raise Forbidden("only supervisors and admins see the figures", "not_a_reviewer")
        return frozenset((await self.accounts.referral_tree()).descendants(user.facility_id))

    async def figures(self, user: User, filters: Filters, language: str) -> Figures:
        scope = viewable = await self.scope(user)
        if filters.facility_id is not None:
            tree = await self.accounts.referral_tree()
            scope = scope & frozenset(tree.descendants(filters.facility_id))
        piece = Slice(
            scope,
            tuple(month_bounds(filters.first, filters.last)),
            filters.by,
            filters.level.value if filters.level else "",
            filters.specialty,
        )
        labels = await self._labels(filters, language)
        rows: dict[str, Row] = {}
        waits: dict[str, tuple[float, float]] = {}
        if scope:
            # The page's queries at once: each is one pass over the consults, on its own
            # connection (SQLite's readers do not wait for each other under WAL).
            consulted = asyncio.gather(
                self.store.counts(piece),
                self.store.waits(piece),
                self.store.dispositions(piece),
                self.store.images(piece),
                self.store.recorded(piece, self.sessions),
            )
            others = asyncio.gather(
                self.store.booked(piece, self.bookings), self.store.taught(piece, self.teaching)
            )
            (counts, waits, decided, images, recorded), (booked, taught) = await asyncio.gather(
                consulted, others
            )
            for found in counts:
                key = str(found["k"])
                rows[key] = Row(
                    key,
                    labels.get(key, key),
                    requested=int(found["requested"] or 0),
                    accepted=int(found["accepted"] or 0),
                    completed=int(found["completed"] or 0),
                    cancelled=int(found["cancelled"] or 0),
                    expired=int(found["expired"] or 0),
                    escalations=int(found["escalations"] or 0),
                    calls=int(found["calls"] or 0),
                    call_seconds=float(found["call_seconds"] or 0),
                )
            for key, (median, p90) in waits.items():
                if key in rows:
                    rows[key].wait_median_s, rows[key].wait_p90_s = median, p90
            for key, by_disposition in decided.items():
                if key in rows:
                    rows[key].dispositions = by_disposition
            for key, count in images.items():
                if key in rows:
                    rows[key].images = count
            for key, seconds in recorded.items():
                if key in rows:
                    rows[key].recorded_seconds = seconds
            # Bookings and lessons may fall in a group with no consult filed.
            for key, (count, missed) in booked.items():
                row = rows.setdefault(key, Row(key, labels.get(key, key)))
                row.booked, row.missed = count, missed
            for key, (sessions, viewers) in taught.items():
                row = rows.setdefault(key, Row(key, labels.get(key, key)))
                row.teaching_sessions, row.teaching_viewers = sessions, viewers
        if filters.by == "month":
            # Every month shows, a quiet one with zeros.
            for index, label in labels.items():
                rows.setdefault(index, Row(index, label))
            ordered = sorted(rows.values(), key=lambda r: int(r.key))
        else:
            ordered = sorted(rows.values(), key=lambda r: (-r.requested, r.label))
        total = self._total(ordered)
        if "*" in waits:
            total.wait_median_s, total.wait_p90_s = waits["*"]
        return Figures(filters, ordered, total, viewable)

    async def _labels(self, filters: Filters, language: str) -> dict[str, str]:
        if filters.by == "month":
            months = months_between(filters.first, filters.last)
            return {str(i): m.strftime("%Y-%m") for i, m in enumerate(months)}
        if filters.by == "facility":
            return {str(f.id): f.name for f in await self.accounts.facilities()}
        if filters.by == "specialty":
            return {s.code: s.name(language) for s in await self.accounts.specialties()}
        return {}

    @staticmethod
    def _total(rows: list[Row]) -> Row:
        total = Row("total", "total")
        for r in rows:
            for name in (
                "requested",
                "accepted",
                "completed",
                "cancelled",
                "expired",
                "escalations",
                "calls",
                "call_seconds",
                "images",
                "recorded_seconds",
                "booked",
                "missed",
                "teaching_sessions",
                "teaching_viewers",
            ):
                setattr(total, name, getattr(total, name) + getattr(r, name))
            for d, count in r.dispositions.items():
                total.dispositions[d] = total.dispositions.get(d, 0) + count
        return total


STATS: AppKey[Stats] = AppKey("stats")
