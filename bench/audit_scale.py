"""The audit's time and vendor API calls as the catalog grows: for each size, a sandbox seeded to that size
(one dedicated Salesforce user, connected app and token per entry, one stored credential each, tested
against Jira, Jira Server, Intercom and Jotform in turn; from 12 entries up, the test's one-of-each problems
too), a real OpenBao and Prefect server, and one run of audit_integrations in its own process.

    .venv/bin/python -m bench.audit_scale                 # 10, 100 and 1,000 entries
    .venv/bin/python -m bench.audit_scale --sizes 10,50   # smaller, on a busy machine
    .venv/bin/python -m bench.audit_scale --no-write      # print only (default: also docs/performance.md)

Prints, per size: the entries, the run's wall time and Prefect's run time, vendor calls (and per entry),
Salesforce calls, credential test reads, writes (must be 0) and findings.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import hvac
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from baton.devstack import OpenBaoDevServer, PrefectServer
from baton.stackenv import settings_from, stack_env
from clients.factory import custody_from
from deployments.vault.setup import setup_vault
from sandbox import calllog
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests import audit_world
from tests.flows.audit_probe import register_deployment
from tests.harness import ROOT, FlowProcess

PROBLEM_ENTRIES = 12  # the seeded one-of-each set (tests/audit_world.py)
DOC = ROOT / "docs" / "performance.md"
MARK = "## Audit at scale (bench/audit_scale.py)"


def _one(size: int, bao: OpenBaoDevServer, prefect: PrefectServer, work: Path) -> dict[str, Any]:
    problems = size >= PROBLEM_ENTRIES
    bulk = size - PROBLEM_ENTRIES if problems else size
    sandbox = Sandbox(audit_world.scenario(healthy=bulk, problems=problems)).start()
    try:
        if problems:
            audit_world.after_start(sandbox)
        slack = state_of(sandbox.world)
        env = stack_env(
            vault_addr=bao.addr, vault_token=bao.root_token, prefect=prefect, urls=sandbox.urls,
            ca_file=sandbox.ca_file, slack_bot_token=slack.config.bot.token,
            slack_signing_secret=slack.config.signing_secret, gateway_url="http://127.0.0.1:9",
        )  # fmt: skip
        catalog = audit_world.catalog_and_vault(
            custody_from(settings_from(env)), work, "audit-handover-probe/audit-probe", bulk, problems=problems
        )
        env |= {"BATON_CATALOG_PATH": str(catalog), "BATON_SLACK_AUDIT_CHANNEL": "C0ITAUDIT"}
        before = dict(sandbox.world.calls)
        started = time.monotonic()
        flow = FlowProcess(ROOT / "tests" / "flows" / "run_flow.py", env, "flows.audit:audit_integrations",
                           json.dumps({"requested_by": "bench@acme.example"}))  # fmt: skip
        result = flow.wait(timeout=3600)
        wall = time.monotonic() - started
        if result.get("status") != "done":
            raise RuntimeError(f"the audit failed at {size}: {flow.output()[-3000:]}")
        calls = calllog.since(before, dict(sandbox.world.calls))
        with prefect.http() as http:
            run = http.get(f"flow_runs/{result['flow_run_id']}").json()
    finally:
        sandbox.stop()
    vendor = calllog.requests(calls)
    total = sum(vendor.values())
    entries = int(result["entries"])
    return {
        "entries": entries, "wall_s": round(wall, 1), "run_s": round(float(run.get("total_run_time") or 0), 1),
        "vendor_calls": total, "per_entry": round(total / entries, 2),
        "salesforce_calls": sum(n for k, n in vendor.items() if k.startswith("salesforce ")),
        "credential_reads": int(result["credentials"]), "writes": sum(calllog.writes(calls).values()),
        "findings": len(result["findings"]),
    }  # fmt: skip


def _table(rows: list[dict[str, Any]]) -> str:
    head = ("| entries | wall time (s) | Prefect run time (s) | vendor calls | per entry | Salesforce calls | "
            "credential test reads | writes | findings |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    lines = [
        f"| {r['entries']} | {r['wall_s']} | {r['run_s']} | {r['vendor_calls']} | {r['per_entry']} | "
        f"{r['salesforce_calls']} | {r['credential_reads']} | {r['writes']} | {r['findings']} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def _write(table: str, sizes: list[int]) -> None:
    text = DOC.read_text() if DOC.exists() else "# Performance\n\nFigures the benchmarks in bench/ printed.\n"
    section = (f"{MARK}\n\n`python -m bench.audit_scale --sizes {','.join(map(str, sizes))}` on "
               f"{time.strftime('%Y-%m-%d')} (2 shared cores; wall time includes the flow process's start):\n\n"
               f"{table}\n")  # fmt: skip
    if MARK in text:
        before, _, rest = text.partition(MARK)
        after = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,100,1000", help="catalog sizes, comma-separated (default 10,100,1000)")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"audit scale: catalog sizes {sizes}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="baton-bench-audit-"))
    bao = OpenBaoDevServer(work / "bao").start()
    prefect = PrefectServer(work / "prefect").start()
    rows = []
    try:
        setup_vault(hvac.Client(url=bao.addr, token=bao.root_token))
        authenticated = {PREFECT_API_URL: prefect.api_url, PREFECT_API_AUTH_STRING: prefect.auth_string}
        with temporary_settings(updates=authenticated):
            register_deployment()
        for size in sizes:
            row = _one(size, bao, prefect, work)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        prefect.stop()
        bao.stop()
    table = _table(rows)
    print(table)
    if not args.no_write:
        _write(table, sizes)
        print(f"written to {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
