"""The demo's autopilot: plays the person for create-salesforce-integration-user, through the same
doors a person uses (a Slack click, the one-time reveal page, Salesforce's login and consent pages)."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from clients.prefect_api import prefect_http
from sandbox.server import Sandbox
from sandbox.slack import state_of

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


def paused_at(prefect: httpx.Client, run_id: str) -> str | None:
    state = prefect.get(f"flow_runs/{run_id}").json()["state"]
    if state["type"] != "PAUSED":
        return None
    schema = state["state_details"]["run_input_keyset"]["schema"]
    ready = prefect.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200
    return str(state["state_details"]["pause_key"]) if ready else None


def step_message(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for message in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
            text = json.dumps(message.get("blocks") or [])
            if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
                return dict(message)
        return None

    found: dict[str, Any] = wait_for(f"the Slack message of step {key}", find, timeout=30)
    return found


def sign_in_and_allow(sandbox: Sandbox, start_url: str, username: str, password: str) -> str:
    """Open Baton's sign-in link, log in on Salesforce's page, press Allow; returns the gateway's page text."""
    with httpx.Client(verify=sandbox.ca_file, follow_redirects=True, timeout=20) as browser:
        login_page = browser.get(start_url)
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(login_page.text)}
        consent = browser.post(str(login_page.url).split("?")[0], data={**fields, "username": username, "pw": password})
        decision = {k: html.unescape(v) for k, v in _HIDDEN.findall(consent.text)}
        done = browser.post(str(consent.url).split("?")[0], data={**decision, "decision": "Allow"})
        return done.text


def integration_user(
    sandbox: Sandbox, prefect_api: str, run_id: str, username: str, say: Callable[[str], None]
) -> None:
    """Answer every human step of one create-salesforce-integration-user run (OAuth mode)."""
    slack = state_of(sandbox.world)
    prefect = prefect_http(prefect_api)
    answered: set[str] = set()
    while True:
        state = prefect.get(f"flow_runs/{run_id}").json()["state"]
        if state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return
        key = paused_at(prefect, run_id)
        if key is None or key in answered:
            time.sleep(0.3)
            continue
        message = step_message(sandbox, run_id, key)
        if key == "login-restrictions":
            say("autopilot: bob sets the login IP ranges and hours, then clicks Done in Slack")
            slack.click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        elif key == "oauth-consent":
            text = json.dumps(message["blocks"])
            reveal = re.search(r"(http://127\.0\.0\.1:\d+/reveal/[A-Za-z0-9_-]+)", text)
            start = re.search(r'"url": "([^"]+/oauth/salesforce/start[^"]+)"', text)
            if not (reveal and start):
                raise RuntimeError("the consent step's message has no reveal or sign-in link")
            say("autopilot: bob opens the one-time password page, signs in as the new user and clicks Allow")
            shown = re.search(r'<code id="secret">([^<]+)</code>', httpx.get(reveal.group(1)).text)
            if not shown:
                raise RuntimeError("the reveal page showed nothing")
            page = sign_in_and_allow(sandbox, start.group(1), username, html.unescape(shown.group(1)))
            if "Authorized" not in page:
                raise RuntimeError(f"the consent did not finish: {page[:200]}")
        else:
            say(f"autopilot: clicking Done on {key}")
            slack.click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
        answered.add(key)
