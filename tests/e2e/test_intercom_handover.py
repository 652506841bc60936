"""change-intercom-app-user end to end on the served deployment: the dedicated Jira user made through Jira's REST
API (its Atlassian invitation in the sandbox's inbox page is how the person gets in), its groups and permissions
checked, then the guide's steps played in Debian chromium (log out of Jira, uninstall, reinstall and authorise as
the new user, App info), answered by Slack clicks through the gateway."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from baton import autopilot_pages as pages
from sandbox.intercom.state import app_user
from sandbox.jira.state import site
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.e2e.handover_case import Person, thread_text
from tests.handover_serving import INTERCOM, Handovers, served_handovers
from tests.harness import RunningGateway

pytestmark = [pytest.mark.e2e, needs_chromium]
__all__ = ["served_handovers"]


def _request(sandbox: Sandbox, tag: str, **over: Any) -> dict[str, Any]:
    current = app_user(sandbox.world)
    return {
        "integration_id": f"intercom-{tag}", "leaver": current["email"] if current else "alice@acme.example",
        "successor": f"intercom-app.{tag}@acme.example", "successor_name": "Intercom app", "projects": [10000],
        "intercom_workspace": "acmesupport1", "requested_by": "bob@acme.example", **over,
    }  # fmt: skip


def _jira_accounts(sandbox: Sandbox, email: str) -> list[Any]:
    return [u for u in site(sandbox.world).users.values() if u.email == email]


def test_change_the_intercom_app_user_end_to_end(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox
) -> None:
    tag = uuid.uuid4().hex[:6]
    request = _request(sandbox, tag)
    email = request["successor"]
    run_id = served_handovers.start_of(INTERCOM, request=request)
    intercom, jira, admin = sandbox.urls["intercom"], sandbox.urls["jira"], sandbox.urls["admin"]
    try:
        with browser_page() as page:
            person = Person(sandbox, served_handovers, page, run_id)
            page.goto(jira + "/login")  # bob is logged in to Jira and Intercom to start with
            person.jira_login_if_asked()
            pages.intercom_sign_in(page, intercom)

            links = person.wait("jira-logout")
            page.goto(links["Jira: log out"])
            person.done()

            links = person.wait("intercom-uninstall")
            assert "links or comments made with the app before" in json.dumps(person.message)
            pages.intercom_uninstall(page, links)
            person.done()

            links = person.wait("intercom-reinstall")
            assert "Atlassian e-mailed an invitation" in json.dumps(person.message)
            # the new user's mailbox: Atlassian's invitation; signed in through it, Jira asks no login
            assert pages.accept_invitation(page, admin, email, f"Intercom-{tag}-pw")
            pages.intercom_reinstall(page, links)  # Install, Jira's consent as the new user
            person.done()

            links = person.wait("intercom-app-info")
            assert email in pages.intercom_app_user(page, links)
            person.done()
        final = served_handovers.wait_final(run_id)
    finally:
        served_handovers.cancel_if_paused(run_id)
    assert final["type"] == "COMPLETED", (final, served_handovers.server.output()[-4000:])
    accounts = _jira_accounts(sandbox, email)
    assert len(accounts) == 1 and "jira-software-users" in accounts[0].groups
    assert app_user(sandbox.world) == {"account_id": accounts[0].account_id, "email": email, "name": "Intercom app"}
    text = thread_text(sandbox)
    assert "self-declared (no API tells the app user)" in text and "takes a Jira Software seat" in text
    assert "disconnected window:" in text


def test_missing_permission_is_refused_naming_it(
    served_handovers: Handovers, gateway: RunningGateway, sandbox: Sandbox
) -> None:
    tag = uuid.uuid4().hex[:6]
    before = app_user(sandbox.world)
    run_id = served_handovers.start_of(INTERCOM, request=_request(sandbox, tag, projects=[10000, 10001]))
    final = served_handovers.wait_final(run_id)
    assert final["type"] == "FAILED" and "JiraSetupRefused" in final["message"], final
    assert "the app user lacks CREATE_ISSUES on project 10001" in final["message"]
    assert app_user(sandbox.world) == before
    messages = [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]
    assert any("Stopped" in m and "CREATE_ISSUES on project 10001" in m for m in messages)
    assert not any(run_id in m and "baton_done" in m for m in messages)
