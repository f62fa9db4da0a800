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

Throttling: more than `login_max_failures` failed logins for a username (known or not) in
`login_window_s`, or four times that from one client address, refuses further attempts
in the window with the same message as a wrong password, so the answer never tells whether
an account exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from saferboard import store
from saferboard.core.errors import InputError
from saferboard.web import audit
from saferboard.web.audit import naive_utc
from saferboard.web.permissions import Role, User
from saferboard.web.settings import Settings

MIN_PASSWORD_LENGTH = 12
LOGIN_FAILED = "Unknown username or wrong password, or too many attempts: try again later."
_HASHER = PasswordHasher(type=Type.ID)  # argon2id, the library's RFC 9106 low-memory profile
# Verified against when the username is unknown, so both answers take as long.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters, got "
                         f"{len(password)}", column="password")
    return _HASHER.hash(password)


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


def add_user(con: duckdb.DuckDBPyConnection, username: str, password: str, role: Role | str,
             *, agency: str | None, can_export: bool, now: datetime, actor: str,
             actor_role: str | None = None, client: str | None = None) -> User:
    """Create an account (audited as a change with its after-state; never the password)."""
    name = username.strip().lower()
    if not name or len(name) > 64 or not all(c.isalnum() or c in "._-@" for c in name):
        raise InputError(f"a username is 1-64 letters, digits or . _ - @, got {username!r}",
                         column="username")
    try:
        role = Role(role)
    except ValueError:
        raise InputError(f"role should be one of {', '.join(r.value for r in Role)}, got "
                         f"{role!r}", column="role") from None
    agency = (agency or "").strip() or None
    if role is Role.partner and agency is None:
        raise InputError("a partner officer needs an agency (--agency)", column="agency")
    if get_user(con, name) is not None:
        raise InputError(f"user {name!r} exists already", column="username")
    hashed = hash_password(password)
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
    before = get_user(con, username)
    if before is None:
        raise InputError(f"no user {username!r}", column="username")
    try:
        with store.transaction(con):
            con.execute("UPDATE web_users SET disabled = true, updated_at = ? "
                        "WHERE user_id = ?", [naive_utc(now), before.user_id])
            con.execute("DELETE FROM web_sessions WHERE user_id = ?", [before.user_id])
            after = get_user(con, username)
            assert after is not None
            audit.record(con, at=now, actor=actor, role=actor_role, action="user.disable",
                         obj=f"user:{before.username}", client=client,
                         before=_public(before), after=_public(after))
    finally:
        forget_sessions(con, user_id=before.user_id)
    return after


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


def _throttled(con: duckdb.DuckDBPyConnection, settings: Settings, name: str, client: str,
               now: datetime) -> bool:
    since = naive_utc(now) - timedelta(seconds=settings.login_window_s)
    row = store.one(con, """SELECT
        count(*) FILTER (WHERE username = ?), count(*) FILTER (WHERE client = ?)
        FROM web_login_attempts WHERE NOT success AND attempted_at > ?""", [name, client, since])
    assert row is not None
    by_name, by_client = int(str(row[0])), int(str(row[1]))
    return (by_name >= settings.login_max_failures
            or by_client >= 4 * settings.login_max_failures)


def login(con: duckdb.DuckDBPyConnection, settings: Settings, username: str, password: str,
          client: str) -> tuple[str, Session] | None:
    """A new session (cookie token, session) for correct credentials; None otherwise, with
    the attempt and its outcome in the audit log."""
    now = settings.clock()
    at = naive_utc(now)
    name = username.strip().lower()[:64]
    con.execute("DELETE FROM web_login_attempts WHERE attempted_at < ?",
                [at - timedelta(seconds=settings.login_window_s)])
    # Sessions past either timeout are dead anyway; forget them.
    con.execute("DELETE FROM web_sessions WHERE created_at < ? OR last_seen < ?",
                [at - timedelta(seconds=settings.absolute_timeout_s),
                 at - timedelta(seconds=settings.idle_timeout_s)])
    throttled = _throttled(con, settings, name, client, now)
    row = store.one(con, "SELECT password_hash, disabled, role FROM web_users "
                         "WHERE username = ?", [name])
    # Always run argon2 once, so unknown, disabled and throttled cost the same time.
    ok = verify_password(str(row[0]) if row else _DUMMY_HASH, password)
    ok = ok and row is not None and not bool(row[1]) and not throttled
    con.execute("INSERT INTO web_login_attempts VALUES (?, ?, ?, ?)", [name, client, at, ok])
    reason = ("ok" if ok else "throttled" if throttled else "unknown user" if row is None
              else "disabled" if bool(row[1]) else "wrong password")
    audit.record(con, at=now, actor=name or "(empty)", role=str(row[2]) if row else None,
                 action="login", obj=f"user:{name}", outcome="ok" if ok else "failed",
                 client=client, after=None if ok else {"reason": reason})
    if not ok:
        return None
    user = get_user(con, name)
    assert user is not None
    token = secrets.token_urlsafe(32)
    session = Session(_token_hash(settings, token), user, secrets.token_urlsafe(32), at, at)
    con.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, ?)",
                [session.token_hash, user.user_id, session.csrf_token, at, at])
    return token, session


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
