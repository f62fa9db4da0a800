"""Accounts (argon2id password hashes), server-side sessions and login throttling.

Sessions: the cookie holds a random 256-bit token; the store keeps only its HMAC under the
app secret, with the account, a CSRF token and two times. A new token is issued at every
login (the old cookie is never reused: no session fixation), the row is deleted at logout and
every session of an account is deleted when it is disabled. A session ends after
`idle_timeout_s` without a request (the idle timer is refreshed at most every tenth of it,
capped at a minute, so it may end up to that much early) or `absolute_timeout_s` after
login, whichever is first.

Sessions read from the store are kept in memory, per store connection (`SessionCache`), so
that a page view does not query the store for its session: see `cached_session`. Logout,
disable and timeouts still end a session at once (they drop it from the cache as they
delete it from the store).

Throttling counts failed logins in `login_window_s` three ways, so that an attacker's
failures never lock out someone else: per username *and* client address
(`login_max_failures`), per client address (four times that, any username) and per username
from every address (ten times that), the last not applied to a browser that has signed in
to that account before (it holds a device cookie, `device_token`). A throttled attempt gets
the same message as a wrong password, so the answer never tells whether an account exists,
and costs no argon2 work. Password hashing and checking run outside the store connection
(`login` takes the `Database`), so they never hold up page reads.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.web import audit
from saferboard.web.audit import naive_utc
from saferboard.web.permissions import Role, User
from saferboard.web.settings import Settings

if TYPE_CHECKING:
    from saferboard.web.db import Database

MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn 0-4; 3 = "safely unguessable: moderate protection"
# Lower-case ASCII letters and digits, then also . _ - @ (so e-mail addresses fit): no
# look-alikes from other scripts (Cyrillic U+0430 is not "a"), no spaces or control characters.
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
USERNAME_RULE = ("1-64 lower-case ASCII letters, digits or . _ - @, starting with a letter or "
                 "digit")
LOGIN_FAILED = "Unknown username or wrong password, or too many attempts: try again later."
_HASHER = PasswordHasher(type=Type.ID)  # argon2id, the library's RFC 9106 low-memory profile
# Verified against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class PasswordHash:
    """An argon2id hash made before a store connection is taken (hashing costs ~50 ms of
    CPU; under the connection lock every page read would wait for it)."""

    value: str


def check_password(password: str, username: str = "") -> None:
    """Refuse short passwords and ones a guesser tries early: common passwords, repeats
    ("aaaa...", "abcabc..."), keyboard runs, dates, and ones built from the username
    (zxcvbn, the estimator of Dropbox; score below MIN_PASSWORD_SCORE of 0-4)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters, got "
                         f"{len(password)}", column="password")
    # zxcvbn's cost grows with length; the first 100 characters decide anyway.
    result = zxcvbn(password[:100], user_inputs=[username, "saferboard"])
    if int(result["score"]) < MIN_PASSWORD_SCORE:
        warning = str(result["feedback"].get("warning") or "").rstrip(".")
        raise InputError("this password is too easy to guess" + (f" ({warning})" if warning
                         else "") + "; use a longer phrase of unrelated words",
                         column="password")


def hash_password(password: str, username: str = "") -> PasswordHash:
    check_password(password, username)
    return PasswordHash(_HASHER.hash(password))


def check_username(username: str) -> str:
    """The stored form of a new username (stripped, lower case), or InputError."""
    name = username.strip()
    # ASCII first: str.lower() maps some non-ASCII letters to ASCII (KELVIN SIGN -> "k").
    if not name.isascii() or not USERNAME_PATTERN.fullmatch(name.lower()):
        raise InputError(f"a username is {USERNAME_RULE}, got {username!r}", column="username")
    return name.lower()


