"""The consult life cycle, driven directly: every legal and every illegal transition."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from consult_server.consults.lifecycle import (
    MAX_PARTICIPANTS,
    ROOM_QUORUM,
    TRANSITIONS,
    Accept,
    Cancel,
    Consult,
    ConsultEvent,
    ConsultState,
    Escalate,
    Expire,
    IllegalTransition,
    SessionEnded,
    SessionStarted,
    Urgency,
    apply,
    due_events,
    has_room_for,
    joinable,
)

CLINICIAN, SPECIALIST, STRANGER = 1, 2, 3


def consult(state: ConsultState = ConsultState.REQUESTED, **kw: object) -> Consult:
    base = Consult(
        id=7,
        clinician_id=CLINICIAN,
        facility_id=10,
        specialty="cardiology",
        urgency=Urgency.URGENT,
        state=state,
        created_at=100.0,
        expires_at=1900.0,
        next_escalation_at=400.0,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


EVENTS: list[ConsultEvent] = [
    Accept(SPECIALIST, 200.0),
    Cancel(CLINICIAN, 200.0),
    Expire(200.0),
    Escalate(200.0, 500.0),
    SessionStarted(200.0),
    SessionEnded(200.0, "all_left"),
]


def test_happy_path_records_who_and_when() -> None:
    c = apply(consult(), Accept(SPECIALIST, 150.0))
    assert (c.state, c.accepted_by, c.accepted_at, c.next_escalation_at) == (
        ConsultState.ACCEPTED,
        SPECIALIST,
        150.0,
        None,
    )
    c = apply(c, SessionStarted(160.0))
    assert (c.state, c.started_at) == (ConsultState.IN_SESSION, 160.0)
    c = apply(c, SessionEnded(900.0, "all_left"))
    assert (c.state, c.ended_at, c.end_reason) == (ConsultState.ENDED, 900.0, "all_left")


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (state, event)
        for state, event in itertools.product(ConsultState, EVENTS)
        if (state, type(event)) not in TRANSITIONS
    ],
)
def test_every_illegal_transition_raises_and_changes_nothing(
    state: ConsultState, event: ConsultEvent
) -> None:
    before = consult(state, accepted_by=SPECIALIST)
    with pytest.raises(IllegalTransition) as info:
        apply(before, event)
    assert info.value.state is state
    assert state.value in str(info.value) and type(event).__name__ in str(info.value)
    assert before == consult(state, accepted_by=SPECIALIST)


def test_illegal_transition_count_is_the_whole_table() -> None:
    # 6 states x 6 event kinds, of which exactly 8 pairs are legal.
    assert len(TRANSITIONS) == 8


def test_a_session_resumed_after_a_restart_keeps_its_first_start() -> None:
    """The server restarted mid-consult: the room is gone, the consult is in session;
    its people rejoin and the room starts again."""
    c = apply(apply(consult(), Accept(SPECIALIST, 150.0)), SessionStarted(160.0))
    resumed = apply(c, SessionStarted(600.0))
    assert (resumed.state, resumed.started_at) == (ConsultState.IN_SESSION, 160.0)


def test_first_accept_wins_second_is_illegal() -> None:
    accepted = apply(consult(), Accept(SPECIALIST, 150.0))
    with pytest.raises(IllegalTransition, match="accepted"):
        apply(accepted, Accept(99, 151.0))


@pytest.mark.parametrize("state", [ConsultState.REQUESTED, ConsultState.ACCEPTED])
def test_either_side_may_cancel(state: ConsultState) -> None:
    c = consult(state, accepted_by=SPECIALIST if state is ConsultState.ACCEPTED else None)
    for who in {CLINICIAN, c.accepted_by} - {None}:
        assert isinstance(who, int)
        after = apply(c, Cancel(who, 300.0))
        assert (after.state, after.end_reason) == (ConsultState.CANCELLED, "cancelled")


def test_a_stranger_cannot_cancel() -> None:
    with pytest.raises(IllegalTransition, match="participants"):
        apply(consult(), Cancel(STRANGER, 300.0))


def test_escalation_raises_the_tier_and_sets_the_next_deadline() -> None:
    c = apply(consult(), Escalate(400.0, 700.0))
    assert (c.state, c.tier, c.next_escalation_at) == (ConsultState.REQUESTED, 1, 700.0)
    c = apply(c, Escalate(700.0, None))
    assert (c.tier, c.next_escalation_at) == (2, None)
    with pytest.raises(IllegalTransition, match="no level left"):
        apply(c, Escalate(1000.0, None))


def test_due_events_expiry_wins_over_escalation() -> None:
    c = consult()
    assert due_events(c, 399.0, 300.0) == []
    assert due_events(c, 400.0, 300.0) == [Escalate(400.0, 700.0)]
    assert due_events(c, 1900.0, 300.0) == [Expire(1900.0)]
    assert due_events(consult(next_escalation_at=None), 500.0, 300.0) == []
    assert due_events(consult(ConsultState.ACCEPTED), 5000.0, 300.0) == []


def test_only_an_accepted_or_running_consult_can_be_joined() -> None:
    assert {s for s in ConsultState if joinable(s)} == {
        ConsultState.ACCEPTED,
        ConsultState.IN_SESSION,
    }


def test_a_consult_takes_four_people_and_runs_with_two() -> None:
    assert [has_room_for(n) for n in range(6)] == [True, True, True, True, False, False]
    assert MAX_PARTICIPANTS == 4 and ROOM_QUORUM == 2
