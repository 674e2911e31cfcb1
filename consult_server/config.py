"""Settings: loaded once into frozen dataclasses.

Order of precedence (last wins): built-in defaults, ``config.toml``, environment
variables ``CONSULT_<SECTION>_<KEY>`` (``CONSULT_DATA_DIR`` sets ``data.dir``), and CLI
flags. Every bad value stops start-up with a ``ConfigError`` naming the key, the value
and what was expected. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import secrets
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp.web import AppKey
from sqlalchemy.engine import URL

from consult_server.backup.sealing import MIN_PASSPHRASE
from consult_server.errors import ConfigError
from consult_server.store.engine import BadDatabaseUrl
from consult_server.store.engine import parse as parse_database_url

MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class ServerConfig:
    #: Address the HTTP server listens on.
    host: str = "127.0.0.1"
    #: TCP port of the HTTP server.
    port: int = 8080
    #: "auto" marks cookies Secure when the request came over HTTPS; "always" or "never".
    cookie_secure: str = "auto"
    #: "uvloop" (faster media path) or "asyncio" (the standard library's loop).
    event_loop: str = "uvloop"
    #: Reverse proxies (addresses or networks) whose X-Forwarded-For / -Proto are believed.
    trusted_proxies: tuple[str, ...] = ()
    #: The server's address as people and other systems reach it
    #: ("https://hoichan.soyte.example.vn"): the FHIR export's links to files and
    #: recordings are absolute from it. Empty: they are relative ("/files/12").
    public_url: str = ""
    #: Server processes on this host, each a node holding its own rooms' media: a
    #: number, or "auto" (one per core). More than one needs ``redis.url``.
    processes: str = "1"
    #: How a page reaches the node holding its room when there are several: "port"
    #: (the node's own port, ``port`` + 1 + its index, on the page's host) or "proxy"
    #: (``/node/<id>/socket.io`` through the reverse proxy of docs/deploy.md).
    node_routes: str = "port"
    #: This host's part of its nodes' ids ("<name>-<index>"); empty: the host name.
    node_name: str = ""
    #: ``consult-server drain`` moves a node's calls to the others over this long.
    drain_seconds: float = 60

    def process_count(self, cores: int) -> int:
        """How many processes ``processes`` asks for on a host with ``cores`` cores."""
        return max(1, cores) if self.processes == "auto" else int(self.processes)


@dataclass(frozen=True)
class DataConfig:
    #: Directory for the database, recordings and uploads; created if missing.
    dir: str = "./data"


@dataclass(frozen=True)
class DatabaseConfig:
    #: The database, as an operator writes it: ``postgresql://user:password@host:5432/db``
    #: or ``sqlite:///path``. Empty: the SQLite file ``path``.
    url: str = ""
    #: SQLite file when ``url`` is empty; empty means <data.dir>/consult.sqlite3.
    path: str = ""


@dataclass(frozen=True)
class RedisConfig:
    #: redis:// URL; empty keeps all shared state in this process.
    url: str = ""


@dataclass(frozen=True)
class SecurityConfig:
    #: HMAC key for join tokens, at least 32 bytes. Empty: generated once into
    #: <data.dir>/secret_key (mode 0600) and reused.
    secret_key: str = ""
    #: The longest a login session lasts, however active (a shift).
    session_hours: int = 12
    #: A login session ends after this many minutes without activity (a shared
    #: reception PC); the page warns two minutes before (half the time, if shorter).
    #: A call in progress is activity. Fractions are allowed (0.5: 30 seconds).
    idle_minutes: float = 30
    #: Offer "remember this PC" at sign-in (a cookie that survives closing the browser,
    #: for session_hours). Off: the cookie ends with the browser.
    remember_pc: bool = False
    #: How long a room join token is valid.
    join_token_seconds: int = 4 * 3600
    #: Files under the data directory that others on the host could read: "warn" at
    #: start-up (naming them) or "refuse" to start.
    loose_files: str = "warn"
    #: Requests (pages and API; not static files) a signed-in user may make per minute,
    #: and a not-signed-in address (a NAT'd commune station shares one). Past it: 429.
    requests_per_minute_user: int = 600
    requests_per_minute_address: int = 300
    #: Consult requests one user may file per hour.
    consults_per_hour: int = 60


@dataclass(frozen=True)
class ConsultConfig:
    #: An unanswered request expires after this long.
    expire_after_seconds: int = 1800
    #: Urgent requests reach one more referral level each time this passes unanswered.
    escalate_urgent_seconds: int = 300
    #: Same for emergency requests.
    escalate_emergency_seconds: int = 120
    #: A room with one participant gone ends after this long.
    room_grace_seconds: int = 120
    #: Longest case summary accepted, in characters.
    summary_max_chars: int = 2000
    #: Both sides of a booked consult are reminded in their pages this long before it.
    booking_reminder_minutes: int = 10
    #: A booking nobody opened is marked missed this long after its end.
    booking_grace_minutes: int = 15


@dataclass(frozen=True)
class MediaConfig:
    #: Addresses the media (ICE) sockets bind to and advertise. Empty: every
    #: non-loopback address of the host (127.0.0.1 if there is none).
    host_addresses: tuple[str, ...] = ()
    #: UDP ports for media sockets, inclusive; 0 and 0: any free port.
    udp_port_min: int = 0
    udp_port_max: int = 0
    #: STUN/TURN servers for aiortc; none by default (no outside services).
    ice_servers: tuple[str, ...] = ()
    #: TURN servers handed to browsers with short-lived credentials (coturn's REST
    #: scheme), e.g. "turns:turn.example.vn:443?transport=tcp". Empty: no TURN.
    turn_urls: tuple[str, ...] = ()
    #: The secret shared with coturn (``static-auth-secret``), at least 32 bytes.
    turn_secret: str = ""
    #: "all": direct UDP or TURN, whichever works; "relay": TURN only (a site whose
    #: firewall blocks direct UDP to the media server).
    ice_transport_policy: str = "all"
    #: The one video codec every leg negotiates: "VP8" or "H264".
    video_codec: str = "VP8"
    #: REMB cap on a publisher: the weakest subscriber's estimate, within these (kbit/s).
    bitrate_floor_kbps: int = 150
    bitrate_ceiling_kbps: int = 1500
    #: Private networks (CIDR) where participants' computers are, e.g. the province's
    #: VPN "10.20.0.0/16": the media server contacts candidates in private ranges only
    #: inside these (a participant's own checks are answered from anywhere).
    facility_networks: tuple[str, ...] = ()
    #: Resolve browsers' ".local" (mDNS) candidate names by multicast on the server's LAN.
    resolve_mdns: bool = False
    #: A lesson's presenters, and everyone in a consult of three or more, send their
    #: camera in three qualities; each viewer is forwarded the one its link carries.
    simulcast: bool = True


@dataclass(frozen=True)
class RecordingsConfig:
    #: Record consults whose patient consented (per facility below).
    enabled: bool = True
    #: Codes of facilities whose consults are never recorded.
    disabled_facilities: tuple[str, ...] = ()
    #: May clinicians and specialists watch their own consults' recordings?
    participants_may_view: bool = False
    #: Delete recordings this many days after they started; 0 keeps them.
    retention_days: int = 0


@dataclass(frozen=True)
class AttachmentsConfig:
    #: Largest file one upload may hold, in MiB (an X-ray, a CT series file, a clip).
    max_file_mib: int = 50
    #: Largest total of the files attached to one consult, in MiB.
    max_consult_mib: int = 500

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mib * 1024 * 1024

    @property
    def max_consult_bytes(self) -> int:
        return self.max_consult_mib * 1024 * 1024


@dataclass(frozen=True)
class BackupConfig:
    #: Where the server keeps its own scheduled backups (one directory each). Empty:
    #: none (``consult-server backup DEST`` still works).
    dir: str = ""
    #: Hours between scheduled backups; 0: none. Fractions are allowed.
    every_hours: float = 0
    #: Scheduled backups kept in ``dir``; older ones are removed.
    keep: int = 7
    #: Seal every backup (AES-256-GCM) under this passphrase, at least 16 characters.
    #: Keep it somewhere else too: without it a sealed backup cannot be restored.
    passphrase: str = ""
    #: Directory of pg_dump and pg_restore (PostgreSQL). Empty: PATH, then Debian's
    #: /usr/lib/postgresql/<newest>/bin.
    pg_bin: str = ""


@dataclass(frozen=True)
class MetricsConfig:
    #: Who may read /metrics without the token (addresses or networks): the host itself.
    allowed_networks: tuple[str, ...] = ("127.0.0.1/32", "::1/128")
    #: A bearer token that also opens /metrics from anywhere (at least 32 bytes);
    #: empty: none.
    token: str = ""


@dataclass(frozen=True)
class I18nConfig:
    #: Language of the interface for users who have not chosen one.
    default_language: str = "vi"


@dataclass(frozen=True)
class LoggingConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    redis: RedisConfig = field(default_factory=RedisConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    consults: ConsultConfig = field(default_factory=ConsultConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    attachments: AttachmentsConfig = field(default_factory=AttachmentsConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    i18n: I18nConfig = field(default_factory=I18nConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.data.dir).resolve()

    @property
    def database_path(self) -> Path:
        return (
            Path(self.database.path).resolve()
            if self.database.path
            else (self.data_dir / "consult.sqlite3")
        )

    @property
    def database_url(self) -> URL:
        """The database to use (checked by :func:`load_config`)."""
        if self.database.url:
            return parse_database_url(self.database.url)
        return URL.create("sqlite", database=str(self.database_path))

    def secret_bytes(self) -> bytes:
        """The signing key; only valid after :func:`ensure_data_dir`."""
        return self.security.secret_key.encode()


_CHOICES: dict[str, tuple[str, ...]] = {
    "server.cookie_secure": ("auto", "always", "never"),
    "server.event_loop": ("uvloop", "asyncio"),
    "server.node_routes": ("port", "proxy"),
    "i18n.default_language": ("vi", "en"),
    "logging.level": ("DEBUG", "INFO", "WARNING", "ERROR"),
    "media.video_codec": ("VP8", "H264"),
    "security.loose_files": ("warn", "refuse"),
}
_POSITIVE = {
    "server.port",
    "security.session_hours",
    "security.idle_minutes",
    "security.join_token_seconds",
    "consults.expire_after_seconds",
    "consults.escalate_urgent_seconds",
    "consults.escalate_emergency_seconds",
    "consults.summary_max_chars",
    "consults.booking_reminder_minutes",
    "consults.booking_grace_minutes",
    "media.bitrate_floor_kbps",
    "media.bitrate_ceiling_kbps",
    "attachments.max_file_mib",
    "attachments.max_consult_mib",
    "backup.keep",
}


def _coerce(key: str, expected: Any, value: Any, source: str = "") -> Any:
    """Turn a TOML or env value into the field's type, or raise naming the key."""
    label = f"{key} ({source})" if source else key
    try:
        return _convert(key, expected, value)
    except ConfigError as exc:
        raise ConfigError(label, exc.value, exc.expected) from None