def verify_password(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _user(row: tuple[object, ...]) -> User:
    return User(int(str(row[0])), str(row[1]), Role(str(row[2])),
                None if row[3] is None else str(row[3]), bool(row[4]), bool(row[5]))


USER_COLUMNS = "user_id, username, role, agency, can_export, disabled"


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    rows = con.execute(f"SELECT {USER_COLUMNS} FROM web_users ORDER BY username").fetchall()
    return [_user(r) for r in rows]


def get_user(con: duckdb.DuckDBPyConnection, username: str) -> User | None:
    row = store.one(con, f"SELECT {USER_COLUMNS} FROM web_users WHERE username = ?",
                    [username.strip().lower()])
    return _user(row) if row else None


def _public(u: User) -> dict[str, object]:
    return {"username": u.username, "role": str(u.role), "agency": u.agency,
            "can_export": u.can_export, "disabled": u.disabled}


def _role(role: Role | str, agency: str | None) -> tuple[Role, str | None]:
    try:
        checked = Role(role)
    except ValueError:
        raise InputError(f"role should be one of {', '.join(r.value for r in Role)}, got "
                         f"{role!r}", column="role") from None
    agency = (agency or "").strip() or None
    if checked is Role.partner and agency is None:
        raise InputError("a partner officer needs an agency (--agency)", column="agency")
    return checked, agency


def add_user(con: duckdb.DuckDBPyConnection, username: str, password: str | PasswordHash,
             role: Role | str, *, agency: str | None, can_export: bool, now: datetime,
             actor: str, actor_role: str | None = None, client: str | None = None) -> User:
    """Create an account (audited as a change with its after-state; never the password).
    Give a `PasswordHash` made beforehand to keep argon2 out of the connection's time."""
    name = check_username(username)
    role, agency = _role(role, agency)
    if get_user(con, name) is not None:
        raise InputError(f"user {name!r} exists already", column="username")
    hashed = (password if isinstance(password, PasswordHash)
              else hash_password(password, name)).value
    at = naive_utc(now)
    with store.transaction(con):
        row = store.one(con, "SELECT nextval('web_user_ids')")
        assert row is not None
        con.execute("INSERT INTO web_users VALUES (?, ?, ?, ?, ?, ?, false, ?, ?)",
                    [int(str(row[0])), name, hashed, str(role), agency, can_export, at, at])
        user = get_user(con, name)
        assert user is not None
        audit.record(con, at=now, actor=actor, role=actor_role, action="user.add",
                     obj=f"user:{name}", client=client, after=_public(user))
    return user


def disable_user(con: duckdb.DuckDBPyConnection, username: str, *, now: datetime, actor: str,
                 actor_role: str | None = None, client: str | None = None) -> User:
    """Disable an account and end all its sessions at once (audited with before/after)."""
    return _change(con, username, "disabled = true", [], action="user.disable",
                   end_sessions=True, now=now, actor=actor, actor_role=actor_role,
                   client=client)


def _change(con: duckdb.DuckDBPyConnection, username: str, assignments: str,
            params: list[object], *, action: str, end_sessions: bool, now: datetime,
            actor: str, actor_role: str | None, client: str | None,
            keep_session: str | None = None) -> User:
    """One change to an account and its audit row, in one transaction (a process killed
    between them keeps neither)."""
    before = get_user(con, username)
    if before is None:
        raise InputError(f"no user {username!r}", column="username")
    try:
        with store.transaction(con):
            con.execute(f"UPDATE web_users SET {assignments}, updated_at = ? "
                        "WHERE user_id = ?", [*params, naive_utc(now), before.user_id])
            if end_sessions:
                con.execute("DELETE FROM web_sessions WHERE user_id = ? "
                            "AND session_hash IS DISTINCT FROM ?",
                            [before.user_id, keep_session])
            after = get_user(con, username)
            assert after is not None
            audit.record(con, at=now, actor=actor, role=actor_role, action=action,
                         obj=f"user:{before.username}", client=client,
                         before=_public(before), after=_public(after))
    finally:
        forget_sessions(con, user_id=before.user_id)
    return after


def enable_user(con: duckdb.DuckDBPyConnection, username: str, *, now: datetime, actor: str,
                actor_role: str | None = None, client: str | None = None) -> User:
    """Enable a disabled account again (audited with before/after)."""
    return _change(con, username, "disabled = false", [], action="user.enable",
                   end_sessions=False, now=now, actor=actor, actor_role=actor_role,
                   client=client)


def set_role(con: duckdb.DuckDBPyConnection, username: str, role: Role | str, *,
             agency: str | None, can_export: bool | None = None, now: datetime, actor: str,
             actor_role: str | None = None, client: str | None = None) -> User:
    """Change an account's role and agency (and export right, if given); its sessions end,
    so the next request is made with the new permissions (audited with before/after)."""
    checked, agency = _role(role, agency)
    sets, params = "role = ?, agency = ?", list[object]([str(checked), agency])
    if can_export is not None:
        sets += ", can_export = ?"
        params.append(can_export)
    return _change(con, username, sets, params, action="user.role", end_sessions=True,
                   now=now, actor=actor, actor_role=actor_role, client=client)


def set_password(con: duckdb.DuckDBPyConnection, username: str, password: PasswordHash, *,
                 now: datetime, actor: str, actor_role: str | None = None,
                 client: str | None = None, keep_session: str | None = None) -> User:
    """Replace an account's password (hash it first with `hash_password`); every session of
    the account ends except `keep_session` (the one that changed it). Audited, never the
    password or its hash."""
    return _change(con, username, "password_hash = ?", [password.value],
                   action="user.password", end_sessions=True, now=now, actor=actor,
                   actor_role=actor_role, client=client, keep_session=keep_session)


def check_current_password(db: Database, settings: Settings, username: str, password: str,
                           client: str) -> bool:
    """Whether `password` is the account's current one (argon2 outside the connection). A
    wrong one counts as a failed login for the account from `client` (and is audited), and
    a throttled account answers False unchecked: a stolen session guesses no faster than
    the login form."""
    now = settings.clock()
    with db.connect() as con:
        if throttle_reason(con, settings, username, client, now, known=True) is not None:
            return False
        row = store.one(con, "SELECT password_hash, role FROM web_users WHERE username = ?",
                        [username])
    if row is not None and verify_password(str(row[0]), password):
        return True
    with db.connect() as con, store.transaction(con):
        con.execute("INSERT INTO web_login_attempts VALUES (?, ?, ?, false)",
                    [username, client, naive_utc(now)])
        audit.record(con, at=now, actor=username, role=str(row[1]) if row else None,
                     action="user.password", obj=f"user:{username}", outcome="failed",
                     client=client, after={"reason": "wrong current password"})
    return False


# ------------------------------------------------------------------------------ sessions

@dataclass(frozen=True)
class Session:
    token_hash: str
    user: User
    csrf_token: str
    created_at: datetime
    last_seen: datetime


def _token_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def _touch_interval(settings: Settings) -> timedelta:
    """How often the idle timer is written: a tenth of the idle timeout, at most a minute."""
    return timedelta(seconds=min(60, settings.idle_timeout_s / 10))


class SessionCache:
    """Live sessions read from the store through one connection, by session hash.

    Valid only as long as that connection stays open (the cache belongs to the connection
    object, see `_session_cache`): another process (`saferboard users disable`, an import)
    can write to the file only while the web app has it closed, and a reopened connection
    starts with an empty cache. Within the process, every change to `web_sessions` or
    `web_users` is made by this module through the same connection, under the app's
    connection lock, and drops the entries it affects after writing (code elsewhere that
    changes them must call `forget_sessions`)."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> Session | None:
        return self._items.get(digest)

    def put(self, session: Session) -> None:
        with self._lock:
            if len(self._items) >= self.MAX_ENTRIES:
                self._items.clear()
            self._items[session.token_hash] = session

    def drop(self, digest: str) -> None:
        with self._lock:
            self._items.pop(digest, None)

    def drop_user(self, user_id: int | None = None) -> None:
        """Every session of the account (of every account when None)."""
        with self._lock:
            if user_id is None:
                self._items.clear()
            else:
                self._items = {k: s for k, s in self._items.items()
                               if s.user.user_id != user_id}


# One cache per connection object. Lookups only ever go through the app's open connection,
# so entries read before the file was released to another process are never used again
# (and are freed with their connection). Not shared between apps: each has its own.
_CACHES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, SessionCache] = \
    weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _session_cache(con: duckdb.DuckDBPyConnection) -> SessionCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(con)
        if cache is None:
            cache = _CACHES[con] = SessionCache()
        return cache


def forget_sessions(con: duckdb.DuckDBPyConnection, *, user_id: int | None = None) -> None:
    """Drop cached sessions read through `con` (of one account, or all): call after any
    change to `web_sessions` or `web_users` made other than through this module."""
    cache = _CACHES.get(con)
    if cache is not None:
        cache.drop_user(user_id)


def device_token(settings: Settings, username: str) -> str:
    """The device cookie given at a successful login: proof that this browser has signed in
    to `username` before, which exempts it from the per-username limit (an attacker's
    failures from elsewhere then cannot lock its owner out)."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_device_mac(settings, username, nonce)}"


def _device_mac(settings: Settings, username: str, nonce: str) -> str:
    return hmac.new(settings.secret.encode(), f"device|{username}|{nonce}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def known_device(settings: Settings, username: str, token: str | None) -> bool:
    if not token or len(token) > 80 or "." not in token:
        return False
    nonce, mac = token.split(".", 1)
    return hmac.compare_digest(mac, _device_mac(settings, username, nonce))


def throttle_reason(con: duckdb.DuckDBPyConnection, settings: Settings, name: str,
                    client: str, now: datetime, *, known: bool) -> str | None:
    """Why a login attempt is refused before its password is checked (None: it is not).
    Each limit counts failures in the window; see the module docstring."""
    since = naive_utc(now) - timedelta(seconds=settings.login_window_s)
    row = store.one(con, """SELECT
        count(*) FILTER (WHERE username = ? AND client = ?), count(*) FILTER (WHERE client = ?),
        count(*) FILTER (WHERE username = ?)
        FROM web_login_attempts WHERE NOT success AND attempted_at > ?""",
                    [name, client, client, name, since])
    assert row is not None
    pair, by_client, by_name = (int(str(v)) for v in row)
    limit = settings.login_max_failures
    if pair >= limit:
        return "throttled: username from this address"
    if by_client >= 4 * limit:
        return "throttled: this address"
    if by_name >= 10 * limit and not known:
        return "throttled: username from every address"
    return None


@dataclass(frozen=True)
class LoginOutcome:
    """A login attempt's result: `token` and `session` when it succeeded; `throttled` says
    the attempt was refused unchecked (the app folds repeats of those in the audit log)."""

    token: str | None
    session: Session | None
    reason: str
    throttled: bool


def login(db: Database, settings: Settings, username: str, password: str, client: str,
          device: str | None = None, *, audit_failure: bool = True) -> LoginOutcome:
    """A new session for correct credentials. Every attempt that is checked is in the audit
    log with its outcome (a throttled one too, unless `audit_failure` is False: the caller
    then records it, aggregated). argon2 runs between two short connection blocks."""
    now = settings.clock()
    at = naive_utc(now)
    name = username.strip().lower()[:64]
    with db.connect() as con:
        con.execute("DELETE FROM web_login_attempts WHERE attempted_at < ?",
                    [at - timedelta(seconds=settings.login_window_s)])
        # Sessions past either timeout are dead anyway; forget them.
        con.execute("DELETE FROM web_sessions WHERE created_at < ? OR last_seen < ?",
                    [at - timedelta(seconds=settings.absolute_timeout_s),
                     at - timedelta(seconds=settings.idle_timeout_s)])
        throttled = throttle_reason(con, settings, name, client, now,
                                    known=known_device(settings, name, device))
        row = store.one(con, "SELECT password_hash, disabled, role FROM web_users "
                             "WHERE username = ?", [name])
    role = str(row[2]) if row else None
    if throttled is not None:
        # Refused unchecked, and not counted again: the attempts table (and argon2's CPU)
        # cannot be grown by a client that keeps trying.
        if audit_failure:
            with db.connect() as con:
                audit.record(con, at=now, actor=name or "(empty)", role=role, action="login",
                             obj=f"user:{name}", outcome="failed", client=client,
                             after={"reason": throttled})
        return LoginOutcome(None, None, throttled, True)
    # argon2 once for unknown and disabled accounts too, so they cost the same time.
    ok = verify_password(str(row[0]) if row else _DUMMY_HASH, password)
    ok = ok and row is not None and not bool(row[1])
    reason = ("ok" if ok else "unknown user" if row is None
              else "disabled" if row is not None and bool(row[1]) else "wrong password")
    with db.connect() as con, store.transaction(con):
        con.execute("INSERT INTO web_login_attempts VALUES (?, ?, ?, ?)", [name, client, at, ok])
        audit.record(con, at=now, actor=name or "(empty)", role=role, action="login",
                     obj=f"user:{name}", outcome="ok" if ok else "failed", client=client,
                     after=None if ok else {"reason": reason})
        if not ok:
            return LoginOutcome(None, None, reason, False)
        user = get_user(con, name)
        assert user is not None
        token = secrets.token_urlsafe(32)
        session = Session(_token_hash(settings, token), user, secrets.token_urlsafe(32), at,
                          at)
        con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                    [session.token_hash, user.user_id, session.csrf_token, at, at])
    return LoginOutcome(token, session, reason, False)


def valid_token(token: str | None) -> bool:
    """Whether a cookie value can be a session token at all (else: anonymous, no lookup)."""
    return bool(token) and len(token or "") <= 128


def cached_session(con: duckdb.DuckDBPyConnection | None, settings: Settings,
                   token: str | None) -> Session | None:
    """The session for a cookie token when the cache of the open connection `con` can
    answer without the store: the session is cached (so it was live when read through
    `con`, and nothing has ended it since), is within the absolute timeout and its idle timer
    is not yet due to be written. None means "ask `current_session`", which decides."""
    if con is None or not valid_token(token):
        return None
    cache = _CACHES.get(con)
    if cache is None:
        return None
    session = cache.get(_token_hash(settings, str(token)))
    if session is None:
        return None
    now = naive_utc(settings.clock())
    # The touch interval is shorter than the idle timeout, so this also covers idleness.
    if (now - session.last_seen >= _touch_interval(settings) or now < session.last_seen
            or now - session.created_at > timedelta(seconds=settings.absolute_timeout_s)):
        return None
    return session


def current_session(con: duckdb.DuckDBPyConnection, settings: Settings, token: str | None
                    ) -> Session | None:
    """The live session for a cookie token (touching its idle timer), or None when there
    is none, it timed out (deleted then) or its account is disabled. Reads the store and
    caches the answer for `cached_session`."""
    if not valid_token(token):
        return None
    digest = _token_hash(settings, str(token))
    cache = _session_cache(con)
    row = store.one(con, f"""SELECT s.csrf_token, s.created_at, s.last_seen,
        {', '.join('u.' + c.strip() for c in USER_COLUMNS.split(','))}
        FROM web_sessions s JOIN web_users u USING (user_id) WHERE s.session_hash = ?""",
                    [digest])
    if row is None:
        cache.drop(digest)
        return None
    now = naive_utc(settings.clock())
    created, last_seen = row[1], row[2]
    assert isinstance(created, datetime) and isinstance(last_seen, datetime)
    user = _user(row[3:])
    if (user.disabled or now - last_seen > timedelta(seconds=settings.idle_timeout_s)
            or now - created > timedelta(seconds=settings.absolute_timeout_s)):
        try:
            con.execute("DELETE FROM web_sessions WHERE session_hash = ?", [digest])
        finally:
            cache.drop(digest)
        return None
    # Touch the idle timer at most every tenth of the idle timeout (and at most every
    # minute): a write per request would serialise every page behind a commit.
    if now - last_seen >= _touch_interval(settings):
        con.execute("UPDATE web_sessions SET last_seen = ? WHERE session_hash = ?",
                    [now, digest])
        last_seen = now
    session = Session(digest, user, str(row[0]), created, last_seen)
    cache.put(session)
    return session


def logout(con: duckdb.DuckDBPyConnection, session: Session) -> None:
    try:
        con.execute("DELETE FROM web_sessions WHERE session_hash = ?", [session.token_hash])
    finally:
        _session_cache(con).drop(session.token_hash)
