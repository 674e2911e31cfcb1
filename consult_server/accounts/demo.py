"""Demo data: a small referral tree and one account per role (idempotent)."""

from __future__ import annotations

from consult_server.accounts.directory import Accounts
from consult_server.accounts.models import Level, Role

SPECIALTIES = [
    ("internal-medicine", "Nội khoa", "Internal medicine"),
    ("cardiology", "Tim mạch", "Cardiology"),
    ("pediatrics", "Nhi khoa", "Pediatrics"),
    ("obstetrics", "Sản khoa", "Obstetrics"),
    ("radiology", "Chẩn đoán hình ảnh", "Radiology"),
]


async def load_demo(
    accounts: Accounts, password: str, password_hash: str | None = None
) -> dict[str, int]:
    """Create or refresh the demo tree and users; return facility ids by code.

    The demo accounts share one password, so they share one argon2 hash (each hash
    costs ~50 ms of a core): made here once, or ``password_hash`` if given."""
    shared_hash = password_hash or await accounts.passwords.hash(password)
    for code, name_vi, name_en in SPECIALTIES:
        await accounts.add_specialty(code, name_vi, name_en)
    central = await accounts.add_facility(
        "demo-central", "Bệnh viện Trung ương Demo", Level.CENTRAL, None
    )
    provincial = await accounts.add_facility(
        "demo-provincial", "Bệnh viện Đa khoa tỉnh Demo", Level.PROVINCIAL, central
    )
    district = await accounts.add_facility(
        "demo-district", "Trung tâm Y tế huyện Demo", Level.DISTRICT, provincial
    )
    commune1 = await accounts.add_facility(
        "demo-commune-1", "Trạm Y tế xã Demo 1", Level.COMMUNE, district
    )
    commune2 = await accounts.add_facility(
        "demo-commune-2", "Trạm Y tế xã Demo 2", Level.COMMUNE, district
    )
    # What each facility offers (the specialists below staff them).
    await accounts.store.offer(district, {"internal-medicine"})
    await accounts.store.offer(central, {"internal-medicine", "cardiology"})
    users = [
        ("clinician.demo", "BS. Nguyễn Văn An", Role.CLINICIAN, commune1, frozenset[str]()),
        ("clinician2.demo", "YS. Trần Thị Bình", Role.CLINICIAN, commune2, frozenset[str]()),
        (
            "specialist.demo",
            "BS. Lê Minh Châu",
            Role.SPECIALIST,
            district,
            frozenset({"internal-medicine"}),
        ),
        (
            "specialist.central",
            "PGS. Phạm Quốc Dũng",
            Role.SPECIALIST,
            central,
            frozenset({"internal-medicine", "cardiology"}),
        ),
        ("supervisor.demo", "Giám sát Demo", Role.SUPERVISOR, provincial, frozenset[str]()),
        ("admin.demo", "Quản trị Demo", Role.ADMIN, central, frozenset[str]()),
    ]
    for username, name, role, facility, specialties in users:
        await accounts.create_user(
            username,
            password,
            role,
            facility,
            name,
            specialties,
            replace=True,
            password_hash=shared_hash,
        )
    return {
        "central": central,
        "provincial": provincial,
        "district": district,
        "commune1": commune1,
        "commune2": commune2,
    }
