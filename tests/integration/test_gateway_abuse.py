"""Gateway abuse: every way a request may try to resume a step it has no right to, each refused without a
500 and without resuming anything; Prefect unreachable; the replay guard shared by two gateway replicas.

The Slack cases run against two in-process gateways built separately from the session's real OpenBao,
Prefect and sandbox (two replicas) and one real paused approval run, requested by bob. After every case
the run is still PAUSED at the same step. The double click, which ends the run, comes last.
(test_gateway_refusals.py covers the same ground through the Slack stand-in; this file fills its gaps.)
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import hvac
import pytest
from starlette.testclient import TestClient

from baton.devstack import PrefectServer, free_port
from clients.factory import custody_from, slack_from
from clients.vault import Custody, VaultNotFound
from clients.vault.tickets import TicketStore
from gateway.app import build, create_app
from gateway.replay import ReplayGuard
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import settings_from
from tests.integration.gateway_kit import (
    ALICE,
    BOB,
    CAROL,
    OKTA_SECRET,
    PausedApproval,
    click,
    form,
    gateway_client,
    hook_headers,
    paused_approval,
    slack_headers,
)


@dataclass
class World:
    run: PausedApproval
    a: TestClient  # one gateway replica
    b: TestClient  # another, sharing the same Vault
    secret: str  # Slack's signing secret


@pytest.fixture(scope="module")
def world(baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox) -> Iterator[World]:
    secret = state_of(sandbox.world).config.signing_secret
    with paused_approval(baton_env, prefect_server.api_url) as run:
        with gateway_client(baton_env) as a, gateway_client(baton_env) as b:
            yield World(run, a, b, secret)


def post(client: TestClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return client.post("/slack/actions", content=body, headers=headers)


def signed(w: World, payload: object, **kw: int) -> tuple[bytes, dict[str, str]]:
    body = form(payload)
    return body, slack_headers(w.secret, body, **kw)


def ephemeral(reply: httpx.Response) -> str:
    assert reply.status_code == 200, (reply.status_code, reply.text)
    data = reply.json()
    assert data.get("response_type") == "ephemeral", data
    return str(data["text"])


# each case: what it sends (the last reply is checked), the status it must get, a word the answer must hold
def _forged(w: World) -> httpx.Response:
    body = form(click(CAROL, "baton_approve", w.run.run_id))
    return post(w.a, body, slack_headers("not-the-signing-secret", body))


def _unsigned(w: World) -> httpx.Response:
    body, headers = signed(w, click(CAROL, "baton_approve", w.run.run_id))
    del headers["X-Slack-Signature"]
    return post(w.a, body, headers)


def _no_timestamp(w: World) -> httpx.Response:
    body, headers = signed(w, click(CAROL, "baton_approve", w.run.run_id))
    del headers["X-Slack-Request-Timestamp"]
    return post(w.a, body, headers)


def _signature_of_another_body(w: World) -> httpx.Response:
    _, headers = signed(w, click(ALICE, "baton_approve", w.run.run_id))
    return post(w.a, form(click(CAROL, "baton_approve", w.run.run_id)), headers)


def _aged(seconds: int) -> Callable[[World], httpx.Response]:
    def send(w: World) -> httpx.Response:
        return post(w.a, *signed(w, click(CAROL, "baton_approve", w.run.run_id), stamp=int(time.time()) - seconds))

    return send


def _replayed(to_other: bool) -> Callable[[World], httpx.Response]:
    def send(w: World) -> httpx.Response:
        body, headers = signed(w, click(ALICE, "baton_approve", w.run.run_id))
        first = post(w.a, body, headers)
        assert first.status_code == 200, first.text  # alice may not approve: refused, but not a replay
        return post(w.b if to_other else w.a, body, headers)

    return send


def _as(
    user: str, action: str, *, run: str = "", key: str = "probe", note: str | None = None
) -> Callable[[World], httpx.Response]:
    def send(w: World) -> httpx.Response:
        on = w.run.message_ts  # clicked on the step's own message, whatever run or step the button names
        return post(w.a, *signed(w, click(user, action, run or w.run.run_id, key=key, note=note, message_ts=on)))

    return send


NOT_ITS_MESSAGE = "does not belong to this message"  # a button naming another run or step than the message's
CASES: dict[str, tuple[Callable[[World], httpx.Response], int, str]] = {
    "forged (another signing secret)": (_forged, 401, "invalid signature"),
    "unsigned (no X-Slack-Signature)": (_unsigned, 401, "invalid signature"),
    "unsigned (no timestamp)": (_no_timestamp, 401, "Timestamp"),
    "signature of another body": (_signature_of_another_body, 401, "invalid signature"),
    "stale (6 minutes old)": (_aged(360), 401, "stale"),
    "stale (a day old)": (_aged(86400), 401, "stale"),
    "future-dated (6 minutes ahead)": (_aged(-360), 401, "stale"),
    "replayed to the same replica": (_replayed(False), 409, "replayed"),
    "replayed to another replica": (_replayed(True), 409, "replayed"),
    "outsider (not in the workspace) approves": (_as("U0MALLORY9", "baton_approve"), 200, "no member"),
    "non-approver approves": (_as(ALICE, "baton_approve"), 200, "Only members"),
    "self-approval (the requester approves)": (_as(BOB, "baton_approve"), 200, "four eyes"),
    "template {{ }} in a reject's note": (_as(BOB, "baton_reject", note="{{ 7*7 }}"), 200, "template markers"),
    "template {% %} in a reject's note": (_as(BOB, "baton_reject", note="{% raw %}x{% endraw %}"), 200, "template"),
    "template {# #} in a reject's note": (_as(BOB, "baton_reject", note="fine {# hidden #}"), 200, "template"),
    "template text as the button's step key": (_as(BOB, "baton_reject", key="{{ 7*7 }}"), 200, NOT_ITS_MESSAGE),
    "run id ../deployments/filter": (_as(BOB, "baton_reject", run="../deployments/filter"), 200, NOT_ITS_MESSAGE),
    "run id ../../flow_runs/filter": (_as(BOB, "baton_reject", run="../../flow_runs/filter"), 200, NOT_ITS_MESSAGE),
    "run id <uuid>/../<uuid>": (_as(BOB, "baton_reject", run=f"{uuid.uuid4()}/../{uuid.uuid4()}"), 200, "Nothing"),
    "run id with %2f": (_as(BOB, "baton_reject", run="..%2fdeployments%2ffilter"), 200, NOT_ITS_MESSAGE),
    "run id with CR/LF": (_as(BOB, "baton_reject", run="x\r\nFORGED log line"), 200, NOT_ITS_MESSAGE),
    "run id of no run (a fresh UUID)": (_as(BOB, "baton_reject", run=str(uuid.uuid4())), 200, NOT_ITS_MESSAGE),
}


@pytest.mark.parametrize("name", list(CASES))
def test_abuse_is_refused_and_resumes_nothing(world: World, name: str) -> None:
    send, status, says = CASES[name]
    reply = send(world)
    assert reply.status_code == status, (reply.status_code, reply.text)
    assert says in (ephemeral(reply) if status == 200 else reply.text), reply.text
    assert world.run.still_waiting(), f"{name}: the run was resumed"


def test_one_replay_sent_to_both_replicas_at_once_is_accepted_by_one(world: World) -> None:
    """The replay guard's check-and-set in Vault: of two replicas racing on one signature, exactly one wins."""
    for _ in range(5):
        body, headers = signed(world, click(ALICE, "baton_approve", world.run.run_id))
        replies: list[httpx.Response] = []
        go = threading.Barrier(2)

        def race(client: TestClient, go: threading.Barrier, replies: list[httpx.Response]) -> None:
            go.wait()
            replies.append(post(client, body, headers))  # noqa: B023 (joined before the next round)

        threads = [threading.Thread(target=race, args=(c, go, replies)) for c in (world.a, world.b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
    assert world.run.still_waiting()


def test_the_replay_record_in_vault_holds_no_signature(world: World, baton_env: dict[str, str]) -> None:
    body, headers = signed(world, click(ALICE, "baton_approve", world.run.run_id))
    post(world.a, body, headers)
    custody = custody_from(settings_from(baton_env))
    kv = custody.client.secrets.kv.v2
    keys = kv.list_secrets(path=f"{custody.prefix}/gateway/replay", mount_point=custody.mount)["data"]["keys"]
    signature = headers["X-Slack-Signature"]
    digest = hashlib.sha256(signature.encode()).hexdigest()
    assert digest in keys
    record = kv.read_secret_version(
        path=f"{custody.prefix}/gateway/replay/{digest}", mount_point=custody.mount, raise_on_deleted_version=True
    )
    assert signature not in json.dumps(record) and signature.removeprefix("v0=") not in json.dumps(record)
    assert record["data"]["metadata"]["version"] == 1


def test_an_oauth_state_keeps_only_its_tickets_hash_in_vault(world: World, baton_env: dict[str, str]) -> None:
    """The OAuth start link's ticket token is in no Vault record: its own record is stored under its SHA-256,
    and the state's record names it by that hash (read raw from OpenBao with the root token)."""
    custody = custody_from(settings_from(baton_env))
    path = f"baton/tests/oauth-hash-{uuid.uuid4().hex[:8]}/salesforce-oauth"
    token = TicketStore(custody).issue(
        "oauth", run=world.run.run_id, step="probe", vault_path=path, provider="salesforce"
    )
    start = world.a.get("/oauth/salesforce/start", params={"ticket": token}, follow_redirects=False)
    assert start.status_code == 302, start.text
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    kv = custody.client.secrets.kv.v2
    where = f"{custody.prefix}/gateway/tickets"
    records = {
        key: kv.read_secret_version(path=f"{where}/{key}", mount_point=custody.mount, raise_on_deleted_version=True)
        for key in kv.list_secrets(path=where, mount_point=custody.mount)["data"]["keys"]
    }
    digest = hashlib.sha256(token.encode()).hexdigest()
    state_record = records[hashlib.sha256(state.encode()).hexdigest()]["data"]["data"]
    assert state_record["purpose"] == "oauth-state" and state_record["label"] == digest
    assert records[digest]["data"]["data"]["purpose"] == "oauth"
    leaks = [key for key, record in records.items() if token in json.dumps(record) or token in key]
    assert not leaks, f"the ticket token is in clear in {leaks}"
    # the callback finds the ticket by its hash and gets as far as the code exchange (a made-up code: refused)
    callback = world.a.get("/oauth/salesforce/callback", params={"state": state, "code": "made-up"})
    assert callback.status_code == 400 and "Nothing authorized" in callback.text, callback.text
    assert world.run.still_waiting()


def test_a_double_click_resumes_once(world: World) -> None:
    """Carol clicks Approve twice, quickly (two signed requests, a second apart at most): one resume."""
    on = world.run.message_ts
    first_body, first_headers = signed(world, click(CAROL, "baton_approve", world.run.run_id, message_ts=on))
    second_body, second_headers = signed(
        world, click(CAROL, "baton_approve", world.run.run_id, note="again", message_ts=on)
    )
    replies: list[httpx.Response] = []
    go = threading.Barrier(2)

    def press(client: TestClient, body: bytes, headers: dict[str, str]) -> None:
        go.wait()
        replies.append(post(client, body, headers))

    threads = [
        threading.Thread(target=press, args=(world.a, first_body, first_headers)),
        threading.Thread(target=press, args=(world.b, second_body, second_headers)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [r for r in replies if r.status_code == 200 and r.json() == {}]
    refused = [r for r in replies if r not in accepted]
    assert len(accepted) == 1 and len(refused) == 1, [r.text for r in replies]
    assert "Nothing to do" in ephemeral(refused[0])
    result = world.run.process.wait(timeout=30)
    assert (result["outcome"], result["responder"], result["verified"]) == ("approve", CAROL, True)


# -- Prefect unreachable: 503 "try again" (Slack: ephemeral), nothing changed ---------------------------------


@pytest.fixture(scope="module")
def cut_off(baton_env: dict[str, str]) -> Iterator[TestClient]:
    """A gateway whose Prefect is a closed port (Vault and Slack are up)."""
    env = {**baton_env, "BATON_PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api"}
    with gateway_client(env) as client:
        yield client


def test_prefect_unreachable_is_an_ephemeral_try_again_in_slack(cut_off: TestClient, sandbox: Sandbox) -> None:
    secret = state_of(sandbox.world).config.signing_secret
    body = form(click(BOB, "baton_reject", str(uuid.uuid4())))
    reply = post(cut_off, body, slack_headers(secret, body))
    assert "try again" in ephemeral(reply)


def test_slack_unreachable_refuses_an_approval_without_a_500(
    baton_env: dict[str, str], sandbox: Sandbox, world: World
) -> None:
    """Slack cannot be reached to check who clicked (users.info) or read the approver group: the click on the
    step's own message is refused with an ephemeral "try again" before Prefect is asked to resume."""
    env = {**baton_env, "BATON_SLACK_BASE_URL": f"http://127.0.0.1:{free_port()}/api/"}
    secret = state_of(sandbox.world).config.signing_secret
    with gateway_client(env) as client:
        body = form(click(CAROL, "baton_approve", world.run.run_id, message_ts=world.run.message_ts))
        text = ephemeral(post(client, body, slack_headers(secret, body)))
    assert "could not" in text and "try again" in text, text  # refused before any resume is asked


def test_vault_unreachable_is_try_again_not_500(baton_env: dict[str, str], sandbox: Sandbox) -> None:
    """Vault goes away after start-up (the gateway's replay guard and tickets talk to a closed port): a Slack
    click is an ephemeral "try again" (so nothing is accepted without the replay check), a page is 503."""
    settings = settings_from(baton_env)
    gateway = build(settings, custody_from(settings), slack_from(settings))
    gone = Custody(hvac.Client(url=f"http://127.0.0.1:{free_port()}", token="t"))
    assert gateway.slack_actions is not None
    gateway.slack_actions.replay = ReplayGuard(gone)
    gateway.deposit.tickets = TicketStore(gone)
    secret = state_of(sandbox.world).config.signing_secret
    with TestClient(create_app(gateway)) as client:
        body = form(click(BOB, "baton_reject", str(uuid.uuid4())))
        assert "try again" in ephemeral(post(client, body, slack_headers(secret, body)))
        page = client.get("/deposit/" + "t" * 43)
        assert page.status_code == 503 and "try again" in page.text, page.text


def test_prefect_unreachable_is_503_try_again_on_pages_and_hooks(
    cut_off: TestClient, baton_env: dict[str, str]
) -> None:
    custody = custody_from(settings_from(baton_env))
    tickets = TicketStore(custody)
    path = f"baton/tests/unreachable-{uuid.uuid4().hex[:8]}/api-token"
    run = str(uuid.uuid4())
    deposit = tickets.issue("deposit", run=run, step="probe-secret", vault_path=path, field="api_token")
    oauth = tickets.issue("oauth", run=run, step="probe-secret", vault_path=path, provider="salesforce")
    event = json.dumps({"event_id": f"evt-{uuid.uuid4().hex}", "type": "user.deactivated",
                        "user": {"email": "alice@acme.example"}}).encode()  # fmt: skip
    okta = json.dumps({"data": {"events": [{"uuid": uuid.uuid4().hex, "eventType": "user.lifecycle.deactivate",
                       "target": [{"type": "User", "alternateId": "alice@acme.example"}]}]}}).encode()  # fmt: skip
    replies = {
        "deposit form": cut_off.get(f"/deposit/{deposit}"),
        "deposit": cut_off.post(f"/deposit/{deposit}", data={"secret": "tok-while-prefect-is-down"}),
        "oauth start": cut_off.get("/oauth/salesforce/start", params={"ticket": oauth}, follow_redirects=False),
        "offboarding hook": cut_off.post("/hooks/offboarding", content=event, headers=hook_headers(event)),
        "okta hook": cut_off.post("/hooks/okta", content=okta, headers={"Authorization": OKTA_SECRET}),
    }
    for what, reply in replies.items():
        assert reply.status_code == 503 and "try again" in reply.text, (what, reply.status_code, reply.text)
    with pytest.raises(VaultNotFound):
        custody.describe(path)  # nothing stored
    assert tickets.peek(deposit, "deposit").used == ""  # and the link still works once Prefect is back
