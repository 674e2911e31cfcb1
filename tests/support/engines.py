"""Finding the real engines the tests need (Chromium, redis-server, PostgreSQL).

Locally a missing engine skips its tests with a reason; under CI=true it fails them,
so a CI run can never go green by silently skipping the browser or Redis tests.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

from tests.support.postgres import find_bindir

CHROMIUM = "/usr/bin/chromium"


def require_binary(path_or_name: str, what: str) -> str:
    found = shutil.which(path_or_name)
    if found is None:
        missing(f"{what} ({path_or_name}) is not installed")
    return found


def missing(message: str) -> NoReturn:
    """Skip locally, fail under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " - CI must install it (.ci/run)", pytrace=False)
    pytest.skip(message)


def require_postgres() -> str:
    """The directory of PostgreSQL's server binaries."""
    bindir = find_bindir()
    if bindir is None:
        missing("PostgreSQL (apt-get install postgresql) is not installed")
    return str(bindir)
