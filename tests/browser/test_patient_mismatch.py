"""A CT slice of another patient sent with a consult: both sides see, on the file and over
the viewer, that its image names another patient, and which fields disagree; the
consult's own slice carries no warning."""

from __future__ import annotations

import pytest
from playwright.async_api import Playwright, expect

from tests.consult_server.attachments.test_views import send
from tests.support import sample_files
from tests.support.a11y import serious_violations
from tests.support.browser import launch, login
from tests.support.consult_requests import request_body
from tests.support.inproc import login_client
from tests.support.server import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # the whole suite runs it

WARNING = "Ảnh này ghi một bệnh nhân khác (họ tên, năm sinh, giới): kiểm tra lại trước khi đọc."


async def test_the_next_beds_ct_is_flagged_on_both_sides(
    server: RunningServer, playwright: Playwright
) -> None:
    clinician = await login_client(server.url, "clinician.demo")
    specialist = await login_client(server.url, "specialist.demo")
    try:
        status, body = await clinician.api("POST", "/api/consults", request_body("Đau ngực"))
        assert status == 201
        consult_id = body["consult"]["id"]
        assert (await specialist.api("POST", f"/api/consults/{consult_id}/accept"))[0] == 200
        own = sample_files.ct_dicom(instance=1, series_uid="1.2.826.0.1.3680043.8.498.1")
        other = sample_files.ct_dicom(
            instance=1,
            series_uid="1.2.826.0.1.3680043.8.498.2",
            patient=("TRAN^VAN NAM", "19500102", "M"),
        )
        for data, name in ((own, "ct-cua-ba-hoa.dcm"), (other, "ct-giuong-ben.dcm")):
            assert (await send(clinician, consult_id, data, name))[0] == 201
    finally:
        await clinician.session.close()
        await specialist.session.close()

    browser = await launch(playwright)
    try:
        for username in ("specialist.demo", "clinician.demo"):
            page = await login(browser, server.url, username)
            await page.goto(f"/consults/{consult_id}")
            items = page.get_by_test_id("attachment-item")
            await expect(items).to_have_count(2)
            flagged = items.filter(has_text="ct-giuong-ben.dcm")
            await expect(flagged.get_by_test_id("patient-mismatch")).to_have_text(WARNING)
            fine = items.filter(has_text="ct-cua-ba-hoa.dcm")
            await expect(fine.get_by_test_id("patient-mismatch")).to_have_count(0)
            # Opened: said over the image too; another file opened: gone.
            await flagged.locator("button.attachment").click()
            viewer_warning = page.get_by_test_id("viewer-patient-mismatch")
            await expect(viewer_warning).to_have_text(WARNING)
            await expect(page.get_by_test_id("image-viewer")).to_be_visible()
            assert await serious_violations(page) == [], username
            await fine.locator("button.attachment").click()
            await expect(viewer_warning).to_be_hidden()
            await page.context.close()
    finally:
        await browser.close()
