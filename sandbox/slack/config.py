"""The ``slack:`` section of a scenario: parsed and checked, with errors that name the key."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sandbox.scenario import ScenarioError

USER_ID = re.compile(r"^[UW][A-Z0-9]{8,}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{8,}$")
SUBTEAM_ID = re.compile(r"^S[A-Z0-9]{2,}$")
TEAM_ID = re.compile(r"^T[A-Z0-9]{2,}$")
HOME_TEAM_ID = re.compile(r"^[TE][A-Z0-9]{8,}$")  # the spec's defs_workspace_id, as objs_user.team_id
BOT_ID = re.compile(r"^B[A-Z0-9]{8,}$")
APP_ID = re.compile(r"^A[A-Z0-9]{1,}$")


class SlackScenarioError(ScenarioError):
    """The ``slack:`` section cannot be understood; the message names the key."""


@dataclass(frozen=True)
class Team:
    id: str = "T0ACME"
    name: str = "Acme"
    domain: str = "acme"


@dataclass(frozen=True)
class Bot:
    user_id: str = "U0BATONBOT"
    bot_id: str = "B0BATONBOT"
    app_id: str = "A0BATONAPP"
    name: str = "baton"
    token: str = "xoxb-sandbox-0000000000-baton"


@dataclass(frozen=True)
class UserSpec:
    id: str
    email: str
    name: str
    real_name: str
    title: str = ""
    is_admin: bool = False
    deleted: bool = False
    tz: str = "Europe/Berlin"
    team_id: str = ""  # the user's home workspace when it is another organisation's (Slack Connect)
    is_stranger: bool = False  # from another organisation, not visible to this workspace beyond its id
    is_restricted: bool = False  # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest


@dataclass(frozen=True)
class ChannelSpec:
    id: str
    name: str
    members: tuple[str, ...]
    topic: str = ""
    purpose: str = ""
    is_private: bool = False
    created: int = 1700000000
    creator: str = ""


@dataclass(frozen=True)
class UsergroupSpec:
    id: str
    name: str
    handle: str
    description: str
    users: tuple[str, ...]
    channels: tuple[str, ...] = ()
    created_by: str = ""


@dataclass(frozen=True)
class SlackConfig:
    team: Team = field(default_factory=Team)
    bot: Bot = field(default_factory=Bot)
    signing_secret: str = "sandbox-signing-secret"
    verification_token: str = "sandbox-verification-token"
    request_url: str = ""
    users: tuple[UserSpec, ...] = ()
    channels: tuple[ChannelSpec, ...] = ()
    usergroups: tuple[UsergroupSpec, ...] = ()
    # chat.postMessage: messages a second per channel before a 429 (0 = no limit).
    post_message_per_channel_per_second: float = 1.0


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SlackScenarioError(f"slack.{key} must be a mapping; got {type(value).__name__}")
    return value


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SlackScenarioError(f"slack.{key} must be a list; got {type(value).__name__}")
    return value


def _str(
    data: dict[str, Any], name: str, key: str, default: str | None = None, pattern: re.Pattern[str] | None = None
) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or (default is None and not value):
        raise SlackScenarioError(f"slack.{key}.{name} is required and must be a string")
    if pattern is not None and not pattern.match(value):
        raise SlackScenarioError(f"slack.{key}.{name} must look like a Slack id ({pattern.pattern}); got {value!r}")
    return value


def _bool(data: dict[str, Any], name: str, key: str, default: bool = False) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise SlackScenarioError(f"slack.{key}.{name} must be true or false; got {value!r}")
    return value


def _check_keys(data: dict[str, Any], allowed: set[str], key: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SlackScenarioError(f"slack.{key}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _user(data: Any, i: int) -> UserSpec:
    key = f"users[{i}]"
    data = _mapping(data, key)
    flags = ("is_admin", "deleted", "is_stranger", "is_restricted", "is_ultra_restricted")
    _check_keys(data, {"id", "email", "name", "real_name", "title", "tz", "team_id", *flags}, key)
    email = _str(data, "email", key)
    if "@" not in email:
        raise SlackScenarioError(f"slack.{key}.email must be an e-mail address; got {email!r}")
    return UserSpec(
        id=_str(data, "id", key, pattern=USER_ID),
        email=email.lower(),
        name=_str(data, "name", key, default=email.split("@")[0]),
        real_name=_str(data, "real_name", key),
        title=_str(data, "title", key, default=""),
        tz=_str(data, "tz", key, default="Europe/Berlin"),
        team_id=_str(data, "team_id", key, default="", pattern=HOME_TEAM_ID if data.get("team_id") else None),
        **{flag: _bool(data, flag, key) for flag in flags},
    )


def _names(value: Any, key: str) -> tuple[str, ...]:
    items = _list(value, key)
    for j, item in enumerate(items):
        if not isinstance(item, str):
            raise SlackScenarioError(f"slack.{key}[{j}] must be a user id or e-mail; got {item!r}")
    return tuple(items)


def _channel(data: Any, i: int) -> ChannelSpec:
    key = f"channels[{i}]"
    data = _mapping(data, key)
    _check_keys(data, {"id", "name", "members", "topic", "purpose", "is_private", "created", "creator"}, key)
    name = _str(data, "name", key).lstrip("#")
    created = data.get("created", 1700000000)
    if not isinstance(created, int):
        raise SlackScenarioError(f"slack.{key}.created must be a Unix time (integer)")
    return ChannelSpec(
        id=_str(data, "id", key, pattern=CHANNEL_ID),
        name=name,
        members=_names(data.get("members"), f"{key}.members"),
        topic=_str(data, "topic", key, default=""),
        purpose=_str(data, "purpose", key, default=""),
        is_private=_bool(data, "is_private", key),
        created=created,
        creator=_str(data, "creator", key, default=""),
    )


def _usergroup(data: Any, i: int) -> UsergroupSpec:
    key = f"usergroups[{i}]"
    data = _mapping(data, key)
    _check_keys(data, {"id", "name", "handle", "description", "users", "channels", "created_by"}, key)
    name = _str(data, "name", key)
    return UsergroupSpec(
        id=_str(data, "id", key, pattern=SUBTEAM_ID),
        name=name,
        handle=_str(data, "handle", key, default=name),
        description=_str(data, "description", key, default=""),
        users=_names(data.get("users"), f"{key}.users"),
        channels=_names(data.get("channels"), f"{key}.channels"),
        created_by=_str(data, "created_by", key, default=""),
    )


def parse_config(section: Any) -> SlackConfig:
    """Check the ``slack:`` section (absent or empty gives an empty Acme workspace with a bot)."""
    data = _mapping(section, "(section)") if section is not None else {}
    allowed = {
        "team",
        "bot",
        "signing_secret",
        "verification_token",
        "request_url",
        "users",
        "channels",
        "usergroups",
        "rate_limits",
    }
    _check_keys(data, allowed, "(section)")
    team_d = _mapping(data.get("team"), "team")
    _check_keys(team_d, {"id", "name", "domain"}, "team")
    team = Team(
        id=_str(team_d, "id", "team", "T0ACME", TEAM_ID),
        name=_str(team_d, "name", "team", "Acme"),
        domain=_str(team_d, "domain", "team", "acme"),
    )
    bot_d = _mapping(data.get("bot"), "bot")
    _check_keys(bot_d, {"user_id", "bot_id", "app_id", "name", "token"}, "bot")
    dflt = Bot()
    bot = Bot(
        user_id=_str(bot_d, "user_id", "bot", dflt.user_id, USER_ID),
        bot_id=_str(bot_d, "bot_id", "bot", dflt.bot_id, BOT_ID),
        app_id=_str(bot_d, "app_id", "bot", dflt.app_id, APP_ID),
        name=_str(bot_d, "name", "bot", dflt.name),
        token=_str(bot_d, "token", "bot", dflt.token),
    )
    if not bot.token.startswith("xoxb-"):
        raise SlackScenarioError(f"slack.bot.token must be a bot token (xoxb-...); got {bot.token[:8]!r}...")
    limits = _mapping(data.get("rate_limits"), "rate_limits")
    _check_keys(limits, {"post_message_per_channel_per_second"}, "rate_limits")
    rate = limits.get("post_message_per_channel_per_second", 1)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0:
        raise SlackScenarioError("slack.rate_limits.post_message_per_channel_per_second must be a number >= 0")
    dflt_cfg = SlackConfig()
    config = SlackConfig(
        team=team,
        bot=bot,
        signing_secret=_str(data, "signing_secret", "(section)", dflt_cfg.signing_secret),
        verification_token=_str(data, "verification_token", "(section)", dflt_cfg.verification_token),
        request_url=_str(data, "request_url", "(section)", ""),
        users=tuple(_user(u, i) for i, u in enumerate(_list(data.get("users"), "users"))),
        channels=tuple(_channel(c, i) for i, c in enumerate(_list(data.get("channels"), "channels"))),
        usergroups=tuple(_usergroup(g, i) for i, g in enumerate(_list(data.get("usergroups"), "usergroups"))),
        post_message_per_channel_per_second=float(rate),
    )
    _check_unique(config)
    return config


def _check_unique(config: SlackConfig) -> None:
    seen: dict[str, str] = {}
    for kind, values in (
        ("users", [(u.id, u.email) for u in config.users]),
        ("channels", [(c.id, c.name) for c in config.channels]),
        ("usergroups", [(g.id, g.handle) for g in config.usergroups]),
    ):
        for ident, name in values:
            for value in (ident, f"{kind}:{name}"):
                if value in seen:
                    raise SlackScenarioError(f"slack.{kind}: {value.split(':')[-1]!r} appears twice")
                seen[value] = kind
    if config.bot.user_id in seen:
        raise SlackScenarioError(f"slack.bot.user_id {config.bot.user_id!r} is also a user's id")