def _convert(key: str, expected: Any, value: Any) -> Any:
    if expected is bool or expected == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise ConfigError(key, value, "true or false")
    if expected is int or expected == "int":
        if isinstance(value, bool):
            raise ConfigError(key, value, "an integer")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(key, value, "an integer") from None
        if key in _POSITIVE and number <= 0:
            raise ConfigError(key, value, "a positive integer")
        if key == "server.port" and number > 65535:
            raise ConfigError(key, value, "a TCP port (1-65535)")
        if number < 0:
            raise ConfigError(key, value, "a non-negative integer")
        return number
    if expected is float or expected == "float":
        if isinstance(value, bool):
            raise ConfigError(key, value, "a number")
        try:
            real = float(value)
        except (TypeError, ValueError):
            raise ConfigError(key, value, "a number") from None
        if not math.isfinite(real) or real < 0 or (key in _POSITIVE and real <= 0):
            raise ConfigError(key, value, "a positive number")
        return real
    if expected in ("tuple[str, ...]",):
        if isinstance(value, str):
            items = [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            items = list(value)
        else:
            raise ConfigError(key, value, "a list of strings")
        return tuple(items)
    if not isinstance(value, str):
        raise ConfigError(key, value, "a string")
    choices = _CHOICES.get(key)
    if choices and value not in choices:
        raise ConfigError(key, value, "one of " + ", ".join(choices))
    return value


def _section_fields(section: Any) -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(section)}


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the configuration from file, environment and overrides ("section.key")."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config file", str(path), "an existing TOML file") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("config file", str(path), f"valid TOML ({exc})") from None
    base = Config()
    sections: dict[str, Any] = {}
    for section_field in dataclasses.fields(base):
        name = section_field.name
        section = getattr(base, name)
        types = _section_fields(section)
        given = raw.get(name, {})
        if not isinstance(given, dict):
            raise ConfigError(name, given, "a table")
        values: dict[str, Any] = {}
        for key, value in given.items():
            if key not in types:
                raise ConfigError(f"{name}.{key}", value, "a known setting (see config.toml)")
            values[key] = _coerce(f"{name}.{key}", types[key], value)
        for key, typ in types.items():
            env_name = f"CONSULT_{name}_{key}".upper()
            if env_name in env:
                values[key] = _coerce(f"{name}.{key}", typ, env[env_name], env_name)
        sections[name] = dataclasses.replace(section, **values)
    for dotted, value in (overrides or {}).items():
        name, _, key = dotted.partition(".")
        types = _section_fields(sections[name])
        sections[name] = dataclasses.replace(
            sections[name], **{key: _coerce(dotted, types[key], value)}
        )
    config = Config(**sections)
    _check(config)
    return config


