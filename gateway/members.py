"""Is the clicker a member of Baton's workspace? ``users.info`` on the clicker, before an answer is recorded as
verified: an unknown id, a deactivated account, a bot, a guest and a user of another organisation (Slack Connect:
``is_stranger``, or a home ``team_id`` that is not the bot's workspace from ``auth.test``) are refused.

A member found is remembered for a short while (*ttl* seconds) so that a burst of clicks costs one lookup; a
refusal is never remembered.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from clients.slack import SlackClient, SlackError, SlackUser

MEMBER_TTL = 30.0
FIX = "nothing was changed; ask a member of this workspace who may answer the step to do it"


@dataclass
class Workspace:
    slack: SlackClient | None
    ttl: float = MEMBER_TTL
    _members: dict[str, float] = field(default_factory=dict)  # user id -> when it was last confirmed
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refusal(self, user_id: str, payload_team: str = "") -> str | None:
        """None when *user_id* is a full member of the workspace; else the ephemeral refusal in words.
        *payload_team* is the clicker's team as Slack's signed payload names it ('' when absent)."""
        if self.slack is None:
            return "The gateway has no Slack token, so it cannot check who clicked; nothing was changed."
        with self._lock:
            seen = self._members.get(user_id)
        try:
            team = self.slack.team_id()
            if payload_team and team and payload_team != team:
                return f"<@{user_id}> belongs to another Slack organisation, so Baton does not take the answer; {FIX}."
            if seen is not None and time.monotonic() - seen < self.ttl:
                return None
            user = self.slack.user_info(user_id)
        except SlackError as exc:
            if exc.code in ("user_not_found", "users_not_found"):
                return f"Baton finds no member <@{user_id}> in this Slack workspace; {FIX}."
            return f"Baton could not check who clicked ({exc.code}); try again in a minute."
        why = _not_a_member(user, team)
        if why:
            return f"<@{user_id}> {why}, so Baton does not take the answer; {FIX}."
        with self._lock:
            self._members[user_id] = time.monotonic()
        return None


def _not_a_member(user: SlackUser, team: str) -> str:
    if user.deleted:
        return "is a deactivated account"
    if user.is_bot:
        return "is a bot"
    if user.is_stranger or (user.team_id and team and user.team_id != team):
        return "belongs to another Slack organisation (Slack Connect)"
    if user.is_restricted or user.is_ultra_restricted:
        return "is a guest of this workspace"
    return ""
