"""A consult as a FHIR R4 Bundle (type "collection").

Patient; a Practitioner and PractitionerRole per person taking part; an Organization
per facility; the ServiceRequest (specialty, urgency as priority, the case summary as
reason); the Encounter (class VR: virtual, its period and participants); a Media per
image, clip and recording and a DocumentReference per PDF, each with its SHA-256 as an
RFC 6920 ``ni:`` identifier (FHIR's Attachment.hash is SHA-1); a Communication per chat
line; a Composition per signed version of the note (the newest "final", the earlier
ones "amended", each replacing the one before, any whose content no longer matches its
signature "entered-in-error"), its SHA-256 as identifier.

Pure: the caller reads the record; this only shapes it. References are ``urn:uuid:``
names derived from the server's ids, so the same consult exports the same ids.
"""

from __future__ import annotations

import base64
import datetime
import html
import uuid
from typing import Any

from consult_server.accounts.models import Facility, User
from consult_server.attachments.models import Attachment
from consult_server.bookings.repository import Booking
from consult_server.consults.lifecycle import ConsultState
from consult_server.consults.patient import Patient
from consult_server.fhir.record import ConsultRecord
from consult_server.notes.models import NoteVersion
from recordings.catalog import Entry

_NAMESPACE = uuid.UUID("6f1c2f1e-6a43-4c8e-9d37-0e5c2b7a9d10")
SYSTEM = "urn:consult-server"
SID_CCCD = "urn:vn:cccd"
SID_BHYT = "urn:vn:bhyt"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
LOINC = "http://loinc.org"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
_PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
_GENDER = {"male": "male", "female": "female", "other": "other"}
_REQUEST_STATUS = {
    ConsultState.REQUESTED: "active",
    ConsultState.ACCEPTED: "active",
    ConsultState.IN_SESSION: "active",
    ConsultState.ENDED: "completed",
    ConsultState.CANCELLED: "revoked",
    ConsultState.EXPIRED: "revoked",
}
_ENCOUNTER_STATUS = {
    ConsultState.REQUESTED: "planned",
    ConsultState.ACCEPTED: "planned",
    ConsultState.IN_SESSION: "in-progress",
    ConsultState.ENDED: "finished",
    ConsultState.CANCELLED: "cancelled",
    ConsultState.EXPIRED: "cancelled",
}


def ref(kind: str, key: object) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{key}')}"


def instant(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).isoformat(timespec="seconds")


def ni_sha256(hex_digest: str) -> dict[str, str]:
    """An RFC 6920 named-information identifier for content with this SHA-256."""
    raw = base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode()
    return {"system": "urn:ietf:rfc:3986", "value": f"ni:///sha-256;{raw}"}


def _narrative(text: str) -> dict[str, str]:
    body = html.escape(text).replace("\n", "<br/>")
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource}


def _patient(consult_id: int, patient: Patient | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": f"patient-{consult_id}"}
    if patient is None:
        return resource
    identifiers = []
    if patient.national_id:
        identifiers.append({"system": SID_CCCD, "value": patient.national_id})
    if patient.insurance_number:
        identifiers.append({"system": SID_BHYT, "value": patient.insurance_number})
    if patient.record_number:
        identifiers.append({"system": f"{SYSTEM}:record-number", "value": patient.record_number})
    if identifiers:
        resource["identifier"] = identifiers
    resource["name"] = [{"use": "official", "text": patient.name}]
    resource["gender"] = _GENDER.get(patient.sex.value, "unknown")
    resource["birthDate"] = f"{patient.birth_year:04d}"
    return resource


def _organization(facility: Facility, known: set[int]) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": f"facility-{facility.id}",
        "identifier": [{"system": f"{SYSTEM}:facility", "value": facility.code}],
        "active": True,
        "type": [{"text": facility.level.value}],
        "name": facility.name,
        **(
            {"partOf": {"reference": ref("Organization", facility.parent_id)}}
            if facility.parent_id in known
            else {}
        ),
    }


