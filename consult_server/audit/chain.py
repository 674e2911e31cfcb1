"""The audit log: append-only, hash-chained entries of who did what to which record.

Each entry's hash covers its id, the previous entry's hash and its content, so an edited,
removed or reordered entry breaks the chain from there on; ``consult-server audit
verify`` walks it and names the first broken entry. Triggers refuse UPDATE and
DELETE on the table, so the server cannot rewrite history by mistake; the chain catches
whoever goes around them with the file itself. (Cutting entries off the *end* leaves a
valid shorter chain: export the head hash elsewhere if that must be caught too.)

An entry is appended in one serialized step: inside a write transaction that holds the
database's write lock (SQLite: ``BEGIN IMMEDIATE``) or an advisory transaction lock
(PostgreSQL), the last entry is read, the link computed and the entry inserted with the
next id. Several server processes sharing the database cannot fork the chain (and the
unique id would refuse a fork). Entries hold reason codes and sizes, never patient text.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp.web import AppKey
from sqlalchemy import text
from sqlalchemy.engine import URL

from consult_server.store.db import Database, Transaction
from consult_server.store.engine import open_sync

GENESIS = "0" * 64

#: What a recording's entries may say.
ACTIONS = (
    "view",
    "play",
    "download",
    "delete",
    "refuse",
    "upload",
    "sign",
    "export",
    "login",
    "login_failed",
    "lock",
    "logout",
    # An admin's changes to the referral tree (and, later, to accounts).
    "create",
    "update",
    "import",
    "deactivate",
    "reactivate",
    "unlock",
    "password_link",
    "password_set",
    # A shared PC's screen locked while its login went on, and its owner back.
    "screen_lock",
    "screen_unlock",
    # Backups the server took (or failed to take), and a restore from one.
    "backup",
    "backup_failed",
    "restore",
    # An image whose own patient is not the consult's (which fields disagree).
    "patient_mismatch",
)

_COLUMNS = "id, at, actor_id, actor, action, object, remote, detail, prev_hash, hash"


def entry_hash(entry_id: int, prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{entry_id}\n{prev_hash}\n{content}".encode()).hexdigest()


def content_of(
    at: float, actor_id: int | None, actor: str, action: str, obj: str, remote: str, detail: str
) -> str:
    """The hashed text of an entry (everything but its id and the chain)."""
    return json.dumps(
        [repr(at), actor_id, actor, action, obj, remote, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    actor_id: int | None
    actor: str
    action: str
    object: str
    remote: str
    detail: dict[str, Any]


class Someone(Protocol):
    """A signed-in user as the log names them (``accounts.models.User`` is one); the
    audit log sits below accounts and does not import them."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where: a signed-in user or the server itself."""

    user_id: int | None
    name: str
    remote: str

    @classmethod
    def user(cls, user: Someone, remote: str | None) -> Actor:
        return cls(user.id, user.username, remote or "?")

    @classmethod
    def system(cls, task: str) -> Actor:
        return cls(None, f"system:{task}", "local")


_INSERT = (
    "INSERT INTO audit_log (" + _COLUMNS + ") VALUES (:id, :at, :actor_id, :actor, :action,"
    " :object, :remote, :detail, :prev_hash, :hash)"
)
#: The PostgreSQL advisory lock that serializes appends (any constant; "audit").
_LOCK = 0x61756469

