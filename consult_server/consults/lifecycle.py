"""The consult life cycle as a transition table.

    requested --Accept--> accepted --SessionStarted--> in_session --SessionEnded--> ended
                                                       in_session --SessionStarted--> in_session
                                                       (the room was lost with a server
                                                       restart and its people came back)
        |  \\--Escalate--> requested (one more referral level)
        |--Cancel--> cancelled        accepted --Cancel--> cancelled
        \\--Expire--> expired

A ``Consult`` is immutable; :func:`apply` returns the next one or raises
``IllegalTransition`` naming the state and the event, leaving the input untouched.
Deadlines are data on the consult; :func:`due_events` says which timed events are due
at a given instant, so the I/O edge only has to call it with the clock.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum


class ConsultState(StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    IN_SESSION = "in_session"
    ENDED = "ended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


FINAL_STATES = frozenset({ConsultState.ENDED, ConsultState.CANCELLED, ConsultState.EXPIRED})
#: The consult's room can be joined in these states only.
JOINABLE_STATES = frozenset({ConsultState.ACCEPTED, ConsultState.IN_SESSION})
#: People in one consult: the clinician, the specialist who accepted and invitees.
MAX_PARTICIPANTS = 4
#: The session runs while this many participants are in the room (the seat of one who
#: dropped counts for the room's grace time).
ROOM_QUORUM = 2


def joinable(state: ConsultState) -> bool:
    return state in JOINABLE_STATES


def has_room_for(participants: int) -> bool:
    """May one more person be invited into a consult with this many participants?"""
    return participants < MAX_PARTICIPANTS


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class IllegalTransition(Exception):
    """An event that the consult's current state does not allow."""

    def __init__(self, state: ConsultState, event: object, reason: str = "") -> None:
        name = type(event).__name__
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot {name} a consult in state {state.value}{detail}")
        self.state = state
        self.event_name = name


@dataclass(frozen=True)
class Consult:
    id: int
    clinician_id: int
    facility_id: int
    specialty: str
    urgency: Urgency
    state: ConsultState
    created_at: float
    expires_at: float
    #: How many referral levels beyond the first the request has reached.
    tier: int = 0
    next_escalation_at: float | None = None
    accepted_by: int | None = None
    accepted_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None


@dataclass(frozen=True)
class Accept:
    specialist_id: int
    at: float


@dataclass(frozen=True)
class Cancel:
    user_id: int
    at: float


@dataclass(frozen=True)
class Expire:
    at: float


@dataclass(frozen=True)
class Escalate:
    at: float
    #: When the next escalation is due, or None when no level is left above.
    next_at: float | None


@dataclass(frozen=True)
class SessionStarted:
    at: float


@dataclass(frozen=True)
class SessionEnded:
    at: float
    reason: str


ConsultEvent = Accept | Cancel | Expire | Escalate | SessionStarted | SessionEnded

_S = ConsultState
TRANSITIONS: dict[tuple[ConsultState, type], ConsultState] = {
    (_S.REQUESTED, Accept): _S.ACCEPTED,
    (_S.REQUESTED, Cancel): _S.CANCELLED,
    (_S.REQUESTED, Expire): _S.EXPIRED,
    (_S.REQUESTED, Escalate): _S.REQUESTED,
    (_S.ACCEPTED, Cancel): _S.CANCELLED,
    (_S.ACCEPTED, SessionStarted): _S.IN_SESSION,
    (_S.IN_SESSION, SessionEnded): _S.ENDED,
    (_S.IN_SESSION, SessionStarted): _S.IN_SESSION,
}


def apply(consult: Consult, event: ConsultEvent) -> Consult:
    """Return the consult after ``event``, or raise ``IllegalTransition``."""
    target = TRANSITIONS.get((consult.state, type(event)))
    if target is None:
        raise IllegalTransition(consult.state, event)
    change: dict[str, object] = {"state": target}
    match event:
        case Accept(specialist_id=who, at=at):
            change.update(accepted_by=who, accepted_at=at, next_escalation_at=None)
        case Cancel(user_id=who, at=at):
            allowed = {consult.clinician_id, consult.accepted_by} - {None}
            if who not in allowed:
                raise IllegalTransition(consult.state, event, "only its participants may cancel")
            change.update(ended_at=at, end_reason="cancelled", next_escalation_at=None)
        case Expire(at=at):
            change.update(ended_at=at, end_reason="expired", next_escalation_at=None)
        case Escalate(next_at=next_at):
            if consult.next_escalation_at is None:
                raise IllegalTransition(consult.state, event, "no level left to escalate to")
            change.update(tier=consult.tier + 1, next_escalation_at=next_at)
        case SessionStarted(at=at):
            if consult.started_at is None:  # a resumed session keeps the first start
                change.update(started_at=at)
        case SessionEnded(at=at, reason=reason):
            change.update(ended_at=at, end_reason=reason)
    return dataclasses.replace(consult, **change)  # type: ignore[arg-type]


def due_events(consult: Consult, now: float, escalate_every: float | None) -> list[ConsultEvent]:
    """Timed events due at ``now``: expiry wins over escalation.

    ``escalate_every`` is the escalation period for this consult's urgency (None for
    routine); the caller knows whether a further level exists and passes
    ``next_escalation_at`` accordingly when building the consult.
    """
    if consult.state is not ConsultState.REQUESTED:
        return []
    if now >= consult.expires_at:
        return [Expire(at=now)]
    due = consult.next_escalation_at
    if due is not None and now >= due and escalate_every is not None:
        return [Escalate(at=now, next_at=now + escalate_every)]
    return []
