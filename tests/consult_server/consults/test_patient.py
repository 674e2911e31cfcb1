"""The patient on a request: checked at the edge, stored with the consult, shown only to
those who may see the consult, never in a log line or an error message."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from consult_server.consults.patient import Patient, Sex
from consult_server.errors import BadRequest
from consult_server.store.db import DB
from tests.support.consult_requests import request_body
from tests.support.inproc import Harness

YEAR = 2026


def test_a_patient_as_a_clinician_writes_one() -> None:
    patient = Patient.parse(
        {
            "name": "  Lò   Thị\tPáo ",
            "age": "56",
            "sex": "female",
            "national_id": "001 068 012345",
            "insurance_number": "dn 4010123456789",
            "record_number": "BA-2026/0417",
        },
        YEAR,
    )
    assert patient == Patient(
        "Lò Thị Páo", 1970, Sex.FEMALE, "001068012345", "DN4010123456789", "BA-2026/0417"
    )
    assert (
        Patient.parse({"name": "H'Hen Niê", "birth_year": 1999, "sex": "other"}, YEAR).age_in(YEAR)
        == 27
    )
    # A decomposed "ễ" (as some keyboards send it) is stored composed.
    decomposed = Patient.parse({"name": "Nguye\u0302\u0303n A", "age": 3, "sex": "male"}, YEAR)
    assert decomposed.name == "Nguyễn A"


@pytest.mark.parametrize(
    ("patient", "code"),
    [
        (None, "patient_required"),
        ("Nguyễn Văn A", "patient_required"),
        ({"age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "   ", "age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "A" * 101, "age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "Nguyễn <b>A</b>", "age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "Nguyễn 2", "age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "Nguy\ud800n", "age": 40, "sex": "male"}, "bad_patient_name"),
        ({"name": "Nguyễn A", "sex": "male"}, "bad_patient_birth_year"),
        ({"name": "Nguyễn A", "age": 131, "sex": "male"}, "bad_patient_age"),
        ({"name": "Nguyễn A", "age": -1, "sex": "male"}, "bad_patient_age"),
        ({"name": "Nguyễn A", "age": True, "sex": "male"}, "bad_patient_age"),
        ({"name": "Nguyễn A", "age": "4x", "sex": "male"}, "bad_patient_age"),
        ({"name": "Nguyễn A", "birth_year": YEAR + 1, "sex": "male"}, "bad_patient_birth_year"),
        ({"name": "Nguyễn A", "birth_year": 1890, "sex": "male"}, "bad_patient_birth_year"),
        ({"name": "Nguyễn A", "age": 40}, "bad_patient_sex"),
        ({"name": "Nguyễn A", "age": 40, "sex": "m"}, "bad_patient_sex"),
        (
            {"name": "Nguyễn A", "age": 40, "sex": "male", "national_id": "12345"},
            "bad_patient_national_id",
        ),
        (
            {"name": "Nguyễn A", "age": 40, "sex": "male", "national_id": 1},
            "bad_patient_national_id",
        ),
        (
            {"name": "Nguyễn A", "age": 40, "sex": "male", "insurance_number": "DN40101234567"},
            "bad_patient_insurance_number",
        ),
        (
            {"name": "Nguyễn A", "age": 40, "sex": "male", "record_number": "BA 1; DROP"},
            "bad_patient_record_number",
        ),
        (
            {"name": "Nguyễn A", "age": 40, "sex": "male", "record_number": "x" * 33},
            "bad_patient_record_number",
        ),
    ],
)
def test_what_is_not_a_patient_is_refused_naming_the_field_not_the_value(
    patient: Any, code: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        Patient.parse(patient, YEAR)
    assert refused.value.code == code
    for value in (patient or {}).values() if isinstance(patient, dict) else ():
        if isinstance(value, str) and len(value) > 3:
            assert value not in refused.value.message


async def test_the_patient_reaches_those_who_see_the_consult_and_no_log(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clinician = await harness.login("clinician.demo")
    district = await harness.login("specialist.demo")
    other = await harness.login("clinician2.demo")
    patient = {
        "name": "Đinh Thị Xuân",
        "age": 71,
        "sex": "female",
        "insurance_number": "HT3380123456789",
    }
    status, body = await clinician.api("POST", "/api/consults", request_body(patient=patient))
    assert status == 201, body
    shown = body["consult"]["patient"]
    assert shown["name"] == "Đinh Thị Xuân" and shown["age"] == 71 and shown["sex"] == "female"
    assert shown["insurance_number"] == "HT3380123456789" and shown["national_id"] is None
    consult_id = body["consult"]["id"]

    _, queue = await district.api("GET", "/api/consults")
    assert [c["patient"]["name"] for c in queue["consults"]] == ["Đinh Thị Xuân"]
    _, theirs = await other.api("GET", "/api/consults")
    assert theirs["consults"] == []
    room = await (await clinician.get(f"/consults/{consult_id}/room")).text()
    assert "Đinh Thị Xuân · Nữ · 71 tuổi · BHYT HT3380123456789" in room

    # A refused request stores nothing and names no value.
    bad = {**patient, "national_id": "0790xx"}
    status, body = await clinician.api("POST", "/api/consults", request_body(patient=bad))
    assert (status, body["error"]["code"]) == (400, "bad_patient_national_id")
    assert "0790xx" not in str(body)
    rows = await harness.app[DB].fetch_all("SELECT patient_name FROM consults")
    assert [r["patient_name"] for r in rows] == ["Đinh Thị Xuân"]
    for secret in ("Đinh Thị Xuân", "HT3380123456789", "0790xx"):
        assert secret not in caplog.text


async def test_a_consult_filed_before_patients_were_recorded_shows_none(
    harness: Harness,
) -> None:
    clinician = await harness.login("clinician.demo")
    _, body = await clinician.api("POST", "/api/consults", request_body())
    await harness.app[DB].execute(
        "UPDATE consults SET patient_name = NULL, patient_birth_year = NULL, patient_sex = NULL"
    )
    _, mine = await clinician.api("GET", "/api/consults")
    assert mine["consults"][0]["patient"] is None
    room = await clinician.get(f"/consults/{body['consult']['id']}/room")
    assert room.status == 200 and 'data-testid="room-patient"' not in await room.text()