#: An append inside a caller's write transaction (by the server itself, or by a user
#: whose change and its entry must commit together): (transaction, action, object, detail).
SystemAppend = Callable[[Transaction, str, str, dict[str, Any]], Awaitable[None]]


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self, actor: Actor, action: str, obj: str, detail: dict[str, Any] | None = None
    ) -> None:
        async with self.db.atomic() as tx:
            await self.append_in(tx, actor, action, obj, detail)

    def for_system(self, task: str) -> SystemAppend:
        """Appends by the server itself (``task``: "retention")."""
        return self.by(Actor.system(task))

    def by(self, actor: Actor) -> SystemAppend:
        """Appends by ``actor`` inside the caller's transaction."""

        async def append(tx: Transaction, action: str, obj: str, detail: dict[str, Any]) -> None:
            await self.append_in(tx, actor, action, obj, detail)

        return append

    async def append_in(
        self,
        tx: Transaction,
        actor: Actor,
        action: str,
        obj: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry inside the caller's write transaction (it commits with it)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        if tx.postgresql:
            # Held to the end of the transaction: the next appender reads our entry.
            await tx.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _LOCK})
        last = await tx.fetch_one("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        entry_id = int(last["id"]) + 1 if last else 1
        prev = str(last["hash"]) if last else GENESIS
        at = time.time()
        text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"))
        content = content_of(at, actor.user_id, actor.name, action, obj, actor.remote, text)
        await tx.execute(
            _INSERT,
            {
                "id": entry_id,
                "at": at,
                "actor_id": actor.user_id,
                "actor": actor.name,
                "action": action,
                "object": obj,
                "remote": actor.remote,
                "detail": text,
                "prev_hash": prev,
                "hash": entry_hash(entry_id, prev, content),
            },
        )

    async def for_objects(self, objects: list[str], limit: int = 500) -> list[AuditEntry]:
        if not objects:
            return []
        marks = ",".join("?" for _ in objects)
        rows = await self.db.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE object IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*objects, limit),
        )
        return [
            AuditEntry(
                r["id"],
                r["at"],
                r["actor_id"],
                r["actor"],
                r["action"],
                r["object"],
                r["remote"],
                json.loads(r["detail"]),
            )
            for r in rows
        ]


@dataclass(frozen=True)
class Verdict:
    entries: int
    #: The first entry whose hash or link does not hold, with why; None when intact.
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def head(url: URL) -> str:
    """The chain's last entry as "ID:HASH" (empty chain: "0:" + the genesis value), to
    keep somewhere else and check later with ``verify(url, since=...)``."""
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            ).first()
        return f"{row[0]}:{row[1]}" if row else f"0:{GENESIS}"
    finally:
        engine.dispose()


def parse_head(value: str) -> tuple[int, str]:
    entry, _, digest = value.partition(":")
    if not entry.isdigit() or len(digest) != 64:
        raise ValueError("expected ID:HASH as `audit head` printed it")
    return int(entry), digest


def verify(url: URL, since: tuple[int, str] | None = None) -> Verdict:
    """Walk the chain from the first entry (read-only, synchronous: the CLI's). With
    ``since`` (a head exported earlier): that entry must still be there with that hash,
    so cutting entries off the end, or rebuilding the chain, is found too."""
    engine = open_sync(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT {_COLUMNS} FROM audit_log ORDER BY id"))
            expected_prev, expected_id, count = GENESIS, 1, 0
            for row in rows:
                entry_id, at, actor_id, actor, action, obj, remote, detail, prev, digest = row
                count += 1
                if entry_id != expected_id:
                    return Verdict(count, expected_id, f"entry {expected_id} is missing")
                if prev != expected_prev:
                    return Verdict(count, entry_id, "does not follow the previous entry")
                content = content_of(at, actor_id, actor, action, obj, remote, detail)
                if entry_hash(entry_id, prev, content) != digest:
                    return Verdict(count, entry_id, "its content does not match its hash")
                if since is not None and entry_id == since[0] and digest != since[1]:
                    return Verdict(count, entry_id, "it is not the entry exported as the head")
                expected_prev, expected_id = digest, entry_id + 1
            if since is not None and since[0] > count:
                return Verdict(
                    count,
                    count + 1,
                    f"entries {count + 1} to {since[0]} are gone (the exported head was"
                    f" entry {since[0]})",
                )
            return Verdict(count)
    finally:
        engine.dispose()


AUDIT: AppKey[AuditLog] = AppKey("audit")
