"""How a flow tells what it did: the run's Slack thread (posted once per run), one line per human step, and
the report as a Prefect artifact and in that thread (ids, names and Vault references only, never a value)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import get_run_context

from clients.humanstep import ThreadRecord
from clients.vault import VaultError
from core.errors import BatonError
from flows import records
from flows.human import HumanResult
from flows.plan import Report, Step, Steps, render_plan
from tasks.services import services


def thread(title: str) -> str | None:
    """The run's Slack thread (its first message), posted once per run even across suspends and reruns."""
    svc = services()
    existing = records.read_thread()
    if existing is not None:
        return existing.ts
    if svc.slack is None:
        return None
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    text = f"{title} · <{svc.run_url(run_id)}|run in Prefect>"
    message = svc.slack.post(
        svc.settings.slack_channel, title, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )
    records.write_thread(ThreadRecord(channel=message.channel, ts=message.ts))
    return message.ts


def say(thread_ts: str | None, text: str) -> None:
    """A line in the run's Slack thread (no secrets: ids, names and Vault references only)."""
    svc = services()
    if svc.slack is not None and thread_ts:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
        svc.slack.post(svc.settings.slack_channel, text[:150], blocks, thread_ts=thread_ts)


def who(result: HumanResult) -> str:
    """'done by U0BOB0001 via slack (verified), Vault <path> vN (note: ...)'."""
    how = "verified" if result.verified else "self-declared"
    ref = f", Vault {result.vault_path} v{result.vault_version}" if result.vault_path else ""
    note = f" (note: {result.note})" if result.note else ""
    return f"{result.outcome} by {result.responder or 'someone'} via {result.via} ({how}){ref}{note}"


def finish(
    report: Report,
    thread_ts: str | None,
    run_id: str,
    status: str,
    *,
    step: Step | str,
    artifact_key: str,
    **extra: str,
) -> dict[str, Any]:
    """Close the report with *status* under *step*, publish it, and return the flow's result. A flow binds
    *step* and *artifact_key* once: ``_finish = functools.partial(finish, step=..., artifact_key=...)``."""
    report.add(step, status)
    create_markdown_artifact(key=artifact_key, markdown=report.markdown(), description=report.title)
    say(thread_ts, report.slack())
    return {"status": status, "steps": report.rows, "flow_run_id": run_id, **extra}


def show_plan(title: str, steps: Steps, skipped: set[str] | None = None) -> dict[str, Any]:
    """Dry run: log and print the plan (each step automatic or a person; *skipped*: keys of steps this request
    does not need) and return it; nothing changes."""
    text = render_plan(title, steps, skipped)
    get_run_logger().info("%s", text)
    print(text)
    return {"plan": text}


def announce_stop(thread_ts: str | None, report: Report, exc: Exception) -> None:
    """A failed run says in its Slack thread why it stopped and what was done so far."""
    done = "; ".join(f"{step}: {outcome}" for step, outcome in report.rows) or "nothing"
    say(thread_ts, f":x: *Stopped*: {exc}\nDone so far: {done}")


VAULT_DOWN = (
    "Baton stopped here and did nothing after this point: what is current in Vault stays current (a new version "
    "not yet promoted stays pending). Once Vault answers again, retry this run (Prefect: the run's Retry): it "
    "continues where it stopped and asks no step again"
)
Body = Callable[[Report, str | None, str], dict[str, Any]]


def run_reported(title: str, thread_title: str, body: Body) -> dict[str, Any]:
    """Open the run's report and Slack thread, then run *body(report, thread_ts, run_id)*; a BatonError
    is announced in the thread (why, and what was done so far) before it fails the run."""
    run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
    report = Report(title)
    thread_ts = thread(thread_title)
    try:
        return body(report, thread_ts, run_id)
    except VaultError as exc:
        if not getattr(exc, "retryable", False):
            announce_stop(thread_ts, report, exc)
            raise
        advised = exc.advised(VAULT_DOWN)  # unreachable or busy: the run stopped safely, a retry continues it
        announce_stop(thread_ts, report, advised)
        raise advised from None
    except BatonError as exc:
        announce_stop(thread_ts, report, exc)
        raise
