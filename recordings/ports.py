"""What the recording catalog is handed at wiring.

``recordings`` imports nothing from ``consult_server``: the database and the audit log
come in as these small protocols.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]
#: One audit entry from the server itself, appended inside a transaction of
#: ``Store.atomic()``: (transaction, action, object, detail).
AuditAppend = Callable[[Any, str, str, dict[str, Any]], Awaitable[None]]


class Statements(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> int: ...
    async def fetch_all(self, sql: str, params: Params = ()) -> Sequence[Any]: ...


class Store(Statements, Protocol):
    def atomic(self) -> AbstractAsyncContextManager[Statements]: ...


class Lookups(Protocol):
    async def fetch_all(self, sql: str, params: Params = ()) -> Sequence[Any]: ...
    async def fetch_one(self, sql: str, params: Params = ()) -> Any: ...


class Reader(Lookups, Protocol):
    """What review's reads need: single lookups, a snapshot several queries agree on,
    and which engine's SQL to write (aggregates differ)."""

    @property
    def postgresql(self) -> bool: ...

    def reading(self) -> AbstractAsyncContextManager[Lookups]: ...
