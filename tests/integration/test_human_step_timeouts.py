"""Nobody answers: the step reminds the assignee, escalates, then fails safe and says so in the thread.

step_probe with ``deadline=8`` waits with ``WaitPolicy(remind_every=2, escalate_after=4, deadline=8)``
in a paused (not suspended) run, so the reminders come from the waiting process itself.

A timeout never answers anything: the approval's form defaults to "approve" and a task's to "done", yet at
the deadline no answer is stored or recorded, the run fails, nothing after the step runs, and a click on the
expired step's buttons resumes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from baton.devstack import PrefectServer
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.flows import probe_runs
from tests.harness import FlowProcess, RunningGateway

CHANNEL = "C0HANDOVER"
TITLE = "Log out of Salesforce"
HEALTHZ = "admin GET /healthz"  # step_probe calls it once before its step and once after


@pytest.fixture
def slack_unlimited(sandbox: Sandbox) -> Iterator[None]:
    """The reminder and the escalation fall due together: chat.postMessage's 1/s limit off for this test."""
    slack = state_of(sandbox.world)
    before = slack.limiter.per_second
    slack.set_post_rate(0)
    yield
    slack.set_post_rate(before)


def test_no_answer_reminds_escalates_then_fails_safe(
    baton_env: dict[str, str],
    gateway: RunningGateway,
    sandbox: Sandbox,
    prefect_server: PrefectServer,
    slack_unlimited: None,
) -> None:
    api = prefect_server.api_url
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    before = sandbox.world.calls[HEALTHZ]
    flow = FlowProcess("step_probe.py", baton_env, "kind=task", "deadline=8", f"admin_url={sandbox.urls['admin']}")
    run_id = ""
    try:
        run = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "task", "deadline": 8})
        run_id = run["id"]
        flow.proc.wait(timeout=40)  # the server may fail the expired pause first; the flow's own failure comes last
        final = probe_runs.wait_final(api, run_id, timeout=10)
    finally:
        flow.kill()
        if run_id:
            probe_runs.cancel_if_open(api, run_id)

    state = final["state"]
    assert state["type"] == "FAILED", state
    assert "HumanStepTimedOut" in state["message"] and f"no answer to '{TITLE}' before its deadline" in state["message"]
    assert "The old integration user still works" in state["message"]
    assert flow.proc.returncode != 0 and "RESULT=" not in flow.output()  # no outcome, "done" least of all
    assert sandbox.world.calls[HEALTHZ] == before + 1, "the task after the step ran"
    assert probe_runs.answers(api, run) == (0, 0)

    slack = state_of(sandbox.world)
    parent = next(m for m in slack.messages(CHANNEL) if run_id in json.dumps(m.get("blocks") or []))
    replies = slack.thread(CHANNEL, parent["ts"])[1:]
    texts = probe_runs.thread_texts(replies)
    at = [float(m["ts"]) - float(parent["ts"]) for m in replies]  # seconds after the step was posted

    reminders = [i for i, t in enumerate(texts) if t.startswith("Reminder: <@U0BOB0001>") and TITLE in t]
    escalations = [i for i, t in enumerate(texts) if "Escalation to <!subteam^S0ESCALATION>" in t]
    expired = [i for i, t in enumerate(texts) if "Nobody answered" in t]
    assert len(reminders) == 2, texts  # at 2 s and 4 s; none after the escalation
    assert len(escalations) == 1 and "no answer from <@U0BOB0001>" in texts[escalations[0]], texts
    assert len(expired) == 1, texts
    assert len(texts) == 4, texts
    assert max(reminders) < escalations[0] < expired[0], texts
    # the pause's timeout is whole seconds (int of what is left), so the end may come up to 1 s before 8 s
    assert 1.5 <= at[reminders[0]] and 3.5 <= at[escalations[0]] and 6.5 <= at[expired[0]], at
    said = texts[expired[0]]
    assert (
        "changed nothing further" in said and "State: The old integration user still works; nothing was changed" in said
    )
    assert "start the flow again" in said

    # the buttons of the expired step resume nothing
    click = slack.click("carol@acme.example", CHANNEL, parent["ts"], "baton_done")
    assert click.status == 200 and json.loads(click.body)["text"].startswith("Nothing to do"), click.body
    assert probe_runs.state_of(api, run_id)[0] == "FAILED"


def test_an_approval_nobody_gives_is_never_approved(
    baton_env: dict[str, str],
    gateway: RunningGateway,
    sandbox: Sandbox,
    prefect_server: PrefectServer,
    slack_unlimited: None,
) -> None:
    """The approval's form offers "approve" as its default; at the deadline the run fails, unapproved."""
    api = prefect_server.api_url
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    before = sandbox.world.calls[HEALTHZ]
    args = ("kind=approval", "deadline=4", "requested_by=carol@acme.example", f"admin_url={sandbox.urls['admin']}")
    flow = FlowProcess("step_probe.py", baton_env, *args)
    run_id = ""
    try:
        run = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "approval", "deadline": 4})
        run_id = run["id"]
        flow.proc.wait(timeout=30)
        final = probe_runs.wait_final(api, run_id, timeout=10)
    finally:
        flow.kill()
        if run_id:
            probe_runs.cancel_if_open(api, run_id)

    state = final["state"]
    assert state["type"] == "FAILED", state
    assert "HumanStepTimedOut" in state["message"] and "before its deadline" in state["message"], state
    assert flow.proc.returncode != 0 and "RESULT=" not in flow.output()  # no outcome: not "approve"
    assert "answered 'approve'" not in flow.output()
    assert sandbox.world.calls[HEALTHZ] == before + 1, "the task after the approval ran"
    assert probe_runs.answers(api, run) == (0, 0)

    slack = state_of(sandbox.world)
    parent = next(m for m in slack.messages(CHANNEL) if run_id in json.dumps(m.get("blocks") or []))
    texts = probe_runs.thread_texts(slack.thread(CHANNEL, parent["ts"])[1:])
    assert sum("Nobody answered" in t for t in texts) == 1, texts
    assert not any("Approved" in t for t in probe_runs.thread_texts([slack.message(CHANNEL, parent["ts"])])), parent
    # an approver's click after the deadline approves nothing
    click = slack.click("bob@acme.example", CHANNEL, parent["ts"], "baton_approve")
    assert click.status == 200 and json.loads(click.body)["text"].startswith("Nothing to do"), click.body
    assert probe_runs.state_of(api, run_id)[0] == "FAILED"
    assert sandbox.world.calls[HEALTHZ] == before + 1
    assert probe_runs.answers(api, run) == (0, 0)
