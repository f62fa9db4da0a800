"""Keyed pseudonyms: HMAC-SHA256 of the domain and the normalised id under the partnership's
secret, checked against the standard library's HMAC computed here; the secret is required,
read from --secret-file or $SAFERBOARD_SECRET_FILE, and never shown."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saferboard.core.errors import InputError
from saferboard.core.pseudonym import ENV, Key, load_key, normalise, pseudonym

KEY = Key(b"k" * 32, "test")


def reference(secret: bytes, domain: str, value: str) -> str:
    return hmac.new(secret, f"{domain}\x1f{value}".encode(), hashlib.sha256).hexdigest()[:32]


def test_matches_hmac_sha256_of_the_domain_and_value() -> None:
    assert pseudonym(KEY, "person", "V000123") == reference(b"k" * 32, "person", "V000123")
    assert len(pseudonym(KEY, "ref", "x")) == 32


def test_same_id_same_pseudonym_other_key_or_domain_differs() -> None:
    a = pseudonym(KEY, "person", "OFF0001")
    assert a == pseudonym(KEY, "person", "  OFF0001 ")
    assert a != pseudonym(Key(b"j" * 32, "other"), "person", "OFF0001")
    assert a != pseudonym(KEY, "ref", "OFF0001")
    assert a != pseudonym(KEY, "person", "off0001")  # person ids keep their case


def test_locations_are_case_folded_and_spaces_collapsed() -> None:
    assert normalise("location", " 12  High   St ") == "12 high st"
    assert pseudonym(KEY, "location", "12 High St") == pseudonym(KEY, "location", "12 high  st")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="domain"):
        pseudonym(KEY, "victim", "x")
    with pytest.raises(ValueError, match="empty"):
        pseudonym(KEY, "person", "   ")


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.split() != []))
def test_never_contains_the_id_and_is_hex(value: str) -> None:
    p = pseudonym(KEY, "person", value)
    assert len(p) == 32 and set(p) <= set("0123456789abcdef")
    assert p == reference(b"k" * 32, "person", " ".join(value.split()))
    if len(value.strip()) >= 3:
        assert " ".join(value.split()) not in p


def test_secret_from_option_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    a, b = tmp_path / "a.secret", tmp_path / "b.secret"
    a.write_text("a" * 64 + "\n")
    b.write_text("b" * 64)
    monkeypatch.setenv(ENV, str(b))
    assert load_key(a).secret == b"a" * 64  # the option wins, trailing newline dropped
    assert load_key().secret == b"b" * 64
    assert "aaaa" not in repr(load_key(a))


def test_refuses_without_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(InputError, match=r"secrets\.token_hex\(32\)") as e:
        load_key()
    assert "chmod 600" in str(e.value) and ENV in str(e.value)
    with pytest.raises(InputError, match="cannot read"):
        load_key(tmp_path / "absent.secret")
    short = tmp_path / "short.secret"
    short.write_text("hunter2")
    with pytest.raises(InputError, match="too short") as e:
        load_key(short)
    assert "hunter2" not in str(e.value)
