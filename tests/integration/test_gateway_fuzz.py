"""Hypothesis against the gateway's four request bodies (/slack/actions, /hooks/offboarding, /hooks/okta,
/deposit/<ticket>): oversized, malformed, deeply nested and non-UTF-8 bodies, unsigned and signed with the
test secrets (so that they get past the signature checks); template text in every field a person types.
Never a 500 (the in-process TestClient re-raises one), never a resume: a real approval run, requested by bob,
is still PAUSED at its step afterwards, and no offboarding run was started.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from baton.devstack import PrefectServer
from clients.factory import custody_from
from clients.prefect_api import prefect_http
from clients.vault.tickets import TicketStore
from gateway.limits import MAX_BODY
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.figures import record
from tests.flows import probe_runs
from tests.harness import FlowProcess, settings_from
from tests.integration.gateway_kit import (
    ALICE,
    BOB,
    HOOK_SECRET,
    OKTA_SECRET,
    PausedApproval,
    click,
    form,
    gateway_client,
    hook_headers,
    paused_approval,
    slack_headers,
)

EXAMPLES: Counter[str] = Counter()  # strategy -> examples run (printed with -s: the report's figures)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
ROUTES = ["/slack/actions", "/hooks/offboarding", "/hooks/okta", "/deposit/{ticket}"]


@dataclass
class World:
    run: PausedApproval
    gw: TestClient
    slack_secret: str
    deposit_ticket: str  # a live deposit ticket for a run that is not waiting: the route's checks run in full


@pytest.fixture(scope="module")
def world(baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox) -> Iterator[World]:
    tickets = TicketStore(custody_from(settings_from(baton_env)))
    path = f"baton/tests/fuzz-{uuid.uuid4().hex[:8]}/api-token"
    ticket = tickets.issue("deposit", run=str(uuid.uuid4()), step="probe-secret", vault_path=path, field="api_token")
    with paused_approval(baton_env, prefect_server.api_url) as run, gateway_client(baton_env) as gw:
        yield World(run, gw, state_of(sandbox.world).config.signing_secret, ticket)
        assert run.still_waiting(), "a fuzzed request resumed the run"
        started = _offboarding_runs(prefect_server.api_url)
        assert not started, f"a fuzzed hook started offboarding runs: {started}"
    record("gateway-hypothesis", examples=sum(EXAMPLES.values()), server_errors=0, resumes=0)
    print(f"\nhypothesis examples: {dict(EXAMPLES)} total={sum(EXAMPLES.values())}")


def _offboarding_runs(api: str) -> list[str]:
    with prefect_http(api) as http:
        runs = http.post(
            "flow_runs/filter",
            json={"flow_runs": {"tags": {"all_": ["offboarding"]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 200},
        ).json()
    return [r["id"] for r in runs if "fuzz" in json.dumps(r.get("parameters"))]


def route(w: World, name: str) -> str:
    return name.replace("{ticket}", w.deposit_ticket)


def signed_for(w: World, name: str, body: bytes) -> dict[str, str]:
    """Headers that get *body* past *name*'s authentication."""
    if name == "/slack/actions":
        return slack_headers(w.slack_secret, body)
    if name == "/hooks/offboarding":
        return hook_headers(body)
    if name == "/hooks/okta":
        return {"Authorization": OKTA_SECRET, "Content-Type": "application/json"}
    return {"Content-Type": "application/x-www-form-urlencoded"}


def never_500(reply: httpx.Response, what: object) -> None:
    assert reply.status_code < 500 or reply.status_code == 503, (what, reply.status_code, reply.text[:300])
    assert reply.status_code != 503, (what, reply.text[:300])  # Prefect and Vault are up here
    if reply.headers.get("content-type", "").startswith("application/json"):
        assert reply.json() != {}, (what, "accepted")  # {} is Slack's "taken"


