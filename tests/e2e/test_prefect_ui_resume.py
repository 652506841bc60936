"""A person answers a human step in the Prefect UI (v2) in Debian chromium: Open menu → Resume, the
form shows the step's instruction, they type their name and press Resume; the flow records the answer
as self-declared, via prefect-ui. Only loopback is reachable (the UI calls an analytics host at start).
The server's HTTP Basic auth is on: the run's page first shows the UI's login page; the person logs in
with the auth string (baton.autopilot_pages.prefect_ui_login)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from baton.autopilot_pages import prefect_ui_login
from baton.devstack import PrefectServer
from clients.prefect_api import prefect_http
from sandbox.server import Sandbox
from tests.harness import FlowProcess

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
HEALTHZ = "admin GET /healthz"  # step_probe's task after the step calls it
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]


def _run_ids(http: httpx.Client) -> set[str]:
    runs = http.post("flow_runs/filter", json={"flows": {"name": {"any_": ["step-probe"]}}, "limit": 200}).json()
    return {str(r["id"]) for r in runs}


def start_paused(env: dict[str, str], api_url: str, *args: str, timeout: float = 60) -> tuple[FlowProcess, str]:
    """step_probe in its own process; its run id once it waits with its form stored (not an older run's)."""
    with prefect_http(api_url) as http:
        known = _run_ids(http)
        flow = FlowProcess("step_probe.py", env, *args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for run_id in _run_ids(http) - known:
                state = http.get(f"flow_runs/{run_id}").json()["state"]
                if state["type"] == "PAUSED":
                    schema = state["state_details"]["run_input_keyset"]["schema"]
                    if http.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200:
                        return flow, run_id
            if flow.proc.poll() is not None:
                break
            time.sleep(0.2)
    flow.kill()
    raise AssertionError(f"no new paused step-probe run:\n{flow.output()[-3000:]}")


def cancel_if_paused(api_url: str, run_id: str) -> None:
    """Leave no paused step-probe run behind when the test fails (other tests look for the newest one)."""
    with prefect_http(api_url) as http:
        if http.get(f"flow_runs/{run_id}").json()["state"]["type"] == "PAUSED":
            http.post(f"flow_runs/{run_id}/set_state", json={"state": {"type": "CANCELLED"}, "force": True})


def test_resume_in_the_prefect_ui(baton_env: dict[str, str], prefect_server: PrefectServer, sandbox: Sandbox) -> None:
    from playwright.sync_api import Request, Route, expect, sync_playwright

    flow, run_id = start_paused(baton_env, prefect_server.api_url, "kind=task", f"admin_url={sandbox.urls['admin']}")
    blocked: list[str] = []
    sent: list[dict[str, Any]] = []
    shot = Path("/tmp") / f"baton-prefect-ui-{run_id}.png"

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith(f"/flow_runs/{run_id}/resume"):
            sent.append(
                {**json.loads(request.post_data or "{}"), "authorization": request.headers.get("authorization")}
            )

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                context.route("**/*", loopback_only)
                context.set_default_timeout(30_000)
                expect.set_options(timeout=30_000)
                page = context.new_page()
                page.on("request", record)
                page.goto(f"{prefect_server.ui_url}/v2/runs/flow-run/{run_id}")  # not logged in: the login page
                expect(page.get_by_placeholder("admin:pass")).to_be_visible()
                expect(page.get_by_text("Paused", exact=True)).to_have_count(0)
                prefect_ui_login(page, prefect_server.ui_url, prefect_server.auth_string)
                page.goto(f"{prefect_server.ui_url}/v2/runs/flow-run/{run_id}")
                try:
                    expect(page.get_by_text("Paused", exact=True).first).to_be_visible()
                    page.get_by_role("button", name="Open menu").click()
                    page.get_by_role("menuitem", name="Resume").click()
                    dialog = page.get_by_role("dialog", name="Resume Flow Run")
                    expect(dialog).to_be_visible()
                    # the step's description, rendered from markdown: its title and the guide's words
                    expect(dialog.get_by_role("heading", name="Log out of Salesforce")).to_be_visible()
                    expect(dialog.get_by_text("of Salesforce in every browser tab, then press Done.")).to_be_visible()
                    expect(dialog.get_by_text("An answer given here is recorded as self-declared")).to_be_visible()
                    dialog.get_by_role("textbox", name="Responder").fill("erin.ops")
                    before = sandbox.world.calls[HEALTHZ]
                    dialog.get_by_role("button", name="Resume", exact=True).click()
                    clicked = time.monotonic()
                    expect(page.get_by_text("Flow run resumed")).to_be_visible()
                except Exception:
                    page.screenshot(path=str(shot))
                    raise
            finally:
                browser.close()
        while sandbox.world.calls[HEALTHZ] == before and time.monotonic() - clicked < 30:
            time.sleep(0.02)
        moved_on = time.monotonic() - clicked
        result = flow.wait()
    finally:
        flow.kill()
        cancel_if_paused(prefect_server.api_url, run_id)
    print(f"\nPrefect UI resume: next task started {moved_on:.2f} s after the click")
    assert result["outcome"] == "done" and result["responder"] == "erin.ops"
    assert result["via"] == "prefect-ui" and result["verified"] is False
    assert "answered 'done' by erin.ops via prefect-ui (self-declared)" in flow.output()
    assert len(sent) == 1 and sent[0]["run_input"]["responder"] == "erin.ops"
    assert not sent[0]["run_input"].get("attestation")
    assert sent[0]["authorization"] == "Basic " + base64.b64encode(str(prefect_server.auth_string).encode()).decode()
    assert all(urlsplit(u).hostname != "127.0.0.1" for u in blocked)
