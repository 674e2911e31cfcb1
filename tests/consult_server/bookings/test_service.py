"""Booking over the real app, on both engines: hours published, free slots a clinician
may reach, twenty simultaneous bookings of one slot give exactly one booking (two of a
two-patient slot give two), a cancel frees the seat and tells the other side."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import socketio

from consult_server.bookings.service import BOOKINGS
from consult_server.local_time import SERVICE_TIMEZONE
from consult_server.store.db import DB
from tests.consult_server.admin.test_users import user_id
from tests.support.consult_requests import PATIENT_JSON as PATIENT
from tests.support.inproc import Client, Harness

TOMORROW = datetime.datetime.now(SERVICE_TIMEZONE).date() + datetime.timedelta(days=1)


async def publish(specialist: Client, specialty: str, per_slot: int = 1) -> None:
    status, body = await specialist.api(
        "PUT",
        "/api/availability",
        {
            "hours": [
                {
                    "specialty": specialty,
                    "weekday": TOMORROW.weekday(),
                    "start_minute": 8 * 60,
                    "end_minute": 9 * 60,
                    "slot_minutes": 30,
                    "per_slot": per_slot,
                }
            ]
        },
    )
    assert status == 200, body


async def slots(clinician: Client, specialty: str) -> list[dict[str, Any]]:
    status, body = await clinician.api(
        "GET", f"/api/slots?specialty={specialty}&from={TOMORROW.isoformat()}&days=1"
    )
    assert status == 200, body
    return list(body["slots"])


def booking(
    slot: dict[str, Any], summary: str = "Đau ngực khi gắng sức", patient: int = 0
) -> dict[str, Any]:
    """A booking of ``slot`` for the demo patient (``patient`` > 0: another one)."""
    return {
        "specialist_id": slot["specialist_id"],
        "specialty": slot["specialty"],
        "starts_at": slot["starts_at"],
        "summary": summary,
        "patient": PATIENT | ({"name": f"Bệnh nhân {chr(64 + patient)}"} if patient else {}),
    }


async def test_twenty_at_once_on_one_slot_give_one_booking(harness: Harness) -> None:
    specialist = await harness.login("specialist.central")
    await publish(specialist, "cardiology")
    clinicians = [await harness.login("clinician.demo"), await harness.login("clinician2.demo")]
    free = await slots(clinicians[0], "cardiology")
    assert [s["free"] for s in free] == [1, 1]
    answers = await asyncio.gather(
        *(
            clinicians[i % 2].api("POST", "/api/bookings", booking(free[0], patient=i))
            for i in range(20)
        )
    )
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * 19
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"slot_taken"}
    rows = await harness.app[DB].fetch_all(
        "SELECT seat FROM bookings WHERE starts_at = ? AND status = 'scheduled'",
        (free[0]["starts_at"],),
    )
    assert [r["seat"] for r in rows] == [1]
    assert [s["starts_at"] for s in await slots(clinicians[0], "cardiology")] == [
        free[1]["starts_at"]
    ]


async def test_a_two_patient_slot_takes_two_and_a_cancel_frees_one(harness: Harness) -> None:
    specialist = await harness.login("specialist.central")
    await publish(specialist, "cardiology", per_slot=2)
    clinician = await harness.login("clinician.demo")
    told: list[Any] = []
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("booking:update", told.append)
    await sio.connect(
        specialist.base, headers={"Cookie": specialist.cookie_header()}, transports=["websocket"]
    )
    try:
        slot = (await slots(clinician, "cardiology"))[0]
        answers = await asyncio.gather(
            *(clinician.api("POST", "/api/bookings", booking(slot, patient=i)) for i in range(6))
        )
        made = [body["booking"] for status, body in answers if status == 201]
        assert len(made) == 2 and sorted(s for s, _ in answers).count(409) == 4
        status, body = await specialist.api(
            "POST", f"/api/bookings/{made[0]['id']}/cancel", {"reason": ""}
        )
        assert status == 400 and body["error"]["code"] == "reason_required"
        status, body = await specialist.api(
            "POST", f"/api/bookings/{made[0]['id']}/cancel", {"reason": "Bận ca mổ cấp cứu"}
        )
        assert status == 200 and body["booking"]["status"] == "cancelled"
        assert (await slots(clinician, "cardiology"))[0]["free"] == 1
        for _ in range(50):
            if len(told) >= 3:
                break
            await asyncio.sleep(0.05)
        assert [t["booking"]["status"] for t in told] == ["scheduled", "scheduled", "cancelled"]
        other = await harness.login("clinician2.demo")
        status, _ = await other.api(
            "POST", f"/api/bookings/{made[1]['id']}/cancel", {"reason": "x"}
        )
        assert status == 404, "not theirs"
    finally:
        await sio.disconnect()


async def test_only_reachable_published_slots_are_booked(harness: Harness) -> None:
    specialist = await harness.login("specialist.demo")  # district, internal medicine
    await publish(specialist, "internal-medicine")
    clinician = await harness.login("clinician.demo")
    slot = (await slots(clinician, "internal-medicine"))[0]
    # Not a published start, not a specialty they practise, not a clinician.
    odd = booking(slot) | {"starts_at": slot["starts_at"] + 600}
    assert (await clinician.api("POST", "/api/bookings", odd))[0] == 404
    wrong = booking(slot) | {"specialty": "cardiology"}
    assert (await clinician.api("POST", "/api/bookings", wrong))[0] == 404
    assert (await specialist.api("POST", "/api/bookings", booking(slot)))[0] == 403
    status, body = await specialist.api(
        "PUT",
        "/api/availability",
        {
            "hours": [
                {
                    "specialty": "cardiology",
                    "weekday": 1,
                    "start_minute": 480,
                    "end_minute": 540,
                    "slot_minutes": 30,
                }
            ]
        },
    )
    assert status == 400 and body["error"]["code"] == "bad_availability"
    bad_patient = booking(slot) | {"patient": {"name": ""}}
    assert (await clinician.api("POST", "/api/bookings", bad_patient))[0] == 400
    assert (await clinician.api("POST", "/api/bookings", booking(slot)))[0] == 201


async def booked_now(harness: Harness) -> tuple[Client, Client, int]:
    """A booking of a slot starting in a few minutes (hours published from now on)."""
    specialist = await harness.login("specialist.central")
    now = datetime.datetime.now(SERVICE_TIMEZONE)
    start = (now + datetime.timedelta(minutes=3)).replace(second=0, microsecond=0)
    day, start_minute = start.date(), start.hour * 60 + start.minute
    # A slot cannot run past midnight: shorter near it, and in the last minutes the first
    # slot of the next day (still due within the room's 15 minutes). Once the hours were
    # moved back to 23:30 instead, and from 23:30 on no slot was left to book.
    length = min(30, 24 * 60 - start_minute)
    if length < 5:
        day, start_minute, length = day + datetime.timedelta(days=1), 0, 30
    status, body = await specialist.api(
        "PUT",
        "/api/availability",
        {
            "hours": [
                {
                    "specialty": "cardiology",
                    "weekday": day.weekday(),
                    "start_minute": start_minute,
                    "end_minute": start_minute + length,
                    "slot_minutes": length,
                }
            ]
        },
    )
    assert status == 200, body
    clinician = await harness.login("clinician.demo")
    status, body = await clinician.api(
        "GET", f"/api/slots?specialty=cardiology&from={day.isoformat()}&days=1"
    )
    free = body["slots"]
    assert free, "a slot minutes from now"
    status, body = await clinician.api("POST", "/api/bookings", booking(free[0]))
    assert status == 201
    return clinician, specialist, int(body["booking"]["id"])


async def test_the_room_opens_from_a_booking_once_for_both_sides(harness: Harness) -> None:
    clinician, specialist, booking_id = await booked_now(harness)
    answers = await asyncio.gather(
        clinician.api("POST", f"/api/bookings/{booking_id}/room"),
        specialist.api("POST", f"/api/bookings/{booking_id}/room"),
    )
    assert [status for status, _ in answers] == [200, 200]
    consult_ids = {body["consult_id"] for _, body in answers}
    assert len(consult_ids) == 1, "both sides reach the same consult"
    consult_id = consult_ids.pop()
    row = await harness.app[DB].fetch_one(
        "SELECT state, accepted_by, patient_name FROM consults WHERE id = ?", (consult_id,)
    )
    assert row is not None and row["state"] == "accepted"
    assert row["patient_name"] == PATIENT["name"]
    counted = await harness.app[DB].fetch_one("SELECT COUNT(*) AS n FROM consults")
    assert counted is not None and counted["n"] == 1
    for client in (clinician, specialist):
        page = await client.get(f"/consults/{consult_id}/room")
        assert page.status == 200, "both may enter the room, through the usual check"


async def test_a_booking_nobody_opened_is_missed(harness: Harness) -> None:
    _, _, booking_id = await booked_now(harness)
    bookings = harness.app[BOOKINGS]
    row = await harness.app[DB].fetch_one(
        "SELECT ends_at FROM bookings WHERE id = ?", (booking_id,)
    )
    assert row is not None
    for after, status in ((-1, "scheduled"), (1, "missed")):
        await bookings.tick(float(row["ends_at"]) + bookings.grace + after)
        found = await bookings.store.get(booking_id)
        assert found is not None and found.status == status


async def test_either_side_moves_a_booking_to_a_free_slot(harness: Harness) -> None:
    specialist = await harness.login("specialist.central")
    await publish(specialist, "cardiology")
    clinician = await harness.login("clinician.demo")
    first, second = await slots(clinician, "cardiology")
    status, body = await clinician.api("POST", "/api/bookings", booking(first))
    assert status == 201
    booking_id = body["booking"]["id"]
    status, body = await specialist.api(
        "POST", f"/api/bookings/{booking_id}/move", {"starts_at": second["starts_at"], "reason": ""}
    )
    assert status == 400, "a reason is needed"
    status, body = await specialist.api(
        "POST",
        f"/api/bookings/{booking_id}/move",
        {"starts_at": second["starts_at"], "reason": "Hội đồng chuyên môn lúc 8 giờ"},
    )
    assert status == 200, body
    moved = body["booking"]
    assert moved["starts_at"] == second["starts_at"] and moved["status"] == "scheduled"
    rows = await harness.app[DB].fetch_all(
        "SELECT id, status, cancel_reason, patient_name FROM bookings ORDER BY id"
    )
    assert [(r["status"], r["patient_name"]) for r in rows] == [
        ("cancelled", PATIENT["name"]),
        ("scheduled", PATIENT["name"]),
    ]
    assert rows[0]["cancel_reason"] == "Hội đồng chuyên môn lúc 8 giờ"
    # The first slot is free again; the second is taken: moving back onto a taken one fails.
    assert [s["starts_at"] for s in await slots(clinician, "cardiology")] == [first["starts_at"]]
    other = await clinician.api("POST", "/api/bookings", booking(first))
    assert other[0] == 201
    status, body = await clinician.api(
        "POST",
        f"/api/bookings/{moved['id']}/move",
        {"starts_at": first["starts_at"], "reason": "x"},
    )
    assert status == 409 and body["error"]["code"] == "slot_taken"
    still = await harness.app[DB].fetch_one(
        "SELECT status FROM bookings WHERE id = ?", (moved["id"],)
    )
    assert still is not None and still["status"] == "scheduled", "a refused move changes nothing"
    page = await clinician.get(f"/bookings/{moved['id']}/move")
    assert page.status == 200
    # This week's two slots are taken; the two of the same day next week are free.
    assert (await page.text()).count('data-testid="move-slot"') == 2
    listing = await (await clinician.get("/bookings")).text()
    assert listing.count('data-testid="booking-move"') == 2


async def test_one_patient_is_not_booked_twice_at_one_time(harness: Harness) -> None:
    """Bahmni's patient double booking: the same patient of the same facility at an
    overlapping time with another specialist is a conflict; another patient, or the same
    one once the first booking is cancelled, is not."""
    for name in ("specialist.demo", "specialist.central"):
        await publish(await harness.login(name), "internal-medicine", per_slot=3)
    clinician = await harness.login("clinician.demo")
    free = await slots(clinician, "internal-medicine")
    ids = [await user_id(harness, n) for n in ("specialist.demo", "specialist.central")]
    district, central = (next(s for s in free if s["specialist_id"] == i) for i in ids)
    assert district["starts_at"] == central["starts_at"]
    status, first = await clinician.api("POST", "/api/bookings", booking(district))
    assert status == 201
    same = booking(central) | {"patient": PATIENT | {"name": "  nguyễn THỊ  hoa "}}
    status, body = await clinician.api("POST", "/api/bookings", same)
    assert status == 409 and body["error"]["code"] == "patient_double_booked"
    rows = await harness.app[DB].fetch_all("SELECT id FROM bookings WHERE status = 'scheduled'")
    assert [r["id"] for r in rows] == [first["booking"]["id"]]
    # Another patient, or a patient of the same name at another commune, is booked.
    assert (await clinician.api("POST", "/api/bookings", booking(central, patient=1)))[0] == 201
    other_commune = await harness.login("clinician2.demo")
    assert (await other_commune.api("POST", "/api/bookings", booking(central)))[0] == 201
    # Once the first is cancelled, the patient is free at that time again.
    status, _ = await clinician.api(
        "POST", f"/api/bookings/{first['booking']['id']}/cancel", {"reason": "Đổi bác sĩ"}
    )
    assert status == 200
    third = await slots(clinician, "internal-medicine")
    again = [s for s in third if s["starts_at"] == central["starts_at"]]
    assert again, "a seat of that time is still free"
    assert (await clinician.api("POST", "/api/bookings", booking(again[0])))[0] == 201
