"""chat.postMessage's per-channel limit, slack-sdk's RateLimitErrorRetryHandler, and 429s on demand."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from sandbox.faults import FaultRule
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.contract.conftest import checked_client
from tests.contract.slack_spec import SlackSpec


def test_second_message_within_a_second_is_refused(fresh_sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    client = checked_client(fresh_sandbox, slack_spec)
    client.chat_postMessage(channel="C0HANDOVER", text="first")
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C0HANDOVER", text="second")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "1"
    assert info.value.response.data == {"ok": False, "error": "ratelimited"}
    client.chat_postMessage(channel="C0ITAUDIT", text="another channel is not limited")
    assert [m["text"] for m in state_of(fresh_sandbox.world).messages("C0HANDOVER")] == ["first"]


def test_retry_handler_waits_and_succeeds(fresh_sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    client = checked_client(fresh_sandbox, slack_spec, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    client.chat_postMessage(channel="C0HANDOVER", text="first")
    started = time.monotonic()
    second = client.chat_postMessage(channel="C0HANDOVER", text="second")
    assert second["ok"] is True and time.monotonic() - started >= 0.5
    assert [m["text"] for m in state_of(fresh_sandbox.world).messages("C0HANDOVER")] == ["first", "second"]
    calls = fresh_sandbox.world.calls["slack POST /api/chat.postMessage"]
    assert calls == 3, "one refused, then retried"


def test_rate_is_configurable(slack_spec: SlackSpec) -> None:
    from sandbox.scenario import load_scenario

    scenario = load_scenario()
    scenario["slack"]["rate_limits"] = {"post_message_per_channel_per_second": 3}
    with Sandbox(scenario) as sb:
        client = checked_client(sb, slack_spec)
        for i in range(3):
            client.chat_postMessage(channel="C0HANDOVER", text=f"burst {i}")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C0HANDOVER", text="one too many")
        answer = httpx.post(sb.urls["slack"] + "/sandbox/slack/rate_limit", json={"per_channel_per_second": 0})
        assert answer.json() == {"per_channel_per_second": 0.0}
        client.chat_postMessage(channel="C0HANDOVER", text="limit off")


def test_faults_give_429_on_any_method(sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    client = checked_client(sandbox, slack_spec)
    sandbox.world.faults.add(FaultRule(host="slack", route="/api/users.info", kind="ratelimit", count=1, retry_after=2))
    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U0CAROL01")
    assert info.value.response.status_code == 429 and info.value.response.headers["Retry-After"] == "2"
    assert client.users_info(user="U0CAROL01")["user"]["id"] == "U0CAROL01"


def test_fault_retried_by_the_handler(sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    client = checked_client(sandbox, slack_spec, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    sandbox.world.faults.add(FaultRule(host="slack", route="/api/auth.test", kind="ratelimit", count=1, retry_after=0))
    assert client.auth_test()["ok"] is True


def test_unavailable_fault(sandbox: Sandbox) -> None:
    sandbox.world.faults.add(FaultRule(host="slack", route="/api/auth.test", kind="unavailable", count=1))
    answer = httpx.post(sandbox.urls["slack"] + "/api/auth.test")
    assert answer.status_code == 503


@pytest.mark.parametrize("kind", ["unavailable", "drop", "ratelimit"])
def test_batons_slack_client_rides_out_a_5xx_a_dropped_connection_and_a_429(fresh_sandbox: Sandbox, kind: str) -> None:
    """What a human step posts is retried by slack-sdk's handlers instead of failing the run."""
    from clients.slack import SlackClient

    state = state_of(fresh_sandbox.world)
    client = SlackClient(state.bot.token, fresh_sandbox.urls["slack"] + "/api/")
    fresh_sandbox.world.faults.add(
        FaultRule(host="slack", route="/api/chat.postMessage", kind=kind, count=2, retry_after=0)  # type: ignore[arg-type]
    )
    message = client.post("C0HANDOVER", "a step", [{"type": "section", "text": {"type": "mrkdwn", "text": "a step"}}])
    assert message.ts
    assert [m["text"] for m in state_of(fresh_sandbox.world).messages("C0HANDOVER")] == ["a step"]
    assert fresh_sandbox.world.calls["slack POST /api/chat.postMessage"] == 3, "two faults, then the answer"


def test_posts_from_many_threads_are_paced_not_refused(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    """Eight threads post to one channel at once through Baton's client: every post lands, about a second apart,
    and the stand-in's 1/s limit refuses none (the pacer queued them); another channel is not held back."""
    from clients.slack import SlackClient
    from clients.slack_pacing import ChannelPacer

    state = state_of(fresh_sandbox.world)
    url = fresh_sandbox.urls["slack"] + "/api/"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "a step"}}]
    errors: list[BaseException] = []

    def post(i: int) -> None:
        client = SlackClient(state.bot.token, url, pacer=ChannelPacer(url, directory=tmp_path))
        try:
            client.post("C0HANDOVER", f"step {i}", blocks)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    SlackClient(state.bot.token, url, pacer=ChannelPacer(url, directory=tmp_path)).post("C0ITAUDIT", "audit", blocks)
    audit_done = time.monotonic() - started
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert sorted(m["text"] for m in state.messages("C0HANDOVER")) == [f"step {i}" for i in range(8)]
    assert state.limiter.refused.get("C0HANDOVER", 0) == 0, "paced: nothing for the stand-in to refuse"
    assert time.monotonic() - started >= 7 * 1.0, "eight posts to one channel take at least seven seconds"
    assert audit_done < 3, "a post to another channel does not queue behind C0HANDOVER's"


def test_unpaced_posts_converge_on_retry_after_alone(fresh_sandbox: Sandbox, tmp_path: Path) -> None:
    """Posts the pacer cannot see (another machine's, here a pacer with no interval) collide; the client's
    patient Retry-After retries still land all of them, and the stand-in counts the 429s it answered."""
    from clients.slack import SlackClient
    from clients.slack_pacing import ChannelPacer

    state = state_of(fresh_sandbox.world)
    url = fresh_sandbox.urls["slack"] + "/api/"
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "a step"}}]
    errors: list[BaseException] = []

    def post(i: int) -> None:
        client = SlackClient(state.bot.token, url, pacer=ChannelPacer(url, directory=tmp_path, interval=0))
        try:
            client.post("C0HANDOVER", f"step {i}", blocks)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(state.messages("C0HANDOVER")) == 6
    refused = state.limiter.refused.get("C0HANDOVER", 0)
    print(f"FIGURES slack unpaced: posts=6, 429s answered and retried={refused}")
    assert refused >= 5, "six posts at once: at least five were refused the first time"
