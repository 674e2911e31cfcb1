"""What one backup holds: ``manifest.json`` beside the copied files, written last (a
directory without it is no backup).

Every file of the copy is listed by its path in the copy with its size and SHA-256 as
stored; a sealed copy also lists each file's plaintext SHA-256, and the manifest carries
an HMAC under the passphrase's key (a changed manifest is found too). The audit chain's
head at the moment of the copy ("ID:HASH") is there to check the restored chain against.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from consult_server.backup.sealing import Keys, SealError

NAME = "manifest.json"
FORMAT = 1
#: The database's copy in a backup, by engine.
DATABASE_FILE = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
#: The data directory's files in a backup live under this directory.
DATA = "data"


@dataclass(frozen=True)
class Entry:
    size: int
    sha256: str
    #: The plaintext's SHA-256 when the copy is sealed (else the same as ``sha256``).
    plain_sha256: str


@dataclass
class Manifest:
    engine: str
    created_at: float
    schema_version: int
    #: The data directory the copy was taken from (recordings are catalogued by path).
    data_dir: str
    audit_head: str
    #: How the copy is sealed (None: it is not).
    sealing: dict[str, Any] | None = None
    files: dict[str, Entry] = field(default_factory=dict)
    #: Counts read from the copied database: consults, files, recordings, notes.
    counts: dict[str, int] = field(default_factory=dict)
    format: int = FORMAT

    def body(self) -> bytes:
        data = asdict(self)
        return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False).encode()

    def write(self, directory: Path, keys: Keys | None) -> None:
        body = self.body()
        document = json.loads(body)
        if keys is not None:
            document["mac"] = keys.sign(body)
        (directory / NAME).write_text(json.dumps(document, sort_keys=True, indent=1) + "\n")

    @classmethod
    def read(cls, directory: Path) -> tuple[Manifest, str | None]:
        """The manifest and its MAC (None when unsealed); ValueError when unreadable."""
        try:
            document = json.loads((directory / NAME).read_text())
        except FileNotFoundError:
            raise ValueError(
                f"no {NAME} in {directory}: not a backup, or an unfinished one"
            ) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{NAME} cannot be read ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"{NAME} is not a format-{FORMAT} backup manifest")
        mac = document.pop("mac", None)
        try:
            files = {path: Entry(**entry) for path, entry in document.pop("files").items()}
            manifest = cls(**document, files=files)
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{NAME} is malformed ({exc})") from None
        return manifest, mac

    def check_mac(self, mac: str | None, keys: Keys) -> None:
        if mac is None or not keys.check(self.body(), mac):
            raise SealError(f"{NAME} was changed, or this is not its passphrase")
