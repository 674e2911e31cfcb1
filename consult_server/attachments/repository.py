"""SQL for attached files (``consult_files``): the only place that reads or writes it."""

from __future__ import annotations

from typing import Any

from consult_server.attachments.inspect import Described
from consult_server.attachments.models import Attachment
from consult_server.attachments.sniff import Kind
from consult_server.store.db import Database

_COLUMNS = (
    "f.id, f.consult_id, f.uploaded_by, u.display_name AS uploader, f.uploaded_at, f.name,"
    " f.kind, f.size, f.sha256, f.status, f.width, f.height, f.frames, f.duration,"
    " f.modality, f.study_uid, f.series_uid, f.instance_number, f.pixel_spacing,"
    " f.patient_mismatch"
)
_FROM = " FROM consult_files f JOIN users u ON u.id = f.uploaded_by"


def _spacing(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    row, column = text.split()
    return float(row), float(column)


def _attachment(row: Any) -> Attachment:
    return Attachment(
        id=int(row["id"]),
        consult_id=int(row["consult_id"]),
        uploaded_by=int(row["uploaded_by"]),
        uploader=str(row["uploader"]),
        uploaded_at=float(row["uploaded_at"]),
        name=str(row["name"]),
        kind=Kind(row["kind"]),
        size=int(row["size"]),
        sha256=str(row["sha256"]),
        status=str(row["status"]),
        width=row["width"],
        height=row["height"],
        frames=row["frames"],
        duration=row["duration"],
        modality=row["modality"],
        study_uid=row["study_uid"],
        series_uid=row["series_uid"],
        instance_number=row["instance_number"],
        pixel_spacing=_spacing(row["pixel_spacing"]),
        patient_mismatch=tuple(str(row["patient_mismatch"] or "").split(","))
        if row["patient_mismatch"]
        else (),
    )


class OverLimit(Exception):
    """Adding the file would take the consult past its total."""


class TooManyFiles(Exception):
    """The consult holds as many files as it may."""


class AttachmentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def used_bytes(self, consult_id: int) -> int:
        row = await self.db.fetch_one(
            "SELECT COALESCE(SUM(size), 0) AS used FROM consult_files WHERE consult_id = ?",
            (consult_id,),
        )
        return int(row["used"]) if row else 0

    async def add(
        self,
        consult_id: int,
        uploaded_by: int,
        at: float,
        name: str,
        kind: Kind,
        size: int,
        sha256: str,
        described: Described,
        limit: int,
        max_files: int,
        mismatch: tuple[str, ...] = (),
    ) -> tuple[Attachment, bool]:
        """Catalogue a stored file; (the entry, True) when new. The same content sent
        again to the same consult gives the entry already there, (entry, False).
        Raises ``OverLimit`` when the consult's files would exceed ``limit`` bytes,
        ``TooManyFiles`` past ``max_files`` files."""
        dicom = described.dicom
        async with self.db.atomic() as tx:
            if tx.postgresql:  # one upload at a time per consult past this point
                await tx.execute("SELECT id FROM consults WHERE id = ? FOR UPDATE", (consult_id,))
            existing = await tx.fetch_one(
                f"SELECT {_COLUMNS}{_FROM} WHERE f.consult_id = ? AND f.sha256 = ?",
                (consult_id, sha256),
            )
            if existing is not None:
                return _attachment(existing), False
            used = await tx.fetch_one(
                "SELECT COALESCE(SUM(size), 0) AS used, COUNT(*) AS files FROM consult_files"
                " WHERE consult_id = ?",
                (consult_id,),
            )
            if used is not None and int(used["used"]) + size > limit:
                raise OverLimit
            if used is not None and int(used["files"]) >= max_files:
                raise TooManyFiles
            file_id = await tx.insert(
                "INSERT INTO consult_files (consult_id, uploaded_by, uploaded_at, name, kind,"
                " size, sha256, width, height, frames, duration, modality, study_uid,"
                " series_uid, instance_number, pixel_spacing, patient_mismatch)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    consult_id,
                    uploaded_by,
                    at,
                    name,
                    kind.value,
                    size,
                    sha256,
                    described.width,
                    described.height,
                    described.frames,
                    described.duration,
                    dicom.modality if dicom else None,
                    dicom.study_uid if dicom else None,
                    dicom.series_uid if dicom else None,
                    dicom.instance_number if dicom else None,
                    " ".join(f"{v:g}" for v in dicom.pixel_spacing)
                    if dicom and dicom.pixel_spacing
                    else None,
                    ",".join(mismatch) or None,
                ),
            )
            row = await tx.fetch_one(f"SELECT {_COLUMNS}{_FROM} WHERE f.id = ?", (file_id,))
        assert row is not None
        return _attachment(row), True

    async def copy_files(self, source: int, target: int, by: int, at: float) -> int:
        """Catalogue the sound files of consult ``source`` for consult ``target`` too
        (the content is stored once, by its hash); how many."""
        columns = (
            "name, kind, size, sha256, width, height, frames, duration, modality, study_uid,"
            " series_uid, instance_number, pixel_spacing, patient_mismatch"
        )
        return await self.db.execute(
            f"INSERT INTO consult_files (consult_id, uploaded_by, uploaded_at, {columns})"
            f" SELECT ?, ?, ?, {columns} FROM consult_files"
            " WHERE consult_id = ? AND status = 'ok' ORDER BY id",
            (target, by, at, source),
        )

    async def ids_of(self, consult_id: int) -> frozenset[int]:
        """The ids of a consult's files (what its room may show)."""
        rows = await self.db.fetch_all(
            "SELECT id FROM consult_files WHERE consult_id = ?", (consult_id,)
        )
        return frozenset(int(r["id"]) for r in rows)

    async def get(self, file_id: int) -> Attachment | None:
        row = await self.db.fetch_one(f"SELECT {_COLUMNS}{_FROM} WHERE f.id = ?", (file_id,))
        return _attachment(row) if row else None

    async def of_consult(self, consult_id: int) -> list[Attachment]:
        """In the order they were attached; a DICOM series stays in instance order."""
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS}{_FROM} WHERE f.consult_id = ? ORDER BY f.id", (consult_id,)
        )
        return [_attachment(r) for r in rows]

    async def mark_ok(self, file_id: int) -> None:
        """A sound copy of a damaged file's content was sent again and stored."""
        await self.db.execute("UPDATE consult_files SET status = 'ok' WHERE id = ?", (file_id,))

    async def mark_damaged(self, file_id: int) -> None:
        await self.db.execute(
            "UPDATE consult_files SET status = 'damaged' WHERE id = ?", (file_id,)
        )
