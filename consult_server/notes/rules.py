"""The note's rules, as pure functions: who may write, where a draft goes, what may be
signed.

    (no version) --save--> draft v1 --save (its author)--> draft v1 --sign--> signed v1
    signed vN --save--> draft vN+1 (a correction) --sign--> signed vN+1

One draft at a time, held by its author until signed; a signed version never changes.
The repository loads the versions inside its transaction, asks these functions, and
writes what they decide; the service asks :func:`writer_refusal` before either. Each
refusal is a ``ClientError`` with a stable code, raised before anything is written.
No I/O here: the tests drive every rule directly (``tests/consult_server/notes/test_rules.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from consult_server.consults.lifecycle import ConsultState
from consult_server.errors import ClientError, Conflict, Forbidden, NotFound
from consult_server.notes.models import NoteVersion

#: A note is written once the specialist has accepted, and after the session.
WRITABLE = frozenset({ConsultState.ACCEPTED, ConsultState.IN_SESSION, ConsultState.ENDED})


def writer_refusal(
    is_specialist: bool, participates: bool, state: ConsultState
) -> ClientError | None:
    """Why this person may not write or sign the consult's note (None: they may)."""
    if not (is_specialist and participates):
        return Forbidden("only the consult's specialists write its note", "not_note_writer")
    if state not in WRITABLE:
        return Conflict("this consult has no session to write a note on", "consult_closed")
    return None


@dataclass(frozen=True)
class UpdateDraft:
    """Save over the open draft (its author is saving again)."""

    note_id: int


@dataclass(frozen=True)
class NewVersion:
    """Start version ``version``: the first draft, or a correction of a signed one."""

    version: int


def place_draft(
    latest: NoteVersion | None, edited: NoteVersion | None, author_id: int
) -> UpdateDraft | NewVersion:
    """Where ``author_id``'s save goes. ``latest``: the newest version; ``edited``: the
    version the writer had open (a signed one is refused: write a correction)."""
    if edited is not None and edited.signed:
        raise Conflict("a signed note cannot be changed; write a correction instead", "note_signed")
    if latest is not None and not latest.signed:
        if latest.author_id != author_id:
            raise Conflict("another specialist is writing this note's draft", "note_draft_held")
        return UpdateDraft(latest.id)
    return NewVersion((latest.version if latest else 0) + 1)


def check_signing(
    draft: NoteVersion | None, signer_id: int, seen_updated_at: float | None
) -> NoteVersion:
    """The draft, if ``signer_id`` may sign it now; raises why not. ``seen_updated_at``:
    when the draft the signer is looking at was saved; one saved since (another tab, a
    late autosave) is not signed."""
    if draft is None:
        raise NotFound("no such version of the note", "note_not_found")
    if draft.signed:
        raise Conflict("this version is already signed", "note_already_signed")
    if draft.author_id != signer_id:
        raise Forbidden("only the draft's author signs it", "not_note_author")
    if seen_updated_at is not None and seen_updated_at != draft.updated_at:
        raise Conflict(
            "the draft changed since you last saw it; look at it again, then sign",
            "note_changed",
        )
    draft.content.ready_to_sign()
    return draft
