"""Bad requests: unknown methods, no auth, malformed bodies. Never a 500, never a traceback."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from sandbox.server import Sandbox
from sandbox.slack import SlackState
from tests.contract.conftest import checked_client
from tests.contract.slack_spec import SlackSpec


def test_unknown_method_is_404_unknown_method(sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    client = checked_client(sandbox, slack_spec)
    with pytest.raises(SlackApiError) as info:
        client.api_call("chat.teleport")
    assert info.value.response.status_code == 404
    assert info.value.response.data == {"ok": False, "error": "unknown_method", "req_method": "chat.teleport"}


def test_no_auth_over_raw_http(sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    answer = httpx.post(sandbox.urls["slack"] + "/api/chat.postMessage", json={"channel": "C0HANDOVER", "text": "x"})
    assert answer.status_code == 200 and answer.json() == {"ok": False, "error": "not_authed"}
    slack_spec.check("chat.postMessage", answer.json())


def test_token_inside_a_json_body_is_ignored(sandbox: Sandbox, slack_state: SlackState) -> None:
    answer = httpx.post(sandbox.urls["slack"] + "/api/auth.test", json={"token": slack_state.bot.token})
    assert answer.json()["error"] == "not_authed", "Slack reads JSON-body tokens only from the header"


@pytest.mark.parametrize("method,code", [("chat.postMessage", "invalid_form_data"), ("chat.update", "invalid_json")])
def test_invalid_json(sandbox: Sandbox, slack_state: SlackState, slack_spec: SlackSpec, method: str, code: str) -> None:
    answer = httpx.post(
        sandbox.urls["slack"] + f"/api/{method}",
        content=b'{"channel": "C0HANDOVER", "te',
        headers={"Authorization": f"Bearer {slack_state.bot.token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200 and answer.json() == {"ok": False, "error": code}
    slack_spec.check(method, answer.json())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "channel": st.sampled_from(["C0HANDOVER", "#it-handover", "U0CAROL01", "", "C0NOPE0000"]) | JSON,
        "text": JSON,
        "blocks": JSON,
        "thread_ts": JSON,
        "attachments": JSON,
    },
)
BODIES = st.one_of(
    st.binary(max_size=200).map(lambda b: ("application/json", b)),
    st.binary(max_size=200).map(lambda b: ("application/x-www-form-urlencoded", b)),
    JSON.map(lambda v: ("application/json", json.dumps(v).encode())),
    FIELDS.map(lambda v: ("application/json", json.dumps(v).encode())),
    st.text(max_size=100).map(lambda t: ("text/plain", t.encode())),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_malformed_bodies_never_500(
    sandbox: Sandbox, slack_state: SlackState, slack_spec: SlackSpec, body: tuple[str, bytes]
) -> None:
    ctype, content = body
    answer = httpx.post(
        sandbox.urls["slack"] + "/api/chat.postMessage",
        content=content,
        headers={"Authorization": f"Bearer {slack_state.bot.token}", "Content-Type": ctype},
    )
    assert answer.status_code == 200, answer.text
    slack_spec.check("chat.postMessage", answer.json())


@pytest.mark.parametrize(
    "path",
    [
        "/sandbox/slack/click",
        "/sandbox/slack/request_url",
        "/sandbox/slack/rate_limit",
        "/sandbox/slack/response/T0ACME/nope",
    ],
)
@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"user": 1, "timeout": "soon"}',
        b'{"user": "U0CAROL01", "channel": "C0HANDOVER", "ts": "1", "action_id": "x", "timeout": "soon"}',
        b'{"url": 5, "per_channel_per_second": "fast"}',
    ],
)
def test_control_endpoints_refuse_garbage_without_500(sandbox: Sandbox, path: str, content: bytes) -> None:
    answer = httpx.post(sandbox.urls["slack"] + path, content=content, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500 and answer.json()["ok"] is False, answer.text


def test_unknown_paths_and_verbs(sandbox: Sandbox) -> None:
    assert httpx.get(sandbox.urls["slack"] + "/api/chat.postMessage/extra").status_code == 404
    assert httpx.put(sandbox.urls["slack"] + "/api/auth.test").json()["ok"] is False
    assert httpx.get(sandbox.urls["slack"] + "/nowhere").status_code == 404
