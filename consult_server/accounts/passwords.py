"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
#: Verified against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
