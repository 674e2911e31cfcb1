"""Files attached to a consult: who may send and see them, limits, and the audit trail.

Sending: a participant of a consult that has not finished; the bytes stream to disk
within the per-file limit and what is left of the consult's total, and are checked,
scrubbed and stored by hash in a worker thread. Seeing: whoever may read the consult's
record (``Consults.readable``). Every upload, view, download and refusal is in the
hash-chained audit log; a stored file that no longer hashes to its name is refused,
marked damaged and audited, never served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import unicodedata
from collections.abc import AsyncIterable, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp.web import AppKey

from consult_server.accounts.models import User
from consult_server.attachments.inspect import Refused
from consult_server.attachments.intake import prepare
from consult_server.attachments.models import Attachment
from consult_server.attachments.patient_match import differences
from consult_server.attachments.repository import AttachmentRepository, OverLimit, TooManyFiles
from consult_server.attachments.sniff import sniff
from consult_server.attachments.storage import BlobStore
from consult_server.attachments.thumbnails import make_thumbnail
from consult_server.audit.chain import Actor, AuditLog
from consult_server.audit.window import AccessWindow
from consult_server.config import AttachmentsConfig
from consult_server.consults.lifecycle import FINAL_STATES, Consult
from consult_server.consults.service import Consults
from consult_server.errors import (
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    Unsupported,
)
from recordings.integrity import HashCheck

#: Told when a file was attached: (consult id, the new file).
Announce = Callable[[int, Attachment], Awaitable[None]]
MAX_NAME = 200
#: Files one consult may hold (a CT series is a few hundred).
MAX_FILES_PER_CONSULT = 2000


def clean_name(raw: str | None) -> str:
    """The file's own name without any folder, control characters or odd forms."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:MAX_NAME] or "file"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


@dataclass(frozen=True)
class Served:
    attachment: Attachment
    path: Path


