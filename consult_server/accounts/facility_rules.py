"""What an admin may do to the referral tree, as pure functions.

An admin manages the facilities under their own (a province's admin, its province):
they create facilities there, edit them, and move them to another parent there. A
facility's parent is one level up or more (a commune station under a district centre,
a district under a province); a move that would put a facility under itself is a cycle
and refused. A CSV import is checked whole here before anything is written: every bad
line is named with its reason, and a file with any bad line changes nothing.

No I/O: the repository loads the facilities, these functions decide, and the repository
writes the plan in one transaction (``tests/consult_server/accounts/test_facility_rules.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass, field

from consult_server.accounts.csv_rows import LineError, csv_rows
from consult_server.accounts.models import LEVEL_ORDER, Facility, Level
from consult_server.accounts.referral_tree import ReferralTree
from consult_server.errors import BadRequest, Conflict, Forbidden

#: A facility's code: what CSV files and the command line match it by.
CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
NAME_MAX = 200
#: The columns of a facility CSV, in this order (a header line names them).
COLUMNS = ("code", "name", "level", "parent_code", "specialties")
#: Lines in one import (a country's facilities, with room to spare).
MAX_LINES = 20_000


@dataclass(frozen=True)
class FacilityDraft:
    """A facility as an admin writes it (a form, a CSV line)."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    specialties: frozenset[str] = frozenset()
    records: bool = True


def _higher(parent: Level, child: Level) -> bool:
    return LEVEL_ORDER.index(parent) > LEVEL_ORDER.index(child)


def managed(tree: ReferralTree, admin_facility: int) -> set[int]:
    """The facilities an admin of ``admin_facility`` manages: theirs and all below."""
    return tree.descendants(admin_facility)


def check_draft(
    draft: FacilityDraft,
    parent: Facility | None,
    known_specialties: Set[str],
) -> None:
    """A draft's own fields and its parent's level; raises BadRequest naming the field."""
    if not CODE.fullmatch(draft.code):
        raise BadRequest(
            "the code is 1-64 lower-case letters, digits, '.', '_' or '-'", "bad_facility_code"
        )
    if not draft.name.strip() or len(draft.name) > NAME_MAX:
        raise BadRequest(f"the name is 1-{NAME_MAX} characters", "bad_facility_name")
    unknown = sorted(draft.specialties - set(known_specialties))
    if unknown:
        raise BadRequest(f"unknown specialty: {', '.join(unknown)}", "unknown_specialty")
    if parent is not None and not _higher(parent.level, draft.level):
        raise BadRequest(
            f"a {draft.level.value} facility cannot be under a {parent.level.value} one",
            "bad_facility_parent",
        )


