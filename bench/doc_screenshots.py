"""The operator's guide's screenshots (docs/img/*.png), taken in Debian chromium from the real thing: the demo's
stack (baton/demo_stack.py), the offboarding event for alice@, then what a waiting step looks like in the Slack
stand-in's channel page and in the Prefect UI: the approval of the plan, then a handover's first step.

    .venv/bin/python -m bench.doc_screenshots [--out docs/img]

Prints each file it wrote and how long the step took to appear (seconds). Stops everything it started.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from baton import autopilot_pages as pages
from baton.autopilot import APPROVER, Autopilot, paused_at, wait_for
from baton.demo import send_offboarding_event
from baton.demo_stack import Running, Stack

ROOT = Path(__file__).resolve().parents[1]


def _slack(page: Any, running: Running, text: str, out: Path) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(running.slack_page)
    page.get_by_text(text).last.scroll_into_view_if_needed()
    page.screenshot(path=str(out))


def _prefect(page: Any, running: Running, run_id: str, out: Path, form: Path | None = None) -> None:
    """The run's page once its log says what it waits for; with *form*, also its Resume form."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{running.prefect.ui_url}/runs/flow-run/{run_id}")
    page.get_by_text("Suspended").first.wait_for(timeout=60_000)
    page.get_by_text("waiting for a person").first.wait_for(timeout=90_000)
    time.sleep(1)
    page.screenshot(path=str(out))
    if form is not None:
        page.get_by_role("button", name="Resume").first.click()
        page.get_by_role("dialog").wait_for(timeout=30_000)
        time.sleep(1)
        page.screenshot(path=str(form))
        page.keyboard.press("Escape")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    stack = Stack()
    try:
        running = stack.start(Path(tempfile.mkdtemp(prefix="baton-shots-")), 0, 0, print)
        run_id = send_offboarding_event(running, f"docs-{int(time.time())}")
        http = running.prefect.http(timeout=30)
        wait_for("the approval step", lambda: paused_at(http, http.get(f"flow_runs/{run_id}").json()), timeout=300)
        print(f"approval waiting after {time.monotonic() - began:.0f} s")
        with pages.chromium() as browser:
            page = pages.loopback_page(browser, timeout_ms=60_000)
            pages.prefect_ui_login(page, running.prefect.ui_url, running.prefect.auth_string)
            _slack(page, running, "Approve the offboarding plan", args.out / "slack-approval.png")
            _prefect(page, running, run_id, args.out / "prefect-ui-approval.png")
            message = pages.step_message(running.sandbox.world, run_id, "approve-offboarding")
            pages.click(running.sandbox.world, APPROVER, message, "baton_approve")
            pilot = Autopilot(
                running.sandbox,
                running.prefect.api_url,
                run_id,
                print,
                act=False,
                auth_string=running.prefect.auth_string,
            )

            def first_step() -> tuple[str, str] | None:
                for handover in pilot.follow_children():
                    key = paused_at(http, handover.state_run)
                    if handover.flow == "rotate-salesforce-jira-connector" and key == "sf-logout":
                        return handover.run_id, key
                return None

            child, _ = wait_for("a handover's first step", first_step, timeout=400)
            print(f"first handover step waiting after {time.monotonic() - began:.0f} s")
            _slack(page, running, "1. Logout from Salesforce", args.out / "slack-step.png")
            _prefect(page, running, child, args.out / "prefect-ui-step.png", args.out / "prefect-ui-resume-form.png")
        for name in (
            "slack-approval",
            "prefect-ui-approval",
            "slack-step",
            "prefect-ui-step",
            "prefect-ui-resume-form",
        ):
            print(f"wrote {args.out / name}.png")
    finally:
        stack.stop(print)
    print(f"total {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
