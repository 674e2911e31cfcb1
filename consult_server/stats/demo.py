"""The demo's last two months, so the figures page shows something on a fresh
``./scripts/serve``: a few dozen consults filed at the demo communes, most accepted,
held and ended with a signed note, some cancelled, expired or escalated, and a few
bookings (one missed). Written once, through each part's own repository, with the
times they would have had; a database already holding consults is left alone.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from dataclasses import dataclass

from consult_server.accounts.directory import Accounts
from consult_server.audit.chain import AuditLog
from consult_server.bookings.repository import BookingRepository, NewBooking
from consult_server.consults.lifecycle import (
    Accept,
    Cancel,
    Consult,
    ConsultEvent,
    Escalate,
    Expire,
    SessionEnded,
    SessionStarted,
    Urgency,
    apply,
)
from consult_server.consults.patient import Patient, Sex
from consult_server.consults.repository import ConsultRepository, Filing
from consult_server.local_time import day_start, today
from consult_server.notes.models import NoteContent
from consult_server.notes.repository import NoteRepository
from consult_server.store.db import Database

DAYS = 60
NAMES = (
    "Nguyễn Thị Hoa",
    "Trần Văn Nam",
    "Lê Thị Mai",
    "Phạm Văn Đức",
    "Hoàng Thị Lan",
    "Vũ Văn Hải",
    "Đặng Thị Thu",
    "Bùi Văn Long",
)
COMPLAINTS = (
    "Sốt cao 3 ngày, ho khan",
    "Đau ngực khi gắng sức",
    "Khó thở về đêm, phù hai chân",
    "Đau bụng vùng thượng vị",
    "Tăng huyết áp không kiểm soát",
)
#: What the specialists decided, as the notes' dispositions.
DECISIONS = (
    ("commune", "Theo dõi và điều trị tại trạm"),
    ("commune", "Tiếp tục thuốc, tái khám khi cần"),
    ("follow_up", "Hội chẩn lại sau 2 tuần"),
    ("refer", "Chuyển khám chuyên khoa tuyến trên"),
)


@dataclass(frozen=True)
class DemoPeople:
    clinicians: tuple[tuple[int, int], ...]  # (user, facility)
    #: (user, facility, specialty)
    specialists: tuple[tuple[int, int, str], ...]


async def _people(accounts: Accounts) -> DemoPeople | None:
    ids = {}
    for username in ("clinician.demo", "clinician2.demo", "specialist.demo", "specialist.central"):
        found = await accounts.store.credentials(username)
        if found is None:
            return None
        ids[username] = found.user_id
    users = await accounts.users(set(ids.values()))
    if len(users) < len(ids):
        return None
    clinicians = tuple(
        (ids[name], users[ids[name]].facility_id) for name in ("clinician.demo", "clinician2.demo")
    )
    district = users[ids["specialist.demo"]]
    central = users[ids["specialist.central"]]
    return DemoPeople(
        clinicians,
        (
            (district.id, district.facility_id, "internal-medicine"),
            (central.id, central.facility_id, "cardiology"),
        ),
    )


async def load_history(db: Database, accounts: Accounts, audit: AuditLog) -> int:
    """Write the demo's history once; how many consults it filed (0: already there, or
    the demo's people are not)."""
    if await db.fetch_one("SELECT id FROM consults LIMIT 1") is not None:
        return 0
    people = await _people(accounts)
    if people is None:
        return 0
    consults = ConsultRepository(db)
    notes = NoteRepository(db)
    rng = random.Random(2026)
    first = day_start(today() - datetime.timedelta(days=DAYS))
    filed = 0
    for i in range(48):
        at = first + (DAYS * 86400 * i) / 48 + rng.uniform(7, 10) * 3600
        clinician, facility = people.clinicians[i % 2]
        specialist, specialist_facility, specialty = people.specialists[int(i % 3 == 0)]
        patient = Patient(
            rng.choice(NAMES), rng.randint(1940, 2015), Sex(rng.choice(("female", "male")))
        )
        consult_id = await consults.create(
            Filing(
                clinician,
                facility,
                specialty,
                Urgency.ROUTINE,
                rng.choice(COMPLAINTS),
                patient,
                True,
                at,
                at + 1800,
                at + 300,
                (specialist_facility,),
            )
        )
        filed += 1
        wait = rng.uniform(40, 900)
        fate = i % 8
        events: list[ConsultEvent]
        if fate == 0:
            events = [Expire(at + 1800)]
        elif fate == 1:
            events = [Cancel(clinician, at + wait)]
        else:
            call = rng.uniform(6, 25) * 60
            events = [
                Accept(specialist, at + wait),
                SessionStarted(at + wait + 60),
                SessionEnded(at + wait + 60 + call, "hangup"),
            ]
            if fate == 2:
                events.insert(0, Escalate(at + 300, None))
        consult = await _play(consults, consult_id, events)
        if consult.ended_at is not None and consult.accepted_by is not None:
            await _sign(notes, audit, consult, rng)
    await _bookings(consults, notes, audit, BookingRepository(db), people, first, rng)
    return filed


