"""Attached files over HTTP on the real app: sent, stored by hash, served checked,
refused when they should be, and every access in the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import av
from PIL import Image

from consult_server.accounts.directory import ACCOUNTS
from consult_server.accounts.models import Level, Role
from consult_server.attachments.service import ATTACHMENTS
from consult_server.audit.chain import AUDIT
from tests.support import sample_files as files
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, Harness, demo_password_hash
from tests.support.server import DEMO_PASSWORD


async def send(
    client: Client, consult_id: int, data: bytes, name: str = "phim-phoi.dcm"
) -> tuple[int, Any]:
    async with client.session.post(
        f"{client.base}/api/consults/{consult_id}/files",
        data=io.BytesIO(data),
        headers={
            "X-CSRF-Token": client.csrf,
            "Content-Type": "application/octet-stream",
            "X-File-Name": quote(name),
            "Accept": "application/json",
        },
    ) as response:
        return response.status, await response.json()


async def fetch(client: Client, path: str, **headers: str) -> tuple[int, bytes, Any]:
    async with client.session.get(client.base + path, headers=headers) as response:
        return response.status, await response.read(), response.headers


async def filed(harness: Harness) -> tuple[Client, int]:
    clinician = await harness.login("clinician.demo")
    status, body = await clinician.api("POST", "/api/consults", request_body())
    assert status == 201
    return clinician, int(body["consult"]["id"])


def _files_dir(harness: Harness) -> Path:
    return harness.app[ATTACHMENTS].blobs.root


async def test_dicom_is_stored_by_hash_and_served_whole_and_in_ranges(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    dicom = files.ct_dicom(instance=3)
    status, body = await send(clinician, consult_id, dicom, "Nguyễn Thị Hoa X-quang")
    assert status == 201, body
    sent = body["file"]
    assert sent["kind"] == "dicom" and sent["modality"] == "CT"
    assert sent["sha256"] == hashlib.sha256(dicom).hexdigest()
    assert sent["instance_number"] == 3 and sent["pixel_spacing"] == [0.661468, 0.661468]
    assert sent["name"] == "Nguyễn Thị Hoa X-quang"
    stored = _files_dir(harness) / "sha256" / sent["sha256"][:2] / sent["sha256"]
    assert stored.read_bytes() == dicom
    assert stored.stat().st_mode & 0o777 == 0o600

    status, listing = await clinician.api("GET", f"/api/consults/{consult_id}/files")
    assert status == 200 and [f["id"] for f in listing["files"]] == [sent["id"]]

    status, content, headers = await fetch(clinician, sent["url"])
    assert status == 200 and content == dicom
    assert headers["Content-Type"] == "application/dicom"
    assert "sandbox" in headers["Content-Security-Policy"]
    status, part, _ = await fetch(clinician, sent["url"], Range="bytes=128-131")
    assert status == 206 and part == b"DICM"

    status, thumb, _ = await fetch(clinician, sent["thumbnail"])
    assert status == 200
    with Image.open(io.BytesIO(thumb)) as preview:
        assert preview.format == "JPEG" and preview.size == (128, 128)

    # The same content again: the same entry, nothing new stored or logged.
    status, again = await send(clinician, consult_id, dicom)
    assert status == 200 and again["file"]["id"] == sent["id"]

    entries = await harness.app[AUDIT].for_objects([f"file:{sent['id']}"])
    actions = sorted(e.action for e in entries)
    # One upload; one view for the file and its preview and the range (one per window).
    assert actions == ["upload", "view"]
    assert all(e.actor == "clinician.demo" for e in entries)


async def test_photo_is_stored_without_its_gps(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    status, body = await send(clinician, consult_id, files.jpeg_with_gps(), "vet-thuong.jpg")
    assert status == 201, body
    _, content, _ = await fetch(clinician, body["file"]["url"])
    assert hashlib.sha256(content).hexdigest() == body["file"]["sha256"]
    with Image.open(io.BytesIO(content)) as photo:
        assert not photo.getexif().get_ifd(files.GPS_IFD)
        assert photo.getexif()[files.ORIENTATION] == 6
    assert b"PhoneMaker" not in content


def _packets(data: bytes) -> list[bytes]:
    with av.open(io.BytesIO(data), "r") as clip:
        return [bytes(p) for p in clip.demux(video=0) if p.size]


async def test_a_phones_clip_is_stored_without_where_and_with_what_it_was_taken(
    harness: Harness,
) -> None:
    """Location, maker and model leave with the container's tags and the track's; the
    pictures are the sender's very packets (a stream copy, nothing re-encoded)."""
    clinician, consult_id = await filed(harness)
    for container in ("mov", "mp4"):
        sent = files.phone_clip(container)
        status, body = await send(clinician, consult_id, sent, f"vet-thuong.{container}")
        # 200 the second time: both come out as the same MP4, stored once.
        assert status in (200, 201), body
        _, content, headers = await fetch(clinician, body["file"]["url"])
        assert hashlib.sha256(content).hexdigest() == body["file"]["sha256"]
        assert headers["Content-Type"] == "video/mp4"
        with av.open(io.BytesIO(content)) as clip:
            tags = {**clip.metadata, **clip.streams.video[0].metadata}
        said = " ".join(f"{k}={v}" for k, v in tags.items()).lower()
        for telling in ("location", "iso6709", "apple", "iphone", "make", "model", "core media"):
            assert telling not in said, (container, tags)
        assert "+22.8233" not in content.decode("latin-1")
        assert clip_language(content) == "vie", "which sound is which stays"
        assert _packets(content) == _packets(sent), "the same packets: nothing re-encoded"


