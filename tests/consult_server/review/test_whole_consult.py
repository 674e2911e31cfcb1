"""A supervisor's session page shows the whole consult beside its recordings: the
patient, the files, what was said (on the session's clock) and the signed note; reading
the chat and the note is audited."""

from __future__ import annotations

import time
from pathlib import Path

from consult_server.audit.chain import AUDIT
from consult_server.consults.service import CONSULTS
from consult_server.store.db import DB
from tests.consult_server.attachments.test_views import send
from tests.consult_server.notes.test_notes import NOTE
from tests.signaling.test_socket_api import accepted_consult, user_id
from tests.support import sample_files as files
from tests.support.inproc import Harness
from tests.support.recorded import seed_session


async def test_the_session_page_shows_patient_files_chat_and_note(
    harness: Harness, tmp_path: Path
) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    status, _ = await send(clinician, consult_id, files.ct_dicom(), "phim-phoi.dcm")
    assert status == 201
    status, _ = await send(clinician, consult_id, files.pdf_bytes(), "xet-nghiem.pdf")
    assert status == 201
    clinician_id = await user_id(harness, "clinician.demo")
    specialist_id = await user_id(harness, "specialist.demo")
    started = time.time() - 30
    seeded = await seed_session(
        harness.app[DB],
        tmp_path / "rec",
        consult_id,
        [(clinician_id, "clinician"), (specialist_id, "specialist")],
        started_at=started,
    )
    await harness.app[CONSULTS].store.say(consult_id, clinician_id, "<i>Mạch 120</i>", started + 65)
    base = f"/api/consults/{consult_id}/note"
    await specialist.api("PUT", f"{base}/draft", NOTE)
    await specialist.api("POST", f"{base}/sign", {"version": 1})

    supervisor = await harness.login("supervisor.demo")
    response = await supervisor.get(f"/review/sessions/{seeded.session_id}")
    page = await response.text()
    assert response.status == 200
    assert 'data-testid="review-patient"' in page and "Nguyễn Thị Hoa" in page
    assert 'data-testid="attachment-item"' in page and "phim-phoi.dcm" in page
    # A PDF has no thumbnail: an icon, not a broken image.
    pdf_item = page.split('data-kind="pdf"')[1].split("</li>")[0]
    assert 'data-testid="file-icon"' in pdf_item and "<img" not in pdf_item
    assert "&lt;i&gt;Mạch 120&lt;/i&gt;" in page and 'data-seek="65.0' in page
    assert 'data-testid="note-signed"' in page and "Viêm phổi thùy dưới phải." in page

    entries = await harness.app[AUDIT].for_objects([f"chat:{consult_id}", f"note:{consult_id}"])
    viewed = {(e.actor, e.action, e.object) for e in entries}
    assert ("supervisor.demo", "view", f"chat:{consult_id}") in viewed
    assert ("supervisor.demo", "view", f"note:{consult_id}") in viewed

    # The supervisor may open the file itself.
    file_url = page.split('data-open-file="')[1].split('"')[0]
    status_code = (await supervisor.get(f"/files/{file_url}")).status
    assert status_code == 200
