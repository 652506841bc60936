"""The audit's "Hand over" button (``baton_audit_handover_<n>``): an approver's click starts the catalog's
handover deployment for the finding's integration, with the catalog's parameters.

The same answer rules as every approval (clients/humanstep): the clicker must be in the approver group (or
one of the catalog entry's approvers), and may not be who started the audit (four eyes; a scheduled audit
was started by its schedule). The finding's id is the run's idempotency key, so a second click cannot start
a second run; and a handover of that integration that is not finished yet (its deployment's run for that
integration, or any run tagged ``baton-integration:<id>``) is linked, not doubled. Every refusal is an
ephemeral message and starts nothing. The catalog is read here from BATON_CATALOG_PATH (the gateway does
not import flows/: only the fields it needs: deployment or flow, parameters, approvers).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clients.humanstep import Answer, refusal
from clients.prefect_api import PrefectAPI, PrefectAPIError
from clients.slack import SlackClient, SlackError

log = logging.getLogger("baton.gateway")
HANDOVER_ACTION = "baton_audit_handover"  # flows/audit_report.py names its buttons so (a unit test checks)


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


@dataclass(frozen=True)
class Click:
    audit: str
    finding: str
    integration: str
    requester: str
    thread: str

    @classmethod
    def decode(cls, value: str) -> Click:
        data = json.loads(value)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not an audit button")
        fields = {k: str(data.get(k) or "") for k in ("audit", "finding", "integration", "requester", "thread")}
        if not fields["finding"] or not fields["integration"]:
            raise ValueError("the button names no finding or integration")
        return cls(**fields)


@dataclass(frozen=True)
class Entry:
    target: str
    parameters: dict[str, Any]
    approvers: tuple[str, ...]


def catalog_entry(path: str, integration_id: str) -> Entry | None:
    """The catalog entry's deployment, parameters and approvers (the audit checked the whole catalog)."""
    raw = yaml.safe_load(Path(path).read_text())
    for item in (raw or {}).get("integrations") or []:
        if isinstance(item, dict) and item.get("id") == integration_id:
            flow = str(item.get("flow", ""))
            return Entry(
                target=str(item.get("deployment") or f"{flow}/{flow}"),
                parameters=dict(item.get("parameters") or {}),
                approvers=tuple(str(a).lower() for a in item.get("approvers") or []),
            )
    return None


@dataclass
class AuditActions:
    prefect: PrefectAPI
    slack: SlackClient | None
    approver_group: str
    catalog_path: str
    ui_url: str

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/flow-run/{run_id}"

    def click(self, clicker: str, value: str, channel: str) -> dict[str, Any]:
        """Slack's reply body for a click by *clicker* (a Slack user id) on a "Hand over" button."""
        try:
            click = Click.decode(value)
        except (ValueError, TypeError):
            return ephemeral("This button does not belong to an audit finding.")
        if self.slack is None:
            return ephemeral("Approvals need Slack user groups, and the gateway has no Slack token.")
        try:
            entry = catalog_entry(self.catalog_path, click.integration)
        except (OSError, yaml.YAMLError) as exc:
            return ephemeral(f"Baton could not read the catalog ({type(exc).__name__}); nothing was started.")
        if entry is None:
            return ephemeral(f"`{click.integration}` is no longer in the catalog; nothing was started.")
        looked_up = self._people(click, entry)
        if isinstance(looked_up, str):
            return ephemeral(looked_up)
        approvers, requester = looked_up
        refused = refusal(
            Answer(kind="approval", outcome="approve", via="slack", verified=True, responder=clicker,
                   requester=requester, approvers=approvers, approver_group=self.approver_group)
        )  # fmt: skip
        if refused is not None:
            return ephemeral(f"{refused.message()}. Nothing was started.")
        try:
            return self._start(click, entry, clicker, channel)
        except PrefectAPIError as exc:
            log.warning("audit handover of %s not started: %s", click.integration, exc)
            return ephemeral(f"Baton could not start the handover: {exc}")

    def _people(self, click: Click, entry: Entry) -> tuple[frozenset[str], frozenset[str]] | str:
        """(approvers' Slack ids, the requester's identities) or why they cannot be known."""
        assert self.slack is not None
        try:
            approvers = set(self.slack.group_member_ids(self.approver_group))
        except SlackError as exc:
            return f"Baton could not read @{self.approver_group}: {exc}"
        for address in entry.approvers:
            try:
                approvers.add(self.slack.user_id_by_email(address))
            except SlackError:
                continue
        requester = {click.requester} if click.requester else set()
        if "@" in click.requester:
            try:
                requester.add(self.slack.user_id_by_email(click.requester))
            except SlackError:
                pass
        return frozenset(approvers), frozenset(requester)

    def _running(self, deployment_id: str, integration: str) -> str | None:
        for run in self.prefect.unfinished_runs(deployment_id=deployment_id):
            request = run.parameters.get("request")
            if isinstance(request, dict) and request.get("integration_id") == integration:
                return run.id
        tagged = self.prefect.unfinished_runs(tags=[f"baton-integration:{integration}"])
        return tagged[0].id if tagged else None

    def _start(self, click: Click, entry: Entry, clicker: str, channel: str) -> dict[str, Any]:
        assert self.slack is not None
        deployment_id = self.prefect.deployment_id(entry.target)
        running = self._running(deployment_id, click.integration)
        if running:
            return ephemeral(
                f"`{click.integration}` is already being handed over: <{self.run_url(running)}|run in Prefect>. "
                "Nothing else was started."
            )
        try:
            email = self.slack.user_email(clicker)
        except SlackError:
            email = clicker
        request = {**entry.parameters, "integration_id": click.integration, "requested_by": email}
        tags = ["audit", f"baton-integration:{click.integration}", f"baton-audit:{click.audit}"]
        run_id = self.prefect.create_run(deployment_id, {"request": request}, click.finding, tags=tags)
        log.info("audit finding %s: handover of %s started by %s as run %s", click.finding, click.integration,
                 clicker, run_id)  # fmt: skip
        text = (f":arrow_forward: Hand over of `{click.integration}` approved by <@{clicker}> for finding "
                f"`{click.finding}`: <{self.run_url(run_id)}|{entry.target} run in Prefect>")  # fmt: skip
        if click.thread:
            try:
                blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
                self.slack.post(channel, text[:150], blocks, thread_ts=click.thread)
            except SlackError as exc:
                log.warning("could not link the handover run in Slack: %s", exc)
        return ephemeral(f"Started: {text}")
