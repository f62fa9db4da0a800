"""The case register's key: field encryption (AES-256-GCM) and keyed blind indexes.

Identifiable case data (names, addresses, dates of birth, contact details, vulnerability
flags, incident descriptions, review outcomes and notes) is encrypted field by field before
it reaches the database, so a copy of the database file, its WAL or a backup holds no readable
personal value. The key lives outside the database: `--key-file PATH`, else the file named by
`$SAFERBOARD_CASE_KEY_FILE`, holding one line of at least 32 random characters.

Two independent keys are derived from that line with HKDF-SHA256 (RFC 5869), each with its own
`info` label: one for AES-GCM, one for the HMAC-SHA256 blind index. Keeping them apart means
the index (which must be deterministic to support exact-match search) shares nothing with the
encryption (which must not be). Each field gets a fresh random 96-bit nonce; the column name is
the associated data, so a ciphertext copied into another column fails to decrypt.

Nothing here prints, logs or stores a plaintext value.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from saferboard.core.errors import InputError, SaferboardError

ENV = "SAFERBOARD_CASE_KEY_FILE"
MIN_KEY_CHARS = 32
NONCE_BYTES = 12
VERSION = b"\x01"  # first byte of every ciphertext, so the scheme can change later
INDEX_KINDS = ("name", "address", "person")
CREATE_HINT = (
    "create one with: python -c 'import secrets; print(secrets.token_urlsafe(48))' "
    "> saferboard-cases.key && chmod 600 saferboard-cases.key, keep it outside the database "
    f"and its backups (losing it loses the case data), then name it with {{key_file}} "
    f"or set {ENV}"
)
HINT_NAMES = ("key_file",)  # the parameter the hint names (the CLI: --key-file)


class CaseKeyError(SaferboardError, ValueError):
    """The key cannot decrypt a value: the wrong key, or a damaged or tampered field."""

    http_status = 500


@dataclass(frozen=True)
class CaseKeys:
    """The two derived keys (never shown in repr) and where the key line was read from."""

    encryption: bytes = field(repr=False)
    index: bytes = field(repr=False)
    source: str


def _derive(material: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"saferboard cases " + label).derive(material)


def keys_from_line(line: str, source: str = "<memory>") -> CaseKeys:
    """Derive the encryption and index keys from a key line (at least 32 characters)."""
    text = line.strip()
    if len(text) < MIN_KEY_CHARS or len(text.split()) != 1:
        raise InputError(f"the case key must be one line of at least {MIN_KEY_CHARS} "
                         f"random characters without spaces (got {len(text)}); {CREATE_HINT}",
                         path=source, mentions=HINT_NAMES)
    material = text.encode("utf-8")
    return CaseKeys(_derive(material, b"aes-256-gcm v1"), _derive(material, b"blind-index v1"),
                    source)


def load_case_key(path: str | Path | None = None) -> CaseKeys:
    """Read the key line from `path`, else from the file named by $SAFERBOARD_CASE_KEY_FILE.

    Refuses (InputError) when neither is given, the file cannot be read, or the line is short;
    the message says how to create a key.
    """
    chosen = path if path is not None else (os.environ.get(ENV) or None)
    if chosen is None:
        raise InputError(f"the case register needs its key: {CREATE_HINT}", param="key_file",
                         mentions=HINT_NAMES)
    p = Path(chosen)
    try:
        raw = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise InputError(f"cannot read the case key file ({why}); {CREATE_HINT}",
                         path=p, mentions=HINT_NAMES) from None
    lines = [s for s in raw.splitlines() if s.strip()]
    if len(lines) != 1:
        raise InputError(f"the case key file should hold exactly one line (it has "
                         f"{len(lines)}); {CREATE_HINT}", path=p, mentions=HINT_NAMES)
    return keys_from_line(lines[0], str(p))


@lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    # One cipher object per key: building it for every field was most of an import's time.
    return AESGCM(key)


def encrypt(keys: CaseKeys, column: str, value: str | None) -> bytes | None:
    """VERSION + nonce + AES-GCM(value) with `column` as associated data; None stays None."""
    if value is None:
        return None
    nonce = os.urandom(NONCE_BYTES)
    sealed = _aead(keys.encryption).encrypt(nonce, value.encode("utf-8"), column.encode())
    return VERSION + nonce + sealed


def decrypt(keys: CaseKeys, column: str, blob: bytes | None) -> str | None:
    """The plaintext of a field written by `encrypt` for the same column."""
    if blob is None:
        return None
    if blob[:1] != VERSION or len(blob) < 1 + NONCE_BYTES + 16:
        raise CaseKeyError(f"a {column} value is not in the register's encrypted format")
    nonce, sealed = blob[1:1 + NONCE_BYTES], blob[1 + NONCE_BYTES:]
    try:
        return _aead(keys.encryption).decrypt(nonce, sealed, column.encode()).decode("utf-8")
    except InvalidTag:
        raise CaseKeyError(f"a {column} value does not decrypt with this key (wrong key file, "
                        "or the field was altered)") from None


_PUNCT = re.compile(r"[^\w\s]")


def normalise(kind: str, value: str) -> str:
    """The form that is indexed: case-folded, punctuation dropped (addresses: "12 High St."
    = "12, high st"), inner white space collapsed. Names keep hyphens and apostrophes out too,
    so "O'Neil" = "ONeil"; exact match means exact after this normalisation only."""
    text = _PUNCT.sub("", value.casefold()) if kind in ("name", "address", "person") else value
    return " ".join(text.split())


def blind_index(keys: CaseKeys, kind: str, value: str | None) -> str | None:
    """HMAC-SHA256(index key, kind + 0x1f + normalised value) as 64 hex characters."""
    if kind not in INDEX_KINDS:
        raise ValueError(f"kind should be one of {', '.join(INDEX_KINDS)}, got {kind!r}")
    if value is None:
        return None
    text = normalise(kind, value)
    if not text:
        return None
    msg = kind.encode() + b"\x1f" + text.encode("utf-8")
    # hmac.digest: the one-shot C path, the same value as hmac.new(...).hexdigest()
    return hmac.digest(keys.index, msg, "sha256").hex()


def key_check(keys: CaseKeys) -> str:
    """A value stored in the database when it is created, so a different key is refused at
    start rather than found out at the first decryption."""
    return hmac.new(keys.index, b"saferboard cases key check v1", hashlib.sha256).hexdigest()
