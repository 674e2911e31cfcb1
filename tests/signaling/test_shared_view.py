"""Show to everyone: the presenter's view reaches the others, is kept for late joiners,
and a malformed or unauthorised view is refused without changing what is shown."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signaling.messages import BadMessage
from signaling.shared_view import View
from tests.consult_server.attachments.test_views import send
from tests.signaling.test_chat import _in_room
from tests.signaling.test_socket_api import accepted_consult, collect, until
from tests.support import sample_files as files
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, Harness

VIEW: dict[str, Any] = {
    "file": 7,
    "frame": 3,
    "zoom": 2.5,
    "pan": [0.1, -0.2],
    "rotation": 0,
    "window": [40, 400],
    "brightness": 1,
    "contrast": 1,
}


def test_a_view_is_small() -> None:
    assert len(json.dumps(View.parse(VIEW).to_dict())) < 300


@pytest.mark.parametrize(
    "change",
    [
        {"zoom": float("nan")},
        {"zoom": 0},
        {"frame": -1},
        {"pan": [1]},
        {"pan": "left"},
        {"rotation": 45},
        {"window": [40, 0]},
        {"window": [40, 1e300]},
        {"file": True},
        {"brightness": None},
    ],
)
def test_malformed_views_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(BadMessage) as refused:
        View.parse({**VIEW, **change})
    assert refused.value.code == "bad_view"


async def attach(client: Client, consult_id: int, count: int) -> list[int]:
    """``count`` distinct CT slices attached to the consult; their ids."""
    ids = []
    for n in range(count):
        status, body = await send(client, consult_id, files.ct_dicom(instance=n + 1))
        assert status == 201, body
        ids.append(int(body["file"]["id"]))
    return ids


async def test_the_others_follow_and_a_late_joiner_picks_it_up(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    first, second, third = await attach(clinician, consult_id, 3)
    view = {**VIEW, "file": first}
    specialist_io, specialist_token = await _in_room(
        harness, specialist, "specialist.demo", consult_id, "specialist"
    )
    clinician_io = None
    try:
        shown = await specialist_io.call(
            "room:show",
            {"token": specialist_token, "files": [first, second], "view": view},
            timeout=10,
        )
        assert shown["ok"]
        # The clinician joins late: the room's state carries what is shown.
        states: list[Any] = []
        clinician_io, clinician_token = await _in_room(
            harness, clinician, "clinician.demo", consult_id, "clinician"
        )
        clinician_io.on("room:state", states.append)
        views = collect(clinician_io, "room:view")
        pointers = collect(clinician_io, "room:pointer")
        presentations = collect(clinician_io, "room:shown")
        await specialist_io.call(
            "room:media", {"token": specialist_token, "audio": True, "video": True}, timeout=10
        )
        await until(lambda: bool(states))
        assert states[-1]["shown"]["files"] == [first, second]
        assert states[-1]["shown"]["view"]["frame"] == 3
        assert states[-1]["shown"]["name"] == "BS. Lê Minh Châu"

        moved = {**view, "frame": 4, "zoom": 3.0}
        reply = await specialist_io.call(
            "room:view", {"token": specialist_token, "view": moved}, timeout=10
        )
        assert reply["ok"]
        await until(lambda: bool(views))
        assert views[0]["view"]["frame"] == 4 and views[0]["view"]["zoom"] == 3.0
        await specialist_io.call(
            "room:pointer", {"token": specialist_token, "at": [0.5, 0.25]}, timeout=10
        )
        await until(lambda: bool(pointers))
        assert pointers[0] == {"at": [0.5, 0.25]}

        # Refused: a bad view (nothing changes), a follower moving the view.
        bad = await specialist_io.call(
            "room:view", {"token": specialist_token, "view": {**moved, "zoom": -1}}, timeout=10
        )
        assert bad["error"]["code"] == "bad_view"
        follower = await clinician_io.call(
            "room:view", {"token": clinician_token, "view": moved}, timeout=10
        )
        assert follower["error"]["code"] == "not_presenting"
        # A view of a file not among those shown: refused.
        elsewhere = await specialist_io.call(
            "room:view", {"token": specialist_token, "view": {**moved, "file": third}}, timeout=10
        )
        assert elsewhere["error"]["code"] == "bad_view"

        # The clinician takes over; then stops.
        taken = await clinician_io.call(
            "room:show",
            {"token": clinician_token, "files": [third], "view": {**VIEW, "file": third}},
            timeout=10,
        )
        assert taken["ok"]
        gone = await specialist_io.call(
            "room:view", {"token": specialist_token, "view": moved}, timeout=10
        )
        assert gone["error"]["code"] == "not_presenting"
        await clinician_io.call("room:unshow", {"token": clinician_token}, timeout=10)
        await until(lambda: {"shown": None} in presentations)
    finally:
        await specialist_io.disconnect()
        if clinician_io is not None:
            await clinician_io.disconnect()


async def test_only_the_rooms_own_files_can_be_shown(harness: Harness) -> None:
    """Another consult's file (its id guessed or copied): refused, nothing shown."""
    clinician, specialist, consult_id = await accepted_consult(harness)
    (own,) = await attach(clinician, consult_id, 1)
    status, body = await clinician.api("POST", "/api/consults", request_body("Khác"))
    assert status == 201
    (foreign,) = await attach(clinician, int(body["consult"]["id"]), 1)
    sio, token = await _in_room(harness, specialist, "specialist.demo", consult_id, "specialist")
    states: list[Any] = []
    sio.on("room:state", states.append)
    try:
        for files_shown, file in (([foreign], foreign), ([own, foreign], own), ([own], 999)):
            view = {**VIEW, "file": file}
            reply = await sio.call(
                "room:show", {"token": token, "files": files_shown, "view": view}, timeout=10
            )
            assert reply["error"]["code"] in ("file_not_in_room", "bad_view"), reply
        reply = await sio.call(
            "room:show", {"token": token, "files": [foreign], "view": VIEW}, timeout=10
        )
        assert reply["error"]["code"] == "file_not_in_room"
        await sio.call("room:media", {"token": token, "audio": True, "video": True}, timeout=10)
        await until(lambda: bool(states))
        assert states[-1]["shown"] is None
    finally:
        await sio.disconnect()


async def test_view_updates_are_rate_limited(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    (own,) = await attach(clinician, consult_id, 1)
    view = {**VIEW, "file": own}
    sio, token = await _in_room(harness, specialist, "specialist.demo", consult_id, "specialist")
    try:
        await sio.call("room:show", {"token": token, "files": [own], "view": view}, timeout=10)
        replies = [
            await sio.call("room:view", {"token": token, "view": view}, timeout=10)
            for _ in range(40)
        ]
        limited = [r for r in replies if "error" in r]
        assert limited and all(r["error"]["code"] == "rate_limited" for r in limited)
        assert len(replies) - len(limited) <= 30
    finally:
        await sio.disconnect()
