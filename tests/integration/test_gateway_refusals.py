"""Every way an answer is refused, through the gateway and through Prefect's own resume API.

None of the refusals resumes anything and none is a 500: after each one the run is still PAUSED at
the same step (``GET /api/flow_runs/<id>``). Two runs serve the whole module, started together:
- an approval requested by bob, which ends with carol's approval through Slack;
- a secret step (deposit), which ends with one deposit.
The tests run in file order: the refusals first, then the answers that end the runs.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from baton.devstack import PrefectServer
from clients.factory import custody_from
from clients.humanstep import ACTION_IDS, LINK_ACTION, AnswerFields, attested_fields
from clients.prefect_api import prefect_http
from clients.vault import VaultNotFound, attestation
from clients.vault.tickets import TicketStore
from sandbox.server import Sandbox
from sandbox.slack import state_of
from sandbox.slack.interactivity import ClickResult, prepare, send, signature
from tests.flows import probe_runs
from tests.harness import FlowProcess, RunningGateway, settings_from

CHANNEL = "C0HANDOVER"
ALICE, BOB, CAROL = "alice@acme.example", "bob@acme.example", "carol@acme.example"


@dataclass
class Probe:
    run_id: str
    ts: str  # the step's Slack message
    process: FlowProcess


@dataclass
class Runs:
    approval: Probe
    secret: Probe
    vault_path: str
    api: str


@pytest.fixture(scope="module")
def slack_unlimited(sandbox: Sandbox) -> Iterator[None]:
    """chat.postMessage's 1/s per channel off for this module (the flows post refusals in a thread)."""
    slack = state_of(sandbox.world)
    before = slack.limiter.per_second
    slack.set_post_rate(0)
    yield
    slack.set_post_rate(before)


def _message_ts(sandbox: Sandbox, run_id: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in reversed(state_of(sandbox.world).messages(CHANNEL)):
            if run_id in json.dumps(message.get("blocks") or []):
                return str(message["ts"])
        time.sleep(0.1)
    raise AssertionError(f"no Slack message for run {run_id}")


@pytest.fixture(scope="module")
def runs(
    baton_env: dict[str, str],
    gateway: RunningGateway,
    sandbox: Sandbox,
    prefect_server: PrefectServer,
    slack_unlimited: None,
) -> Iterator[Runs]:
    api = prefect_server.api_url
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    vault_path = f"baton/tests/refusals-{uuid.uuid4().hex[:8]}/api-token"
    approval = FlowProcess("step_probe.py", baton_env, "kind=approval", f"requested_by={BOB}")
    secret = FlowProcess("step_probe.py", baton_env, "kind=secret", f"vault_path={vault_path}")
    run_ids: list[str] = []
    try:
        found_a = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "approval"})
        run_ids.append(found_a["id"])
        found_s = probe_runs.find_paused(api, "step-probe", since=since, where={"kind": "secret"})
        run_ids.append(found_s["id"])
        yield Runs(
            approval=Probe(found_a["id"], _message_ts(sandbox, found_a["id"]), approval),
            secret=Probe(found_s["id"], _message_ts(sandbox, found_s["id"]), secret),
            vault_path=vault_path,
            api=api,
        )
    finally:
        approval.kill()
        secret.kill()
        for run_id in run_ids:
            probe_runs.cancel_if_open(api, run_id)


def assert_waiting(runs: Runs, probe: Probe, key: str) -> None:
    """Nothing resumed: the run is PAUSED at the same pause key."""
    kind, name, pause_key = probe_runs.state_of(runs.api, probe.run_id)
    assert (kind, pause_key) == ("PAUSED", key), f"run is {kind}/{name} at {pause_key!r}, expected PAUSED at {key!r}"


def ephemeral_text(click: ClickResult) -> str:
    assert click.status == 200, (click.status, click.body)
    body = json.loads(click.body)
    assert body.get("response_type") == "ephemeral" and body.get("replace_original") is False, body
    return str(body["text"])


