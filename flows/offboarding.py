"""offboard_person: a person leaves; every integration that runs as them is handed over, then they are frozen.

The order is the product (deactivating the Salesforce user who authorised an integration revokes its
tokens at once): discovery (catalog + live) → a plan (what hands over to whom, which steps need a person,
how long each takes) → ONE approval for the whole plan (four eyes: the requester may not approve) →
each handover as its own run of its deployment, concurrently, one per integration → a summary artifact
and Slack summary with each handover's state and link → only when every handover is verified, nothing
was found outside the catalog and the catalog says so, freeze the leaver's Salesforce user
(UserLogin.IsFrozen; never delete, never deactivate). With a leave date known ahead, the handovers are
scheduled to finish before it (see flows/offboarding_schedule.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from flows.catalog import Catalog, load_catalog
from flows.discovery import Discovery, reconcile
from flows.human import human_step
from flows.offboarding_plan import OffboardRequest, approval_policy, plan_handovers, render_plan
from flows.offboarding_schedule import cancel_scheduled, move_scheduled, remember_leave_date, watch
from flows.offboarding_summary import publish_summary
from flows.plan import Report, Step, Steps, validate
from flows.reporting import run_reported, show_plan, who
from tasks import discovery as live
from tasks import handovers
from tasks.services import services

FLOW_NAME = "offboard-person"
STEPS: Steps = {
    "discover": Step("Discover", "automatic", "the catalog's integrations of the person, and what runs as them live"),
    "plan": Step("Plan", "automatic", "what hands over to whom, which steps need a person, expected durations"),
    "approve": Step("Approve the plan", "person", "one approval for the whole plan; the requester may not approve"),
    "hand-over": Step(
        "Hand every integration over", "automatic", "a run of its deployment each (their own human steps)"
    ),
    "summary": Step("Summary", "automatic", "Prefect artifact and Slack, each handover's state and link"),
    "freeze": Step(
        "Freeze the leaver", "automatic", "Salesforce UserLogin.IsFrozen, only when every handover is verified"
    ),
}


@task(persist_result=True)
def make_plan(catalog_path: str, person: str, leave_at: str | None, margin_minutes: int) -> list[dict[str, Any]]:
    """The plan, once per run (cached: the plan approved is the plan run, even across a suspend)."""
    entries = load_catalog(catalog_path).of(person)
    when = dt.datetime.fromisoformat(leave_at) if leave_at else None
    return plan_handovers(entries, person, when, margin_minutes, dt.datetime.now(dt.UTC))


@flow(name=FLOW_NAME, validate_parameters=False)
def offboard_person(request: OffboardRequest, plan: bool = False) -> dict[str, Any]:
    """Hand over every integration that runs as ``request.person``, then freeze them; ``plan=True`` shows
    the discovery and the plan and changes nothing."""
    req = validate(OffboardRequest, request)
    settings = services().settings
    catalog = load_catalog(settings.catalog_path)  # a bad catalog stops here, before anything runs
    leave_at = req.leave_time(settings.org_timezone)
    title = f"Offboard {req.person}"
    if plan:
        found = reconcile(catalog, req.person, live.salesforce_grants(req.person))
        items = make_plan(settings.catalog_path, req.person, _iso(leave_at), settings.handover_margin_minutes)
        show_plan(title, STEPS)
        text = render_plan(req.person, items, _extra(found), settings.org_timezone)
        print(text)
        return {"plan": text, "discovery": found.as_dict(), "handovers": items}
    thread_title = f"*{title}* (requested by {req.requested_by})" + (
        f", leaving {leave_at.isoformat(timespec='minutes')}" if leave_at else ""
    )
    return run_reported(title, thread_title, lambda report, ts, run_id: _run(req, catalog, report, ts, run_id))


def _iso(when: dt.datetime | None) -> str | None:
    return when.isoformat() if when else None


def _extra(found: Discovery) -> list[str]:
    lines = []
    if found.catalog_only:
        lines.append(f"From the catalog only (no vendor API shows it): {', '.join(found.catalog_only)}.")
    if found.not_found_live:
        lines.append(f"In the catalog but not found live: {', '.join(found.not_found_live)} (handed over already?).")
    if found.not_in_catalog:
        lines.append("*Found, but not in the catalog* (they keep running as the leaver, so the leaver stays unfrozen):")
        lines += [f"• {f.name}: {f.add}" for f in found.not_in_catalog]
    return lines


def _run(req: OffboardRequest, catalog: Catalog, report: Report, ts: str | None, run_id: str) -> dict[str, Any]:
    settings = services().settings
    tz, margin = settings.org_timezone, settings.handover_margin_minutes
    leave_at = req.leave_time(tz)
    if req.cancel:
        return cancel_scheduled(req, report, ts, run_id)
    # approved before: a new date (none: now) moves what an earlier offboarding run scheduled
    if handovers.scheduled_for(req.person, not_by=run_id):
        return move_scheduled(req, catalog, leave_at or dt.datetime.now(dt.UTC), report, ts, run_id)

    found = reconcile(catalog, req.person, live.salesforce_grants(req.person))
    report.add(STEPS["discover"], f"{len(found.in_catalog)} in the catalog, {len(found.not_in_catalog)} not in it")
    items = make_plan(settings.catalog_path, req.person, _iso(leave_at), margin)
    text = render_plan(req.person, items, _extra(found), tz)
    report.add(STEPS["plan"], f"{len(items)} handover(s)")
    create_markdown_artifact(
        key="offboarding-plan", markdown=f"# Plan\n\n{text}\n\n{found.markdown()}", description=f"Offboard {req.person}"
    )  # the whole plan, also when Slack's message must be cut short
    answer = human_step(
        "approve-offboarding", title=f"Approve the offboarding plan for {req.person}", kind="approval",
        instruction=text + "\n\nApprove to start (or schedule) every handover above; Reject changes nothing.",
        requested_by=req.requested_by, thread_ts=ts, policy=approval_policy(items, leave_at, margin),
        state_if_expired=f"Nothing was handed over; {req.person} is not frozen.",
    )  # fmt: skip
    report.add(STEPS["approve"], who(answer))
    if not answer.approved:
        return publish_summary(req, catalog, found, items, {}, report, ts, run_id, status="rejected: nothing changed")

    if leave_at is not None:
        remember_leave_date(req.person, leave_at)
    runs: dict[str, str] = {}
    for item in items:
        ident = item["integration_id"]
        request = catalog.by_id(ident).request(req.requested_by)
        if item["start_at"]:
            key = f"offboard:{req.person}:{ident}:{run_id}"
            runs[ident] = handovers.schedule_handover(
                item["deployment"], request, req.person, ident, item["start_at"], key
            )
        else:
            runs[ident] = handovers.start_handover(item["deployment"], request, req.person, ident, f"{run_id}:{ident}")
    started = ", ".join(f"{ident}: run {rid}" for ident, rid in runs.items())
    report.add(STEPS["hand-over"], started or "nothing to hand over")
    final = watch(req, runs, leave_at, ts)
    return publish_summary(req, catalog, found, items, final, report, ts, run_id, status="")
