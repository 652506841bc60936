"""The audit's rules: from the catalog and what was read live (Salesforce, Vault custody metadata, each stored
credential's test read) to findings. Pure functions, no I/O, so every rule is tested on its own.

Each finding has a severity, evidence (ids, dates, paths; never a secret), the fix, and whether a handover
fixes it (then Slack offers a "Hand over" button for its catalog entry).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from clients.salesforce_audit import OrgSnapshot, OrgUser
from flows.catalog import Catalog, Integration

SEVERITIES = ("critical", "high", "medium", "low")
KINDS = {
    "leaver-authorisation": ("critical", "A leaver's authorisations are still present"),
    "personal-account": ("high", "Running as a personal account, not a dedicated integration user"),
    "credential-broken": ("high", "Stored credentials that fail their test call"),
    "login-outside-ranges": ("high", "Integration users' logins from outside their login IP ranges"),
    "interactive-login": ("high", "Interactive logins by integration users that should log in by API only"),
    "credential-stale": ("medium", "Credentials older than the catalog's maximum age"),
    "token-limit": ("medium", "4 or 5 tokens for one app: the next authorisation silently revokes the oldest"),
}
TOKENS_PER_APP = 5  # Salesforce keeps five per user and connected app
INTERACTIVE = {"Application"}  # LoginType of a browser login (the UI); API logins are SOAP/OAuth/JWT


@dataclass(frozen=True)
class AuditFinding:
    id: str  # unique in this audit run; the handover's idempotency key
    kind: str
    severity: str
    subject: str
    summary: str
    evidence: dict[str, str]
    fix: str
    integration_id: str | None = None
    handover: bool = False  # a handover of integration_id fixes it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CredentialFacts:
    """One stored credential: its custody labels and its test read (``ok`` None: not tested)."""

    integration_id: str
    path: str
    test: str
    exists: bool
    current_version: int | None = None
    rotated_at: str = ""
    ok: bool | None = None
    detail: str = ""


@dataclass
class AuditInput:
    catalog: Catalog
    org: OrgSnapshot
    credentials: list[CredentialFacts] = field(default_factory=list)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    run_tag: str = "audit"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "x"


class _Findings:
    def __init__(self, run_tag: str) -> None:
        self.run_tag = run_tag
        self.items: list[AuditFinding] = []

    def add(self, kind: str, subject: str, summary: str, evidence: dict[str, str], fix: str,
            entry: Integration | None = None, handover: bool = False) -> None:  # fmt: skip
        ident = f"{self.run_tag}-{kind}-{_slug(entry.id if entry else subject)}"
        if entry is not None and subject != entry.id:
            ident += f"-{_slug(subject)}"
        self.items.append(
            AuditFinding(ident, kind, KINDS[kind][0], subject, summary, evidence, fix,
                         entry.id if entry else None, handover and entry is not None)
        )  # fmt: skip


def _apps(catalog: Catalog) -> dict[str, list[Integration]]:
    out: dict[str, list[Integration]] = {}
    for entry in catalog.integrations:
        app = entry.connections.get("salesforce")
        if app:
            out.setdefault(app, []).append(entry)
    return out


def _entry_for(entries: list[Integration], username: str) -> Integration | None:
    return next((e for e in entries if e.runs_as(username)), entries[0] if entries else None)


def _rows(org: OrgSnapshot) -> dict[tuple[str, str], list[Any]]:
    grouped: dict[tuple[str, str], list[Any]] = {}
    for token in org.tokens:
        grouped.setdefault((token.app_name, token.user_id), []).append(token)
    return grouped


def _leavers(data: AuditInput, out: _Findings) -> None:
    apps = _apps(data.catalog)
    for (app, user_id), rows in sorted(_rows(data.org).items()):
        user = data.org.users.get(user_id)
        if user is None or (user.active and not user.frozen):
            continue
        state = "inactive" if not user.active else "frozen"
        entry = _entry_for(apps.get(app, []), user.username)
        fix = (f"hand {entry.id} over to a dedicated integration user, then revoke {user.username}'s tokens "
               "(Setup > Connected Apps OAuth Usage > the app > User > Revoke)") if entry else (
               f"'{app}' is not in the catalog: add it (docs/offboarding.md) and hand it over, or revoke "
               f"{user.username}'s tokens if nothing uses them")  # fmt: skip
        evidence = {"app": app, "user_id": user_id, "username": user.username, "user_state": state,
                    "tokens": str(len(rows)), "oldest_authorised": rows[0].created[:10],
                    "last_used": max(r.last_used for r in rows)[:10]}  # fmt: skip
        out.add("leaver-authorisation", f"{app} / {user.username}",
                f"{user.username} is {state} but still authorises '{app}' ({len(rows)} token(s))",
                evidence, fix, entry, handover=True)  # fmt: skip


def _personal(data: AuditInput, out: _Findings) -> None:
    tokens = _rows(data.org)
    for entry in data.catalog.integrations:
        reasons: list[str] = []
        evidence: dict[str, str] = {"integration_user": str(entry.integration_user)}
        if entry.successor is None:
            reasons.append("the catalog names no successor (no dedicated integration user)")
            evidence["catalog_successor"] = "unset"
        app = entry.connections.get("salesforce")
        people: list[OrgUser] = []
        for name, user_id in tokens:
            user = data.org.users.get(user_id)
            if name == app and user is not None and user.active and not user.frozen and not user.dedicated:
                people.append(user)
        if people:
            who = ", ".join(f"{u.username} ({u.id}, {u.licence or 'no'} licence, profile {u.profile})" for u in people)
            reasons.append(f"'{app}' is authorised by a normal licence holder: {who}")
            evidence["authorised_by"] = ", ".join(u.id for u in people)
            evidence["licence"] = ", ".join(sorted({u.licence for u in people}))
        if reasons:
            named = f" ({entry.successor})" if entry.successor else "; name one as the catalog's successor"
            fix = f"hand it over ({entry.flow}) to a dedicated integration user{named}"
            out.add("personal-account", entry.id, "; ".join(reasons), evidence, fix, entry, handover=True)


def _age_days(rotated_at: str, now: dt.datetime) -> float | None:
    try:
        when = dt.datetime.fromisoformat(rotated_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return (now - when).total_seconds() / 86400


def _credentials(data: AuditInput, out: _Findings) -> None:
    for fact in data.credentials:
        entry = data.catalog.by_id(fact.integration_id)
        base = {"vault_path": fact.path, "test": fact.test}
        if fact.current_version is not None:
            base["current_version"] = str(fact.current_version)
        if not fact.exists or fact.current_version is None:
            why = "no secret at this path" if not fact.exists else "no current version (never promoted)"
            out.add("credential-broken", fact.path, f"{fact.path}: {why}", {**base, "detail": why},
                    f"hand {entry.id} over again ({entry.flow}): it stores and verifies a new credential",
                    entry, handover=True)  # fmt: skip
            continue
        if fact.ok is False:
            out.add("credential-broken", fact.path, f"{fact.path} fails its test call: {fact.detail}",
                    {**base, "detail": fact.detail},
                    f"hand {entry.id} over again ({entry.flow}) to store a working credential, or roll back in Vault "
                    "if the previous version still works", entry, handover=True)  # fmt: skip
        age = _age_days(fact.rotated_at, data.now)
        if age is None or age > entry.max_credential_age_days:
            shown = fact.rotated_at or "never recorded"
            days = f"{int(age)} days" if age is not None else "unknown age"
            out.add("credential-stale", fact.path,
                    f"{fact.path} was rotated {shown[:10]} ({days}; allowed: {entry.max_credential_age_days})",
                    {**base, "rotated_at": shown, "age_days": str(int(age)) if age is not None else "unknown",
                     "max_age_days": str(entry.max_credential_age_days)},
                    f"rotate it: hand {entry.id} over ({entry.flow}), which stages, verifies and promotes a new one",
                    entry, handover=True)  # fmt: skip


def _integration_users(data: AuditInput) -> list[tuple[OrgUser, Integration | None]]:
    """Dedicated, active Salesforce users the catalog's integrations run as (by the catalog or by a token)."""
    found: dict[str, tuple[OrgUser, Integration | None]] = {}
    apps = _apps(data.catalog)
    for entry in data.catalog.integrations:
        user = data.org.by_username(str(entry.integration_user)) if "salesforce" in entry.systems else None
        if user is not None:
            found.setdefault(user.id, (user, entry))
    for token in data.org.tokens:
        user = data.org.users.get(token.user_id)
        if user is not None and token.app_name in apps:
            found.setdefault(user.id, (user, _entry_for(apps[token.app_name], user.username)))
    return [(u, e) for u, e in found.values() if u.dedicated and u.active and not u.frozen]


