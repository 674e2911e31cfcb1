"""Recorded sessions in the catalog, with real stream-copied files (for review tests).

The files are written by the real ``RecordingWriter`` from pre-encoded VP8, and
catalogued the way the room does it (``recording_sessions`` + one ``recordings`` row per
participant with size and SHA-256): what the review pages and the file handler serve.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from consult_server.store.db import Database
from recordings.files import recording_path, sha256_of
from recordings.writer import RecordingWriter
from tests.support.encoded import vp8_frames


@dataclass(frozen=True)
class Seeded:
    session_id: int
    recording_ids: list[int]
    paths: list[Path]


def write_file(path: Path, seconds: float = 2.0, offset_ms: int = 0) -> int:
    """A real VP8 WebM file of ``seconds`` at 30 fps; returns frames written."""
    frames = vp8_frames(count=60, gop=30)
    writer = RecordingWriter(path, origin=time.monotonic() - offset_ms / 1000, audio=False)
    count = int(seconds * 30)
    for index in range(count):
        frame = frames[index % len(frames)]
        writer.push("video", frame.data, index * 3000, frame.keyframe)
    writer.close()
    return writer.stats.frames_written


async def insert_consult(
    db: Database, clinician_id: int, facility_id: int, specialty: str = "internal-medicine"
) -> int:
    now = time.time()
    return await db.insert(
        "INSERT INTO consults (clinician_id, facility_id, specialty_code, urgency, summary,"
        " state, created_at, expires_at, recording_consent)"
        " VALUES (?, ?, ?, 'routine', 'ho kéo dài', 'ended', ?, ?, 1) RETURNING id",
        (clinician_id, facility_id, specialty, now, now + 600),
    )


async def seed_session(
    db: Database,
    directory: Path,
    consult_id: int,
    people: list[tuple[int, str]],
    started_at: float | None = None,
    seconds: float = 2.0,
    status: str = "complete",
) -> Seeded:
    """A finished recorded session of ``people`` (user id, role) in ``consult_id``."""
    started = time.time() if started_at is None else started_at
    session_id = await db.insert(
        "INSERT INTO recording_sessions (consult_id, started_at, ended_at) VALUES (?, ?, ?)"
        " RETURNING id",
        (consult_id, started, started + seconds),
    )
    ids, paths = [], []
    for user_id, role in people:
        path = recording_path(directory / f"consult-{consult_id}" / f"s{session_id}", user_id)
        frames = await asyncio.to_thread(write_file, path, seconds)
        digest, size = await asyncio.to_thread(sha256_of, path)
        recording_id = await db.insert(
            "INSERT INTO recordings (consult_id, session_id, user_id, role, path, started_at,"
            " ended_at, size, sha256, frames, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " RETURNING id",
            (
                consult_id,
                session_id,
                user_id,
                role,
                str(path),
                started,
                started + seconds,
                size,
                digest,
                frames,
                status,
            ),
        )
        ids.append(recording_id)
        paths.append(path)
    return Seeded(session_id, ids, paths)
