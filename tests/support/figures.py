"""Consults with known figures, written straight into the store: for the figures' tests
(which compute the expected numbers from these records, not from SQL) and for
``bench.stats`` (a national year). Many rows per statement (executemany)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text

from consult_server.store.db import Database

STATES = ("ended", "ended", "ended", "cancelled", "expired", "accepted", "requested")
DISPOSITIONS = ("commune", "follow_up", "refer", "transfer")


@dataclass(frozen=True)
class Seeded:
    id: int
    facility_id: int
    specialty: str
    created_at: float
    state: str
    tier: int
    accepted_at: float | None
    started_at: float | None
    ended_at: float | None
    disposition: str | None
    images: int
    recorded_seconds: float


def generate(
    count: int,
    facilities: Sequence[int],
    specialties: Sequence[str],
    start: float,
    span: float,
    seed: int = 7,
    first_id: int = 1,
) -> list[Seeded]:
    """``count`` consults filed between ``start`` and ``start + span``."""
    rng = random.Random(seed)
    made = []
    for i in range(count):
        created = start + rng.random() * span
        state = rng.choice(STATES)
        accepted = created + rng.randint(5, 3600) if state in ("ended", "accepted") else None
        began = accepted + 30 if state == "ended" and accepted is not None else None
        ended = began + rng.randint(60, 2400) if began is not None else None
        decided = rng.choice(DISPOSITIONS) if state == "ended" and rng.random() < 0.7 else None
        recorded = (
            (ended - began) if began is not None and ended is not None and i % 3 == 0 else 0.0
        )
        made.append(
            Seeded(
                first_id + i,
                rng.choice(list(facilities)),
                rng.choice(list(specialties)),
                created,
                state,
                rng.choice((0, 0, 0, 1, 2)),
                accepted,
                began,
                ended,
                decided,
                rng.choice((0, 0, 1, 3)),
                recorded,
            )
        )
    return made


async def insert(
    db: Database, consults: Sequence[Seeded], clinician_id: int, specialist_id: int
) -> None:
    async with db.atomic() as tx:
        await tx.conn.execute(
            text(
                "INSERT INTO consults (id, clinician_id, facility_id, specialty_code, urgency,"
                " summary, state, tier, created_at, expires_at, accepted_by, accepted_at,"
                " started_at, ended_at) VALUES (:id, :clinician, :facility, :specialty,"
                " 'routine', 'ho', :state, :tier, :created, :expires, :by, :accepted,"
                " :started, :ended)"
            ),
            [
                {
                    "id": c.id,
                    "clinician": clinician_id,
                    "facility": c.facility_id,
                    "specialty": c.specialty,
                    "state": c.state,
                    "tier": c.tier,
                    "created": c.created_at,
                    "expires": c.created_at + 3600,
                    "by": specialist_id if c.accepted_at else None,
                    "accepted": c.accepted_at,
                    "started": c.started_at,
                    "ended": c.ended_at,
                }
                for c in consults
            ],
        )
        notes = [c for c in consults if c.disposition]
        if notes:
            await tx.conn.execute(
                text(
                    "INSERT INTO consult_notes (consult_id, version, author_id, created_at,"
                    " updated_at, recommendation, disposition, signed_at, sha256)"
                    " VALUES (:consult, 1, :author, :at, :at, 'x', :disposition, :at, 'h')"
                ),
                [
                    {
                        "consult": c.id,
                        "author": specialist_id,
                        "at": c.ended_at,
                        "disposition": c.disposition,
                    }
                    for c in notes
                ],
            )
        files = [(c, n) for c in consults for n in range(c.images)]
        if files:
            await tx.conn.execute(
                text(
                    "INSERT INTO consult_files (consult_id, uploaded_by, uploaded_at, name,"
                    " kind, size, sha256) VALUES (:consult, :by, :at, 'x.png', 'png', 1, :sha)"
                ),
                [
                    {"consult": c.id, "by": clinician_id, "at": c.created_at, "sha": f"{c.id}-{n}"}
                    for c, n in files
                ],
            )
        recorded = [c for c in consults if c.recorded_seconds]
        if recorded:
            await tx.conn.execute(
                text(
                    "INSERT INTO recording_sessions (consult_id, started_at, ended_at)"
                    " VALUES (:consult, :started, :ended)"
                ),
                [{"consult": c.id, "started": c.started_at, "ended": c.ended_at} for c in recorded],
            )
        if tx.postgresql:
            await tx.execute(
                "SELECT setval(pg_get_serial_sequence('consults', 'id'),"
                " (SELECT MAX(id) FROM consults))"
            )
