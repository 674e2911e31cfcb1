"""TURN settings and the short-lived credentials handed to browsers. That coturn accepts
them is shown with a real coturn in tests/browser/test_turn_relay.py."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from consult_server.config import load_config
from consult_server.errors import ConfigError
from signaling.turn import TurnSettings, ice_servers

SECRET = "a-turn-secret-of-at-least-32-bytes-0123"


def test_settings_from_the_environment_and_credentials_bound_to_user_and_expiry() -> None:
    media = load_config(
        None,
        env={
            "CONSULT_MEDIA_TURN_URLS": "turn:turn.example.vn:3478?transport=udp,"
            "turns:turn.example.vn:443?transport=tcp",
            "CONSULT_MEDIA_TURN_SECRET": SECRET,
        },
    ).media
    assert media.turn_urls == (
        "turn:turn.example.vn:3478?transport=udp",
        "turns:turn.example.vn:443?transport=tcp",
    )
    [server] = ice_servers(TurnSettings(media.turn_urls, media.turn_secret), 42, 1_800_000_000.7)
    assert server["urls"] == list(media.turn_urls)
    assert server["username"] == "1800000000:42"
    expected = hmac.new(SECRET.encode(), b"1800000000:42", hashlib.sha1).digest()
    assert base64.b64decode(server["credential"]) == expected
    other = ice_servers(TurnSettings(media.turn_urls, media.turn_secret), 43, 1_800_000_000.7)[0]
    assert other["credential"] != server["credential"], "bound to the user"


def test_no_turn_by_default_nothing_from_outside() -> None:
    media = load_config(None, env={}).media
    assert (
        ice_servers(TurnSettings(media.turn_urls, media.turn_secret), 1, 2e9) == []
        and media.ice_transport_policy == "all"
    )


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"CONSULT_MEDIA_TURN_URLS": "turn:t.example.vn"}, "media.turn_secret"),
        (
            {"CONSULT_MEDIA_TURN_URLS": "turn:t.example.vn", "CONSULT_MEDIA_TURN_SECRET": "a" * 31},
            "media.turn_secret",
        ),
        (
            {
                "CONSULT_MEDIA_TURN_URLS": "https://t.example.vn",
                "CONSULT_MEDIA_TURN_SECRET": SECRET,
            },
            "media.turn_urls",
        ),
        ({"CONSULT_MEDIA_ICE_TRANSPORT_POLICY": "relay"}, "media.ice_transport_policy"),
        ({"CONSULT_MEDIA_ICE_TRANSPORT_POLICY": "tcp"}, "media.ice_transport_policy"),
    ],
)
def test_bad_turn_settings_stop_start_up_naming_the_key(env: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, env=env)
    assert info.value.key == key
    assert "a" * 31 not in str(info.value), "a secret is never echoed"
