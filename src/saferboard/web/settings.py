"""Web settings, checked before the server starts: a placeholder or short secret, or a
non-loopback host without TLS or an explicit "behind a TLS proxy" flag, is refused."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from saferboard.core.errors import InputError

ENV_SECRET = "SAFERBOARD_WEB_SECRET"
PLACEHOLDERS = frozenset({"", "changeme", "change-me", "change_me", "secret", "password",
                          "placeholder", "dev", "development", "test", "xxx", "todo"})
MIN_SECRET_LENGTH = 32


def utc_now() -> datetime:
    return datetime.now(UTC)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Settings:
    """Everything the app needs. `clock` returns an aware UTC datetime; tests inject a
    frozen one to check the session timeouts."""

    db: Path
    secret: str
    host: str = "127.0.0.1"
    port: int = 8000
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    behind_proxy: bool = False  # a TLS-terminating reverse proxy in front (trusts X-Forwarded-For)
    # Proxies in front that append to X-Forwarded-For: the client is the entry this many from
    # the right (entries further left are whatever the client sent, so never trusted).
    trusted_proxies: int = 1
    idle_timeout_s: int = 30 * 60
    absolute_timeout_s: int = 8 * 60 * 60
    login_max_failures: int = 5  # per username, and x4 per client address, in the window
    login_window_s: int = 15 * 60
    max_body_bytes: int = 1024 * 1024  # any request body; refused (413) before it is read
    max_login_body_bytes: int = 16 * 1024  # /login: anonymous, so far smaller
    enable_docs: bool = False  # /docs (Swagger UI); the OpenAPI JSON is /api/openapi.json
    cache_measures: bool = True
    config_path: Path | None = None
    categories_path: Path | None = None
    # The case register (docs/cases.md): without a key file its pages say it is not configured.
    case_key_file: Path | None = None
    cases_db: Path | None = None
    risk_matrix: Path | None = None
    clock: Callable[[], datetime] = field(default=utc_now)

    @property
    def tls(self) -> bool:
        return self.tls_certfile is not None and self.tls_keyfile is not None

    @property
    def secure_cookies(self) -> bool:
        """Cookies marked Secure whenever browsers reach us over https."""
        return self.tls or self.behind_proxy

    def check(self) -> None:
        """Refuse settings that are unsafe to serve with (InputError naming the setting)."""
        if self.secret.strip().lower() in PLACEHOLDERS or len(self.secret) < MIN_SECRET_LENGTH:
            raise InputError(
                f"the web secret is a placeholder or shorter than {MIN_SECRET_LENGTH} "
                f"characters; set ${ENV_SECRET} (or --secret-file) to a long random value, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                column="secret")
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise InputError("give both --tls-certfile and --tls-keyfile, or neither",
                             column="--tls-certfile")
        if not is_loopback(self.host) and not (self.tls or self.behind_proxy):
            raise InputError(
                f"refusing to serve on {self.host!r} without TLS: use --tls-certfile and "
                "--tls-keyfile, or --behind-proxy when a TLS-terminating proxy forwards to "
                "this host (or serve on 127.0.0.1)", column="--host")
        for name, value in (("idle_timeout_s", self.idle_timeout_s),
                            ("absolute_timeout_s", self.absolute_timeout_s),
                            ("login_max_failures", self.login_max_failures),
                            ("login_window_s", self.login_window_s),
                            ("trusted_proxies", self.trusted_proxies),
                            ("max_body_bytes", self.max_body_bytes),
                            ("max_login_body_bytes", self.max_login_body_bytes)):
            if value < 1:
                raise InputError(f"{name} should be at least 1, got {value}", column=name)


def read_secret(secret_file: Path | None) -> str:
    """The secret from a file (first line) or from $SAFERBOARD_WEB_SECRET ('' if neither)."""
    if secret_file is not None:
        try:
            return secret_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise InputError(f"cannot read the secret file: {e.strerror}",
                             path=secret_file) from None
    return os.environ.get(ENV_SECRET, "")
