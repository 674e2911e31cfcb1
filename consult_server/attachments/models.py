"""An attached file as the catalog knows it (what a page or an export is shown)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consult_server.attachments.sniff import Kind


@dataclass(frozen=True)
class Attachment:
    id: int
    consult_id: int
    uploaded_by: int
    #: The uploader's display name.
    uploader: str
    uploaded_at: float
    name: str
    kind: Kind
    size: int
    sha256: str
    status: str
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    duration: float | None = None
    modality: str | None = None
    study_uid: str | None = None
    series_uid: str | None = None
    instance_number: int | None = None
    pixel_spacing: tuple[float, float] | None = None
    #: Where a DICOM's patient is not the consult's ("name", "birth_year", "sex").
    patient_mismatch: tuple[str, ...] = ()

    @property
    def media_type(self) -> str:
        return self.kind.media_type

    def describe(self) -> dict[str, Any]:
        """What a participant's page is shown (the caller checked they may read it)."""
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind.value,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
            "status": self.status,
            "uploaded_by": self.uploaded_by,
            "uploader": self.uploader,
            "uploaded_at": self.uploaded_at,
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "duration": self.duration,
            "modality": self.modality,
            "series_uid": self.series_uid,
            "instance_number": self.instance_number,
            "pixel_spacing": list(self.pixel_spacing) if self.pixel_spacing else None,
            "patient_mismatch": list(self.patient_mismatch),
            "url": f"/files/{self.id}",
            "thumbnail": f"/files/{self.id}/thumbnail",
        }
