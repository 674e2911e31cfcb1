"""Finding the real engines the tests need (Chromium, redis-server).

Locally a missing engine skips its tests with a reason; under CI=true it fails them,
so a CI run can never go green by silently skipping the browser or Redis tests.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = "/usr/bin/chromium"


def require_binary(path_or_name: str, what: str) -> str:
    found = shutil.which(path_or_name)
    if found is None:
        message = f"{what} ({path_or_name}) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " - CI must install it (.ci/run)", pytrace=False)
        pytest.skip(message)
    return found
