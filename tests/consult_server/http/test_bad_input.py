"""Input that used to crash a handler gets a 4xx with a stable code, and changes nothing."""

from __future__ import annotations

from consult_server.store.db import DB
from tests.support.consult_requests import request_body
from tests.support.inproc import Client, Harness


async def raw_post(client: Client, path: str, body: bytes) -> tuple[int, object]:
    async with client.session.post(
        client.base + path,
        data=body,
        headers={
            "X-CSRF-Token": client.csrf,
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    ) as response:
        return response.status, await response.json()


async def test_huge_ids_deep_json_and_lone_surrogates(harness: Harness) -> None:
    clinician = await harness.login("clinician.demo")
    for path in (
        "/api/consults/99999999999999999999/messages",
        "/consults/99999999999999999999/room",
        "/files/99999999999999999999",
        "/teaching/99999999999999999999/room",
    ):
        response = await clinician.get(path)
        assert response.status == 404, path
    status, body = await raw_post(clinician, "/api/consults", b"[" * 8000 + b"]" * 8000)
    assert status == 400 and body == {
        "error": {"code": "bad_json", "message": "body is not valid JSON"}
    }
    lone = b'{"specialty": "internal-medicine", "urgency": "routine", "summary": "\\ud800 x"}'
    status, body = await raw_post(clinician, "/api/consults", lone)
    assert status == 400 and isinstance(body, dict) and body["error"]["code"] == "bad_text"
    assert await harness.app[DB].fetch_all("SELECT id FROM consults") == []
    status, _ = await clinician.api("POST", "/api/consults", request_body())
    assert status == 201  # the same client, well-formed, works