def _check(config: Config) -> None:
    low, high = config.media.udp_port_min, config.media.udp_port_max
    if (low, high) != (0, 0) and not 1024 <= low <= high <= 65535:
        raise ConfigError(
            "media.udp_port_min/udp_port_max",
            f"{low}-{high}",
            "1024 <= min <= max <= 65535, or both 0",
        )
    if config.media.bitrate_floor_kbps > config.media.bitrate_ceiling_kbps:
        raise ConfigError(
            "media.bitrate_floor_kbps",
            config.media.bitrate_floor_kbps,
            f"at most media.bitrate_ceiling_kbps ({config.media.bitrate_ceiling_kbps})",
        )
    _check_networks("server.trusted_proxies", config.server.trusted_proxies)
    _check_public_url(config.server.public_url)
    _check_turn(config.media)
    _check_networks("media.facility_networks", config.media.facility_networks)
    for address in config.media.host_addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ConfigError("media.host_addresses", address, "an IP address") from None
    if config.database.url:
        try:
            parse_database_url(config.database.url)
        except BadDatabaseUrl as exc:
            # Never the value: it may carry the database password.
            raise ConfigError("database.url", "<hidden>", str(exc)) from None
    secret = config.security.secret_key
    weak = weakness(secret) if secret else None
    if weak:
        raise ConfigError("security.secret_key", "<hidden>", weak)
    _check_backup(config.backup)
    _check_processes(config)
    _check_networks("metrics.allowed_networks", config.metrics.allowed_networks)
    weak = weakness(config.metrics.token) if config.metrics.token else None
    if weak:
        raise ConfigError("metrics.token", "<hidden>", weak)


