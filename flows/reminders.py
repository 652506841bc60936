"""Reminders, escalation and the safe-failure message of a waiting human step: one machinery, used while a
run waits in-process (``remind_while_paused``) and by the sweeper for suspended runs (``act``).

Everything here works from the step's ``StepRecord`` (its Slack message, assignee, title, wait policy), so the
sweeper needs nothing of the flow that posted it.
"""

from __future__ import annotations

import threading
import time

from clients.humanstep import Action, EscalationRecord, StepRecord, WaitPolicy
from clients.slack import SlackError
from flows.records import write_escalation
from tasks.services import Services

__all__ = ["Action", "WaitPolicy", "act", "expired_text", "remind_while_paused", "say_in_step"]


def say_in_step(svc: Services, record: StepRecord | None, text: str) -> None:
    """A line under the step's own Slack message (no secrets: ids, names and Vault references only)."""
    if svc.slack is not None and record is not None:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
        svc.slack.post(record.channel, text, blocks, thread_ts=record.ts)


def _mention(svc: Services, group: str) -> str:
    gid = ""
    if svc.slack is not None:
        try:
            gid = svc.slack.group_id(group)
        except SlackError:
            gid = ""
    return f"<!subteam^{gid}>" if gid else f"@{group}"


def act(svc: Services, record: StepRecord, action: Action, *, run_id: str, step: str) -> None:
    """Say a reminder (mentioning the assignee) or an escalation (mentioning the escalation group). An escalation
    is recorded on the run first (``EscalationRecord``): from then on the group's members may answer the step."""
    who = f"<@{record.assignee}>" if record.assignee else "someone"
    if action == "remind":
        say_in_step(svc, record, f"Reminder: {who}, *{record.title}* is still waiting for you.")
    elif action == "escalate":
        group = svc.settings.slack_escalation_group
        write_escalation(run_id, step, EscalationRecord(group=group, at=time.time()))
        mention = _mention(svc, group)
        say_in_step(svc, record, f"Escalation to {mention}: *{record.title}* has had no answer from {who}.")


def expired_text(record: StepRecord) -> str:
    """What the thread says when nobody answered in time: nothing further changed, and the state things are in."""
    return (
        f":warning: Nobody answered *{record.title}* in time, so Baton stopped here and changed nothing further. "
        f"State: {record.state_if_expired} To go on, start the flow again; it picks up where it stopped."
    )


def remind_while_paused(svc: Services, record: StepRecord, stop: threading.Event, run_id: str, step: str) -> None:
    """Run in a thread beside ``pause_flow_run``: remind and escalate as the policy says until *stop* is set
    (the deadline itself is the pause's timeout)."""
    policy = record.policy.policy()
    done: list[Action] = []
    while not stop.wait(min(5.0, policy.remind_every / 4)):
        for action in policy.due(time.time() - record.posted_at, tuple(done)):
            done.append(action)
            if action != "expire":
                act(svc, record, action, run_id=run_id, step=step)
