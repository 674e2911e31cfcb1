"""The figures over the real app, on both engines, against numbers computed here from
the seeded consults themselves (not from SQL): by month, by facility, the total, the
wait percentiles by nearest rank, scope (another province's consults never count), the
CSV, and DHIS2's dataValueSets."""

from __future__ import annotations

import csv
import datetime
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from consult_server.accounts.directory import ACCOUNTS
from consult_server.local_time import SERVICE_TIMEZONE, day_start
from consult_server.store.db import DB
from tests.support import figures
from tests.support.inproc import Harness

START = day_start(datetime.date(2026, 9, 1))
END = day_start(datetime.date(2026, 12, 1))
QUERY = "from=2026-09&to=2026-11"


def month(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, SERVICE_TIMEZONE).strftime("%Y-%m")


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


@dataclass(frozen=True)
class Other:
    """A booking (status) or a teaching session (its viewers), at a facility and time."""

    facility_id: int
    at: float
    status: str = ""
    viewers: int = 0


def expected(
    consults: list[figures.Seeded],
    key: Callable[[Any], str],
    bookings: Sequence[Other] = (),
    lessons: Sequence[Other] = (),
) -> dict[str, list[str]]:
    groups: dict[str, list[figures.Seeded]] = {}
    for c in consults:
        groups.setdefault(key(c), []).append(c)
    for other in [*bookings, *lessons]:
        groups.setdefault(key(other), [])
    table = {}
    for name, members in groups.items():
        booked = [b for b in bookings if key(b) == name and b.status != "cancelled"]
        taught = [t for t in lessons if key(t) == name]
        waits = [c.accepted_at - c.created_at for c in members if c.accepted_at is not None]
        calls = [c.ended_at - c.started_at for c in members if c.started_at and c.ended_at]
        table[name] = [
            name,
            str(len(members)),
            str(sum(1 for c in members if c.accepted_at is not None)),
            str(sum(1 for c in members if c.state == "ended")),
            str(sum(1 for c in members if c.state == "cancelled")),
            str(sum(1 for c in members if c.state == "expired")),
            str(sum(c.tier for c in members)),
            f"{nearest_rank(waits, 0.5):.0f}" if waits else "",
            f"{nearest_rank(waits, 0.9):.0f}" if waits else "",
            str(len(calls)),
            f"{sum(calls) / len(calls):.0f}" if calls else "",
            str(sum(c.images for c in members)),
            f"{sum(c.recorded_seconds for c in members) / 3600:.2f}",
            *(str(sum(1 for c in members if c.disposition == d)) for d in figures.DISPOSITIONS),
            str(len(booked)),
            str(sum(1 for b in booked if b.status == "missed")),
            str(len(taught)),
            str(sum(t.viewers for t in taught)),
        ]
    return table


async def seeded(harness: Harness) -> tuple[list[figures.Seeded], dict[int, str]]:
    accounts = harness.app[ACCOUNTS]
    codes = {f.id: f.code for f in await accounts.facilities()}
    ids = {code: i for i, code in codes.items()}
    db = harness.app[DB]
    people = {
        r["username"]: int(r["id"]) for r in await db.fetch_all("SELECT id, username FROM users")
    }
    consults = figures.generate(
        400,
        [ids["demo-commune-1"], ids["demo-commune-2"], ids["demo-district"], ids["demo-central"]],
        ["internal-medicine", "cardiology"],
        START - 86400 * 5,  # a few before the range: they must not count
        END - START + 86400 * 10,  # and a few after
        first_id=1000,
    )
    await figures.insert(db, consults, people["clinician.demo"], people["specialist.demo"])
    return consults, codes


