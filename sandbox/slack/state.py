"""The Slack workspace's state, kept in ``world.vendors["slack"]``, and its Python API for tests.

state = sandbox.world.vendors["slack"]            # or sandbox.slack.state_of(sandbox.world)
state.messages("C0HANDOVER")                       # top-level messages, oldest first (snapshots)
state.thread("C0HANDOVER", ts)                     # parent + replies
state.click("carol@acme.example", "C0HANDOVER", ts, "approve")   # -> ClickResult
state.set_request_url("http://127.0.0.1:8080/slack/actions")
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.slack.config import ChannelSpec, SlackConfig, SlackScenarioError, UsergroupSpec, UserSpec
from sandbox.slack.ids import TsClock, dm_id
from sandbox.slack.ratelimit import ChannelRateLimiter
from sandbox.slack.store import Message, MessageStore
from sandbox.world import World

if TYPE_CHECKING:
    from sandbox.slack.interactivity import ClickResult


class NotFound(LookupError):
    """A user, conversation, message or action the workspace does not have."""


@dataclass
class ResponseTarget:
    """What a response_url answers to: the message clicked, by whom; usable 5 times in 30 minutes."""

    channel: str
    ts: str
    user: str
    is_ephemeral: bool
    created: float = field(default_factory=time.time)
    uses: int = 0


RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60


class SlackState:
    def __init__(self, world: World, config: SlackConfig) -> None:
        self.world = world
        self.config = config
        self.team = config.team
        self.bot = config.bot
        self.request_url = config.request_url
        self.clock = TsClock()
        self.store = MessageStore()
        self.limiter = ChannelRateLimiter(config.post_message_per_channel_per_second)
        self.users: dict[str, UserSpec] = {u.id: u for u in config.users}
        self.users_by_email: dict[str, UserSpec] = {u.email: u for u in config.users}
        self.channels: dict[str, ChannelSpec] = {c.id: c for c in config.channels}
        self.channel_names: dict[str, str] = {c.name: c.id for c in config.channels}
        self.dms: dict[str, tuple[str, int]] = {}  # D id -> (user id, created)
        self._check_references()
        self.members: dict[str, set[str]] = {c.id: {self.user_id(m) for m in c.members} for c in config.channels}
        self.usergroups: dict[str, UsergroupSpec] = {g.id: g for g in config.usergroups}
        self.usergroup_members: dict[str, list[str]] = {
            g.id: [self.user_id(m) for m in g.users] for g in config.usergroups
        }
        self.response_urls: dict[str, ResponseTarget] = {}

    def _check_references(self) -> None:
        """Every user or channel the scenario names must exist (the error names the key)."""
        refs: list[tuple[Any, str, str]] = []
        for channel in self.config.channels:
            key = f"channels[{channel.name}]"
            refs += [(self.user_id, m, f"{key}.members") for m in channel.members]
            refs += [(self.user_id, channel.creator, f"{key}.creator")] if channel.creator else []
        for group in self.config.usergroups:
            key = f"usergroups[{group.handle}]"
            refs += [(self.user_id, m, f"{key}.users") for m in group.users]
            refs += [(self.channel_id, c, f"{key}.channels") for c in group.channels]
            refs += [(self.user_id, group.created_by, f"{key}.created_by")] if group.created_by else []
        for lookup, ref, key in refs:
            try:
                lookup(ref)
            except NotFound as exc:
                raise SlackScenarioError(f"slack.{key}: {exc}") from exc

    # -- lookups (tolerant: ids, e-mails, #names) ------------------------------------------
    def user_id(self, ref: str) -> str:
        """A user id from an id or an e-mail (raises NotFound)."""
        if ref == self.bot.user_id or ref in self.users:
            return ref
        user = self.users_by_email.get(ref.strip().lower())
        if user is None:
            raise NotFound(f"no Slack user {ref!r}; known: {sorted(self.users_by_email)}")
        return user.id

    def channel_id(self, ref: str) -> str:
        """A conversation id from C/G/D ids, names (with or without #), or a user id / e-mail (its DM)."""
        if ref in self.channels or ref in self.dms:
            return ref
        by_name = self.channel_names.get(ref.lstrip("#"))
        if by_name:
            return by_name
        if ref.startswith(("U", "W")) or "@" in ref:
            return self.open_dm(self.user_id(ref))
        raise NotFound(f"no conversation {ref!r}; known: {sorted(self.channel_names)}")

    def creator_id(self, ref: str) -> str:
        """Who created a channel or group: a user id (Slack's own "USLACKBOT" when the scenario names nobody)."""
        return self.user_id(ref) if ref else "USLACKBOT"

    def open_dm(self, user_id: str) -> str:
        with self.world.lock:
            ident = dm_id(user_id)
            self.dms.setdefault(ident, (user_id, int(time.time())))
            return ident

    def channel_name(self, channel: str) -> str:
        if channel in self.channels:
            return self.channels[channel].name
        return "directmessage"

    def is_member(self, channel: str, user_id: str) -> bool:
        if channel in self.dms:
            return user_id in (self.dms[channel][0], self.bot.user_id)
        return user_id in self.members.get(channel, set())

    def add_user(self, user: UserSpec, *, channels: tuple[str, ...] = ()) -> None:
        """A person joins (tests: a guest, a deactivated account, a Slack Connect user from another organisation);
        *channels* (ids or names) they are a member of."""
        with self.world.lock:
            if user.id in self.users or user.email in self.users_by_email:
                raise ValueError(f"Slack user {user.id} / {user.email} exists already")
            self.users[user.id] = user
            self.users_by_email[user.email] = user
            for channel in channels:
                self.members[self.channel_id(channel)].add(user.id)

    # -- posting ----------------------------------------------------------------------------
    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        *,
        thread_ts: str | None = None,
        ephemeral_to: str | None = None,
        user: str | None = None,
    ) -> Message:
        with self.world.lock:
            parent_user = None
            if thread_ts:
                parent = self.store.get(channel, thread_ts)
                if parent is not None:
                    if parent.is_reply and parent.thread_ts:
                        thread_ts = parent.thread_ts
                        parent = self.store.get(channel, thread_ts) or parent
                    parent_user = parent.user
                else:
                    thread_ts = None  # Slack posts to the channel when thread_ts names no message
            author = user or self.bot.user_id
            message = Message(
                channel=channel,
                ts=self.clock.next(),
                text=text,
                user=author,
                blocks=blocks,
                bot_id=self.bot.bot_id if author == self.bot.user_id else None,
                thread_ts=thread_ts,
                parent_user_id=parent_user,
                ephemeral_to=ephemeral_to,
            )
            return self.store.add(message)

    def new_response_url(self, channel: str, ts: str, user: str, is_ephemeral: bool) -> str:
        token = secrets.token_urlsafe(18)
        with self.world.lock:
            self.response_urls[token] = ResponseTarget(channel, ts, user, is_ephemeral)
        team_part = self.team.id
        return f"{self.world.urls.get('slack', '')}/sandbox/slack/response/{team_part}/{token}"

    # -- the Python API for tests -------------------------------------------------------------
    def messages(
        self, channel: str, *, include_replies: bool = False, include_ephemeral: bool = False
    ) -> list[dict[str, Any]]:
        """Snapshots of a conversation's messages, oldest first (top-level only unless include_replies)."""
        with self.world.lock:
            ident = self.channel_id(channel)
            found = self.store.channel(ident, include_ephemeral=include_ephemeral)
            return [m.snapshot() for m in found if include_replies or not m.is_reply]

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """The parent and its replies, oldest first."""
        with self.world.lock:
            return [m.snapshot() for m in self.store.thread(self.channel_id(channel), ts)]

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        """One message with its ``history`` of earlier versions (raises NotFound)."""
        with self.world.lock:
            found = self.store.get(self.channel_id(channel), ts)
            if found is None:
                raise NotFound(f"no message {ts} in {channel}")
            return found.snapshot()

    def last_message(self, channel: str) -> dict[str, Any]:
        found = self.messages(channel, include_replies=True)
        if not found:
            raise NotFound(f"no message in {channel}")
        return found[-1]

    def set_request_url(self, url: str) -> None:
        """Where button clicks are delivered (Baton's gateway starts after the sandbox)."""
        with self.world.lock:
            self.request_url = url

    def set_post_rate(self, per_channel_per_second: float) -> None:
        """chat.postMessage's per-channel limit; 0 switches it off (tests may relax it)."""
        self.limiter.set_rate(per_channel_per_second)

    def click(
        self,
        user: str,
        channel: str,
        ts: str,
        action_id: str,
        *,
        timestamp: int | None = None,
        tamper: bool = False,
        url: str | None = None,
        timeout: float = 3.0,
    ) -> ClickResult:
        """Click a button as ``user`` (id or e-mail): POST the signed block_actions payload to the
        request URL (or ``url``) and return what the receiver answered. Raises ClickError."""
        from sandbox.slack.interactivity import prepare, send

        return send(
            prepare(self, user, channel, ts, action_id, timestamp=timestamp, tamper=tamper, url=url), timeout=timeout
        )
