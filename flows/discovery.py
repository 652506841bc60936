"""Discovery for a person: the catalog's integrations that run as them, set against what is found live,
with a "found, but not in the catalog" list that says what to add.

Live today: the Salesforce connected apps the person authorised (OauthToken by UserId). The two Jira
connectors ("Jira Cloud/Server for Salesforce") and Jotform's Salesforce integration are such apps, so
their connections that run as the person show up there. Intercom's Jira app user has no vendor API
(api-notes: the app's authorisation is UI-only): it comes from the catalog and is marked so.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from flows.catalog import Catalog, Integration


@dataclass(frozen=True)
class Known:
    """A connected app Baton knows how to hand over."""

    what: str
    flow: str
    variant: str | None
    systems: tuple[str, ...]
    other_connection: str  # what to name in the other system's connection


KNOWN_APPS = {
    "Jira Cloud for Salesforce": Known(
        "the Salesforce-Jira connector (Jira Cloud)", "rotate-salesforce-jira-connector", "cloud",
        ("salesforce", "jira"), "jira: <the connection's name in Jira Apps > Salesforce > Connections>",
    ),
    "Jira Server for Salesforce": Known(
        "the Salesforce-Jira connector (Jira Server/DC)", "rotate-salesforce-jira-connector", "server",
        ("salesforce", "jira_server"), "jira_server: <the connection's name in Jira>",
    ),
    "Jotform": Known(
        "Jotform's Salesforce integration", "create-jotform-api-only-user", None, ("jotform", "salesforce"),
        "jotform: <the form's title>",
    ),
}  # fmt: skip
LIVE_SYSTEMS = {"salesforce"}  # where discovery looks today


@dataclass(frozen=True)
class Finding:
    """Something found live that runs as the person."""

    source: str
    name: str
    detail: str
    catalog_id: str | None = None
    add: str = ""  # for a finding not in the catalog: what to add


@dataclass
class Discovery:
    person: str
    user_id: str | None
    in_catalog: list[str] = field(default_factory=list)
    found: list[Finding] = field(default_factory=list)
    not_found_live: list[str] = field(default_factory=list)  # catalog entries a live check did not confirm
    catalog_only: list[str] = field(default_factory=list)  # entries no live check covers

    @property
    def not_in_catalog(self) -> list[Finding]:
        return [f for f in self.found if f.catalog_id is None]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["not_in_catalog"] = [asdict(f) for f in self.not_in_catalog]
        return data

    def markdown(self) -> str:
        lines = [f"## Discovery for {self.person}", ""]
        lines += [f"- in the catalog: {', '.join(self.in_catalog) or 'nothing'}"]
        for finding in self.found:
            where = f"catalog entry `{finding.catalog_id}`" if finding.catalog_id else "**not in the catalog**"
            lines.append(f"- found live ({finding.source}): {finding.name} ({finding.detail}); {where}")
        for entry in self.not_found_live:
            lines.append(f"- `{entry}`: in the catalog, not found live (handed over already, or the catalog is stale)")
        for entry in self.catalog_only:
            lines.append(f"- `{entry}`: from the catalog only (no vendor API shows who it runs as)")
        if self.not_in_catalog:
            lines += ["", "### Found, but not in the catalog: add these"]
            lines += [f"- {f.name}: {f.add}" for f in self.not_in_catalog]
        return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "integration"


def _what_to_add(app_name: str, person: str) -> str:
    known = KNOWN_APPS.get(app_name)
    if known is None:
        return (
            f"no handover flow knows the connected app '{app_name}': hand it over by hand (its vendor's guide) to a "
            "dedicated integration user (flow: create-salesforce-integration-user makes one), then add a catalog "
            f"entry with connections: {{salesforce: {app_name}}} and integration_user: {person}"
        )
    variant = f", variant: {known.variant}" if known.variant else ""
    return (
        f"{known.what}: add an entry with flow: {known.flow}{variant}, systems: [{', '.join(known.systems)}], "
        f"connections: {{salesforce: {app_name}, {known.other_connection}}}, integration_user: {person}, "
        "successor: <a dedicated account>, approvers, slack_channel, max_credential_age_days "
        f"(e.g. id: {_slug(app_name)})"
    )


def _checked_live(entry: Integration) -> bool:
    return any(system in LIVE_SYSTEMS for system in entry.connections)


def reconcile(catalog: Catalog, person: str, live: dict[str, Any]) -> Discovery:
    """The catalog's view of *person* set against *live* (``tasks.discovery.salesforce_grants``'s result)."""
    entries = catalog.of(person)
    found = Discovery(person=person, user_id=live.get("user_id"), in_catalog=[e.id for e in entries])
    matched: set[str] = set()
    for grant in live.get("grants", []):
        app = str(grant["app_name"])
        entry = next((e for e in entries if e.connections.get("salesforce") == app), None)
        detail = f"Salesforce connected app authorised by {person} on {grant['created'][:10]}"
        if grant.get("last_used"):
            detail += f", last used {grant['last_used'][:10]}"
        if entry is not None:
            matched.add(entry.id)
        found.found.append(
            Finding("Salesforce OauthToken", app, detail, entry.id if entry else None,
                    "" if entry else _what_to_add(app, person))
        )  # fmt: skip
    for entry in entries:
        if entry.id in matched:
            continue
        (found.not_found_live if _checked_live(entry) else found.catalog_only).append(entry.id)
    return found
