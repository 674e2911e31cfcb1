"""A consult request as a clinician files it, for the tests (one patient, one shape)."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

from consult_server.consults.lifecycle import Urgency
from consult_server.consults.models import NewConsult
from consult_server.consults.patient import Patient, Sex

PATIENT_JSON: dict[str, Any] = {"name": "Nguyễn Thị Hoa", "birth_year": 1968, "sex": "female"}
PATIENT = Patient("Nguyễn Thị Hoa", 1968, Sex.FEMALE)


def request_body(
    summary: str = "Sốt cao 3 ngày",
    specialty: str = "internal-medicine",
    urgency: str = "routine",
    **more: Any,
) -> dict[str, Any]:
    return {
        "specialty": specialty,
        "urgency": urgency,
        "summary": summary,
        "patient": PATIENT_JSON,
        **more,
    }


def new_consult(
    specialty: str, urgency: Urgency, summary: str = "x", consent: bool = False
) -> NewConsult:
    return NewConsult(specialty, urgency, summary, PATIENT, consent)


async def fill_patient(page: Page, name: str = "Nguyễn Thị Hoa", age_or_year: str = "56") -> None:
    """Fill the request form's patient fields as a clinician would."""
    await page.get_by_test_id("patient-name").fill(name)
    await page.get_by_test_id("patient-birth-year").fill(age_or_year)
    await page.get_by_test_id("patient-sex").select_option("female")
