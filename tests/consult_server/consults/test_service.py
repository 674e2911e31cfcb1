"""Consult orchestration on the real store: escalation, expiry, accept races."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.consults.lifecycle import ConsultState, Urgency
from consult_server.consults.service import CONSULTS
from consult_server.errors import Conflict
from consult_server.store.db import DB
from tests.support.consult_requests import new_consult
from tests.support.inproc import Harness, demo_password_hash
from tests.support.server import DEMO_PASSWORD


async def user(harness: Harness, username: str) -> User:
    found = await harness.app[ACCOUNTS].authenticate(username, "demo-password-for-tests")
    assert found is not None
    return found


async def staff_cardiology(harness: Harness) -> dict[str, int]:
    """Cardiology at the district and provincial levels too (three levels above the
    commune); the demo facilities' ids by code."""
    accounts = harness.app[ACCOUNTS]
    facilities = {f.code: f.id for f in await accounts.facilities()}
    for code, name in (("demo-district", "card.district"), ("demo-provincial", "card.prov")):
        await accounts.create_user(
            name,
            DEMO_PASSWORD,
            Role.SPECIALIST,
            facilities[code],
            specialties=frozenset({"cardiology"}),
            password_hash=demo_password_hash(),
        )
    return facilities


async def test_urgent_request_escalates_then_expires_and_everyone_is_told(
    clock_harness: Harness,
) -> None:
    consults = clock_harness.app[CONSULTS]
    told: list[tuple[set[int], dict[str, Any]]] = []

    async def notify(users: set[int], payload: dict[str, Any]) -> None:
        told.append((users, payload))

    consults.set_notifier(notify)
    clinician = await user(clock_harness, "clinician.demo")
    central = await user(clock_harness, "specialist.central")
    district = await user(clock_harness, "specialist.demo")
    # The demo tree: internal medicine at the district and the central hospital only,
    # so an urgent request reaches both (nearest level + next level) at once.
    consult = await consults.create(
        clinician, new_consult("internal-medicine", Urgency.URGENT, "x"), now=1000.0
    )
    assert await consults.targets(consult.id) == [
        district.facility_id,
        central.facility_id,
    ]
    assert consult.next_escalation_at is None, "no third level exists to escalate to"
    assert await consults.can_see(central, consult)

    assert await consults.tick(now=1000.0 + 1799) == []
    assert await consults.tick(now=1000.0 + 1800) == [consult.id]
    assert (await consults.get(consult.id)).state is ConsultState.EXPIRED
    expired_for = {u for users, p in told if p["consult"]["state"] == "expired" for u in users}
    assert {clinician.id, district.id, central.id} <= expired_for


async def test_emergency_escalation_adds_the_next_level(clock_harness: Harness) -> None:
    consults = clock_harness.app[CONSULTS]
    facilities = await staff_cardiology(clock_harness)
    clinician = await user(clock_harness, "clinician.demo")
    consult = await consults.create(
        clinician, new_consult("cardiology", Urgency.EMERGENCY, "x"), now=0.0
    )
    assert await consults.targets(consult.id) == [
        facilities["demo-district"],
        facilities["demo-provincial"],
    ]
    assert consult.next_escalation_at == 120.0
    assert await consults.tick(now=119.0) == []
    assert await consults.tick(now=120.0) == [consult.id]
    after = await consults.get(consult.id)
    assert (after.tier, after.next_escalation_at) == (1, None)
    assert await consults.targets(consult.id) == [
        facilities["demo-district"],
        facilities["demo-provincial"],
        facilities["demo-central"],
    ]


async def test_two_specialists_accepting_at_once_one_wins(clock_harness: Harness) -> None:
    consults = clock_harness.app[CONSULTS]
    clinician = await user(clock_harness, "clinician.demo")
    district = await user(clock_harness, "specialist.demo")
    central = await user(clock_harness, "specialist.central")
    consult = await consults.create(
        clinician, new_consult("internal-medicine", Urgency.URGENT, "x")
    )
    results = await asyncio.gather(
        consults.accept(district, consult.id),
        consults.accept(central, consult.id),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    # Whether it lost the race or came after, the other is told why, not "no such".
    assert losers[0].code == "consult_accepted"
    assert (await consults.get(consult.id)).accepted_by == winners[0].accepted_by
    late = central if winners[0].accepted_by == district.id else district
    with pytest.raises(Conflict) as refused:
        await consults.accept(late, consult.id)
    assert refused.value.code == "consult_accepted"


async def test_a_live_update_costs_the_same_statements_for_2_or_22_recipients(
    clock_harness: Harness,
) -> None:
    """The consult's facts and the audience's accounts are read once per change, not
    once per recipient (issue 9: _announce ran about six queries per recipient)."""
    app = clock_harness.app
    consults, accounts, db = app[CONSULTS], app[ACCOUNTS], app[DB]
    told: list[tuple[set[int], dict[str, Any]]] = []

    async def notify(users: set[int], payload: dict[str, Any]) -> None:
        told.append((users, payload))

    consults.set_notifier(notify)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    clinician = await user(clock_harness, "clinician.demo")
    request = new_consult("internal-medicine", Urgency.ROUTINE, "x")
    costs = []
    for more in (0, 20):
        district = (await user(clock_harness, "specialist.demo")).facility_id
        for index in range(more):
            await accounts.create_user(
                f"extra{index}",
                DEMO_PASSWORD,
                Role.SPECIALIST,
                district,
                f"BS {index}",
                frozenset({"internal-medicine"}),
                password_hash=demo_password_hash(),
            )
        told.clear()
        statements = 0
        await consults.create(clinician, request)
        costs.append((statements, len(told)))
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    (few, two), (many, twenty_two) = costs
    assert (two, twenty_two) == (2, 22), costs
    assert many == few, costs
    # Each of the 22 was told what they may see: the summary went to those who see it.
    assert all(payload["consult"]["summary"] == "x" for _, payload in told)


async def test_an_escalation_that_cannot_reach_its_new_level_does_not_happen(
    clock_harness: Harness,
) -> None:
    """The tier and its new targets are one transaction: when adding the next level
    fails (here a real trigger refuses it), the consult stays where it was, with no
    'escalated' event, instead of claiming a level nobody was told about."""
    consults, db = clock_harness.app[CONSULTS], clock_harness.app[DB]
    facilities = await staff_cardiology(clock_harness)
    clinician = await user(clock_harness, "clinician.demo")
    consult = await consults.create(
        clinician, new_consult("cardiology", Urgency.EMERGENCY, "x"), now=0.0
    )
    async with db.atomic() as tx:
        if tx.postgresql:
            await tx.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'disk full'; END; $$"
            )
            await tx.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON consult_targets FOR EACH ROW"
                " WHEN (NEW.tier > 0) EXECUTE FUNCTION refuse()"
            )
        else:
            await tx.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON consult_targets WHEN NEW.tier > 0"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
    with pytest.raises(DBAPIError, match="disk full"):
        await consults.tick(now=120.0)
    after = await consults.get(consult.id)
    assert (after.tier, after.next_escalation_at) == (0, 120.0)
    assert await consults.targets(consult.id) == [
        facilities["demo-district"],
        facilities["demo-provincial"],
    ]
    kinds = await db.fetch_all(
        "SELECT kind FROM consult_events WHERE consult_id = ?", (consult.id,)
    )
    assert [k["kind"] for k in kinds] == ["requested"]
