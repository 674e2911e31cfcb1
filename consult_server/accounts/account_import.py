"""Doctors' accounts from a CSV file, checked whole before anything is written.

    username,name,role,facility_code,specialties

No password column: a spreadsheet of passwords is how passwords leak. Each new account
gets a one-time link instead (``password_links.py``), handed back to the admin once as a
file to pass on; nothing is hashed until each person sets their own password, so 5,000
accounts import in seconds. An existing username is matched and updated; a file with any
bad line changes nothing; the same file twice changes nothing (and makes no new links).

Pure: the service loads the accounts and facilities, this module decides
(``tests/consult_server/accounts/test_account_import.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from consult_server.accounts.csv_rows import LineError, csv_rows
from consult_server.accounts.models import Role

COLUMNS = ("username", "name", "role", "facility_code", "specialties")
MAX_LINES = 20_000
USERNAME_MAX = 64
NAME_MAX = 120


@dataclass(frozen=True)
class AccountLine:
    username: str
    display_name: str
    role: Role
    facility_id: int
    specialties: frozenset[str]


@dataclass(frozen=True)
class Existing:
    """An account already there, as the import compares it."""

    id: int
    display_name: str
    role: Role
    facility_id: int
    specialties: frozenset[str]


@dataclass(frozen=True)
class AccountPlan:
    lines: list[AccountLine]
    errors: list[LineError]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Usernames new or changed (the same ones are not written again).
    changes: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return not self.errors


def _bad(number: int, username: str, error: str, reason: str, detail: str = "") -> LineError:
    return LineError(number, username, error, reason, detail)


def plan_accounts(
    text: str,
    facilities: Mapping[str, int],
    scope: Set[int] | None,
    specialties: Set[str],
    existing: Mapping[str, Existing],
) -> AccountPlan:
    """Check an accounts CSV. ``facilities``: id by code; ``scope``: the facility ids the
    admin manages (None: all); ``existing``: accounts by username (any facility: a
    username is unique across the country)."""
    rows = csv_rows(text, COLUMNS, MAX_LINES)
    if isinstance(rows, LineError):
        return AccountPlan([], [rows])
    errors: list[LineError] = []
    lines: dict[str, tuple[int, AccountLine]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + [""] * (len(COLUMNS) - len(row))
        username, name, role_text, facility_code, specs = cells[:5]
        if len(row) > len(COLUMNS):
            errors.append(_bad(number, username, "csv_columns", "too many columns", str(len(row))))
            continue
        if (
            not username
            or len(username) > USERNAME_MAX
            or not username.isascii()
            or " " in username
        ):
            errors.append(_bad(number, username, "bad_username", "bad username", username))
            continue
        if username in lines:
            first = str(lines[username][0])
            errors.append(_bad(number, username, "csv_repeated_code", "repeated", first))
            continue
        if not name or len(name) > NAME_MAX:
            errors.append(_bad(number, username, "bad_display_name", "bad name"))
            continue
        if role_text not in {r.value for r in Role}:
            errors.append(_bad(number, username, "bad_role", "unknown role", role_text))
            continue
        facility_id = facilities.get(facility_code)
        if facility_id is None:
            errors.append(
                _bad(number, username, "parent_not_found", "no such facility", facility_code)
            )
            continue
        if scope is not None and facility_id not in scope:
            errors.append(
                _bad(number, username, "facility_out_of_scope", "not yours", facility_code)
            )
            continue
        wanted = frozenset(p.strip() for p in specs.replace("|", ";").split(";") if p.strip())
        role = Role(role_text)
        if wanted and role is not Role.SPECIALIST:
            errors.append(_bad(number, username, "bad_specialties", "only specialists"))
            continue
        if wanted - set(specialties):
            unknown = ", ".join(sorted(wanted - set(specialties)))
            errors.append(_bad(number, username, "unknown_specialty", "unknown", unknown))
            continue
        known = existing.get(username)
        if known is not None and scope is not None and known.facility_id not in scope:
            errors.append(
                _bad(number, username, "user_exists", "an account you do not manage", username)
            )
            continue
        lines[username] = (number, AccountLine(username, name, role, facility_id, wanted))
    if errors:
        return AccountPlan([], errors)
    created = updated = unchanged = 0
    changes = set()
    for _, line in lines.values():
        known = existing.get(line.username)
        if known is None:
            created += 1
            changes.add(line.username)
        elif (known.display_name, known.role, known.facility_id, known.specialties) == (
            line.display_name,
            line.role,
            line.facility_id,
            line.specialties,
        ):
            unchanged += 1
        else:
            updated += 1
            changes.add(line.username)
    return AccountPlan(
        [line for _, line in lines.values()], [], created, updated, unchanged, frozenset(changes)
    )
