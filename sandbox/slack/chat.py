"""chat.postMessage, chat.update, chat.postEphemeral, chat.getPermalink."""

from __future__ import annotations

from typing import Any

from sandbox.slack.blocks import InvalidBlocks, normalize, parse_blocks, validate_blocks
from sandbox.slack.errors import ApiError, RateLimited
from sandbox.slack.request import ApiRequest
from sandbox.slack.serialize import message_object
from sandbox.slack.state import NotFound, SlackState

MAX_TEXT = 40_000


def conversation(state: SlackState, req: ApiRequest, name: str = "channel") -> str:
    ref = req.text(name, array_error="channel_not_found")
    if not ref:
        raise ApiError("channel_not_found")
    try:
        return state.channel_id(ref)
    except NotFound as exc:
        raise ApiError("channel_not_found") from exc


def content(req: ApiRequest, *, require: bool = True) -> tuple[str | None, list[dict[str, Any]] | None]:
    """text and blocks (checked and given Slack's generated ids), or no_text / invalid_blocks / msg_too_long."""
    text = req.text("text")
    try:
        blocks = parse_blocks(req.params.get("blocks"))
        if blocks is not None:
            validate_blocks(blocks)
    except InvalidBlocks as exc:
        raise ApiError("invalid_blocks") from exc
    has_attachments = req.params.get("attachments") not in (None, "", "[]", [])
    if require and not text and not blocks and not has_attachments:
        raise ApiError("no_text")
    if text is not None and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    return text, normalize(blocks) if blocks else None


def post_message(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    if not state.is_member(channel, state.bot.user_id):
        raise ApiError("not_in_channel")
    text, blocks = content(req)
    thread_ts = req.text("thread_ts")
    retry_after = state.limiter.check(channel)
    if retry_after is not None:
        raise RateLimited(retry_after)
    message = state.post(channel, text or "", blocks, thread_ts=thread_ts or None)
    return {
        "ok": True,
        "channel": channel,
        "ts": message.ts,
        "message": message_object(message, bot=state.bot, team=state.team),
    }


def update(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    ts = req.text("ts")
    with state.world.lock:
        message = state.store.get(channel, ts or "")
        if message is None or message.ephemeral_to is not None:
            raise ApiError("message_not_found")
        if message.user != state.bot.user_id:
            raise ApiError("cant_update_message")
        text, blocks = content(req)
        message.replace(text, blocks, via="chat.update")
        # The spec types chat.update's message.blocks as an object, so blocks are left out here.
        echo = {"type": "message", "text": message.text, "user": message.user, "ts": message.ts}
        if message.bot_id:
            echo["bot_id"] = message.bot_id
        return {"ok": True, "channel": channel, "ts": message.ts, "text": message.text, "message": echo}


def post_ephemeral(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    ref = req.text("user", array_error="user_not_in_channel")
    try:
        user = state.user_id(ref or "")
    except NotFound as exc:
        raise ApiError("user_not_in_channel") from exc
    if not state.is_member(channel, user):
        raise ApiError("user_not_in_channel")
    text, blocks = content(req)
    message = state.post(channel, text or "", blocks, thread_ts=req.text("thread_ts") or None, ephemeral_to=user)
    return {"ok": True, "message_ts": message.ts}


def get_permalink(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    ts = req.text("message_ts") or ""
    with state.world.lock:
        message = state.store.get(channel, ts)
        if message is None or message.ephemeral_to is not None:
            raise ApiError("message_not_found")
        link = f"https://{state.team.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"ok": True, "channel": channel, "permalink": link}
