"""The FHIR R4 export of a whole consult, validated by two well-kept model libraries:
fhirclient's R4 (4.0.1) models (resource and element names, types, cardinality) and
fhir.resources' R4B models (primitive formats: instants, ids, URIs, codes)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhirclient.models.bundle import Bundle as BundleR4

from consult_server.audit.chain import AUDIT
from consult_server.consults.service import CONSULTS
from consult_server.store.db import DB
from tests.consult_server.attachments.test_views import send
from tests.consult_server.notes.test_notes import NOTE
from tests.consult_server.test_cli import cli
from tests.signaling.test_socket_api import accepted_consult, user_id
from tests.support import sample_files as files
from tests.support.inproc import Harness
from tests.support.recorded import seed_session


def ni(data: bytes) -> str:
    raw = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"ni:///sha-256;{raw}"


def validate(bundle: dict[str, Any]) -> None:
    BundleR4(bundle, strict=True)
    BundleR4B.model_validate(bundle)


def references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


async def whole_consult(harness: Harness, tmp_path: Path) -> tuple[Any, Any, int, bytes]:
    clinician, specialist, consult_id = await accepted_consult(harness)
    dicom = files.ct_dicom()
    for data, name in [(dicom, "ct.dcm"), (files.pdf_bytes(), "xet-nghiem.pdf")]:
        status, _ = await send(clinician, consult_id, data, name)
        assert status == 201
    await send(clinician, consult_id, files.clip_bytes("webm"), "sieu-am.webm")
    # A slice of the next bed's patient, sent by mistake.
    other = files.ct_dicom(instance=7, patient=("TRAN^VAN NAM", "19500102", "M"))
    assert (await send(clinician, consult_id, other, "ct-2.dcm"))[0] == 201
    clinician_id = await user_id(harness, "clinician.demo")
    specialist_id = await user_id(harness, "specialist.demo")
    await seed_session(
        harness.app[DB],
        tmp_path / "rec",
        consult_id,
        [(clinician_id, "clinician"), (specialist_id, "specialist")],
    )
    store = harness.app[CONSULTS].store
    await store.say(consult_id, clinician_id, "Huyết áp 90/60", time.time())
    await store.say(consult_id, specialist_id, "Cho bệnh nhân nằm đầu thấp", time.time())
    base = f"/api/consults/{consult_id}/note"
    await specialist.api("PUT", f"{base}/draft", NOTE)
    await specialist.api("POST", f"{base}/sign", {"version": 1})
    await specialist.api("PUT", f"{base}/draft", {**NOTE, "disposition": "transfer"})
    await specialist.api("POST", f"{base}/sign", {"version": 2})
    return clinician, specialist, consult_id, dicom


async def test_the_export_is_a_valid_r4_bundle_of_the_whole_consult(
    harness: Harness, tmp_path: Path
) -> None:
    clinician, _, consult_id, dicom = await whole_consult(harness, tmp_path)
    async with clinician.session.get(f"{clinician.base}/api/consults/{consult_id}/fhir") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/fhir+json")
        raw = await r.read()
    bundle = json.loads(raw)
    validate(bundle)
    kinds = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert kinds == {
        "Patient": 1,
        "Organization": 2,  # the commune that filed it, the specialist's district
        "Practitioner": 2,
        "PractitionerRole": 2,
        "ServiceRequest": 1,
        "Encounter": 1,
        "Media": 5,  # two CT slices, the clip, two recordings
        "DocumentReference": 1,  # the PDF
        "Communication": 2,
        "Composition": 2,
    }
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert set(references(bundle)) <= urls  # every reference resolves inside the bundle
    by_type: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    patient = by_type["Patient"][0]
    assert patient["name"][0]["text"] == "Nguyễn Thị Hoa" and patient["birthDate"] == "1968"
    assert by_type["Encounter"][0]["class"]["code"] == "VR"
    request = by_type["ServiceRequest"][0]
    assert request["priority"] == "routine" and request["reasonCode"][0]["text"] == "Ho kéo dài"
    ct, wrong = [m for m in by_type["Media"] if m.get("modality")]
    assert ct["modality"]["coding"][0]["code"] == "CT"
    assert {"system": "urn:ietf:rfc:3986", "value": ni(dicom)} in ct["identifier"]
    # The other patient's slice is marked so, the consult's own is not.
    assert "meta" not in ct
    assert wrong["meta"]["tag"][0]["code"] == "patient-mismatch"
    assert "name, birth year, sex" in wrong["note"][0]["text"]
    assert [c["payload"][0]["contentString"] for c in by_type["Communication"]] == [
        "Huyết áp 90/60",
        "Cho bệnh nhân nằm đầu thấp",
    ]
    statuses = sorted(c["status"] for c in by_type["Composition"])
    assert statuses == ["amended", "final"]
    print(f"\nFHIR bundle: {len(raw)} bytes, {len(bundle['entry'])} entries")

    exports = [e for e in await harness.app[AUDIT].for_objects([f"consult:{consult_id}"])]
    assert [e.action for e in exports] == ["export"]


async def test_who_may_export(harness: Harness, tmp_path: Path) -> None:
    _, specialist, consult_id = await accepted_consult(harness)
    expected = {
        "specialist.demo": 200,
        "supervisor.demo": 200,
        "clinician2.demo": 404,
        "specialist.central": 404,
        "admin.demo": 403,
    }
    for name, status in expected.items():
        client = specialist if name == "specialist.demo" else await harness.login(name)
        got, _ = await client.api("GET", f"/api/consults/{consult_id}/fhir")
        assert got == status, name
    status, body = await specialist.api("GET", "/api/consults/999999/fhir")
    assert (status, body["error"]["code"]) == (404, "consult_not_found")


async def test_the_command_line_export(
    harness: Harness, tmp_path: Path, database: dict[str, Any]
) -> None:
    _, _, consult_id, _ = await whole_consult(harness, tmp_path)
    url = database.get("database.url", "")
    done = cli(tmp_path, "export-fhir", str(consult_id), database_url=url)
    assert done.returncode == 0, done.stderr
    bundle = json.loads(done.stdout)
    validate(bundle)
    assert len(bundle["entry"]) == 19
    missing = cli(tmp_path, "export-fhir", "424242", database_url=url)
    assert missing.returncode == 1 and "no consult 424242" in missing.stderr
