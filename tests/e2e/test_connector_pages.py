"""The Salesforce-Jira connector's guide in a real browser (Debian chromium through Playwright).

Revoke -> Authorize -> Salesforce login + Allow as the new user -> the connection runs as that user;
copy the API access token -> paste it in the package's Configure page in Salesforce -> Save.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sandbox.connectors.jira_app import connection
from sandbox.connectors.sf_package import package_state
from sandbox.server import Sandbox

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install chromium)"),
]


@pytest.fixture
def browser_page(fresh_sandbox: Sandbox) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


def test_reauthorize_connector_as_new_user(fresh_sandbox: Sandbox, browser_page: object) -> None:
    from playwright.sync_api import Page, expect

    page: Page = browser_page  # type: ignore[assignment]
    jira, salesforce, world = fresh_sandbox.urls["jira"], fresh_sandbox.urls["salesforce"], fresh_sandbox.world
    assert connection(world, "cloud", "10001")["salesforce_username"] == "alice@acme.example"  # type: ignore[index]

    # Jira Apps > Salesforce > Connections (Jira asks the admin to log in first)
    page.goto(jira + "/plugins/servlet/salesforce/connections")
    page.fill("#username", "bob@acme.example")
    page.fill("#password", "bob-jira-pw")
    page.click("#login-submit")
    page.click("#configure-10001")
    page.click("#revoke")
    expect(page.locator("#connection-status")).to_have_text("revoked")

    # Authorize: Salesforce login as the new integration user, then Allow
    page.click("#authorize")
    page.fill("#username", "carol@acme.example")
    page.fill("#password", "carol-sf-Passw0rd")
    page.click("#Login")
    page.click("#oaapprove")
    expect(page.locator("#connection-status")).to_have_text("authorized")
    expect(page.locator("#connection-user")).to_have_text("carol@acme.example")

    # "three dots" > API Access token > Copy
    page.click("#three-dots")
    page.click("#api-access-token")
    token = page.locator("#api-token-value").input_value()
    assert token.startswith("sfj-")
    page.click("#copy")

    # Salesforce: Setup > Installed packages > Configure > Revoke the connection, paste, Save
    page.goto(salesforce + "/lightning/setup/ImportedPackage/home")
    page.click("#configure-jira-cloud")
    page.click("#revoke-connection")
    expect(page.locator("#package-status")).to_have_text("not_connected")
    page.fill("#access-token", token)
    page.click("#save")
    expect(page.locator("#package-status")).to_have_text("connected")
    expect(page.locator("#package-user")).to_have_text("carol@acme.example")

    state = package_state(world, "Jira Cloud for Salesforce")
    assert state is not None and state["authorized_by_username"] == "carol@acme.example"
    assert state["saved_by"] == "carol@acme.example"
    conn = connection(world, "cloud", "10001")
    assert conn is not None and conn["salesforce_username"] == "carol@acme.example" and conn["status"] == "authorized"
    assert world.vendors["salesforce"].authorized_user("Jira Cloud for Salesforce")["Username"] == "carol@acme.example"
