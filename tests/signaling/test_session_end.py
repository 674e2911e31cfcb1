"""Signing out reaches the sockets opened with that login at once: they are told and
closed, and can no longer join a room or hear a consult's updates."""

from __future__ import annotations

import aiohttp
import socketio

from tests.signaling.test_socket_api import accepted_consult, token_for, until, user_id
from tests.support.inproc import Harness, listen


async def test_sign_out_closes_the_logins_sockets(harness: Harness) -> None:
    clinician, _, consult_id = await accepted_consult(harness)
    other_tab, _ = await listen(clinician)
    same_user_elsewhere = await harness.login("clinician.demo")  # another PC's login
    elsewhere, _ = await listen(same_user_elsewhere)
    ended: list[object] = []
    other_tab.on("session:ended", ended.append)
    async with clinician.session.post(
        clinician.base + "/logout", data={"csrf_token": clinician.csrf}, allow_redirects=False
    ) as response:
        assert response.status == 302
    await until(lambda: not other_tab.connected)
    assert ended == [{"reason": "signed_out"}]
    assert elsewhere.connected  # only that login's sockets
    # The old cookie opens no socket any more, whatever join token it carries.
    token = token_for(harness, await user_id(harness, "clinician.demo"), consult_id, "clinician")
    async with aiohttp.ClientSession() as http:
        again = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await again.connect(
                clinician.base,
                headers={"Cookie": clinician.cookie_header()},
                auth={"join_token": token},
                transports=["websocket"],
            )
            raise AssertionError("a signed-out cookie opened a socket")
        except socketio.exceptions.ConnectionError:
            pass
    await elsewhere.disconnect()
