"""The audit's report: one Slack message with the counts, and in its thread one message per kind of finding
(each finding with its severity, evidence and fix; a "Hand over" button where a handover fixes it); the same
as a Prefect markdown artifact."""

from __future__ import annotations

import json
from typing import Any

from flows.audit_checks import KINDS, AuditFinding

HANDOVER_ACTION = "baton_audit_handover"  # action ids are HANDOVER_ACTION + "_<n>" (unique per message)
MAX_BLOCKS = 45  # Slack allows 50 blocks per message
ICONS = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "medium": ":large_yellow_circle:",
    "low": ":white_circle:",
}


def grouped(findings: list[AuditFinding]) -> list[tuple[str, list[AuditFinding]]]:
    """(kind, findings) in the order of KINDS (most severe first), kinds without findings left out."""
    return [(kind, [f for f in findings if f.kind == kind]) for kind in KINDS if any(f.kind == kind for f in findings)]


def counts(findings: list[AuditFinding]) -> str:
    by = {s: sum(1 for f in findings if f.severity == s) for s in ("critical", "high", "medium", "low")}
    return ", ".join(f"{n} {s}" for s, n in by.items() if n) or "nothing found"


def _evidence(finding: AuditFinding) -> str:
    return "; ".join(f"{k}: {v}" for k, v in finding.evidence.items())


def button_value(finding: AuditFinding, audit_run_id: str, requested_by: str, thread_ts: str) -> str:
    """What the gateway needs to start the handover (no secret: ids and who asked)."""
    return json.dumps({"v": 1, "audit": audit_run_id, "finding": finding.id, "integration": finding.integration_id,
                       "requester": requested_by, "thread": thread_ts}, separators=(",", ":"))  # fmt: skip


def summary_blocks(title: str, findings: list[AuditFinding], entries: int, run_link: str) -> list[dict[str, Any]]:
    lines = [f"*{title}*: {len(findings)} finding(s) over {entries} catalog entries ({counts(findings)}) · {run_link}"]
    lines += [f"• {KINDS[kind][1]}: {len(items)}" for kind, items in grouped(findings)]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}]


def _heading(kind: str, count: int, part: int) -> list[dict[str, Any]]:
    severity, heading = KINDS[kind]
    more = f" (part {part})" if part > 1 else ""
    text = f"{ICONS[severity]} *{heading}*{more} · {severity} · {count}"
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def group_messages(
    findings: list[AuditFinding], audit_run_id: str, requested_by: str, thread_ts: str
) -> list[tuple[str, list[dict[str, Any]]]]:
    """(text, blocks) per thread reply: one per kind, split when a kind has more findings than fit."""
    messages: list[tuple[str, list[dict[str, Any]]]] = []
    for kind, items in grouped(findings):
        heading = KINDS[kind][1]
        button, part = 0, 1
        blocks = _heading(kind, len(items), part)
        for finding in items:
            if len(blocks) + 2 > MAX_BLOCKS:
                messages.append((f"{heading} ({part})", blocks))
                part += 1
                blocks, button = _heading(kind, len(items), part), 0
            where = f" `{finding.integration_id}`" if finding.integration_id else ""
            text = (f"*{finding.summary}*{where}\n_evidence_: {_evidence(finding)}\n_fix_: {finding.fix}\n"
                    f"_finding_: `{finding.id}`")  # fmt: skip
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
            if finding.handover:
                button += 1
                blocks.append({"type": "actions", "block_id": f"audit-{finding.id}"[:255], "elements": [{
                    "type": "button", "action_id": f"{HANDOVER_ACTION}_{button}", "style": "primary",
                    "text": {"type": "plain_text", "text": "Hand over"},
                    "value": button_value(finding, audit_run_id, requested_by, thread_ts),
                }]})  # fmt: skip
        messages.append((heading, blocks))
    return messages


def markdown(title: str, findings: list[AuditFinding], entries: int, requested_by: str) -> str:
    lines = [f"# {title}", "", f"{len(findings)} finding(s) over {entries} catalog entries ({counts(findings)}); "
             f"started by {requested_by}. Nothing was changed in any vendor system.", ""]  # fmt: skip
    for kind, items in grouped(findings):
        severity, heading = KINDS[kind]
        lines += [f"## {heading} ({severity}, {len(items)})", "", "| finding | integration | evidence | fix |",
                  "|---|---|---|---|"]  # fmt: skip
        for f in items:
            cells = [f"`{f.id}`<br>{f.summary}", f"`{f.integration_id}`" if f.integration_id else "not in the catalog",
                     _evidence(f), f.fix + (" (Slack: **Hand over**)" if f.handover else "")]  # fmt: skip
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    if not findings:
        lines.append("No findings: every integration runs as a dedicated user on a working, fresh credential.")
    return "\n".join(lines)
