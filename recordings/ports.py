"""What the recording catalog's maintenance (recovery, retention) is handed at wiring.

``recordings`` imports nothing from ``consult_server``: the database and the audit log
come in as these small protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Params = Sequence[Any] | Mapping[str, Any]
#: One audit entry from the server itself, as a statement to run in a transaction:
#: (action, object, detail) -> (SQL, parameters).
AuditStatement = Callable[[str, str, dict[str, Any]], tuple[str, Params]]


class Statements(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> tuple[int, int | None]: ...


class Store(Statements, Protocol):
    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Any]: ...
    def atomic(self) -> AbstractAsyncContextManager[Statements]: ...
