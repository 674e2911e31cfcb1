"""SQL for the specialist's notes and the comments on them: the only place that reads
or writes ``consult_notes`` and ``consult_note_comments``.

What a save or a signature may do is decided by ``notes/rules.py`` on the versions read
inside the writing transaction; this module only loads and writes."""

from __future__ import annotations

from typing import Any

from consult_server.audit.chain import SystemAppend
from consult_server.notes.models import NoteComment, NoteContent, NoteVersion, content_digest
from consult_server.notes.rules import UpdateDraft, check_signing, place_draft
from consult_server.store.db import Database, Transaction

_COLUMNS = (
    "n.id, n.consult_id, n.version, n.author_id, u.display_name AS author, n.created_at,"
    " n.updated_at, n.findings, n.assessment, n.icd10, n.recommendation, n.disposition,"
    " n.follow_up_on, n.refer_to, n.signed_at, n.sha256"
)
_FROM = " FROM consult_notes n JOIN users u ON u.id = n.author_id"


def _version(row: Any) -> NoteVersion:
    return NoteVersion(
        id=int(row["id"]),
        consult_id=int(row["consult_id"]),
        version=int(row["version"]),
        author_id=int(row["author_id"]),
        author=str(row["author"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        content=NoteContent(
            findings=row["findings"],
            assessment=row["assessment"],
            icd10=row["icd10"],
            recommendation=row["recommendation"],
            disposition=row["disposition"],
            follow_up_on=row["follow_up_on"],
            refer_to=row["refer_to"],
        ),
        signed_at=None if row["signed_at"] is None else float(row["signed_at"]),
        sha256=row["sha256"],
    )


class NoteRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def versions(self, consult_id: int) -> list[NoteVersion]:
        """Every version, newest first."""
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS}{_FROM} WHERE n.consult_id = ? ORDER BY n.version DESC",
            (consult_id,),
        )
        return [_version(r) for r in rows]

    async def _latest(self, tx: Transaction, consult_id: int) -> NoteVersion | None:
        if tx.postgresql:  # one writer per consult's note past this point
            await tx.execute("SELECT id FROM consults WHERE id = ? FOR UPDATE", (consult_id,))
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS}{_FROM} WHERE n.consult_id = ? ORDER BY n.version DESC LIMIT 1",
            (consult_id,),
        )
        return _version(row) if row else None

    async def _numbered(self, tx: Transaction, consult_id: int, version: int) -> NoteVersion | None:
        row = await tx.fetch_one(
            f"SELECT {_COLUMNS}{_FROM} WHERE n.consult_id = ? AND n.version = ?",
            (consult_id, version),
        )
        return _version(row) if row else None

    async def save_draft(
        self, consult_id: int, author_id: int, content: NoteContent, now: float, edits: int | None
    ) -> NoteVersion:
        """Write the draft: the open one (its author only), or a new version after the
        last signed one (a correction), as ``rules.place_draft`` decides. ``edits``:
        the version the writer had open."""
        fields = (
            content.findings,
            content.assessment,
            content.icd10,
            content.recommendation,
            content.disposition,
            content.follow_up_on,
            content.refer_to,
        )
        async with self.db.atomic() as tx:
            latest = await self._latest(tx, consult_id)
            edited = None if edits is None else await self._numbered(tx, consult_id, edits)
            place = place_draft(latest, edited, author_id)
            if isinstance(place, UpdateDraft):
                await tx.execute(
                    "UPDATE consult_notes SET findings = ?, assessment = ?, icd10 = ?,"
                    " recommendation = ?, disposition = ?, follow_up_on = ?, refer_to = ?,"
                    " updated_at = ? WHERE id = ?",
                    (*fields, now, place.note_id),
                )
                note_id = place.note_id
            else:
                note_id = await tx.insert(
                    "INSERT INTO consult_notes (consult_id, version, author_id, created_at,"
                    " updated_at, findings, assessment, icd10, recommendation, disposition,"
                    " follow_up_on, refer_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING id",
                    (
                        consult_id,
                        place.version,
                        author_id,
                        now,
                        now,
                        *fields,
                    ),
                )
            row = await tx.fetch_one(f"SELECT {_COLUMNS}{_FROM} WHERE n.id = ?", (note_id,))
        assert row is not None
        return _version(row)

    async def sign(
        self,
        consult_id: int,
        version: int,
        signer_id: int,
        now: float,
        audit: SystemAppend,
        seen_updated_at: float | None = None,
    ) -> NoteVersion:
        """Sign a draft; its "sign" entry (with the SHA-256) goes into the audit chain in
        the same transaction, so there is never a signature the chain does not hold.
        Whether it may be signed is ``rules.check_signing``'s decision."""
        async with self.db.atomic() as tx:
            await self._latest(tx, consult_id)
            found = await self._numbered(tx, consult_id, version)
            draft = check_signing(found, signer_id, seen_updated_at)
            digest = content_digest(consult_id, version, signer_id, now, draft.content)
            await tx.execute(
                "UPDATE consult_notes SET signed_at = ?, sha256 = ?"
                " WHERE id = ? AND signed_at IS NULL",
                (now, digest, draft.id),
            )
            signed_row = await tx.fetch_one(f"SELECT {_COLUMNS}{_FROM} WHERE n.id = ?", (draft.id,))
            assert signed_row is not None
            signed = _version(signed_row)
            await audit(
                tx,
                "sign",
                f"note:{consult_id}",
                {"version": signed.version, "sha256": signed.sha256},
            )
        return signed

    async def comment(self, consult_id: int, author_id: int, text: str, at: float) -> NoteComment:
        async with self.db.atomic() as tx:
            comment_id = await tx.insert(
                "INSERT INTO consult_note_comments (consult_id, author_id, at, body)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (consult_id, author_id, at, text),
            )
            row = await tx.fetch_one("SELECT display_name FROM users WHERE id = ?", (author_id,))
        return NoteComment(comment_id, author_id, str(row["display_name"]) if row else "", at, text)

    async def comments(self, consult_id: int) -> list[NoteComment]:
        rows = await self.db.fetch_all(
            "SELECT c.id, c.author_id, u.display_name, c.at, c.body FROM consult_note_comments c"
            " JOIN users u ON u.id = c.author_id WHERE c.consult_id = ? ORDER BY c.id",
            (consult_id,),
        )
        return [
            NoteComment(
                int(r["id"]), int(r["author_id"]), str(r["display_name"]), float(r["at"]), r["body"]
            )
            for r in rows
        ]
