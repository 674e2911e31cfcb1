"""The referral tree's rules for admins, driven directly: placements, cycles, scope,
and a CSV import checked whole (every bad line named, parents first, the same file
twice changes nothing)."""

from __future__ import annotations

import pytest

from consult_server.accounts.facility_rules import (
    FacilityDraft,
    check_draft,
    check_placement,
    plan_import,
)
from consult_server.accounts.models import Facility, Level
from consult_server.accounts.referral_tree import ReferralTree
from consult_server.errors import ClientError

#: central(1) > provincial(2) > district(3) > commune(4); another province (5) > (6).
FACILITIES = {
    f.code: f
    for f in (
        Facility(1, "tw", "Trung ương", Level.CENTRAL, None),
        Facility(2, "tinh-a", "Tỉnh A", Level.PROVINCIAL, 1),
        Facility(3, "huyen-a", "Huyện A", Level.DISTRICT, 2, specialties=frozenset({"im"})),
        Facility(4, "xa-a", "Xã A", Level.COMMUNE, 3),
        Facility(5, "tinh-b", "Tỉnh B", Level.PROVINCIAL, 1),
        Facility(6, "huyen-b", "Huyện B", Level.DISTRICT, 5),
    )
}
TREE = ReferralTree({f.id: f.parent_id for f in FACILITIES.values()}, {})
SPECIALTIES = {"im", "card"}
PROVINCE_A = TREE.descendants(2)
HEADER = "code,name,level,parent_code,specialties\n"


def test_a_move_under_itself_is_a_cycle() -> None:
    with pytest.raises(ClientError) as refused:
        check_placement(TREE, PROVINCE_A, 3, 4)  # the district under its own commune
    assert refused.value.code == "facility_cycle"
    check_placement(TREE, TREE.descendants(1), 3, 5)  # to the other province: fine


@pytest.mark.parametrize(("facility", "parent"), [(None, 5), (6, 2), (None, None), (2, 1)], ids=str)
def test_a_province_admin_places_only_within_the_province(
    facility: int | None, parent: int | None
) -> None:
    # (2, 1): their own province under the central level it already sits under: the
    # central hospital is not theirs.
    with pytest.raises(ClientError) as refused:
        check_placement(TREE, PROVINCE_A, facility, parent)
    assert refused.value.code == "facility_out_of_scope"


@pytest.mark.parametrize(
    ("draft", "parent", "code"),
    [
        (FacilityDraft("Bad Code", "X", Level.COMMUNE, None), None, "bad_facility_code"),
        (FacilityDraft("x", " ", Level.COMMUNE, None), None, "bad_facility_name"),
        (
            FacilityDraft("x", "X", Level.COMMUNE, None, frozenset({"dent"})),
            None,
            "unknown_specialty",
        ),
        (
            FacilityDraft("x", "X", Level.PROVINCIAL, "huyen-a"),
            FACILITIES["huyen-a"],
            "bad_facility_parent",
        ),
        (
            FacilityDraft("x", "X", Level.DISTRICT, "huyen-a"),
            FACILITIES["huyen-a"],
            "bad_facility_parent",
        ),
    ],
)
def test_a_bad_draft_names_its_fault(
    draft: FacilityDraft, parent: Facility | None, code: str
) -> None:
    with pytest.raises(ClientError) as refused:
        check_draft(draft, parent, SPECIALTIES)
    assert refused.value.code == code


def test_every_bad_line_is_named_and_nothing_is_planned() -> None:
    text = HEADER + (
        "xa-b1,Xã B1,commune,huyen-b,\n"  # fine on its own
        "xa-b2,Xã B2,village,huyen-b,\n"  # 3: no such level
        "xa-b3,Xã B3,commune,huyen-z,\n"  # 4: no such parent
        "xa-b1,Xã B1 again,commune,huyen-b,\n"  # 5: repeated
        "xa-b4,Xã B4,commune,huyen-b,dent\n"  # 6: unknown specialty
        "huyen-c,Huyện C,district,xa-b1,\n"  # 7: a district under a commune
        "p,Loop P,provincial,q,\n"  # 8, 9: each other's parent
        "q,Loop Q,provincial,p,\n"
        "xa-b5,Xã B5,commune,huyen-b,im,extra\n"  # 10: six columns
    )
    plan = plan_import(text, FACILITIES, SPECIALTIES, TREE.descendants(5))
    assert not plan.ok and plan.drafts == []
    found = [(e.line, e.error) for e in plan.errors]
    assert found == [
        (3, "bad_facility_level"),
        (4, "parent_not_found"),
        (5, "csv_repeated_code"),
        (6, "unknown_specialty"),
        (7, "bad_facility_parent"),
        (8, "bad_facility_parent"),
        (9, "bad_facility_parent"),
        (10, "csv_columns"),
    ]
    assert plan.errors[1].detail == "huyen-z"


def test_parent_codes_that_loop_are_refused_on_every_line_of_the_loop() -> None:
    # Levels rise towards the root, so a loop always breaks the level rule somewhere;
    # the cycle check stands behind it.
    text = HEADER + "p,P,provincial,q,\nq,Q,central,p,\n"
    plan = plan_import(text, FACILITIES, SPECIALTIES, None)
    assert not plan.ok and {e.line for e in plan.errors} == {2, 3}
    assert {e.error for e in plan.errors} <= {"facility_cycle", "bad_facility_parent"}


def test_scope_keeps_a_province_admin_in_their_province() -> None:
    text = HEADER + "xa-b9,Xã B9,commune,huyen-b,\nhuyen-a,Huyện A,district,tinh-a,im\n"
    plan = plan_import(text, FACILITIES, SPECIALTIES, TREE.descendants(5))
    assert [(e.line, e.error) for e in plan.errors] == [(3, "facility_out_of_scope")]


def test_a_header_is_required() -> None:
    plan = plan_import("xa,Xã,commune,huyen-a,\n", FACILITIES, SPECIALTIES, None)
    assert [e.error for e in plan.errors] == ["csv_header"]


def test_parents_come_first_and_the_same_file_again_changes_nothing() -> None:
    text = HEADER + (
        "xa-n,Xã N,commune,huyen-n,\n"
        "huyen-n,Huyện N,district,tinh-a,im;card\n"
        "huyen-a,Huyện A,district,tinh-a,im\n"  # as it is
        "xa-a,Xã A (mới),commune,huyen-a,\n"  # renamed
    )
    plan = plan_import(text, FACILITIES, SPECIALTIES, PROVINCE_A)
    assert plan.ok
    assert [d.code for d in plan.drafts] == ["huyen-n", "huyen-a", "xa-n", "xa-a"]
    assert (plan.created, plan.updated, plan.unchanged) == (2, 1, 1)
    assert plan.changes == {"huyen-n", "xa-n", "xa-a"}
    assert plan.drafts[0].specialties == {"im", "card"}
    # As if written: the same file finds everything as it is.
    written = dict(FACILITIES)
    ids = {"huyen-n": 7, "xa-n": 8}
    for draft in plan.drafts:
        parent = written[draft.parent_code] if draft.parent_code else None
        old = written.get(draft.code)
        written[draft.code] = Facility(
            old.id if old else ids[draft.code],
            draft.code,
            draft.name,
            draft.level,
            parent.id if parent else None,
            specialties=draft.specialties,
        )
    again = plan_import(text, written, SPECIALTIES, PROVINCE_A | {7, 8})
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.changes == frozenset()
