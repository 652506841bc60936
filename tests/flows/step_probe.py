"""A small flow for the human-step tests: a task, a human step, a task; prints RESULT=<json>."""

from __future__ import annotations

import json
import sys

import httpx
from prefect import flow, task

from flows.human import human_step, secret_step
from flows.reminders import WaitPolicy


@task
def touch_sandbox(url: str) -> int:
    """A call the tests can count in the sandbox (GET /healthz on its admin host)."""
    return httpx.get(url + "/healthz").status_code


@flow(name="step-probe")
def step_probe(  # type: ignore[type-arg]
    kind: str = "task", admin_url: str = "", requested_by: str = "", deadline: float = 600,
    vault_path: str = "", oauth_provider: str = "",
) -> dict:  # fmt: skip
    if admin_url:
        touch_sandbox(admin_url)
    policy = WaitPolicy(remind_every=max(deadline / 4, 0.5), escalate_after=deadline / 2, deadline=deadline)
    if kind == "secret":
        result = secret_step(
            "probe-secret",
            title="Copy the API access token",
            instruction="In Jira, open the connection's menu > **API Access token** > Copy.",
            vault_path=vault_path,
            field="api_token",
            oauth_provider=oauth_provider or None,
            assignee="bob@acme.example",
            policy=policy,
        )
        if admin_url:
            touch_sandbox(admin_url)
        return result.__dict__
    result = human_step(
        "probe",
        title="Log out of Salesforce",
        instruction="**Log out** of Salesforce in every browser tab, then press Done.",
        kind=kind,  # type: ignore[arg-type]
        assignee="bob@acme.example",
        requested_by=requested_by,
        policy=policy,
        state_if_expired="The old integration user still works; nothing was changed.",
    )
    if admin_url:
        touch_sandbox(admin_url)
    return result.__dict__


if __name__ == "__main__":
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    out = step_probe(
        kind=args.get("kind", "task"), admin_url=args.get("admin_url", ""),
        requested_by=args.get("requested_by", ""), deadline=float(args.get("deadline", 600)),
        vault_path=args.get("vault_path", ""), oauth_provider=args.get("oauth_provider", ""),
    )  # fmt: skip
    print("RESULT=" + json.dumps(out))
