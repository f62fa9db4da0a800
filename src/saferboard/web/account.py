"""The signed-in user's own account: the password change page.

The current password is checked and the new one hashed outside the store connection (argon2
takes tens of milliseconds of CPU; page reads must not wait behind it). A wrong current
password counts as a failed login for the account from that address, so a stolen session
cannot be used to guess the password faster than the login form allows. A change ends
every other session of the account and is audited (never the password)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from saferboard.core.errors import InputError
from saferboard.web import auth
from saferboard.web.deps import Need, Principal, state
from saferboard.web.permissions import Perm
from saferboard.web.rendering import render

router = APIRouter(include_in_schema=False)
SignedIn = Annotated[Principal, Depends(Need(Perm.authenticated))]
PasswordF = Annotated[str, Form(max_length=1024)]


def _page(request: Request, p: Principal, status: int = 200, error: str | None = None,
          changed: bool = False) -> Response:
    return render(request, "password.html.j2", p, status=status, error=error,
                  changed=changed, min_length=auth.MIN_PASSWORD_LENGTH)


@router.get("/account/password")
def password_form(request: Request, p: SignedIn) -> Response:
    return _page(request, p)


@router.post("/account/password")
def password_change(request: Request, p: SignedIn, current: PasswordF, new: PasswordF,
                    confirm: PasswordF) -> Response:
    st = state(request)
    assert p.user is not None and p.session is not None
    if not auth.check_current_password(st.db, st.settings, p.user.username, current,
                                       p.client):
        return _page(request, p, 400, "The current password is wrong (or there have been "
                     "too many wrong attempts: try again later).")
    if new != confirm:
        return _page(request, p, 400, "The two new passwords differ.")
    if new == current:
        return _page(request, p, 400, "The new password is the current one.")
    try:
        hashed = auth.hash_password(new, p.user.username)
    except InputError as e:
        return _page(request, p, 400, f"Not changed: {e.detail}.")
    with st.db.connect() as con:
        auth.set_password(con, p.user.username, hashed, now=st.settings.clock(),
                          actor=p.actor, actor_role=p.role, client=p.client,
                          keep_session=p.session.token_hash)
    return _page(request, p, changed=True)

