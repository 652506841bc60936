"""Crash the connector handover at every task boundary, and kill its runner while it waits at every human step:
the run is started again (the same run, rescheduled, as a worker restart does; persisted task results come back
Cached) and converges: one connection, one OauthToken for the new user, one current token in Vault, each person's
step asked once. (Module of its own: its serve() process is armed to crash, see tests/flows/serve_handovers.py.)"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from baton.devstack import OpenBaoDevServer
from sandbox.intercom.state import app_user
from sandbox.jira.state import site
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.e2e.handover_case import Case, Person, custody, intercom_step, new_case, sign_in_as_bob, step_message
from tests.handover_serving import CONNECTOR, INTERCOM, Handovers, served_handovers
from tests.harness import FlowProcess, RunningGateway
from tests.integration.test_suspend import stop, wait_for

pytestmark = [pytest.mark.e2e, needs_chromium]
__all__ = ["served_handovers"]
STEPS = ["sf-logout", "jira-revoke", "authorize", "api-token", "sf-package-save"]


def _next(served: Handovers, run_id: str, answered: set[str]) -> tuple[str, str]:
    """('crashed', '') | ('done', '') | ('waiting', key) once the run gets there."""

    def look() -> tuple[str, str] | None:
        state = served.state(run_id)
        if state["type"] == "CRASHED":
            return "crashed", ""
        if state["type"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return state["type"].lower(), ""
        key = state["state_details"].get("pause_key") or ""
        if state["type"] == "PAUSED" and key not in answered:
            schema = state["state_details"]["run_input_keyset"]["schema"]
            if served.http.get(f"flow_runs/{run_id}/input/{schema}").status_code == 200:
                return "waiting", key
        return None

    found: tuple[str, str] = wait_for("the run to crash, wait or end", look, timeout=120, every=0.2)
    return found


def _restart_runner(served: Handovers, env: dict[str, str]) -> None:
    """Kill the serve() process while the run waits (nothing else holds it), and start a new one."""
    stop(served.server)
    served.server = FlowProcess("serve_handovers.py", env)
    time.sleep(1)


def _answer(person: Person, case: Case, key: str, state: dict[str, Any]) -> None:
    person.message = step_message(person.sandbox, person.run_id, key)
    person.steps.append(key)
    from tests.e2e.handover_case import links

    found = links(person.message)
    if key == "sf-logout":
        person.log_out_of_salesforce(found)
    elif key == "jira-revoke":
        person.revoke_in_jira(found)
    elif key == "authorize":
        person.authorize_in_jira(found, case.successor)
    elif key == "api-token":
        state["token"] = person.copy_and_deposit_token(found)
        return  # the deposit resumes the run
    elif key == "sf-package-save":
        person.save_in_salesforce(found, state["token"])
    person.done()


def test_crash_at_every_task_boundary_and_while_waiting(
    served_handovers: Handovers, baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    served = served_handovers
    env = {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "BATON_TEST_CRASH_FILE": str(served.crash_file)}
    case = new_case(sandbox, openbao, "cloud")
    served.crash_file.write_text("armed")
    run_id = served.start_of(CONNECTOR, request=case.request())
    answered: set[str] = set()
    crashes, restarts, state = 0, 0, {}
    try:
        with browser_page() as page:
            person = Person(sandbox, served, page, run_id)
            while True:
                what, key = _next(served, run_id, answered)
                if what == "crashed":
                    crashes += 1
                    assert crashes < 40
                    served.reschedule(run_id)
                elif what == "waiting":
                    _restart_runner(served, env)
                    restarts += 1
                    answered.add(key)
                    _answer(person, case, key, state)
                else:
                    break
    finally:
        served.crash_file.unlink(missing_ok=True)
        served.cancel_if_paused(run_id)
    final = served.state(run_id)
    assert final["type"] == "COMPLETED", (final, served.server.output()[-4000:])
    points = served.crash_file.with_suffix(".log").read_text().split()
    assert len(points) == crashes and len(set(points)) == crashes
    names = {p.split(":")[1].split("#")[0] for p in points}
    assert {"no_other_handover", "check_users", "check_connected_app", "check_permission_sets", "check_tokens",
            "current_version", "api_token_state", "who_authorised", "revoke_leaver_tokens", "authorizations",
            "promote_api_token"} <= names, points  # fmt: skip
    assert person.steps == STEPS and restarts == len(STEPS)
    # converged: one connection running as the new user, one OauthToken for it, the leaver's gone, one token in Vault
    assert case.tokens(case.successor_id) == 1 and case.tokens(case.leaver_id) == 0
    conn = case.connection()
    assert conn.status == "authorized" and conn.salesforce_username == case.successor
    assert len([t for t in conn.api_tokens if t.active]) == 1
    vault = custody(openbao).describe(case.token_path)
    assert vault.current_version == 1 and vault.latest_version == 1 and vault.pending_version is None
    # each step's Slack message posted once
    messages = [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]
    for key in STEPS:
        assert sum(run_id in m and f'\\"key\\": \\"{key}\\"' in m for m in messages) == 1, key
    assert sum("disconnected window:" in m and case.successor in m for m in messages) == 1


def test_intercom_crash_at_every_task_boundary_and_while_waiting(
    served_handovers: Handovers, baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox,
) -> None:  # fmt: skip
    """change-intercom-app-user the same way: one Jira account, one invitation, each step asked once, the app user
    the new account."""
    served = served_handovers
    env = {**baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1", "BATON_TEST_CRASH_FILE": str(served.crash_file)}
    tag = uuid.uuid4().hex[:6]
    email = f"intercom-app.{tag}@acme.example"
    current = app_user(sandbox.world)
    request = {"integration_id": f"intercom-{tag}", "leaver": current["email"] if current else "alice@acme.example",
               "successor": email, "projects": [10000], "intercom_workspace": "acmesupport1",
               "requested_by": "bob@acme.example"}  # fmt: skip
    served.crash_file.write_text("armed")
    log = served.crash_file.with_suffix(".log")
    before = set(log.read_text().split()) if log.exists() else set()
    run_id = served.start_of(INTERCOM, request=request)
    answered: set[str] = set()
    crashes, steps = 0, []
    try:
        with browser_page() as page:
            person = Person(sandbox, served, page, run_id)
            sign_in_as_bob(person)
            while True:
                what, key = _next(served, run_id, answered)
                if what == "crashed":
                    crashes += 1
                    assert crashes < 30
                    served.reschedule(run_id)
                elif what == "waiting":
                    _restart_runner(served, env)
                    answered.add(key)
                    steps.append(key)
                    person.message = step_message(sandbox, run_id, key)
                    from tests.e2e.handover_case import links

                    intercom_step(person, key, links(person.message), email, f"Intercom-{tag}-pw")
                else:
                    break
    finally:
        served.crash_file.unlink(missing_ok=True)
        served.cancel_if_paused(run_id)
    final = served.state(run_id)
    assert final["type"] == "COMPLETED", (final, served.server.output()[-4000:])
    points = set(log.read_text().split()) - before
    assert {p.split(":")[1].split("#")[0] for p in points} >= {"no_other_handover", "find_account", "ensure_account",
                                                 "ensure_groups", "check_permissions"}, points  # fmt: skip
    assert steps == ["jira-logout", "intercom-uninstall", "intercom-reinstall", "intercom-app-info"]
    accounts = [u for u in site(sandbox.world).users.values() if u.email == email]
    assert len(accounts) == 1 and "jira-software-users" in accounts[0].groups
    assert len(sandbox.world.mails_for(email)) == 1  # invited once
    assert app_user(sandbox.world)["email"] == email  # type: ignore[index]
