"""The consult's pages render for those who may see them: the room and the record."""

from __future__ import annotations

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Level, Role
from consult_server.audit.chain import AUDIT
from consult_server.consults.service import CONSULTS
from tests.signaling.test_socket_api import accepted_consult, user_id
from tests.support.inproc import Harness, demo_password_hash
from tests.support.server import DEMO_PASSWORD


async def test_record_page_and_room_page(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    clinician_id = await user_id(harness, "clinician.demo")
    await harness.app[CONSULTS].store.say(consult_id, clinician_id, "<b>mạch 120</b>", 1.0)
    for client, editor in ((clinician, False), (specialist, True)):
        for path in (f"/consults/{consult_id}", f"/consults/{consult_id}/room"):
            response = await client.get(path)
            page = await response.text()
            assert response.status == 200, (client.username, path)
            assert "Nguyễn Thị Hoa" in page
            assert ('data-testid="note-editor"' in page) is editor
            assert 'data-testid="attachment-list"' in page
    page = await (await clinician.get(f"/consults/{consult_id}")).text()
    assert "&lt;b&gt;mạch 120&lt;/b&gt;" in page
    expected = {"clinician2.demo": 404, "specialist.central": 404, "admin.demo": 403}
    for name, status in expected.items():
        client = await harness.login(name)
        assert (await client.get(f"/consults/{consult_id}")).status == status, name
    supervisor = await harness.login("supervisor.demo")
    response = await supervisor.get(f"/consults/{consult_id}")
    page = await response.text()
    assert response.status == 200 and 'data-testid="note-editor"' not in page
    assert 'data-testid="attach-file"' not in page and 'data-testid="note-comment-form"' not in page
    entries = await harness.app[AUDIT].for_objects([f"consult:{consult_id}"])
    # Every reading of the patient is audited, the participants' too (once per user
    # and ten minutes: the clinician's second look above made no entry).
    readings = sorted((e.actor, e.action, e.detail["part"]) for e in entries)
    assert readings == [
        ("clinician.demo", "view", "record"),
        ("specialist.demo", "view", "record"),
        ("supervisor.demo", "view", "record"),
    ]
    # Reading the files' list as a supervisor is audited too (once per ten minutes).
    for _ in range(2):
        status, _body = await supervisor.api("GET", f"/api/consults/{consult_id}/files")
        assert status == 200
    entries = await harness.app[AUDIT].for_objects([f"consult:{consult_id}"])
    assert [e.detail for e in entries if e.actor == "supervisor.demo"] == [
        {"part": "files"},
        {"part": "record"},
    ]


async def test_who_reads_what_was_said(harness: Harness) -> None:
    """The chat's record: the API for those who took part (or were offered the request),
    the record page also for supervisors over the consult's facilities, nobody else."""
    accounts = harness.app[ACCOUNTS]
    elsewhere = await accounts.add_facility("far-away", "Bệnh viện xa", Level.PROVINCIAL, None)
    await accounts.create_user(
        "supervisor.other",
        DEMO_PASSWORD,
        Role.SUPERVISOR,
        elsewhere,
        "Giám sát khác",
        password_hash=demo_password_hash(),
    )
    clinician, specialist, consult_id = await accepted_consult(harness)
    clinician_id = await user_id(harness, "clinician.demo")
    await harness.app[CONSULTS].store.say(consult_id, clinician_id, "mạch 120", 1.0)
    # name: (GET /api/consults/ID/messages, GET /consults/ID)
    expected = {
        "clinician.demo": (200, 200),
        "specialist.demo": (200, 200),
        "clinician2.demo": (404, 404),
        "specialist.central": (404, 404),
        "supervisor.demo": (403, 200),
        "supervisor.other": (403, 404),
        "admin.demo": (403, 403),
    }
    for name, (api_status, page_status) in expected.items():
        client = {"clinician.demo": clinician, "specialist.demo": specialist}.get(name)
        client = client or await harness.login(name)
        status, body = await client.api("GET", f"/api/consults/{consult_id}/messages")
        assert status == api_status, name
        if status == 200:
            assert [m["text"] for m in body["messages"]] == ["mạch 120"]
        page = await client.get(f"/consults/{consult_id}")
        assert page.status == page_status, name
        assert ("mạch 120" in await page.text()) is (page_status == 200), name
