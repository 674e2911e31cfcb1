"""Where accounts are stored: the only SQL on facilities, specialties, users and login
sessions. Methods take and return the domain's frozen dataclasses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

from consult_server.accounts.account_import import AccountLine, Existing
from consult_server.accounts.facility_rules import FacilityDraft
from consult_server.accounts.models import (
    Facility,
    Level,
    LoginSession,
    Role,
    Specialty,
    User,
)
from consult_server.store.db import Database, Row, Transaction


@dataclass(frozen=True)
class Account:
    """A user as stored, before any password is checked."""

    username: str
    display_name: str
    password_hash: str
    role: Role
    facility_id: int
    specialties: frozenset[str]


@dataclass(frozen=True)
class AccountQuery:
    """Which accounts an admin looks at: within ``facilities`` (theirs), narrowed."""

    facilities: frozenset[int]
    text: str = ""
    role: Role | None = None
    facility_id: int | None = None
    specialty: str = ""
    #: None: active and not.
    active: bool | None = None
    limit: int = 200
    #: One account, by id or by username.
    user_id: int | None = None
    username: str = ""


@dataclass(frozen=True)
class AccountRow:
    """An account as an admin's list shows it."""

    id: int
    username: str
    display_name: str
    role: Role
    facility_id: int
    active: bool
    #: False until the person has set a password (from their first one-time link).
    has_password: bool
    specialties: frozenset[str]


@dataclass(frozen=True)
class Credentials:
    user_id: int
    password_hash: str


def _user(row: Row, specialties: Iterable[str]) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        facility_id=row["facility_id"],
        language=row["language"],
        specialties=frozenset(specialties),
    )


def _marks(count: int) -> str:
    return ",".join("?" * count)


class AccountRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- facilities and specialties ---------------------------------------------------

    async def save_facility(self, code: str, name: str, level: Level, parent_id: int | None) -> int:
        """Create the facility, or update the one with this code; its id."""
        async with self.db.atomic() as tx:
            row = await tx.fetch_one("SELECT id FROM facilities WHERE code = ?", (code,))
            if row is None:
                return await tx.insert(
                    "INSERT INTO facilities (code, name, level, parent_id) VALUES (?, ?, ?, ?)"
                    " RETURNING id",
                    (code, name, level.value, parent_id),
                )
            await tx.execute(
                "UPDATE facilities SET name = ?, level = ?, parent_id = ? WHERE id = ?",
                (name, level.value, parent_id, row["id"]),
            )
            return int(row["id"])

    async def facilities(self) -> list[Facility]:
        async with self.db.reading() as tx:
            rows = await tx.fetch_all("SELECT * FROM facilities ORDER BY id")
            offered = await tx.fetch_all(
                "SELECT facility_id, specialty_code FROM facility_specialties"
            )
        declared: dict[int, set[str]] = {}
        for row in offered:
            declared.setdefault(int(row["facility_id"]), set()).add(str(row["specialty_code"]))
        return [
            Facility(
                r["id"],
                r["code"],
                r["name"],
                Level(r["level"]),
                r["parent_id"],
                bool(r["records"]),
                frozenset(declared.get(int(r["id"]), ())),
            )
            for r in rows
        ]

    async def create_facility(self, draft: FacilityDraft, parent_id: int | None) -> int | None:
        """A new facility with its specialties; None when its code is taken."""
        async with self.db.atomic() as tx:
            taken = await tx.fetch_one("SELECT id FROM facilities WHERE code = ?", (draft.code,))
            if taken is not None:
                return None
            facility_id = await self._insert_facility(tx, draft, parent_id)
            await self._offer(tx, facility_id, draft.specialties)
            return facility_id

    async def update_facility(
        self, facility_id: int, draft: FacilityDraft, parent_id: int | None
    ) -> None:
        """A facility's name, level, parent, recording and specialties (not its code)."""
        async with self.db.atomic() as tx:
            await tx.execute(
                "UPDATE facilities SET name = ?, level = ?, parent_id = ?, records = ?"
                " WHERE id = ?",
                (draft.name, draft.level.value, parent_id, int(draft.records), facility_id),
            )
            await self._offer(tx, facility_id, draft.specialties)

    async def import_facilities(self, drafts: Sequence[FacilityDraft], changes: Set[str]) -> None:
        """Write an import's new and changed facilities (parents first) in one
        transaction: all of them, or on any error none. An existing facility keeps its
        recording setting."""
        async with self.db.atomic() as tx:
            ids = {
                str(r["code"]): int(r["id"])
                for r in await tx.fetch_all("SELECT id, code FROM facilities")
            }
            for draft in drafts:
                if draft.code not in changes:
                    continue
                parent_id = ids[draft.parent_code] if draft.parent_code else None
                known = ids.get(draft.code)
                if known is None:
                    ids[draft.code] = await self._insert_facility(tx, draft, parent_id)
                else:
                    await tx.execute(
                        "UPDATE facilities SET name = ?, level = ?, parent_id = ? WHERE id = ?",
                        (draft.name, draft.level.value, parent_id, known),
                    )
                await self._offer(tx, ids[draft.code], draft.specialties)

    @staticmethod
    async def _insert_facility(tx: Transaction, draft: FacilityDraft, parent_id: int | None) -> int:
        return await tx.insert(
            "INSERT INTO facilities (code, name, level, parent_id, records)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (draft.code, draft.name, draft.level.value, parent_id, int(draft.records)),
        )

    @staticmethod
    async def _offer(tx: Transaction, facility_id: int, specialties: Set[str]) -> None:
        await tx.execute("DELETE FROM facility_specialties WHERE facility_id = ?", (facility_id,))
        for code in sorted(specialties):
            await tx.execute(
                "INSERT INTO facility_specialties (facility_id, specialty_code) VALUES (?, ?)",
                (facility_id, code),
            )

    async def offer(self, facility_id: int, specialties: Set[str]) -> None:
        """Set the specialties a facility offers."""
        async with self.db.atomic() as tx:
            await self._offer(tx, facility_id, specialties)

    async def save_specialty(self, code: str, name_vi: str, name_en: str) -> None:
        await self.db.execute(
            "INSERT INTO specialties (code, name_vi, name_en) VALUES (?, ?, ?)"
            " ON CONFLICT (code) DO UPDATE SET name_vi = excluded.name_vi,"
            " name_en = excluded.name_en",
            (code, name_vi, name_en),
        )

    async def specialties(self) -> list[Specialty]:
        rows = await self.db.fetch_all("SELECT * FROM specialties ORDER BY code")
        return [Specialty(r["code"], r["name_vi"], r["name_en"]) for r in rows]

    async def staffed(self) -> dict[int, set[str]]:
        """The specialties each facility has an active specialist of."""
        rows = await self.db.fetch_all(
            "SELECT DISTINCT u.facility_id, s.specialty_code FROM users u"
            " JOIN user_specialties s ON s.user_id = u.id"
            " WHERE u.role = 'specialist' AND u.active = 1"
        )
        staffed: dict[int, set[str]] = {}
        for row in rows:
            staffed.setdefault(int(row["facility_id"]), set()).add(str(row["specialty_code"]))
        return staffed

    # -- users -----------------------------------------------------------------------

    async def save_user(self, account: Account, created_at: float, replace: bool) -> int | None:
        """Create the user, or with ``replace`` update the one with this username (its
        specialties with it), in one transaction; its id, or None when the username is
        taken and ``replace`` is false (nothing written)."""
        async with self.db.atomic() as tx:
            row = await tx.fetch_one("SELECT id FROM users WHERE username = ?", (account.username,))
            if row is not None and not replace:
                return None
            if row is None:
                user_id = await tx.insert(
                    "INSERT INTO users (username, display_name, password_hash, role,"
                    " facility_id, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                    (
                        account.username,
                        account.display_name,
                        account.password_hash,
                        account.role.value,
                        account.facility_id,
                        created_at,
                    ),
                )
            else:
                user_id = int(row["id"])
                await tx.execute(
                    "UPDATE users SET display_name = ?, password_hash = ?, role = ?,"
                    " facility_id = ? WHERE id = ?",
                    (
                        account.display_name,
                        account.password_hash,
                        account.role.value,
                        account.facility_id,
                        user_id,
                    ),
                )
                await tx.execute("DELETE FROM user_specialties WHERE user_id = ?", (user_id,))
            for code in sorted(account.specialties):
                await tx.execute(
                    "INSERT INTO user_specialties (user_id, specialty_code) VALUES (?, ?)",
                    (user_id, code),
                )
        return user_id

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """Active users by id, in two queries (one snapshot) whatever their number."""
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        marks = _marks(len(ids))
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
        return {int(r["id"]): _user(r, held.get(int(r["id"]), ())) for r in rows}

    async def credentials(self, username: str) -> Credentials | None:
        """An active user's password hash, to check a sign-in against."""
        row = await self.db.fetch_one(
            "SELECT id, password_hash FROM users WHERE username = ? AND active = 1", (username,)
        )
        return None if row is None else Credentials(int(row["id"]), str(row["password_hash"]))

    async def deactivate(self, username: str) -> bool:
        """The account can no longer sign in (its logins end at the next purge)."""
        changed = await self.db.execute(
            "UPDATE users SET active = 0 WHERE username = ? AND active = 1", (username,)
        )
        return changed > 0

    async def set_language(self, user_id: int, language: str) -> None:
        await self.db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def specialists_at(self, facility_ids: list[int], specialty: str) -> list[int]:
        """Active specialists of ``specialty`` at these facilities."""
        if not facility_ids:
            return []
        rows = await self.db.fetch_all(
            "SELECT u.id FROM users u JOIN user_specialties s ON s.user_id = u.id"
            " WHERE u.role = 'specialist' AND u.active = 1"
            f" AND u.facility_id IN ({_marks(len(facility_ids))}) AND s.specialty_code = ?",
            (*facility_ids, specialty),
        )
        return [int(r["id"]) for r in rows]

    async def active_specialist(self, username: str) -> int | None:
        """The id of an active specialist with this username."""
        row = await self.db.fetch_one(
            "SELECT id FROM users WHERE username = ? AND role = 'specialist' AND active = 1",
            (username,),
        )
        return None if row is None else int(row["id"])

    # -- accounts as admins see them ---------------------------------------------------

    async def listed(self, query: AccountQuery) -> list[AccountRow]:
        """Accounts at ``query.facilities`` matching the filters (active or not), by
        name; at most ``query.limit``."""
        if not query.facilities:
            return []
        ids = sorted(query.facilities)
        clauses = [f"u.facility_id IN ({_marks(len(ids))})"]
        params: list[object] = [*ids]
        if query.text:
            clauses.append("(LOWER(u.username) LIKE ? OR LOWER(u.display_name) LIKE ?)")
            pattern = "%" + query.text.lower().replace("%", "").replace("_", "") + "%"
            params += [pattern, pattern]
        if query.role:
            clauses.append("u.role = ?")
            params.append(query.role.value)
        if query.facility_id is not None:
            clauses.append("u.facility_id = ?")
            params.append(query.facility_id)
        if query.specialty:
            clauses.append(
                "EXISTS (SELECT 1 FROM user_specialties s WHERE s.user_id = u.id"
                " AND s.specialty_code = ?)"
            )
            params.append(query.specialty)
        if query.active is not None:
            clauses.append("u.active = ?")
            params.append(int(query.active))
        if query.user_id is not None:
            clauses.append("u.id = ?")
            params.append(query.user_id)
        if query.username:
            clauses.append("u.username = ?")
            params.append(query.username)
        async with self.db.reading() as tx:
            rows = await tx.fetch_all(
                "SELECT u.id, u.username, u.display_name, u.role, u.facility_id, u.active,"
                " u.password_hash FROM users u WHERE "
                + " AND ".join(clauses)
                + " ORDER BY u.display_name, u.id LIMIT ?",
                [*params, query.limit],
            )
            found = [int(r["id"]) for r in rows]
            specs = (
                await tx.fetch_all(
                    "SELECT user_id, specialty_code FROM user_specialties"
                    f" WHERE user_id IN ({_marks(len(found))})",
                    found,
                )
                if found
                else []
            )
        held: dict[int, set[str]] = {}
        for r in specs:
            held.setdefault(int(r["user_id"]), set()).add(str(r["specialty_code"]))
        return [
            AccountRow(
                id=int(r["id"]),
                username=str(r["username"]),
                display_name=str(r["display_name"]),
                role=Role(r["role"]),
                facility_id=int(r["facility_id"]),
                active=bool(r["active"]),
                has_password=bool(r["password_hash"]),
                specialties=frozenset(held.get(int(r["id"]), ())),
            )
            for r in rows
        ]

    async def update_account(
        self,
        user_id: int,
        display_name: str,
        role: Role,
        facility_id: int,
        specialties: Set[str],
    ) -> None:
        """An account's name, role, facility and specialties, in one transaction."""
        async with self.db.atomic() as tx:
            await tx.execute(
                "UPDATE users SET display_name = ?, role = ?, facility_id = ? WHERE id = ?",
                (display_name, role.value, facility_id, user_id),
            )
            await tx.execute("DELETE FROM user_specialties WHERE user_id = ?", (user_id,))
            for code in sorted(specialties):
                await tx.execute(
                    "INSERT INTO user_specialties (user_id, specialty_code) VALUES (?, ?)",
                    (user_id, code),
                )

    async def set_active(self, user_id: int, active: bool) -> bool:
        """Whether it changed (an account already so is left as it is)."""
        changed = await self.db.execute(
            "UPDATE users SET active = ? WHERE id = ? AND active = ?",
            (int(active), user_id, int(not active)),
        )
        return changed > 0

    async def existing_accounts(self) -> dict[str, Existing]:
        """Every account (active or not) by username, as an import compares them."""
        async with self.db.reading() as tx:
            rows = await tx.fetch_all(
                "SELECT id, username, display_name, role, facility_id FROM users"
            )
            specs = await tx.fetch_all("SELECT user_id, specialty_code FROM user_specialties")
        held: dict[int, set[str]] = {}
        for r in specs:
            held.setdefault(int(r["user_id"]), set()).add(str(r["specialty_code"]))
        return {
            str(r["username"]): Existing(
                int(r["id"]),
                str(r["display_name"]),
                Role(r["role"]),
                int(r["facility_id"]),
                frozenset(held.get(int(r["id"]), ())),
            )
            for r in rows
        }

    async def import_accounts(
        self,
        lines: Sequence[AccountLine],
        changes: Set[str],
        links: Mapping[str, str],
        by: int | None,
        now: float,
        expires_at: float,
    ) -> None:
        """Write an import's new and changed accounts in one transaction (all, or on any
        error none); each new one without a password and with its one-time link
        (``links``: token hash by username)."""
        async with self.db.atomic() as tx:
            ids = {
                str(r["username"]): int(r["id"])
                for r in await tx.fetch_all("SELECT id, username FROM users")
            }
            for line in lines:
                if line.username not in changes:
                    continue
                user_id = ids.get(line.username)
                if user_id is None:
                    user_id = await tx.insert(
                        "INSERT INTO users (username, display_name, password_hash, role,"
                        " facility_id, created_at) VALUES (?, ?, '', ?, ?, ?) RETURNING id",
                        (line.username, line.display_name, line.role.value, line.facility_id, now),
                    )
                    await tx.execute(
                        "INSERT INTO password_links (token_hash, user_id, created_by,"
                        " created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                        (links[line.username], user_id, by, now, expires_at),
                    )
                else:
                    await tx.execute(
                        "UPDATE users SET display_name = ?, role = ?, facility_id = ? WHERE id = ?",
                        (line.display_name, line.role.value, line.facility_id, user_id),
                    )
                    await tx.execute("DELETE FROM user_specialties WHERE user_id = ?", (user_id,))
                for code in sorted(line.specialties):
                    await tx.execute(
                        "INSERT INTO user_specialties (user_id, specialty_code) VALUES (?, ?)",
                        (user_id, code),
                    )

    async def add_password_link(
        self, token_hash: str, user_id: int, by: int | None, now: float, expires_at: float
    ) -> None:
        """A new one-time link; the person's older unused links stop working."""
        async with self.db.atomic() as tx:
            await tx.execute(
                "UPDATE password_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                (now, user_id),
            )
            await tx.execute(
                "INSERT INTO password_links (token_hash, user_id, created_by, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, by, now, expires_at),
            )

    async def password_link(self, token_hash: str, now: float) -> int | None:
        """The active account a usable link is for (not used, not expired)."""
        row = await self.db.fetch_one(
            "SELECT l.user_id FROM password_links l JOIN users u ON u.id = l.user_id"
            " WHERE l.token_hash = ? AND l.used_at IS NULL AND l.expires_at > ?"
            " AND u.active = 1",
            (token_hash, now),
        )
        return None if row is None else int(row["user_id"])

    async def use_password_link(
        self, token_hash: str, password_hash: str, now: float
    ) -> tuple[int, list[str]] | None:
        """Spend the link and set the password, ending every login of the account, in one
        transaction: (user id, the ended logins' token hashes), or None when the link is
        used, expired or unknown (nothing written; two at once: one wins)."""
        async with self.db.atomic() as tx:
            user_id = None
            row = await tx.fetch_one(
                "SELECT user_id FROM password_links WHERE token_hash = ? AND used_at IS NULL"
                " AND expires_at > ?",
                (token_hash, now),
            )
            if row is not None:
                spent = await tx.execute(
                    "UPDATE password_links SET used_at = ? WHERE token_hash = ?"
                    " AND used_at IS NULL",
                    (now, token_hash),
                )
                user_id = int(row["user_id"]) if spent else None
            if user_id is None:
                return None
            await tx.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )
            ended = await tx.fetch_all(
                "SELECT token_hash FROM login_sessions WHERE user_id = ?", (user_id,)
            )
            await tx.execute("DELETE FROM login_sessions WHERE user_id = ?", (user_id,))
        return user_id, [str(r["token_hash"]) for r in ended]

    # -- login sessions ----------------------------------------------------------------

    async def open_login(self, token_hash: str, login: LoginSession, created_at: float) -> None:
        await self.db.execute(
            "INSERT INTO login_sessions (token_hash, user_id, csrf_token, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, login.user_id, login.csrf_token, created_at, login.expires_at),
        )

    async def login(self, token_hash: str, now: float, lifetime: float) -> LoginSession | None:
        """The login session with this token's hash, unless it has been idle too long or
        is older than ``lifetime`` seconds."""
        row = await self.db.fetch_one(
            "SELECT user_id, csrf_token, created_at, expires_at, locked_at FROM login_sessions"
            " WHERE token_hash = ? AND expires_at > ? AND created_at > ?",
            (token_hash, now, now - lifetime),
        )
        if row is None:
            return None
        return LoginSession(
            int(row["user_id"]),
            str(row["csrf_token"]),
            float(row["expires_at"]),
            float(row["created_at"]) + lifetime,
            row["locked_at"] is not None,
        )

    async def lock_login(self, token_hash: str, at: float | None) -> None:
        """Lock the login's screen (``at``) or unlock it (None)."""
        await self.db.execute(
            "UPDATE login_sessions SET locked_at = ? WHERE token_hash = ?", (at, token_hash)
        )

    async def extend_login(self, token_hash: str, until: float) -> None:
        await self.db.execute(
            "UPDATE login_sessions SET expires_at = ? WHERE token_hash = ?", (until, token_hash)
        )

    async def close_login(self, token_hash: str) -> None:
        await self.db.execute("DELETE FROM login_sessions WHERE token_hash = ?", (token_hash,))

    async def purge_logins(self, now: float, lifetime: float) -> list[tuple[str, str]]:
        """Forget the login sessions that have expired, and those of deactivated
        accounts; each one's token hash and why it ended ("idle", "expired" past its
        lifetime, "deactivated")."""
        condition = (
            "expires_at <= ? OR created_at <= ?"
            " OR user_id IN (SELECT id FROM users WHERE active = 0)"
        )
        async with self.db.atomic() as tx:
            rows = await tx.fetch_all(
                f"SELECT token_hash, created_at, expires_at FROM login_sessions WHERE {condition}",
                (now, now - lifetime),
            )
            await tx.execute(f"DELETE FROM login_sessions WHERE {condition}", (now, now - lifetime))
        return [
            (
                str(r["token_hash"]),
                "expired"
                if float(r["created_at"]) <= now - lifetime
                else "idle"
                if float(r["expires_at"]) <= now
                else "deactivated",
            )
            for r in rows
        ]
