"""The person's part, in Debian chromium on the sandbox's vendor pages: what the demo's autopilot and the e2e
tests both drive (one copy of the page-driving code). Each function is one thing a person does on one page,
through the same links Baton's Slack messages give them.

Debian's chromium only (``/usr/bin/chromium``, never a downloaded one), reaching loopback only.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]  # fmt: skip
CHANNEL = "C0HANDOVER"


@contextmanager
def chromium(headed: bool = False) -> Iterator[Any]:
    """Debian chromium through Playwright (a Browser); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=not headed)
        try:
            yield browser
        finally:
            browser.close()


def loopback_page(browser: Any, timeout_ms: int = 20_000) -> Any:
    """A page in a fresh context (its own cookies) that reaches only loopback (any other host is aborted)."""
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(timeout_ms)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.split("/")[2].split(":")[0] in ("127.0.0.1", "localhost")
            else route.abort()
        ),
    )
    return context.new_page()


@contextmanager
def browser_page() -> Iterator[Any]:
    """One loopback-only page in a fresh chromium."""
    with chromium() as browser:
        yield loopback_page(browser)


# -- the Prefect UI ---------------------------------------------------------------------------------------


def prefect_ui_login(page: Any, ui_url: str, auth_string: str | None) -> None:
    """Log in to the Prefect UI of a server with its HTTP Basic authentication on, as a person does: its login
    page (``/v2/login``) takes the auth string ``user:password``; the UI checks it against the API and keeps it
    for this origin (localStorage ``prefect-password``, which the v1 and v2 UIs both send as
    ``Authorization: Basic``). A wrong one stays on the login page: RuntimeError. No auth string: nothing to do."""
    if not auth_string:
        return
    page.goto(ui_url.rstrip("/") + "/v2/login")
    page.get_by_placeholder("admin:pass").fill(auth_string)
    page.get_by_role("button", name="Login").click()
    try:
        page.wait_for_url(lambda url: "/login" not in url, timeout=30_000)
    except Exception as exc:  # playwright's TimeoutError: say what it means
        raise RuntimeError(
            f"the Prefect UI at {ui_url} did not accept the auth string (still on its login page)"
        ) from exc


# -- Slack: the step's message and its links ------------------------------------------------------------


def find_step_message(messages: list[dict[str, Any]], run_id: str, key: str) -> dict[str, Any] | None:
    """The latest message of step *key* of run *run_id* among *messages* (the channel, replies included)."""
    for message in reversed(messages):
        text = json.dumps(message.get("blocks") or [])
        if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
            return dict(message)
    return None


def step_message(world: Any, run_id: str, key: str, timeout: float = 30) -> dict[str, Any]:
    """Wait for the Slack stand-in's message of step *key* of run *run_id* (in #it-handover)."""
    from sandbox.slack import state_of

    deadline = time.monotonic() + timeout
    while True:
        found = find_step_message(state_of(world).messages(CHANNEL, include_replies=True), run_id, key)
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Slack message for step {key} of run {run_id}")
        time.sleep(0.1)


def links(message: dict[str, Any]) -> dict[str, str]:
    """Label → URL of the message's links (context mrkdwn) and link buttons."""
    found: dict[str, str] = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("url"):
                found[element["text"]["text"]] = element["url"]
            text = element.get("text") if isinstance(element.get("text"), str) else ""
            for url, label in re.findall(r"<([^|>]+)\|([^>]+)>", text or ""):
                found[label] = url
    return found


def click(world: Any, user: str, message: dict[str, Any], action: str = "baton_done") -> None:
    """*user* clicks a button of *message* in the Slack stand-in (signed, posted to Baton's gateway)."""
    from sandbox.slack import state_of

    reply = state_of(world).click(user, CHANNEL, message["ts"], action)
    if reply.status != 200:
        raise RuntimeError(f"the Slack click {action} as {user} was refused: {reply.status} {reply.body}")


def reveal(page: Any, url: str) -> str:
    """Open a one-time reveal link; the secret it shows (once)."""
    page.goto(url)
    return str(page.inner_text("#secret"))


# -- Salesforce --------------------------------------------------------------------------------------------


def salesforce_login(page: Any, salesforce_url: str, username: str, password: str) -> None:
    page.goto(salesforce_url.rstrip("/") + "/")
    salesforce_sign_in(page, username, password)


def salesforce_sign_in(page: Any, username: str, password: str) -> None:
    """Salesforce's login form (shown by a redirect), as *username*."""
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#Login")


def salesforce_allow(page: Any) -> None:
    """Allow on Salesforce's OAuth consent page."""
    page.click("#oaapprove")


# -- Jira (Cloud's Atlassian login, or Server's) ------------------------------------------------------------

JIRA_ADMIN = {"cloud": ("bob@acme.example", "bob-jira-pw"), "server": ("bob", "bob-jira-dc-pw")}


def jira_login_if_asked(page: Any, email: str = "bob@acme.example", password: str = "bob-jira-pw") -> None:
    """Jira Cloud's (Atlassian's) or Jira Server's login form, as the admin (or *email*), when Jira asks."""
    if page.locator("#login-submit").count():
        page.fill("#username", email)
        page.fill("#password", password)
        page.click("#login-submit")
    elif page.locator("#login-form-submit").count():
        user, secret = JIRA_ADMIN["server"]
        page.fill("#login-form-username", user)
        page.fill("#login-form-password", secret)
        page.click("#login-form-submit")


