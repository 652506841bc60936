"""rotate-salesforce-jira-connector refuses before any change, with a reason that says what to fix, in Slack and
in the run: each preflight check is a test, on the served deployment (real Prefect, OpenBao, sandbox, gateway)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from baton.devstack import OpenBaoDevServer
from clients.vault import VaultNotFound
from sandbox.salesforce import org_of
from sandbox.salesforce.apps import sync_row
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.handover_case import Case, custody, new_case
from tests.handover_serving import CONNECTOR, Handovers, served_handovers
from tests.harness import RunningGateway

__all__ = ["served_handovers"]


def _snapshot(case: Case) -> dict[str, Any]:
    conn = case.connection()
    return {
        "leaver_tokens": case.tokens(case.leaver_id), "successor_tokens": case.tokens(case.successor_id),
        "status": conn.status, "runs_as": conn.salesforce_username, "api_tokens": len(conn.api_tokens),
        "active": [t.active for t in conn.api_tokens],
    }  # fmt: skip


def _refused(served: Handovers, sandbox: Sandbox, openbao: OpenBaoDevServer, case: Case,
             request: dict[str, Any], kind: str, *expected: str) -> str:  # fmt: skip
    """Run the handover; it must fail (*kind*) with every *expected* text in the run's state and in Slack, and ask
    nobody anything."""
    before = _snapshot(case)
    run_id = served.start_of(CONNECTOR, request=request)
    try:
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    assert final["type"] == "FAILED", final
    for text in (kind, *expected):
        assert text in final["message"], final["message"]
    every = state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)
    messages = [json.dumps(m) for m in every]
    roots = {m["ts"] for m in every if run_id in json.dumps(m) or kind == "InvalidRequest"}
    mine = [json.dumps(m) for m in every if m.get("thread_ts") in roots and m["ts"] != m.get("thread_ts")]
    assert any(all(t in m for t in expected) and ("Stopped" in m or "Refused" in m) for m in mine), (expected, mine)
    assert not any(run_id in m and "baton_done" in m for m in messages), "a person was asked something"
    assert _snapshot(case) == before
    try:
        state = custody(openbao).describe(case.token_path)
        assert state.latest_version == 0, state
    except VaultNotFound:
        pass
    return str(final["message"])


@contextmanager
def _app(sandbox: Sandbox, name: str, **changes: Any) -> Iterator[None]:
    org = org_of(sandbox.world)
    app = org.connected_app(name)
    assert app is not None
    saved = {k: getattr(app, k) for k in changes}
    with sandbox.world.lock:
        for k, v in changes.items():
            setattr(app, k, v)
        sync_row(org, app)
    try:
        yield
    finally:
        with sandbox.world.lock:
            for k, v in saved.items():
                setattr(app, k, v)
            sync_row(org, app)


CASES: dict[str, tuple[dict[str, Any], Callable[[Case], None] | None, tuple[str, ...]]] = {
    "inactive": ({}, lambda c: _set_user(c, IsActive=False), ("is inactive", "activate it")),
    # no API Enabled on its profile, nor on a permission set (Jira_Connector_Access has it in the scenario)
    "not-api-enabled": (
        {"successor_profile": "Minimum Access - Salesforce", "successor_permission_set": False},
        None,
        ("does not have API Enabled",),
    ),
    "missing-permission-set": (
        {"successor_permission_set": False},
        None,
        ("lacks the permission set(s) Jira_Connector_Access", "assign them"),
    ),
    "connection-missing": ({"leaver_token": False}, None, ("the connection is missing",)),
    "five-tokens": ({}, lambda c: _grant(c, 5), ("already holds 5 OAuth tokens", "silently revoke the oldest")),
}


def _set_user(case: Case, **fields: Any) -> None:
    org = org_of(case.sandbox.world)
    with case.sandbox.world.lock:
        org.store.require("User", case.successor_id).update(fields)


def _grant(case: Case, times: int) -> None:
    org = org_of(case.sandbox.world)
    with case.sandbox.world.lock:
        for _ in range(times):
            org.grant(case.app, case.successor)


@pytest.mark.parametrize("name", list(CASES))
def test_preflight_refuses_before_any_change(
    name: str, served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    options, change, expected = CASES[name]
    case = new_case(sandbox, openbao, "cloud", **options)
    if change:
        change(case)
    _refused(served_handovers, sandbox, openbao, case, case.request(), "PreflightRefused", *expected)


def test_successor_that_is_the_leaver_is_refused(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    case = new_case(sandbox, openbao, "cloud")
    request = case.request(successor=case.leaver.upper())
    _refused(served_handovers, sandbox, openbao, case, request, "InvalidRequest", "successor must differ from leaver")


def test_app_not_installed_is_refused(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    case = new_case(sandbox, openbao, "cloud")
    with _app(sandbox, case.app, installed=False):
        _refused(served_handovers, sandbox, openbao, case, case.request(), "PreflightRefused",
                 "is not installed in the org", "app must be installed into org")  # fmt: skip


def test_app_for_admin_approved_users_without_a_grant_is_refused(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    case = new_case(sandbox, openbao, "cloud")
    with _app(sandbox, case.app, admin_approved_only=True):
        _refused(served_handovers, sandbox, openbao, case, case.request(), "PreflightRefused",
                 "Admin approved users are pre-authorized",
                 "no permission set of the successor grants it")  # fmt: skip


def test_a_second_handover_of_the_same_integration_is_refused_with_the_first_runs_link(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    case = new_case(sandbox, openbao, "cloud")
    first = served_handovers.start_of(CONNECTOR, request=case.request())
    try:
        served_handovers.wait_suspended(first, "sf-logout")  # the first one waits (suspended: no process)
        message = _refused(served_handovers, sandbox, openbao, case, case.request(), "PreflightRefused",
                           "another handover of",
                           f"/runs/flow-run/{first}")  # fmt: skip
        assert "Suspended" in message
    finally:
        served_handovers.cancel_if_paused(first)


def test_admin_approved_app_is_granted_through_the_named_permission_set(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer
) -> None:
    """grant_app_through: Baton grants the app through a permission set the successor holds (SetupEntityAccess,
    looked up first), and the handover goes on to its first human step."""
    case = new_case(sandbox, openbao, "cloud")
    org = org_of(sandbox.world)
    with _app(sandbox, case.app, admin_approved_only=True):
        app = org.connected_app(case.app)
        ps = org.store.first("PermissionSet", Name="Jira_Connector_Access")
        assert app is not None and ps is not None
        run_id = served_handovers.start_of(CONNECTOR, request=case.request(grant_app_through="Jira_Connector_Access"))
        try:
            served_handovers.wait_suspended(run_id, "sf-logout")
        finally:
            served_handovers.cancel_if_paused(run_id)
        grants = [g for g in org.store.find("SetupEntityAccess", SetupEntityId=app.id) if g["ParentId"] == ps["Id"]]
        assert len(grants) == 1
