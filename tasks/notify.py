"""A line in a run's Slack thread that is posted once per run, even when a suspended run replays from the top."""

from __future__ import annotations

from prefect import task

from tasks.services import services


@task(persist_result=True)
def say_once(thread_ts: str | None, text: str) -> bool:
    """Post *text* (no secrets) in the thread; persisted, so a replay of the run gets it back Cached."""
    svc = services()
    if svc.slack is None or not thread_ts:
        return False
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
    svc.slack.post(svc.settings.slack_channel, text[:150], blocks, thread_ts=thread_ts)
    return True