async def seed_others(harness: Harness) -> tuple[list[Other], list[Other]]:
    """Bookings and teaching sessions in the range, at the province's facilities."""
    db = harness.app[DB]
    ids = {f.code: f.id for f in await harness.app[ACCOUNTS].facilities()}
    people = {
        r["username"]: int(r["id"]) for r in await db.fetch_all("SELECT id, username FROM users")
    }
    bookings = [
        Other(ids["demo-commune-1"], START + 86400 * 3, "scheduled"),
        Other(ids["demo-commune-1"], START + 86400 * 40, "missed"),
        Other(ids["demo-commune-2"], START + 86400 * 41, "cancelled"),
        Other(ids["demo-commune-2"], START + 86400 * 70, "completed"),
    ]
    for seat, b in enumerate(bookings, start=1):
        await db.execute(
            "INSERT INTO bookings (specialist_id, specialty_code, starts_at, ends_at, seat,"
            " clinician_id, facility_id, summary, status, created_at)"
            " VALUES (?, 'internal-medicine', ?, ?, ?, ?, ?, 'x', ?, ?)",
            (
                people["specialist.demo"],
                b.at,
                b.at + 600,
                seat,
                people["clinician.demo"],
                b.facility_id,
                b.status,
                b.at - 86400,
            ),
        )
    # Two lessons hosted at the district: one watched by both clinicians, one by nobody.
    lessons = [
        Other(ids["demo-district"], START + 86400 * 10, viewers=2),
        Other(ids["demo-district"], START + 86400 * 50),
    ]
    for lesson in lessons:
        teaching_id = await db.insert(
            "INSERT INTO teaching_sessions (title, host_id, state, created_at)"
            " VALUES ('Đọc phim X quang ngực', ?, 'ended', ?) RETURNING id",
            (people["specialist.demo"], lesson.at),
        )
        for viewer in ("clinician.demo", "clinician2.demo")[: lesson.viewers]:
            for _ in range(2):  # joining twice is one viewer
                await db.execute(
                    "INSERT INTO teaching_attendance (session_id, user_id, role, joined_at)"
                    " VALUES (?, ?, 'viewer', ?)",
                    (teaching_id, people[viewer], lesson.at + 60),
                )
    return bookings, lessons


async def rows_of(harness: Harness, query: str) -> dict[str, list[str]]:
    supervisor = await harness.login("supervisor.demo")
    response = await supervisor.get("/stats.csv?" + query)
    assert response.status == 200
    lines = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    assert lines[0][:3] == ["group", "requested", "accepted"]
    return {line[0]: line for line in lines[1:]}


async def test_by_month_and_total_agree_with_the_consults(harness: Harness) -> None:
    consults, codes = await seeded(harness)
    bookings, lessons = await seed_others(harness)
    mine = [
        c
        for c in consults
        if START <= c.created_at < END and codes[c.facility_id] != "demo-central"
    ]

    def when(row: Any) -> str:
        return month(row.created_at if isinstance(row, figures.Seeded) else row.at)

    want = expected(mine, when, bookings, lessons)
    found = await rows_of(harness, QUERY + "&by=month")
    total = found.pop("total")
    assert found == want
    assert found["2026-10"][-4:] == ["1", "1", "1", "0"], "one booked (missed), one lesson"
    everything = expected(mine, lambda c: "total", bookings, lessons)["total"]
    assert total == everything


async def test_by_facility_and_specialty_filter(harness: Harness) -> None:
    consults, codes = await seeded(harness)
    names = {f.id: f.name for f in await harness.app[ACCOUNTS].facilities()}
    mine = [
        c
        for c in consults
        if START <= c.created_at < END
        and codes[c.facility_id] != "demo-central"
        and c.specialty == "cardiology"
    ]
    want = expected(mine, lambda c: names[c.facility_id])
    found = await rows_of(harness, QUERY + "&by=facility&specialty=cardiology")
    found.pop("total")
    assert found == want
    assert "Bệnh viện Trung ương Demo" not in found, "the central hospital is not the province's"


async def test_the_page_draws_its_charts_and_tables(harness: Harness) -> None:
    await seeded(harness)
    supervisor = await harness.login("supervisor.demo")
    page = await (await supervisor.get("/stats?" + QUERY)).text()
    assert page.count('data-testid="stats-chart"') == 2
    assert page.count('<rect class="bar"') == 12 and 'role="img"' in page  # 2 charts × 3 months × 2
    assert 'data-testid="stats-table"' in page and 'data-key="total"' in page
    assert 'href="/stats.csv?from=2026-09&amp;to=2026-11&amp;by=month"' in page
    for name in ("clinician.demo", "specialist.demo"):
        assert (await (await harness.login(name)).get("/stats")).status == 403
    bad = await supervisor.get("/stats?from=2026-13")
    assert bad.status == 400


async def test_dhis2_data_value_set_for_a_month(harness: Harness) -> None:
    consults, codes = await seeded(harness)
    supervisor = await harness.login("supervisor.demo")
    status, body = await supervisor.api("GET", "/stats/dhis2.json?month=2026-10")
    assert status == 200 and body["period"] == "202610"
    requested = {
        v["orgUnit"]: int(v["value"])
        for v in body["dataValues"]
        if v["dataElement"] == "CONSULT_REQUESTED"
    }
    want: dict[str, int] = {}
    for c in consults:
        if month(c.created_at) == "2026-10" and codes[c.facility_id] != "demo-central":
            want[codes[c.facility_id]] = want.get(codes[c.facility_id], 0) + 1
    assert requested == want
