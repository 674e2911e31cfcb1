"""The clinician's wait, over the real app on both engines: which facilities a request
reached (names and levels, no person), how many specialists of its specialty are on
duty there (a page open), and when it expires; a request nobody took is filed again
as it was, with its files, by its own clinician only."""

from __future__ import annotations

import time

import socketio

from consult_server.consults.lifecycle import ConsultState
from consult_server.consults.service import CONSULTS
from tests.consult_server.attachments.test_views import send
from tests.support import sample_files as files
from tests.support.consult_requests import PATIENT_JSON, request_body
from tests.support.inproc import Harness


async def test_the_clinician_sees_where_the_request_went_and_who_is_on_duty(
    harness: Harness,
) -> None:
    clinician = await harness.login("clinician.demo")
    status, body = await clinician.api("POST", "/api/consults", request_body("Sốt cao"))
    assert status == 201
    consult = body["consult"]
    status, reach = await clinician.api("GET", f"/api/consults/{consult['id']}/reach")
    assert status == 200
    assert reach["reached"] == [
        {"facility": "Trung tâm Y tế huyện Demo", "level": "district", "on_duty": 0}
    ]
    assert reach["state"] == "requested" and reach["tier"] == 0
    assert 0 < reach["expires_at"] - reach["server_now"] <= 30 * 60 + 1
    # The district's internist opens their queue: one on duty there.
    specialist = await harness.login("specialist.demo")
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        specialist.base, headers={"Cookie": specialist.cookie_header()}, transports=["websocket"]
    )
    try:
        _, reach = await clinician.api("GET", f"/api/consults/{consult['id']}/reach")
        assert [r["on_duty"] for r in reach["reached"]] == [1]
    finally:
        await sio.disconnect()
    # Nobody else's business: another clinician, a specialist.
    other = await harness.login("clinician2.demo")
    assert (await other.api("GET", f"/api/consults/{consult['id']}/reach"))[0] == 404
    assert (await specialist.api("GET", f"/api/consults/{consult['id']}/reach"))[0] == 403


async def test_a_request_nobody_took_is_filed_again_with_its_files(
    clock_harness: Harness,
) -> None:
    harness = clock_harness
    clinician = await harness.login("clinician.demo")
    body = request_body("Khó thở khi nằm", urgency="urgent", consent=True)
    status, filed = await clinician.api("POST", "/api/consults", body)
    assert status == 201
    old = filed["consult"]["id"]
    for data, name in ((files.png_bytes("a"), "anh-1.png"), (files.ct_dicom(1), "ct-1.dcm")):
        assert (await send(clinician, old, data, name))[0] == 201
    # Still waiting: nothing to file again.
    status, refused = await clinician.api("POST", f"/api/consults/{old}/refile")
    assert status == 409 and refused["error"]["code"] == "not_refilable"
    consults = harness.app[CONSULTS]
    await consults.tick(now=time.time() + 31 * 60)
    assert (await consults.get(old)).state is ConsultState.EXPIRED

    other = await harness.login("clinician2.demo")
    assert (await other.api("POST", f"/api/consults/{old}/refile"))[0] == 404
    status, again = await clinician.api("POST", f"/api/consults/{old}/refile")
    assert status == 201
    new = again["consult"]
    assert new["id"] != old and new["state"] == "requested"
    assert (new["specialty"], new["urgency"], new["summary"]) == (
        "internal-medicine",
        "urgent",
        "Khó thở khi nằm",
    )
    assert new["patient"]["name"] == PATIENT_JSON["name"]
    policy = await consults.store.recording_policy(new["id"])
    assert policy is not None and policy.consent is True
    _, before = await clinician.api("GET", f"/api/consults/{old}/files")
    _, after = await clinician.api("GET", f"/api/consults/{new['id']}/files")
    assert [(f["name"], f["sha256"]) for f in after["files"]] == [
        (f["name"], f["sha256"]) for f in before["files"]
    ]
    assert len(after["files"]) == 2
