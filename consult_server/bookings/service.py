"""Booked consults: a specialist publishes weekly hours per specialty and days off; a
clinician sees the free slots the referral tree lets them reach (the specialists of that
specialty at every facility above theirs that staffs it) and books one for a patient;
either side cancels with a reason, and the other side is told live.

Not yet (issue 20, part 3, to come): moving a booking, reminders before it, the room
opening from it, marking missed ones, the pages, and FHIR Schedule/Slot/Appointment.
"""

from __future__ import annotations

import dataclasses
import datetime
import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.facility_rules import managed
from consult_server.accounts.models import Role, User
from consult_server.bookings.repository import Booking, BookingRepository, NewBooking
from consult_server.bookings.slots import MAX_DAYS_AHEAD, Availability, Slot, slot_at, slots_of
from consult_server.consults.lifecycle import Urgency
from consult_server.consults.models import NewConsult
from consult_server.consults.patient import Patient, Sex
from consult_server.consults.service import Consults
from consult_server.errors import BadRequest, Conflict, Forbidden, NotFound
from consult_server.local_time import day_start, year_at

#: Told when a booking is made or cancelled: (users, what changed).
Notify = Callable[[set[int], dict[str, object]], Awaitable[None]]
SUMMARY_MAX = 2000
REASON_MAX = 500


#: The room of a booking opens this long before it starts, and a booking nobody opened
#: is missed this long after it ends (``consults.booking_grace_minutes``).
OPENS_BEFORE = 15 * 60


