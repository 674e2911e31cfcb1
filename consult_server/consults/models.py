"""What a consult is to the server beyond its life cycle: the request as filed, and the
facts (names, participants, reach) that describe it and decide who sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consult_server.accounts.models import Role, User
from consult_server.consults.lifecycle import Consult, ConsultState, Urgency
from consult_server.consults.lifecycle import joinable as consult_joinable
from consult_server.consults.patient import Patient
from consult_server.errors import BadRequest, FieldChecks
from consult_server.local_time import year_at


def participants_of(consult: Consult, invitees: list[int]) -> list[int]:
    """Who takes part: the clinician, the accepting specialist, then the invited."""
    people = [consult.clinician_id]
    if consult.accepted_by is not None:
        people.append(consult.accepted_by)
    return people + [u for u in invitees if u not in people]


@dataclass(frozen=True)
class ConsultFacts:
    """What describing a consult to anyone needs, read once (one snapshot) and shared by
    every recipient of an update or every item of a list."""

    consult: Consult
    version: int
    summary: str
    clinician: str
    facility: str
    specialist: str | None
    specialty_vi: str
    specialty_en: str
    #: The clinician, the accepting specialist, then the invited, in that order.
    participants: tuple[int, ...]
    #: Facilities the request reached.
    targets: frozenset[int]
    #: None for consults filed before patients were recorded.
    patient: Patient | None = None

    def visible_to(self, user: User) -> bool:
        """Default deny: the participants, and while the request is open, specialists
        of that specialty at a facility it reached."""
        if user.id in self.participants:
            return True
        return self.consult.state is ConsultState.REQUESTED and self.offered_to(user)

    def offered_to(self, user: User) -> bool:
        """The request reached ``user``: a specialist of its specialty at a facility it
        reached (whatever its state now)."""
        return (
            user.role is Role.SPECIALIST
            and self.consult.specialty in user.specialties
            and user.facility_id in self.targets
        )

    def describe(self, viewer: User) -> dict[str, Any]:
        """What a client is shown (the caller checked ``visible_to``)."""
        consult, people = self.consult, self.participants
        return {
            "id": consult.id,
            # Counts every change: a page applies a copy only if it is not older than
            # the one it shows (an HTTP reply can arrive after a newer live update).
            "version": self.version,
            "state": consult.state.value,
            "specialty": consult.specialty,
            "specialty_name": self.specialty_en if viewer.language == "en" else self.specialty_vi,
            "urgency": consult.urgency.value,
            "summary": self.summary,
            # The age as it was when the request was filed.
            "patient": (
                self.patient.describe(year_at(consult.created_at)) if self.patient else None
            ),
            "created_at": consult.created_at,
            "accepted_at": consult.accepted_at,
            "clinician": self.clinician,
            "facility": self.facility,
            "specialist": self.specialist,
            "tier": consult.tier,
            "end_reason": consult.end_reason,
            "mine": viewer.id in people,
            "invited": viewer.id in people[2:],
            "can_join": viewer.id in people and consult_joinable(consult.state),
            "participants": len(people),
        }


def _specialty(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise BadRequest("specialty is required", "bad_specialty")
    return value


def _urgency(value: object) -> Urgency:
    try:
        return Urgency(str(value))
    except ValueError:
        raise BadRequest("urgency must be routine, urgent or emergency", "bad_urgency") from None


def _summary(value: object, max_summary: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("a short case summary is required", "summary_required")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the summary is not valid text", "bad_summary") from None
    if len(value) > max_summary:
        raise BadRequest(f"summary is longer than {max_summary} characters", "summary_too_long")
    return value.strip()


def _consent(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadRequest("consent must be true or false", "bad_consent")
    return value


@dataclass(frozen=True)
class NewConsult:
    specialty: str
    urgency: Urgency
    summary: str
    patient: Patient
    #: The clinician confirmed the patient's consent to recording.
    consent: bool = False

    @classmethod
    def parse(cls, payload: object, max_summary: int, now: float) -> NewConsult:
        """Validate a request body at the edge; raise ``BadRequest`` naming the field."""
        if not isinstance(payload, dict):
            raise BadRequest("expected a JSON object", "bad_payload")
        checks = FieldChecks()  # every wrong field at once, in the form's order
        specialty = checks.take("specialty", lambda: _specialty(payload.get("specialty")))
        urgency = checks.take("urgency", lambda: _urgency(payload.get("urgency")))
        patient = checks.take(
            "patient", lambda: Patient.parse(payload.get("patient"), year_at(now))
        )
        summary = checks.take("summary", lambda: _summary(payload.get("summary"), max_summary))
        consent = checks.take("consent", lambda: _consent(payload.get("consent", False)))
        checks.done()
        assert specialty and urgency and patient and summary and consent is not None
        return cls(specialty, urgency, summary, patient, consent)


@dataclass(frozen=True)
class Invitable:
    """A specialist a participant may bring into a consult."""

    id: int
    name: str
    facility: str
    level: str


@dataclass(frozen=True)
class ChatLine:
    """One message said in a consult's room."""

    id: int
    author_id: int
    author: str
    at: float
    text: str

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "author": self.author,
            "at": self.at,
            "text": self.text,
        }


@dataclass(frozen=True)
class Happening:
    """One event of the consult, as the timeline names it."""

    at: float
    kind: str
    who: str
