"""Workspace objects in the Web API's shapes (built to the Slack spec's schemas, which forbid extras).

The team id of the story (T0ACME) is shorter than the spec's workspace-id pattern (T + 8 or more), so
the optional ``team`` / ``team_id`` fields typed that way are left out of messages and of the workspace's own
users; a user of another organisation (Slack Connect) carries their home ``team_id`` (a long one), and a
stranger's profile shows no e-mail address.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from sandbox.slack.config import Bot, ChannelSpec, Team, UsergroupSpec, UserSpec
from sandbox.slack.store import Message

AVATAR = "https://secure.gravatar.com/avatar/{h}.jpg?s={s}&d=mp"
TZ = {
    "Europe/Berlin": ("Central European Time", 3600),
    "Europe/London": ("Greenwich Mean Time", 0),
    "America/New_York": ("Eastern Standard Time", -18000),
    "UTC": ("Coordinated Universal Time", 0),
}
UPDATED = 1700000000


def _avatar_hash(seed: str) -> str:
    return hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()


def user_object(user: UserSpec) -> dict[str, Any]:
    first, _, last = user.real_name.partition(" ")
    digest = _avatar_hash(user.email)
    tz_label, tz_offset = TZ.get(user.tz, (user.tz, 0))
    profile: dict[str, Any] = {
        "title": user.title,
        "phone": "",
        "skype": "",
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "fields": {},
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": digest[:12],
        **({} if user.is_stranger else {"email": user.email}),
        "first_name": first,
        "last_name": last,
        **{f"image_{s}": AVATAR.format(h=digest, s=s) for s in (24, 32, 48, 72, 192, 512)},
    }
    extra: dict[str, Any] = {"team_id": user.team_id} if user.team_id else {}
    if user.is_stranger:
        extra["is_stranger"] = True
    return {
        "id": user.id,
        **extra,
        "name": user.name,
        "deleted": user.deleted,
        "color": "9f69e7",
        "real_name": user.real_name,
        "tz": user.tz,
        "tz_label": tz_label,
        "tz_offset": tz_offset,
        "profile": profile,
        "is_admin": user.is_admin,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": user.is_restricted or user.is_ultra_restricted,
        "is_ultra_restricted": user.is_ultra_restricted,
        "is_bot": False,
        "is_app_user": False,
        "updated": UPDATED,
        "has_2fa": False,
    }


def bot_user_object(bot: Bot) -> dict[str, Any]:
    digest = _avatar_hash(bot.bot_id)
    profile: dict[str, Any] = {
        "title": "",
        "phone": "",
        "skype": "",
        "real_name": bot.name,
        "real_name_normalized": bot.name,
        "display_name": "",
        "display_name_normalized": "",
        "fields": None,
        "status_text": "",
        "status_emoji": "",
        "status_expiration": 0,
        "avatar_hash": digest[:12],
        "always_active": True,
        "api_app_id": bot.app_id,
        "bot_id": bot.bot_id,
        "first_name": bot.name,
        "last_name": "",
        **{f"image_{s}": AVATAR.format(h=digest, s=s) for s in (24, 32, 48, 72, 192, 512)},
    }
    return {
        "id": bot.user_id,
        "name": bot.name,
        "deleted": False,
        "color": "4bbe2e",
        "real_name": bot.name,
        "tz": "America/Los_Angeles",
        "tz_label": "Pacific Standard Time",
        "tz_offset": -28800,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": True,
        "is_app_user": False,
        "updated": UPDATED,
    }


def bot_profile(bot: Bot, team: Team) -> dict[str, Any]:
    digest = _avatar_hash(bot.bot_id)
    return {
        "id": bot.bot_id,
        "deleted": False,
        "name": bot.name,
        "updated": UPDATED,
        "app_id": bot.app_id,
        "icons": {f"image_{s}": AVATAR.format(h=digest, s=s) for s in (36, 48, 72)},
        "team_id": team.id,
    }


def message_object(message: Message, *, bot: Bot, team: Team, replies: list[Message] | None = None) -> dict[str, Any]:
    """objs_message: what chat.postMessage, conversations.history and .replies return."""
    data: dict[str, Any] = {"type": "message", "text": message.text, "user": message.user, "ts": message.ts}
    if message.bot_id:
        data["bot_id"] = message.bot_id
        data["bot_profile"] = bot_profile(bot, team)
    if message.blocks is not None:
        data["blocks"] = copy.deepcopy(message.blocks)
    if message.thread_ts:
        data["thread_ts"] = message.thread_ts
    if message.is_reply and message.parent_user_id:
        data["parent_user_id"] = message.parent_user_id
    if replies:
        users = list(dict.fromkeys(r.user for r in replies))
        data.update(
            reply_count=len(replies),
            reply_users=users,
            reply_users_count=len(users),
            latest_reply=replies[-1].ts,
            subscribed=False,
        )
    return data


def channel_object(channel: ChannelSpec, *, creator: str, is_member: bool, members: list[str]) -> dict[str, Any]:
    """objs_conversation, public or private channel shape."""

    def text_field(value: str) -> dict[str, Any]:
        return {
            "value": value,
            "creator": creator if value else "",
            "last_set": channel.created if value else 0,
        }

    return {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not channel.is_private,
        "is_group": channel.is_private,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "created": channel.created,
        "is_archived": False,
        "is_general": False,
        "unlinked": 0,
        "name_normalized": channel.name,
        "is_shared": False,
        "is_org_shared": False,
        "is_pending_ext_shared": False,
        "pending_shared": [],
        "is_ext_shared": False,
        "shared_team_ids": [],
        "creator": creator,
        "is_member": is_member,
        "topic": text_field(channel.topic),
        "purpose": text_field(channel.purpose),
        "previous_names": [],
        "num_members": len(members),
    }


def im_object(dm_id: str, user_id: str, created: int) -> dict[str, Any]:
    """objs_conversation, IM shape."""
    return {
        "id": dm_id,
        "created": created,
        "is_im": True,
        "is_org_shared": False,
        "user": user_id,
        "is_archived": False,
        "is_open": True,
        "priority": 0,
        "is_user_deleted": False,
    }


def usergroup_object(
    group: UsergroupSpec,
    *,
    team: Team,
    creator: str,
    users: list[str],
    include_users: bool,
    include_count: bool,
    channels: list[str],
) -> dict[str, Any]:
    """objs_subteam."""
    data: dict[str, Any] = {
        "id": group.id,
        "team_id": team.id,
        "is_usergroup": True,
        "is_subteam": True,
        "name": group.name,
        "description": group.description,
        "handle": group.handle,
        "is_external": False,
        "date_create": UPDATED,
        "date_update": UPDATED,
        "date_delete": 0,
        "auto_type": None,
        "auto_provision": False,
        "enterprise_subteam_id": "",
        "created_by": creator,
        "updated_by": creator,
        "deleted_by": None,
        "prefs": {"channels": channels, "groups": []},
    }
    if include_users:
        data["users"] = users
    if include_count:
        data["user_count"] = len(users)
    return data