def buttons_still_there(sandbox: Sandbox, probe: Probe) -> bool:
    return "baton_approve" in json.dumps(state_of(sandbox.world).message(CHANNEL, probe.ts)["blocks"])


# -- Slack clicks the gateway refuses -----------------------------------------------------------------


def test_a_tampered_signature_is_refused(runs: Runs, sandbox: Sandbox) -> None:
    click = state_of(sandbox.world).click(CAROL, CHANNEL, runs.approval.ts, "baton_approve", tamper=True)
    assert click.status == 401 and "invalid signature" in click.body
    assert_waiting(runs, runs.approval, "probe")


@pytest.mark.parametrize("age", [310, 3600, -310])
def test_a_stale_or_future_timestamp_is_refused(runs: Runs, sandbox: Sandbox, age: int) -> None:
    stamp = int(time.time()) - age
    click = state_of(sandbox.world).click(CAROL, CHANNEL, runs.approval.ts, "baton_approve", timestamp=stamp)
    assert click.status == 401 and "stale" in click.body
    assert_waiting(runs, runs.approval, "probe")


def test_a_missing_timestamp_is_refused(runs: Runs, sandbox: Sandbox) -> None:
    click = prepare(state_of(sandbox.world), CAROL, CHANNEL, runs.approval.ts, "baton_approve")
    del click.headers["X-Slack-Request-Timestamp"]
    result = send(click)
    assert result.status == 401 and "Timestamp" in result.body
    assert_waiting(runs, runs.approval, "probe")


def test_a_signature_header_that_is_not_ascii_is_refused(runs: Runs, sandbox: Sandbox) -> None:
    click = prepare(state_of(sandbox.world), CAROL, CHANNEL, runs.approval.ts, "baton_approve")
    headers = [(k.encode(), v.encode()) for k, v in click.headers.items() if k != "X-Slack-Signature"]
    headers.append((b"X-Slack-Signature", b"v0=\xe9" + b"0" * 63))
    reply = httpx.post(click.url, content=click.body, headers=headers)
    assert reply.status_code == 401, reply.text
    assert_waiting(runs, runs.approval, "probe")


def test_a_non_approver_cannot_approve(runs: Runs, sandbox: Sandbox) -> None:
    click = state_of(sandbox.world).click(ALICE, CHANNEL, runs.approval.ts, "baton_approve")
    assert "Only members of @baton-approvers may approve" in ephemeral_text(click)
    assert_waiting(runs, runs.approval, "probe")
    assert buttons_still_there(sandbox, runs.approval)


def test_the_requester_cannot_approve_their_own_request(runs: Runs, sandbox: Sandbox) -> None:
    click = state_of(sandbox.world).click(BOB, CHANNEL, runs.approval.ts, "baton_approve")
    assert "four eyes" in ephemeral_text(click)
    assert_waiting(runs, runs.approval, "probe")
    assert buttons_still_there(sandbox, runs.approval)


def test_a_replayed_request_is_refused(runs: Runs, sandbox: Sandbox) -> None:
    click = prepare(state_of(sandbox.world), ALICE, CHANNEL, runs.approval.ts, "baton_approve")
    first = send(click)
    assert "Only members" in ephemeral_text(first)
    again = send(click)  # the exact same body and signature
    assert again.status == 409 and "replayed" in again.body
    assert_waiting(runs, runs.approval, "probe")


def signed(secret: str, payload: Any, *, stamp: int | None = None) -> tuple[str, dict[str, str]]:
    """A form body ``payload=<json>`` and the headers Slack would send, signed with *secret*."""
    body = urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})
    return body, signed_headers(secret, body, stamp=stamp)


def signed_headers(secret: str, body: str, *, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(secret, ts, body),
    }


