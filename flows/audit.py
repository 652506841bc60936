"""audit_integrations: the scheduled audit of every integration in the catalog and what is found live.

Reads only (docs/audit.md says exactly which calls): a Salesforce snapshot (users, licences, frozen logins,
every OauthToken row, the integration users' LoginHistory and their profiles' login IP ranges), Vault's
custody metadata of each stored credential (``rotated_at``) and each credential's cheapest test read. The
findings go to Slack (one message, one thread, grouped by kind, a "Hand over" button where a handover fixes
one), to a Prefect markdown artifact, and out as one Prefect event each (``baton.audit.finding``). A click on
"Hand over" is the gateway's (gateway/audit_actions.py): an approver's click starts the catalog's handover.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context
from pydantic import BaseModel, ConfigDict, Field, field_validator

from clients.salesforce_audit import OrgSnapshot
from flows import audit_report
from flows.audit_checks import AuditInput, CredentialFacts, audit
from flows.catalog import Catalog, load_catalog
from flows.plan import InvalidRequest, Step, Steps, validate
from flows.reporting import show_plan
from tasks import audit as reads
from tasks.services import services

FLOW_NAME = "audit-integrations"
TITLE = "Integration audit"
ARTIFACT = "integration-audit"
STEPS: Steps = {
    "catalog": Step("Read the catalog", "automatic", "BATON_CATALOG_PATH (or the request's catalog_path)"),
    "salesforce": Step(
        "Read Salesforce",
        "automatic",
        "users, licences, frozen logins, OauthToken, LoginHistory, "
        "profiles' login IP ranges (Metadata API readMetadata)",
    ),
    "credentials": Step(
        "Test stored credentials",
        "automatic",
        "Vault custody metadata (rotated_at), then each vendor's cheapest read (userinfo/limits, myself, me, user)",
    ),
    "findings": Step(
        "Find problems",
        "automatic",
        "personal accounts, leavers' tokens, stale or broken "
        "credentials, logins outside ranges or interactive, 4-5 tokens per app",
    ),
    "report": Step("Report", "automatic", "one Slack message and thread, a markdown artifact, a Prefect event each"),
}


class AuditRequest(BaseModel):
    """audit_integrations' parameters (all optional: the schedule starts it with none)."""

    model_config = ConfigDict(extra="forbid")

    requested_by: str = Field(
        "schedule:audit-integrations", min_length=3, max_length=200,
        description="who started it: an e-mail, or the schedule (they may not approve its handovers)",
    )  # fmt: skip
    catalog_path: str | None = Field(None, description="the catalog's YAML; default BATON_CATALOG_PATH")
    only: list[str] = Field(default_factory=list, description="catalog ids to audit (default: every entry)")
    test_credentials: bool = Field(True, description="make each stored credential's test read")

    @field_validator("requested_by")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


def _scope(catalog: Catalog, only: list[str]) -> Catalog:
    if not only:
        return catalog
    unknown = [i for i in only if i not in {e.id for e in catalog.integrations}]
    if unknown:
        known = ", ".join(e.id for e in catalog.integrations)
        raise InvalidRequest(
            f"nothing was changed; fix these parameters: only: no catalog entry {', '.join(unknown)}; "
            f"use ids from the catalog ({known})"
        )
    return Catalog(organisation=catalog.organisation, integrations=[e for e in catalog.integrations if e.id in only])


def gather(catalog: Catalog, test_credentials: bool, run_tag: str) -> AuditInput:
    """Everything the rules look at, read in three tasks."""
    apps = sorted({e.connections["salesforce"] for e in catalog.integrations if "salesforce" in e.connections})
    users = sorted({str(e.integration_user) for e in catalog.integrations if "salesforce" in e.systems})
    org = OrgSnapshot.of(reads.salesforce_snapshot(apps, users))
    items = [
        {"integration_id": e.id, "path": c.path, "test": c.test, "user": str(e.integration_user)}
        for e in catalog.integrations
        for c in e.credentials
    ]
    facts = reads.credential_facts(items) if items else []
    if not test_credentials:
        facts = [{**f, "ok": None, "detail": ""} for f in facts]
    return AuditInput(catalog=catalog, org=org, credentials=[CredentialFacts(**f) for f in facts],
                      now=dt.datetime.now(dt.UTC), run_tag=run_tag)  # fmt: skip


def _post(findings: list[Any], entries: int, run_id: str, requested_by: str) -> str | None:
    """The Slack message and its thread (one reply per kind); the message's ts."""
    svc = services()
    if svc.slack is None:
        return None
    link = f"<{svc.run_url(run_id)}|run in Prefect>"
    channel = svc.settings.slack_audit_channel
    top = svc.slack.post(channel, f"{TITLE}: {len(findings)} finding(s)",
                         audit_report.summary_blocks(TITLE, findings, entries, link))  # fmt: skip
    for text, blocks in audit_report.group_messages(findings, run_id, requested_by, top.ts):
        svc.slack.post(channel, text[:150], blocks, thread_ts=top.ts)
    return top.ts


@flow(name=FLOW_NAME, validate_parameters=False)
def audit_integrations(request: AuditRequest | None = None, plan: bool = False) -> dict[str, Any]:
    """Audit every catalog integration and what runs live; report; change nothing in any vendor system.
    ``plan=True`` lists the steps and reads nothing."""
    req = validate(AuditRequest, request if request is not None else {})
    if plan:
        return show_plan(TITLE, STEPS)
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    catalog = _scope(load_catalog(req.catalog_path or services().settings.catalog_path), req.only)
    data = gather(catalog, req.test_credentials, f"audit-{run_id[:8]}")
    findings = audit(data)
    rows = [f.as_dict() for f in findings]
    entries = len(catalog.integrations)
    create_markdown_artifact(key=ARTIFACT, markdown=audit_report.markdown(TITLE, findings, entries, req.requested_by),
                             description=f"{TITLE}: {audit_report.counts(findings)}")  # fmt: skip
    reads.emit_findings(rows, run_id, req.requested_by)
    ts = _post(findings, entries, run_id, req.requested_by)
    return {"status": "done", "flow_run_id": run_id, "entries": entries, "findings": rows, "slack_ts": ts,
            "credentials": len(data.credentials)}  # fmt: skip
