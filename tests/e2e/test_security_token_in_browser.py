"""create-salesforce-integration-user, security-token path, the person's part in Debian chromium:
the one-time password page, Salesforce's login and "Reset My Security Token" pages, the user's inbox
page, and the gateway's deposit page. The run ends with both credentials current and working."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from baton.devstack import PrefectServer
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.harness import ROOT, FlowProcess, RunningGateway, wait_paused

pytestmark = [pytest.mark.e2e, needs_chromium]
FLOW = "flows.salesforce_integration_user:create_salesforce_integration_user"


def _step(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    for message in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
        text = json.dumps(message.get("blocks") or [])
        if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
            return message
    raise AssertionError(f"no Slack message for {key}")


def test_security_token_path_in_the_browser(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    username = f"browser.{uuid.uuid4().hex[:6]}@acme.example"
    params = json.dumps({
        "first_name": "Browser", "last_name": "Token", "email": username, "username": username, "alias": "brtok",
        "profile": "Standard User", "licence": "Salesforce", "credential_mode": "security_token",
        "requested_by": "bob@acme.example",
    })  # fmt: skip
    flow = FlowProcess(ROOT / "tests" / "flows" / "run_flow.py", baton_env, FLOW, params)
    try:
        run = wait_paused(prefect_server.api_url, "create-salesforce-integration-user", key="security-token")
        text = json.dumps(_step(sandbox, run["id"], "security-token")["blocks"])
        reveal = re.search(r"(http://127\.0\.0\.1:\d+/reveal/[A-Za-z0-9_-]+)", text)
        deposit = re.search(r'"url": "([^"]+/deposit/[^"]+)"', text)
        assert reveal and deposit
        with browser_page() as page:
            page.goto(reveal.group(1))  # type: ignore[attr-defined]
            password = page.inner_text("#secret")  # type: ignore[attr-defined]
            page.goto(sandbox.urls["salesforce"] + "/_ui/system/security/ResetApiTokenEdit")  # type: ignore[attr-defined]
            page.fill("#username", username)  # type: ignore[attr-defined]
            page.fill("#password", password)  # type: ignore[attr-defined]
            page.click("#Login")  # type: ignore[attr-defined]
            page.click("#reset_button")  # type: ignore[attr-defined]
            page.wait_for_selector("#token_sent")  # type: ignore[attr-defined]
            page.goto(f"{sandbox.urls['admin']}/inbox/{username}")  # type: ignore[attr-defined]
            mail = page.inner_text("article.mail pre")  # type: ignore[attr-defined]
            token = re.search(r"Security token \(case-sensitive\): (\S+)", mail)
            assert token, mail
            page.goto(deposit.group(1))  # type: ignore[attr-defined]
            page.fill("#secret", token.group(1))  # type: ignore[attr-defined]
            page.click("button[type=submit]")  # type: ignore[attr-defined]
            page.wait_for_selector("text=Stored in Vault")  # type: ignore[attr-defined]
        result = flow.wait(timeout=90)
    finally:
        flow.kill()
    assert result.get("status") == "done", result
    assert [u for u in org_of(sandbox.world).store.all("User") if u["Username"] == username]
    verified = [o for s, o in result["steps"] if s == "Verify the credential, then promote it in Vault"]
    assert verified and "password login succeeded" in verified[0]
