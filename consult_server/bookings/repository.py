"""The only SQL on availability, days off and bookings.

A booking takes a seat of its slot: each try inserts seat 1, 2, … in a transaction of its
own, and the unique index on (specialist, start, seat) among bookings not cancelled lets
exactly one insert per seat through, on SQLite and on PostgreSQL alike, however many
clinicians press "book" at the same instant.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from consult_server.bookings.slots import Availability
from consult_server.errors import Conflict
from consult_server.store.db import Database, Row, Transaction


@dataclass(frozen=True)
class NewBooking:
    specialist_id: int
    specialty: str
    starts_at: float
    ends_at: float
    per_slot: int
    clinician_id: int
    facility_id: int
    summary: str
    patient_name: str | None
    patient_birth_year: int | None
    patient_sex: str | None
    consent: bool = False


@dataclass(frozen=True)
class Booking:
    id: int
    specialist_id: int
    specialty: str
    starts_at: float
    ends_at: float
    clinician_id: int
    facility_id: int
    summary: str
    patient_name: str | None
    status: str
    cancel_reason: str | None
    patient_birth_year: int | None = None
    patient_sex: str | None = None
    consent: bool = False
    consult_id: int | None = None

    def describe(self) -> dict[str, object]:
        return {
            "id": self.id,
            "specialist_id": self.specialist_id,
            "specialty": self.specialty,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "clinician_id": self.clinician_id,
            "status": self.status,
            "cancel_reason": self.cancel_reason,
            "consult_id": self.consult_id,
        }


def _booking(r: Row) -> Booking:
    return Booking(
        int(r["id"]),
        int(r["specialist_id"]),
        str(r["specialty_code"]),
        float(r["starts_at"]),
        float(r["ends_at"]),
        int(r["clinician_id"]),
        int(r["facility_id"]),
        str(r["summary"]),
        r["patient_name"],
        str(r["status"]),
        r["cancel_reason"],
        r["patient_birth_year"],
        r["patient_sex"],
        bool(r["recording_consent"]),
        None if r["consult_id"] is None else int(r["consult_id"]),
    )


def _same_patient(name: str) -> str:
    return " ".join(name.casefold().split())


async def _patient_busy(tx: Transaction, booking: NewBooking, booking_id: int, moving: int) -> bool:
    """Whether this patient (name, birth year and sex, at the same facility) already has
    a scheduled booking overlapping ``booking``'s time: Bahmni's patient double booking."""
    if not booking.patient_name:
        return False
    rows = await tx.fetch_all(
        "SELECT patient_name, patient_birth_year, patient_sex FROM bookings"
        " WHERE facility_id = ? AND status = 'scheduled' AND starts_at < ? AND ends_at > ?"
        " AND id NOT IN (?, ?)",
        (booking.facility_id, booking.ends_at, booking.starts_at, booking_id, moving),
    )
    name = _same_patient(booking.patient_name)
    return any(
        r["patient_name"] is not None
        and _same_patient(r["patient_name"]) == name
        and r["patient_birth_year"] == booking.patient_birth_year
        and r["patient_sex"] == booking.patient_sex
        for r in rows
    )


def _marks(count: int) -> str:
    return ",".join("?" * count)


class BookingRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def hours(self, specialist_ids: Sequence[int]) -> list[Availability]:
        if not specialist_ids:
            return []
        rows = await self.db.fetch_all(
            "SELECT * FROM availability WHERE specialist_id IN"
            f" ({_marks(len(specialist_ids))}) ORDER BY id",
            list(specialist_ids),
        )
        return [
            Availability(
                int(r["specialist_id"]),
                str(r["specialty_code"]),
                int(r["weekday"]),
                int(r["start_minute"]),
                int(r["end_minute"]),
                int(r["slot_minutes"]),
                int(r["per_slot"]),
            )
            for r in rows
        ]

    async def publish(self, specialist_id: int, hours: Sequence[Availability]) -> None:
        """Replace a specialist's weekly hours (bookings already made stay)."""
        async with self.db.atomic() as tx:
            await tx.execute("DELETE FROM availability WHERE specialist_id = ?", (specialist_id,))
            for h in hours:
                await tx.execute(
                    "INSERT INTO availability (specialist_id, specialty_code, weekday,"
                    " start_minute, end_minute, slot_minutes, per_slot)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        specialist_id,
                        h.specialty,
                        h.weekday,
                        h.start_minute,
                        h.end_minute,
                        h.slot_minutes,
                        h.per_slot,
                    ),
                )

    async def days_off(self, specialist_ids: Sequence[int]) -> set[tuple[int, datetime.date]]:
        if not specialist_ids:
            return set()
        rows = await self.db.fetch_all(
            f"SELECT specialist_id, day FROM days_off WHERE specialist_id IN"
            f" ({_marks(len(specialist_ids))})",
            list(specialist_ids),
        )
        return {(int(r["specialist_id"]), datetime.date.fromisoformat(r["day"])) for r in rows}

    async def set_days_off(self, specialist_id: int, days: Sequence[datetime.date]) -> None:
        async with self.db.atomic() as tx:
            await tx.execute("DELETE FROM days_off WHERE specialist_id = ?", (specialist_id,))
            for day in sorted(set(days)):
                await tx.execute(
                    "INSERT INTO days_off (specialist_id, day) VALUES (?, ?)",
                    (specialist_id, day.isoformat()),
                )

    async def taken(
        self, specialist_ids: Sequence[int], start: float, end: float
    ) -> dict[tuple[int, float], int]:
        """Seats booked (not cancelled) per (specialist, slot start) in a time range."""
        if not specialist_ids:
            return {}
        rows = await self.db.fetch_all(
            "SELECT specialist_id, starts_at, COUNT(*) AS n FROM bookings"
            f" WHERE specialist_id IN ({_marks(len(specialist_ids))})"
            " AND starts_at >= ? AND starts_at < ? AND status <> 'cancelled'"
            " GROUP BY specialist_id, starts_at",
            [*specialist_ids, start, end],
        )
        return {(int(r["specialist_id"]), float(r["starts_at"])): int(r["n"]) for r in rows}

    async def book(self, booking: NewBooking, now: float, moving: int = 0) -> int | None:
        """Take a free seat of the slot; the booking's id, or None when every seat is
        taken (nothing written). Refused (:class:`Conflict`) when the same patient of the
        same facility already has a scheduled booking overlapping it (other than
        ``moving``, the one being moved)."""
        for seat in range(1, booking.per_slot + 1):
            try:
                async with self.db.atomic() as tx:
                    booking_id = await tx.insert(
                        "INSERT INTO bookings (specialist_id, specialty_code, starts_at,"
                        " ends_at, seat, clinician_id, facility_id, summary, patient_name,"
                        " patient_birth_year, patient_sex, recording_consent, status, created_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?)"
                        " RETURNING id",
                        (
                            booking.specialist_id,
                            booking.specialty,
                            booking.starts_at,
                            booking.ends_at,
                            seat,
                            booking.clinician_id,
                            booking.facility_id,
                            booking.summary,
                            booking.patient_name,
                            booking.patient_birth_year,
                            booking.patient_sex,
                            int(booking.consent),
                            now,
                        ),
                    )
                    # After the seat: a full slot says so first. Two bookings of one
                    # patient at the very same instant can both pass (a check, not a
                    # constraint: a name is no identifier).
                    if await _patient_busy(tx, booking, booking_id, moving):
                        raise Conflict(
                            "this patient already has a booking at that time",
                            "patient_double_booked",
                        )
                    return booking_id
            except IntegrityError:
                continue  # that seat was taken a moment ago: the next one
        return None

    async def get(self, booking_id: int) -> Booking | None:
        row = await self.db.fetch_one("SELECT * FROM bookings WHERE id = ?", (booking_id,))
        return None if row is None else _booking(row)

    async def of_consult(self, consult_id: int) -> Booking | None:
        """The booking a consult was made from, if any."""
        row = await self.db.fetch_one("SELECT * FROM bookings WHERE consult_id = ?", (consult_id,))
        return None if row is None else _booking(row)

    async def of_user(self, user_id: int, since: float) -> list[Booking]:
        rows = await self.db.fetch_all(
            "SELECT * FROM bookings WHERE (clinician_id = ? OR specialist_id = ?)"
            " AND ends_at >= ? ORDER BY starts_at",
            (user_id, user_id, since),
        )
        return [_booking(r) for r in rows]

    async def cancel(self, booking_id: int, by: int, reason: str, now: float) -> bool:
        """Whether it was scheduled and is now cancelled (its seat free again)."""
        changed = await self.db.execute(
            "UPDATE bookings SET status = 'cancelled', cancelled_at = ?, cancelled_by = ?,"
            " cancel_reason = ? WHERE id = ? AND status = 'scheduled'",
            (now, by, reason, booking_id),
        )
        return changed > 0

    @staticmethod
    def claim(booking_id: int) -> Callable[[Transaction, int], Awaitable[bool]]:
        """What the transaction making the booking's consult runs to claim the booking
        for it: false when the other side opened it a moment ago (that transaction then
        rolls back)."""

        async def claim_in(tx: Transaction, consult_id: int) -> bool:
            claimed = await tx.execute(
                "UPDATE bookings SET consult_id = ? WHERE id = ? AND consult_id IS NULL"
                " AND status = 'scheduled'",
                (consult_id, booking_id),
            )
            return claimed > 0

        return claim_in

    async def due_missed(self, before: float) -> list[Booking]:
        """Scheduled bookings that ended before ``before`` and nobody opened."""
        rows = await self.db.fetch_all(
            "SELECT * FROM bookings WHERE status = 'scheduled' AND consult_id IS NULL"
            " AND ends_at < ?",
            (before,),
        )
        return [_booking(r) for r in rows]

    async def mark_missed(self, booking_id: int, now: float) -> bool:
        changed = await self.db.execute(
            "UPDATE bookings SET status = 'missed', cancelled_at = ? WHERE id = ?"
            " AND status = 'scheduled' AND consult_id IS NULL",
            (now, booking_id),
        )
        return changed > 0

    async def figures(
        self, group: str, bookings: str, params: list[Any]
    ) -> dict[str, tuple[int, int]]:
        """(bookings not cancelled, missed) per group. The caller selects: ``group`` and
        ``bookings`` are its SQL over booking ``b`` and facility ``f``."""
        rows = await self.db.fetch_all(
            f"SELECT {group} AS k,"
            " SUM(CASE WHEN b.status <> 'cancelled' THEN 1 ELSE 0 END) AS booked,"
            " SUM(CASE WHEN b.status = 'missed' THEN 1 ELSE 0 END) AS missed"
            " FROM bookings b JOIN facilities f ON f.id = b.facility_id"
            f" WHERE {bookings} GROUP BY 1",
            params,
        )
        return {str(r["k"]): (int(r["booked"] or 0), int(r["missed"] or 0)) for r in rows}
