"""The message store: every message per conversation, thread replies, and each message's edits.

Readable by tests (``SlackState.messages(...)`` etc.) and over HTTP (GET /sandbox/slack/messages).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Version:
    """What a message said before an update (chat.update or a response_url replace)."""

    text: str
    blocks: list[dict[str, Any]] | None
    replaced_at: float
    via: str  # "chat.update" | "response_url"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    bot_id: str | None = None
    thread_ts: str | None = None  # set on replies (and on a parent once it has replies)
    parent_user_id: str | None = None
    reply_ts: list[str] = field(default_factory=list)  # replies, oldest first (parents only)
    ephemeral_to: str | None = None  # user id, for chat.postEphemeral / ephemeral responses
    deleted: bool = False
    history: list[Version] = field(default_factory=list)  # earlier versions, oldest first
    posted_at: float = field(default_factory=time.time)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def replace(self, text: str | None, blocks: list[dict[str, Any]] | None, via: str) -> None:
        self.history.append(Version(self.text, copy.deepcopy(self.blocks), time.time(), via))
        if text is not None:
            self.text = text
        if blocks is not None:
            self.blocks = blocks

    def snapshot(self) -> dict[str, Any]:
        """A plain dict of everything the store knows (for tests and GET /sandbox/slack/messages)."""
        return {
            "channel": self.channel,
            "ts": self.ts,
            "text": self.text,
            "user": self.user,
            "blocks": copy.deepcopy(self.blocks),
            "bot_id": self.bot_id,
            "thread_ts": self.thread_ts,
            "reply_ts": list(self.reply_ts),
            "ephemeral_to": self.ephemeral_to,
            "deleted": self.deleted,
            "history": [
                {"text": v.text, "blocks": copy.deepcopy(v.blocks), "replaced_at": v.replaced_at, "via": v.via}
                for v in self.history
            ],
        }


class MessageStore:
    """Messages per conversation in posting order; callers hold the world lock."""

    def __init__(self) -> None:
        self._by_channel: dict[str, list[Message]] = {}
        self._by_key: dict[tuple[str, str], Message] = {}

    def add(self, message: Message) -> Message:
        self._by_channel.setdefault(message.channel, []).append(message)
        self._by_key[(message.channel, message.ts)] = message
        if message.is_reply and message.thread_ts:
            parent = self._by_key.get((message.channel, message.thread_ts))
            if parent is not None:
                parent.thread_ts = parent.ts
                parent.reply_ts.append(message.ts)
        return message

    def get(self, channel: str, ts: str) -> Message | None:
        message = self._by_key.get((channel, ts))
        return None if message is None or message.deleted else message

    def find_ts(self, ts: str) -> Message | None:
        for (_, key_ts), message in self._by_key.items():
            if key_ts == ts and not message.deleted:
                return message
        return None

    def channel(self, channel: str, *, include_ephemeral: bool = False) -> list[Message]:
        return [
            m
            for m in self._by_channel.get(channel, [])
            if not m.deleted and (include_ephemeral or m.ephemeral_to is None)
        ]

    def top_level(self, channel: str) -> list[Message]:
        return [m for m in self.channel(channel) if not m.is_reply]

    def thread(self, channel: str, ts: str) -> list[Message]:
        parent = self.get(channel, ts)
        if parent is None:
            return []
        if parent.is_reply and parent.thread_ts:
            return self.thread(channel, parent.thread_ts)
        replies = [self._by_key[(channel, r)] for r in parent.reply_ts if not self._by_key[(channel, r)].deleted]
        return [parent, *replies]

    def channels(self) -> list[str]:
        return list(self._by_channel)