def _practitioner(user: User) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": f"user-{user.id}",
        "identifier": [{"system": f"{SYSTEM}:user", "value": user.username}],
        "name": [{"text": user.display_name}],
    }


def _role(user: User) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": f"role-{user.id}",
        "practitioner": {"reference": ref("Practitioner", user.id), "display": user.display_name},
        "organization": {"reference": ref("Organization", user.facility_id)},
        "code": [{"coding": [{"system": f"{SYSTEM}:role", "code": user.role.value}]}],
    }
    if user.specialties:
        resource["specialty"] = [
            {"coding": [{"system": f"{SYSTEM}:specialty", "code": code}]}
            for code in sorted(user.specialties)
        ]
    return resource


def _file_identifiers(attachment: Attachment) -> list[dict[str, str]]:
    identifiers = [ni_sha256(attachment.sha256)]
    for uid in (attachment.study_uid, attachment.series_uid):
        if uid:
            identifiers.append({"system": "urn:dicom:uid", "value": f"urn:oid:{uid}"})
    return identifiers


def _content(attachment: Attachment, base: str) -> dict[str, Any]:
    return {
        "contentType": attachment.media_type,
        "url": f"{base}/files/{attachment.id}",
        "size": attachment.size,
        "title": attachment.name,
        "creation": instant(attachment.uploaded_at),
    }


def _attachment(record: ConsultRecord, attachment: Attachment) -> dict[str, Any]:
    consult_id = record.facts.consult.id
    subject = {"reference": ref("Patient", consult_id)}
    uploader = {"reference": ref("PractitionerRole", attachment.uploaded_by)}
    if attachment.kind.value == "pdf":
        return {
            "resourceType": "DocumentReference",
            "id": f"file-{attachment.id}",
            "identifier": _file_identifiers(attachment),
            "status": "current",
            "subject": subject,
            "date": instant(attachment.uploaded_at),
            "author": [uploader],
            "content": [{"attachment": _content(attachment, record.base_url)}],
            "context": {"encounter": [{"reference": ref("Encounter", consult_id)}]},
        }
    media: dict[str, Any] = {
        "resourceType": "Media",
        "id": f"file-{attachment.id}",
        "identifier": _file_identifiers(attachment),
        "status": "completed",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/media-type",
                    "code": "video" if attachment.kind.is_clip else "image",
                }
            ]
        },
        "subject": subject,
        "encounter": {"reference": ref("Encounter", consult_id)},
        "issued": instant(attachment.uploaded_at),
        "operator": uploader,
        "content": _content(attachment, record.base_url),
    }
    if attachment.modality:
        media["modality"] = {"coding": [{"system": DICOM_DCM, "code": attachment.modality}]}
    for key in ("width", "height", "frames"):
        value = getattr(attachment, key)
        if value:
            media[key] = value
    if attachment.duration:
        media["duration"] = round(attachment.duration, 3)
    if attachment.patient_mismatch:
        # The image's own patient is not the consult's: a system reading the export
        # is told as the participants were.
        media["meta"] = {
            "tag": [
                {
                    "system": f"{SYSTEM}:file-flag",
                    "code": "patient-mismatch",
                    "display": "The image names another patient",
                }
            ]
        }
        fields = ", ".join(f.replace("_", " ") for f in attachment.patient_mismatch)
        media["note"] = [{"text": f"The image's own patient differs from this one: {fields}."}]
    return media


def _recording(record: ConsultRecord, entry: Entry) -> dict[str, Any]:
    base = record.base_url
    consult_id = record.facts.consult.id
    media: dict[str, Any] = {
        "resourceType": "Media",
        "id": f"recording-{entry.id}",
        "status": "completed" if entry.status in ("complete", "interrupted") else "unknown",
        "type": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/media-type", "code": "video"}
            ]
        },
        "subject": {"reference": ref("Patient", consult_id)},
        "encounter": {"reference": ref("Encounter", consult_id)},
        "createdDateTime": instant(entry.started_at),
        "operator": {"reference": ref("PractitionerRole", entry.user_id)},
        "content": {"contentType": "video/webm", "url": f"{base}/recordings/{entry.id}/file"},
    }
    if entry.sha256:
        media["identifier"] = [ni_sha256(entry.sha256)]
    if entry.size:
        media["content"]["size"] = entry.size
    return media


