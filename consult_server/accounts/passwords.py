"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory), never
on the event loop.

A hash takes ~50 ms of CPU and 64 MiB: on the event loop, 20 wrong passwords at once
froze every live call for seconds. Hashes run in a small pool of worker threads
(argon2-cffi releases the GIL), with a bounded queue in front: past it a login is
refused at once ("busy, try again") instead of waiting behind a flood.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")
_HASHER = PasswordHasher()
#: Verified against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")
#: Hashes computed at once (each holds one core for ~50 ms).
WORKERS = 2
#: Logins waiting for a worker beyond which new ones are refused.
QUEUE = 16


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches. No hash (an unknown name, or an account whose person
    has not set a password yet) costs a hash all the same, and never matches."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


class PasswordsBusy(Exception):
    """More logins are waiting than the queue holds."""


class PasswordPool:
    def __init__(self, workers: int = WORKERS, queue: int = QUEUE) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="argon2"
        )
        self._slots = workers + queue
        self._pending = 0

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pending >= self._slots:
            raise PasswordsBusy
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        return await self._run(hash_password, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await self._run(verify_password, password_hash, password)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
