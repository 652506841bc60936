"""Who may answer a step in Slack, on the real stack (Prefect, the Slack stand-in's signed clicks, the gateway).

A task or secret step is answered by its assignee (bob), an approver (@baton-approvers: bob, carol) or, once it
is escalated, the escalation group (@it-escalation: dave). The leaver (alice) is still in the channel and is
refused; so are a deactivated account, a guest, a Slack Connect stranger, a user of another organisation and an
id the workspace does not know; a button whose value names another run or step than the message clicked; and a
secret step's "done" without its secret, from the gateway and from the Prefect UI's form (sent here through
Prefect's resume API with the run_input the UI sends). After every refusal nothing resumed (the run is PAUSED at
the same key) and the step's message still has its buttons. Three runs serve the module, started together.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from baton.devstack import PrefectServer
from clients.factory import custody_from
from clients.humanstep import AnswerFields, attested_fields
from clients.prefect_api import prefect_http
from clients.vault import attestation
from sandbox.server import Sandbox
from sandbox.slack import state_of
from sandbox.slack.config import UserSpec
from sandbox.slack.interactivity import Click, ClickResult, prepare, send, signature
from sandbox.slack.state import SlackState
from tests.figures import record
from tests.flows import probe_runs
from tests.harness import FlowProcess, RunningGateway, settings_from, step_message

pytestmark = pytest.mark.slow

CHANNEL = "C0HANDOVER"
ALICE, BOB, CAROL, DAVE = "alice@acme.example", "bob@acme.example", "carol@acme.example", "dave@acme.example"
ESCALATION_DEADLINE = 80.0  # the escalation probe: reminders every 20 s, escalated at 40 s, expires at 80 s
OUTSIDERS = {
    "deactivated": UserSpec("U0GONE0001", "gone@acme.example", "gone", "Gone Person", deleted=True),
    "guest": UserSpec("U0GUEST001", "guest@contractor.example", "guest", "Guest Contractor", is_restricted=True),
    "single-channel guest": UserSpec(
        "U0GUEST002", "temp@contractor.example", "temp", "Temp Guest", is_ultra_restricted=True
    ),
    "stranger": UserSpec(
        "W0PARTNER1", "pat@partner.example", "pat", "Pat Partner", team_id="T0PARTNER01", is_stranger=True
    ),
    "other organisation": UserSpec("U0OTHER001", "olga@otherco.example", "olga", "Olga Other", team_id="T0OTHERCO1"),
}
UI_FORM = {"outcome": "done", "via": "prefect-ui", "responder": "bob", "note": "", "vault_path": "", "vault_version": 0}
REFUSALS: list[str] = []  # every refusal this module saw (counted in the last test)


@dataclass
class Probe:
    run_id: str
    key: str
    ts: str
    process: FlowProcess


@dataclass
class Runs:
    task: Probe
    escalating: Probe
    secret: Probe
    api: str


@pytest.fixture(scope="module")
def slack(sandbox: Sandbox) -> Iterator[SlackState]:
    """The stand-in with the outsiders in the channel, and chat.postMessage's 1/s per channel off."""
    state = state_of(sandbox.world)
    for user in OUTSIDERS.values():
        if user.id not in state.users:
            state.add_user(user, channels=(CHANNEL,))
    before = state.limiter.per_second
    state.set_post_rate(0)
    yield state
    state.set_post_rate(before)