class Bookings:
    def __init__(
        self,
        store: BookingRepository,
        accounts: Accounts,
        consults: Consults,
        grace_seconds: float = 15 * 60,
        remind_seconds: float = 10 * 60,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.consults = consults
        self.grace = grace_seconds
        #: The pages remind both sides this long before a booking.
        self.remind = remind_seconds
        self._notify: Notify | None = None

    @staticmethod
    def books_any(user: User) -> bool:
        """Clinicians book; specialists keep hours and see their bookings."""
        return user.role in (Role.CLINICIAN, Role.SPECIALIST)

    def set_notifier(self, notify: Notify) -> None:
        self._notify = notify

    async def _tell(self, users: set[int], change: dict[str, object]) -> None:
        if self._notify is not None:
            await self._notify(users, change)

    async def keeper(self, acting: User, specialist_id: int | None) -> User:
        """Whose hours ``acting`` keeps: a specialist their own; an admin those of a
        specialist at a facility under their own (anyone else: not found)."""
        if acting.role is Role.SPECIALIST and specialist_id in (None, acting.id):
            return acting
        if acting.role is not Role.ADMIN:
            raise Forbidden("only specialists publish hours", "not_a_specialist")
        specialist = None if specialist_id is None else await self.accounts.user(specialist_id)
        if (
            specialist is None
            or specialist.role is not Role.SPECIALIST
            or specialist.facility_id
            not in managed(await self.accounts.referral_tree(), acting.facility_id)
        ):
            raise NotFound("no such specialist among those you manage", "user_not_found")
        return specialist

    async def publish(
        self,
        specialist: User,
        hours: Sequence[Availability],
        days_off: Sequence[datetime.date] | None = None,
    ) -> None:
        """A specialist's weekly hours, for the specialties they practise (and, when
        given, their days off). Who may set them is :meth:`keeper`'s to say."""
        if specialist.role is not Role.SPECIALIST:
            raise Forbidden("only specialists publish hours", "not_a_specialist")
        for h in hours:
            if h.specialist_id != specialist.id or h.specialty not in specialist.specialties:
                raise BadRequest("hours only for your own specialties", "bad_availability")
            h.check()
        await self.store.publish(specialist.id, hours)
        if days_off is not None:
            await self.store.set_days_off(specialist.id, days_off)

    async def _reachable(self, clinician: User, specialty: str) -> list[int]:
        """The specialists a clinician may book: that specialty, at any facility above
        theirs that staffs it, nearest first."""
        tree = await self.accounts.referral_tree()
        levels = tree.levels_for(clinician.facility_id, specialty)
        return await self.accounts.specialists_at(levels, specialty)

    async def _free(
        self, specialists: list[int], specialty: str, first_day: datetime.date, days: int
    ) -> list[Slot]:
        """The free slots of these specialists in this specialty, from ``first_day``."""
        days = max(1, min(days, MAX_DAYS_AHEAD))
        hours = [h for h in await self.store.hours(specialists) if h.specialty == specialty]
        start = day_start(first_day)
        end = day_start(first_day + datetime.timedelta(days=days))
        taken = await self.store.taken(specialists, start, end)
        off = await self.store.days_off(specialists)
        return slots_of(hours, first_day, days, off, taken, now=time.time())

    async def _published(self, specialist_id: int, specialty: str, starts_at: float) -> Slot:
        """The published slot starting then, within the booking horizon (seats not
        counted: taking one decides)."""
        now = time.time()
        hours = await self.store.hours([specialist_id])
        off = await self.store.days_off([specialist_id])
        slot = slot_at(hours, specialist_id, specialty, starts_at, off)
        if slot is None or not now < starts_at < now + MAX_DAYS_AHEAD * 86400:
            raise NotFound("no such slot among those you may book", "slot_not_found")
        return slot

    async def _party_to(self, user: User, booking_id: int) -> Booking:
        """The booking, if ``user`` is one of its two sides (404 otherwise)."""
        booking = await self.store.get(booking_id)
        if booking is None or user.id not in (booking.clinician_id, booking.specialist_id):
            raise NotFound("no such booking", "booking_not_found")
        return booking

    async def free_slots(
        self, clinician: User, specialty: str, first_day: datetime.date, days: int
    ) -> list[Slot]:
        if clinician.role is not Role.CLINICIAN:
            raise Forbidden("only clinicians book consults", "not_a_clinician")
        return await self._free(
            await self._reachable(clinician, specialty), specialty, first_day, days
        )

    async def book(
        self,
        clinician: User,
        specialist_id: int,
        specialty: str,
        starts_at: float,
        summary: str,
        patient: object,
        consent: bool = False,
    ) -> Booking:
        if clinician.role is not Role.CLINICIAN:
            raise Forbidden("only clinicians book consults", "not_a_clinician")
        if specialist_id not in await self._reachable(clinician, specialty):
            raise NotFound("no such slot among those you may book", "slot_not_found")
        slot = await self._published(specialist_id, specialty, starts_at)
        now = time.time()
        summary = summary.strip()
        if not summary or len(summary) > SUMMARY_MAX:
            raise BadRequest(f"the summary is 1-{SUMMARY_MAX} characters", "bad_summary")
        checked = Patient.parse(patient, year_at(now))
        booking_id = await self.store.book(
            NewBooking(
                specialist_id,
                specialty,
                slot.starts_at,
                slot.ends_at,
                slot.per_slot,
                clinician.id,
                clinician.facility_id,
                summary,
                checked.name,
                checked.birth_year,
                checked.sex.value,
                consent,
            ),
            now,
        )
        if booking_id is None:
            raise Conflict("this slot was just booked; choose another", "slot_taken")
        booked = await self.store.get(booking_id)
        assert booked is not None
        await self._tell({specialist_id, clinician.id}, {"booking": booked.describe()})
        return booked

    async def mine(self, user: User) -> list[Booking]:
        return await self.store.of_user(user.id, time.time() - 86400)

    async def cancel(self, user: User, booking_id: int, reason: str) -> Booking:
        booking = await self._party_to(user, booking_id)
        reason = _reason(reason)
        if not await self.store.cancel(booking_id, user.id, reason, time.time()):
            raise Conflict("this booking is no longer scheduled", "booking_closed")
        cancelled = await self.store.get(booking_id)
        assert cancelled is not None
        await self._tell(
            {booking.clinician_id, booking.specialist_id}, {"booking": cancelled.describe()}
        )
        return cancelled

    async def move(self, user: User, booking_id: int, starts_at: float, reason: str) -> Booking:
        """Either side moves a booking to another free slot of the same specialist and
        specialty: the new seat is taken first (if it is gone, nothing changes), then the
        old booking is cancelled with the reason; both sides are told."""
        booking = await self._party_to(user, booking_id)
        reason = _reason(reason)
        if booking.status != "scheduled" or booking.consult_id is not None:
            raise Conflict("this booking is no longer scheduled", "booking_closed")
        slot = await self._published(booking.specialist_id, booking.specialty, starts_at)
        now = time.time()
        if starts_at == booking.starts_at:
            raise Conflict("this is the booking's own time", "slot_taken")
        moved_id = await self.store.book(
            NewBooking(
                booking.specialist_id,
                booking.specialty,
                slot.starts_at,
                slot.ends_at,
                slot.per_slot,
                booking.clinician_id,
                booking.facility_id,
                booking.summary,
                booking.patient_name,
                booking.patient_birth_year,
                booking.patient_sex,
                booking.consent,
            ),
            now,
            moving=booking.id,
        )
        if moved_id is None:
            raise Conflict("this slot was just booked; choose another", "slot_taken")
        if not await self.store.cancel(booking_id, user.id, reason, now):
            # Cancelled or opened a moment ago by the other side: the new seat is freed.
            await self.store.cancel(moved_id, user.id, reason, now)
            raise Conflict("this booking is no longer scheduled", "booking_closed")
        moved = await self.store.get(moved_id)
        old = await self.store.get(booking_id)
        assert moved is not None and old is not None
        people = {booking.clinician_id, booking.specialist_id}
        await self._tell(people, {"booking": old.describe()})
        await self._tell(people, {"booking": moved.describe(), "moved_from": booking_id})
        return moved

    async def slots_of_specialist(
        self, user: User, booking_id: int, first_day: datetime.date, days: int
    ) -> list[Slot]:
        """The free slots a booking may move to (its specialist's, its specialty)."""
        booking = await self._party_to(user, booking_id)
        return await self._free([booking.specialist_id], booking.specialty, first_day, days)

    async def open_room(self, user: User, booking_id: int) -> int:
        """The consult of a booking that has come due (from 15 minutes before it until
        the grace after it ends): made by whichever side comes first, accepted by the
        booked specialist; both sides then join its room through the usual check."""
        booking = await self._party_to(user, booking_id)
        if booking.consult_id is not None:
            return booking.consult_id
        now = time.time()
        if booking.status != "scheduled":
            raise Conflict("this booking is no longer scheduled", "booking_closed")
        if not booking.starts_at - OPENS_BEFORE <= now <= booking.ends_at + self.grace:
            raise Conflict("the room opens 15 minutes before the booked time", "booking_not_due")
        request = NewConsult(
            booking.specialty,
            Urgency.ROUTINE,
            booking.summary,
            Patient(
                booking.patient_name or "",
                booking.patient_birth_year or 0,
                Sex(booking.patient_sex or "other"),
            ),
            booking.consent,
        )

        consult = await self.consults.from_booking(
            booking.clinician_id,
            booking.facility_id,
            booking.specialist_id,
            request,
            booking.ends_at + self.grace,
            self.store.claim(booking_id),
        )
        if consult is None:  # the other side opened it a moment ago
            again = await self.store.get(booking_id)
            if again is None or again.consult_id is None:
                raise Conflict("this booking is no longer scheduled", "booking_closed")
            return again.consult_id
        opened = await self.store.get(booking_id)
        assert opened is not None
        await self._tell(
            {booking.clinician_id, booking.specialist_id}, {"booking": opened.describe()}
        )
        return consult.id

    async def tick(self, now: float) -> None:
        """Bookings nobody opened by the grace after their end are missed."""
        for booking in await self.store.due_missed(now - self.grace):
            if await self.store.mark_missed(booking.id, now):
                missed = dataclasses.replace(booking, status="missed")
                await self._tell(
                    {booking.clinician_id, booking.specialist_id}, {"booking": missed.describe()}
                )


def _reason(reason: str) -> str:
    """A cancel's or a move's reason, as the other side will read it."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise BadRequest("say why (1-500 characters)", "reason_required")
    return reason


BOOKINGS: AppKey[Bookings] = AppKey("bookings")
