"""The referral tree: which facility refers to which, and what each one staffs.

Pure data and walks over it (no database, no I/O): ``accounts.directory`` builds one
from the store; the consults' routing (``consults/routing.py``) reads it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set


class ReferralTree:
    """Parent links and the specialties staffed at each facility."""

    def __init__(
        self,
        parents: Mapping[int, int | None],
        specialties: Mapping[int, Set[str]],
    ) -> None:
        self._parents = dict(parents)
        self._specialties = {k: frozenset(v) for k, v in specialties.items()}

    def ancestors(self, facility_id: int) -> list[int]:
        """Facilities above ``facility_id``, nearest first (cycles are cut)."""
        chain: list[int] = []
        seen = {facility_id}
        current = self._parents.get(facility_id)
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = self._parents.get(current)
        return chain

    def descendants(self, facility_id: int) -> set[int]:
        """``facility_id`` and every facility under it."""
        children: dict[int, list[int]] = {}
        for child, parent in self._parents.items():
            if parent is not None:
                children.setdefault(parent, []).append(child)
        found = {facility_id}
        stack = [facility_id]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def levels_for(self, facility_id: int, specialty: str) -> list[int]:
        """Ancestors staffed for ``specialty``, nearest first."""
        return [f for f in self.ancestors(facility_id) if specialty in self._specialties.get(f, ())]
