"""A backup encrypted under a passphrase, with a well-kept library's AES-256-GCM
(``cryptography``), never a cipher of our own.

The key comes from the passphrase through scrypt (n = 2^15, r = 8, p = 1: ~32 MiB and
~0.1 s, once per command) with a random salt kept in the manifest: 64 bytes, the first
32 the file key, the last 32 the manifest's HMAC key.

A file is sealed in chunks of 1 MiB, so a recording of an hour never sits whole in
memory: ``MAGIC``, a random 7-byte prefix, then each chunk's ciphertext and tag. A
chunk's nonce is the prefix, its number (4 bytes) and a last-chunk flag, and its
associated data the file's path in the copy: chunks cannot be reordered, cut off the end,
or swapped between files without the tag failing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CSBK1\n"
CHUNK = 1 << 20
_TAG = 16
_SCRYPT = {"n": 1 << 15, "r": 8, "p": 1}
#: Shorter passphrases are refused: a backup leaves the server's protection.
MIN_PASSPHRASE = 16


class SealError(ValueError):
    """A sealed file or manifest that does not open with this passphrase."""


@dataclass(frozen=True)
class Keys:
    file: bytes
    mac: bytes

    @classmethod
    def derive(cls, passphrase: str, salt: bytes) -> Keys:
        if len(passphrase) < MIN_PASSPHRASE:
            raise SealError(f"backup.passphrase must be at least {MIN_PASSPHRASE} characters")
        material = hashlib.scrypt(
            passphrase.encode(), salt=salt, dklen=64, maxmem=64 * 1024 * 1024, **_SCRYPT
        )
        return cls(material[:32], material[32:])

    def sign(self, body: bytes) -> str:
        return hmac.new(self.mac, body, hashlib.sha256).hexdigest()

    def check(self, body: bytes, mac: str) -> bool:
        return hmac.compare_digest(self.sign(body), mac)


def new_salt() -> bytes:
    return os.urandom(16)


def describe(salt: bytes) -> dict[str, Any]:
    """How the copy is sealed, for the manifest."""
    return {
        "cipher": "AES-256-GCM",
        "chunk": CHUNK,
        "kdf": "scrypt",
        **_SCRYPT,
        "salt": base64.b64encode(salt).decode(),
    }


def salt_of(description: dict[str, Any]) -> bytes:
    return base64.b64decode(str(description["salt"]))


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + number.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _chunks(source: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """Each chunk with whether it is the last (an empty file is one empty last chunk)."""
    current = source.read(CHUNK)
    while True:
        following = source.read(CHUNK)
        yield current, not following
        if not following:
            return
        current = following


def seal(keys: Keys, source: Path, target: Path, name: str) -> str:
    """Write ``source`` sealed to ``target``; ``name`` is its path in the copy. Returns
    the SHA-256 of the plaintext sealed (a file still growing is sealed as read)."""
    aead = AESGCM(keys.file)
    prefix = os.urandom(7)
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("xb") as writer:
        writer.write(MAGIC + prefix)
        for number, (chunk, last) in enumerate(_chunks(reader)):
            digest.update(chunk)
            writer.write(aead.encrypt(_nonce(prefix, number, last), chunk, name.encode()))
    return digest.hexdigest()


def unseal(keys: Keys, source: Path, name: str) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk (SealError when it does not open)."""
    aead = AESGCM(keys.file)
    with source.open("rb") as reader:
        head = reader.read(len(MAGIC) + 7)
        if not head.startswith(MAGIC) or len(head) != len(MAGIC) + 7:
            raise SealError(f"{name}: not a sealed file")
        prefix = head[len(MAGIC) :]
        number = 0
        current = reader.read(CHUNK + _TAG)
        while True:
            following = reader.read(CHUNK + _TAG)
            last = not following
            try:
                yield aead.decrypt(_nonce(prefix, number, last), current, name.encode())
            except InvalidTag:
                raise SealError(f"{name}: does not open (changed, cut, or another key)") from None
            if last:
                return
            number += 1
            current = following
