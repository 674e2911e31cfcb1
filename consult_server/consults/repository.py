"""Where consults are stored: the only SQL on consults, their routing, invitations,
events and participants. Methods take and return the domain's frozen dataclasses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from consult_server.consults.lifecycle import Consult, ConsultState, Urgency
from consult_server.consults.models import (
    ChatLine,
    ConsultFacts,
    Happening,
    Invitable,
    participants_of,
)
from consult_server.consults.patient import Patient, Sex
from consult_server.store.db import Database, Row, Transaction

#: The columns a transition may change.
_CHANGING = (
    "state",
    "tier",
    "next_escalation_at",
    "accepted_by",
    "accepted_at",
    "started_at",
    "ended_at",
    "end_reason",
)
#: A facility the consult reaches, after those it reached before (once per facility).
_TARGET_SQL = (
    "INSERT INTO consult_targets (consult_id, facility_id, tier, position)"
    " SELECT ?, ?, ?, COALESCE(MAX(position), 0) + 1 FROM consult_targets WHERE consult_id = ?"
    " ON CONFLICT DO NOTHING"
)
_EVENT_SQL = "INSERT INTO consult_events (consult_id, at, kind, actor_id) VALUES (?, ?, ?, ?)"


@dataclass(frozen=True)
class Stored:
    """A consult as read, with the version a conditional write must still find."""

    consult: Consult
    version: int


@dataclass(frozen=True)
class Filing:
    """A new request, ready to store: who, what, and its first deadlines."""

    clinician_id: int
    facility_id: int
    specialty: str
    urgency: Urgency
    summary: str
    patient: Patient
    consent: bool
    created_at: float
    expires_at: float
    next_escalation_at: float | None
    #: The facilities it reaches first, nearest first.
    targets: tuple[int, ...]


#: Claims a booking for the consult being made, inside that transaction.
Claim = Callable[[Transaction, int], Awaitable[bool]]


class _Taken(Exception):
    """The booking was claimed by another consult: roll this one back."""


@dataclass(frozen=True)
class RecordingPolicy:
    """What decides whether a consult's session is recorded."""

    consent: bool
    facility_code: str
    #: The clinician's facility records its consults (an admin's setting).
    facility_records: bool = True


