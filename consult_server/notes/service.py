"""The specialist's note on a consult: who writes, signs, comments and reads it.

Writing and signing: a specialist taking part in the consult (one draft at a time; its
author signs it). Signing locks the version: its SHA-256 goes into the hash-chained
audit log in the same transaction. A correction is a new version, signed in its turn;
the old ones stay visible. Commenting: any participant. Reading: whoever may read the
consult's record; every reading is audited (one entry per reader per ten minutes).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp.web import AppKey

from consult_server.accounts.models import Role, User
from consult_server.audit.chain import Actor, AuditLog
from consult_server.audit.window import AccessWindow
from consult_server.consults.models import ConsultFacts
from consult_server.consults.service import Consults
from consult_server.errors import BadRequest, Forbidden
from consult_server.notes.models import MAX_TEXT, NoteComment, NoteContent, NoteVersion
from consult_server.notes.repository import NoteRepository
from consult_server.notes.rules import writer_refusal

#: Told when a version was signed or a comment added: (consult id, what changed).
Announce = Callable[[int, dict[str, object]], Awaitable[None]]


@dataclass(frozen=True)
class Note:
    versions: list[NoteVersion]
    comments: list[NoteComment]


class Notes:
    def __init__(self, store: NoteRepository, consults: Consults, audit: AuditLog) -> None:
        self.store = store
        self.consults = consults
        self.audit = audit
        self.window = AccessWindow()
        self._announce: Announce | None = None

    def set_announcer(self, announce: Announce) -> None:
        self._announce = announce

    async def _tell(self, consult_id: int, change: dict[str, object]) -> None:
        if self._announce is not None:
            await self._announce(consult_id, change)

    async def _writer(self, user: User, consult_id: int) -> ConsultFacts:
        facts = await self.consults.readable(user, consult_id)
        refusal = writer_refusal(
            user.role is Role.SPECIALIST, user.id in facts.participants, facts.consult.state
        )
        if refusal is not None:
            raise refusal
        return facts

    async def read(self, user: User, actor: Actor, consult_id: int) -> Note:
        """Every signed version and the reader's own draft (a draft is its author's
        until signed), with comments."""
        await self.consults.readable(user, consult_id)
        versions = [
            v for v in await self.versions(consult_id) if v.signed or v.author_id == user.id
        ]
        obj = f"note:{consult_id}"
        if versions and self.window.due(user.id, obj, time.time()):
            await self.audit.append(actor, "view", obj)
        return Note(versions, await self.store.comments(consult_id))

    async def versions(self, consult_id: int) -> list[NoteVersion]:
        """Every version, newest first, each signed one checked against the audit
        chain's record of its signature."""
        versions = await self.store.versions(consult_id)
        if not any(v.signed for v in versions):
            return versions
        signed = {
            e.detail.get("version"): e.detail.get("sha256")
            for e in await self.audit.for_objects([f"note:{consult_id}"])
            if e.action == "sign"
        }
        return [
            dataclasses.replace(v, anchored=signed.get(v.version) == v.sha256) if v.signed else v
            for v in versions
        ]

    async def save_draft(
        self, user: User, consult_id: int, content: NoteContent, edits: int | None
    ) -> NoteVersion:
        await self._writer(user, consult_id)
        return await self.store.save_draft(consult_id, user.id, content, time.time(), edits)

    async def sign(
        self,
        user: User,
        actor: Actor,
        consult_id: int,
        version: int,
        seen_updated_at: float | None = None,
    ) -> NoteVersion:
        """Sign a draft. ``seen_updated_at``: when the draft the signer is looking at was
        saved; a draft saved since (another tab, a late autosave) is not signed."""
        await self._writer(user, consult_id)
        signed = await self.store.sign(
            consult_id, version, user.id, time.time(), self.audit.by(actor), seen_updated_at
        )
        await self._tell(consult_id, {"note": signed.describe()})
        return signed

    async def comment(self, user: User, consult_id: int, text: object) -> NoteComment:
        facts = await self.consults.readable(user, consult_id)
        if user.id not in facts.participants:
            raise Forbidden(
                "only the consult's participants comment on its note", "not_a_participant"
            )
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("the comment is empty", "comment_empty")
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_TEXT:
            raise BadRequest(f"a comment holds at most {MAX_TEXT} characters", "comment_too_long")
        if not _valid_text(text):
            raise BadRequest("the comment is not valid text", "bad_comment")
        comment = await self.store.comment(consult_id, user.id, text, time.time())
        await self._tell(consult_id, {"comment": comment.describe()})
        return comment


def _valid_text(text: str) -> bool:
    """UTF-8 text without control characters (line breaks and tabs allowed)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 and c not in "\n\t" for c in text)


NOTES: AppKey[Notes] = AppKey("notes")
