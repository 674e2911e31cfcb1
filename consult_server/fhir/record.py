"""Everything a consult holds, read in one place for an export."""

from __future__ import annotations

from dataclasses import dataclass

from consult_server.accounts.models import Facility, User
from consult_server.attachments.models import Attachment
from consult_server.bookings.repository import Booking
from consult_server.consults.models import ChatLine, ConsultFacts
from consult_server.notes.models import NoteVersion
from recordings.catalog import Entry


@dataclass(frozen=True)
class ConsultRecord:
    facts: ConsultFacts
    #: The people taking part, by id (the clinician, the specialists).
    people: dict[int, User]
    #: Their facilities and the one that filed the request, by id.
    facilities: dict[int, Facility]
    attachments: list[Attachment]
    recordings: list[Entry]
    chat: list[ChatLine]
    #: Signed versions of the note, newest first.
    note: list[NoteVersion]
    #: The booking the consult was made from, if it was booked.
    booking: Booking | None = None
    #: What links to files and recordings start with (``server.public_url``; empty:
    #: relative links).
    base_url: str = ""
