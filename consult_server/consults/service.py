"""Consult requests: persistence and orchestration around the sans-I/O machine.

Every change is: load, apply the event with ``consult_server.consults.lifecycle.apply``, write back
with ``WHERE version = ?``. A lost race (another specialist accepted first, another
node expired it) writes nothing and is reported as a conflict, so the first accept
wins on one node or ten. Whoever must see a change is told through ``notify``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp.web import AppKey

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Role, User
from consult_server.accounts.referral_tree import ReferralTree
from consult_server.config import ConsultConfig
from consult_server.consults.lifecycle import (
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
    joinable,
)
from consult_server.consults.models import (
    ChatLine,
    ConsultFacts,
    Happening,
    Invitable,
    NewConsult,
    participants_of,
)
from consult_server.consults.repository import Claim, ConsultRepository, Filing, Stored
from consult_server.consults.routing import can_escalate, route
from consult_server.errors import BadRequest, Conflict, Forbidden, NotFound

Notify = Callable[[set[int], dict[str, Any]], Awaitable[None]]
#: How many consults a list shows (newest first).
CLINICIAN_LIST = 50
SPECIALIST_QUEUE = 100


class Consults:
    def __init__(self, store: ConsultRepository, accounts: Accounts, config: ConsultConfig) -> None:
        self.store = store
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

    async def _load(self, consult_id: int) -> Stored:
        stored = await self.store.load(consult_id)
        if stored is None:
            raise NotFound("no such consult", "consult_not_found")
        return stored

    async def get(self, consult_id: int) -> Consult:
        return (await self._load(consult_id)).consult

    async def targets(self, consult_id: int) -> list[int]:
        return await self.store.targets(consult_id)

    async def participants(self, consult: Consult) -> list[int]:
        return participants_of(consult, await self.store.invitees(consult.id))

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
        return await self.store.facts_of(consults)

    async def list_for(self, user: User) -> list[Consult]:
        if user.role is Role.CLINICIAN:
            return await self.store.filed_by(user.id, CLINICIAN_LIST)
        if user.role is Role.SPECIALIST:
            return await self.store.queue_of(
                user.id, user.specialties, user.facility_id, SPECIALIST_QUEUE
            )
        return []

    async def describe(self, consult: Consult, viewer: User) -> dict[str, Any]:
        """What a client is shown (the summary only to those who may see it)."""
        return (await self.facts(consult)).describe(viewer)

    async def describe_all(self, consults: list[Consult], viewer: User) -> list[dict[str, Any]]:
        """A list, as ``describe`` shows each item, in three queries."""
        facts = await self.facts_of(consults)
        return [facts[c.id].describe(viewer) for c in consults if c.id in facts]

    # -- writing ---------------------------------------------------------------------

    async def again(self, clinician: User, consult_id: int) -> NewConsult:
        """The request ``clinician`` filed and nobody took (expired, or cancelled), to
        file again as it was: the same specialty, urgency, summary, patient and
        consent."""
        consult = await self.get(consult_id)
        if consult.clinician_id != clinician.id:
            raise NotFound("no such consult", "consult_not_found")
        if consult.state not in (ConsultState.EXPIRED, ConsultState.CANCELLED):
            raise Conflict("only a request nobody took is filed again", "not_refilable")
        facts = await self.facts(consult)
        if facts.patient is None:
            raise Conflict("this request has no patient to file again", "not_refilable")
        policy = await self.store.recording_policy(consult.id)
        return NewConsult(
            consult.specialty,
            consult.urgency,
            facts.summary,
            facts.patient,
            policy.consent if policy is not None else False,
        )

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
        consult_id = await self.store.create(
            Filing(
                clinician_id=clinician.id,
                facility_id=clinician.facility_id,
                specialty=request.specialty,
                urgency=request.urgency,
                summary=request.summary,
                patient=request.patient,
                consent=request.consent,
                created_at=now,
                expires_at=now + self.config.expire_after_seconds,
                next_escalation_at=now + period if escalates and period is not None else None,
                targets=tuple(targets),
            )
        )
        consult = await self.get(consult_id)
        await self._announce(consult)
        return consult

    async def from_booking(
        self,
        clinician_id: int,
        facility_id: int,
        specialist_id: int,
        request: NewConsult,
        until: float,
        link: Claim,
    ) -> Consult | None:
        """The consult of a booking that comes due: accepted by the booked specialist
        from the start, its room joinable until ``until``; ``link`` claims the booking in
        the same transaction (None: the other side opened it a moment ago)."""
        specialist = await self.accounts.user(specialist_id)
        if specialist is None:
            raise Conflict("the booked specialist's account is closed", "specialist_gone")
        now = time.time()
        consult_id = await self.store.create_booked(
            Filing(
                clinician_id=clinician_id,
                facility_id=facility_id,
                specialty=request.specialty,
                urgency=request.urgency,
                summary=request.summary,
                patient=request.patient,
                consent=request.consent,
                created_at=now,
                expires_at=until,
                next_escalation_at=None,
                targets=(specialist.facility_id,),
            ),
            specialist_id,
            link,
        )
        if consult_id is None:
            return None
        consult = await self.get(consult_id)
        await self._announce(consult)
        return consult

    async def _transition(
        self,
        consult_id: int,
        event: ConsultEvent,
        actor: int | None,
        tree: ReferralTree | None = None,
    ) -> Consult:
        """Apply an event: the change, its event row and (an escalation, given the
        referral ``tree``) the facilities it now reaches, in one transaction."""
        stored = await self._load(consult_id)
        before = stored.consult
        try:
            after = apply(before, event)
        except IllegalTransition as exc:
            raise Conflict(str(exc), f"consult_{before.state.value}") from None
        escalated = after.tier != before.tier
        reach = (
            route(tree, after.facility_id, after.specialty, after.urgency, after.tier)
            if tree is not None and escalated
            else []
        )
        kind = "escalated" if escalated else after.state.value
        if not await self.store.transition(stored, after, kind, time.time(), actor, reach):
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
        due = await self.store.due(now)
        changed: list[int] = []
        if not due:
            return changed
        tree = await self.accounts.referral_tree()
        for consult_id in due:
            consult = await self.get(consult_id)
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

    async def invitable(self, user: User, consult_id: int) -> list[Invitable]:
        """Specialists a participant may bring in: those at the facilities above the
        clinician's in the referral tree, the consult's specialty first."""
        consult = await self.get(consult_id)
        people = await self.participants(consult)
        if user.id not in people or not joinable(consult.state):
            raise NotFound("no such consult", "consult_not_found")
        tree = await self.accounts.referral_tree()
        found = await self.store.specialists_among(
            tree.ancestors(consult.facility_id), consult.specialty
        )
        return [person for person in found if person.id not in people]

    async def invite(self, user: User, consult_id: int, invitee_id: object) -> Consult:
        """Bring one more specialist into an accepted or running consult."""
        if not isinstance(invitee_id, int) or isinstance(invitee_id, bool):
            raise BadRequest("user_id must be a number", "bad_payload")
        consult = await self.get(consult_id)
        people = await self.participants(consult)
        if not has_room_for(len(people)):
            raise Conflict(f"a consult takes at most {MAX_PARTICIPANTS} people", "room_full")
        allowed = {person.id for person in await self.invitable(user, consult_id)}
        if invitee_id not in allowed:
            raise BadRequest("that person cannot be invited to this consult", "not_invitable")
        await self.store.invite(consult_id, invitee_id, user.id, time.time())
        await self._announce(consult)
        return consult

    # -- chat ----------------------------------------------------------------------------

    async def say(self, consult_id: int, user_id: int, text: str, at: float) -> ChatLine:
        """A participant says something in the consult's room (the caller checked that
        they are in it; the text was checked at the edge)."""
        consult = await self.get(consult_id)
        if user_id not in await self.participants(consult) or not joinable(consult.state):
            raise Forbidden("only those in the consult's room can write in it", "not_in_room")
        return await self.store.say(consult_id, user_id, text, at)

    async def timeline(self, consult_id: int, kinds: Sequence[str]) -> list[Happening]:
        """The consult's events of these kinds, in order (callers decide who may see)."""
        return await self.store.happenings(consult_id, kinds)

    async def chat_of(self, user: User, consult_id: int) -> list[ChatLine]:
        """What was said, for those who may read the consult's record."""
        await self.readable(user, consult_id)
        return await self.store.chat(consult_id)

    async def readable(self, user: User, consult_id: int) -> ConsultFacts:
        """The consult's facts if ``user`` may read its record (summary, patient, files,
        chat, note): those who see it (its participants; while it is open, the
        specialists it reached) and supervisors over the facility that filed it or of
        anyone taking part. Default deny, and the same answer for a consult that does
        not exist, so ids reveal nothing."""
        stored = await self.store.load(consult_id)
        if stored is not None:
            facts = await self.facts(stored.consult)
            if facts.visible_to(user) or await self._supervises(user, facts):
                return facts
        raise NotFound("no such consult", "consult_not_found")

    async def _supervises(self, user: User, facts: ConsultFacts) -> bool:
        if user.role is not Role.SUPERVISOR:
            return False
        subtree = (await self.accounts.referral_tree()).descendants(user.facility_id)
        if facts.consult.facility_id in subtree:
            return True
        people = await self.accounts.users(list(facts.participants))
        return any(p.facility_id in subtree for p in people.values())


CONSULTS: AppKey[Consults] = AppKey("consults")