def _in(ip: str, ranges: list[tuple[str, str]]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
        return any(
            ipaddress.ip_address(a).version == address.version
            and ipaddress.ip_address(a) <= address <= ipaddress.ip_address(b)  # type: ignore[operator]
            for a, b in ranges
        )
    except ValueError:
        return False


def _logins(data: AuditInput, out: _Findings) -> None:
    for user, entry in sorted(_integration_users(data), key=lambda pair: pair[0].username):
        mine = [x for x in data.org.logins if x.user_id == user.id]
        ranges = data.org.ip_ranges.get(user.profile, [])
        outside = [x for x in mine if ranges and not _in(x.source_ip, ranges)]
        if outside:
            shown = ", ".join(f"{x.time[:16]} from {x.source_ip} ({x.status})" for x in outside[-5:])
            out.add("login-outside-ranges", user.username,
                    f"{user.username}: {len(outside)} login(s) from outside the profile's ranges: {shown}",
                    {"user_id": user.id, "profile": user.profile, "ranges": ", ".join(f"{a}-{b}" for a, b in ranges),
                     "logins": shown, "last": outside[-1].time},
                    "find out who logs in from there; if the credential leaked, rotate it (hand the integration over) "
                    "and keep the profile's login IP ranges tight", entry)  # fmt: skip
        interactive = [x for x in mine if x.login_type in INTERACTIVE]
        if interactive:
            shown = ", ".join(f"{x.time[:16]} from {x.source_ip} ({x.status})" for x in interactive[-5:])
            out.add("interactive-login", user.username,
                    f"{user.username} logged in interactively (browser) {len(interactive)} time(s): {shown}",
                    {"user_id": user.id, "profile": user.profile, "login_type": "Application (UI)", "logins": shown},
                    "an integration user logs in by API only: find who used the browser, reset its password, and make "
                    "its profile API-only (Minimum Access - API Only Integrations)", entry)  # fmt: skip


def _token_limit(data: AuditInput, out: _Findings) -> None:
    apps = _apps(data.catalog)
    for (app, user_id), rows in sorted(_rows(data.org).items()):
        user = data.org.users.get(user_id)
        if not (TOKENS_PER_APP - 1 <= len(rows) <= TOKENS_PER_APP) or user is None:
            continue
        entry = _entry_for(apps.get(app, []), user.username)
        out.add("token-limit", f"{app} / {user.username}",
                f"{user.username} holds {len(rows)} tokens for '{app}': the next authorisation revokes the oldest "
                f"({rows[0].created[:10]}) without a word",
                {"app": app, "user_id": user_id, "tokens": str(len(rows)), "oldest_authorised": rows[0].created[:10],
                 "last_used": ", ".join(r.last_used[:10] for r in rows)},
                "revoke the tokens nothing uses (Setup > Connected Apps OAuth Usage > the app > User), so the next "
                "authorisation does not revoke one still in use", entry)  # fmt: skip


def audit(data: AuditInput) -> list[AuditFinding]:
    """Every finding, most severe first."""
    out = _Findings(data.run_tag)
    for rule in (_leavers, _personal, _credentials, _logins, _token_limit):
        rule(data, out)
    return sorted(out.items, key=lambda f: (SEVERITIES.index(f.severity), list(KINDS).index(f.kind), f.id))
