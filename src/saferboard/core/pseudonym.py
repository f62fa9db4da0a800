"""Keyed pseudonyms for partner identifiers (people, addresses, case references).

An identifier is replaced by HMAC-SHA256(secret, domain + 0x1f + value), shown as 32 hex
characters (128 bits). The secret is the partnership's, kept outside the database: the same
person gets the same pseudonym in every extract imported with the same secret (so a victim in
the incidents extract and the MARAC extract, or an offender in the cohort and offences
extracts, can be linked), and nobody holding only the database can reverse or even test a
guess without the secret. Values are trimmed and inner runs of white space collapsed before
hashing; location ids are also case-folded ("12 High St" = "12 high st").

The secret comes from `--secret-file PATH`, else the file named by `$SAFERBOARD_SECRET_FILE`.
Nothing here prints, logs or stores a raw identifier.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from saferboard.core.errors import InputError

ENV = "SAFERBOARD_SECRET_FILE"
MIN_SECRET_BYTES = 16
DIGEST_HEX = 32
DOMAINS = ("person", "location", "ref")
CREATE_HINT = (
    'create one with: python -c "import secrets; print(secrets.token_hex(32))" '
    "> saferboard.secret && chmod 600 saferboard.secret, keep it outside the database and "
    f"its backups, then name it with {{secret_file}} or set {ENV}"
)
HINT_NAMES = ("secret_file",)  # the parameter the hint names (the CLI: --secret-file)


@dataclass(frozen=True)
class Key:
    """The partnership's pseudonymisation secret (never shown in repr)."""

    secret: bytes = field(repr=False)
    source: str  # where it was read from (a path, for messages)


def load_key(path: str | Path | None = None) -> Key:
    """Read the secret from `path`, else from the file named by $SAFERBOARD_SECRET_FILE.

    Refuses (InputError) when neither is given, the file cannot be read, or the secret is
    shorter than 16 bytes; the message says how to create one.
    """
    chosen = path if path is not None else (os.environ.get(ENV) or None)
    if chosen is None:
        raise InputError(f"partner data needs a pseudonymisation secret: {CREATE_HINT}",
                         param="secret_file", mentions=HINT_NAMES)
    p = Path(chosen)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read the secret file ({e.strerror or type(e).__name__}); "
                         f"{CREATE_HINT}", path=p, mentions=HINT_NAMES) from None
    secret = raw.strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise InputError(f"the secret is too short ({len(secret)} bytes; at least "
                         f"{MIN_SECRET_BYTES} needed); {CREATE_HINT}", path=p,
                         mentions=HINT_NAMES)
    return Key(secret, str(p))


def normalise(domain: str, value: str) -> str:
    """The form of an identifier that is hashed: trimmed, inner white space collapsed;
    location ids also case-folded."""
    text = " ".join(value.split())
    return text.casefold() if domain == "location" else text


def pseudonym(key: Key, domain: str, value: str) -> str:
    """The keyed pseudonym of one identifier in a domain ('person', 'location' or 'ref')."""
    if domain not in DOMAINS:
        raise ValueError(f"domain should be one of {', '.join(DOMAINS)}, got {domain!r}")
    text = normalise(domain, value)
    if not text:
        raise ValueError("an empty identifier has no pseudonym")
    msg = domain.encode() + b"\x1f" + text.encode("utf-8")
    return hmac.new(key.secret, msg, hashlib.sha256).hexdigest()[:DIGEST_HEX]
