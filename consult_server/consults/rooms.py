"""Consult rooms, as the signaling edge sees them: a ``RoomKind`` with the optional
ports recording (``RecordedKind``), chat (``ChatKind``) and files (``FilesKind``).

The consult's participants publish; the consult's life cycle says when its room can be
joined and how many keep it running. A session is recorded when the patient consented
and the clinician's facility records (the policy is here; ``recordings.cataloguing``
keeps the catalog).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from consult_server.config import RecordingsConfig
from consult_server.consults.lifecycle import ROOM_QUORUM, joinable
from consult_server.consults.service import Consults
from consult_server.errors import ClientError
from recordings.catalog import RecordingCatalog
from recordings.cataloguing import Cataloguing
from recordings.files import RecordingFile, session_directory
from signaling.room_kinds import RoomSpec, room_key

log = logging.getLogger(__name__)

#: The kind in a consult's room key ("consult:12").
KIND = "consult"


class ConsultRooms:
    """Consult rooms: the participants publish; two of them keep it running. A session
    is recorded when the patient consented and the clinician's facility records."""

    def __init__(
        self,
        consults: Consults,
        catalog: RecordingCatalog,
        recordings: RecordingsConfig | None = None,
        data_dir: Path | None = None,
        file_ids: Callable[[int], Awaitable[frozenset[int]]] | None = None,
    ) -> None:
        self.consults = consults
        #: The ids of a consult's attached files (the attachments' repository).
        self.file_ids = file_ids
        self.store = consults.store
        self.cataloguing = Cataloguing(catalog)
        self.recordings = recordings or RecordingsConfig(enabled=False)
        self.data_dir = data_dir or Path("data")

    async def holds_files(self, room_id: int, file_ids: frozenset[int]) -> bool:
        """A ``FilesKind``: are these all the consult's files?"""
        if self.file_ids is None:
            return False
        return file_ids <= await self.file_ids(room_id)

    async def recording_target(self, room_id: int, at: float) -> Path | None:
        """Where this session's files go, or None when it is not to be recorded."""
        if not self.recordings.enabled:
            return None
        policy = await self.store.recording_policy(room_id)
        if (
            policy is None
            or not policy.consent
            or not policy.facility_records
            or policy.facility_code in self.recordings.disabled_facilities
        ):
            return None
        return session_directory(self.data_dir, f"consult-{room_id}", at)

    async def recording_started(self, room_id: int, started_at: float, target: Path) -> None:
        """Catalog the session and each participant's file (the clinician first)."""
        people = await self.consults.participants(await self.consults.get(room_id))
        roles = [(u, "clinician" if i == 0 else "specialist") for i, u in enumerate(people)]
        await self.cataloguing.started(room_id, started_at, target, roles)

    async def recording_joined(
        self, room_id: int, started_at: float, target: Path, user_id: int, role: str
    ) -> None:
        """A specialist invited into a recorded room: their file is catalogued now."""
        await self.cataloguing.joined(room_id, started_at, target, user_id, role)

    async def recordings_finished(
        self, room_id: int, started_at: float, files: dict[int, RecordingFile]
    ) -> None:
        await self.cataloguing.finished(room_id, started_at, files)

    async def spec(self, room_id: int) -> RoomSpec:
        consult = await self.consults.get(room_id)
        people = frozenset(await self.consults.participants(consult))
        return RoomSpec(
            room_key(KIND, room_id),
            people,
            people,
            ROOM_QUORUM,
            joinable(consult.state),
            consult.state.value,
        )

    async def started(self, room_id: int, at: float) -> None:
        await self.consults.session_started(room_id, at)

    async def ended(self, room_id: int, at: float, reason: str) -> None:
        # Already ended elsewhere (another node, a cancel): nothing more to record.
        with contextlib.suppress(ClientError):
            await self.consults.session_ended(room_id, at, reason)

    async def joined(self, room_id: int, user_id: int, role: str, at: float) -> None:
        await self.store.joined(room_id, user_id, role, at)

    async def left(self, room_id: int, user_id: int, at: float) -> None:
        await self.store.left(room_id, user_id, at)

    async def event(self, room_id: int, user_id: int | None, kind: str, at: float) -> None:
        """Something happened in the room (for the recording's review timeline)."""
        await self.store.event(room_id, user_id, kind, at)

    async def said(self, room_id: int, user_id: int, text: str, at: float) -> dict[str, Any]:
        return (await self.consults.say(room_id, user_id, text, at)).describe()
