"""Which facilities a consult request reaches, from the referral tree alone.

A request goes up the clinician's facility's ancestors, keeping only the facilities
that have a specialist of the requested specialty ("levels"). Routine requests reach
the nearest level; urgent and emergency requests reach the nearest two, and one more
for each escalation. Pure functions over plain mappings: no database, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from signaling.consult import Urgency


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


def reach(urgency: Urgency, tier: int) -> int:
    """How many levels a request of this urgency reaches after ``tier`` escalations."""
    return 1 if urgency is Urgency.ROUTINE else 2 + tier


def route(
    tree: ReferralTree, facility_id: int, specialty: str, urgency: Urgency, tier: int
) -> list[int]:
    """Facilities the request reaches now, nearest first."""
    return tree.levels_for(facility_id, specialty)[: reach(urgency, tier)]


def can_escalate(
    tree: ReferralTree, facility_id: int, specialty: str, urgency: Urgency, tier: int
) -> bool:
    """Whether one more escalation would reach a facility not yet reached."""
    if urgency is Urgency.ROUTINE:
        return False
    return len(tree.levels_for(facility_id, specialty)) > reach(urgency, tier)
