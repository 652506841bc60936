"""The audit's reads, as few tasks as possible whatever the catalog's size: one Salesforce snapshot, one pass
over the stored credentials (custody metadata, then each one's test read, a few at a time), and the findings
as Prefect events. Nothing here writes to a vendor; results are ids, dates and paths, never a secret."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event

from clients import credential_checks
from clients import salesforce_audit as sfa
from clients.salesforce_metadata import MetadataClient
from clients.vault import VaultNotFound
from tasks.connections import salesforce_admin, salesforce_session
from tasks.retry import RETRY
from tasks.services import services

READ: dict[str, Any] = {"cache_policy": NO_CACHE, **RETRY}
WORKERS = 8  # credential test reads at once (each vendor's API is called a few at a time)


@task(**READ)
def salesforce_snapshot(apps: list[str], usernames: list[str]) -> dict[str, Any]:
    """Users, frozen logins, every OauthToken row; then LoginHistory and profile login IP ranges of the users
    that run the catalog's integrations (by the catalog's *usernames* or a token for one of its *apps*)."""
    sf = salesforce_admin()
    snap = sfa.OrgSnapshot(users=sfa.users(sf), tokens=sfa.tokens(sf))
    wanted = {u.lower() for u in usernames}
    ids = {u.id for u in snap.users.values() if u.username.lower() in wanted}
    ids |= {t.user_id for t in snap.tokens if t.app_name in set(apps)}
    ids = {i for i in ids if i in snap.users and snap.users[i].dedicated}
    snap.logins = sfa.logins(sf, sorted(ids)) if ids else []
    profiles = sorted({snap.users[i].profile for i in ids})
    if profiles:
        snap.ip_ranges = sfa.login_ip_ranges(MetadataClient(sf.sf, salesforce_session(), owner=sf), profiles)
    get_run_logger().info(
        "Salesforce: %d users, %d tokens, %d logins of %d integration users", len(snap.users), len(snap.tokens),
        len(snap.logins), len(ids),
    )  # fmt: skip
    return snap.as_dict()


def _one(item: dict[str, str]) -> dict[str, Any]:
    svc = services()
    fact: dict[str, Any] = {"integration_id": item["integration_id"], "path": item["path"], "test": item["test"]}
    try:
        state = svc.custody.describe(item["path"])
    except VaultNotFound:
        return {**fact, "exists": False}
    fact |= {"exists": True, "current_version": state.current_version, "rotated_at": state.rotated_at}
    if state.current_version is None:
        return fact
    secret = svc.custody.read_version(item["path"], state.current_version)  # describe() was the first half
    result = credential_checks.check(svc.settings, item["test"], secret.values, item["user"])
    return {**fact, "ok": result.ok, "detail": result.detail}


@task(**READ)
def credential_facts(items: list[dict[str, str]]) -> list[dict[str, Any]]:
    """For each ``{integration_id, path, test, user}``: custody labels (``describe``) and the test read's
    outcome (``CredentialFacts`` fields). Values are read from Vault, used, and never returned."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        facts = list(pool.map(_one, items))
    broken = sum(1 for f in facts if f.get("ok") is False or not f.get("exists"))
    get_run_logger().info("%d stored credentials: %d fail their test read or are missing", len(facts), broken)
    return facts


@task(cache_policy=NO_CACHE)
def emit_findings(findings: list[dict[str, Any]], audit_run_id: str, requested_by: str) -> int:
    """One Prefect event per finding: ``baton.audit.finding`` on resource ``baton.audit.finding.<id>``, related
    to the integration and the audit run (operators build automations on them). Each event's id is derived from
    the run and the finding, so a rerun of the run after a crash sends the same events again and Prefect keeps
    one of each (it ignores an event id it has stored)."""
    for finding in findings:
        related = [{"prefect.resource.id": f"prefect.flow-run.{audit_run_id}", "prefect.resource.role": "flow-run"}]
        if finding.get("integration_id"):
            related.append({"prefect.resource.id": f"baton.integration.{finding['integration_id']}",
                            "prefect.resource.role": "integration"})  # fmt: skip
        emit_event(
            id=uuid5(NAMESPACE_URL, f"baton:audit-finding:{audit_run_id}:{finding['id']}"),
            event="baton.audit.finding",
            resource={
                "prefect.resource.id": f"baton.audit.finding.{finding['id']}",
                "prefect.resource.name": finding["summary"][:200],
                "baton.kind": finding["kind"],
                "baton.severity": finding["severity"],
            },
            related=related,
            payload={k: finding[k] for k in ("kind", "severity", "subject", "evidence", "fix", "integration_id",
                                              "handover")} | {"requested_by": requested_by},
        )  # fmt: skip
    return len(findings)


def as_dicts(items: list[Any]) -> list[dict[str, Any]]:
    return [asdict(i) for i in items]
