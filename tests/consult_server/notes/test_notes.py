"""The specialist's note over HTTP: drafts, signing (SHA-256 in the audit chain),
corrections as new versions, comments, who may do what, and what is refused."""

from __future__ import annotations

from typing import Any

from consult_server.audit.chain import AUDIT
from consult_server.notes.icd10 import search
from consult_server.notes.models import NoteContent, content_digest
from consult_server.store.db import DB
from tests.signaling.test_socket_api import accepted_consult
from tests.support.inproc import Harness

NOTE: dict[str, Any] = {
    "findings": "Phim X-quang: mờ đáy phổi phải.",
    "assessment": "Viêm phổi thùy dưới phải.",
    "icd10": "J18",
    "recommendation": "Kháng sinh uống 7 ngày, hẹn khám lại.",
    "disposition": "follow_up",
    "follow_up_on": "2026-12-08",
}


def test_icd10_search_ignores_accents_and_finds_codes() -> None:
    assert [c.code for c in search("viem phoi")][:1] == ["J18"]
    assert [c.code for c in search("J18")] == ["J18"]
    assert "I10" in [c.code for c in search("tăng huyết áp")]
    assert "I10" in [c.code for c in search("hypertension")]


async def test_draft_sign_correct_and_comment(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    base = f"/api/consults/{consult_id}/note"
    status, body = await specialist.api("PUT", f"{base}/draft", {"findings": "đang viết"})
    assert status == 200 and body["note"]["version"] == 1 and not body["note"]["signed"]
    status, body = await specialist.api("PUT", f"{base}/draft", NOTE)  # autosave, same draft
    assert status == 200 and body["note"]["version"] == 1
    assert body["note"]["icd10_title"] == "Viêm phổi, tác nhân không xác định"

    status, body = await specialist.api("POST", f"{base}/sign", {"version": 1})
    assert status == 200, body
    signed = body["note"]
    assert signed["signed"] and signed["intact"]
    expected = content_digest(
        consult_id, 1, signed["author_id"], signed["signed_at"], NoteContent.parse(NOTE)
    )
    assert signed["sha256"] == expected
    entries = await harness.app[AUDIT].for_objects([f"note:{consult_id}"])
    sign = [e for e in entries if e.action == "sign"]
    assert sign and sign[0].detail == {"version": 1, "sha256": expected}

    # Signed twice, or edited: refused, nothing changes.
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 1})
    assert (status, body["error"]["code"]) == (409, "note_already_signed")
    status, body = await specialist.api("PUT", f"{base}/draft", {**NOTE, "version": 1})
    assert (status, body["error"]["code"]) == (409, "note_signed")

    # A correction is a new version; the signed one stays as it was.
    corrected = {**NOTE, "disposition": "refer", "refer_to": "provincial"}
    status, body = await specialist.api("PUT", f"{base}/draft", corrected)
    assert status == 200 and body["note"]["version"] == 2
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 2})
    assert status == 200 and body["note"]["refer_to"] == "provincial"

    # The clinician reads both versions and comments; cannot write or sign.
    status, body = await clinician.api("POST", f"{base}/comments", {"text": "Đã rõ, cảm ơn."})
    assert status == 201
    status, body = await clinician.api("GET", base)
    assert status == 200
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert body["versions"][1]["disposition"] == "follow_up"
    assert all(v["intact"] for v in body["versions"])
    assert [c["text"] for c in body["comments"]] == ["Đã rõ, cảm ơn."]
    status, body = await clinician.api("PUT", f"{base}/draft", NOTE)
    assert status == 403
    rows = await harness.app[DB].fetch_all(
        "SELECT version, sha256 FROM consult_notes ORDER BY version"
    )
    assert [r["version"] for r in rows] == [1, 2] and all(r["sha256"] for r in rows)

    # Changed behind the server's back: the version no longer reads as intact, even
    # when its row's hash is recomputed to match (the audit chain holds the signed one).
    await harness.app[DB].execute(
        "UPDATE consult_notes SET assessment = 'sửa lén' WHERE version = 1"
    )
    _, body = await clinician.api("GET", base)
    assert [v["intact"] for v in body["versions"]] == [True, False]
    forged = content_digest(
        consult_id,
        1,
        signed["author_id"],
        signed["signed_at"],
        NoteContent.parse({**NOTE, "assessment": "sửa lén"}),
    )
    await harness.app[DB].execute(
        "UPDATE consult_notes SET sha256 = ? WHERE version = 1", (forged,)
    )
    _, body = await clinician.api("GET", base)
    assert [v["intact"] for v in body["versions"]] == [True, False]