@pytest.fixture(scope="module")
def runs(
    baton_env: dict[str, str],
    gateway: RunningGateway,
    slack: SlackState,
    prefect_server: PrefectServer,
    sandbox: Sandbox,
) -> Iterator[Runs]:
    api = prefect_server.api_url
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    processes = {
        "task": FlowProcess("step_probe.py", baton_env, "kind=task"),
        "escalating": FlowProcess("step_probe.py", baton_env, "kind=task", f"deadline={ESCALATION_DEADLINE}"),
        "secret": FlowProcess("step_probe.py", baton_env, "kind=secret", "vault_path=baton/tests/rights/api-token"),
    }
    where = {
        "task": {"kind": "task", "deadline": 600},
        "escalating": {"kind": "task", "deadline": ESCALATION_DEADLINE},
        "secret": {"kind": "secret"},
    }
    keys = {"task": "probe", "escalating": "probe", "secret": "probe-secret"}
    found: dict[str, Probe] = {}
    try:
        for name, process in processes.items():
            run = probe_runs.find_paused(api, "step-probe", since=since, where=where[name])
            ts = str(step_message(sandbox, run["id"])["ts"])
            found[name] = Probe(run["id"], keys[name], ts, process)
        yield Runs(task=found["task"], escalating=found["escalating"], secret=found["secret"], api=api)
    finally:
        for process in processes.values():
            process.kill()
        for probe in found.values():
            probe_runs.cancel_if_open(api, probe.run_id)


def assert_nothing_resumed(runs: Runs, slack: SlackState, *probes: Probe) -> None:
    """Each run is PAUSED at its step's first key, and its message still has its buttons (not marked answered)."""
    for probe in probes:
        kind, name, key = probe_runs.state_of(runs.api, probe.run_id)
        assert (kind, key) == ("PAUSED", probe.key), f"run is {kind}/{name} at {key!r}"
        blocks = json.dumps(slack.message(CHANNEL, probe.ts)["blocks"])
        assert "baton_problem" in blocks and "by <@" not in blocks, blocks


def refused(click: ClickResult, *expected: str) -> str:
    """The ephemeral refusal's text, which must hold every one of *expected*."""
    assert click.status == 200, (click.status, click.body)
    body = json.loads(click.body)
    assert body.get("response_type") == "ephemeral" and body.get("replace_original") is False, body
    text = str(body["text"])
    for part in expected:
        assert part in text, text
    REFUSALS.append(text)
    return text


def send_payload(slack: SlackState, payload: dict[str, Any]) -> ClickResult:
    """A click with a payload the test changed, signed with the workspace's signing secret as Slack would."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(slack.config.signing_secret, stamp, body),
    }
    return send(Click(url=slack.request_url, body=body, headers=headers, payload=payload))


def payload_of(slack: SlackState, who: str, probe: Probe, action: str = "baton_problem") -> dict[str, Any]:
    return prepare(slack, who, CHANNEL, probe.ts, action).payload


# -- answer rights ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["baton_done", "baton_problem"])
def test_the_leaver_cannot_answer_their_own_handover_step(runs: Runs, slack: SlackState, action: str) -> None:
    text = refused(
        slack.click(ALICE, CHANNEL, runs.task.ts, action),
        "Only <@U0BOB0001> (the assignee) or a member of @baton-approvers may answer this step",
        "<@U0ALICE01> is not one of them",
        "ask one of them to answer",
    )
    assert "once it is escalated" in text
    assert_nothing_resumed(runs, slack, runs.task)


def test_the_escalation_group_cannot_answer_before_the_escalation(runs: Runs, slack: SlackState) -> None:
    refused(slack.click(DAVE, CHANNEL, runs.escalating.ts, "baton_done"), "<@U0DAVE001> is not one of them")
    assert_nothing_resumed(runs, slack, runs.escalating)


def test_the_leaver_cannot_report_a_problem_on_a_secret_step(runs: Runs, slack: SlackState) -> None:
    refused(slack.click(ALICE, CHANNEL, runs.secret.ts, "baton_problem"), "Only <@U0BOB0001> (the assignee)")
    assert_nothing_resumed(runs, slack, runs.secret)


# -- workspace membership ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "said"),
    [
        ("deactivated", "is a deactivated account"),
        ("guest", "is a guest of this workspace"),
        ("single-channel guest", "is a guest of this workspace"),
        ("stranger", "belongs to another Slack organisation"),
        ("other organisation", "belongs to another Slack organisation"),
    ],
)
def test_people_outside_the_workspace_are_refused(runs: Runs, slack: SlackState, who: str, said: str) -> None:
    user = OUTSIDERS[who]
    refused(slack.click(user.id, CHANNEL, runs.task.ts, "baton_done"), f"<@{user.id}> {said}", "nothing was changed")
    assert_nothing_resumed(runs, slack, runs.task)


def test_an_id_the_workspace_does_not_know_is_refused(runs: Runs, slack: SlackState) -> None:
    payload = payload_of(slack, BOB, runs.task, "baton_done")
    payload["user"] |= {"id": "U0NOBODY01", "username": "nobody", "name": "nobody"}
    refused(send_payload(slack, payload), "Baton finds no member <@U0NOBODY01> in this Slack workspace")
    assert_nothing_resumed(runs, slack, runs.task)


def test_a_payload_naming_another_team_for_the_clicker_is_refused(runs: Runs, slack: SlackState) -> None:
    payload = payload_of(slack, BOB, runs.task, "baton_done")  # bob, as Slack would name him from another org
    payload["user"]["team_id"] = "T0OTHERCO1"
    refused(send_payload(slack, payload), "belongs to another Slack organisation")
    assert_nothing_resumed(runs, slack, runs.task)


# -- the message's identity ----------------------------------------------------------------------------------------


def _with_value(payload: dict[str, Any], **changes: str) -> dict[str, Any]:
    action = payload["actions"][0]
    action["value"] = json.dumps(json.loads(action["value"]) | changes)
    return payload


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param("other-run", id="another-run"),
        pytest.param({"key": "another-step"}, id="another-step"),
        pytest.param({"key": "probe-secret"}, id="a-step-of-another-kind"),
        pytest.param({"run": "../deployments/filter"}, id="a-path-shaped-run"),
    ],
)
def test_a_button_naming_another_run_or_step_resumes_nothing(
    runs: Runs, slack: SlackState, changes: str | dict[str, str]
) -> None:
    """bob may answer every one of these steps; only the button's value does not match the message."""
    change = {"run": runs.escalating.run_id} if changes == "other-run" else changes
    assert isinstance(change, dict)
    payload = _with_value(payload_of(slack, BOB, runs.task, "baton_done"), **change)
    refused(send_payload(slack, payload), "This button does not belong to this message", "Nothing was changed")
    assert_nothing_resumed(runs, slack, runs.task, runs.escalating)


