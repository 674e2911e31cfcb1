"""A booked consult in real Chromium: the specialist sets hours on their page, the
clinician finds the free time and books it for a patient, both are reminded (the
specialist live on the queue page, where today's bookings sit beside the queue; the
clinician when their home page loads: a line, a tone and a count in the title), and at
the time the room opens from it for both, through the usual check."""

from __future__ import annotations

import asyncio
import datetime
import sqlite3

import pytest
from playwright.async_api import Playwright, expect

from consult_server.local_time import SERVICE_TIMEZONE
from tests.support.browser import launch, login
from tests.support.server import RunningServer

pytestmark = pytest.mark.browser


async def test_a_clinician_books_and_the_room_opens_for_both(
    server: RunningServer, playwright: Playwright
) -> None:
    now = datetime.datetime.now(SERVICE_TIMEZONE)
    start = now + datetime.timedelta(minutes=3)
    if start.date() != now.date() or start.hour * 60 + start.minute + 10 > 24 * 60:
        pytest.skip("a few minutes before midnight (Vietnam's time) there is no slot left today")
    browser = await launch(playwright)
    try:
        specialist = await login(browser, server.url, "specialist.central")
        await specialist.goto("/availability")
        row = specialist.get_by_test_id("availability-table").locator("tbody tr").first
        await row.locator("select[name=specialty]").select_option("cardiology")
        await row.locator("select[name=weekday]").select_option(str(now.weekday()))
        await row.locator("input[name=start]").fill(start.strftime("%H:%M"))
        end = start + datetime.timedelta(minutes=10)
        await row.locator("input[name=end]").fill(end.strftime("%H:%M"))
        await row.locator("input[name=slot_minutes]").fill("10")
        await specialist.get_by_test_id("availability-save").click()
        await expect(specialist.get_by_test_id("availability-done")).to_be_visible()

        # The specialist waits on the queue page: the booking is told live.
        await specialist.goto("/")
        clinician = await login(browser, server.url, "clinician.demo")
        await clinician.get_by_test_id("nav-bookings").click()
        await clinician.get_by_test_id("slot-specialty").select_option("cardiology")
        await clinician.get_by_test_id("slot-search").click()
        slot = clinician.get_by_test_id("slot-item")
        await expect(slot).to_have_count(1)
        await expect(slot).to_contain_text(start.strftime("%H:%M"))
        await slot.get_by_test_id("book-slot").click()
        await clinician.get_by_test_id("booking-patient-name").fill("Lò Thị Mai")
        await clinician.get_by_test_id("booking-patient-year").fill("1987")
        await clinician.get_by_test_id("booking-summary").fill("Đau ngực, khó thở khi gắng sức")
        await clinician.get_by_test_id("booking-submit").click()
        await expect(clinician.get_by_test_id("booking-done")).to_be_visible()
        booked = clinician.get_by_test_id("booking-item")
        await expect(booked).to_have_count(1)
        await expect(booked).to_have_attribute("data-status", "scheduled")

        # Within the reminder time (10 minutes): both are reminded, once.
        for page in (specialist, clinician):
            if page is clinician:
                await page.goto("/")
            reminder = page.get_by_test_id("booking-reminder")
            await expect(reminder).to_have_count(1, timeout=10_000)
            await expect(reminder).to_contain_text(start.strftime("%H:%M"))
            await expect(page.locator("html")).to_have_attribute("data-unseen", "1")
        await clinician.reload()
        await expect(clinician.get_by_test_id("booking-reminders")).to_be_hidden()
        # The specialist's day: today's bookings beside the live queue.
        today = specialist.get_by_test_id("booking-today-item")
        await expect(today).to_have_count(1)
        await expect(today).to_contain_text(start.strftime("%H:%M"))
        await expect(specialist.get_by_test_id("consult-queue")).to_be_attached()

        await specialist.goto("/bookings")
        theirs = specialist.get_by_test_id("booking-item")
        await expect(theirs).to_contain_text("Lò Thị Mai")
        # Due within 15 minutes: both may open the room; whoever is first makes it.
        await theirs.get_by_test_id("booking-join").click()
        await expect(specialist.get_by_test_id("prejoin")).to_be_visible()
        await clinician.goto("/bookings")
        await booked.get_by_test_id("booking-join").click()
        await expect(clinician.get_by_test_id("prejoin")).to_be_visible()
        assert specialist.url.split("?")[0] == clinician.url.split("?")[0], "one room"
    finally:
        await browser.close()


async def test_two_clinicians_booking_one_slot_at_once_get_one_booking(
    server: RunningServer, playwright: Playwright
) -> None:
    """Two pages submit the same one-patient slot at the same moment: one is booked, the
    other is told the time was just taken, and the database holds one booking."""
    tomorrow = datetime.datetime.now(SERVICE_TIMEZONE).date() + datetime.timedelta(days=1)
    browser = await launch(playwright)
    try:
        specialist = await login(browser, server.url, "specialist.central")
        await specialist.goto("/availability")
        row = specialist.get_by_test_id("availability-table").locator("tbody tr").first
        await row.locator("select[name=specialty]").select_option("cardiology")
        await row.locator("select[name=weekday]").select_option(str(tomorrow.weekday()))
        await row.locator("input[name=start]").fill("09:00")
        await row.locator("input[name=end]").fill("09:30")
        await row.locator("input[name=slot_minutes]").fill("30")
        await specialist.get_by_test_id("availability-save").click()
        await expect(specialist.get_by_test_id("availability-done")).to_be_visible()
        pages = [
            await login(browser, server.url, "clinician.demo"),
            await login(browser, server.url, "clinician2.demo"),
        ]
        for page, name in zip(pages, ("Hà Thị Sen", "Vàng A Páo"), strict=True):
            await page.goto(f"/bookings?specialty=cardiology&from={tomorrow.isoformat()}")
            await page.get_by_test_id("slot-item").get_by_test_id("book-slot").click()
            await page.get_by_test_id("booking-patient-name").fill(name)
            await page.get_by_test_id("booking-patient-year").fill("1990")
            await page.get_by_test_id("booking-summary").fill("Hồi hộp, đánh trống ngực")
        await asyncio.gather(*(p.get_by_test_id("booking-submit").click() for p in pages))
        outcomes = []
        for page in pages:
            await page.wait_for_load_state()
            done = await page.get_by_test_id("booking-done").count()
            refused = page.get_by_test_id("booking-error")
            if not done:
                await expect(refused).to_contain_text("vừa có người đặt")
            outcomes.append(bool(done))
        assert sorted(outcomes) == [False, True]
        db = sqlite3.connect(server.data_dir / "consult.sqlite3")
        try:
            count = db.execute(
                "SELECT COUNT(*) FROM bookings WHERE status = 'scheduled' AND summary = ?",
                ("Hồi hộp, đánh trống ngực",),
            ).fetchone()
        finally:
            db.close()
        assert count == (1,)
    finally:
        await browser.close()
