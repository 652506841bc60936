"""A sandbox, Vault and catalog seeded for the audit: one of each problem the audit finds, healthy integrations
beside them, and ``healthy`` more healthy entries for the benchmark (bench/audit_scale.py).

The problems (``EXPECTED``): an inactive and a frozen user still authorising a connected app; an app authorised
by a normal licence holder, and an entry without a successor; an Intercom token that fails ``GET /me``; a
Jotform key rotated 400 days ago (the catalog allows 90); an integration user's login from outside its
profile's login IP range; an integration user's browser login; 4 tokens of one user for one app.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import hvac
import yaml

from clients.vault import Custody
from sandbox.salesforce import org_of
from sandbox.scenario import load_scenario
from sandbox.server import Sandbox

DEDICATED = "Audit Integration API"  # an API-only profile on the Salesforce Integration licence
RANGE = ("127.0.0.1", "127.0.0.1")  # the profile's login IP range: Baton and the tests log in from loopback
APPS = ("Healthy", "Busy", "Leaver", "Frozen", "Personal")
EXPECTED = {
    ("leaver-authorisation", "audit-leaver"),
    ("leaver-authorisation", "audit-frozen"),
    ("personal-account", "audit-personal"),
    ("personal-account", "audit-nosuccessor"),
    ("credential-broken", "audit-broken"),
    ("credential-stale", "audit-stale"),
    ("login-outside-ranges", "audit-ip"),
    ("interactive-login", "audit-ui"),
    ("token-limit", "audit-busy"),
}
SECRETS = {  # what Vault holds; the tests grep the report for them
    "jira": {"api_token": "ATATT-bob-token-0001", "email": "bob@acme.example"},
    "jira_server": {"token": "NjEbobPAT0001"},
    "intercom": {"access_token": "dG9rOmJvYi1iYXRvbi10b2tlbi0wMDAx"},
    "jotform": {"api_key": "jf-apikey-acme-0001"},
    "broken": {"access_token": "dG9yOm5vLXN1Y2gtdG9rZW4tYXVkaXQ="},
}
SF_PASSWORD = "Audit-sf-Passw0rd"
SF_TOKEN = "AUDITTOKEN00000000000001"


def _user(name: str, profile: str = DEDICATED, **extra: Any) -> dict[str, Any]:
    return {"username": f"{name}@acme.example", "last_name": name.title(), "profile": profile, "password": SF_PASSWORD,
            "security_token": SF_TOKEN, **extra}  # fmt: skip


def _app(name: str) -> dict[str, Any]:
    slug = name.lower().replace(" ", "-")
    return {"name": name, "client_id": f"{slug}-client", "client_secret": f"{slug}-secret",
            "redirect_uris": ["https://example.invalid/callback"], "scopes": ["api", "refresh_token"]}  # fmt: skip


def scenario(healthy: int = 0, *, problems: bool = True) -> dict[str, Any]:
    """The shipped scenario plus the audit's users, apps and tokens (and *healthy* more healthy integrations);
    without *problems*, only the healthy ones."""
    data = load_scenario()
    sf = data["salesforce"]
    sf["user_licenses"] = [
        {**lic, "total": lic["total"] + healthy + 20} if lic["name"] in ("Salesforce Integration", "Salesforce")
        else lic for lic in sf["user_licenses"]
    ]  # fmt: skip
    sf["profiles"].append({"name": DEDICATED, "license": "Salesforce Integration", "api_enabled": True,
                           "api_only": True})  # fmt: skip
    sf["users"] += [_user(n) for n in ("sf-connector", "tok-user", "ip-user", "ui-user")]
    sf["users"] += [_user("gone", "Standard User", active=False), _user("frozen", "Standard User"),
                    _user("person", "Standard User")]  # fmt: skip
    if not problems:
        sf["users"] = sf["users"][:-7]  # the seven users above
    sf["users"] += [_user(f"bulk-{i:04d}") for i in range(healthy)]
    sf["connected_apps"] += [_app(f"Audit {a} App") for a in APPS] + [
        _app(f"Audit Bulk {i:04d}") for i in range(healthy)
    ]
    sf["oauth_tokens"] += [
        {"app": "Audit Healthy App", "user": "sf-connector@acme.example"},
        {"app": "Audit Busy App", "user": "tok-user@acme.example", "count": 4},
        {"app": "Audit Leaver App", "user": "gone@acme.example"},
        {"app": "Audit Frozen App", "user": "frozen@acme.example"},
        {"app": "Audit Personal App", "user": "person@acme.example"},
    ]
    if not problems:
        sf["oauth_tokens"] = [t for t in sf["oauth_tokens"] if not str(t["app"]).startswith("Audit ")]
    sf["oauth_tokens"] += [{"app": f"Audit Bulk {i:04d}", "user": f"bulk-{i:04d}@acme.example"} for i in range(healthy)]
    return data


def after_start(sandbox: Sandbox) -> None:
    """What a scenario file cannot say: the profile's login IP range, a frozen user, and LoginHistory rows."""
    org = org_of(sandbox.world)
    with sandbox.world.lock:
        profile = org.store.first("Profile", Name=DEDICATED)
        assert profile is not None
        profile["_loginIpRanges"] = [{"startAddress": RANGE[0], "endAddress": RANGE[1], "description": "loopback"}]
        frozen = org.user_by_username("frozen@acme.example")
        assert frozen is not None
        login = org.store.first("UserLogin", UserId=frozen["Id"])
        assert login is not None
        login["IsFrozen"] = True
        for name, kind, ip in (("sf-connector", "Partner Product", "127.0.0.1"), ("ip-user", "Partner Product",
                               "198.51.100.7"), ("ui-user", "Application", "127.0.0.1")):  # fmt: skip
            user = org.user_by_username(f"{name}@acme.example")
            assert user is not None
            org.log_login(user, kind, "Success", source_ip=ip)


