"""An admin creates a doctor's account in real Chromium and passes on its one-time
link; the doctor sets a password through it and signs in; the link then works no more."""

from __future__ import annotations

import pytest
from playwright.async_api import Playwright, expect

from tests.support.browser import launch, login
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser

PASSWORD = "mật-khẩu-của-Lan-1"


async def test_an_admin_creates_a_doctor_who_signs_in_through_a_one_time_link(
    server: RunningServer, playwright: Playwright
) -> None:
    browser = await launch(playwright)
    try:
        admin = await login(browser, server.url, "admin.demo")
        await admin.get_by_test_id("nav-users").click()
        await admin.get_by_test_id("user-username").fill("bs.lan")
        await admin.get_by_test_id("user-name").fill("BS. Hoàng Thị Lan")
        await admin.get_by_test_id("user-role").select_option("clinician")
        await admin.get_by_test_id("user-facility").select_option(label="Trạm Y tế xã Demo 1")
        await admin.get_by_test_id("user-create").click()
        link = await admin.get_by_test_id("user-reset-link").input_value()
        assert "/password?token=" in link
        await expect(admin.get_by_test_id("user-item").filter(has_text="bs.lan")).to_contain_text(
            "Chưa đặt mật khẩu"
        )

        doctor = await (await browser.new_context()).new_page()
        await doctor.goto(link)
        await doctor.get_by_test_id("password-new").fill(PASSWORD)
        await doctor.get_by_test_id("password-repeat").fill(PASSWORD)
        await doctor.get_by_test_id("password-submit").click()
        await expect(doctor.get_by_test_id("password-set")).to_be_visible()
        await doctor.get_by_test_id("login-username").fill("bs.lan")
        await doctor.get_by_test_id("login-password").fill(PASSWORD)
        await doctor.get_by_test_id("login-submit").click()
        await expect(doctor.get_by_test_id("current-user")).to_contain_text("BS. Hoàng Thị Lan")
        await expect(doctor.get_by_test_id("new-consult")).to_be_visible()

        again = await (await browser.new_context()).new_page()
        await again.goto(link)
        await expect(again.get_by_test_id("password-link-used")).to_be_visible()
        await expect(again.get_by_test_id("password-new")).to_have_count(0)
    finally:
        await browser.close()
