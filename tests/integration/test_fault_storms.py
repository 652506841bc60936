"""create-jotform-api-only-user under a fault storm on every vendor it calls (Salesforce, Jotform) and on Slack:
403 REQUEST_LIMIT_EXCEEDED, 429 and 503 with Retry-After, added latency, dropped connections, answers lost after
the change was made, and Baton's own Salesforce session ended mid-run. The run converges: done, exactly one of
each object, the password current and working; no call came back before the Retry-After it was given, and the
Slack stand-in let no more than its 1 message/s per channel through.

The storm has a budget (each rule fires on a fraction of matching calls, at most ``count`` times) so that each
task's retries (tasks/retry.py: three, after 1, 4 and 15 s or the Retry-After) can ride it out; each rule draws
from its own seeded generator, so the storm falls the same way on every run of the same flow. A task fails only
when a vendor's failing faults all land on its four attempts; a heavier storm (three limits, two 503s, two drops
and two lost answers on Salesforce) did that to one create: the run then fails safe, naming the call. Only Baton's API
routes are hit, not the pages the person uses.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from baton.devstack import OpenBaoDevServer, PrefectServer
from sandbox.faults import FaultRule
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.figures import record
from tests.harness import RunningGateway
from tests.integration import test_jotform_flow as jotform
from tests.integration.test_jotform_flow import Person, _assert_set_up, _new_form, _params, _result, _start

seats = jotform.seats  # the org's extra integration seats, given back afterwards (autouse, module scope)


@pytest.fixture(scope="module")
def env(baton_env: dict[str, str]) -> dict[str, str]:
    return {**baton_env, "BATON_JOTFORM_API_KEY": "jf-apikey-acme-0001"}


SF_API = r"^/services/(data|Soap)/"
JOTFORM_API = r"^/(v1/)?(user|form)(/|$)"
SLACK_API = r"^/api/chat\."
STORM: list[dict[str, Any]] = [
    {"host": "salesforce", "route": SF_API, "kind": "limit", "fraction": 0.15, "count": 1},
    {"host": "salesforce", "route": SF_API, "kind": "unavailable", "fraction": 0.1, "count": 1},
    {"host": "salesforce", "route": SF_API, "kind": "latency", "fraction": 0.2, "count": 5, "latency_ms": 300},
    {"host": "salesforce", "route": SF_API, "kind": "drop", "fraction": 0.1, "count": 1},
    {"host": "salesforce", "route": r"/sobjects/", "method": "POST", "kind": "lost", "fraction": 0.5, "count": 1},
    {"host": "salesforce", "route": r"/query", "kind": "expire_sessions", "after": 4, "count": 1},
    {"host": "jotform", "route": JOTFORM_API, "kind": "ratelimit", "count": 1, "retry_after": 1},
    {"host": "jotform", "route": JOTFORM_API, "kind": "unavailable", "fraction": 0.2, "count": 1, "retry_after": 1},
    {"host": "jotform", "route": JOTFORM_API, "kind": "drop", "fraction": 0.2, "count": 1},
    {"host": "jotform", "route": JOTFORM_API, "kind": "latency", "fraction": 0.3, "count": 2, "latency_ms": 300},
    {"host": "slack", "route": SLACK_API, "kind": "ratelimit", "fraction": 0.2, "count": 3, "retry_after": 1},
    {"host": "slack", "route": SLACK_API, "kind": "unavailable", "fraction": 0.1, "count": 1},
    {"host": "slack", "route": SLACK_API, "kind": "drop", "fraction": 0.1, "count": 1},
    {"host": "slack", "route": SLACK_API, "kind": "latency", "fraction": 0.2, "count": 3, "latency_ms": 300},
]


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: n - before.get(k, 0) for k, n in sorted(after.items()) if n - before.get(k, 0)}


@pytest.mark.slow
def test_the_jotform_flow_converges_under_a_fault_storm(
    env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    faults = sandbox.world.faults
    slack = state_of(sandbox.world)
    channel = slack.channel_id("C0HANDOVER")
    params = _params("storm", _new_form(sandbox))
    person = Person(sandbox, prefect_server.api_url, params)
    fired_before, early_before = faults.fired_counts(), len(faults.early)
    refused_before = slack.limiter.refused.get(channel, 0)
    for rule in STORM:
        faults.add(FaultRule.from_dict(rule))
    flow = _start(env, params)
    try:
        output = person.drive(flow, timeout=240)
    finally:
        flow.kill()
        for host in ("salesforce", "jotform", "slack"):
            faults.clear(host)
    fired = _delta(fired_before, faults.fired_counts())
    early = faults.early[early_before:]
    refused = slack.limiter.refused.get(channel, 0) - refused_before
    record("saas-fault-storms", storms=1, faults_injected=sum(fired.values()), early_calls=len(early))
    print(
        f"FIGURES fault storm (jotform flow): faults injected={sum(fired.values())} {fired}; "
        f"early calls={len(early)}; Slack 429s from its own limit={refused}"
    )
    result = _result(output)
    assert result is not None and result.get("status") == "done", output[-4000:]
    assert sum(fired.values()) >= 10, fired  # the storm happened
    assert early == [], "every call came back after the Retry-After it was given"
    _assert_set_up(sandbox, openbao, params)  # exactly one user, permission set and assignment each; it works


JIRA_API = r"^/rest/api/3/"
JIRA_STORM: list[dict[str, Any]] = [
    {"host": "jira", "route": JIRA_API, "kind": "ratelimit", "count": 1, "retry_after": 2},
    {"host": "jira", "route": r"/user$", "method": "POST", "kind": "lost", "count": 1},
    {"host": "jira", "route": r"/group/user$", "method": "POST", "kind": "lost", "count": 1},
    {"host": "jira", "route": JIRA_API, "kind": "unavailable", "after": 3, "count": 1, "retry_after": 1},
    {"host": "jira", "route": JIRA_API, "kind": "drop", "fraction": 0.2, "count": 1},
    {"host": "jira", "route": JIRA_API, "kind": "latency", "fraction": 0.3, "count": 3, "latency_ms": 300},
]


@pytest.mark.slow
def test_the_jira_app_user_steps_converge_under_a_fault_storm(baton_env: dict[str, str], sandbox: Sandbox) -> None:
    """Find, create (its answer lost), add to a group (its answer lost), check permissions: one account, in the
    group once, every retry after its Retry-After. The budget (a 429, two lost answers, a 503, a drop) is such that
    no task meets more failures than its three retries, wherever the fractions fall."""
    from sandbox.jira.state import VENDOR_KEY
    from tests.harness import FlowProcess

    faults = sandbox.world.faults
    email = f"intercom-storm.{uuid.uuid4().hex[:6]}@acme.example"
    fired_before, early_before = faults.fired_counts(), len(faults.early)
    for rule in JIRA_STORM:
        faults.add(FaultRule.from_dict(rule))
    flow = FlowProcess("jira_storm_probe.py", baton_env, email)
    try:
        result = flow.wait(timeout=180)
    finally:
        flow.kill()
        faults.clear("jira")
    fired = _delta(fired_before, faults.fired_counts())
    early = faults.early[early_before:]
    record("saas-fault-storms", storms=1, faults_injected=sum(fired.values()), early_calls=len(early))
    print(f"FIGURES fault storm (jira steps): faults injected={sum(fired.values())} {fired}; early calls={len(early)}")
    assert "error" not in result, (result, flow.output()[-3000:])
    state = sandbox.world.vendors[VENDOR_KEY]
    accounts = [u for u in state.users.values() if u.email == email]
    assert len(accounts) == 1, "the create whose answer was lost was not made twice"
    assert accounts[0].groups == {"jira-software-users", "site-admins"}
    assert result["added"] == [], "the retry found done the group add whose answer was lost"
    assert result["account"]["created"] is False, "the retry found the account the lost answer had made"
    assert result["granted"] == {"BROWSE_PROJECTS": [10000], "CREATE_ISSUES": [10000]}
    assert {k: fired.get(f"jira {k}") for k in ("lost", "ratelimit", "unavailable")} == {
        "lost": 2,
        "ratelimit": 1,
        "unavailable": 1,
    }, fired
    assert early == []