def _check_processes(config: Config) -> None:
    value = config.server.processes
    if value != "auto" and not (value.isdigit() and 1 <= int(value) <= 256):
        raise ConfigError("server.processes", value, "a number of processes (1-256) or auto")
    if config.server.process_count(os.cpu_count() or 1) > 1 and not config.redis.url:
        raise ConfigError(
            "redis.url",
            "",
            "a Redis server when server.processes is more than 1 (the nodes share "
            "who holds which room through it)",
        )
    if config.server.port + config.server.process_count(os.cpu_count() or 1) > 65535:
        raise ConfigError("server.port", config.server.port, "room for a port per process above it")


def _check_backup(backup: BackupConfig) -> None:
    if backup.passphrase and len(backup.passphrase) < MIN_PASSPHRASE:
        raise ConfigError("backup.passphrase", "<hidden>", f"at least {MIN_PASSPHRASE} characters")
    if backup.every_hours and not backup.dir:
        raise ConfigError("backup.dir", "", "a directory for the scheduled backups")


def _check_public_url(value: str) -> None:
    if not value:
        return
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query:
        raise ConfigError("server.public_url", value, "an http(s) address such as https://host")


def _check_networks(key: str, values: tuple[str, ...]) -> None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConfigError(key, value, "an IP address or network (10.0.0.0/24)") from None


def _check_turn(media: MediaConfig) -> None:
    for url in media.turn_urls:
        # The schemes a browser accepts in iceServers[].urls (RFC 7064, RFC 7065).
        if not url.startswith(("turn:", "turns:", "stun:")) or len(url) < 8:
            raise ConfigError(
                "media.turn_urls", url, "turn:HOST[:PORT][?transport=udp|tcp] or turns:..."
            )
    weak = weakness(media.turn_secret) if media.turn_urls else None
    if weak:
        raise ConfigError(
            "media.turn_secret",
            "<hidden>" if media.turn_secret else "",
            f"{weak} when media.turn_urls is set",
        )
    if media.ice_transport_policy not in ("all", "relay"):
        raise ConfigError(
            "media.ice_transport_policy", media.ice_transport_policy, '"all" or "relay"'
        )
    if media.ice_transport_policy == "relay" and not media.turn_urls:
        raise ConfigError(
            "media.ice_transport_policy", "relay", "media.turn_urls set (relay needs TURN)"
        )


def weakness(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign with, or None. Long enough is not enough: 32
    times "a" is 32 bytes; a key must also vary."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"at least {MIN_SECRET_BYTES} bytes"
    if len(set(secret)) < 12:
        return "at least 12 different characters (a random key, not a word or a pattern)"
    if max(secret.count(c) for c in set(secret)) * 4 > len(secret):
        return "no character making up more than a quarter of it"
    return None


def ensure_data_dir(config: Config) -> Config:
    """Create the data directory and, if no secret is configured, load or make one."""
    data_dir = config.data_dir
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("data.dir", str(data_dir), f"a writable directory ({exc})") from None
    if config.security.secret_key:
        return config
    key_file = data_dir / "secret_key"
    try:
        if not key_file.exists() and not key_file.is_symlink():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        secret = key_file.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = "a link to nothing" if key_file.is_symlink() and not key_file.exists() else exc
        raise ConfigError(
            "security.secret_key", str(key_file), f"a readable key file ({reason})"
        ) from None
    weak = weakness(secret)
    if weak:
        raise ConfigError("security.secret_key", str(key_file), weak)
    return dataclasses.replace(
        config, security=dataclasses.replace(config.security, secret_key=secret)
    )


CONFIG: AppKey[Config] = AppKey("config")
