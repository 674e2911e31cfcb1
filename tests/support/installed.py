"""consult-server as users install it: the wheel built from this checkout, installed
into a fresh virtual environment outside the checkout (no editable install, no
``PYTHONPATH``), so a file the package leaves out fails a test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: What the server serves or reads from the package at run time.
SERVED = ("web/templates", "web/translations", "web/static", "consult_server/store/migrations")


def build_wheel(out: Path) -> Path:
    """Build from a copy of the files git would carry (tracked or not ignored): an
    in-tree build would reuse a stale ``build/`` and leave ``*.egg-info`` behind."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode()
    source = out / "source"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        check=True,
        timeout=600,
        cwd=source,
    )
    return next(out.glob("consult_server-*.whl"))


def served_files() -> set[str]:
    """Every file of the checkout that the package must carry (paths relative to ROOT)."""
    files = set()
    for folder in SERVED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                files.add(path.relative_to(ROOT).as_posix())
    return files


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def install(wheel: Path, venv: Path) -> Path:
    """A new venv holding the wheel and its dependencies; returns its console script."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        timeout=900,
        cwd=venv,
    )
    return venv / "bin" / "consult-server"