def clip_language(data: bytes) -> str | None:
    with av.open(io.BytesIO(data)) as clip:
        return clip.streams.video[0].metadata.get("language")


async def test_every_kind_is_accepted(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    for data, kind in [
        (files.png_bytes(), "png"),
        (files.clip_bytes("webm"), "webm"),
        (files.clip_bytes("mp4"), "mp4"),
        (files.pdf_bytes(), "pdf"),
        (files.multiframe_dicom(frames=4), "dicom"),
        (files.dicom_bytes(files.ct_slice(), preamble=False), "dicom"),
    ]:
        status, body = await send(clinician, consult_id, data, "no-extension")
        assert status == 201, body
        assert body["file"]["kind"] == kind


async def _nothing_left(harness: Harness, consult_id: int, clinician: Client) -> None:
    assert list((_files_dir(harness) / "incoming").iterdir()) == []
    assert list((_files_dir(harness) / "sha256").iterdir()) == []
    status, listing = await clinician.api("GET", f"/api/consults/{consult_id}/files")
    assert status == 200 and listing["files"] == []


async def test_bad_files_are_refused_and_leave_nothing(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    cases = [
        (b"MZ\x90\x00" + b"\x00" * 2000, 415, "unsupported_file"),
        (b"\x00" * 128 + b"DICM" + b"not really" * 50, 415, "bad_dicom"),
        (files.ct_dicom()[:30_000], 415, "dicom_truncated"),
        (files.jpeg_with_gps()[:300], 415, "bad_image"),
        (b"", 400, "empty_file"),
    ]
    for data, status, code in cases:
        got, body = await send(clinician, consult_id, data)
        assert (got, body["error"]["code"]) == (status, code)
    await _nothing_left(harness, consult_id, clinician)


async def test_limits(tmp_path: Path, database: dict[str, Any]) -> None:
    from tests.support.inproc import running_app

    overrides = {**database, "attachments.max_file_mib": 1, "attachments.max_consult_mib": 2}
    async with running_app(tmp_path, **overrides) as harness:
        clinician, consult_id = await filed(harness)
        big = files.ct_dicom() + b"\x00" * (1024 * 1024)
        status, body = await send(clinician, consult_id, big)
        assert (status, body["error"]["code"]) == (413, "file_too_large")
        await _nothing_left(harness, consult_id, clinician)
        # Two files of ~0.9 MiB fit in 2 MiB; the third does not.
        for n in range(2):
            padded = files.multiframe_dicom(frames=110 + n, size=64)
            assert len(padded) < 1024 * 1024
            status, body = await send(clinician, consult_id, padded)
            assert status == 201, body
        status, body = await send(clinician, consult_id, files.multiframe_dicom(frames=112))
        assert (status, body["error"]["code"]) == (413, "consult_files_full")
        assert list((_files_dir(harness) / "incoming").iterdir()) == []


async def raw_upload(
    harness: Harness, clinician: Client, consult_id: int, first: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """An upload announced as 3,000,000 bytes on a raw socket, ``first`` of them sent."""
    host = urlsplit(harness.base)
    reader, writer = await asyncio.open_connection(host.hostname, host.port)
    head = (
        f"POST /api/consults/{consult_id}/files HTTP/1.1\r\nHost: {host.netloc}\r\n"
        f"Cookie: {clinician.cookie_header()}\r\nX-CSRF-Token: {clinician.csrf}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 3000000\r\n\r\n"
    )
    writer.write(head.encode() + first)
    await writer.drain()
    return reader, writer


async def test_upload_cut_halfway_leaves_nothing(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    _reader, writer = await raw_upload(harness, clinician, consult_id, files.ct_dicom() * 20)
    for _ in range(50):  # the server is receiving: a file is being written
        if list((_files_dir(harness) / "incoming").iterdir()):
            break
        await asyncio.sleep(0.02)
    assert list((_files_dir(harness) / "incoming").iterdir())
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if not list((_files_dir(harness) / "incoming").iterdir()):
            break
        await asyncio.sleep(0.02)
    await _nothing_left(harness, consult_id, clinician)


async def test_a_tampered_file_is_refused_marked_and_audited(harness: Harness) -> None:
    clinician, consult_id = await filed(harness)
    original = files.ct_dicom()
    _, body = await send(clinician, consult_id, original)
    sent = body["file"]
    stored = _files_dir(harness) / "sha256" / sent["sha256"][:2] / sent["sha256"]
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF  # one pixel changed behind the server's back
    stored.write_bytes(bytes(data))
    status, content, _ = await fetch(clinician, sent["url"])
    assert status == 409 and b"file_damaged" in content
    _, listing = await clinician.api("GET", f"/api/consults/{consult_id}/files")
    assert listing["files"][0]["status"] == "damaged"
    entries = await harness.app[AUDIT].for_objects([f"file:{sent['id']}"])
    refusals = [e for e in entries if e.action == "refuse"]
    assert refusals and refusals[0].detail == {"reason": "hash_mismatch"}
    upload = next(e for e in entries if e.action == "upload")
    assert upload.detail["sha256"] == sent["sha256"]

    # The same content sent again replaces the damaged copy and the file is sound again.
    status, again = await send(clinician, consult_id, original)
    assert status == 200 and again["file"]["status"] == "ok"
    status, content, _ = await fetch(clinician, sent["url"])
    assert status == 200 and hashlib.sha256(content).hexdigest() == sent["sha256"]


async def test_who_may_send_and_see(harness: Harness) -> None:
    """Every role, in and out of the consult's subtree, before and after acceptance."""
    accounts = harness.app[ACCOUNTS]
    other_province = await accounts.add_facility(
        "other-province", "Bệnh viện tỉnh khác", Level.PROVINCIAL, None
    )
    await accounts.create_user(
        "supervisor.other",
        DEMO_PASSWORD,
        Role.SUPERVISOR,
        other_province,
        "Giám sát khác",
        password_hash=demo_password_hash(),
    )
    clinician, consult_id = await filed(harness)
    _, body = await send(clinician, consult_id, files.png_bytes())
    url = body["file"]["url"]
    people = {
        name: await harness.login(name)
        for name in (
            "clinician2.demo",
            "specialist.demo",
            "specialist.central",
            "supervisor.demo",
            "supervisor.other",
            "admin.demo",
        )
    }

    async def reads(name: str) -> int:
        client = clinician if name == "clinician.demo" else people[name]
        status, _, _ = await fetch(client, url)
        listed, _ = await client.api("GET", f"/api/consults/{consult_id}/files")
        assert (status == 200) == (listed == 200), name
        return status

    async def sends(name: str) -> int:
        client = clinician if name == "clinician.demo" else people[name]
        status, _ = await send(client, consult_id, files.pdf_bytes())
        return status

    # Open request: the specialists it reached may look before accepting.
    before = {name: await reads(name) for name in ["clinician.demo", *people]}
    assert before == {
        "clinician.demo": 200,
        "clinician2.demo": 404,
        "specialist.demo": 200,
        "specialist.central": 404,  # the request has not reached the central level
        "supervisor.demo": 200,
        "supervisor.other": 404,
        "admin.demo": 403,
    }
    assert await sends("specialist.demo") == 403  # not a participant yet
    status, _ = await people["specialist.demo"].api("POST", f"/api/consults/{consult_id}/accept")
    assert status == 200
    after = {name: await reads(name) for name in ["clinician.demo", *people]}
    assert after == {**before}
    sending = {name: await sends(name) for name in ["clinician.demo", *people]}
    assert sending == {
        "clinician.demo": 201,
        "clinician2.demo": 404,
        "specialist.demo": 200,  # the same PDF: already attached
        "specialist.central": 404,
        "supervisor.demo": 403,
        "supervisor.other": 403,
        "admin.demo": 403,
    }
    refused = [
        e.actor
        for e in await harness.app[AUDIT].for_objects([url.replace("/files/", "file:")])
        if e.action == "refuse"
    ]
    assert sorted(set(refused)) == ["clinician2.demo", "specialist.central", "supervisor.other"]


async def test_another_patients_dicom_is_flagged_and_audited(harness: Harness) -> None:
    """Both participants see which fields of the image's patient disagree with the
    consult's; the chain records it without the names; the consult's own is not
    flagged."""
    clinician, consult_id = await filed(harness)
    status, body = await send(clinician, consult_id, files.ct_dicom(instance=1))
    assert status == 201 and body["file"]["patient_mismatch"] == []
    other = files.ct_dicom(instance=2, patient=("TRAN^VAN NAM", "19500102", "M"))
    status, body = await send(clinician, consult_id, other, "ct-giuong-ben.dcm")
    assert status == 201 and body["file"]["patient_mismatch"] == ["name", "birth_year", "sex"]
    file_id = body["file"]["id"]
    status, listing = await clinician.api("GET", f"/api/consults/{consult_id}/files")
    flags = {f["id"]: f["patient_mismatch"] for f in listing["files"]}
    assert flags[file_id] == ["name", "birth_year", "sex"] and len(flags) == 2
    entries = await harness.app[AUDIT].for_objects([f"file:{file_id}"])
    flagged = [e for e in entries if e.action == "patient_mismatch"]
    assert [e.detail for e in flagged] == [
        {"consult": consult_id, "fields": ["name", "birth_year", "sex"]}
    ]
    assert "TRAN" not in str(flagged[0].detail).upper()
