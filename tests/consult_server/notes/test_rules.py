"""The note's rules driven directly: every refusal with its code, nothing written."""

from __future__ import annotations

import dataclasses

import pytest

from consult_server.consults.lifecycle import ConsultState
from consult_server.errors import ClientError
from consult_server.notes.models import NoteContent, NoteVersion
from consult_server.notes.rules import (
    WRITABLE,
    NewVersion,
    UpdateDraft,
    check_signing,
    place_draft,
    writer_refusal,
)

READY = NoteContent(
    findings="phổi ran ẩm đáy phải",
    assessment="viêm phổi",
    icd10="J18.9",
    recommendation="kháng sinh, tái khám",
    disposition="treat_locally",
    follow_up_on=None,
    refer_to=None,
)


def version(number: int, author: int = 7, signed: bool = False, note_id: int = 0) -> NoteVersion:
    return NoteVersion(
        id=note_id or number * 10,
        consult_id=1,
        version=number,
        author_id=author,
        author="BS",
        created_at=100.0,
        updated_at=110.0,
        content=READY,
        signed_at=120.0 if signed else None,
        sha256="ab" * 32 if signed else None,
    )


@pytest.mark.parametrize("state", list(ConsultState))
@pytest.mark.parametrize(
    ("specialist", "participates"), [(True, True), (True, False), (False, True)]
)
def test_who_writes(state: ConsultState, specialist: bool, participates: bool) -> None:
    refusal = writer_refusal(specialist, participates, state)
    if not (specialist and participates):
        assert refusal is not None and refusal.code == "not_note_writer"
    elif state not in WRITABLE:
        assert refusal is not None and refusal.code == "consult_closed"
    else:
        assert refusal is None


def test_first_save_starts_version_one() -> None:
    assert place_draft(None, None, 7) == NewVersion(1)


def test_author_saves_over_the_open_draft() -> None:
    assert place_draft(version(2, note_id=55), version(2), 7) == UpdateDraft(55)


def test_draft_is_held_by_its_author() -> None:
    with pytest.raises(ClientError) as refused:
        place_draft(version(1, author=7), None, 8)
    assert refused.value.code == "note_draft_held"


def test_save_after_signing_is_a_correction() -> None:
    assert place_draft(version(3, signed=True), None, 8) == NewVersion(4)


def test_save_onto_a_signed_version_is_refused() -> None:
    with pytest.raises(ClientError) as refused:
        place_draft(version(3, signed=True), version(3, signed=True), 7)
    assert refused.value.code == "note_signed"


@pytest.mark.parametrize(
    ("draft", "signer", "seen", "code"),
    [
        (None, 7, None, "note_not_found"),
        (version(1, signed=True), 7, None, "note_already_signed"),
        (version(1, author=8), 7, None, "not_note_author"),
        (version(1), 7, 109.0, "note_changed"),
        (
            dataclasses.replace(version(1), content=dataclasses.replace(READY, recommendation="")),
            7,
            None,
            "note_incomplete",
        ),
    ],
)
def test_signing_refused(
    draft: NoteVersion | None, signer: int, seen: float | None, code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        check_signing(draft, signer, seen)
    assert refused.value.code == code


def test_author_signs_the_draft_they_saw() -> None:
    draft = version(1)
    assert check_signing(draft, 7, 110.0) is draft
    assert check_signing(draft, 7, None) is draft
