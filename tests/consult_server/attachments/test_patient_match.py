"""A DICOM of another patient is told apart from the consult's patient, however the
hospital system wrote the name; an image that names nobody is not flagged."""

from __future__ import annotations

from consult_server.attachments.patient_match import ImagePatient, differences, name_key
from consult_server.consults.patient import Patient, Sex

HOA = Patient("Nguyễn Thị Hoa", 1968, Sex.FEMALE)


def test_names_match_without_diacritics_case_or_order() -> None:
    for written in ("NGUYEN^THI HOA", "Nguyễn Thị Hoa", "hoa^nguyen thi", "NGUYỄN THỊ HOA"):
        assert differences(HOA, ImagePatient(name=written)) == (), written
    assert name_key("Đặng Văn Đức") == name_key("DANG^VAN DUC")
    # DICOM's ideographic and phonetic groups are not the alphabetic name.
    assert differences(HOA, ImagePatient(name="NGUYEN^THI HOA=阮^氏花")) == ()


def test_each_field_that_disagrees_is_named() -> None:
    other = ImagePatient(name="TRAN^VAN NAM", birth_date="19500102", sex="M")
    assert differences(HOA, other) == ("name", "birth_year", "sex")
    assert differences(HOA, ImagePatient(name="NGUYEN^THI HOA", birth_date="19690101")) == (
        "birth_year",
    )
    assert differences(HOA, ImagePatient(sex="m")) == ("sex",)
    # A middle name missing is another name: better a word too many than the wrong CT.
    assert differences(HOA, ImagePatient(name="NGUYEN^HOA")) == ("name",)


def test_an_anonymised_image_is_not_flagged() -> None:
    assert differences(HOA, ImagePatient()) == ()
    assert differences(HOA, ImagePatient(name="^", birth_date="", sex="")) == ()
    assert differences(HOA, ImagePatient(birth_date="1968", sex="O ")) == ("sex",)