@pytest.mark.parametrize("note", ["{{ 7*7 }}", "{% if true %}x{% endif %}", "ok {# hidden #}"])
def test_template_text_in_the_note_is_refused(runs: Runs, sandbox: Sandbox, gateway: RunningGateway, note: str) -> None:
    """Prefect's server renders Jinja inside run_input: a typed note with template markers never gets there.
    The clicker is a legitimate approver, so only the note stands between this click and a resume."""
    slack = state_of(sandbox.world)
    payload = prepare(slack, CAROL, CHANNEL, runs.approval.ts, "baton_approve").payload
    payload["state"] = {"values": {"baton_note": {"note": {"type": "plain_text_input", "value": note}}}}
    body, headers = signed(slack.config.signing_secret, payload)
    reply = httpx.post(gateway.url + "/slack/actions", content=body, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["response_type"] == "ephemeral" and "template markers" in reply.json()["text"]
    assert_waiting(runs, runs.approval, "probe")
    assert buttons_still_there(sandbox, runs.approval)


def test_a_note_longer_than_an_answer_allows_is_refused(runs: Runs, sandbox: Sandbox, gateway: RunningGateway) -> None:
    """An answer's note holds at most 2,000 characters; a longer one is refused in Slack, not with a 500."""
    slack = state_of(sandbox.world)
    payload = prepare(slack, CAROL, CHANNEL, runs.approval.ts, "baton_approve").payload
    payload["state"] = {"values": {"baton_note": {"note": {"type": "plain_text_input", "value": "n" * 2001}}}}
    body, headers = signed(slack.config.signing_secret, payload)
    reply = httpx.post(gateway.url + "/slack/actions", content=body, headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["response_type"] == "ephemeral" and "2000 characters" in reply.json()["text"]
    assert_waiting(runs, runs.approval, "probe")


@pytest.mark.parametrize("clicker", ["", "U" + "X" * 300, "bob@acme.example", "U0BOB0001 "])
def test_a_clicker_that_is_not_a_slack_user_id_is_refused(
    runs: Runs, sandbox: Sandbox, gateway: RunningGateway, clicker: str
) -> None:
    """A Reject needs no rights, so only the user id's shape stands between this click and a resume."""
    slack = state_of(sandbox.world)
    payload = prepare(slack, BOB, CHANNEL, runs.approval.ts, "baton_reject").payload
    payload["user"]["id"] = clicker
    body, headers = signed(slack.config.signing_secret, payload)
    reply = httpx.post(gateway.url + "/slack/actions", content=body, headers=headers)
    assert reply.status_code == 400, reply.text
    assert_waiting(runs, runs.approval, "probe")


# -- malformed payloads, correctly signed: always 4xx, never 500 ------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
NOT_DICT = JSON_VALUES.filter(lambda v: not isinstance(v, dict))
NOT_STR = JSON_VALUES.filter(lambda v: not isinstance(v, str))
NOT_LIST = JSON_VALUES.filter(lambda v: not isinstance(v, list))
DROP = object()  # remove the key instead of setting it
KNOWN_ACTIONS = {*ACTION_IDS, LINK_ACTION}

# (path in the payload, what to put there): each one alone makes the payload malformed
MUTATIONS = st.one_of(
    st.tuples(st.just(("type",)), st.just(DROP) | NOT_STR | st.text().filter(lambda t: t != "block_actions")),
    st.tuples(st.just(("user",)), st.just(DROP) | NOT_DICT),
    st.tuples(
        st.just(("user", "id")),
        st.just(DROP) | NOT_STR | st.text().filter(lambda t: not re.fullmatch(r"[UW][A-Z0-9]{2,40}", t)),
    ),
    st.tuples(st.just(("actions",)), st.just(DROP) | NOT_LIST | st.just([])),
    st.tuples(st.just(("actions", 0)), NOT_DICT),
    st.tuples(
        st.just(("actions", 0, "action_id")),
        st.just(DROP) | NOT_STR | st.text().filter(lambda t: t not in KNOWN_ACTIONS) | st.just("baton_done"),
    ),
    st.tuples(
        st.just(("actions", 0, "value")),
        NOT_STR
        | st.text()
        | JSON_VALUES.map(json.dumps)
        | st.builds(lambda run: json.dumps({"run": run, "key": "probe", "kind": "approval"}), NOT_STR)
        | st.builds(
            lambda kind: json.dumps({"run": "x", "key": "probe", "kind": kind}),
            st.text().filter(lambda k: k not in ("task", "approval", "secret")),
        ),
    ),
    st.tuples(st.just(("container",)), NOT_DICT),
    st.tuples(st.just(("container", "message_ts")), NOT_STR),
    st.tuples(st.just(("message",)), NOT_DICT),
    st.tuples(st.just(("state",)), NOT_DICT),
    st.tuples(st.just(("state", "values")), NOT_DICT),
    st.tuples(st.just(("state", "values", "baton_note")), NOT_DICT),
    st.tuples(st.just(("state", "values", "baton_note", "note")), NOT_DICT),
    st.tuples(st.just(("state", "values", "baton_note", "note", "value")), NOT_STR.filter(lambda v: v is not None)),
)


def mutate(base: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    payload = copy.deepcopy(base)
    node: Any = payload
    for step in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(step, {})
        else:
            node = node[step]
    if new is DROP:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = new
    return payload


def test_malformed_payloads_are_refused_with_4xx(runs: Runs, sandbox: Sandbox, gateway: RunningGateway) -> None:
    """A correct signature over a broken payload: 400 (or 409 for a repeated example), never a 500.
    The base click is alice's Approve, which the gateway refuses anyway: a payload that slipped
    through the shape checks would still resume nothing (and would fail the 4xx assertion)."""
    slack = state_of(sandbox.world)
    base = prepare(slack, ALICE, CHANNEL, runs.approval.ts, "baton_approve").payload
    http = httpx.Client(base_url=gateway.url, timeout=10)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(MUTATIONS)
    @example((("state", "values"), None))
    @example((("state", "values"), [1]))
    @example((("state", "values", "baton_note"), "x"))
    @example((("state", "values", "baton_note", "note", "value"), 7))
    @example((("user", "id"), ""))
    @example((("actions", 0, "value"), "[]"))
    def check(mutation: tuple[tuple[Any, ...], Any]) -> None:
        path, new = mutation
        body, headers = signed(slack.config.signing_secret, mutate(base, path, new))
        reply = http.post("/slack/actions", content=body, headers=headers)
        assert 400 <= reply.status_code < 500, (path, new, reply.status_code, reply.text)

    with http:
        check()
    assert_waiting(runs, runs.approval, "probe")
    assert not [line for line in gateway.log_lines if "unhandled error" in line]


GARBAGE_BODIES = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=200).map(lambda t: urlencode({"payload": t}).encode()),
    NOT_DICT.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
    st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=4).map(
        lambda d: urlencode({"payload": json.dumps(d)}).encode()
    ),
    st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k != "payload"), st.text(max_size=30)).map(
        lambda d: urlencode(d).encode()
    ),
)


