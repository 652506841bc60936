"""Secrets reach Vault only through the gateway, in a real browser: the deposit page and an OAuth
consent. The run resumes with a Vault reference; the canaries appear nowhere in Prefect, logs or Slack."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.vault import Custody, VaultAuth, connect
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.harness import FlowProcess, RunningGateway, step_message, wait_paused
from tests.leakscan import Scan

pytestmark = [pytest.mark.e2e, needs_chromium]
CANARIES: list[str] = []
FLOW_LOGS: list[Path] = []


def _custody(openbao: OpenBaoDevServer) -> Custody:
    return Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))


def _link(message: dict[str, Any]) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "baton_link":
                return str(element["url"])
    raise AssertionError(f"no link button in {message['blocks']}")


def test_deposit_page_stores_in_vault_and_resumes_with_a_reference(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    canary = "canary-deposit-" + secrets.token_hex(12)
    CANARIES.append(canary)
    path = f"baton/integrations/e2e-{uuid.uuid4().hex[:8]}/api-token"
    flow = FlowProcess("step_probe.py", baton_env, "kind=secret", f"vault_path={path}")
    FLOW_LOGS.append(flow.log)
    try:
        run = wait_paused(prefect_server.api_url, "step-probe")
        link = _link(step_message(sandbox, run["id"]))
        assert link.startswith(gateway.url + "/deposit/")
        with browser_page() as page:
            page.goto(link)  # type: ignore[attr-defined]
            page.fill("#secret", canary)  # type: ignore[attr-defined]
            page.click("button[type=submit]")  # type: ignore[attr-defined]
            page.wait_for_selector("text=Stored in Vault")  # type: ignore[attr-defined]
            page.goto(link)  # type: ignore[attr-defined]  # the link works once
            assert "already used" in page.content() or "not waiting" in page.content().lower()  # type: ignore[attr-defined]
        result = flow.wait()
    finally:
        flow.kill()
    assert result["via"] == "deposit" and result["verified"] is True
    assert result["vault_path"] == path and result["vault_version"] == 1
    custody = _custody(openbao)
    assert custody.read_version(path, 1).values["api_token"].get_secret_value() == canary
    assert custody.describe(path).pending_version == 1  # staged, not yet promoted: the flow verifies first


def test_oauth_consent_through_the_gateway_stores_tokens_in_vault(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    path = f"baton/integrations/e2e-{uuid.uuid4().hex[:8]}/salesforce-oauth"
    flow = FlowProcess("step_probe.py", baton_env, "kind=secret", f"vault_path={path}", "oauth_provider=salesforce")
    FLOW_LOGS.append(flow.log)
    try:
        run = wait_paused(prefect_server.api_url, "step-probe")
        link = _link(step_message(sandbox, run["id"]))
        assert link.startswith(gateway.url + "/oauth/salesforce/start?ticket=")
        with browser_page() as page:
            page.goto(link)  # type: ignore[attr-defined]
            page.fill("#username", "carol@acme.example")  # type: ignore[attr-defined]
            page.fill("#password", "carol-sf-Passw0rd")  # type: ignore[attr-defined]
            page.click("#Login")  # type: ignore[attr-defined]
            page.click("#oaapprove")  # type: ignore[attr-defined]
            page.wait_for_selector("text=Authorized")  # type: ignore[attr-defined]
        result = flow.wait()
    finally:
        flow.kill()
    assert result["via"] == "oauth" and result["verified"] is True and result["vault_path"] == path
    stored = _custody(openbao).read_version(path, result["vault_version"]).values
    access = stored["access_token"].get_secret_value()
    assert stored["refresh_token"].get_secret_value() and stored["instance_url"].get_secret_value()
    assert org_of(sandbox.world).whoami(access)["Username"] == "carol@acme.example"  # type: ignore[index]
    CANARIES.extend([access, stored["refresh_token"].get_secret_value()])


def test_canaries_appear_nowhere_in_prefect_logs_or_slack(
    prefect_server: PrefectServer, gateway: RunningGateway, sandbox: Sandbox
) -> None:
    assert len(CANARIES) == 3, "run the deposit and OAuth tests first (same module)"
    scan = Scan()
    for place in [prefect_server.home, *FLOW_LOGS]:  # prefect.db with -wal and -shm, server.log, storage/
        scan.add_path(place)
    scan.add_text("gateway log", "\n".join(gateway.log_lines))
    slack = state_of(sandbox.world)
    scan.add_json("slack", [slack.messages(c, include_replies=True) for c in ("C0HANDOVER", "C0ITAUDIT")])
    assert scan.haystacks[str(prefect_server.home / "prefect.db")] and scan.haystacks["gateway log"]
    assert b"/deposit/***" in scan.haystacks["gateway log"], "the access log should mask tickets"
    hits = scan.hits({canary: "canary" for canary in CANARIES})
    assert not hits, "a canary leaked:\n" + "\n".join(map(str, hits))