# -- rotate-salesforce-jira-connector: the guide's five steps ----------------------------------------------

CONFIGURE = "Jira: the connection's Configure page"


def revoke_in_jira(page: Any, found: dict[str, str]) -> None:
    page.goto(found[CONFIGURE])
    jira_login_if_asked(page)
    page.click("#revoke")
    page.wait_for_selector("#connection-status:text('revoked')")


def password_from(page: Any, found: dict[str, str]) -> str | None:
    """The successor's password from the step's one-time link, when Baton holds it in Vault."""
    url = next((u for label, u in found.items() if label.startswith("the password of")), None)
    return reveal(page, url) if url else None


def authorize_in_jira(page: Any, found: dict[str, str], username: str, password: str) -> None:
    """Authorize, then Salesforce's login as *username* and Allow."""
    page.goto(found[CONFIGURE])
    jira_login_if_asked(page)
    page.click("#authorize")
    salesforce_sign_in(page, username, password)
    salesforce_allow(page)
    page.wait_for_selector("#connection-status:text('authorized')")


def copy_api_token(page: Any, found: dict[str, str]) -> str:
    """Three dots > API Access token on the Configure page; the token (it goes only into the deposit page)."""
    page.goto(found[CONFIGURE])
    jira_login_if_asked(page)
    page.click("#three-dots")
    page.click("#api-access-token")
    return str(page.locator("#api-token-value").input_value())


def deposit(page: Any, found: dict[str, str], secret: str) -> None:
    """Paste *secret* into the step's one-time deposit page (straight into Vault)."""
    page.goto(next(url for url in found.values() if "/deposit/" in url))
    page.fill("#secret", secret)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Stored in Vault")


def save_in_salesforce(page: Any, found: dict[str, str], token: str) -> None:
    """Setup > Installed packages > Configure: revoke the old connection, paste the token, Save."""
    configure = next(url for label, url in found.items() if label.startswith("Salesforce: Configure"))
    page.goto(configure)
    page.click("#revoke-connection")
    page.fill("#access-token", token)
    page.click("#save")
    page.wait_for_selector("#package-status:text('connected')")


# -- change-intercom-app-user ---------------------------------------------------------------------------

APP_PAGE = "Intercom: Jira Cloud for Intercom"


def intercom_sign_in(
    page: Any, intercom_url: str, email: str = "bob@acme.example", pw: str = "bob-intercom-pw"
) -> None:
    page.goto(intercom_url.rstrip("/") + "/admins/sign_in")
    page.fill("#email", email)
    page.fill("#password", pw)
    page.click("#sign-in")


def intercom_uninstall(page: Any, found: dict[str, str]) -> None:
    page.goto(found[APP_PAGE])
    page.click("#uninstall")
    page.wait_for_selector("#install-status:text('Not installed')")


def accept_invitation(page: Any, admin_url: str, email: str, password: str) -> bool:
    """Atlassian's invitation in the new user's mailbox (the sandbox's inbox page): choose a password, sign
    up. False when there is no invitation (the Jira user existed already)."""
    page.goto(f"{admin_url.rstrip('/')}/inbox/{email}")
    invite = page.locator("a[href*='/invite/']")
    if not invite.count():
        return False
    invite.first.click()
    page.fill("#password", password)
    page.click("#accept-invitation")
    page.wait_for_selector(f"#signed-in-as:text('{email}')")
    return True


def intercom_reinstall(page: Any, found: dict[str, str], email: str = "", password: str = "") -> None:
    """Install, log in to Jira as the new app user when Jira asks (*email*, *password*), Accept."""
    page.goto(found[APP_PAGE])
    page.click("#install")
    if email:
        jira_login_if_asked(page, email, password)
    page.click("#accept")
    page.wait_for_selector("#install-status:text('Installed')")


def intercom_app_user(page: Any, found: dict[str, str]) -> str:
    """What App info shows as the app user."""
    page.goto(found["Intercom: App info"])
    return str(page.inner_text("#app-user"))


# -- create-jotform-api-only-user ------------------------------------------------------------------------


def verify_email(page: Any, admin_url: str, email: str) -> None:
    """The newest 'Verify your account' link in *email*'s mailbox (the sandbox's inbox page)."""
    page.goto(f"{admin_url.rstrip('/')}/inbox/{email}")
    link = page.locator("a[href*='/verify?']")
    if not link.count():
        raise RuntimeError(f"no verification e-mail in the mailbox of {email}")
    page.goto(str(link.last.get_attribute("href")))


def jotform_authenticate(page: Any, found: dict[str, str], username: str, mapping: dict[str, str]) -> None:
    """Password from its one-time link; Jotform's form > Integrations > Salesforce > Authenticate, log in as the
    API-only user, Allow, choose action, object and mapping, Save."""
    password = reveal(page, next(u for label, u in found.items() if label == "the API-only user's password"))
    page.goto(found["Jotform: the form's Salesforce integration"])
    page.click("#authenticate")
    salesforce_sign_in(page, username, password)
    salesforce_allow(page)
    page.wait_for_selector("#action")
    page.select_option("#action", "create_or_update")
    page.select_option("#object", "Lead")
    for field, target in mapping.items():
        page.select_option(f"#map_{field}", target)
    page.click("#save")
    page.wait_for_selector(f"#sf-user:text('{username}')")
