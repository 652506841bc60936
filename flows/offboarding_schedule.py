"""Leave dates known ahead, and watching the handover runs until each one ends.

The person's current leave date is kept in a Prefect Variable (``baton-leave-at-<person>``), so a second
event for the same person can move it (its scheduled handover runs are moved to finish before the new
date) or cancel it (they are cancelled), and the run that watches them escalates a day before the date
that holds now, not the one it started with.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from prefect import get_run_logger
from prefect.variables import Variable

from flows.catalog import Catalog
from flows.offboarding_plan import DAY, OffboardRequest, local, schedule_start
from flows.plan import Report
from flows.reporting import finish, say
from tasks import handovers
from tasks.services import services

CANCELLED = "cancelled"
POLL_BUSY = 2.0  # seconds between looks while a handover runs or waits for a person
POLL_IDLE = 10.0  # while every handover is scheduled for later
ARTIFACT = "offboarding-summary"


def _variable(person: str) -> str:
    return "baton-leave-at-" + re.sub(r"[^a-z0-9]+", "-", person.lower()).strip("-")


def remember_leave_date(person: str, leave_at: dt.datetime | None) -> None:
    """The leave date that holds now (None: cancelled)."""
    Variable.set(_variable(person), leave_at.isoformat() if leave_at else CANCELLED, overwrite=True)


def current_leave_date(person: str, fallback: dt.datetime | None) -> dt.datetime | None:
    value = Variable.get(_variable(person), default=None)
    if not isinstance(value, str) or value == CANCELLED:
        return fallback if value is None else None
    return dt.datetime.fromisoformat(value)


def move_scheduled(
    req: OffboardRequest, catalog: Catalog, leave_at: dt.datetime, report: Report, ts: str | None, run_id: str
) -> dict[str, Any]:
    """A changed leave date: move the person's scheduled handovers so they finish before it (or start now)."""
    settings = services().settings
    now = dt.datetime.now(dt.UTC)
    moved: list[str] = []
    for ident, flow_run_id in sorted(handovers.scheduled_for(req.person).items()):
        start = schedule_start(catalog.by_id(ident), leave_at, settings.handover_margin_minutes, now)
        start = start or (now + dt.timedelta(seconds=5)).isoformat()
        handovers.move_handover(flow_run_id, start)
        moved.append(f"{ident} -> {local(start, settings.org_timezone)} (run {flow_run_id})")
    remember_leave_date(req.person, leave_at)
    text = f"leave date moved to {local(leave_at.isoformat(), settings.org_timezone)}; moved: " + "; ".join(moved)
    report.add("Leave date moved", text)
    return finish(report, step="Summary", artifact_key=ARTIFACT, thread_ts=ts, run_id=run_id, status="moved")


def cancel_scheduled(req: OffboardRequest, report: Report, ts: str | None, run_id: str) -> dict[str, Any]:
    """The leave is cancelled: cancel the person's handovers that have not started (running ones go on)."""
    cancelled = []
    for ident, flow_run_id in sorted(handovers.scheduled_for(req.person).items()):
        handovers.cancel_handover(flow_run_id, f"the leave of {req.person} was cancelled")
        cancelled.append(f"{ident} (run {flow_run_id})")
    remember_leave_date(req.person, None)
    report.add("Leave cancelled", "cancelled: " + ("; ".join(cancelled) or "nothing was scheduled"))
    return finish(report, step="Summary", artifact_key=ARTIFACT, thread_ts=ts, run_id=run_id, status="cancelled")


def _escalate(req: OffboardRequest, waiting: list[str], leave_at: dt.datetime, ts: str | None) -> None:
    settings = services().settings
    when = local(leave_at.isoformat(), settings.org_timezone)
    say(
        ts,
        f":rotating_light: @{settings.slack_escalation_group}: {req.person} leaves {when} and these handovers are "
        f"still waiting: {', '.join(waiting)}. Until they are done, {req.person} stays unfrozen.",
    )
    get_run_logger().warning("escalated: %s still waiting a day before %s leaves", ", ".join(waiting), req.person)


def watch(
    req: OffboardRequest, runs: dict[str, str], leave_at: dt.datetime | None, ts: str | None
) -> dict[str, dict[str, Any]]:
    """Poll every handover run until each has ended; say each change in the thread; escalate once when one
    is still waiting a day before the leave date."""
    seen: dict[str, str] = {}
    escalated = False
    while True:
        now_states = handovers.states(runs)
        changes = []
        for ident, state in now_states.items():
            if seen.get(ident) != state["name"]:
                seen[ident] = state["name"]
                later = state["type"] == "SCHEDULED" and state["scheduled"]
                when = f" for {state['scheduled'][:16]} UTC" if later else ""
                changes.append(f"{ident}: {state['name']}{when} · <{services().run_url(state['run_id'])}|run>")
        if changes:  # one message per look: Slack allows about one a second per channel
            say(ts, "\n".join(changes))
        waiting = [ident for ident, state in now_states.items() if not state["done"]]
        if not waiting:
            return now_states
        deadline = current_leave_date(req.person, leave_at) if leave_at else None
        if deadline and not escalated and dt.datetime.now(dt.UTC) >= deadline - DAY:
            _escalate(req, waiting, deadline, ts)
            escalated = True
        idle = all(now_states[ident]["type"] == "SCHEDULED" for ident in waiting)
        time.sleep(POLL_IDLE if idle else POLL_BUSY)
