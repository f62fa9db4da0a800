"""Web commands: `saferboard serve` and `saferboard users add|passwd|role|enable|disable|list`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from saferboard import store
from saferboard.cli.common import (
    CasesDbOption,
    DbOption,
    MatrixOption,
    app,
    emit,
    err,
    login_name,
    out,
)
from saferboard.cli.common import Format as OutFormat
from saferboard.core.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Callable

    from saferboard.web.permissions import User

users_app = typer.Typer(help="Web accounts: add, passwd, role, enable, disable, list.",
                        no_args_is_help=True)
app.add_typer(users_app, name="users")


@app.command("serve")
def serve_cmd(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless TLS or "
                                      "--behind-proxy)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port", min=1, max=65535)] = 8000,
    secret_file: Annotated[Path | None, typer.Option(
        "--secret-file", help="File holding the web secret (default: "
        "$SAFERBOARD_WEB_SECRET); at least 32 characters, not a placeholder")] = None,
    tls_certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM)")] = None,
    tls_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    behind_proxy: Annotated[bool, typer.Option(
        "--behind-proxy", help="A TLS-terminating reverse proxy forwards to this server: "
        "cookies are Secure and the client address comes from X-Forwarded-For")] = False,
    trusted_proxies: Annotated[int, typer.Option(
        "--trusted-proxies", min=1, max=10, help="With --behind-proxy: how many proxies in "
        "front append to X-Forwarded-For; the client is the entry that many from the right "
        "(entries left of it are client-controlled and ignored)")] = 1,
    idle_minutes: Annotated[int, typer.Option(help="Session idle timeout", min=1)] = 30,
    absolute_hours: Annotated[int, typer.Option(help="Session absolute timeout", min=1)] = 8,
    docs: Annotated[bool, typer.Option("--docs", help="Serve the interactive API docs at "
                                       "/docs")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not cache measures")
                        ] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", help="Partnership configuration TOML (default: $SAFERBOARD_CONFIG, "
        "else the shipped one)")] = None,
    case_key_file: Annotated[Path | None, typer.Option(
        "--case-key-file", help="The case register's key (default: "
        "$SAFERBOARD_CASE_KEY_FILE); without one the case pages say the register is not "
        "configured")] = None,
    cases_db: CasesDbOption = None,
    risk_matrix: MatrixOption = None,
) -> None:
    """Serve the web dashboard (pages and the JSON API under /api/) with role-based access
    and an audit log. Refuses a placeholder secret, and a non-loopback --host without TLS or
    --behind-proxy."""
    import uvicorn

    from saferboard.web.app import create_app
    from saferboard.web.settings import Settings, read_secret

    settings = Settings(
        db=store.resolve_db_path(db), secret=read_secret(secret_file), host=host, port=port,
        tls_certfile=tls_certfile, tls_keyfile=tls_keyfile, behind_proxy=behind_proxy,
        trusted_proxies=trusted_proxies,
        idle_timeout_s=idle_minutes * 60, absolute_timeout_s=absolute_hours * 3600,
        enable_docs=docs, cache_measures=not no_cache,
        config_path=config or (Path(os.environ["SAFERBOARD_CONFIG"])
                               if os.environ.get("SAFERBOARD_CONFIG") else None),
        case_key_file=case_key_file or (Path(os.environ["SAFERBOARD_CASE_KEY_FILE"])
                                        if os.environ.get("SAFERBOARD_CASE_KEY_FILE")
                                        else None),
        cases_db=cases_db, risk_matrix=risk_matrix)
    web_app = create_app(settings)
    scheme = "https" if settings.tls else "http"
    err.print(f"saferboard web on {scheme}://{host}:{port}/ (Ctrl+C to stop)", markup=False,
              highlight=False)
    uvicorn.run(web_app, host=host, port=port, log_level="warning",
                ssl_certfile=str(tls_certfile) if tls_certfile else None,
                ssl_keyfile=str(tls_keyfile) if tls_keyfile else None,
                proxy_headers=False, server_header=False)


def _actor() -> str:
    return f"cli:{login_name()}"


def _change_user(db: Path | None, change: Callable[..., User], *args: Any,
                 **kwargs: Any) -> User:
    """One account change (a saferboard.web.auth function) on the store, stamped now and
    audited as the login name; the store is closed after it."""
    from saferboard.web.settings import utc_now

    con = store.connect(db)
    try:
        return change(con, *args, now=utc_now(), actor=_actor(), **kwargs)
    finally:
        con.close()


PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", help="Read the password from this file (first line) instead of "
    "prompting")]


def _password(password_file: Path | None) -> str:
    """The password from the file's first line, or asked for twice at the terminal."""
    if password_file is None:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    try:
        lines = password_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the password file: {getattr(e, 'strerror', None) or e}",
                         path=password_file) from None
    if not lines or not lines[0]:
        raise InputError("the password file is empty: put the password on its first line",
                         path=password_file)
    return lines[0]


