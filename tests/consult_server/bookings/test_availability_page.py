"""The weekly-hours page over the real app, on both engines: a specialist keeps their
own; an admin keeps those of the specialists at facilities under theirs (and is
audited), and no one else's."""

from __future__ import annotations

import datetime

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Role
from consult_server.audit.chain import AUDIT
from consult_server.bookings.service import BOOKINGS
from tests.consult_server.admin.test_facilities import post_form
from tests.consult_server.admin.test_users import facility_id, user_id
from tests.support.inproc import Harness
from tests.support.server import DEMO_PASSWORD

HOURS = {
    "specialty": "internal-medicine",
    "weekday": "2",
    "start": "13:30",
    "end": "15:00",
    "slot_minutes": "30",
    "per_slot": "2",
}


async def test_an_admin_keeps_the_hours_of_specialists_under_them(harness: Harness) -> None:
    admin = await harness.login("admin.demo")
    district_specialist = await user_id(harness, "specialist.demo")
    page = await (await admin.get(f"/availability?for={district_specialist}")).text()
    assert "BS. Lê Minh Châu" in page and f'name="for" value="{district_specialist}"' in page
    status, _ = await post_form(
        admin,
        "/availability",
        {**HOURS, "for": str(district_specialist), "days_off": "2027-01-01\n2027-01-02"},
    )
    assert status == 303
    store = harness.app[BOOKINGS].store
    hours = await store.hours([district_specialist])
    assert [(h.weekday, h.start_minute, h.end_minute, h.per_slot) for h in hours] == [
        (2, 13 * 60 + 30, 15 * 60, 2)
    ]
    assert {day for _, day in await store.days_off([district_specialist])} == {
        datetime.date(2027, 1, 1),
        datetime.date(2027, 1, 2),
    }
    entries = await harness.app[AUDIT].for_objects([f"availability:{district_specialist}"])
    assert [e.action for e in entries] == ["update"]
    # The specialist sees what was set for them on their own page.
    own = await (await (await harness.login("specialist.demo")).get("/availability")).text()
    assert 'value="13:30"' in own and "2027-01-02" in own


async def test_no_one_else_keeps_anyone_elses_hours(harness: Harness) -> None:
    accounts = harness.app[ACCOUNTS]
    district = await facility_id(harness, "demo-district")
    await accounts.create_user(
        "admin.district", DEMO_PASSWORD, Role.ADMIN, district, "Quản trị huyện"
    )
    central_specialist = await user_id(harness, "specialist.central")
    district_specialist = await user_id(harness, "specialist.demo")
    clinician = await user_id(harness, "clinician.demo")
    store = harness.app[BOOKINGS].store
    before = await store.hours([central_specialist])

    district_admin = await harness.login("admin.district")
    assert (await district_admin.get(f"/availability?for={district_specialist}")).status == 200
    for target in (central_specialist, clinician, 999_999):
        assert (await district_admin.get(f"/availability?for={target}")).status == 404
    status, page = await post_form(
        district_admin, "/availability", {**HOURS, "for": str(central_specialist)}
    )
    assert status == 404 and "Phạm Quốc Dũng" not in page
    assert (await district_admin.get("/availability")).status == 404, "an admin names whose"

    specialist = await harness.login("specialist.demo")
    assert (await specialist.get(f"/availability?for={central_specialist}")).status == 403
    status, _ = await post_form(
        specialist, "/availability", {**HOURS, "for": str(central_specialist)}
    )
    assert status == 403
    for name in ("clinician.demo", "supervisor.demo"):
        client = await harness.login(name)
        assert (await client.get(f"/availability?for={district_specialist}")).status == 403
    assert await store.hours([central_specialist]) == before
    assert await harness.app[AUDIT].for_objects([f"availability:{central_specialist}"]) == []
