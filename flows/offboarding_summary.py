"""The end of an offboarding: each handover's state and link (a Prefect artifact and the Slack thread),
and the freeze of the leaver's Salesforce user, only when every handover is verified, nothing runs as
them outside the catalog, and every catalog entry says to freeze. Otherwise the summary names what
still runs as the leaver, and the leaver stays unfrozen."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact

from flows.catalog import Catalog
from flows.discovery import Discovery
from flows.offboarding_plan import OffboardRequest
from flows.plan import Report
from flows.reporting import finish
from tasks import discovery as live
from tasks.services import services

ARTIFACT = "offboarding-summary"


def verified(state: dict[str, Any]) -> bool:
    """A handover is verified when its run completed and its flow reported done (or said nothing else)."""
    return state.get("type") == "COMPLETED" and state.get("status") in (None, "done")


def why_not_freeze(
    req: OffboardRequest, catalog: Catalog, found: Discovery, items: list[dict[str, Any]], final: dict[str, Any]
) -> str:
    """Empty when the leaver may be frozen; else the reason they stay unfrozen."""
    failed = [item["integration_id"] for item in items if not verified(final.get(item["integration_id"], {}))]
    if failed:
        return f"{', '.join(failed)} still run(s) as {req.person}"
    if found.not_in_catalog:
        names = ", ".join(f.name for f in found.not_in_catalog)
        return f"found, but not in the catalog (still running as {req.person}): {names}"
    if not items:
        return "no catalog entry of theirs asks for it"
    keep = [item["integration_id"] for item in items if not catalog.by_id(item["integration_id"]).freeze_leaver_after]
    if keep:
        return f"the catalog says not to freeze after {', '.join(keep)} (freeze_leaver_after: false)"
    return ""


def publish_summary(
    req: OffboardRequest, catalog: Catalog, found: Discovery, items: list[dict[str, Any]],
    final: dict[str, dict[str, Any]], report: Report, ts: str | None, run_id: str, *, status: str,
) -> dict[str, Any]:  # fmt: skip
    """Report each handover, freeze the leaver when allowed, publish the summary; *status* set: no freeze."""
    svc = services()
    for item in items:
        ident = item["integration_id"]
        state = final.get(ident)
        if state is None:
            report.add(f"Handover {ident}", "not started")
            continue
        mark = "verified" if verified(state) else "NOT verified"
        why = f" ({state['message']})" if state.get("message") and not verified(state) else ""
        report.add(f"Handover {ident}", f"{state['name']}, {mark}{why} · {svc.run_url(state['run_id'])}")
    frozen = False
    if not status:
        reason = why_not_freeze(req, catalog, found, items, final)
        if reason:
            status = f"partial: {reason}; {req.person} stays unfrozen"
            report.add("Freeze the leaver", f"not frozen: {reason}")
        else:
            result = live.freeze_salesforce_user(req.person)
            frozen = bool(result["frozen"])
            done = "frozen" if result["changed"] else "already frozen"
            what = f"Salesforce user {result['user_id']} {done}" if result["user_id"] else "no Salesforce user found"
            report.add("Freeze the leaver", f"{what} (UserLogin.IsFrozen; not deactivated)")
            status = f"done: every handover verified; {req.person} {'frozen' if frozen else 'has no Salesforce user'}"
    create_markdown_artifact(
        key="offboarding-discovery", markdown=found.markdown(), description=f"Discovery for {req.person}"
    )
    result = finish(report, step="Summary", artifact_key=ARTIFACT, thread_ts=ts, run_id=run_id, status=status)
    still = [i["integration_id"] for i in items if not verified(final.get(i["integration_id"], {}))]
    still += [f.name for f in found.not_in_catalog]
    return {**result, "frozen": frozen, "handovers": final, "still_running_as_leaver": still}
