"""API keys: constant-time comparison against every key, and hashed identities."""

from __future__ import annotations

import hmac

import pytest

from services.api import auth
from services.api.auth import key_identity, key_matches, writes_are_open
from shared.config import Settings


def test_it_accepts_any_configured_key_and_nothing_else() -> None:
    keys = ["first-key-123", "second-key-456"]
    assert key_matches("second-key-456", keys)
    assert key_matches("first-key-123", keys)
    assert not key_matches("second-key-45", keys)
    assert not key_matches("", keys)
    assert not key_matches(None, keys)
    assert not key_matches("anything", [])


def test_it_compares_the_key_with_every_configured_key_even_after_a_match(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert key_matches("k1-aaaa", ["k1-aaaa", "k2-bbbb", "k3-cccc"])
    assert [b for _, b in calls] == [b"k1-aaaa", b"k2-bbbb", b"k3-cccc"]


def test_it_accepts_keys_with_non_ascii_characters() -> None:
    assert key_matches("chave-ção", ["chave-ção"])
    assert not key_matches("chave-cao", ["chave-ção"])


def test_it_names_callers_by_a_hash_that_does_not_contain_the_key() -> None:
    identity = key_identity("super-secret-key")
    assert identity.startswith("key:") and len(identity) == 16
    assert "super-secret-key" not in identity
    assert identity == key_identity("super-secret-key")
    assert identity != key_identity("another-secret-key")


def test_it_opens_writes_only_in_development_without_keys() -> None:
    assert writes_are_open(Settings(_env_file=None, environment="development", api_keys=[]))
    assert not writes_are_open(Settings(_env_file=None, environment="development", api_keys=["k-123456"]))
    assert not writes_are_open(Settings(_env_file=None, environment="test", api_keys=[]))