async def test_a_draft_is_its_authors_and_only_what_was_seen_is_signed(
    harness: Harness,
) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    base = f"/api/consults/{consult_id}/note"
    _, body = await specialist.api("PUT", f"{base}/draft", NOTE)
    seen = body["note"]["updated_at"]
    _, body = await clinician.api("GET", base)
    assert body["versions"] == []  # not signed: nobody else reads it
    # Saved again (another tab, a late autosave) after the signer looked at it.
    await specialist.api("PUT", f"{base}/draft", {**NOTE, "recommendation": "đổi liều"})
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 1, "updated_at": seen})
    assert (status, body["error"]["code"]) == (409, "note_changed")
    _, body = await specialist.api("GET", base)
    status, body = await specialist.api(
        "POST", f"{base}/sign", {"version": 1, "updated_at": body["versions"][0]["updated_at"]}
    )
    assert status == 200 and body["note"]["recommendation"] == "đổi liều"


async def test_bad_notes_are_refused(harness: Harness) -> None:
    _, specialist, consult_id = await accepted_consult(harness)
    base = f"/api/consults/{consult_id}/note"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"icd10": "X99.9"}, "bad_icd10"),
        ({"disposition": "home"}, "bad_disposition"),
        ({"follow_up_on": "next week"}, "bad_follow_up"),
        ({"disposition": "refer", "refer_to": "abroad"}, "bad_refer"),
        ({"findings": "x" * 5000}, "note_too_long"),
        ({"findings": "a\x00b"}, "bad_note"),
        ({"findings": 42}, "bad_note"),
    ]
    for change, code in cases:
        status, body = await specialist.api("PUT", f"{base}/draft", {**NOTE, **change})
        assert (status, body["error"]["code"]) == (400, code), change
    status, body = await specialist.api("PUT", f"{base}/draft", {"findings": "chưa xong"})
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 1})
    assert (status, body["error"]["code"]) == (400, "note_incomplete")
    # Each part it lacks, named at once (a follow-up without its date is its own reason).
    assert {name: f["code"] for name, f in body["error"]["fields"].items()} == {
        "recommendation": "note_recommendation_missing",
        "disposition": "note_disposition_missing",
    }
    follow_up = {**NOTE, "disposition": "follow_up", "follow_up_on": None}
    status, body = await specialist.api("PUT", f"{base}/draft", {**follow_up, "version": 1})
    assert status == 200, body
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 1})
    assert status == 400 and list(body["error"]["fields"]) == ["follow_up_on"]
    assert body["error"]["fields"]["follow_up_on"]["code"] == "note_follow_up_missing"
    status, body = await specialist.api("POST", f"{base}/sign", {"version": 9})
    assert (status, body["error"]["code"]) == (404, "note_not_found")
    rows = await harness.app[DB].fetch_all("SELECT signed_at FROM consult_notes")
    assert [r["signed_at"] for r in rows] == [None]


async def test_who_may_read_and_write(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    base = f"/api/consults/{consult_id}/note"
    await specialist.api("PUT", f"{base}/draft", NOTE)
    await specialist.api("POST", f"{base}/sign", {"version": 1})
    # name: (reads, writes a draft)
    expected = {
        "clinician.demo": (200, 403),
        "specialist.demo": (200, 200),
        "clinician2.demo": (404, 403),
        "specialist.central": (404, 404),
        "supervisor.demo": (200, 403),
        "admin.demo": (403, 403),
    }
    for name, (reads, writes) in expected.items():
        client = {"clinician.demo": clinician, "specialist.demo": specialist}.get(name)
        client = client or await harness.login(name)
        got, _ = await client.api("GET", base)
        assert got == reads, name
        wrote, _ = await client.api("PUT", f"{base}/draft", NOTE)
        assert wrote == writes, name


async def test_print_page_shows_the_signed_note_escaped(harness: Harness) -> None:
    clinician, specialist, consult_id = await accepted_consult(harness)
    base = f"/api/consults/{consult_id}/note"
    await specialist.api("PUT", f"{base}/draft", {**NOTE, "findings": "<script>x</script> mờ"})
    await specialist.api("POST", f"{base}/sign", {"version": 1})
    response = await clinician.get(f"/consults/{consult_id}/note/print")
    page = await response.text()
    assert response.status == 200
    assert "&lt;script&gt;x&lt;/script&gt; mờ" in page and "<script>x" not in page
    assert "Viêm phổi thùy dưới phải." in page and "2026-12-08" in page
    assert 'data-testid="note-signed"' in page
    outsider = await harness.login("clinician2.demo")
    assert (await outsider.get(f"/consults/{consult_id}/note/print")).status == 404
