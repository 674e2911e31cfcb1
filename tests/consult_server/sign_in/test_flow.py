"""Signing in under attack: failures counted per account and per address, a temporary
lock with a clear message, hashing off the event loop with a bounded queue, and every
outcome in the audit chain."""

from __future__ import annotations

import asyncio

from consult_server.accounts.passwords import PasswordPool, PasswordsBusy, hash_password
from consult_server.audit.chain import AUDIT
from consult_server.sign_in.flow import SIGN_IN
from consult_server.sign_in.throttle import LoginThrottle, account_key, address_key
from tests.support.inproc import Harness, anonymous_login
from tests.support.server import DEMO_PASSWORD


def test_an_account_locks_after_its_limit_and_unlocks_after_the_lock() -> None:
    throttle = LoginThrottle(account_limit=3, address_limit=100, window=60, lock=300)
    keys = [account_key("Clinician.Demo"), address_key("10.0.0.5")]
    assert throttle.failed(keys, 0) == [] and throttle.failed(keys, 1) == []
    assert throttle.failed(keys, 2) == [account_key("clinician.demo")]
    assert throttle.locked_for([account_key("clinician.demo")], 3) == 299
    assert throttle.locked_for([account_key("clinician.demo")], 302) == 0
    # Failures older than the window do not count.
    assert throttle.failed(keys, 400) == [] and throttle.failed(keys, 470) == []
    assert throttle.failed(keys, 540) == []


def test_an_address_locks_for_every_account() -> None:
    throttle = LoginThrottle(account_limit=100, address_limit=3, window=60, lock=300)
    for n, name in enumerate(["a", "b"]):
        assert throttle.failed([account_key(name), address_key("1.2.3.4")], n) == []
    locked = throttle.failed([account_key("c"), address_key("1.2.3.4")], 2)
    assert locked == [address_key("1.2.3.4")]
    assert throttle.locked_for([account_key("d"), address_key("1.2.3.4")], 3) > 0
    assert throttle.locked_for([account_key("d"), address_key("5.6.7.8")], 3) == 0


def test_a_correct_password_forgets_the_accounts_failures() -> None:
    throttle = LoginThrottle(account_limit=3, address_limit=100)
    keys = [account_key("x"), address_key("1.1.1.1")]
    throttle.failed(keys, 0)
    throttle.failed(keys, 1)
    throttle.succeeded(keys[0])
    assert throttle.failed(keys, 2) == []


async def test_the_pool_refuses_past_its_queue() -> None:
    pool = PasswordPool(workers=1, queue=1)
    stored = hash_password("right-password")
    try:
        results = await asyncio.gather(
            *(pool.verify(stored, "wrong") for _ in range(3)), return_exceptions=True
        )
        assert results.count(False) == 2
        assert sum(isinstance(r, PasswordsBusy) for r in results) == 1
        assert await pool.verify(stored, "right-password")  # free again afterwards
    finally:
        pool.close()


async def _login(harness: Harness, username: str, password: str) -> tuple[int, str]:
    submitted = await anonymous_login(harness.base, username, password)
    return submitted.status, submitted.text


async def test_brute_force_is_locked_out_with_a_clear_message_and_audited(
    harness: Harness,
) -> None:
    harness.app[SIGN_IN].throttle = LoginThrottle(account_limit=5, address_limit=50)
    for _ in range(4):
        status, page = await _login(harness, "clinician.demo", "guess-123")
        assert status == 401 and "Sai tên đăng nhập hoặc mật khẩu." in page
    status, page = await _login(harness, "clinician.demo", "guess-123")
    assert status == 429 and "thử lại sau 15 phút" in page
    # Locked: even the right password is refused now, and says the same.
    status, page = await _login(harness, "clinician.demo", DEMO_PASSWORD)
    assert status == 429 and "thử lại sau 15 phút" in page
    # Another account from the same address is not locked.
    status, _ = await _login(harness, "specialist.demo", DEMO_PASSWORD)
    assert status == 302
    # A name that is no account is counted, and never written down.
    status, _ = await _login(harness, "my-password-typed-here", "x")
    assert status == 401

    entries = await harness.app[AUDIT].for_objects(["login"])
    seen = [(e.actor, e.action, e.detail) for e in reversed(entries)]
    assert seen == [
        *[("clinician.demo", "login_failed", {})] * 5,
        ("clinician.demo", "lock", {"what": "account"}),
        ("clinician.demo", "refuse", {"reason": "locked"}),
        ("specialist.demo", "login", {}),
        ("?", "login_failed", {}),
    ]
    assert all("my-password" not in e.actor for e in entries)


async def test_sign_out_is_audited(harness: Harness) -> None:
    client = await harness.login("clinician.demo")
    async with client.session.post(
        harness.base + "/logout", data={"csrf_token": client.csrf}, allow_redirects=False
    ) as response:
        assert response.status == 302
    entries = await harness.app[AUDIT].for_objects(["login"])
    assert [(e.actor, e.action) for e in entries][:2] == [
        ("clinician.demo", "logout"),
        ("clinician.demo", "login"),
    ]


async def test_a_flood_is_refused_not_queued_forever(harness: Harness) -> None:
    accounts = harness.app[SIGN_IN].accounts
    # The account's hash at the server's own cost (the harness's demo hash is cheap).
    await accounts.store.db.execute(
        "UPDATE users SET password_hash = ? WHERE username = ?",
        (hash_password(DEMO_PASSWORD), "clinician.demo"),
    )
    accounts.passwords.close()
    accounts.passwords = PasswordPool(workers=1, queue=0)
    results = await asyncio.gather(*(_login(harness, "clinician.demo", "x") for _ in range(6)))
    statuses = sorted(status for status, _ in results)
    assert 503 in statuses and 401 in statuses
    busy = next(page for status, page in results if status == 503)
    assert "Máy chủ đang bận" in busy
