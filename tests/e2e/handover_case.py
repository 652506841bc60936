"""A connector handover case of its own for one test: a leaver and a successor in the Salesforce org, a Jira
connection authorised by the leaver, the successor's password in Vault; plus what a person does in chromium."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer
from clients.vault import Custody, VaultAuth, connect
from sandbox.connectors.jira_app import APP_NAMES, Connection, _issue, connector
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.integration.test_suspend import Served

PERMISSION_SET = "Jira_Connector_Access"
CONNECTION_IDS = iter(range(31001, 39999))


def custody(openbao: OpenBaoDevServer) -> Custody:
    return Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))


@dataclass
class Case:
    sandbox: Sandbox
    variant: str
    tag: str
    leaver: str
    successor: str
    password: str
    connection_id: str
    leaver_id: str
    successor_id: str

    @property
    def app(self) -> str:
        return APP_NAMES[self.variant]

    def request(self, **over: Any) -> dict[str, Any]:
        return {
            "integration_id": f"jira-{self.variant}-{self.tag}", "variant": self.variant, "leaver": self.leaver,
            "successor": self.successor, "connection_id": self.connection_id, "requested_by": "bob@acme.example",
            "waits": {"remind_every_minutes": 30, "escalate_after_minutes": 60, "deadline_minutes": 120}, **over,
        }  # fmt: skip

    @property
    def token_path(self) -> str:
        return f"baton/integrations/jira-{self.variant}-{self.tag}/api-access-token"

    def tokens(self, user_id: str) -> int:
        org = org_of(self.sandbox.world)
        with self.sandbox.world.lock:
            return len([r for r in org.store.find("OauthToken", AppName=self.app) if r["UserId"] == user_id])

    def connection(self) -> Connection:
        return connector(self.sandbox.world, self.variant).connections[self.connection_id]


def _user(sandbox: Sandbox, username: str, password: str, profile: str, *, permission_set: bool) -> str:
    org = org_of(sandbox.world)
    with sandbox.world.lock:
        found = org.store.first("Profile", Name=profile)
        assert found is not None
        profile_id = found["Id"]
        licence = org.store.get("UserLicense", found["UserLicenseId"])
        assert licence is not None
        licence["TotalLicenses"] += 1  # a seat of its own for each test user
        user = org.seed_user(
            {"Username": username, "Email": username, "FirstName": "Test", "LastName": username.split("@")[0],
             "Alias": username[:8], "ProfileId": profile_id, "TimeZoneSidKey": "Europe/London",
             "LocaleSidKey": "en_GB", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US"},
            password=password, security_token="T" * 24,
        )  # fmt: skip
        if permission_set:
            ps = org.store.first("PermissionSet", Name=PERMISSION_SET)
            org.store.put("PermissionSetAssignment", {"AssigneeId": user["Id"], "PermissionSetId": ps["Id"]})  # type: ignore[index]
    return str(user["Id"])


def new_case(
    sandbox: Sandbox, openbao: OpenBaoDevServer, variant: str = "cloud", *, successor_profile: str = "Standard User",
    successor_permission_set: bool = True, leaver_token: bool = True,
) -> Case:  # fmt: skip
    """A leaver who authorised the connector (an OauthToken; the Jira connection runs as them), a successor."""
    tag = uuid.uuid4().hex[:6]
    leaver, successor = f"leaver.{tag}@acme.example", f"integration.{tag}@acme.example"
    password = f"Succ-{uuid.uuid4().hex[:10]}-pw1"
    leaver_id = _user(sandbox, leaver, f"Leaver-{tag}-pw1", "System Administrator", permission_set=True)
    successor_id = _user(sandbox, successor, password, successor_profile, permission_set=successor_permission_set)
    cid = str(next(CONNECTION_IDS))
    org = org_of(sandbox.world)
    with sandbox.world.lock:
        if leaver_token:
            org.grant(APP_NAMES[variant], leaver)
        conn = Connection(cid, f"Acme Salesforce {tag}", "authorized", leaver_id, leaver)
        _issue(conn)
        connector(sandbox.world, variant).connections[cid] = conn
    slug = re.sub(r"[^a-z0-9]+", "-", successor).strip("-")
    vault = custody(openbao)
    staged = vault.stage(f"baton/integrations/salesforce-{slug}/password", {"password": password}, expect_version=0)
    vault.promote(staged.path, staged.version)
    return Case(sandbox, variant, tag, leaver, successor, password, cid, leaver_id, successor_id)


# -- Slack ------------------------------------------------------------------------------------------------


def step_message(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    for _ in range(100):
        for message in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
            text = json.dumps(message.get("blocks") or [])
            if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
                return dict(message)
        time.sleep(0.1)
    raise AssertionError(f"no Slack message for step {key} of run {run_id}")


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


def thread_text(sandbox: Sandbox) -> str:
    return json.dumps(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True))


@dataclass
class Person:
    """Bob, in one chromium page (cookies kept), answering through Slack clicks via the gateway."""

    sandbox: Sandbox
    served: Served
    page: Any
    run_id: str
    steps: list[str] = field(default_factory=list)

    def wait(self, key: str) -> dict[str, str]:
        self.served.wait_suspended(self.run_id, key)
        self.message = step_message(self.sandbox, self.run_id, key)
        self.steps.append(key)
        return links(self.message)

    def done(self) -> None:
        click = state_of(self.sandbox.world).click("bob@acme.example", "C0HANDOVER", self.message["ts"], "baton_done")
        assert click.status == 200, click.body

    def salesforce_login(self, username: str, password: str) -> None:
        self.page.goto(self.sandbox.urls["salesforce"] + "/")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#Login")

    def jira_login_if_asked(self) -> None:
        """Jira Cloud's (Atlassian's) or Jira Server's login form, as bob, when Jira asks."""
        if self.page.locator("#login-submit").count():
            self.page.fill("#username", "bob@acme.example")
            self.page.fill("#password", "bob-jira-pw")
            self.page.click("#login-submit")
        elif self.page.locator("#login-form-submit").count():
            self.page.fill("#login-form-username", "bob")
            self.page.fill("#login-form-password", "bob-jira-dc-pw")
            self.page.click("#login-form-submit")

    def log_out_of_salesforce(self, links: dict[str, str]) -> None:
        self.page.goto(links["Salesforce: log out"])

    def revoke_in_jira(self, links: dict[str, str]) -> None:
        self.page.goto(links["Jira: the connection's Configure page"])
        self.jira_login_if_asked()
        self.page.click("#revoke")
        self.page.wait_for_selector("#connection-status:text('revoked')")

    def authorize_in_jira(self, links: dict[str, str], username: str, password: str | None = None) -> None:
        """Authorize, then Salesforce's login (as *username*, with the password from the one-time link unless
        given) and Allow."""
        if password is None:
            reveal = next(url for label, url in links.items() if label.startswith("the password of"))
            self.page.goto(reveal)
            password = self.page.inner_text("#secret")
        self.page.goto(links["Jira: the connection's Configure page"])
        self.jira_login_if_asked()
        self.page.click("#authorize")
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#Login")
        self.page.click("#oaapprove")
        self.page.wait_for_selector("#connection-status:text('authorized')")

    def copy_and_deposit_token(self, links: dict[str, str], deposit: str | None = None) -> str:
        """Copy the API access token in Jira and paste it (or *deposit*, a slip) into the deposit page."""
        self.page.goto(links["Jira: the connection's Configure page"])
        self.jira_login_if_asked()
        self.page.click("#three-dots")
        self.page.click("#api-access-token")
        token = str(self.page.locator("#api-token-value").input_value())
        page = next(url for url in links.values() if "/deposit/" in url)
        self.page.goto(page)
        self.page.fill("#secret", deposit or token)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("text=Stored in Vault")
        return token

    def save_in_salesforce(self, links: dict[str, str], token: str) -> None:
        configure = next(url for label, url in links.items() if label.startswith("Salesforce: Configure"))
        self.page.goto(configure)
        self.page.click("#revoke-connection")
        self.page.fill("#access-token", token)
        self.page.click("#save")
        self.page.wait_for_selector("#package-status:text('connected')")


