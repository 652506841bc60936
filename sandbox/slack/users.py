"""users.info, users.lookupByEmail, usergroups.list, usergroups.users.list."""

from __future__ import annotations

from typing import Any

from sandbox.slack.errors import ApiError
from sandbox.slack.request import ApiRequest
from sandbox.slack.serialize import bot_user_object, user_object, usergroup_object
from sandbox.slack.state import SlackState


def info(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    user_id = req.text("user", array_error="user_not_found") or ""
    if user_id == state.bot.user_id:
        return {"ok": True, "user": bot_user_object(state.bot)}
    person = state.users.get(user_id)
    if person is None:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user_object(person)}


def lookup_by_email(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    email = (req.text("email", array_error="users_not_found") or "").strip().lower()
    person = state.users_by_email.get(email)
    if person is None or person.deleted:  # deactivated accounts are not found by e-mail
        raise ApiError("users_not_found")
    return {"ok": True, "user": user_object(person)}


def usergroups_list(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    with state.world.lock:
        groups = [
            usergroup_object(
                g,
                team=state.team,
                creator=state.creator_id(g.created_by),
                users=list(state.usergroup_members[g.id]),
                include_users=req.flag("include_users"),
                include_count=req.flag("include_count"),
                channels=[state.channel_id(c) for c in g.channels],
            )
            for g in state.usergroups.values()
        ]
    return {"ok": True, "usergroups": groups}


def usergroups_users_list(state: SlackState, req: ApiRequest) -> dict[str, Any]:
    ident = req.text("usergroup", array_error="no_such_subteam") or ""
    with state.world.lock:
        if ident not in state.usergroups:
            # Slack's documented answer; the spec's (older) error list for this method lacks it.
            raise ApiError("no_such_subteam")
        return {"ok": True, "users": list(state.usergroup_members[ident])}
