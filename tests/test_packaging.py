"""The wheel holds every file the server serves (the vendored socket.io client was left
out once: its folder name is not a package name, and every live page was dead)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.installed import served_files, wheel_files

pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_file_the_server_serves(wheel: Path) -> None:
    expected = served_files()
    assert "web/static/vendor/socket.io/socket.io.esm.min.js" in expected
    assert "web/static/vendor/socket.io/LICENSE" in expected
    missing = expected - wheel_files(wheel)
    assert not missing, sorted(missing)
