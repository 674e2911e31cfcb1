"""The specialist's note: its content as sent (checked at the edge) and as stored.

A draft may be incomplete; a note is signed only when it says what was found or
assessed and what to do. The SHA-256 of a signed version covers its content, the
consult, its version, its author and the signing time, in one canonical JSON text.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from consult_server.consults.models import ChatLine
from consult_server.errors import BadRequest, ClientError, FieldErrors
from consult_server.notes.icd10 import codes

MAX_TEXT = 4000
DISPOSITIONS = ("commune", "follow_up", "refer", "transfer")
LEVELS = ("district", "provincial", "central")
TEXT_FIELDS = ("findings", "assessment", "recommendation")


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be text", "bad_note")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > MAX_TEXT:
        raise BadRequest(f"{name} holds at most {MAX_TEXT} characters", "note_too_long")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{name} is not valid text", "bad_note") from None
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise BadRequest(f"{name} holds control characters", "bad_note")
    return value


@dataclass(frozen=True)
class NoteContent:
    findings: str = ""
    assessment: str = ""
    icd10: str | None = None
    recommendation: str = ""
    disposition: str = ""
    #: The date of the follow-up consult (disposition follow_up), ISO "YYYY-MM-DD".
    follow_up_on: str | None = None
    #: The level to refer to (disposition refer).
    refer_to: str | None = None

    @classmethod
    def parse(cls, payload: object) -> NoteContent:
        if not isinstance(payload, dict):
            raise BadRequest("expected a JSON object", "bad_payload")
        icd10 = payload.get("icd10") or None
        if icd10 is not None and (not isinstance(icd10, str) or icd10 not in codes()):
            raise BadRequest("the ICD-10 code is not in the list", "bad_icd10")
        disposition = payload.get("disposition") or ""
        if disposition and disposition not in DISPOSITIONS:
            raise BadRequest("the disposition is not one of the choices", "bad_disposition")
        follow_up_on = payload.get("follow_up_on") or None
        if follow_up_on is not None:
            try:
                follow_up_on = datetime.date.fromisoformat(str(follow_up_on)).isoformat()
            except ValueError:
                raise BadRequest("the follow-up date is not a date", "bad_follow_up") from None
        refer_to = payload.get("refer_to") or None
        if refer_to is not None and refer_to not in LEVELS:
            raise BadRequest("refer to a district, provincial or central hospital", "bad_refer")
        return cls(
            findings=_text(payload, "findings"),
            assessment=_text(payload, "assessment"),
            icd10=icd10,
            recommendation=_text(payload, "recommendation"),
            disposition=disposition,
            follow_up_on=follow_up_on if disposition == "follow_up" else None,
            refer_to=refer_to if disposition == "refer" else None,
        )

    def ready_to_sign(self) -> None:
        """Raise naming everything a signed note still lacks, field by field
        (``note_incomplete``, with each field's own reason)."""
        missing: dict[str, ClientError] = {}
        if not (self.findings or self.assessment):
            missing["findings"] = BadRequest(
                "write the findings or the assessment first", "note_findings_missing"
            )
        if not self.recommendation:
            missing["recommendation"] = BadRequest(
                "write the recommendation first", "note_recommendation_missing"
            )
        if not self.disposition:
            missing["disposition"] = BadRequest(
                "choose what happens next (the disposition)", "note_disposition_missing"
            )
        if self.disposition == "follow_up" and not self.follow_up_on:
            missing["follow_up_on"] = BadRequest(
                "give the date of the follow-up consult", "note_follow_up_missing"
            )
        if self.disposition == "refer" and not self.refer_to:
            missing["refer_to"] = BadRequest(
                "say where the patient is referred to", "note_refer_missing"
            )
        if missing:
            raise FieldErrors(missing, "the note is not complete", "note_incomplete")


@dataclass(frozen=True)
class NoteVersion:
    id: int
    consult_id: int
    version: int
    author_id: int
    author: str
    created_at: float
    updated_at: float
    content: NoteContent
    signed_at: float | None
    sha256: str | None
    #: The audit chain's "sign" entry for this version holds this SHA-256 (set by the
    #: service, which reads the chain; a row rewritten with a fresh hash fails here).
    anchored: bool = True

    @property
    def signed(self) -> bool:
        return self.signed_at is not None

    def digest(self, signed_at: float) -> str:
        """The SHA-256 this version has once signed at ``signed_at``."""
        return content_digest(
            self.consult_id, self.version, self.author_id, signed_at, self.content
        )

    @property
    def intact(self) -> bool:
        """A signed version still hashes to what was recorded when it was signed, in its
        row and in the audit chain."""
        if self.signed_at is None:
            return True
        return self.anchored and self.sha256 == self.digest(self.signed_at)

    def describe(self, language: str = "vi") -> dict[str, Any]:
        code = codes().get(self.content.icd10 or "")
        return {
            "id": self.id,
            "version": self.version,
            "author_id": self.author_id,
            "author": self.author,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            **asdict(self.content),
            "icd10_title": code.title(language) if code else None,
            "signed": self.signed,
            "signed_at": self.signed_at,
            "sha256": self.sha256,
            "intact": self.intact,
        }


def content_digest(
    consult_id: int, version: int, author_id: int, signed_at: float, content: NoteContent
) -> str:
    canonical = json.dumps(
        {
            "consult": consult_id,
            "version": version,
            "author": author_id,
            "signed_at": repr(signed_at),
            **asdict(content),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


#: A remark on the note reads like a line of the room's chat: who, when, what.
NoteComment = ChatLine
