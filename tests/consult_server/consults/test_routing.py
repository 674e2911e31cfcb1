"""Referral routing over a small tree: nearest staffed level first, urgency widens."""

from __future__ import annotations

from consult_server.accounts.referral_tree import ReferralTree
from consult_server.consults.lifecycle import Urgency
from consult_server.consults.routing import can_escalate, route

# central(1) <- provincial(2) <- district(3) <- commune(4), commune(5)
PARENTS = {1: None, 2: 1, 3: 2, 4: 3, 5: 3}
STAFFED = {1: {"internal-medicine", "cardiology"}, 3: {"internal-medicine"}, 2: {"pediatrics"}}
TREE = ReferralTree(PARENTS, STAFFED)


def test_ancestors_nearest_first_and_descendants() -> None:
    assert TREE.ancestors(4) == [3, 2, 1]
    assert TREE.ancestors(1) == []
    assert TREE.descendants(3) == {3, 4, 5}
    assert TREE.descendants(1) == {1, 2, 3, 4, 5}


def test_routine_reaches_the_nearest_staffed_level_only() -> None:
    assert route(TREE, 4, "internal-medicine", Urgency.ROUTINE, 0) == [3]
    assert not can_escalate(TREE, 4, "internal-medicine", Urgency.ROUTINE, 0)


def test_levels_without_the_specialty_are_skipped() -> None:
    assert route(TREE, 4, "cardiology", Urgency.ROUTINE, 0) == [1]
    assert route(TREE, 4, "pediatrics", Urgency.ROUTINE, 0) == [2]
    assert route(TREE, 4, "obstetrics", Urgency.EMERGENCY, 0) == []


def test_urgent_reaches_the_next_level_too_and_escalates_until_none_left() -> None:
    tree = ReferralTree(PARENTS, {1: {"x"}, 2: {"x"}, 3: {"x"}})
    assert route(tree, 4, "x", Urgency.URGENT, 0) == [3, 2]
    assert can_escalate(tree, 4, "x", Urgency.URGENT, 0)
    assert route(tree, 4, "x", Urgency.EMERGENCY, 1) == [3, 2, 1]
    assert not can_escalate(tree, 4, "x", Urgency.EMERGENCY, 1)


def test_a_cycle_in_the_tree_does_not_hang() -> None:
    tree = ReferralTree({1: 2, 2: 1, 3: 1}, {})
    assert tree.ancestors(3) == [1, 2]