def test_the_secret_steps_message_cannot_answer_for_it_as_a_task(runs: Runs, slack: SlackState) -> None:
    payload = _with_value(payload_of(slack, BOB, runs.secret, "baton_problem"), kind="task")
    payload["actions"][0]["action_id"] = "baton_done"
    refused(send_payload(slack, payload), "This button does not belong to this message")
    assert_nothing_resumed(runs, slack, runs.secret)


# -- a secret step is never done without its secret --------------------------------------------------------------


def test_a_done_click_on_a_secret_step_is_refused(runs: Runs, slack: SlackState) -> None:
    payload = payload_of(slack, BOB, runs.secret, "baton_problem")  # the message has no Done: Slack sends one anyway
    payload["actions"][0]["action_id"] = "baton_done"
    refused(send_payload(slack, payload), "a secret step is done only through its one-time deposit or OAuth link")
    assert_nothing_resumed(runs, slack, runs.secret)


@pytest.mark.parametrize(
    "run_input",
    [
        UI_FORM,
        {"outcome": "done", "responder": "bob"},
        {"outcome": "done", "via": "cli", "responder": "bob"},
    ],
    ids=["the-ui-form", "no-via", "claiming-the-cli"],
)
def test_a_done_from_the_prefect_ui_form_on_a_secret_step_is_refused(
    runs: Runs, slack: SlackState, run_input: dict[str, Any]
) -> None:
    """What the Prefect UI's Resume form POSTs (``/flow_runs/<id>/resume``): Prefect checks it against the form's
    schema and refuses it; the flow never wakes up."""
    with prefect_http(runs.api) as http:
        reply = http.post(f"flow_runs/{runs.secret.run_id}/resume", json={"run_input": run_input})
        schema = http.get(f"flow_runs/{runs.secret.run_id}/input/paused-probe-secret-description").text
    body = reply.json()
    assert body["status"] == "REJECT", body
    reason = body["details"]["reason"]
    assert "outcome" in reason and "'done' is not one of ['problem']" in reason, reason
    REFUSALS.append(reason)
    assert "done only through its one-time link" in schema, schema
    assert_nothing_resumed(runs, slack, runs.secret)


