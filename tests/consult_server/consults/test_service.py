"""Consult orchestration on the real store: escalation, expiry, accept races."""

from __future__ import annotations

import asyncio
from typing import Any

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role, User
from consult_server.consults.service import CONSULTS, NewConsult
from consult_server.errors import Conflict
from signaling.consult import ConsultState, Urgency
from tests.support.inproc import Harness


async def user(harness: Harness, username: str) -> User:
    found = await harness.app[ACCOUNTS].authenticate(username, "demo-password-for-tests")
    assert found is not None
    return found


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
        clinician, NewConsult("internal-medicine", Urgency.URGENT, "x"), now=1000.0
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
    accounts = clock_harness.app[ACCOUNTS]
    consults = clock_harness.app[CONSULTS]
    # Staff cardiology at district and provincial too: three levels above the commune.
    facilities = {f.code: f.id for f in await accounts.facilities()}
    for code, name in (("demo-district", "card.district"), ("demo-provincial", "card.prov")):
        await accounts.create_user(
            name,
            "password123",
            Role.SPECIALIST,
            facilities[code],
            specialties=frozenset({"cardiology"}),
        )
    clinician = await user(clock_harness, "clinician.demo")
    consult = await consults.create(
        clinician, NewConsult("cardiology", Urgency.EMERGENCY, "x"), now=0.0
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
    consult = await consults.create(clinician, NewConsult("internal-medicine", Urgency.URGENT, "x"))
    results = await asyncio.gather(
        consults.accept(district, consult.id),
        consults.accept(central, consult.id),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1
    assert (await consults.get(consult.id)).accepted_by == winners[0].accepted_by
