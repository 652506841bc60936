"""conversations.open, conversations.history, conversations.replies, conversations.info."""

from __future__ import annotations

from typing import Any

from sandbox.slack.chat import conversation
from sandbox.slack.errors import ApiError
from sandbox.slack.ids import is_ts
from sandbox.slack.request import ApiRequest
from sandbox.slack.serialize import channel_object, im_object, message_object
from sandbox.slack.state import NotFound, SlackState
from sandbox.slack.store import Message

MAX_LIMIT = 999
DEFAULT_LIMIT = 100


def open_conversation(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    raw = req.text("users")
    if raw is None:
        if req.text("channel"):
            channel = conversation(state, req)
            if channel not in state.dms:
                raise ApiError("method_not_supported_for_channel_type")
            return _opened(state, channel, already=True, full=req.flag("return_im"))
        raise ApiError("users_list_not_supplied")
    refs = [r.strip() for r in raw.split(",") if r.strip()]
    if not refs:
        raise ApiError("not_enough_users")
    if len(refs) > 1:
        # Group DMs (MPIMs) are not modelled: Baton only writes to one person at a time.
        raise ApiError("method_not_supported_for_channel_type")
    try:
        user_id = state.user_id(refs[0])
    except NotFound as exc:
        raise ApiError("user_not_found") from exc
    person = state.users.get(user_id)
    if person is not None and person.deleted:
        raise ApiError("user_disabled")
    with state.world.lock:
        already = f"D{user_id[1:]}" in state.dms
        channel = state.open_dm(user_id)
    return _opened(state, channel, already=already, full=req.flag("return_im"))


def _opened(state: SlackState, channel: str, *, already: bool, full: bool) -> dict[str, Any]:
    user_id, created = state.dms[channel]
    body: dict[str, Any] = {"ok": True}
    if already:
        body.update(no_op=True, already_open=True)
    body["channel"] = im_object(channel, user_id, created) if full else {"id": channel}
    return body


def _ts_bound(req: ApiRequest, name: str, code: str) -> float | None:
    value = req.text(name)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ApiError(code) from exc


def _limit(req: ApiRequest) -> int:
    try:
        limit = int(req.text("limit") or DEFAULT_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    return DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)


def _api_message(state: SlackState, message: Message) -> dict[str, Any]:
    replies = state.store.thread(message.channel, message.ts)[1:] if not message.is_reply else None
    return message_object(message, bot=state.bot, team=state.team, replies=replies)


def history(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    latest = _ts_bound(req, "latest", "invalid_ts_latest")
    oldest = _ts_bound(req, "oldest", "invalid_ts_oldest")
    inclusive = req.flag("inclusive")
    limit = _limit(req)
    with state.world.lock:
        found = []
        for message in reversed(state.store.top_level(channel)):
            ts = float(message.ts)
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                continue
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                continue
            found.append(message)
        page = [_api_message(state, m) for m in found[:limit]]
    return {
        "ok": True,
        "messages": page,
        "has_more": len(found) > limit,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }


def replies(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    ts = req.text("ts")
    if not is_ts(ts):
        raise ApiError("thread_not_found")
    limit = _limit(req)
    with state.world.lock:
        thread = state.store.thread(channel, str(ts))
        if not thread:
            raise ApiError("thread_not_found")
        page = [_api_message(state, m) for m in thread[:limit]]
    return {"ok": True, "messages": page, "has_more": len(thread) > limit}


def info(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    channel = conversation(state, req)
    with state.world.lock:
        if channel in state.dms:
            user_id, created = state.dms[channel]
            return {"ok": True, "channel": im_object(channel, user_id, created)}
        spec = state.channels[channel]
        members = sorted(state.members.get(channel, set()))
        return {
            "ok": True,
            "channel": channel_object(
                spec, creator=state.creator_id(spec.creator), is_member=state.bot.user_id in members, members=members
            ),
        }
