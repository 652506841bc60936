"""create-salesforce-integration-user end to end: real Prefect, real OpenBao, the sandbox, the gateway,
and Debian chromium for the person's part (reveal the password once, sign in as the new user, Allow)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.vault import Custody, VaultAuth, connect
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.harness import ROOT, FlowProcess, RunningGateway, wait_paused

pytestmark = [pytest.mark.e2e, needs_chromium]
FLOW = "flows.salesforce_integration_user:create_salesforce_integration_user"


WEEK = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _params(username: str, **extra: Any) -> str:
    return json.dumps({
        "first_name": "Integration", "last_name": "User", "email": "it-integrations@acme.example",
        "username": username, "alias": "integr", "profile": "Standard User", "clone_profile_as": "Integration API",
        "role_name": "Integrations", "licence": "Salesforce",
        "login_ip_ranges": ["127.0.0.1-127.0.0.1", "203.0.113.10-203.0.113.20"],
        "login_hours": [f"{d} 00:00-24:00" for d in WEEK], "requested_by": "bob@acme.example", **extra,
    })  # fmt: skip


def _step_message(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    slack = state_of(sandbox.world)
    for message in reversed(slack.messages("C0HANDOVER", include_replies=True)):
        text = json.dumps(message.get("blocks") or [])
        if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
            return message
    raise AssertionError(f"no Slack message for step {key}")


def _urls(message: dict[str, Any]) -> dict[str, str]:
    text = json.dumps(message["blocks"])
    found = {"reveal": re.search(r"(http://127\.0\.0\.1:\d+/reveal/[A-Za-z0-9_-]+)", text)}
    found["link"] = re.search(r'"url": "([^"]+)"', text)
    return {k: m.group(1) for k, m in found.items() if m}


def test_oauth_path_in_the_browser(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    username = f"integration.{uuid.uuid4().hex[:6]}@acme.example"
    flow = FlowProcess(ROOT / "tests" / "flows" / "run_flow.py", baton_env, FLOW, _params(username))
    slack = state_of(sandbox.world)
    try:
        # login IP ranges and hours are set by Metadata API (the browser logs in from 127.0.0.1, inside them)
        run = wait_paused(prefect_server.api_url, "create-salesforce-integration-user", key="oauth-consent")
        urls = _urls(_step_message(sandbox, run["id"], "oauth-consent"))
        with browser_page() as page:
            page.goto(urls["reveal"])  # type: ignore[attr-defined]
            password = page.inner_text("#secret")  # type: ignore[attr-defined]
            page.goto(urls["link"])  # type: ignore[attr-defined]
            page.fill("#username", username)  # type: ignore[attr-defined]
            page.fill("#password", password)  # type: ignore[attr-defined]
            page.click("#Login")  # type: ignore[attr-defined]
            page.click("#oaapprove")  # type: ignore[attr-defined]
            page.wait_for_selector("text=Authorized")  # type: ignore[attr-defined]
            page.goto(urls["reveal"])  # type: ignore[attr-defined]
            assert "already used" in page.content()  # type: ignore[attr-defined]
        result = flow.wait(timeout=90)
    finally:
        flow.kill()
    assert result.get("status") == "done", result
    org = org_of(sandbox.world)
    users = [u for u in org.store.all("User") if u["Username"] == username]
    assert len(users) == 1
    profile = org.store.get("Profile", users[0]["ProfileId"])
    assert profile["Name"] == "Integration API" and profile["PermissionsApiEnabled"] is True
    assert ("203.0.113.10", "203.0.113.20") in {(r["startAddress"], r["endAddress"]) for r in profile["_loginIpRanges"]}
    assert org.authorized_user("Baton")["Username"] == username  # type: ignore[index]
    custody = Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))
    slug = re.sub(r"[^a-z0-9]+", "-", username).strip("-")
    oauth = custody.describe(f"baton/integrations/salesforce-{slug}/oauth")
    pw = custody.describe(f"baton/integrations/salesforce-{slug}/password")
    assert oauth.current_version == 1 and oauth.pending_version is None
    assert pw.current_version == 1 and pw.pending_version is None
    token = custody.read_current(f"baton/integrations/salesforce-{slug}/oauth").values["access_token"]
    assert org.whoami(token.get_secret_value())["Username"] == username  # type: ignore[index]
    summary = slack.messages("C0HANDOVER", include_replies=True)[-1]
    assert "Create a Salesforce integration user" in summary["text"] or "Report" in json.dumps(summary["blocks"])