def check_placement(
    tree: ReferralTree,
    scope: Set[int],
    facility_id: int | None,
    parent_id: int | None,
) -> None:
    """Whether an admin managing ``scope`` may put facility ``facility_id`` (None: a new
    one) under ``parent_id``: both in their scope, and no cycle."""
    if parent_id is None or parent_id not in scope:
        raise Forbidden("choose a parent among the facilities you manage", "facility_out_of_scope")
    if facility_id is not None:
        if facility_id not in scope:
            raise Forbidden("you do not manage this facility", "facility_out_of_scope")
        if parent_id in tree.descendants(facility_id):
            raise Conflict("a facility cannot be moved under itself", "facility_cycle")


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do: the drafts in an order that puts parents first, how
    many are new, changed or the same, and every bad line (any: nothing is written)."""

    drafts: list[FacilityDraft]
    errors: list[LineError]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: The codes of the new or changed drafts (the same ones are not written again).
    changes: frozenset[str] = field(default_factory=frozenset)

    @property
    def ok(self) -> bool:
        return not self.errors


def _specialties(value: str) -> frozenset[str]:
    return frozenset(part.strip() for part in re.split(r"[;|]", value) if part.strip())


def _same(existing: Facility, draft: FacilityDraft, parent_id: int | None) -> bool:
    return (
        existing.name == draft.name
        and existing.level is draft.level
        and existing.parent_id == parent_id
        and existing.specialties == draft.specialties
    )


def plan_import(
    text: str,
    existing: Mapping[str, Facility],
    known_specialties: Set[str],
    scope: Set[int] | None,
) -> ImportPlan:
    """Check a facility CSV (``code,name,level,parent_code,specialties``; specialties
    separated by ';') against the facilities there are, by code. ``scope``: the
    facility ids the importing admin manages (None: all, the command line's)."""
    errors: list[LineError] = []
    rows = csv_rows(text, COLUMNS, MAX_LINES)
    if isinstance(rows, LineError):
        return ImportPlan([], [rows])
    by_id = {f.id: f for f in existing.values()}
    drafts: dict[str, tuple[int, FacilityDraft]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = [c.strip() for c in row] + [""] * (len(COLUMNS) - len(row))
        code = cells[0]
        if len(row) > len(COLUMNS):
            columns = f"{len(row)} columns; expected {len(COLUMNS)}"
            errors.append(LineError(number, code, "csv_columns", columns, str(len(row))))
            continue
        try:
            level = Level(cells[2])
        except ValueError:
            names = ", ".join(level.value for level in Level)
            reason = f"level must be one of {names}"
            errors.append(LineError(number, code, "bad_facility_level", reason, cells[2]))
            continue
        draft = FacilityDraft(code, cells[1], level, cells[3] or None, _specialties(cells[4]))
        if code in drafts:
            first = str(drafts[code][0])
            reason = f"code repeated (line {first})"
            errors.append(LineError(number, code, "csv_repeated_code", reason, first))
            continue
        drafts[code] = (number, draft)
    # Parents: in the file or already there; levels, cycles and scope over the result.
    final_parent: dict[str, str | None] = {c: d.parent_code for c, (_, d) in drafts.items()}
    levels = {c: d.level for c, (_, d) in drafts.items()}
    for code, facility in existing.items():
        if code not in final_parent:
            parent = by_id.get(facility.parent_id) if facility.parent_id is not None else None
            final_parent[code] = parent.code if parent else None
            levels[code] = facility.level
    for code, (number, draft) in drafts.items():
        parent_code = draft.parent_code
        try:
            if parent_code is None:
                if scope is not None:
                    raise BadRequest("a parent code is needed", "parent_missing")
                parent_level = None
            elif parent_code not in levels:
                raise BadRequest(f"no facility with code {parent_code}", "parent_not_found")
            else:
                parent_level = levels[parent_code]
            parent = None
            if parent_level is not None:
                parent = Facility(0, parent_code or "", "", parent_level, None)
            check_draft(draft, parent, known_specialties)
        except (BadRequest, Forbidden, Conflict) as exc:
            detail = {
                "parent_not_found": parent_code or "",
                "unknown_specialty": ", ".join(sorted(draft.specialties - set(known_specialties))),
                "bad_facility_parent": parent_code or "",
            }.get(exc.code, "")
            errors.append(LineError(number, code, exc.code, exc.message, detail))
            continue
        seen = {code}
        ancestor = parent_code
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            ancestor = final_parent.get(ancestor)
        if ancestor is not None:
            errors.append(
                LineError(number, code, "facility_cycle", "the parent codes make a cycle")
            )
            continue
        if scope is not None and not _lands_in(code, final_parent, existing, scope):
            errors.append(
                LineError(
                    number, code, "facility_out_of_scope", "outside the facilities you manage"
                )
            )
            continue
        if scope is not None and code in existing and existing[code].id not in scope:
            errors.append(
                LineError(
                    number, code, "facility_out_of_scope", "an existing facility you do not manage"
                )
            )
    if errors:
        return ImportPlan([], sorted(errors, key=lambda e: e.line))
    ordered = _parents_first(drafts, final_parent)
    created = updated = unchanged = 0
    changes = set()
    for draft in ordered:
        found = existing.get(draft.code)
        if found is None:
            created += 1
            changes.add(draft.code)
            continue
        parent_code = draft.parent_code
        parent_id: int | None = None
        if parent_code is not None:
            # A parent new in this file: certainly a change.
            parent_id = existing[parent_code].id if parent_code in existing else -1
        if _same(found, draft, parent_id):
            unchanged += 1
        else:
            updated += 1
            changes.add(draft.code)
    return ImportPlan(ordered, [], created, updated, unchanged, frozenset(changes))


def _lands_in(
    code: str,
    final_parent: Mapping[str, str | None],
    existing: Mapping[str, Facility],
    scope: Set[int],
) -> bool:
    """Whether a facility's chain of parents reaches a facility in ``scope``."""
    ancestor = final_parent.get(code)
    steps = 0
    while ancestor is not None and steps <= len(final_parent):
        known = existing.get(ancestor)
        if known is not None and known.id in scope:
            return True
        ancestor = final_parent.get(ancestor)
        steps += 1
    return False


def _parents_first(
    drafts: Mapping[str, tuple[int, FacilityDraft]], final_parent: Mapping[str, str | None]
) -> list[FacilityDraft]:
    def depth(code: str) -> int:
        count, ancestor = 0, final_parent.get(code)
        while ancestor is not None and ancestor in drafts:
            count += 1
            ancestor = final_parent.get(ancestor)
        return count

    return [d for _, d in sorted(drafts.values(), key=lambda item: (depth(item[1].code), item[0]))]