def _composition(record: ConsultRecord, version: NoteVersion, latest: bool) -> dict[str, Any]:
    consult_id = record.facts.consult.id
    content = version.content
    sections = []

    def section(title: str, text: str, code: str | None = None) -> None:
        if not text:
            return
        part: dict[str, Any] = {"title": title, "text": _narrative(text)}
        if code:
            part["code"] = {"coding": [{"system": ICD10, "code": code}]}
        sections.append(part)

    section("Findings", content.findings)
    section("Assessment", content.assessment, content.icd10)
    section("Recommendation", content.recommendation)
    disposition = (
        content.disposition
        + (f" {content.follow_up_on}" if content.follow_up_on else "")
        + (f" {content.refer_to}" if content.refer_to else "")
    )
    section("Disposition", disposition)
    assert version.signed_at is not None and version.sha256 is not None
    author = {"reference": ref("PractitionerRole", version.author_id), "display": version.author}
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": f"note-{consult_id}-v{version.version}",
        "identifier": ni_sha256(version.sha256),
        # A version whose content no longer matches its signature is not exported as
        # a valid note.
        "status": "entered-in-error" if not version.intact else "final" if latest else "amended",
        "type": {"coding": [{"system": LOINC, "code": "11488-4", "display": "Consult note"}]},
        "subject": {"reference": ref("Patient", consult_id)},
        "encounter": {"reference": ref("Encounter", consult_id)},
        "date": instant(version.signed_at),
        "author": [author],
        "title": f"Consult note, version {version.version}",
        "attester": [{"mode": "legal", "time": instant(version.signed_at), "party": author}],
        "section": sections,
    }
    if version.version > 1:
        composition["relatesTo"] = [
            {
                "code": "replaces",
                "targetReference": {
                    "reference": ref("Composition", f"{consult_id}-v{version.version - 1}")
                },
            }
        ]
    return composition


#: A booking's status as FHIR's Appointment says it.
_APPOINTMENT_STATUS = {
    "scheduled": "booked",
    "cancelled": "cancelled",
    "completed": "fulfilled",
    "missed": "noshow",
}


def _booked(record: ConsultRecord, booking: Booking) -> list[dict[str, Any]]:
    """The Schedule, Slot and Appointment of a booked consult (FHIR R4 scheduling)."""
    cid = record.facts.consult.id
    specialty = {"coding": [{"system": f"{SYSTEM}:specialty", "code": booking.specialty}]}
    schedule_key = f"{booking.specialist_id}-{booking.specialty}"
    schedule = {
        "resourceType": "Schedule",
        "id": f"schedule-{schedule_key}",
        "active": True,
        "serviceType": [specialty],
        "actor": [{"reference": ref("PractitionerRole", booking.specialist_id)}],
    }
    slot = {
        "resourceType": "Slot",
        "id": f"slot-{booking.id}",
        "serviceType": [specialty],
        "schedule": {"reference": ref("Schedule", schedule_key)},
        "status": "busy" if booking.status in ("scheduled", "completed") else "free",
        "start": instant(booking.starts_at),
        "end": instant(booking.ends_at),
    }
    appointment: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": f"appointment-{booking.id}",
        "identifier": [{"system": f"{SYSTEM}:booking", "value": str(booking.id)}],
        "status": _APPOINTMENT_STATUS.get(booking.status, "booked"),
        "serviceType": [specialty],
        "start": instant(booking.starts_at),
        "end": instant(booking.ends_at),
        "slot": [{"reference": ref("Slot", booking.id)}],
        "basedOn": [{"reference": ref("ServiceRequest", cid)}],
        "participant": [
            {"actor": {"reference": ref("Patient", cid)}, "status": "accepted"},
            {
                "actor": {"reference": ref("PractitionerRole", booking.clinician_id)},
                "status": "accepted",
            },
            {
                "actor": {"reference": ref("PractitionerRole", booking.specialist_id)},
                "status": "accepted",
            },
        ],
    }
    if booking.cancel_reason:
        appointment["cancelationReason"] = {"text": booking.cancel_reason}
    return [
        _entry(ref("Schedule", schedule_key), schedule),
        _entry(ref("Slot", booking.id), slot),
        _entry(ref("Appointment", booking.id), appointment),
    ]


