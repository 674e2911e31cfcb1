"""The patient a consult is about: who, checked at the edge, shown to those who may see
the consult. Medical data: never in a log line, a URL or an error message (the errors
below name the field, never its value)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from consult_server.errors import BadRequest, FieldChecks

NAME_MAX = 100
AGE_MAX = 130
RECORD_MAX = 32
#: Căn cước công dân (12 digits) or the older chứng minh nhân dân (9 digits).
_NATIONAL_ID = re.compile(r"(?:\d{9}|\d{12})")
#: Thẻ bảo hiểm y tế: 2 letters (beneficiary group), 1 digit (benefit level), 2 digits
#: (province), 10 digits.
_INSURANCE = re.compile(r"[A-Z]{2}\d{13}")
#: A facility's own record number: letters, digits and the separators records use.
_RECORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z./_-]*")


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


def _bad(field: str, message: str) -> BadRequest:
    return BadRequest(message, f"bad_patient_{field}")


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise _bad("name", "the patient's full name is required")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("name", "the patient's name is not valid text") from None
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if not name:
        raise _bad("name", "the patient's full name is required")
    if len(name) > NAME_MAX:
        raise _bad("name", f"the patient's name is longer than {NAME_MAX} characters")
    if not all(unicodedata.category(c)[0] in "LM" or c in " .'-’" for c in name):
        raise _bad("name", "the patient's name may hold letters, spaces, . ' and - only")
    return name


def _sex(value: object) -> Sex:
    try:
        return Sex(str(value))
    except ValueError:
        raise _bad("sex", "sex must be female, male or other") from None


def _whole(value: object) -> int | None:
    """A whole number given as a number or as digits (a form's text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip()) if len(value.strip()) <= 4 else None
    return None


def _birth_year(payload: dict[str, Any], this_year: int) -> int:
    year, age = payload.get("birth_year"), payload.get("age")
    if year not in (None, ""):
        found = _whole(year)
        if found is None or not this_year - AGE_MAX <= found <= this_year:
            raise _bad("birth_year", f"year of birth must be from {this_year - AGE_MAX} to now")
        return found
    if age not in (None, ""):
        found = _whole(age)
        if found is None or not 0 <= found <= AGE_MAX:
            raise _bad("age", f"age must be a whole number of years from 0 to {AGE_MAX}")
        return this_year - found
    raise _bad("birth_year", "the patient's year of birth or age is required")


def _optional(value: object, field: str, pattern: re.Pattern[str], what: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _bad(field, f"{what} must be text")
    cleaned = "".join(value.split())
    if field == "insurance_number":
        cleaned = cleaned.upper()
    if len(cleaned) > RECORD_MAX or not pattern.fullmatch(cleaned):
        raise _bad(field, f"{what} is not in the expected form")
    return cleaned


@dataclass(frozen=True)
class Patient:
    name: str
    birth_year: int
    sex: Sex
    national_id: str | None = None
    insurance_number: str | None = None
    record_number: str | None = None

    @classmethod
    def parse(cls, payload: object, this_year: int) -> Patient:
        """Check a request's ``patient`` object; raise ``BadRequest`` naming the field."""
        if not isinstance(payload, dict):
            raise BadRequest("the patient's details are required", "patient_required")
        checks = FieldChecks()  # every wrong field at once, in the form's order
        name = checks.take("name", lambda: _name(payload.get("name")))
        birth_year = checks.take("birth_year", lambda: _birth_year(payload, this_year))
        sex = checks.take("sex", lambda: _sex(payload.get("sex")))
        national_id = checks.take(
            "national_id",
            lambda: _optional(
                payload.get("national_id"), "national_id", _NATIONAL_ID, "the national ID"
            ),
        )
        insurance_number = checks.take(
            "insurance_number",
            lambda: _optional(
                payload.get("insurance_number"),
                "insurance_number",
                _INSURANCE,
                "the health-insurance number",
            ),
        )
        record_number = checks.take(
            "record_number",
            lambda: _optional(
                payload.get("record_number"), "record_number", _RECORD, "the record number"
            ),
        )
        checks.done()
        assert name is not None and birth_year is not None and sex is not None
        return cls(name, birth_year, sex, national_id, insurance_number, record_number)

    def age_in(self, year: int) -> int:
        return max(0, year - self.birth_year)

    def describe(self, this_year: int) -> dict[str, Any]:
        """As a client is shown it (``age`` in whole years in ``this_year``)."""
        return {
            "name": self.name,
            "birth_year": self.birth_year,
            "age": self.age_in(this_year),
            "sex": self.sex.value,
            "national_id": self.national_id,
            "insurance_number": self.insurance_number,
            "record_number": self.record_number,
        }
