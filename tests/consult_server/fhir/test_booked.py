"""A booked consult's FHIR export: the Schedule, Slot and Appointment beside the rest,
valid R4 by both libraries, every reference resolved inside the bundle, and links to
files absolute from server.public_url."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.consult_server.attachments.test_views import send
from tests.consult_server.bookings.test_service import booked_now
from tests.consult_server.fhir.test_export import references, validate
from tests.support import sample_files as files
from tests.support.inproc import Harness, running_app

PUBLIC = "https://hoichan.soyte.example.vn"


@pytest.fixture
async def public_harness(tmp_path: Path, database: dict[str, Any]) -> AsyncIterator[Harness]:
    overrides: dict[str, Any] = {"server.public_url": PUBLIC + "/", **database}
    async with running_app(tmp_path, **overrides) as h:
        yield h


async def test_a_booked_consult_exports_its_schedule_slot_and_appointment(
    public_harness: Harness,
) -> None:
    harness = public_harness
    clinician, _specialist, booking_id = await booked_now(harness)
    status, body = await clinician.api("POST", f"/api/bookings/{booking_id}/room")
    assert status == 200
    consult_id = body["consult_id"]
    assert (await send(clinician, consult_id, files.png_bytes(), "phim.png"))[0] == 201
    status, bundle = await clinician.api("GET", f"/api/consults/{consult_id}/fhir")
    assert status == 200
    validate(bundle)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    (appointment,) = by_type["Appointment"]
    (slot,) = by_type["Slot"]
    (schedule,) = by_type["Schedule"]
    assert appointment["status"] == "booked"
    assert appointment["start"] == slot["start"] and slot["status"] == "busy"
    assert schedule["serviceType"][0]["coding"][0]["code"] == "cardiology"
    assert {e["fullUrl"] for e in bundle["entry"]} >= set(references(bundle))
    (encounter,) = by_type["Encounter"]
    assert len(encounter["appointment"]) == 1
    (media,) = by_type["Media"]
    assert media["content"]["url"].startswith(PUBLIC + "/files/"), "absolute, one slash"