@users_app.command("add")
def users_add_cmd(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="board, partner, analyst, manager, admin or dpo")],
    agency: Annotated[str | None, typer.Option(help="Agency (required for partner)")] = None,
    export: Annotated[bool, typer.Option("--export/--no-export",
                                         help="May download (a separate right)")] = False,
    password_file: PasswordFile = None,
    db: DbOption = None,
) -> None:
    """Add a web account (argon2id password hash; the change is in the audit log)."""
    from saferboard.web.auth import add_user, check_username, hash_password

    # Checked and hashed before the store is opened: argon2 never holds the file.
    name = check_username(username)
    hashed = hash_password(_password(password_file), name)
    user = _change_user(db, add_user, name, hashed, role, agency=agency, can_export=export)
    out.print(f"added {user.username} ({user.role}"
              + (f", {user.agency}" if user.agency else "")
              + (", may export" if user.can_export else "") + ")", markup=False,
              highlight=False)


@users_app.command("disable")
def users_disable_cmd(username: Annotated[str, typer.Argument(help="Login name")],
                      db: DbOption = None) -> None:
    """Disable an account and end its sessions at once (audited)."""
    from saferboard.web.auth import disable_user

    user = _change_user(db, disable_user, username)
    out.print(f"disabled {user.username}; their sessions have ended", markup=False,
              highlight=False)


@users_app.command("passwd")
def users_passwd_cmd(username: Annotated[str, typer.Argument(help="Login name")],
                     password_file: PasswordFile = None, db: DbOption = None) -> None:
    """Set an account's password (a reset: every session of the account ends; audited,
    never the password)."""
    from saferboard.web.auth import hash_password, set_password

    hashed = hash_password(_password(password_file), username.strip().lower())
    user = _change_user(db, set_password, username, hashed)
    out.print(f"password of {user.username} changed; their sessions have ended", markup=False,
              highlight=False)


@users_app.command("enable")
def users_enable_cmd(username: Annotated[str, typer.Argument(help="Login name")],
                     db: DbOption = None) -> None:
    """Enable a disabled account again (audited)."""
    from saferboard.web.auth import enable_user

    user = _change_user(db, enable_user, username)
    out.print(f"enabled {user.username}", markup=False, highlight=False)


@users_app.command("role")
def users_role_cmd(
    username: Annotated[str, typer.Argument(help="Login name")],
    role: Annotated[str, typer.Option(help="board, partner, analyst, manager, admin or dpo")],
    agency: Annotated[str | None, typer.Option(help="Agency (required for partner)")] = None,
    export: Annotated[bool | None, typer.Option(
        "--export/--no-export", help="May download (unchanged if neither is given)")] = None,
    db: DbOption = None,
) -> None:
    """Change an account's role and agency (and export right); its sessions end so the
    next request has the new permissions (audited with before and after)."""
    from saferboard.web.auth import set_role

    user = _change_user(db, set_role, username, role, agency=agency, can_export=export)
    out.print(f"{user.username} is now {user.role}"
              + (f" ({user.agency})" if user.agency else "")
              + (", may export" if user.can_export else ""), markup=False, highlight=False)


@users_app.command("list")
def users_list_cmd(db: DbOption = None,
                   fmt: Annotated[OutFormat, typer.Option("--format", help="Output format")]
                   = OutFormat.table) -> None:
    """List web accounts (never passwords)."""
    from saferboard.web.auth import list_users

    con = store.connect(db)
    try:
        users = list_users(con)
    finally:
        con.close()
    emit([{"username": u.username, "role": str(u.role), "agency": u.agency,
           "export": u.can_export, "disabled": u.disabled} for u in users], fmt,
         title="Web accounts")
