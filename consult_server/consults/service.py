"""Consult requests: persistence and orchestration around the sans-I/O machine.

Every change is: load, apply the event with ``signaling.consult.apply``, write back
with ``WHERE version = ?``. A lost race (another specialist accepted first, another
node expired it) writes nothing and is reported as a conflict, so the first accept
wins on one node or ten. Whoever must see a change is told through ``notify``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.config import ConsultConfig
from consult_server.errors import BadRequest, Conflict, Forbidden, NotFound
from consult_server.store.db import Database, Row, Transaction
from signaling.consult import (
    MAX_PARTICIPANTS,
    Accept,
    Cancel,
    Consult,
    ConsultEvent,
    ConsultState,
    Escalate,
    IllegalTransition,
    SessionEnded,
    SessionStarted,
    Urgency,
    apply,
    due_events,
    has_room_for,
)
from signaling.consult import (
    joinable as consult_joinable,
)
from signaling.routing import ReferralTree, can_escalate, route

Notify = Callable[[set[int], dict[str, Any]], Awaitable[None]]
_COLUMNS = (
    "state, tier, next_escalation_at, accepted_by, accepted_at, started_at, ended_at, end_reason"
)
#: A facility the consult reaches, after those it reached before (once per facility).
_TARGET_SQL = (
    "INSERT INTO consult_targets (consult_id, facility_id, tier, position)"
    " SELECT ?, ?, ?, COALESCE(MAX(position), 0) + 1 FROM consult_targets WHERE consult_id = ?"
    " ON CONFLICT DO NOTHING"
)


def _participants(consult: Consult, invitees: list[int]) -> list[int]:
    """Who takes part: the clinician, the accepting specialist, then the invited."""
    people = [consult.clinician_id]
    if consult.accepted_by is not None:
        people.append(consult.accepted_by)
    return people + [u for u in invitees if u not in people]


@dataclass(frozen=True)
class ConsultFacts:
    """What describing a consult to anyone needs, read once (one snapshot) and shared by
    every recipient of an update or every item of a list."""

    consult: Consult
    version: int
    summary: str
    clinician: str
    facility: str
    specialist: str | None
    specialty_vi: str
    specialty_en: str
    #: The clinician, the accepting specialist, then the invited, in that order.
    participants: tuple[int, ...]
    #: Facilities the request reached.
    targets: frozenset[int]

    def visible_to(self, user: User) -> bool:
        """Default deny: the participants, and while the request is open, specialists
        of that specialty at a facility it reached."""
        if user.id in self.participants:
            return True
        return self.consult.state is ConsultState.REQUESTED and self.offered_to(user)

    def offered_to(self, user: User) -> bool:
        """The request reached ``user``: a specialist of its specialty at a facility it
        reached (whatever its state now)."""
        return (
            user.role is Role.SPECIALIST
            and self.consult.specialty in user.specialties
            and user.facility_id in self.targets
        )

    def describe(self, viewer: User) -> dict[str, Any]:
        """What a client is shown (the caller checked ``visible_to``)."""
        consult, people = self.consult, self.participants
        return {
            "id": consult.id,
            # Counts every change: a page applies a copy only if it is not older than
            # the one it shows (an HTTP reply can arrive after a newer live update).
            "version": self.version,
            "state": consult.state.value,
            "specialty": consult.specialty,
            "specialty_name": self.specialty_en if viewer.language == "en" else self.specialty_vi,
            "urgency": consult.urgency.value,
            "summary": self.summary,
            "created_at": consult.created_at,
            "accepted_at": consult.accepted_at,
            "clinician": self.clinician,
            "facility": self.facility,
            "specialist": self.specialist,
            "tier": consult.tier,
            "end_reason": consult.end_reason,
            "mine": viewer.id in people,
            "invited": viewer.id in people[2:],
            "can_join": viewer.id in people and consult_joinable(consult.state),
            "participants": len(people),
        }


@dataclass(frozen=True)
class NewConsult:
    specialty: str
    urgency: Urgency
    summary: str
    #: The clinician confirmed the patient's consent to recording.
    consent: bool = False

    @classmethod
    def parse(cls, payload: object, max_summary: int) -> NewConsult:
        """Validate a request body at the edge; raise ``BadRequest`` naming the field."""
        if not isinstance(payload, dict):
            raise BadRequest("expected a JSON object", "bad_payload")
        specialty = payload.get("specialty")
        if not isinstance(specialty, str) or not specialty or len(specialty) > 64:
            raise BadRequest("specialty is required", "bad_specialty")
        try:
            urgency = Urgency(str(payload.get("urgency")))
        except ValueError:
            raise BadRequest(
                "urgency must be routine, urgent or emergency", "bad_urgency"
            ) from None
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            raise BadRequest("a short case summary is required", "summary_required")
        if len(summary) > max_summary:
            raise BadRequest(f"summary is longer than {max_summary} characters", "summary_too_long")
        consent = payload.get("consent", False)
        if not isinstance(consent, bool):
            raise BadRequest("consent must be true or false", "bad_consent")
        return cls(specialty, urgency, summary.strip(), consent)


def _consult_from_row(row: Row) -> Consult:
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


class Consults:
    def __init__(self, db: Database, accounts: Accounts, config: ConsultConfig) -> None:
        self.db = db
        self.accounts = accounts
        self.config = config
        self._notify: Notify | None = None

    def set_notifier(self, notify: Notify) -> None:
        self._notify = notify

    def escalation_period(self, urgency: Urgency) -> float | None:
        return {
            Urgency.ROUTINE: None,
            Urgency.URGENT: float(self.config.escalate_urgent_seconds),
            Urgency.EMERGENCY: float(self.config.escalate_emergency_seconds),
        }[urgency]

    # -- reading ---------------------------------------------------------------------

    async def _load(self, consult_id: int) -> tuple[Consult, int, Row]:
        row = await self.db.fetch_one("SELECT * FROM consults WHERE id = ?", (consult_id,))
        if row is None:
            raise NotFound("no such consult", "consult_not_found")
        return _consult_from_row(row), int(row["version"]), row

    async def get(self, consult_id: int) -> Consult:
        return (await self._load(consult_id))[0]

    async def targets(self, consult_id: int) -> list[int]:
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

    async def participants(self, consult: Consult) -> list[int]:
        return _participants(consult, await self.invitees(consult.id))

    async def can_see(self, user: User, consult: Consult) -> bool:
        return (await self.facts(consult)).visible_to(user)

    async def audience(self, consult: Consult, facts: ConsultFacts | None = None) -> set[int]:
        """Users who see this consult change."""
        facts = facts or await self.facts(consult)
        users = set(facts.participants)
        users.update(await self.accounts.specialists_at(sorted(facts.targets), consult.specialty))
        return users

    async def facts(self, consult: Consult) -> ConsultFacts:
        return (await self.facts_of([consult]))[consult.id]

    async def facts_of(self, consults: list[Consult]) -> dict[int, ConsultFacts]:
        """The facts of several consults in three queries, whatever their number."""
        if not consults:
            return {}
        ids = [c.id for c in consults]
        marks = ",".join("?" * len(ids))
        async with self.db.reading() as tx:
            rows = await tx.fetch_all(
                "SELECT c.id, c.summary, c.version, u.display_name AS clinician_name,"
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
            people = _participants(consult, invited.get(consult.id, []))
            facts[consult.id] = ConsultFacts(
                consult=consult,
                version=int(row["version"]),
                summary=str(row["summary"]),
                clinician=str(row["clinician_name"]),
                facility=str(row["facility_name"]),
                specialist=row["specialist_name"],
                specialty_vi=str(row["name_vi"]),
                specialty_en=str(row["name_en"]),
                participants=tuple(people),
                targets=frozenset(targets.get(consult.id, ())),
            )
        return facts

    async def list_for(self, user: User) -> list[Consult]:
        if user.role is Role.CLINICIAN:
            rows = await self.db.fetch_all(
                "SELECT * FROM consults WHERE clinician_id = ? ORDER BY created_at DESC LIMIT 50",
                (user.id,),
            )
        elif user.role is Role.SPECIALIST:
            marks = ",".join("?" * len(user.specialties)) or "NULL"
            rows = await self.db.fetch_all(
                "SELECT c.* FROM consults c WHERE c.accepted_by = ?"
                " OR c.id IN (SELECT consult_id FROM consult_invites WHERE user_id = ?)"
                " OR (c.state = 'requested'"
                f" AND c.specialty_code IN ({marks}) AND EXISTS (SELECT 1 FROM consult_targets t"
                " WHERE t.consult_id = c.id AND t.facility_id = ?))"
                " ORDER BY c.created_at DESC LIMIT 100",
                (user.id, user.id, *sorted(user.specialties), user.facility_id),
            )
        else:
            return []
        return [_consult_from_row(r) for r in rows]

    async def describe(self, consult: Consult, viewer: User) -> dict[str, Any]:
        """What a client is shown (the summary only to those who may see it)."""
        return (await self.facts(consult)).describe(viewer)

    async def describe_all(self, consults: list[Consult], viewer: User) -> list[dict[str, Any]]:
        """A list, as ``describe`` shows each item, in three queries."""
        facts = await self.facts_of(consults)
        return [facts[c.id].describe(viewer) for c in consults if c.id in facts]

    # -- writing ---------------------------------------------------------------------

    async def create(
        self, clinician: User, request: NewConsult, now: float | None = None
    ) -> Consult:
        if clinician.role is not Role.CLINICIAN:
            raise Forbidden("only clinicians request consults", "wrong_role")
        known = {s.code for s in await self.accounts.specialties()}
        if request.specialty not in known:
            raise BadRequest("unknown specialty", "bad_specialty")
        now = time.time() if now is None else now
        tree = await self.accounts.referral_tree()
        targets = route(tree, clinician.facility_id, request.specialty, request.urgency, 0)
        if not targets:
            raise Conflict("no facility above yours has this specialty", "no_specialist")
        period = self.escalation_period(request.urgency)
        escalates = period is not None and can_escalate(
            tree, clinician.facility_id, request.specialty, request.urgency, 0
        )
        # The consult, its routing and its first event are one transaction: a request
        # that is filed is always routed (never "requested" and seen by nobody).
        async with self.db.atomic() as tx:
            consult_id = await tx.insert(
                "INSERT INTO consults (clinician_id, facility_id, specialty_code, urgency,"
                " summary, state, tier, created_at, expires_at, next_escalation_at,"
                " recording_consent) VALUES (?, ?, ?, ?, ?, 'requested', 0, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    clinician.id,
                    clinician.facility_id,
                    request.specialty,
                    request.urgency.value,
                    request.summary,
                    now,
                    now + self.config.expire_after_seconds,
                    now + period if escalates and period is not None else None,
                    int(request.consent),
                ),
            )
            for facility_id in targets:
                await tx.execute(_TARGET_SQL, (consult_id, facility_id, 0, consult_id))
            await tx.execute(self._event_sql, (consult_id, now, "requested", clinician.id))
        consult = await self.get(consult_id)
        await self._announce(consult)
        return consult

    _event_sql = "INSERT INTO consult_events (consult_id, at, kind, actor_id) VALUES (?, ?, ?, ?)"

    async def _transition(
        self,
        consult_id: int,
        event: ConsultEvent,
        actor: int | None,
        tree: ReferralTree | None = None,
    ) -> Consult:
        """Apply an event: the change, its event row and (an escalation, given the
        referral ``tree``) the facilities it now reaches, in one transaction."""
        before, version, _ = await self._load(consult_id)
        try:
            after = apply(before, event)
        except IllegalTransition as exc:
            raise Conflict(str(exc), f"consult_{before.state.value}") from None
        values = [getattr(after, c.strip()) for c in _COLUMNS.split(",")]
        values[0] = after.state.value
        sets = ", ".join(f"{c.strip()} = ?" for c in _COLUMNS.split(","))
        kind = "escalated" if after.tier != before.tier else after.state.value
        # The change and its event row together (conditional on the version read).
        async with self.db.atomic() as tx:
            changed = await tx.execute(
                f"UPDATE consults SET {sets}, version = version + 1 WHERE id = ? AND version = ?",
                (*values, consult_id, version),
            )
            if changed == 1:
                await tx.execute(self._event_sql, (consult_id, time.time(), kind, actor))
                if tree is not None and after.tier != before.tier:
                    await self._add_targets(tx, after, tree)
        if changed != 1:
            current = await self.get(consult_id)
            raise Conflict(
                f"the consult changed meanwhile (now {current.state.value})",
                f"consult_{current.state.value}",
            )
        return after

    async def accept(self, specialist: User, consult_id: int) -> Consult:
        before = await self.get(consult_id)
        facts = await self.facts(before)
        if specialist.role is not Role.SPECIALIST:
            raise NotFound("no such consult", "consult_not_found")
        if not facts.visible_to(specialist):
            if facts.offered_to(specialist):
                # Too late: tell the specialist who was offered it why, not "no such".
                raise Conflict(
                    f"the request is {before.state.value}", f"consult_{before.state.value}"
                )
            raise NotFound("no such consult", "consult_not_found")
        audience = await self.audience(before, facts)
        after = await self._transition(
            consult_id, Accept(specialist.id, time.time()), specialist.id
        )
        await self._announce(after, audience)
        return after

    async def cancel(self, user: User, consult_id: int) -> Consult:
        before = await self.get(consult_id)
        facts = await self.facts(before)
        if user.id not in (before.clinician_id, before.accepted_by):
            if facts.visible_to(user):
                raise Forbidden("only its participants may cancel a consult", "wrong_role")
            raise NotFound("no such consult", "consult_not_found")
        audience = await self.audience(before, facts)
        after = await self._transition(consult_id, Cancel(user.id, time.time()), user.id)
        await self._announce(after, audience)
        return after

    async def session_started(self, consult_id: int, at: float) -> None:
        after = await self._transition(consult_id, SessionStarted(at), None)
        await self._announce(after)

    async def session_ended(self, consult_id: int, at: float, reason: str) -> None:
        after = await self._transition(consult_id, SessionEnded(at, reason), None)
        await self._announce(after)

    async def tick(self, now: float | None = None) -> list[int]:
        """Expire and escalate due requests; return the ids changed. Idempotent across
        nodes: a lost race is skipped."""
        now = time.time() if now is None else now
        rows = await self.db.fetch_all(
            "SELECT id FROM consults WHERE state = 'requested' AND (expires_at <= ?"
            " OR (next_escalation_at IS NOT NULL AND next_escalation_at <= ?))",
            (now, now),
        )
        changed = []
        tree = await self.accounts.referral_tree()
        for row in rows:
            consult = await self.get(int(row["id"]))
            for event in due_events(consult, now, self.escalation_period(consult.urgency)):
                if isinstance(event, Escalate):
                    more = can_escalate(
                        tree,
                        consult.facility_id,
                        consult.specialty,
                        consult.urgency,
                        consult.tier + 1,
                    )
                    event = dataclasses.replace(event, next_at=event.next_at if more else None)
                audience = await self.audience(consult)
                try:
                    after = await self._transition(consult.id, event, None, tree)
                except Conflict:
                    continue
                await self._announce(after, audience | await self.audience(after))
                changed.append(consult.id)
        return changed

    async def _add_targets(self, tx: Transaction, consult: Consult, tree: ReferralTree) -> None:
        targets = route(tree, consult.facility_id, consult.specialty, consult.urgency, consult.tier)
        for facility_id in targets:
            await tx.execute(_TARGET_SQL, (consult.id, facility_id, consult.tier, consult.id))

    async def _announce(self, consult: Consult, audience: set[int] | None = None) -> None:
        """Tell everyone concerned: the consult's facts read once, its audience's
        accounts in one go (a handful of queries, whatever the audience's size)."""
        if self._notify is None:
            return
        facts = await self.facts(consult)
        users = audience if audience is not None else await self.audience(consult, facts)
        viewers = await self.accounts.users(users)
        for user_id in sorted(users):
            viewer = viewers.get(user_id)
            if viewer is None:
                continue
            payload = (
                facts.describe(viewer)
                if facts.visible_to(viewer)
                else {"id": consult.id, "state": consult.state.value, "gone": True}
            )
            await self._notify({user_id}, {"consult": payload, "server_now": time.time()})

    async def invitable(self, user: User, consult_id: int) -> list[dict[str, Any]]:
        """Specialists a participant may bring in: those at the facilities above the
        clinician's in the referral tree, the consult's specialty first."""
        consult = await self.get(consult_id)
        people = await self.participants(consult)
        if user.id not in people or consult.state not in (
            ConsultState.ACCEPTED,
            ConsultState.IN_SESSION,
        ):
            raise NotFound("no such consult", "consult_not_found")
        tree = await self.accounts.referral_tree()
        chain = tree.ancestors(consult.facility_id)
        if not chain:
            return []
        marks = ",".join("?" * len(chain))
        rows = await self.db.fetch_all(
            "SELECT u.id, u.display_name, f.name AS facility, f.level,"
            " MAX(CASE WHEN s.specialty_code = ? THEN 1 ELSE 0 END) AS same_specialty"
            " FROM users u"
            " JOIN facilities f ON f.id = u.facility_id"
            " LEFT JOIN user_specialties s ON s.user_id = u.id"
            f" WHERE u.role = 'specialist' AND u.active = 1 AND u.facility_id IN ({marks})"
            " GROUP BY u.id, u.display_name, f.name, f.level"
            " ORDER BY same_specialty DESC, u.display_name",
            (consult.specialty, *chain),
        )
        return [
            {
                "id": r["id"],
                "name": r["display_name"],
                "facility": r["facility"],
                "level": r["level"],
            }
            for r in rows
            if r["id"] not in people
        ]

    async def invite(self, user: User, consult_id: int, invitee_id: object) -> Consult:
        """Bring one more specialist into an accepted or running consult."""
        if not isinstance(invitee_id, int) or isinstance(invitee_id, bool):
            raise BadRequest("user_id must be a number", "bad_payload")
        consult = await self.get(consult_id)
        people = await self.participants(consult)
        if not has_room_for(len(people)):
            raise Conflict(f"a consult takes at most {MAX_PARTICIPANTS} people", "room_full")
        allowed = {entry["id"] for entry in await self.invitable(user, consult_id)}
        if invitee_id not in allowed:
            raise BadRequest("that person cannot be invited to this consult", "not_invitable")
        now = time.time()
        await self.db.transaction(
            [
                (
                    "INSERT INTO consult_invites (consult_id, user_id, invited_by,"
                    " invited_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (consult_id, invitee_id, user.id, now),
                ),
                (self._event_sql, (consult_id, now, "invited", user.id)),
            ]
        )
        await self._announce(consult)
        return consult

    # -- room bookkeeping ------------------------------------------------------------

    async def record_join(self, consult_id: int, user_id: int, role: str, at: float) -> None:
        await self.db.transaction(
            [
                (
                    "INSERT INTO consult_participants (consult_id, user_id, role, joined_at)"
                    " VALUES (?, ?, ?, ?)",
                    (consult_id, user_id, role, at),
                ),
                (self._event_sql, (consult_id, at, "room_join", user_id)),
            ]
        )

    async def record_leave(self, consult_id: int, user_id: int, at: float) -> None:
        changed = await self.db.execute(
            "UPDATE consult_participants SET left_at = ? WHERE consult_id = ? AND user_id = ?"
            " AND left_at IS NULL",
            (at, consult_id, user_id),
        )
        if changed:
            await self.record_event(consult_id, user_id, "room_leave", at)

    async def record_event(
        self, consult_id: int, user_id: int | None, kind: str, at: float
    ) -> None:
        """Something happened in the room (for the recording's review timeline)."""
        await self.db.execute(self._event_sql, (consult_id, at, kind, user_id))


CONSULTS: AppKey[Consults] = AppKey("consults")
