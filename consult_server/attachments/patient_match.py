"""Is this image the consult's patient's? A DICOM names its patient (PatientName,
PatientBirthDate, PatientSex); a CT from the next bed read as this patient's is the
error a radiology system flags. Pure: what disagrees, by field.

Names are compared as people write them, not as systems store them: without diacritics
(Nguyễn = NGUYEN, Đ = D), case or order ("NGUYEN^THI HOA" = "Nguyễn Thị Hoa" =
"Hoa Nguyen Thi"); DICOM's component groups after "=" (ideographic, phonetic) are left
out. A field the image leaves empty (an anonymised study) is not compared: nothing
disagrees with nothing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from consult_server.consults.patient import Patient, Sex

#: The fields that can disagree, in the order a warning names them.
FIELDS = ("name", "birth_year", "sex")
_SEX = {"F": Sex.FEMALE, "M": Sex.MALE, "O": Sex.OTHER}


@dataclass(frozen=True)
class ImagePatient:
    """Who a DICOM says it shows (None: the field is empty)."""

    name: str | None = None
    #: YYYYMMDD, as DICOM writes a date.
    birth_date: str | None = None
    sex: str | None = None


def name_key(name: str) -> list[str]:
    """A name's words without diacritics or case, sorted."""
    alphabetic = name.split("=", 1)[0]
    folded = unicodedata.normalize("NFD", alphabetic.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in folded if not unicodedata.combining(c)).casefold()
    return sorted(word for word in re.split(r"[^0-9a-z]+", plain) if word)


def differences(patient: Patient, image: ImagePatient) -> tuple[str, ...]:
    """The fields where the image's patient is not the consult's."""
    found = []
    if image.name and name_key(image.name) and name_key(image.name) != name_key(patient.name):
        found.append("name")
    year = image.birth_date[:4] if image.birth_date else ""
    if len(year) == 4 and year.isdigit() and int(year) != patient.birth_year:
        found.append("birth_year")
    sex = _SEX.get((image.sex or "").strip().upper())
    if sex is not None and sex != patient.sex:
        found.append("sex")
    return tuple(found)