def test_the_flow_applies_the_same_rule_to_an_attested_answer(
    runs: Runs, slack: SlackState, baton_env: dict[str, str]
) -> None:
    """An answer that reaches Prefect with a valid attestation for the leaver (as if the gateway had not checked):
    the flow judges it by the same rule, says so in the step's thread and waits again."""
    key = attestation.read_key(custody_from(settings_from(baton_env)))
    assert key is not None
    answer = AnswerFields(
        outcome="done", via="slack", responder="U0ALICE01", answered_at=dt.datetime.now(dt.UTC).isoformat()
    )
    mac = attestation.sign(key, attested_fields(runs.task.run_id, "probe", answer))
    with prefect_http(runs.api) as http:
        reply = http.post(
            f"flow_runs/{runs.task.run_id}/resume", json={"run_input": answer.model_dump() | {"attestation": mac}}
        )
    assert reply.json()["status"] == "ACCEPT", reply.text
    probe_runs.wait_paused_at(runs.api, runs.task.run_id, "probe-r1")
    said = probe_runs.thread_texts(slack.thread(CHANNEL, runs.task.ts)[1:])
    refusal = [t for t in said if "via slack not accepted" in t]
    assert refusal and "<@U0ALICE01> is not one of them" in refusal[0] and "still waiting" in refusal[0], said
    REFUSALS.append(refusal[0])
    assert "baton_done" in json.dumps(slack.message(CHANNEL, runs.task.ts)["blocks"])


# -- the answers that end the runs -------------------------------------------------------------------------------


def test_the_assignee_answers_and_the_message_is_marked(runs: Runs, slack: SlackState) -> None:
    click = slack.click(BOB, CHANNEL, runs.task.ts, "baton_done")
    assert click.status == 200 and click.body == "{}", click.body
    result = runs.task.process.wait(timeout=60)
    assert (result["outcome"], result["responder"], result["verified"]) == ("done", "U0BOB0001", True)
    assert "Done* by <@U0BOB0001>" in json.dumps(slack.message(CHANNEL, runs.task.ts)["blocks"])


def test_an_approver_may_report_the_secret_steps_problem(runs: Runs, slack: SlackState) -> None:
    click = slack.click(CAROL, CHANNEL, runs.secret.ts, "baton_problem")
    assert click.status == 200 and click.body == "{}", click.body
    result = runs.secret.process.wait(timeout=60)
    assert (result["outcome"], result["responder"], result["via"]) == ("problem", "U0CAROL01", "slack")


def test_once_escalated_the_escalation_group_may_answer(runs: Runs, slack: SlackState) -> None:
    key = f"flow_runs/{runs.escalating.run_id}/input/baton-escalated-probe"
    with prefect_http(runs.api) as http:
        deadline = time.monotonic() + ESCALATION_DEADLINE
        while http.get(key).status_code != 200:
            assert time.monotonic() < deadline, "the step was never escalated"
            time.sleep(0.5)
        recorded = json.loads(http.get(key).text)
    assert recorded["group"] == "it-escalation"
    click = slack.click(DAVE, CHANNEL, runs.escalating.ts, "baton_done")
    assert click.status == 200 and click.body == "{}", click.body
    result = runs.escalating.process.wait(timeout=60)
    assert (result["outcome"], result["responder"], result["verified"]) == ("done", "U0DAVE001", True)


def test_the_refusals_counted() -> None:
    """The figure for docs/SECURITY.md: every refusal above, each of which resumed nothing."""
    record("answer-rights", refusals=len(REFUSALS))
    print(f"\nanswer-rights refusals: {len(REFUSALS)}")
    assert len(REFUSALS) == 21, REFUSALS
