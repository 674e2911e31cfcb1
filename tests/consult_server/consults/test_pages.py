"""The consult's pages render for those who may see them: the room and the record."""

from __future__ import annotations

from consult_server.audit.chain import AUDIT
from consult_server.consults.service import CONSULTS
from tests.signaling.test_socket_api import accepted_consult, user_id
from tests.support.inproc import Harness


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
    assert [(e.actor, e.action) for e in entries] == [("supervisor.demo", "view")]
    # Reading the files' list as a supervisor is audited too (once per ten minutes).
    for _ in range(2):
        status, _body = await supervisor.api("GET", f"/api/consults/{consult_id}/files")
        assert status == 200
    entries = await harness.app[AUDIT].for_objects([f"consult:{consult_id}"])
    assert [e.detail for e in entries] == [{"part": "files"}, {}]
