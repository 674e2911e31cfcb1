"""Users, facilities and specialties in the SQL store."""

from __future__ import annotations

import time

from aiohttp.web import AppKey

from consult_server.accounts.models import Facility, Level, Role, Specialty, User
from consult_server.accounts.passwords import hash_password, verify_password
from consult_server.errors import BadRequest, Conflict
from consult_server.store.db import Database, Row
from signaling.routing import ReferralTree

USERNAME_MAX = 64


def _user(row: Row, specialties: set[str]) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        facility_id=row["facility_id"],
        language=row["language"],
        specialties=frozenset(specialties),
    )


class Accounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- facilities and specialties ---------------------------------------------------

    async def add_facility(self, code: str, name: str, level: Level, parent_id: int | None) -> int:
        row = await self.db.fetch_one("SELECT id FROM facilities WHERE code = ?", (code,))
        if row is not None:
            await self.db.execute(
                "UPDATE facilities SET name = ?, level = ?, parent_id = ? WHERE id = ?",
                (name, level.value, parent_id, row["id"]),
            )
            return int(row["id"])
        return await self.db.insert(
            "INSERT INTO facilities (code, name, level, parent_id) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            (code, name, level.value, parent_id),
        )

    async def facilities(self) -> list[Facility]:
        rows = await self.db.fetch_all("SELECT * FROM facilities ORDER BY id")
        return [
            Facility(r["id"], r["code"], r["name"], Level(r["level"]), r["parent_id"]) for r in rows
        ]

    async def facility(self, facility_id: int) -> Facility | None:
        return next((f for f in await self.facilities() if f.id == facility_id), None)

    async def add_specialty(self, code: str, name_vi: str, name_en: str) -> None:
        await self.db.execute(
            "INSERT INTO specialties (code, name_vi, name_en) VALUES (?, ?, ?)"
            " ON CONFLICT (code) DO UPDATE SET name_vi = excluded.name_vi,"
            " name_en = excluded.name_en",
            (code, name_vi, name_en),
        )

    async def specialties(self) -> list[Specialty]:
        rows = await self.db.fetch_all("SELECT * FROM specialties ORDER BY code")
        return [Specialty(r["code"], r["name_vi"], r["name_en"]) for r in rows]

    async def referral_tree(self) -> ReferralTree:
        facilities = await self.facilities()
        rows = await self.db.fetch_all(
            "SELECT DISTINCT u.facility_id, s.specialty_code FROM users u"
            " JOIN user_specialties s ON s.user_id = u.id"
            " WHERE u.role = 'specialist' AND u.active = 1"
        )
        staffed: dict[int, set[str]] = {}
        for row in rows:
            staffed.setdefault(int(row["facility_id"]), set()).add(str(row["specialty_code"]))
        return ReferralTree({f.id: f.parent_id for f in facilities}, staffed)

    # -- users -----------------------------------------------------------------------

    async def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        facility_id: int,
        display_name: str = "",
        specialties: frozenset[str] = frozenset(),
        replace: bool = False,
    ) -> int:
        """Create (or with ``replace`` update) a user; returns the user id."""
        if not username or len(username) > USERNAME_MAX or not username.isascii():
            raise BadRequest("username must be 1-64 ASCII characters", "bad_username")
        if len(password) < 8:
            raise BadRequest("password must have at least 8 characters", "weak_password")
        if specialties and role is not Role.SPECIALIST:
            raise BadRequest("only specialists have specialties", "bad_specialties")
        existing = await self.db.fetch_one("SELECT id FROM users WHERE username = ?", (username,))
        if existing is not None and not replace:
            raise Conflict(f"user {username} already exists", "user_exists")
        password_hash = hash_password(password)
        name = display_name or username
        statements: list[tuple[str, tuple[object, ...]]]
        if existing is None:
            statements = [
                (
                    "INSERT INTO users (username, display_name, password_hash, role,"
                    " facility_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (username, name, password_hash, role.value, facility_id, time.time()),
                )
            ]
        else:
            statements = [
                (
                    "UPDATE users SET display_name = ?, password_hash = ?, role = ?,"
                    " facility_id = ? WHERE username = ?",
                    (name, password_hash, role.value, facility_id, username),
                ),
                (
                    "DELETE FROM user_specialties WHERE user_id ="
                    " (SELECT id FROM users WHERE username = ?)",
                    (username,),
                ),
            ]
        statements += [
            (
                "INSERT INTO user_specialties (user_id, specialty_code)"
                " SELECT id, ? FROM users WHERE username = ?",
                (code, username),
            )
            for code in sorted(specialties)
        ]
        await self.db.transaction(statements)
        row = await self.db.fetch_one("SELECT id FROM users WHERE username = ?", (username,))
        assert row is not None
        return int(row["id"])

    async def users(self, user_ids: set[int] | list[int]) -> dict[int, User]:
        """Active users by id, in two queries whatever their number."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self.db.reading() as tx:
            rows = await tx.fetch_all(
                f"SELECT * FROM users WHERE id IN ({marks}) AND active = 1", ids
            )
            specs = await tx.fetch_all(
                f"SELECT user_id, specialty_code FROM user_specialties WHERE user_id IN ({marks})",
                ids,
            )
        held: dict[int, set[str]] = {}
        for r in specs:
            held.setdefault(int(r["user_id"]), set()).add(str(r["specialty_code"]))
        return {int(r["id"]): _user(r, held.get(int(r["id"]), set())) for r in rows}

    async def user(self, user_id: int) -> User | None:
        return (await self.users([user_id])).get(user_id)

    async def authenticate(self, username: str, password: str) -> User | None:
        row = await self.db.fetch_one(
            "SELECT * FROM users WHERE username = ? AND active = 1", (username[:USERNAME_MAX],)
        )
        stored = None if row is None else str(row["password_hash"])
        if not verify_password(stored, password) or row is None:
            return None
        return await self.user(int(row["id"]))

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def specialists_at(self, facility_ids: list[int], specialty: str) -> list[int]:
        if not facility_ids:
            return []
        marks = ",".join("?" * len(facility_ids))
        sql = (
            "SELECT u.id FROM users u JOIN user_specialties s ON s.user_id = u.id"
            " WHERE u.role = 'specialist' AND u.active = 1"
            f" AND u.facility_id IN ({marks}) AND s.specialty_code = ?"
        )
        rows = await self.db.fetch_all(sql, (*facility_ids, specialty))
        return [int(r["id"]) for r in rows]


ACCOUNTS: AppKey[Accounts] = AppKey("accounts")
