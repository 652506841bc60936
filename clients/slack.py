"""Slack Web API over slack-sdk: post and update Block Kit messages, resolve users and user groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from clients.slack_pacing import ChannelPacer
from core.errors import BatonError


class SlackError(BatonError):
    """A Slack call failed; ``code`` is Slack's error code (e.g. channel_not_found)."""

    def __init__(self, method: str, code: str, hint: str = "") -> None:
        self.method = method
        self.code = code
        super().__init__(f"Slack {method} failed: {code}." + (f" {hint}" if hint else ""))


_HINTS = {
    "channel_not_found": "Check BATON_SLACK_CHANNEL and that the bot is in that channel.",
    "not_in_channel": "Invite the Baton bot to the channel.",
    "invalid_auth": "Check BATON_SLACK_BOT_TOKEN.",
    "not_authed": "Set BATON_SLACK_BOT_TOKEN.",
    "users_not_found": "No Slack user has that e-mail address.",
    "user_not_found": "No Slack user has that id in this workspace.",
    "missing_scope": (
        "The Slack app lacks a scope; Baton needs chat:write, users:read, users:read.email and usergroups:read."
    ),
}


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    ts: str


@dataclass(frozen=True)
class SlackUser:
    """What ``users.info`` says about a person: enough to tell a member of the workspace from anyone else.
    *team_id* is the user's home workspace ('' when Slack leaves it out)."""

    id: str
    name: str = ""
    team_id: str = ""
    deleted: bool = False
    is_bot: bool = False
    is_stranger: bool = False  # a Slack Connect user from another organisation Baton's workspace cannot see
    is_restricted: bool = False  # a multi-channel guest
    is_ultra_restricted: bool = False  # a single-channel guest

    @classmethod
    def of(cls, user: dict[str, Any]) -> SlackUser:
        flags = ("deleted", "is_bot", "is_stranger", "is_restricted", "is_ultra_restricted")
        return cls(
            id=str(user.get("id", "")), name=str(user.get("name", "")), team_id=str(user.get("team_id") or ""),
            **{flag: user.get(flag) is True for flag in flags},
        )  # fmt: skip


RATE_LIMIT_RETRIES = 60  # each waits Retry-After (+ up to 1 s): a minute or two of patience before failing


class SlackClient:
    """The few Slack methods Baton uses. Posts to one channel are paced at one a second across threads and
    processes (clients/slack_pacing.py); a 429 ``ratelimited`` answer is retried after its Retry-After, patiently
    (posts from elsewhere still collide), and a 5xx answer and a dropped connection with back-off."""

    def __init__(
        self,
        token: str,
        base_url: str = "https://slack.com/api/",
        *,
        web: WebClient | None = None,
        pacer: ChannelPacer | None = None,
    ) -> None:
        self.web = web or WebClient(token=token, base_url=base_url, timeout=10)
        self.pacer = pacer or ChannelPacer(scope=base_url)
        self.rate_limit = RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
        self._team_id = ""
        ours = [
            # one message a second per channel, shared by every run posting to it (and any other app)
            self.rate_limit,
            ServerErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=3),
        ]  # instead of WebClient's default (one retry of a dropped connection)
        kinds = {type(h) for h in ours}
        self.web.retry_handlers = [h for h in self.web.retry_handlers if type(h) not in kinds] + ours

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            reply = (
                self.web.api_call(method, json=kwargs)
                if method.startswith("chat.")
                else self.web.api_call(method, params=kwargs)
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown_error"))
            raise SlackError(method, code, _HINTS.get(code, "")) from None
        except (SlackClientError, OSError) as exc:  # no answer at all (urllib's URLError is an OSError)
            raise SlackError(
                method, "unreachable", f"No answer from Slack ({type(exc).__name__}); try again."
            ) from None
        return dict(reply.data) if isinstance(reply.data, dict) else {}

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None) -> SlackMessage:
        """``chat.postMessage``; *text* is the notification fallback."""
        args: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks}
        if thread_ts:
            args["thread_ts"] = thread_ts
        with self.pacer.slot(channel):
            reply = self._call("chat.postMessage", **args)
        return SlackMessage(channel=str(reply["channel"]), ts=str(reply["ts"]))

    def update(self, message: SlackMessage, text: str, blocks: list[dict[str, Any]]) -> None:
        """``chat.update`` of a message Baton posted."""
        self._call("chat.update", channel=message.channel, ts=message.ts, text=text, blocks=blocks)

    def group_member_ids(self, handle: str) -> set[str]:
        """User ids of the user group whose handle is *handle* (``usergroups.list`` + ``usergroups.users.list``)."""
        groups = self._call("usergroups.list").get("usergroups", [])
        match = [g for g in groups if g.get("handle") == handle.lstrip("@")]
        if not match:
            raise SlackError("usergroups.list", "usergroup_not_found", f"No user group has the handle @{handle}.")
        users = self._call("usergroups.users.list", usergroup=match[0]["id"]).get("users", [])
        return {str(u) for u in users}

    def group_id(self, handle: str) -> str:
        groups = self._call("usergroups.list").get("usergroups", [])
        for group in groups:
            if group.get("handle") == handle.lstrip("@"):
                return str(group["id"])
        raise SlackError("usergroups.list", "usergroup_not_found", f"No user group has the handle @{handle}.")

    def user_id_by_email(self, email: str) -> str:
        """``users.lookupByEmail``."""
        return str(self._call("users.lookupByEmail", email=email)["user"]["id"])

    def user_info(self, user_id: str) -> SlackUser:
        """``users.info``: who *user_id* is (raises SlackError ``user_not_found`` for an unknown id)."""
        return SlackUser.of(self._call("users.info", user=user_id).get("user") or {})

    def team_id(self) -> str:
        """``auth.test``: the id of the workspace Baton's bot token belongs to (asked once per client)."""
        if not self._team_id:
            self._team_id = str(self._call("auth.test").get("team_id", ""))
        return self._team_id

    def user_email(self, user_id: str) -> str:
        """``users.info``: the user's e-mail address (empty when Slack does not share it)."""
        user = self._call("users.info", user=user_id).get("user", {})
        return str((user.get("profile") or {}).get("email", ""))