# -- bodies: oversized, malformed, deeply nested, not UTF-8 ----------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
NESTED = st.builds(
    lambda depth, kind: ("[" * depth + "]" * depth) if kind == "list" else ('{"a":' * depth + "1" + "}" * depth),
    st.integers(50, 30000),
    st.sampled_from(["list", "dict"]),
).map(str.encode)
NOT_UTF8 = st.binary(min_size=1, max_size=400).filter(lambda b: not _utf8(b)) | st.builds(
    lambda head, tail: head + b"\xff\xfe\xc3\x28" + tail, st.binary(max_size=50), st.binary(max_size=50)
)
BODIES = st.one_of(
    st.binary(max_size=400),
    NOT_UTF8,
    NESTED,
    NESTED.map(lambda b: b"payload=" + b),
    JSON.map(lambda v: json.dumps(v).encode()),
    JSON.map(lambda v: form(json.dumps(v))),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("sign", [False, True], ids=["unsigned", "signed"])
def test_garbage_bodies_never_500_never_resume(world: World, name: str, sign: bool) -> None:
    @FUZZ
    @given(body=BODIES)
    @example(body=b"\x80")
    @example(body=b"payload=%FF%FE")
    @example(body=b"[" * 40000)
    @example(body=b'{"data": {"events": [' + b"[" * 20000 + b"]}}")
    def check(body: bytes) -> None:
        EXAMPLES[f"garbage {name} {'signed' if sign else 'unsigned'}"] += 1
        headers = signed_for(world, name, body) if sign else {}
        reply = world.gw.post(route(world, name), content=body, headers=headers)
        never_500(reply, body[:100])
        assert 400 <= reply.status_code < 500 or (name == "/hooks/okta" and reply.json().get("started") == []), (
            body[:100], reply.status_code, reply.text[:200])  # fmt: skip

    check()


@pytest.mark.parametrize("name", ROUTES)
def test_oversized_bodies_are_413(world: World, name: str) -> None:
    @FUZZ
    @given(size=st.integers(MAX_BODY + 1, 4 * MAX_BODY), filler=st.sampled_from([b"a", b"[", b"\xff", b"payload="]))
    def check(size: int, filler: bytes) -> None:
        EXAMPLES[f"oversized {name}"] += 1
        body = (filler * (size // len(filler) + 1))[:size]
        reply = world.gw.post(route(world, name), content=body, headers=signed_for(world, name, body))
        assert reply.status_code == 413 and "larger than" in reply.json()["error"], reply.text

    check()


# -- template text in every field a person types --------------------------------------------------------------

MARKERS = st.sampled_from(["{{", "}}", "{%", "%}", "{#", "#}", "{{ 7*7 }}", "{% raw %}", "{# x #}"])
OPENERS = st.sampled_from(["{{", "{%", "{#"])
WITH_TEMPLATE = st.builds(lambda a, m, b: a + m + b, st.text(max_size=30), OPENERS, st.text(max_size=30))
LOCAL_WITH_TEMPLATE = st.builds(  # an address's local part may hold { } # % (RFC 5322): only the markers are refused
    lambda a, m, b: f"{a}{m}{b}@acme.example",
    st.from_regex(r"[a-z]{0,8}", fullmatch=True),
    st.sampled_from(["{{", "{%", "{#"]),
    st.from_regex(r"[a-z0-9}%#]{0,8}", fullmatch=True),
)


def test_template_text_in_a_slack_note_is_refused(world: World) -> None:
    """bob's Reject needs no rights: only the note's check stands between these clicks and a resume."""

    @FUZZ
    @given(note=WITH_TEMPLATE, extra=MARKERS)
    def check(note: str, extra: str) -> None:
        EXAMPLES["template in the Slack note"] += 1
        body = form(click(BOB, "baton_reject", world.run.run_id, note=note + extra))
        reply = world.gw.post("/slack/actions", content=body, headers=slack_headers(world.slack_secret, body))
        never_500(reply, note)
        assert reply.json()["response_type"] == "ephemeral" and "template markers" in reply.json()["text"], reply.text

    check()


def test_clicks_from_people_who_may_not_approve_never_resume(world: World) -> None:
    """Signed, well-formed Approve clicks by anyone but an approver (random ids, alice), any note."""
    clickers = st.from_regex(r"[UW][A-Z0-9]{2,12}", fullmatch=True).filter(lambda u: u not in {BOB, "U0CAROL01"})

    @FUZZ
    @given(user=clickers | st.just(ALICE) | st.just(BOB), note=st.text(max_size=100) | WITH_TEMPLATE)
    def check(user: str, note: str) -> None:
        EXAMPLES["Approve by a non-approver or the requester"] += 1
        body = form(click(user, "baton_approve", world.run.run_id, note=note))
        reply = world.gw.post("/slack/actions", content=body, headers=slack_headers(world.slack_secret, body))
        never_500(reply, (user, note))
        assert reply.status_code in (200, 400) and reply.json() != {}, reply.text

    check()


def test_template_text_in_offboarding_hook_fields_is_refused(world: World) -> None:
    @FUZZ
    @given(
        field=st.sampled_from(["user.email", "requested_by", "event_id", "type"]),
        value=LOCAL_WITH_TEMPLATE | WITH_TEMPLATE,
    )
    def check(field: str, value: str) -> None:
        EXAMPLES["template in offboarding hook fields"] += 1
        event = {"event_id": f"fuzz-{uuid.uuid4().hex}", "type": "user.deactivated",
                 "user": {"email": "fuzz-person@acme.example"}, "requested_by": "fuzz-bob@acme.example"}  # fmt: skip
        if field == "user.email":
            event["user"] = {"email": value}
        else:
            event[field] = value
        body = json.dumps(event).encode()
        reply = world.gw.post("/hooks/offboarding", content=body, headers=hook_headers(body))
        never_500(reply, event)
        assert reply.status_code == 400 and field in reply.json()["error"], (event, reply.text)

    check()


def test_template_text_in_okta_hook_fields_starts_nothing(world: World) -> None:
    @FUZZ
    @given(where=st.sampled_from(["target", "actor"]), value=LOCAL_WITH_TEMPLATE)
    def check(where: str, value: str) -> None:
        EXAMPLES["template in Okta hook fields"] += 1
        target = value if where == "target" else "fuzz-person@acme.example"
        event = {"uuid": f"fuzz-{uuid.uuid4().hex}", "eventType": "user.lifecycle.deactivate",
                 "target": [{"type": "User", "alternateId": target}]}  # fmt: skip
        if where == "actor":
            event["actor"] = {"type": "User", "alternateId": value}
        body = json.dumps({"data": {"events": [event]}}).encode()
        reply = world.gw.post("/hooks/okta", content=body, headers={"Authorization": OKTA_SECRET})
        never_500(reply, event)
        answer = reply.json()
        assert reply.status_code == 200 and answer["started"] == [] and answer["refused"], answer

    check()


def test_hook_secrets_are_checked_before_anything_else(world: World) -> None:
    """Wrong or missing hook credentials: 401 whatever the body (no validation error leaks the body's shape);
    only the size cap comes before (413)."""

    secrets = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)

    @FUZZ
    @given(body=BODIES, name=st.sampled_from(["/hooks/offboarding", "/hooks/okta"]), secret=secrets)
    def check(body: bytes, name: str, secret: str) -> None:
        EXAMPLES["hooks with a wrong secret"] += 1
        mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        sent = secret.encode("utf-8")
        headers = [(b"x-baton-signature", b"sha256=" + mac.encode()), (b"authorization", sent)]
        if secret in (HOOK_SECRET, OKTA_SECRET):
            return
        reply = world.gw.post(name, content=body, headers=headers)  # type: ignore[arg-type]
        assert reply.status_code == (413 if len(body) > MAX_BODY else 401), reply.text  # the cap comes first

    check()


def test_template_text_in_a_deposited_secret_is_stored_as_typed_and_never_reaches_prefect(
    baton_env: dict[str, str], prefect_server: PrefectServer, world: World
) -> None:
    """A password may hold braces: the deposit stores the value as typed, in Vault only; the run resumes with the
    Vault path and version, and Prefect's copy of the answer holds no template text."""
    path = f"baton/tests/fuzz-template-{uuid.uuid4().hex[:8]}/api-token"
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    flow = FlowProcess("step_probe.py", baton_env, "kind=secret", f"vault_path={path}")
    try:
        run = probe_runs.find_paused(prefect_server.api_url, "step-probe", since=since, where={"kind": "secret"})
        custody = custody_from(settings_from(baton_env))
        ticket = TicketStore(custody).issue(
            "deposit", run=run["id"], step="probe-secret", vault_path=path, field="api_token"
        )
        value = "pw{{ 7*7 }}{% if 1 %}x{% endif %}{# c #}"
        reply = world.gw.post(f"/deposit/{ticket}", content=urlencode({"secret": value}),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        assert reply.status_code == 200 and "Stored in Vault" in reply.text, reply.text
        result = flow.wait(timeout=60)
    finally:
        flow.kill()
    assert result["via"] == "deposit" and (result["vault_path"], result["vault_version"]) == (path, 1)
    assert custody.read_version(path, 1).values["api_token"].get_secret_value() == value
    assert value not in json.dumps(result) and value not in flow.output()
    home = prefect_server.home
    for file in [home / "prefect.db", home / "prefect.db-wal"]:
        if file.exists():
            assert value.encode() not in file.read_bytes(), f"the deposited value reached {file.name}"
