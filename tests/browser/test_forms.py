"""Forms that help, through the real pages: the request form names every wrong field at
once (the page's own checks first, then the server's, in Vietnamese), each marked and
described with focus on the first; a file too large names its size and the limit; the
note's signing names exactly what it lacks (a follow-up with no date), where it is
written."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, Playwright, expect

from tests.support.a11y import serious_violations
from tests.support.browser import enter_room, launch, login, open_panel
from tests.support.consult_requests import fill_patient
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

DESCRIBED = """(fields) => fields.map((f) => [f.name,
  (f.getAttribute('aria-describedby') || '').split(' ')
    .map((id) => document.getElementById(id)?.textContent || '').join(' ').trim()])"""


async def marked(page: Page, form: str) -> dict[str, str]:
    """Each marked field of ``form`` (by name) with the text that describes it."""
    return dict(await page.locator(f"{form} [aria-invalid='true']").evaluate_all(DESCRIBED))


@pytest.mark.slow  # a long browser flow (10 s): the whole run and CI, not the quick one
async def test_every_error_at_once_marked_and_described(
    server: RunningServer, playwright: Playwright, tmp_path: Path
) -> None:
    big = tmp_path / "phim-lon.dcm"
    big.write_bytes(b"\0" * (51 * 1024 * 1024))
    clinician_browser = await launch(playwright)
    specialist_browser = await launch(playwright)
    try:
        clinician = await login(clinician_browser, server.url, "clinician.demo")
        form = "#new-consult"
        # Nothing filled: every required field at once, the first one focused.
        await clinician.get_by_test_id("consult-submit").click()
        found = await marked(clinician, form)
        assert set(found) == {
            "specialty",
            "patient_name",
            "patient_age_or_year",
            "patient_sex",
            "summary",
        }, found
        assert found["specialty"] == "Hãy điền: Chuyên khoa."
        assert await clinician.evaluate("document.activeElement.name") == "specialty"
        assert await serious_violations(clinician) == []
        # A file larger than a file may be: its name, its size and the limit.
        await clinician.get_by_test_id("attach-file").set_input_files(big)
        await clinician.get_by_test_id("consult-submit").click()
        await expect(clinician.locator('[data-field="files"]')).to_contain_text(
            "phim-lon.dcm: tệp nặng 51 MiB, mà mỗi tệp chỉ được tối đa 50 MiB."
        )
        await clinician.get_by_test_id("attach-file").set_input_files([])
        # What only the server can tell, at once and in Vietnamese: a name with a digit
        # and an age past 130.
        await clinician.get_by_test_id("consult-specialty").select_option("internal-medicine")
        await fill_patient(clinician, "Nguyễn Văn 2", "140")
        await clinician.get_by_test_id("patient-sex").select_option("male")
        await clinician.get_by_test_id("consult-summary").fill("Đau bụng")
        await clinician.get_by_test_id("consult-submit").click()
        await expect(clinician.locator(f"{form} [aria-invalid='true']")).to_have_count(2)
        found = await marked(clinician, form)
        assert set(found) == {"patient_name", "patient_age_or_year"}
        assert "chữ" in found["patient_name"] or "tên" in found["patient_name"], found
        assert await clinician.evaluate("document.activeElement.name") == "patient_name"
        # Mended, it is filed and the marks go.
        await clinician.get_by_test_id("patient-name").fill("Nguyễn Văn Hai")
        await clinician.get_by_test_id("patient-birth-year").fill("40")
        await clinician.get_by_test_id("consult-submit").click()
        await expect(clinician.get_by_test_id("consult-item").first).to_contain_text(
            "Nguyễn Văn Hai"
        )
        assert await marked(clinician, form) == {}

        # The note: a follow-up with no date is named as such, where it is written.
        specialist = await login(specialist_browser, server.url, "specialist.demo")
        await specialist.get_by_test_id("accept-consult").first.click()
        await enter_room(specialist)
        await open_panel(specialist, "note")
        editor = specialist.get_by_test_id("note-editor")
        await editor.get_by_test_id("note-findings").fill("Bụng mềm, ấn đau thượng vị.")
        await editor.get_by_test_id("note-recommendation").fill("Omeprazol 20 mg, 14 ngày.")
        await editor.get_by_test_id("note-disposition").select_option("follow_up")
        await specialist.get_by_test_id("note-sign").click()
        await specialist.get_by_test_id("note-sign-confirm").click()
        await expect(specialist.get_by_test_id("note-sign-error")).to_be_visible()
        assert await marked(specialist, "#note-editor") == {
            "follow_up_on": "Hãy chọn ngày hội chẩn lại."
        }
        assert await specialist.evaluate("document.activeElement.name") == "follow_up_on"
        assert await serious_violations(specialist) == []
        # No page at an address: the header, a way home, and nothing for axe to find.
        await clinician.goto(server.url + "/consults/no-such-page")
        await expect(clinician.get_by_test_id("error-page")).to_have_attribute(
            "data-code", "page_not_found"
        )
        await expect(clinician.get_by_test_id("current-user")).to_be_visible()
        assert await serious_violations(clinician) == []
    finally:
        await clinician_browser.close()
        await specialist_browser.close()
