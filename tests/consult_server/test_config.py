"""Settings: file, environment and overrides; bad values name key, value and expectation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from consult_server.config import ensure_data_dir, load_config
from consult_server.errors import ConfigError


def test_defaults_and_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(
        '[server]\nport = 9000\nhost = "10.0.0.9"\n[consults]\nroom_grace_seconds = 5\n'
    )
    config = load_config(toml, env={"CONSULT_SERVER_PORT": "9100", "CONSULT_DATA_DIR": "/x"})
    assert (config.server.port, config.server.host, config.data.dir) == (9100, "10.0.0.9", "/x")
    assert config.consults.room_grace_seconds == 5
    config = load_config(toml, env={"CONSULT_SERVER_PORT": "9100"}, overrides={"server.port": 9200})
    assert config.server.port == 9200
    assert load_config(None, env={}).i18n.default_language == "vi"
    assert (
        load_config(None, env={"CONSULT_RECORDINGS_ENABLED": "false"}).recordings.enabled is False
    )
    assert load_config(None, env={}).recordings.enabled is True


@pytest.mark.parametrize(
    ("env", "key", "expected"),
    [
        ({"CONSULT_SERVER_PORT": "eighty"}, "server.port", "an integer"),
        ({"CONSULT_SERVER_PORT": "70000"}, "server.port", "TCP port"),
        (
            {"CONSULT_CONSULTS_EXPIRE_AFTER_SECONDS": "0"},
            "consults.expire_after_seconds",
            "positive",
        ),
        ({"CONSULT_I18N_DEFAULT_LANGUAGE": "fr"}, "i18n.default_language", "one of vi, en"),
        ({"CONSULT_SERVER_EVENT_LOOP": "trio"}, "server.event_loop", "one of uvloop, asyncio"),
        ({"CONSULT_RECORDINGS_ENABLED": "maybe"}, "recordings.enabled", "true or false"),
        ({"CONSULT_MEDIA_UDP_PORT_MIN": "50000"}, "media.udp_port_min", "1024 <= min <= max"),
        ({"CONSULT_MEDIA_HOST_ADDRESSES": "not-an-ip"}, "media.host_addresses", "an IP address"),
        (
            {"CONSULT_SERVER_TRUSTED_PROXIES": "10.0.0.1, nginx"},
            "server.trusted_proxies",
            "an IP address or network",
        ),
        ({"CONSULT_RECORDINGS_RETENTION_DAYS": "-3"}, "recordings.retention_days", "non-negative"),
        ({"CONSULT_SECURITY_SECRET_KEY": "short"}, "security.secret_key", "at least 32 bytes"),
        ({"CONSULT_SECURITY_IDLE_MINUTES": "0"}, "security.idle_minutes", "a positive number"),
        ({"CONSULT_SECURITY_IDLE_MINUTES": "nan"}, "security.idle_minutes", "a positive number"),
        ({"CONSULT_SECURITY_IDLE_MINUTES": "soon"}, "security.idle_minutes", "a number"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert key in str(info.value) and expected in str(info.value)
    assert "short" not in str(info.value), "a secret must never be echoed"


def test_unknown_key_in_file_is_refused(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[server]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"server\.prot"):
        load_config(toml, env={})


def test_secret_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    config = ensure_data_dir(load_config(None, env={}, overrides={"data.dir": str(tmp_path / "d")}))
    key_file = tmp_path / "d" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(config.secret_bytes()) >= 32
    again = ensure_data_dir(load_config(None, env={}, overrides={"data.dir": str(tmp_path / "d")}))
    assert again.secret_bytes() == config.secret_bytes()


def test_cli_stops_on_a_bad_setting_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "consult_server", "serve"],
        env={"CONSULT_SERVER_PORT": "abc", "CONSULT_DATA_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "server.port" in result.stderr and "'abc'" in result.stderr


def test_the_database_url_as_an_operator_writes_it() -> None:
    default = load_config(None, env={"CONSULT_DATA_DIR": "/srv/consult"})
    assert default.database_url.drivername == "sqlite"
    assert default.database_url.database == "/srv/consult/consult.sqlite3"
    for written in (
        "postgresql://consult:p%40ss@db.benhvien.local:5432/consult",
        "postgres://consult:p%40ss@db.benhvien.local/consult",
        "postgresql+psycopg2://consult:p%40ss@db.benhvien.local/consult",
    ):
        url = load_config(None, env={"CONSULT_DATABASE_URL": written}).database_url
        assert url.drivername == "postgresql" and url.password == "p@ss"
        assert (url.host, url.database) == ("db.benhvien.local", "consult")


def test_a_bad_database_url_is_refused_without_showing_the_password() -> None:
    for written in (
        "mysql://root:hunter2-secret@db/consult",
        "postgresql://root:hunter2-secret@db",
        "not a url hunter2-secret",
    ):
        with pytest.raises(ConfigError) as refused:
            load_config(None, env={"CONSULT_DATABASE_URL": written})
        assert refused.value.key == "database.url"
        assert "hunter2" not in str(refused.value) and "hunter2" not in refused.value.message


def test_the_idle_limit_takes_fractions_of_a_minute() -> None:
    config = load_config(None, env={"CONSULT_SECURITY_IDLE_MINUTES": "0.25"})
    assert config.security.idle_minutes == 0.25
