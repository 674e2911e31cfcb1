"""Join tokens: signed, expiring, bound to user, consult and role."""

from __future__ import annotations

import pytest

from signaling.tokens import JoinClaims, TokenRefused, sign_join_token, verify_join_token

KEY = b"k" * 32
CLAIMS = JoinClaims(user_id=5, room="consult:9", role="specialist", expires_at=1000.0)


def test_round_trip() -> None:
    assert verify_join_token(KEY, sign_join_token(KEY, CLAIMS), 999.0) == CLAIMS


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "token_invalid"),
        ("", "token_invalid"),
        ("a.b.c", "token_invalid"),
        ("!!!.???", "token_invalid"),
        (sign_join_token(b"x" * 32, CLAIMS), "token_invalid"),
        (sign_join_token(KEY, CLAIMS)[:-2] + "AA", "token_invalid"),
    ],
)
def test_bad_tokens(token: object, code: str) -> None:
    with pytest.raises(TokenRefused) as info:
        verify_join_token(KEY, token, 999.0)
    assert info.value.code == code


def test_expired_token() -> None:
    with pytest.raises(TokenRefused) as info:
        verify_join_token(KEY, sign_join_token(KEY, CLAIMS), 1000.0)
    assert info.value.code == "token_expired"


def test_claims_cannot_be_swapped_between_tokens() -> None:
    body_a, _ = sign_join_token(KEY, CLAIMS).split(".")
    other = JoinClaims(user_id=6, room="consult:9", role="clinician", expires_at=1000.0)
    _, mac_b = sign_join_token(KEY, other).split(".")
    with pytest.raises(TokenRefused):
        verify_join_token(KEY, f"{body_a}.{mac_b}", 999.0)