def _consult(row: Row) -> Consult:
    return Consult(
        id=row["id"],
        clinician_id=row["clinician_id"],
        facility_id=row["facility_id"],
        specialty=row["specialty_code"],
        urgency=Urgency(row["urgency"]),
        state=ConsultState(row["state"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        tier=row["tier"],
        next_escalation_at=row["next_escalation_at"],
        accepted_by=row["accepted_by"],
        accepted_at=row["accepted_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        end_reason=row["end_reason"],
    )


def _patient(row: Row) -> Patient | None:
    if row["patient_name"] is None:
        return None
    return Patient(
        name=str(row["patient_name"]),
        birth_year=int(row["patient_birth_year"]),
        sex=Sex(row["patient_sex"]),
        national_id=row["patient_national_id"],
        insurance_number=row["patient_insurance_number"],
        record_number=row["patient_record_number"],
    )


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


class ConsultRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- reading ---------------------------------------------------------------------

    async def load(self, consult_id: int) -> Stored | None:
        row = await self.db.fetch_one("SELECT * FROM consults WHERE id = ?", (consult_id,))
        return None if row is None else Stored(_consult(row), int(row["version"]))

    async def targets(self, consult_id: int) -> list[int]:
        """Facilities the request reached, in the order it reached them."""
        rows = await self.db.fetch_all(
            "SELECT facility_id FROM consult_targets WHERE consult_id = ? ORDER BY tier, position",
            (consult_id,),
        )
        return [int(r["facility_id"]) for r in rows]

    async def invitees(self, consult_id: int) -> list[int]:
        rows = await self.db.fetch_all(
            "SELECT user_id FROM consult_invites WHERE consult_id = ? ORDER BY invited_at",
            (consult_id,),
        )
        return [int(r["user_id"]) for r in rows]

    async def facts_of(self, consults: Sequence[Consult]) -> dict[int, ConsultFacts]:
        """The facts of several consults in three queries (one snapshot), whatever
        their number."""
        if not consults:
            return {}
        ids = [c.id for c in consults]
        marks = _marks(ids)
        async with self.db.reading() as tx:
            rows = await tx.fetch_all(
                "SELECT c.id, c.summary, c.version, c.patient_name, c.patient_birth_year,"
                " c.patient_sex, c.patient_national_id, c.patient_insurance_number,"
                " c.patient_record_number, u.display_name AS clinician_name,"
                " f.name AS facility_name,"
                " a.display_name AS specialist_name, s.name_vi, s.name_en FROM consults c"
                " JOIN specialties s ON s.code = c.specialty_code"
                " JOIN users u ON u.id = c.clinician_id JOIN facilities f ON f.id = c.facility_id"
                f" LEFT JOIN users a ON a.id = c.accepted_by WHERE c.id IN ({marks})",
                ids,
            )
            invites = await tx.fetch_all(
                "SELECT consult_id, user_id FROM consult_invites"
                f" WHERE consult_id IN ({marks}) ORDER BY invited_at",
                ids,
            )
            reached = await tx.fetch_all(
                "SELECT consult_id, facility_id FROM consult_targets"
                f" WHERE consult_id IN ({marks})",
                ids,
            )
        invited: dict[int, list[int]] = {}
        for r in invites:
            invited.setdefault(int(r["consult_id"]), []).append(int(r["user_id"]))
        targets: dict[int, set[int]] = {}
        for r in reached:
            targets.setdefault(int(r["consult_id"]), set()).add(int(r["facility_id"]))
        by_id = {int(r["id"]): r for r in rows}
        facts = {}
        for consult in consults:
            row = by_id.get(consult.id)
            if row is None:
                continue
            facts[consult.id] = ConsultFacts(
                consult=consult,
                version=int(row["version"]),
                summary=str(row["summary"]),
                clinician=str(row["clinician_name"]),
                facility=str(row["facility_name"]),
                specialist=row["specialist_name"],
                specialty_vi=str(row["name_vi"]),
                specialty_en=str(row["name_en"]),
                participants=tuple(participants_of(consult, invited.get(consult.id, []))),
                targets=frozenset(targets.get(consult.id, ())),
                patient=_patient(row),
            )
        return facts

    async def filed_by(self, clinician_id: int, limit: int) -> list[Consult]:
        rows = await self.db.fetch_all(
            "SELECT * FROM consults WHERE clinician_id = ? ORDER BY created_at DESC LIMIT ?",
            (clinician_id, limit),
        )
        return [_consult(r) for r in rows]

    async def queue_of(
        self, specialist_id: int, specialties: frozenset[str], facility_id: int, limit: int
    ) -> list[Consult]:
        """A specialist's consults: accepted or invited to, and the open requests of
        their specialties that reached their facility."""
        codes = sorted(specialties)
        rows = await self.db.fetch_all(
            "SELECT c.* FROM consults c WHERE c.accepted_by = ?"
            " OR c.id IN (SELECT consult_id FROM consult_invites WHERE user_id = ?)"
            " OR (c.state = 'requested'"
            f" AND c.specialty_code IN ({_marks(codes) or 'NULL'})"
            " AND EXISTS (SELECT 1 FROM consult_targets t"
            " WHERE t.consult_id = c.id AND t.facility_id = ?))"
            " ORDER BY c.created_at DESC LIMIT ?",
            (specialist_id, specialist_id, *codes, facility_id, limit),
        )
        return [_consult(r) for r in rows]

    async def due(self, now: float) -> list[int]:
        """Open requests whose expiry or next escalation has come."""
        rows = await self.db.fetch_all(
            "SELECT id FROM consults WHERE state = 'requested' AND (expires_at <= ?"
            " OR (next_escalation_at IS NOT NULL AND next_escalation_at <= ?)) ORDER BY id",
            (now, now),
        )
        return [int(r["id"]) for r in rows]

    async def specialists_among(self, facility_ids: list[int], specialty: str) -> list[Invitable]:
        """Active specialists at these facilities, those of ``specialty`` first."""
        if not facility_ids:
            return []
        rows = await self.db.fetch_all(
            "SELECT u.id, u.display_name, f.name AS facility, f.level,"
            " MAX(CASE WHEN s.specialty_code = ? THEN 1 ELSE 0 END) AS same_specialty"
            " FROM users u"
            " JOIN facilities f ON f.id = u.facility_id"
            " LEFT JOIN user_specialties s ON s.user_id = u.id"
            " WHERE u.role = 'specialist' AND u.active = 1"
            f" AND u.facility_id IN ({_marks(facility_ids)})"
            " GROUP BY u.id, u.display_name, f.name, f.level"
            " ORDER BY same_specialty DESC, u.display_name",
            (specialty, *facility_ids),
        )
        return [
            Invitable(int(r["id"]), str(r["display_name"]), str(r["facility"]), str(r["level"]))
            for r in rows
        ]

    async def recording_policy(self, consult_id: int) -> RecordingPolicy | None:
        row = await self.db.fetch_one(
            "SELECT c.recording_consent, f.code, f.records FROM consults c"
            " JOIN facilities f ON f.id = c.facility_id WHERE c.id = ?",
            (consult_id,),
        )
        if row is None:
            return None
        return RecordingPolicy(
            bool(row["recording_consent"]), str(row["code"]), bool(row["records"])
        )

    # -- writing ---------------------------------------------------------------------

    async def create(self, filing: Filing) -> int:
        """The consult, its routing and its first event, in one transaction: a request
        that is filed is always routed (never "requested" and seen by nobody)."""
        async with self.db.atomic() as tx:
            consult_id = await tx.insert(
                "INSERT INTO consults (clinician_id, facility_id, specialty_code, urgency,"
                " summary, state, tier, created_at, expires_at, next_escalation_at,"
                " recording_consent, patient_name, patient_birth_year, patient_sex,"
                " patient_national_id, patient_insurance_number, patient_record_number)"
                " VALUES (?, ?, ?, ?, ?, 'requested', 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    filing.clinician_id,
                    filing.facility_id,
                    filing.specialty,
                    filing.urgency.value,
                    filing.summary,
                    filing.created_at,
                    filing.expires_at,
                    filing.next_escalation_at,
                    int(filing.consent),
                    filing.patient.name,
                    filing.patient.birth_year,
                    filing.patient.sex.value,
                    filing.patient.national_id,
                    filing.patient.insurance_number,
                    filing.patient.record_number,
                ),
            )
            await self._reach(tx, consult_id, filing.targets, 0)
            await tx.execute(
                _EVENT_SQL, (consult_id, filing.created_at, "requested", filing.clinician_id)
            )
        return consult_id

    async def create_booked(self, filing: Filing, specialist_id: int, link: Claim) -> int | None:
        """A consult made from a booking, accepted by the booked specialist from the
        start, in one transaction with ``link`` (the booking's side: it claims the
        booking for this consult). None when the booking was opened a moment ago by the
        other side (nothing written)."""
        try:
            async with self.db.atomic() as tx:
                consult_id = await tx.insert(
                    "INSERT INTO consults (clinician_id, facility_id, specialty_code, urgency,"
                    " summary, state, tier, created_at, expires_at, accepted_by, accepted_at,"
                    " recording_consent, patient_name, patient_birth_year, patient_sex)"
                    " VALUES (?, ?, ?, ?, ?, 'accepted', 0, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING id",
                    (
                        filing.clinician_id,
                        filing.facility_id,
                        filing.specialty,
                        filing.urgency.value,
                        filing.summary,
                        filing.created_at,
                        filing.expires_at,
                        specialist_id,
                        filing.created_at,
                        int(filing.consent),
                        filing.patient.name,
                        filing.patient.birth_year,
                        filing.patient.sex.value,
                    ),
                )
                await self._reach(tx, consult_id, filing.targets, 0)
                at = filing.created_at
                await tx.execute(_EVENT_SQL, (consult_id, at, "requested", filing.clinician_id))
                await tx.execute(_EVENT_SQL, (consult_id, at, "accepted", specialist_id))
                if not await link(tx, consult_id):
                    raise _Taken
        except _Taken:
            return None
        return consult_id

    async def transition(
        self,
        before: Stored,
        after: Consult,
        kind: str,
        at: float,
        actor: int | None,
        reach: Sequence[int] = (),
    ) -> bool:
        """Write ``after`` if the consult is still at ``before``'s version, with its event
        row and the facilities it now ``reach``es, in one transaction; False (nothing
        written) when it changed meanwhile."""
        values = [getattr(after, column) for column in _CHANGING]
        values[0] = after.state.value
        sets = ", ".join(f"{column} = ?" for column in _CHANGING)
        async with self.db.atomic() as tx:
            changed = await tx.execute(
                f"UPDATE consults SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
                (*values, after.id, before.version),
            )
            if changed != 1:
                return False
            await tx.execute(_EVENT_SQL, (after.id, at, kind, actor))
            await self._reach(tx, after.id, reach, after.tier)
        return True

    async def invite(self, consult_id: int, invitee: int, by: int, at: float) -> None:
        async with self.db.atomic() as tx:
            await tx.execute(
                "INSERT INTO consult_invites (consult_id, user_id, invited_by, invited_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (consult_id, invitee, by, at),
            )
            await tx.execute(_EVENT_SQL, (consult_id, at, "invited", by))

    async def joined(self, consult_id: int, user_id: int, role: str, at: float) -> None:
        async with self.db.atomic() as tx:
            await tx.execute(
                "INSERT INTO consult_participants (consult_id, user_id, role, joined_at)"
                " VALUES (?, ?, ?, ?)",
                (consult_id, user_id, role, at),
            )
            await tx.execute(_EVENT_SQL, (consult_id, at, "room_join", user_id))

    async def left(self, consult_id: int, user_id: int, at: float) -> None:
        """The participant's stay ends, and its event is written, unless it had."""
        async with self.db.atomic() as tx:
            changed = await tx.execute(
                "UPDATE consult_participants SET left_at = ? WHERE consult_id = ?"
                " AND user_id = ? AND left_at IS NULL",
                (at, consult_id, user_id),
            )
            if changed:
                await tx.execute(_EVENT_SQL, (consult_id, at, "room_leave", user_id))

    async def say(self, consult_id: int, author_id: int, text: str, at: float) -> ChatLine:
        async with self.db.atomic() as tx:
            line_id = await tx.insert(
                "INSERT INTO consult_messages (consult_id, author_id, at, body)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (consult_id, author_id, at, text),
            )
            row = await tx.fetch_one("SELECT display_name FROM users WHERE id = ?", (author_id,))
        return ChatLine(line_id, author_id, str(row["display_name"]) if row else "", at, text)

    async def chat(self, consult_id: int) -> list[ChatLine]:
        """What was said in the consult's room, in order."""
        rows = await self.db.fetch_all(
            "SELECT m.id, m.author_id, u.display_name, m.at, m.body FROM consult_messages m"
            " JOIN users u ON u.id = m.author_id WHERE m.consult_id = ? ORDER BY m.id",
            (consult_id,),
        )
        return [
            ChatLine(
                int(r["id"]), int(r["author_id"]), str(r["display_name"]), float(r["at"]), r["body"]
            )
            for r in rows
        ]

    async def event(self, consult_id: int, user_id: int | None, kind: str, at: float) -> None:
        await self.db.execute(_EVENT_SQL, (consult_id, at, kind, user_id))

    async def happenings(self, consult_id: int, kinds: Sequence[str]) -> list[Happening]:
        """The consult's events of these kinds, in order, with who did them."""
        rows = await self.db.fetch_all(
            "SELECT e.at, e.kind, u.display_name AS who FROM consult_events e"
            " LEFT JOIN users u ON u.id = e.actor_id WHERE e.consult_id = ? AND e.kind IN"
            f" ({','.join('?' for _ in kinds)}) ORDER BY e.at, e.id",
            (consult_id, *kinds),
        )
        return [Happening(float(r["at"]), str(r["kind"]), str(r["who"] or "")) for r in rows]

    @staticmethod
    async def _reach(
        tx: Transaction, consult_id: int, facility_ids: Sequence[int], tier: int
    ) -> None:
        for facility_id in facility_ids:
            await tx.execute(_TARGET_SQL, (consult_id, facility_id, tier, consult_id))
