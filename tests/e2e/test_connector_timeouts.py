"""A human step of the connector handover that nobody answers: the sweeper reminds, escalates, then fails the run
safely, and the thread says what state each side is in. Before Revoke the old connection still works; after it,
the thread names the broken side and the way back (and the old token indeed no longer works)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from baton.devstack import OpenBaoDevServer
from flows.sweeper import remind_waiting_steps
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tasks.services import services
from tests.e2e.browser import browser_page, needs_chromium
from tests.e2e.handover_case import Case, Person, new_case
from tests.handover_serving import CONNECTOR, Handovers, served_handovers
from tests.harness import RunningGateway

pytestmark = [pytest.mark.e2e, needs_chromium]
__all__ = ["served_handovers"]
FAST = {"remind_every_minutes": 0.07, "escalate_after_minutes": 0.15, "deadline_minutes": 0.25}  # 4, 9, 15 s


@pytest.fixture
def in_process_settings(baton_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sweeper runs in this process with the session's BATON_* settings."""
    for key, value in baton_env.items():
        if key.startswith("BATON_"):
            monkeypatch.setenv(key, value)
    services.cache_clear()
    yield
    services.cache_clear()


def _old_token_works(sandbox: Sandbox, case: Case, token: str) -> int:
    return httpx.get(f"{sandbox.urls['jira']}/rest/salesforce-connector/1.0/connection",
                     headers={"Authorization": f"Bearer {token}"}).status_code  # fmt: skip


def _sweep_until_failed(served: Handovers, run_id: str, key: str) -> dict[str, int]:
    served.wait_suspended(run_id, key)
    totals = {"remind": 0, "escalate": 0, "expire": 0}
    deadline = time.monotonic() + 60
    while served.state(run_id)["type"] == "PAUSED":
        assert time.monotonic() < deadline
        for action, n in remind_waiting_steps().items():
            totals[action] += n
        time.sleep(1)
    return totals


def _thread(sandbox: Sandbox, run_id: str) -> list[str]:
    slack = state_of(sandbox.world)
    roots = [m for m in slack.messages("C0HANDOVER") if run_id in str(m)]
    return [
        str(m.get("text", "")) + str(m.get("blocks", "")) for r in roots for m in slack.thread("C0HANDOVER", r["ts"])
    ]


def test_timeout_before_revoke_leaves_the_old_connection_working(
    served_handovers: Handovers, in_process_settings: None, gateway: RunningGateway, sandbox: Sandbox,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    case = new_case(sandbox, openbao, "cloud")
    old = case.connection().api_tokens[-1].token
    state_of(sandbox.world).set_post_rate(0)
    run_id = served_handovers.start_of(CONNECTOR, request=case.request(waits=FAST))
    try:
        totals = _sweep_until_failed(served_handovers, run_id, "sf-logout")
    finally:
        state_of(sandbox.world).set_post_rate(1)
        served_handovers.cancel_if_paused(run_id)
    final = served_handovers.state(run_id)
    assert final["type"] == "FAILED" and "HumanStepTimedOut" in final["message"], final
    assert totals["remind"] >= 1 and totals["escalate"] == 1 and totals["expire"] == 1, totals
    texts = _thread(sandbox, run_id)
    assert any("Reminder:" in t for t in texts) and any("Escalation to" in t for t in texts)
    expired = [t for t in texts if "Nobody answered" in t]
    assert len(expired) == 1 and "the connection was not revoked" in expired[0] and case.leaver in expired[0]
    # what works: the old connection, as before
    assert _old_token_works(sandbox, case, old) == 200
    assert case.tokens(case.leaver_id) == 1 and case.connection().salesforce_username == case.leaver


def test_timeout_after_revoke_names_the_broken_side_and_the_way_back(
    served_handovers: Handovers, in_process_settings: None, gateway: RunningGateway, sandbox: Sandbox,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    case = new_case(sandbox, openbao, "cloud")
    old = case.connection().api_tokens[-1].token
    run_id = served_handovers.start_of(CONNECTOR, request=case.request(waits=FAST))
    try:
        with browser_page() as page:
            person = Person(sandbox, served_handovers, page, run_id)
            person.log_out_of_salesforce(person.wait("sf-logout"))
            person.done()
            person.revoke_in_jira(person.wait("jira-revoke"))
            person.done()
        state_of(sandbox.world).set_post_rate(0)
        totals = _sweep_until_failed(served_handovers, run_id, "authorize")
    finally:
        state_of(sandbox.world).set_post_rate(1)
        served_handovers.cancel_if_paused(run_id)
    final = served_handovers.state(run_id)
    assert final["type"] == "FAILED" and "HumanStepTimedOut" in final["message"], final
    assert totals["escalate"] == 1 and totals["expire"] == 1, totals
    expired = [t for t in _thread(sandbox, run_id) if "Nobody answered" in t]
    assert len(expired) == 1, expired
    assert "Jira side broken" in expired[0] and f"connection {case.connection_id} was revoked at" in expired[0]
    assert "Way back" in expired[0] and f"log in as {case.successor}" in expired[0]
    # the broken side is as the thread says: the old API access token no longer opens the connector
    assert _old_token_works(sandbox, case, old) == 401 and case.connection().status == "revoked"