class Attachments:
    def __init__(
        self,
        store: AttachmentRepository,
        blobs: BlobStore,
        consults: Consults,
        audit: AuditLog,
        config: AttachmentsConfig,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.consults = consults
        self.audit = audit
        self.config = config
        self.hash_check = HashCheck()
        self.window = AccessWindow()
        self._announce: Announce | None = None
        self._thumbnails: dict[str, asyncio.Future[bytes | None]] = {}

    def set_announcer(self, announce: Announce) -> None:
        self._announce = announce

    async def _refuse(self, actor: Actor, obj: str, reason: str, error: ClientError) -> ClientError:
        await self.audit.append(actor, "refuse", obj, {"reason": reason})
        return error

    # -- filing again -----------------------------------------------------------------

    async def refile(self, clinician: User, actor: Actor, consult_id: int) -> Consult:
        """A request nobody took, filed again as it was, with its files (the same
        content, catalogued for the new consult)."""
        request = await self.consults.again(clinician, consult_id)
        consult = await self.consults.create(clinician, request)
        copied = await self.store.copy_files(consult_id, consult.id, clinician.id, time.time())
        if copied:
            await self.audit.append(
                actor, "upload", f"consult:{consult.id}", {"files": copied, "from": consult_id}
            )
        return consult

    # -- sending -----------------------------------------------------------------------

    async def receive(
        self,
        user: User,
        actor: Actor,
        consult_id: int,
        name: str | None,
        declared_size: int | None,
        chunks: AsyncIterable[bytes],
    ) -> tuple[Attachment, bool]:
        """Stream one upload to disk and catalogue it; (file, True when new)."""
        obj = f"consult:{consult_id}"
        facts = await self.consults.readable(user, consult_id)
        if user.id not in facts.participants:
            raise await self._refuse(
                actor,
                obj,
                "not_a_participant",
                Forbidden("only the consult's participants can attach files", "not_a_participant"),
            )
        if facts.consult.state in FINAL_STATES:
            raise Conflict(
                "this consult has finished; files can no longer be added", "consult_closed"
            )
        room = self.config.max_consult_bytes - await self.store.used_bytes(consult_id)
        limit = min(self.config.max_file_bytes, room)
        too_large = (
            TooLarge(
                f"a file may hold at most {_mib(self.config.max_file_bytes)}", "file_too_large"
            ).with_params(limit=_mib(self.config.max_file_bytes))
            if limit == self.config.max_file_bytes
            else TooLarge(
                f"this consult's files may hold at most {_mib(self.config.max_consult_bytes)}"
                f" in all; {_mib(max(room, 0))} are left",
                "consult_files_full",
            ).with_params(limit=_mib(self.config.max_consult_bytes), left=_mib(max(room, 0)))
        )
        if declared_size is not None and declared_size > limit:
            raise too_large
        async with self.blobs.receiving() as incoming:
            async for chunk in chunks:
                await incoming.write(chunk)
                if incoming.size > limit:
                    raise too_large
            if incoming.size == 0:
                raise BadRequest("the file is empty", "empty_file")
            if declared_size is not None and incoming.size != declared_size:
                raise BadRequest("the upload was cut off; send the file again", "upload_incomplete")
            kind = sniff(incoming.head)
            if kind is None:
                raise Unsupported(
                    "only JPEG, PNG, DICOM, MP4, WebM and PDF files can be attached",
                    "unsupported_file",
                )
            received = await incoming.finish()
            try:
                prepared = await asyncio.to_thread(
                    prepare, self.blobs, incoming.path, received, kind
                )
            except Refused as refused:
                raise Unsupported(refused.message, refused.code) from None
            dicom = prepared.described.dicom
            mismatch = (
                differences(facts.patient, dicom.patient)
                if dicom is not None and facts.patient is not None
                else ()
            )
            try:
                attachment, new = await self.store.add(
                    consult_id,
                    user.id,
                    time.time(),
                    clean_name(name),
                    kind,
                    prepared.size,
                    prepared.sha256,
                    prepared.described,
                    self.config.max_consult_bytes,
                    MAX_FILES_PER_CONSULT,
                    mismatch,
                )
                # Catalogued: now the bytes take their place by hash (a damaged copy
                # already there is replaced by this sound one).
                await asyncio.to_thread(self.blobs.keep, prepared.path, prepared.sha256)
            except OverLimit:
                raise too_large from None
            except TooManyFiles:
                raise Conflict(
                    f"a consult holds at most {MAX_FILES_PER_CONSULT} files", "too_many_files"
                ) from None
            finally:
                if prepared.path != incoming.path:
                    await asyncio.to_thread(prepared.path.unlink, missing_ok=True)
        if not new and attachment.status == "damaged":
            await self.store.mark_ok(attachment.id)
            attachment = dataclasses.replace(attachment, status="ok")
        if new:
            await self.audit.append(
                actor,
                "upload",
                f"file:{attachment.id}",
                {"consult": consult_id, "size": prepared.size, "sha256": prepared.sha256},
            )
            if attachment.patient_mismatch:
                # Which fields, never the names themselves.
                await self.audit.append(
                    actor,
                    "patient_mismatch",
                    f"file:{attachment.id}",
                    {"consult": consult_id, "fields": list(attachment.patient_mismatch)},
                )
            if self._announce is not None:
                await self._announce(consult_id, attachment)
        return attachment, new

    # -- seeing ------------------------------------------------------------------------

    async def of_consult(self, user: User, actor: Actor, consult_id: int) -> list[Attachment]:
        """The consult's files; someone reading them who does not take part (a
        supervisor) is audited, once per ten minutes."""
        facts = await self.consults.readable(user, consult_id)
        obj = f"consult:{consult_id}"
        if user.id not in facts.participants and self.window.due(user.id, obj, time.time()):
            await self.audit.append(actor, "view", obj, {"part": "files"})
        return await self.store.of_consult(consult_id)

    async def _readable(self, user: User, actor: Actor, file_id: int) -> Attachment:
        """The file if ``user`` may read its consult; the same refusal whether or not it
        exists (refusing an existing one is audited)."""
        obj = f"file:{file_id}"
        refusal = NotFound("no such file", "file_not_found")
        attachment = await self.store.get(file_id)
        if attachment is None:
            raise refusal
        try:
            await self.consults.readable(user, attachment.consult_id)
        except NotFound:
            raise await self._refuse(actor, obj, "not_allowed", refusal) from None
        return attachment

    async def open(self, user: User, actor: Actor, file_id: int, download: bool) -> Served:
        """A file to send, checked against its SHA-256; the view (one per user and file
        in any ten minutes) or the download is audited."""
        attachment = await self._readable(user, actor, file_id)
        obj = f"file:{file_id}"
        path = self.blobs.path_of(attachment.sha256)
        if attachment.status == "damaged" or not await self.hash_check.matches(
            path, attachment.sha256
        ):
            await self.store.mark_damaged(file_id)
            raise await self._refuse(
                actor,
                obj,
                "hash_mismatch",
                Conflict(
                    "this file no longer matches its catalogued SHA-256; it is marked damaged",
                    "file_damaged",
                ),
            )
        if download:
            await self.audit.append(actor, "download", obj, {"size": attachment.size})
        elif self.window.due(user.id, obj, time.time()):
            await self.audit.append(actor, "view", obj)
        return Served(attachment, path)

    async def thumbnail(self, user: User, actor: Actor, file_id: int) -> bytes | None:
        """A small JPEG preview (made once, off the event loop), or None if there is none."""
        served = await self.open(user, actor, file_id, download=False)
        sha256 = served.attachment.sha256
        cached = self.blobs.thumbnail_of(sha256)
        try:
            return await asyncio.to_thread(cached.read_bytes)
        except FileNotFoundError:
            pass
        running = self._thumbnails.get(sha256)
        if running is None:
            running = asyncio.ensure_future(self._make_thumbnail(served))
            self._thumbnails[sha256] = running
            running.add_done_callback(lambda _: self._thumbnails.pop(sha256, None))
        return await asyncio.shield(running)

    async def _make_thumbnail(self, served: Served) -> bytes | None:
        data = await asyncio.to_thread(make_thumbnail, served.path, served.attachment.kind)
        if data is not None:
            await asyncio.to_thread(self.blobs.save_thumbnail, served.attachment.sha256, data)
        return data


ATTACHMENTS: AppKey[Attachments] = AppKey("attachments")
