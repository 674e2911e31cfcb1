"""Real files of every kind, mutated by hypothesis (bytes flipped, cut, spliced, doubled,
zeroed), through every parser an upload meets: the sniffing, the checks and the
scrubbing (``prepare``), then the preview. Each comes out kept or refused with a code,
never another exception, and leaves no scratch file behind.

A fixed budget in CI (``CONSULT_FUZZ_EXAMPLES``, 120 by default: about 20 per kind); set
it higher for a longer run (docs/security.md).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consult_server.attachments.inspect import Refused
from consult_server.attachments.intake import prepare
from consult_server.attachments.sniff import Kind, sniff
from consult_server.attachments.storage import BlobStore
from consult_server.attachments.thumbnails import make_thumbnail
from tests.support import sample_files

EXAMPLES = int(os.environ.get("CONSULT_FUZZ_EXAMPLES", "120"))
SEEDS = {
    "jpeg": sample_files.jpeg_with_gps(),
    "png": sample_files.png_bytes("x"),
    "dicom": sample_files.ct_dicom(),
    "mp4": sample_files.phone_clip("mp4"),
    "webm": sample_files.clip_bytes("webm", frames=4),
    "pdf": sample_files.pdf_bytes(),
}
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "cut", "splice", "double", "zero"]),
        st.integers(min_value=0, max_value=1 << 30),
        st.integers(min_value=1, max_value=255),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for action, where, value in edits:
        if not out:
            break
        at = where % len(out)
        if action == "flip":
            out[at] ^= value
        elif action == "cut":
            del out[at:]
        elif action == "splice":
            out[at:at] = out[: value * 16]
        elif action == "double":
            out[at:at] = out[at : at + value * 64]
        else:
            out[at : at + value] = bytes(len(out[at : at + value]))
    return bytes(out)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(seed=st.sampled_from(sorted(SEEDS)), edits=EDITS)
def test_mutated_files_are_kept_or_refused(seed: str, edits: list[tuple[str, int, int]]) -> None:
    data = mutate(SEEDS[seed], edits)
    kind = sniff(data[:4096])
    if kind is None:
        return  # refused at the door as "unsupported_file"
    root = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        blobs = BlobStore(root)
        blobs.prepare()
        received = blobs.incoming / "received"
        received.write_bytes(data)
        try:
            prepared = prepare(blobs, received, hashlib.sha256(data).hexdigest(), kind)
        except Refused as refused:
            assert refused.code and refused.message
            leftovers = {p.name for p in blobs.incoming.iterdir()}
            assert leftovers == {"received"}, f"a refused {kind} left {leftovers}"
            return
        assert prepared.path.exists() and prepared.size == prepared.path.stat().st_size
        if kind is not Kind.PDF:
            thumbnail = make_thumbnail(prepared.path, kind)
            assert thumbnail is None or thumbnail.startswith(b"\xff\xd8")
    finally:
        shutil.rmtree(root, ignore_errors=True)