def intercom_step(person: Person, key: str, links: dict[str, str], email: str, password: str) -> None:
    """One of change-intercom-app-user's human steps, done in chromium as the guide says (then Done in Slack)."""
    page, sandbox = person.page, person.sandbox
    if key == "jira-logout":
        page.goto(links["Jira: log out"])
    elif key == "intercom-uninstall":
        page.goto(links["Intercom: Jira Cloud for Intercom"])
        page.click("#uninstall")
        page.wait_for_selector("#install-status:text('Not installed')")
    elif key == "intercom-reinstall":
        page.goto(f"{sandbox.urls['admin']}/inbox/{email}")  # the new user's mailbox: Atlassian's invitation
        page.click("a[href*='/invite/']")
        page.fill("#password", password)
        page.click("#accept-invitation")
        page.wait_for_selector(f"#signed-in-as:text('{email}')")
        page.goto(links["Intercom: Jira Cloud for Intercom"])
        page.click("#install")
        page.click("#accept")  # Jira's consent, as the new user (logged in through the invitation)
        page.wait_for_selector("#install-status:text('Installed')")
    elif key == "intercom-app-info":
        page.goto(links["Intercom: App info"])
        assert email in page.inner_text("#app-user")
    else:
        raise AssertionError(f"unexpected step {key}")
    person.done()


def sign_in_as_bob(person: Person) -> None:
    """Bob is logged in to Jira and Intercom to start with."""
    page, urls = person.page, person.sandbox.urls
    page.goto(urls["jira"] + "/login")
    person.jira_login_if_asked()
    page.goto(urls["intercom"] + "/admins/sign_in")
    page.fill("#email", "bob@acme.example")
    page.fill("#password", "bob-intercom-pw")
    page.click("#sign-in")
