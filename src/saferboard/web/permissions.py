"""Roles and the one permission check used by pages, the JSON API and every download.

Deny by default: a role has exactly the permissions listed here, and a route that declares
no permission is refused at app creation. Exports are a separate right (`can_export` on the
account) on top of the permission to see what is exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from saferboard.core.audience import Audience
from saferboard.core.errors import SaferboardError


class Role(StrEnum):
    board = "board"  # board member
    partner = "partner"  # partner officer (with an agency)
    analyst = "analyst"
    manager = "manager"  # partnership manager
    admin = "admin"
    dpo = "dpo"  # data protection officer


ROLE_LABELS: dict[Role, str] = {
    Role.board: "Board member", Role.partner: "Partner officer", Role.analyst: "Analyst",
    Role.manager: "Partnership manager", Role.admin: "Administrator",
    Role.dpo: "Data protection officer",
}


class Perm(StrEnum):
    public = "public"  # no login needed (login page, static files, OpenAPI document)
    authenticated = "authenticated"  # any signed-in account (home, own account, logout)
    dashboards = "dashboards"  # overview, category pages, targets (aggregate crime data)
    people = "people"  # repeat victimisation, MARAC, cohort: suppressed aggregates
    data = "data"  # imports, data-quality report, as-at dates
    records = "records"  # pseudonymised record-level data (audited on every view)
    governance = "governance"  # funded projects and the action plan (own agency only,
    #                            unless all_agencies)
    all_agencies = "all_agencies"  # every agency's projects, actions and returns
    submit_update = "submit_update"  # quarterly returns and action updates (own agency)
    manage_governance = "manage_governance"  # the partnership manager's governance role
    users = "users"  # accounts and roles
    audit = "audit"  # reading the audit log
    export = "export"  # downloads: also needs the account's can_export
    cases = "cases"  # the case register: own agency's (owned or shared) cases, identifiable
    case_figures = "case_figures"  # case register aggregates, small counts suppressed


ROLE_PERMS: dict[Role, frozenset[Perm]] = {
    Role.board: frozenset({Perm.dashboards, Perm.people, Perm.governance,
                           Perm.all_agencies, Perm.case_figures}),
    Role.partner: frozenset({Perm.dashboards, Perm.governance, Perm.submit_update,
                             Perm.cases, Perm.case_figures}),
    Role.analyst: frozenset({Perm.dashboards, Perm.people, Perm.data, Perm.records,
                             Perm.governance, Perm.all_agencies, Perm.case_figures}),
    Role.manager: frozenset({Perm.dashboards, Perm.governance, Perm.all_agencies,
                             Perm.submit_update, Perm.manage_governance, Perm.cases,
                             Perm.case_figures}),
    Role.admin: frozenset({Perm.users}),
    Role.dpo: frozenset({Perm.audit}),
}


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: Role
    agency: str | None
    can_export: bool
    disabled: bool = False


class NotAuthenticated(SaferboardError):
    http_status = 401


class Forbidden(SaferboardError, PermissionError):
    http_status = 403


class NotFound(SaferboardError, LookupError):
    """Also the answer for another agency's object: its existence is not disclosed."""

    http_status = 404


def allowed(user: User | None, perm: Perm) -> bool:
    """Whether `user` holds `perm` (the one rule; `check` raises on it)."""
    if perm is Perm.public:
        return True
    if user is None or user.disabled:
        return False
    if perm is Perm.authenticated:
        return True
    if perm is Perm.export:
        # Exporting needs the separate right; what is exported is checked on its own.
        return user.can_export
    return perm in ROLE_PERMS[user.role]


def check(user: User | None, *perms: Perm, agency: str | None = None) -> None:
    """Raise unless `user` holds every one of `perms`; with `agency`, also unless the object
    belongs to the user's agency or the user sees every agency's (404 then, not 403)."""
    for perm in perms:
        if not allowed(user, perm):
            if user is None:
                raise NotAuthenticated("sign in first")
            raise Forbidden(f"{user.role} may not use {perm}")
    if agency is not None:
        assert user is not None
        if not can_see_agency(user, agency):
            raise NotFound("no such item")


def can_see_agency(user: User, agency: str) -> bool:
    if allowed(user, Perm.all_agencies):
        return True
    return (allowed(user, Perm.governance) and user.agency is not None
            and user.agency.strip().lower() == agency.strip().lower())


def audience(user: User) -> Audience:
    """What this user's board pack (HTML, PDF, XLSX) may contain, derived from `allowed`,
    the rule their pages and the CSV tables use: people pages with Perm.people; projects and
    actions with Perm.governance, every agency's only with Perm.all_agencies."""
    governance = allowed(user, Perm.governance)
    all_agencies = allowed(user, Perm.all_agencies)
    if governance and not all_agencies and user.agency is None:
        governance = False  # an officer with no agency has no projects or actions to see
    return Audience(people=allowed(user, Perm.people), governance=governance,
                    agency=None if all_agencies else user.agency)
