"""A connector handover case of its own for one test: a leaver and a successor in the Salesforce org, a Jira
connection authorised by the leaver, the successor's password in Vault; plus what a person does in chromium."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from baton import autopilot_pages as pages
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


# -- Slack, and what a person does in chromium (baton/autopilot_pages.py: the demo drives the same code) -------


def step_message(sandbox: Sandbox, run_id: str, key: str) -> dict[str, Any]:
    try:
        return pages.step_message(sandbox.world, run_id, key, timeout=10)
    except TimeoutError as exc:
        raise AssertionError(str(exc)) from None


links = pages.links


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
        pages.click(self.sandbox.world, "bob@acme.example", self.message)

    def salesforce_login(self, username: str, password: str) -> None:
        pages.salesforce_login(self.page, self.sandbox.urls["salesforce"], username, password)

    def jira_login_if_asked(self) -> None:
        pages.jira_login_if_asked(self.page)

    def log_out_of_salesforce(self, links: dict[str, str]) -> None:
        self.page.goto(links["Salesforce: log out"])

    def revoke_in_jira(self, links: dict[str, str]) -> None:
        pages.revoke_in_jira(self.page, links)

    def authorize_in_jira(self, links: dict[str, str], username: str, password: str | None = None) -> None:
        """Authorize, then Salesforce's login (as *username*, with the password from the one-time link unless
        given) and Allow."""
        password = password or pages.password_from(self.page, links)
        assert password, "no password given and no one-time link in the step"
        pages.authorize_in_jira(self.page, links, username, password)

    def copy_and_deposit_token(self, links: dict[str, str], deposit: str | None = None) -> str:
        """Copy the API access token in Jira and paste it (or *deposit*, a slip) into the deposit page."""
        token = pages.copy_api_token(self.page, links)
        pages.deposit(self.page, links, deposit or token)
        return token

    def save_in_salesforce(self, links: dict[str, str], token: str) -> None:
        pages.save_in_salesforce(self.page, links, token)


def intercom_step(person: Person, key: str, links: dict[str, str], email: str, password: str) -> None:
    """One of change-intercom-app-user's human steps, done in chromium as the guide says (then Done in Slack)."""
    page, sandbox = person.page, person.sandbox
    if key == "jira-logout":
        page.goto(links["Jira: log out"])
    elif key == "intercom-uninstall":
        pages.intercom_uninstall(page, links)
    elif key == "intercom-reinstall":
        assert pages.accept_invitation(page, sandbox.urls["admin"], email, password), "no invitation in the mailbox"
        pages.intercom_reinstall(page, links)  # Jira's consent, as the new user (logged in through the invitation)
    elif key == "intercom-app-info":
        assert email in pages.intercom_app_user(page, links)
    else:
        raise AssertionError(f"unexpected step {key}")
    person.done()


def sign_in_as_bob(person: Person) -> None:
    """Bob is logged in to Jira and Intercom to start with."""
    page, urls = person.page, person.sandbox.urls
    page.goto(urls["jira"] + "/login")
    person.jira_login_if_asked()
    pages.intercom_sign_in(page, urls["intercom"])