def build_bundle(record: ConsultRecord, now: float) -> dict[str, Any]:
    facts = record.facts
    consult = facts.consult
    cid = consult.id
    entries = [_entry(ref("Patient", cid), _patient(cid, facts.patient))]
    for facility in sorted(record.facilities.values(), key=lambda f: f.id):
        organization = _organization(facility, set(record.facilities))
        entries.append(_entry(ref("Organization", facility.id), organization))
    for user in record.people.values():
        entries.append(_entry(ref("Practitioner", user.id), _practitioner(user)))
        entries.append(_entry(ref("PractitionerRole", user.id), _role(user)))
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": f"consult-{cid}",
        "identifier": [{"system": f"{SYSTEM}:consult", "value": str(cid)}],
        "status": _REQUEST_STATUS[consult.state],
        "intent": "order",
        "priority": _PRIORITY[consult.urgency.value],
        "code": {"text": "Teleconsultation"},
        "subject": {"reference": ref("Patient", cid)},
        "authoredOn": instant(consult.created_at),
        "requester": {"reference": ref("PractitionerRole", consult.clinician_id)},
        "performerType": {
            "coding": [{"system": f"{SYSTEM}:specialty", "code": consult.specialty}],
            "text": facts.specialty_en,
        },
        "reasonCode": [{"text": facts.summary}],
    }
    if consult.accepted_by is not None:
        request["performer"] = [{"reference": ref("PractitionerRole", consult.accepted_by)}]
    entries.append(_entry(ref("ServiceRequest", cid), request))
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"encounter-{cid}",
        "status": _ENCOUNTER_STATUS[consult.state],
        "class": {"system": ACT_CODE, "code": "VR", "display": "virtual"},
        "subject": {"reference": ref("Patient", cid)},
        "basedOn": [{"reference": ref("ServiceRequest", cid)}],
        "participant": [
            {"individual": {"reference": ref("PractitionerRole", user_id)}}
            for user_id in facts.participants
            if user_id in record.people
        ],
        "serviceProvider": {"reference": ref("Organization", consult.facility_id)},
    }
    if consult.started_at is not None:
        period = {"start": instant(consult.started_at)}
        if consult.ended_at is not None:
            period["end"] = instant(consult.ended_at)
        encounter["period"] = period
    if record.booking is not None:
        encounter["appointment"] = [{"reference": ref("Appointment", record.booking.id)}]
    entries.append(_entry(ref("Encounter", cid), encounter))
    if record.booking is not None:
        entries.extend(_booked(record, record.booking))
    for attachment in record.attachments:
        kind = "DocumentReference" if attachment.kind.value == "pdf" else "Media"
        entries.append(_entry(ref(kind, f"file-{attachment.id}"), _attachment(record, attachment)))
    for recording in record.recordings:
        entries.append(
            _entry(ref("Media", f"recording-{recording.id}"), _recording(record, recording))
        )
    for line in record.chat:
        entries.append(
            _entry(
                ref("Communication", line.id),
                {
                    "resourceType": "Communication",
                    "id": f"chat-{line.id}",
                    "status": "completed",
                    "subject": {"reference": ref("Patient", cid)},
                    "encounter": {"reference": ref("Encounter", cid)},
                    "sent": instant(line.at),
                    "sender": {"reference": ref("PractitionerRole", line.author_id)},
                    "payload": [{"contentString": line.text}],
                },
            )
        )
    for index, version in enumerate(record.note):
        entries.append(
            _entry(
                ref("Composition", f"{cid}-v{version.version}"),
                _composition(record, version, latest=index == 0),
            )
        )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"bundle/{cid}/{now}")),
        "type": "collection",
        "timestamp": instant(now),
        "entry": entries,
    }
