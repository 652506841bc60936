"""create-salesforce-integration-user, security-token path: crash the flow process at every task
boundary, rerun, and check the org and Vault converge (one user, one current credential that works).
Also: plan mode changes nothing; bad input is refused before anything changes; a 403
REQUEST_LIMIT_EXCEEDED is retried."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.salesforce import SalesforceClient, make_session
from clients.vault import Custody, VaultAuth, connect
from sandbox.faults import FaultRule
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess, RunningGateway, wait_paused

FLOW = "flows.salesforce_integration_user:create_salesforce_integration_user"
SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
TASKS_BEFORE_PERSON = 7  # find_user, check_licence, ensure_profile, role_id, ensure_user, ensure_password, login check


def _params(username: str, **extra: Any) -> str:
    return json.dumps({
        "first_name": "Token", "last_name": "Integration", "email": username, "username": username,
        "alias": "tokint", "profile": "Standard User", "role_name": "Integrations", "licence": "Salesforce",
        "credential_mode": "security_token", "requested_by": "bob@acme.example", **extra,
    })  # fmt: skip


def _run(env: dict[str, str], params: str, crash_after: int | None = None) -> FlowProcess:
    extra = {"BATON_TEST_CRASH_AFTER": str(crash_after)} if crash_after else {}
    return FlowProcess(SCRIPT, {**env, **extra}, FLOW, params)


def _step(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    for message in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
        text = json.dumps(message.get("blocks") or [])
        if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
            return message
    raise AssertionError(f"no Slack message for {key}")


def answer_security_token_step(sandbox: Sandbox, run_id: str, username: str) -> None:
    """What the person does: reveal the password once, log in, reset the token, read the e-mail, deposit it."""
    text = json.dumps(_step(sandbox, run_id, "security-token")["blocks"])
    reveal = re.search(r"(http://127\.0\.0\.1:\d+/reveal/[A-Za-z0-9_-]+)", text)
    deposit = re.search(r'"url": "([^"]+/deposit/[^"]+)"', text)
    assert reveal and deposit, text
    page = httpx.get(reveal.group(1)).text
    found = re.search(r'<code id="secret">([^<]+)</code>', page)
    assert found, page
    password = found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    password = password.replace("&#x27;", "'")
    base = sandbox.urls["salesforce"]
    with httpx.Client(verify=sandbox.ca_file, follow_redirects=True) as browser:
        login = browser.post(base + "/", data={"username": username, "pw": password, "startURL": "/home/home.jsp"})
        assert login.status_code == 200 and 'id="error"' not in login.text, login.text[:300]
        assert "token_sent" in browser.post(base + "/_ui/system/security/ResetApiTokenEdit").text
    mails = httpx.get(f"{sandbox.urls['admin']}/inbox/{username}.json").json()
    token = re.search(r"Security token \(case-sensitive\): (\S+)", mails[-1]["body"])
    assert token
    stored = httpx.post(deposit.group(1), data={"secret": token.group(1)})
    assert stored.status_code == 200 and "Stored in Vault" in stored.text


def _users(sandbox: Sandbox, username: str) -> list[dict[str, Any]]:
    return [u for u in org_of(sandbox.world).store.all("User") if u["Username"] == username]


def test_crash_at_every_task_boundary_converges(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    username = f"token.{uuid.uuid4().hex[:6]}@acme.example"
    params = _params(username)
    for n in range(1, TASKS_BEFORE_PERSON + 1):
        flow = _run(baton_env, params, crash_after=n)
        flow.proc.wait(timeout=90)
        assert flow.proc.returncode == 137, flow.output()[-2000:]
        assert len(_users(sandbox, username)) <= 1
    # past the person: answer, then crash right after verify + promote
    flow = _run(baton_env, params, crash_after=TASKS_BEFORE_PERSON + 1)
    try:
        run = wait_paused(prefect_server.api_url, "create-salesforce-integration-user", key="security-token")
        answer_security_token_step(sandbox, run["id"], username)
        flow.proc.wait(timeout=90)
        assert flow.proc.returncode == 137, flow.output()[-2000:]
    finally:
        flow.kill()
    final = _run(baton_env, params)  # nothing left to do: it must not ask anyone again
    result = final.wait(timeout=90)
    assert result.get("status") == "done", result
    assert any("already works" in outcome for _, outcome in result["steps"])
    users = _users(sandbox, username)
    assert len(users) == 1
    custody = Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))
    slug = re.sub(r"[^a-z0-9]+", "-", username).strip("-")
    password = custody.describe(f"baton/integrations/salesforce-{slug}/password")
    token = custody.describe(f"baton/integrations/salesforce-{slug}/security-token")
    assert password.current_version == 1 and password.pending_version is None and password.latest_version == 1
    assert token.current_version is not None and token.pending_version is None
    secret = custody.read_current(f"baton/integrations/salesforce-{slug}/password").values["password"]
    tok = custody.read_current(f"baton/integrations/salesforce-{slug}/security-token").values["security_token"]
    session = make_session(sandbox.urls["salesforce"], sandbox.ca_file)
    login = SalesforceClient.password_login(
        sandbox.urls["salesforce"], username, secret.get_secret_value(), tok.get_secret_value(), session=session
    )
    assert login.identity().user_id == users[0]["Id"]


def test_plan_mode_changes_nothing(baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer) -> None:
    username = f"plan.{uuid.uuid4().hex[:6]}@acme.example"
    before = {t: len(org_of(sandbox.world).store.all(t)) for t in ("User", "Profile")}
    result = _run(baton_env, _params(username, plan=True, clone_profile_as="Plan Only")).wait(timeout=90)
    plan = result["plan"]
    assert "[AUTO  ] Create the user" in plan and "[PERSON] Reset and deposit the security token" in plan
    assert "(skipped: not asked for)" in plan
    assert before == {t: len(org_of(sandbox.world).store.all(t)) for t in ("User", "Profile")}


def test_bad_input_is_refused_before_anything_changes(baton_env: dict[str, str], sandbox: Sandbox) -> None:
    before = len(org_of(sandbox.world).store.all("User"))
    bad = _params("not-an-email", alias="way-too-long-alias", login_ip_ranges=["10.0.0.9-10.0.0.1"])
    result = FlowProcess(SCRIPT, baton_env, FLOW, bad).wait(timeout=90)
    assert result["type"] == "InvalidRequest"
    for field in ("username", "alias", "login_ip_ranges"):
        assert field in result["error"]
    assert "nothing was changed" in result["error"]
    assert len(org_of(sandbox.world).store.all("User")) == before


def test_request_limit_is_retried(baton_env: dict[str, str], sandbox: Sandbox) -> None:
    username = f"limit.{uuid.uuid4().hex[:6]}@acme.example"
    sandbox.world.faults.add(
        FaultRule.from_dict({"host": "salesforce", "route": "/query", "kind": "limit", "count": 1})
    )
    flow = _run(baton_env, _params(username), crash_after=3)
    flow.proc.wait(timeout=90)
    out = flow.output()
    assert "REQUEST_LIMIT_EXCEEDED" in out and "Retry" in out
    assert flow.proc.returncode == 137  # got past the limit to the third task
