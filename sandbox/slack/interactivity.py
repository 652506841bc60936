"""A person "clicks" a button: the block_actions payload Slack builds, signed, POSTed to the request URL.

Slack sends ``application/x-www-form-urlencoded`` ``payload=<json>`` with ``X-Slack-Request-Timestamp``
and ``X-Slack-Signature: v0=hex(HMAC-SHA256(signing_secret, "v0:<ts>:<body>"))`` and waits 3 s for the ack.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from sandbox.slack.blocks import find_action
from sandbox.slack.ids import action_ts, trigger_id
from sandbox.slack.serialize import message_object

if TYPE_CHECKING:
    from sandbox.slack.state import SlackState

ACK_TIMEOUT = 3.0


class ClickError(LookupError):
    """The click cannot be made: unknown user, message or action_id, or no request URL set."""


@dataclass
class Click:
    """One signed request, ready to send (or to inspect)."""

    url: str
    body: str
    headers: dict[str, str]
    payload: dict[str, Any]


@dataclass
class ClickResult:
    """What the receiver answered (status 0 and ``error`` set when it could not be reached)."""

    status: int
    body: str
    elapsed: float
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)  # the request headers sent
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "body": self.body,
            "elapsed": self.elapsed,
            "payload": self.payload,
            "request_headers": self.headers,
            "error": self.error,
        }


def signature(secret: str, timestamp: str, body: str) -> str:
    """What slack_sdk.signature.SignatureVerifier.generate_signature computes."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def build_payload(state: SlackState, user: str, channel: str, ts: str, action_id: str) -> dict[str, Any]:
    """The block_actions payload for a button in a stored message (holds the world lock)."""
    with state.world.lock:
        try:
            user_id = state.user_id(user)
            channel_id = state.channel_id(channel)
        except LookupError as exc:
            raise ClickError(str(exc)) from exc
        message = state.store.get(channel_id, ts)
        if message is None:
            raise ClickError(f"no message {ts} in {channel}")
        found = find_action(message.blocks or [], action_id)
        if found is None:
            raise ClickError(f"message {ts} has no element with action_id {action_id!r}")
        person = state.users.get(user_id)
        name = person.name if person else state.bot.name
        home_team = (person.team_id if person else "") or state.team.id
        is_ephemeral = message.ephemeral_to is not None
        replies = [m for m in state.store.thread(channel_id, message.ts)[1:]] if not message.is_reply else None
        element = found.element
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": found.block_id,
            "text": element.get("text", {}),
            "type": element.get("type", "button"),
            "action_ts": action_ts(),
        }
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": name, "name": name, "team_id": home_team},
            "api_app_id": state.bot.app_id,
            "token": state.config.verification_token,
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": channel_id,
                "is_ephemeral": is_ephemeral,
            },
            "trigger_id": trigger_id(),
            "team": {"id": state.team.id, "domain": state.team.domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": state.channel_name(channel_id)},
            "message": message_object(message, bot=state.bot, team=state.team, replies=replies),
            "state": {"values": {}},
            "response_url": state.new_response_url(channel_id, message.ts, user_id, is_ephemeral),
            "actions": [action],
        }
        if is_ephemeral:
            del payload["message"]  # Slack does not echo ephemeral messages back
        return payload


def prepare(
    state: SlackState,
    user: str,
    channel: str,
    ts: str,
    action_id: str,
    *,
    timestamp: int | None = None,
    tamper: bool = False,
    url: str | None = None,
) -> Click:
    """Build, encode and sign a click. ``timestamp`` overrides the signed time (stale requests);
    ``tamper`` sends a signature that does not match the body."""
    target = url or state.request_url
    if not target:
        raise ClickError("no interactivity request URL set: POST /sandbox/slack/request_url or set_request_url()")
    payload = build_payload(state, user, channel, ts, action_id)
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature(state.config.signing_secret, stamp, body)
    if tamper:
        sig = sig[:-4] + ("0000" if not sig.endswith("0000") else "1111")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return Click(url=target, body=body, headers=headers, payload=payload)


def send(click: Click, timeout: float = ACK_TIMEOUT) -> ClickResult:
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.post(click.url, content=click.body, headers=click.headers)
    except httpx.HTTPError as exc:
        return ClickResult(0, "", time.perf_counter() - started, click.payload, click.headers, error=repr(exc))
    return ClickResult(response.status_code, response.text, time.perf_counter() - started, click.payload, click.headers)


async def send_async(click: Click, timeout: float = ACK_TIMEOUT) -> ClickResult:
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(click.url, content=click.body, headers=click.headers)
    except httpx.HTTPError as exc:
        return ClickResult(0, "", time.perf_counter() - started, click.payload, click.headers, error=repr(exc))
    return ClickResult(response.status_code, response.text, time.perf_counter() - started, click.payload, click.headers)
