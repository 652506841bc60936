"""A run in progress outlives Baton's Salesforce session: the sandbox ends every session at chosen calls (the
org's session timeout, mid-run), and the run logs in again (client credentials) once per expiry and completes.

create-salesforce-integration-user, security-token path, with a profile clone and login restrictions so that the
Metadata API is used too. Sessions end (fault kind ``expire_sessions``) before the second SOQL query, before the
user is created, and before the second Metadata API call; each time the call is answered INVALID_SESSION_ID.
"""

from __future__ import annotations

import json
import uuid

import pytest

from baton.devstack import PrefectServer
from sandbox.faults import FaultRule
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from tests.figures import record
from tests.harness import RunningGateway, wait_paused
from tests.integration.test_integration_user_crashes import _params, _run, _users, answer_security_token_step

TOKEN_CALL = "salesforce POST /services/oauth2/token"
EXPIRIES = [
    {"route": r"/services/data/v[0-9.]+/query", "after": 1},
    {"route": r"/services/data/v[0-9.]+/sobjects/User/?$", "method": "POST"},
    {"route": r"/services/Soap/m/", "after": 1},
]


@pytest.mark.slow
def test_a_run_logs_in_again_each_time_its_session_ends(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    username = f"reauth.{uuid.uuid4().hex[:6]}@acme.example"
    params = json.loads(_params(username))
    params |= {
        "clone_profile_as": f"Reauth {uuid.uuid4().hex[:6]}",
        "login_ip_ranges": ["127.0.0.1-127.0.0.1"],
        "login_hours": [f"{day} 00:00-24:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                                         "Saturday", "Sunday")],
    }  # fmt: skip
    org = org_of(sandbox.world)
    fired_before = sandbox.world.faults.fired_counts().get("salesforce expire_sessions", 0)
    expired_before = org.sessions_expired
    grants_before = sandbox.world.calls.get(TOKEN_CALL, 0)
    for spec in EXPIRIES:
        sandbox.world.faults.add(FaultRule.from_dict({"host": "salesforce", "kind": "expire_sessions", "count": 1,
                                                      **spec}))  # fmt: skip
    flow = _run(baton_env, json.dumps(params))
    try:
        run = wait_paused(prefect_server.api_url, "create-salesforce-integration-user", key="security-token",
                          timeout=180)  # fmt: skip
        answer_security_token_step(sandbox, run["id"], username)
        result = flow.wait(timeout=120)
    finally:
        flow.kill()
        sandbox.world.faults.clear("salesforce")
    fired = sandbox.world.faults.fired_counts().get("salesforce expire_sessions", 0) - fired_before
    grants = sandbox.world.calls.get(TOKEN_CALL, 0) - grants_before
    ended = org.sessions_expired - expired_before
    record("salesforce-reauth", session_expiries=fired, reauths=grants - 1)
    print(
        f"FIGURES salesforce re-auth: session expiries mid-run={fired}, sessions ended={ended}, "
        f"token grants={grants} (1 first login + {grants - 1} re-auths), run status={result.get('status')}"
    )
    assert result.get("status") == "done", (result, flow.output()[-3000:])
    assert fired == len(EXPIRIES), "every expiry came while the run was in progress"
    assert grants == 1 + len(EXPIRIES), "one login again per expiry"
    assert len(_users(sandbox, username)) == 1, "the create answered INVALID_SESSION_ID made no user; its retry one"
    assert "INVALID_SESSION_ID" not in json.dumps(result)