async def _play(
    consults: ConsultRepository, consult_id: int, events: list[ConsultEvent]
) -> Consult:
    """The consult after ``events``, each written as the service would, at its time."""
    stored = await consults.load(consult_id)
    assert stored is not None
    for event in events:
        after = apply(stored.consult, event)
        kind = type(event).__name__.lower()
        assert await consults.transition(stored, after, kind, event.at, None)
        stored = dataclasses.replace(stored, consult=after, version=stored.version + 1)
    return stored.consult


async def _sign(
    notes: NoteRepository, audit: AuditLog, consult: Consult, rng: random.Random
) -> None:
    """The specialist's signed note, a minute after the call."""
    assert consult.ended_at is not None and consult.accepted_by is not None
    disposition, plan = DECISIONS[rng.randrange(len(DECISIONS))]
    follow_up = datetime.date.fromtimestamp(consult.ended_at) + datetime.timedelta(days=14)
    content = NoteContent(
        findings="Khám qua video: tỉnh, tiếp xúc tốt.",
        assessment="Theo dõi bệnh nội khoa",
        recommendation=plan,
        disposition=disposition,
        follow_up_on=follow_up.isoformat() if disposition == "follow_up" else None,
        refer_to="provincial" if disposition == "refer" else None,
    )
    author = consult.accepted_by
    note = await notes.save_draft(consult.id, author, content, consult.ended_at, None)
    await notes.sign(
        consult.id, note.version, author, consult.ended_at + 60, audit.for_system("demo")
    )


async def _bookings(
    consults: ConsultRepository,
    notes: NoteRepository,
    audit: AuditLog,
    store: BookingRepository,
    people: DemoPeople,
    first: float,
    rng: random.Random,
) -> None:
    """A booked consult a week with the district's internist, held from its booking;
    one in four nobody joined (missed)."""
    specialist, specialist_facility, specialty = people.specialists[0]
    for week in range(DAYS // 7):
        at = first + week * 7 * 86400 + 8 * 3600
        clinician, facility = people.clinicians[week % 2]
        summary = rng.choice(COMPLAINTS)
        patient = Patient(rng.choice(NAMES), rng.randint(1940, 2015), Sex.FEMALE)
        booking_id = await store.book(
            NewBooking(
                specialist,
                specialty,
                at,
                at + 1800,
                2,
                clinician,
                facility,
                summary,
                patient.name,
                patient.birth_year,
                patient.sex.value,
            ),
            at - 3 * 86400,
        )
        if booking_id is None:
            continue
        if week % 4 == 3:
            await store.mark_missed(booking_id, at + 3600)
            continue
        filing = Filing(
            clinician,
            facility,
            specialty,
            Urgency.ROUTINE,
            summary,
            patient,
            True,
            at - 120,
            at + 1800,
            None,
            (specialist_facility,),
        )
        consult_id = await consults.create_booked(filing, specialist, store.claim(booking_id))
        if consult_id is None:
            continue
        call = rng.uniform(10, 25) * 60
        consult = await _play(
            consults, consult_id, [SessionStarted(at), SessionEnded(at + call, "hangup")]
        )
        await _sign(notes, audit, consult, rng)