def test_garbage_bodies_are_refused_with_4xx(runs: Runs, sandbox: Sandbox, gateway: RunningGateway) -> None:
    secret = state_of(sandbox.world).config.signing_secret.encode()
    http = httpx.Client(base_url=gateway.url, timeout=10)

    @settings(max_examples=120, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(GARBAGE_BODIES)
    @example(b"\x80")
    @example(b"payload=%FF")
    @example(b"payload=" + b"[" * 5000)
    def check(body: bytes) -> None:
        ts = str(int(time.time()))
        mac = hmac.new(secret, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + mac}
        reply = http.post("/slack/actions", content=body, headers=headers)
        assert 400 <= reply.status_code < 500, (body[:200], reply.status_code, reply.text)

    with http:
        check()
    assert_waiting(runs, runs.approval, "probe")
    assert not [line for line in gateway.log_lines if "unhandled error" in line]


# -- one-time tickets: deposit links and OAuth states -----------------------------------------------------


def deposit(gateway: RunningGateway, token: str, secret: str) -> httpx.Response:
    return httpx.post(f"{gateway.url}/deposit/{token}", data={"secret": secret}, timeout=10)


def vault_version(baton_env: dict[str, str], path: str) -> int:
    try:
        return custody_from(settings_from(baton_env)).describe(path).latest_version
    except VaultNotFound:
        return 0


def test_unknown_tickets_and_states_are_refused(runs: Runs, gateway: RunningGateway, baton_env: dict[str, str]) -> None:
    unknown = "x" * 43
    assert httpx.get(f"{gateway.url}/deposit/{unknown}").status_code == 404
    assert deposit(gateway, unknown, "value").status_code == 404
    start = httpx.get(f"{gateway.url}/oauth/salesforce/start", params={"ticket": unknown})
    assert start.status_code == 404
    callback = httpx.get(f"{gateway.url}/oauth/salesforce/callback", params={"state": unknown, "code": "c"})
    assert callback.status_code == 400 and "not valid" in callback.text
    assert httpx.get(f"{gateway.url}/oauth/salesforce/callback").status_code == 400  # no state at all
    assert vault_version(baton_env, runs.vault_path) == 0
    assert_waiting(runs, runs.secret, "probe-secret")


def test_expired_deposit_ticket_and_oauth_state_are_refused(
    runs: Runs, gateway: RunningGateway, baton_env: dict[str, str]
) -> None:
    tickets = TicketStore(custody_from(settings_from(baton_env)), ttl_seconds=1)
    ticket = tickets.issue(
        "deposit", run=runs.secret.run_id, step="probe-secret", vault_path=runs.vault_path, field="api_token"
    )
    state = uuid.uuid4().hex
    tickets.issue_state(state, ticket_token=ticket, provider="salesforce", verifier="v" * 43)
    time.sleep(2.1)
    assert httpx.get(f"{gateway.url}/deposit/{ticket}").status_code == 404
    reply = deposit(gateway, ticket, "tok-expired")
    assert reply.status_code == 404 and "expired" in reply.text
    callback = httpx.get(f"{gateway.url}/oauth/salesforce/callback", params={"state": state, "code": "c"})
    assert callback.status_code == 400 and "expired" in callback.text
    assert vault_version(baton_env, runs.vault_path) == 0
    assert_waiting(runs, runs.secret, "probe-secret")


def test_an_oauth_state_works_once(runs: Runs, gateway: RunningGateway, baton_env: dict[str, str]) -> None:
    tickets = TicketStore(custody_from(settings_from(baton_env)))
    ticket = tickets.issue(
        "oauth", run=runs.secret.run_id, step="probe-secret", vault_path=runs.vault_path, provider="salesforce"
    )
    state = uuid.uuid4().hex
    tickets.issue_state(state, ticket_token=ticket, provider="salesforce", verifier="v" * 43)
    url = f"{gateway.url}/oauth/salesforce/callback"
    first = httpx.get(url, params={"state": state, "error": "access_denied"})  # consumes the state
    assert first.status_code == 400 and "access_denied" in first.text
    again = httpx.get(url, params={"state": state, "code": "c"})
    assert again.status_code == 400 and "already used" in again.text
    other = uuid.uuid4().hex
    tickets.issue_state(other, ticket_token=ticket, provider="jira", verifier="v" * 43)
    wrong = httpx.get(url, params={"state": other, "code": "c"})  # a Jira state at the Salesforce callback
    assert wrong.status_code == 400
    assert vault_version(baton_env, runs.vault_path) == 0
    assert_waiting(runs, runs.secret, "probe-secret")


def test_a_deposit_ticket_works_once(runs: Runs, gateway: RunningGateway, baton_env: dict[str, str]) -> None:
    tickets = TicketStore(custody_from(settings_from(baton_env)))
    ticket = tickets.issue(
        "deposit", run=runs.secret.run_id, step="probe-secret", vault_path=runs.vault_path, field="api_token"
    )
    empty = deposit(gateway, ticket, "   ")  # refused before the ticket is touched
    assert empty.status_code == 400
    assert_waiting(runs, runs.secret, "probe-secret")

    stored = deposit(gateway, ticket, "tok-deposited-once")
    assert stored.status_code == 200 and "Stored in Vault" in stored.text
    result = runs.secret.process.wait(timeout=30)
    assert result["via"] == "deposit" and result["verified"] is True and result["outcome"] == "done"
    assert (result["vault_path"], result["vault_version"]) == (runs.vault_path, 1)
    assert "tok-deposited-once" not in runs.secret.process.output()

    again = deposit(gateway, ticket, "tok-second-try")
    assert again.status_code == 404 and "already used" in again.text
    assert vault_version(baton_env, runs.vault_path) == 1
    assert probe_runs.state_of(runs.api, runs.secret.run_id)[0] == "COMPLETED"


# -- approvals through Prefect's UI/API are self-declared, refused when approvals are Slack-only ---------


def resume_via_api(runs: Runs, run_input: dict[str, Any]) -> None:
    reply = prefect_http(runs.api).post(f"flow_runs/{runs.approval.run_id}/resume", json={"run_input": run_input})
    assert reply.status_code in (200, 201) and reply.json()["status"] == "ACCEPT", reply.text


def thread_texts(sandbox: Sandbox, probe: Probe) -> list[str]:
    return probe_runs.thread_texts(state_of(sandbox.world).thread(CHANNEL, probe.ts)[1:])


def test_an_approval_from_the_prefect_ui_is_refused_and_the_step_waits_again(runs: Runs, sandbox: Sandbox) -> None:
    resume_via_api(runs, {"outcome": "approve", "via": "prefect-ui", "responder": CAROL, "note": "looks fine"})
    probe_runs.wait_paused_at(runs.api, runs.approval.run_id, "probe-r1")
    said = [t for t in thread_texts(sandbox, runs.approval) if "via prefect-ui not accepted" in t]
    assert said and "approvals are accepted only through Slack" in said[0] and "still waiting" in said[0]
    assert re.search(
        r"answer to probe via prefect-ui refused: approvals are accepted only", runs.approval.process.output()
    )
    assert buttons_still_there(sandbox, runs.approval)


def test_a_ui_answer_claiming_slack_with_a_forged_attestation_is_not_verified(runs: Runs, sandbox: Sandbox) -> None:
    answer = AnswerFields.model_validate(
        {
            "outcome": "approve",
            "via": "slack",
            "responder": "U0CAROL01",
            "answered_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    )
    forged = attestation.sign(b"not-the-gateway-key", attested_fields(runs.approval.run_id, "probe-r1", answer))
    resume_via_api(runs, answer.model_dump() | {"attestation": forged})
    probe_runs.wait_paused_at(runs.api, runs.approval.run_id, "probe-r2")
    said = [t for t in thread_texts(sandbox, runs.approval) if "via slack not accepted" in t]
    assert said and "approvals are accepted only through Slack" in said[0]
    assert buttons_still_there(sandbox, runs.approval)


# -- the answer that ends the approval, and what comes after it ------------------------------------------


def test_carol_approves_then_replays_and_late_clicks_resume_nothing(runs: Runs, sandbox: Sandbox) -> None:
    slack = state_of(sandbox.world)
    late = prepare(slack, BOB, CHANNEL, runs.approval.ts, "baton_reject")  # made now, sent after the answer
    approve = prepare(slack, CAROL, CHANNEL, runs.approval.ts, "baton_approve")
    accepted = send(approve)
    assert accepted.status == 200 and accepted.body == "{}", accepted.body
    result = runs.approval.process.wait(timeout=30)
    assert (result["outcome"], result["responder"], result["via"], result["verified"]) == (
        "approve",
        "U0CAROL01",
        "slack",
        True,
    )
    assert probe_runs.state_of(runs.api, runs.approval.run_id)[0] == "COMPLETED"

    replayed = send(approve)
    assert replayed.status == 409 and "replayed" in replayed.body
    text = ephemeral_text(send(late))
    assert text.startswith("Nothing to do") and "not waiting" in text
    final = slack.message(CHANNEL, runs.approval.ts)
    assert "Approved* by <@U0CAROL01>" in json.dumps(final["blocks"]) and "baton_reject" not in json.dumps(
        final["blocks"]
    )
