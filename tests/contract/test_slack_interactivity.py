"""Button clicks: the block_actions payload, signed as Slack signs, delivered to a receiver; response_url."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from sandbox.server import Sandbox
from sandbox.slack import ClickError, SlackState
from tests.contract.conftest import Receiver
from tests.contract.slack_spec import CheckedWebClient
from tests.contract.test_slack_webapi import buttons


def verify(state: SlackState, received: Any) -> bool:
    return SignatureVerifier(state.config.signing_secret).is_valid_request(received.body, received.headers)


def payload_of(received: Any) -> dict[str, Any]:
    form = parse_qs(received.body)
    assert list(form) == ["payload"]
    result: dict[str, Any] = json.loads(form["payload"][0])
    return result


@pytest.fixture
def posted(slack: CheckedWebClient) -> str:
    ts: str = slack.chat_postMessage(channel="C0HANDOVER", text="Re-authorize Jira", blocks=buttons())["ts"]
    return ts


def test_click_is_signed_and_shaped_like_slacks(slack_state: SlackState, receiver: Receiver, posted: str) -> None:
    slack_state.set_request_url(receiver.url)
    result = slack_state.click("carol@acme.example", "C0HANDOVER", posted, "done")
    assert result.status == 200 and result.elapsed < 3
    (received,) = receiver.requests
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert verify(slack_state, received)
    payload = payload_of(received)
    assert payload == result.payload
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U0CAROL01", "username": "carol", "name": "carol", "team_id": "T0ACME"}
    assert payload["api_app_id"] == "A0BATONAPP" and payload["token"] == slack_state.config.verification_token
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted,
        "channel_id": "C0HANDOVER",
        "is_ephemeral": False,
    }
    assert payload["team"]["id"] == "T0ACME" and payload["channel"] == {"id": "C0HANDOVER", "name": "it-handover"}
    assert payload["message"]["ts"] == posted and payload["message"]["blocks"][1]["block_id"] == "decision"
    (action,) = payload["actions"]
    assert action["action_id"] == "done" and action["block_id"] == "decision" and action["value"] == "run-1:done"
    assert action["type"] == "button" and action["text"]["text"] == "Done" and "." in action["action_ts"]
    assert payload["trigger_id"] and payload["response_url"].startswith(slack_state.world.urls["slack"])


def test_tampered_and_stale_clicks_fail_verification(slack_state: SlackState, receiver: Receiver, posted: str) -> None:
    slack_state.set_request_url(receiver.url)
    slack_state.click("U0CAROL01", "C0HANDOVER", posted, "problem", tamper=True)
    slack_state.click("U0CAROL01", "C0HANDOVER", posted, "problem", timestamp=int(time.time()) - 600)
    tampered, stale = receiver.requests
    assert not verify(slack_state, tampered)
    assert stale.headers["X-Slack-Request-Timestamp"] == str(int(stale.headers["X-Slack-Request-Timestamp"]))
    assert not verify(slack_state, stale), "older than 5 minutes"
    # The stale one is correctly signed: only its age makes it invalid.
    assert SignatureVerifier(slack_state.config.signing_secret, clock=_Frozen(stale)).is_valid_request(
        stale.body, stale.headers
    )


class _Frozen:
    """A clock stopped at the request's own timestamp (SignatureVerifier's ``clock``)."""

    def __init__(self, received: Any) -> None:
        self.at = float(received.headers["X-Slack-Request-Timestamp"])

    def now(self) -> float:
        return self.at


def test_receiver_answer_is_returned(slack_state: SlackState, receiver: Receiver, posted: str) -> None:
    receiver.status, receiver.answer = 401, "invalid signature"
    result = slack_state.click("bob@acme.example", "#it-handover", posted, "done", url=receiver.url)
    assert (result.status, result.body) == (401, "invalid signature")


def test_click_errors(slack_state: SlackState, posted: str, receiver: Receiver) -> None:
    slack_state.set_request_url(receiver.url)
    with pytest.raises(ClickError, match="action_id"):
        slack_state.click("U0CAROL01", "C0HANDOVER", posted, "no-such-button")
    with pytest.raises(ClickError, match="no Slack user"):
        slack_state.click("eve@evil.example", "C0HANDOVER", posted, "done")
    with pytest.raises(ClickError, match="no message"):
        slack_state.click("U0CAROL01", "C0HANDOVER", "1000000000.000001", "done")
    slack_state.set_request_url("")
    with pytest.raises(ClickError, match="request URL"):
        slack_state.click("U0CAROL01", "C0HANDOVER", posted, "done")


def test_unreachable_receiver(slack_state: SlackState, posted: str) -> None:
    result = slack_state.click("U0CAROL01", "C0HANDOVER", posted, "done", url="http://127.0.0.1:9/", timeout=1)
    assert result.status == 0 and result.error


def test_click_over_http(sandbox: Sandbox, slack_state: SlackState, receiver: Receiver, posted: str) -> None:
    base = sandbox.urls["slack"]
    assert httpx.post(base + "/sandbox/slack/request_url", json={"url": receiver.url}).json() == {"url": receiver.url}
    answer = httpx.post(
        base + "/sandbox/slack/click",
        json={"user": "carol@acme.example", "channel": "C0HANDOVER", "ts": posted, "action_id": "done"},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == 200 and body["payload"]["actions"][0]["action_id"] == "done"
    assert verify(slack_state, receiver.requests[-1])
    tampered = httpx.post(
        base + "/sandbox/slack/click",
        json={"user": "U0CAROL01", "channel": "C0HANDOVER", "ts": posted, "action_id": "done", "tamper": True},
    )
    assert tampered.status_code == 200 and not verify(slack_state, receiver.requests[-1])
    missing = httpx.post(
        base + "/sandbox/slack/click",
        json={"user": "U0CAROL01", "channel": "C0HANDOVER", "ts": posted, "action_id": "nope"},
    )
    assert missing.status_code == 404 and "action_id" in missing.json()["message"]
    assert httpx.post(base + "/sandbox/slack/click", json={"user": "U0CAROL01"}).status_code == 400


def test_response_url_replaces_then_posts(slack_state: SlackState, receiver: Receiver, posted: str) -> None:
    slack_state.set_request_url(receiver.url)
    url = slack_state.click("U0CAROL01", "C0HANDOVER", posted, "done").payload["response_url"]
    done = [{"type": "section", "text": {"type": "mrkdwn", "text": "Done by <@U0CAROL01>"}}]
    assert httpx.post(url, json={"replace_original": True, "text": "done", "blocks": done}).json() == {"ok": True}
    stored = slack_state.message("C0HANDOVER", posted)
    assert stored["text"] == "done" and stored["history"][0]["via"] == "response_url"
    assert (
        httpx.post(url, json={"text": "thanks", "response_type": "in_channel", "thread_ts": posted}).status_code == 200
    )
    assert [m["text"] for m in slack_state.thread("C0HANDOVER", posted)][-1] == "thanks"
    httpx.post(url, json={"text": "just for you"})
    last = slack_state.messages("C0HANDOVER", include_ephemeral=True)[-1]
    assert last["text"] == "just for you" and last["ephemeral_to"] == "U0CAROL01"
    assert httpx.post(url, json={"delete_original": True}).json() == {"ok": True}
    assert posted not in [m["ts"] for m in slack_state.messages("C0HANDOVER")]
    assert httpx.post(url, json={"text": "fifth use"}).status_code == 200
    assert httpx.post(url, json={"text": "sixth use"}).status_code == 404, "a response_url is good for 5 uses"
    assert httpx.post(url.rsplit("/", 1)[0] + "/nope", json={"text": "x"}).json()["error"] == "expired_url"


def test_messages_over_http(sandbox: Sandbox, slack_state: SlackState, posted: str) -> None:
    base = sandbox.urls["slack"] + "/sandbox/slack/messages"
    body = httpx.get(base, params={"channel": "#it-handover"}).json()
    assert body["channel"] == "C0HANDOVER" and posted in [m["ts"] for m in body["messages"]]
    thread = httpx.get(base, params={"channel": "C0HANDOVER", "thread_ts": posted}).json()["messages"]
    assert thread[0]["ts"] == posted
    assert httpx.get(base, params={"channel": "C0NOSUCHCHAN"}).status_code == 404
    assert "C0HANDOVER" in httpx.get(base).json()["channels"]
