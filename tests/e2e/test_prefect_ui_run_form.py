"""The Prefect UI's run form of a Baton flow is built from the flow's one parameter declaration: in Debian
chromium, the form of create-salesforce-integration-user offers the credential mode as a choice, with the
field's description, and shows the fields of the request."""

from __future__ import annotations

import pytest

from baton.autopilot_pages import prefect_ui_login
from baton.devstack import PrefectServer
from baton.serve import deployments
from tests.e2e.browser import browser_page, needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium]


def test_the_run_form_offers_the_credential_mode_as_a_choice(prefect_server: PrefectServer) -> None:
    runner = next(d for d in deployments() if d.name == "create-salesforce-integration-user")
    deployment_id = runner.apply()
    ui = prefect_server.ui_url
    with browser_page() as page:
        prefect_ui_login(page, ui, prefect_server.auth_string)  # the server's HTTP Basic auth is on
        page.goto(f"{ui}/v2/deployments/deployment/{deployment_id}/run")  # type: ignore[attr-defined]
        choice = page.get_by_role("button", name="Select Credential Mode")  # type: ignore[attr-defined]
        choice.wait_for(timeout=60_000)
        assert choice.inner_text().strip() == "oauth"  # the default
        choice.click()
        page.get_by_role("option").first.wait_for()  # type: ignore[attr-defined]
        options = [o.inner_text().strip() for o in page.get_by_role("option").all()]  # type: ignore[attr-defined]
        assert options == ["oauth", "security_token", "jwt"]
        page.keyboard.press("Escape")  # type: ignore[attr-defined]
        body = page.inner_text("body")  # type: ignore[attr-defined]
    assert "oauth: consent as the new user (preferred for a vendor's connector)" in body  # the field's description
    for label in ("First Name", "Username", "Login Ip Ranges", "Requested By"):
        assert label in body, label
