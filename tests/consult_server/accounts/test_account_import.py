"""The doctors' CSV driven directly: every bad line named, scope, matching by username."""

from __future__ import annotations

from consult_server.accounts.account_import import Existing, plan_accounts
from consult_server.accounts.models import Role

HEADER = "username,name,role,facility_code,specialties\n"
FACILITIES = {"huyen-a": 3, "xa-a": 4, "huyen-b": 6}
PROVINCE_A = {3, 4}
SPECIALTIES = {"im", "card"}
EXISTING = {
    "bs.cu": Existing(10, "BS. Cũ", Role.SPECIALIST, 3, frozenset({"im"})),
    "bs.tinh.b": Existing(11, "BS. B", Role.CLINICIAN, 6, frozenset()),
}


def test_every_bad_line_is_named() -> None:
    text = HEADER + (
        "bs.moi,BS. Mới,specialist,huyen-a,card\n"
        "bs moi,BS. Cách,clinician,xa-a,\n"  # 3: a space in the username
        "bs.x,,clinician,xa-a,\n"  # 4: no name
        "bs.y,BS. Y,doctor,xa-a,\n"  # 5: no such role
        "bs.z,BS. Z,clinician,xa-z,\n"  # 6: no such facility
        "bs.w,BS. W,clinician,huyen-b,\n"  # 7: another province's
        "bs.v,BS. V,clinician,xa-a,im\n"  # 8: a clinician's specialty
        "bs.u,BS. U,specialist,huyen-a,dent\n"  # 9: unknown specialty
        "bs.moi,BS. Mới lần hai,specialist,huyen-a,\n"  # 10: repeated
        "bs.tinh.b,BS. B,clinician,xa-a,\n"  # 11: someone else's account
    )
    plan = plan_accounts(text, FACILITIES, PROVINCE_A, SPECIALTIES, EXISTING)
    assert not plan.ok and plan.lines == []
    assert [(e.line, e.error) for e in plan.errors] == [
        (3, "bad_username"),
        (4, "bad_display_name"),
        (5, "bad_role"),
        (6, "parent_not_found"),
        (7, "facility_out_of_scope"),
        (8, "bad_specialties"),
        (9, "unknown_specialty"),
        (10, "csv_repeated_code"),
        (11, "user_exists"),
    ]


def test_matched_by_username_and_the_same_file_again_changes_nothing() -> None:
    text = (
        HEADER + "bs.moi,BS. Mới,specialist,huyen-a,card;im\nbs.cu,BS. Cũ,specialist,huyen-a,im\n"
    )
    plan = plan_accounts(text, FACILITIES, PROVINCE_A, SPECIALTIES, EXISTING)
    assert plan.ok and (plan.created, plan.updated, plan.unchanged) == (1, 0, 1)
    assert plan.changes == {"bs.moi"}
    assert plan.lines[0].specialties == {"card", "im"}
    written = {
        **EXISTING,
        "bs.moi": Existing(12, "BS. Mới", Role.SPECIALIST, 3, frozenset({"card", "im"})),
    }
    again = plan_accounts(text, FACILITIES, PROVINCE_A, SPECIALTIES, written)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    moved = plan_accounts(
        text.replace("bs.cu,BS. Cũ,specialist,huyen-a", "bs.cu,BS. Cũ,specialist,xa-a"),
        FACILITIES,
        PROVINCE_A,
        SPECIALTIES,
        written,
    )
    assert moved.changes == {"bs.cu"} and moved.updated == 1
