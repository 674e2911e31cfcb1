"""Which facilities a consult request reaches, from the referral tree alone.

A request goes up the clinician's facility's ancestors, keeping only the facilities
that have a specialist of the requested specialty ("levels"). Routine requests reach
the nearest level; urgent and emergency requests reach the nearest two, and one more
for each escalation. Pure functions over plain mappings: no database, no I/O.
"""

from __future__ import annotations

from consult_server.accounts.referral_tree import ReferralTree
from consult_server.consults.lifecycle import Urgency


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
