"""The composition root's own decisions."""

from __future__ import annotations

from pathlib import Path

from consult_server.app import create_app
from consult_server.consults.rooms import ConsultRooms
from signaling.handlers import SIGNALING
from tests.support.inproc import make_config


def recordings_enabled(tmp: Path, **overrides: object) -> bool:
    app = create_app(make_config(tmp, **overrides), ticker=False)
    catalog = app[SIGNALING].kinds["consult"].rooms
    assert isinstance(catalog, ConsultRooms)
    return catalog.recordings.enabled


def test_recording_is_on_by_default_and_off_when_the_codec_cannot_be_recorded(
    tmp_path: Path,
) -> None:
    assert recordings_enabled(tmp_path)
    # The writer stream-copies VP8 only: an H.264 deployment records nothing rather than
    # files that do not play.
    assert not recordings_enabled(tmp_path, **{"media.video_codec": "H264"})
    assert not recordings_enabled(tmp_path, **{"recordings.enabled": False})
