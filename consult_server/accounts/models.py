"""Plain records read from the store (no behaviour, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CLINICIAN = "clinician"
    SPECIALIST = "specialist"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Level(StrEnum):
    COMMUNE = "commune"
    DISTRICT = "district"
    PROVINCIAL = "provincial"
    CENTRAL = "central"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    facility_id: int
    language: str | None
    specialties: frozenset[str]


#: Levels from the bottom of the referral tree up: a facility's parent is higher.
LEVEL_ORDER = (Level.COMMUNE, Level.DISTRICT, Level.PROVINCIAL, Level.CENTRAL)


@dataclass(frozen=True)
class Facility:
    id: int
    code: str
    name: str
    level: Level
    parent_id: int | None
    #: Its consults are recorded (with the patient's consent).
    records: bool = True
    #: The specialties it offers (declared by an admin; routing follows the specialists
    #: on its staff).
    specialties: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Specialty:
    code: str
    name_vi: str
    name_en: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_vi


@dataclass(frozen=True)
class LoginSession:
    """A signed-in browser: whose, the CSRF token its forms echo, and until when."""

    user_id: int
    csrf_token: str
    #: When it ends unless used again (the idle limit, capped by the absolute one).
    expires_at: float
    #: When it ends however active.
    ends_at: float = float("inf")
    #: Its screen is locked (nobody at the PC): nothing of a patient until unlocked.
    locked: bool = False