def _store(custody: Custody, path: str, values: dict[str, str], rotated_at: str | None = None) -> None:
    staged = custody.stage(path, values, expect_version=0)
    custody.promote(path, staged.version, rotated_by="audit-test")
    if rotated_at:
        client: hvac.Client = custody.client
        meta = client.secrets.kv.v2.read_secret_metadata(path=path, mount_point=custody.mount)["data"]
        custom = {**(meta.get("custom_metadata") or {}), "rotated_at": rotated_at}
        client.secrets.kv.v2.update_metadata(path=path, custom_metadata=custom, mount_point=custody.mount)


def _entry(ident: str, flow: str, systems: list[str], connections: dict[str, str], user: str, deployment: str,
           credentials: list[dict[str, str]] | None = None, successor: str | None = "svc@acme.example",
           variant: str | None = None) -> dict[str, Any]:  # fmt: skip
    entry: dict[str, Any] = {
        "id": ident, "title": ident, "flow": flow, "systems": systems, "connections": connections,
        "integration_user": user, "approvers": ["bob@acme.example"], "slack_channel": "#it-audit",
        "max_credential_age_days": 90, "deployment": deployment, "credentials": credentials or [],
        "parameters": {"standin": "done"},
    }  # fmt: skip
    if successor:
        entry["successor"] = successor
    if variant:
        entry["variant"] = variant
    return entry


def catalog_and_vault(
    custody: Custody, directory: Path, deployment: str, healthy: int = 0, *, problems: bool = True
) -> Path:
    """The catalog (written to *directory*) and its credentials in Vault (under a fresh prefix)."""
    run = uuid.uuid4().hex[:8]
    base = f"baton/integrations/audit-{run}"
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).isoformat(timespec="seconds")
    tests = ("jira", "jira_server", "intercom", "jotform")

    def cred(name: str, test: str, values: dict[str, str], rotated_at: str | None = None) -> list[dict[str, str]]:
        path = f"{base}/{name}"
        _store(custody, path, values, rotated_at)
        return [{"path": path, "test": test}]

    sf_password = {"password": SF_PASSWORD, "security_token": SF_TOKEN}
    sf = "rotate-salesforce-jira-connector"
    entries = [
        _entry("audit-healthy", sf, ["salesforce", "jira"], {"salesforce": "Audit Healthy App", "jira": "Acme"},
               "sf-connector@acme.example", deployment,
               cred("healthy-sf", "salesforce", sf_password) + cred("healthy-jira", "jira", SECRETS["jira"]),
               variant="cloud"),
        _entry("audit-healthy-server", sf, ["salesforce", "jira_server"],
               {"salesforce": "Audit Healthy App", "jira_server": "Acme"}, "sf-connector@acme.example", deployment,
               cred("healthy-server", "jira_server", SECRETS["jira_server"]), variant="server"),
        _entry("audit-healthy-intercom", "change-intercom-app-user", ["intercom", "jira"],
               {"intercom": "Acme Support", "jira": "Jira Cloud for Intercom"}, "intercom-app@acme.example",
               deployment, cred("healthy-intercom", "intercom", SECRETS["intercom"])),
        _entry("audit-busy", sf, ["salesforce", "jira"], {"salesforce": "Audit Busy App", "jira": "Acme"},
               "tok-user@acme.example", deployment, variant="cloud"),
        _entry("audit-leaver", sf, ["salesforce", "jira"], {"salesforce": "Audit Leaver App", "jira": "Acme"},
               "gone@acme.example", deployment, variant="cloud"),
        _entry("audit-frozen", sf, ["salesforce", "jira"], {"salesforce": "Audit Frozen App", "jira": "Acme"},
               "frozen@acme.example", deployment, variant="cloud"),
        _entry("audit-personal", sf, ["salesforce", "jira"], {"salesforce": "Audit Personal App", "jira": "Acme"},
               "person@acme.example", deployment, variant="cloud"),
        _entry("audit-nosuccessor", "change-intercom-app-user", ["intercom", "jira"],
               {"intercom": "Acme Support", "jira": "Jira Cloud for Intercom"}, "alice@acme.example", deployment,
               successor=None),
        _entry("audit-broken", "change-intercom-app-user", ["intercom", "jira"],
               {"intercom": "Acme Support", "jira": "Jira Cloud for Intercom"}, "intercom-app@acme.example",
               deployment, cred("broken-intercom", "intercom", SECRETS["broken"])),
        _entry("audit-stale", "create-jotform-api-only-user", ["jotform"], {"jotform": "Contact Sales"},
               "jotform-api@acme.example", deployment, cred("stale-jotform", "jotform", SECRETS["jotform"], old)),
        _entry("audit-ip", "create-salesforce-integration-user", ["salesforce"], {"salesforce": "Audit IP"},
               "ip-user@acme.example", deployment),
        _entry("audit-ui", "create-salesforce-integration-user", ["salesforce"], {"salesforce": "Audit UI"},
               "ui-user@acme.example", deployment),
    ]  # fmt: skip
    if not problems:
        entries = []
    for i in range(healthy):
        test = tests[i % len(tests)]
        entries.append(
            _entry(f"bulk-{i:04d}", sf, ["salesforce", "jira"], {"salesforce": f"Audit Bulk {i:04d}", "jira": "Acme"},
                   f"bulk-{i:04d}@acme.example", deployment, cred(f"bulk-{i:04d}", test, SECRETS[test]),
                   variant="cloud")
        )  # fmt: skip
    path = directory / f"audit-catalog-{run}.yaml"
    path.write_text(yaml.safe_dump({"organisation": "Acme", "integrations": entries}, sort_keys=False))
    return path
