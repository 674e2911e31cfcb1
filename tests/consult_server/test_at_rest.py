"""Data at rest: private files from the first start, loose ones named or refused, and
signing secrets that are really random."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from consult_server.at_rest import loose_paths
from consult_server.config import ensure_data_dir, load_config, weakness
from consult_server.errors import ConfigError
from tests.consult_server.test_cli import cli
from tests.support.server import run_server


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_the_server_writes_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual login shell's
    try:
        assert cli(tmp_path, "demo", "--password", "pw-12345678").returncode == 0
    finally:
        os.umask(old)
    data = tmp_path / "data"
    assert mode(data) == 0o700
    for path in data.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert (data / "consult.sqlite3").exists()
    assert loose_paths(data) == (0, [])


def test_loose_files_are_named_or_refused(tmp_path: Path) -> None:
    assert cli(tmp_path, "demo", "--password", "pw-12345678").returncode == 0
    database = tmp_path / "data" / "consult.sqlite3"
    database.chmod(0o644)
    count, named = loose_paths(tmp_path / "data")
    assert count == 1 and named == [f"{database} (0644)"]
    env_refuse = {"CONSULT_SECURITY_LOOSE_FILES": "refuse"}
    with pytest.raises(RuntimeError) as failed, run_server(tmp_path, env_refuse):
        pass
    assert "consult-server did not start" in str(failed.value)
    assert "security.loose_files" in str(failed.value) and "consult.sqlite3 (0644)" in str(
        failed.value
    )
    with run_server(tmp_path) as server:  # "warn": it starts, and says which
        assert "can be read by other users" in server.log()
        assert "consult.sqlite3 (0644)" in server.log()


@pytest.mark.parametrize(
    "secret",
    ["a" * 32, "ab" * 20, "0123456789" * 4, "short-but-varied-!@#"],
)
def test_weak_secrets_are_refused(tmp_path: Path, secret: str) -> None:
    assert weakness(secret)
    with pytest.raises(ConfigError) as refused:
        load_config(None, env={"CONSULT_SECURITY_SECRET_KEY": secret})
    assert refused.value.key == "security.secret_key"
    assert secret not in str(refused.value)  # a secret is never printed


def test_a_generated_secret_is_strong(tmp_path: Path) -> None:
    config = ensure_data_dir(load_config(None, env={}, overrides={"data.dir": str(tmp_path)}))
    assert weakness(config.security.secret_key) is None
    assert mode(tmp_path / "secret_key") == 0o600


def test_a_broken_secret_key_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "secret_key").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError) as refused:
        ensure_data_dir(load_config(None, env={}, overrides={"data.dir": str(tmp_path)}))
    assert "a link to nothing" in str(refused.value)
