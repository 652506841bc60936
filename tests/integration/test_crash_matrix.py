"""Issue 13, item 2: the crash matrix over the handovers that had none at integration level. Each test runs one
deployment run of a flow through tests/crash_matrix.py: its process is killed (os._exit, as SIGKILL) once at
every task boundary, at every human step (message posted, before the wait) and right after every answer; the
same run is started again after each kill; each step is answered once, as the person does it (over HTTP: Slack
clicks through the gateway, the sandbox's pages and inbox). Then it converged: no duplicate object in the
sandbox, each step's Slack message posted once, Vault's credential current, single and working.

create-salesforce-integration-user: its reruns as new runs in
tests/integration/test_integration_user_crashes.py (create-jotform-api-only-user's in test_jotform_flow.py); the
connector's cloud variant in chromium: tests/e2e/test_connector_crashes.py; offboard-person and audit-integrations:
test_crash_matrix_offboarding.py.
"""

from __future__ import annotations

import html
import json
import re
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from baton import autopilot_pages as pages
from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.vault.errors import VaultNotFound
from flows.intercom_app_user import change_intercom_app_user
from flows.jotform_api_only_user import create_jotform_api_only_user
from flows.salesforce_integration_user import create_salesforce_integration_user
from flows.salesforce_jira_connector import rotate_salesforce_jira_connector
from sandbox.intercom.state import app_user, workspace
from sandbox.jira.state import site
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from tests.crash_matrix import CrashMatrix, Outcome, posts, register, slack_click, step_message
from tests.e2e.handover_case import custody, new_case
from tests.figures import record
from tests.harness import RunningGateway
from tests.integration import test_integration_user_crashes as integration_user
from tests.integration import test_jotform_flow as jotform

pytestmark = pytest.mark.slow
seats = jotform.seats  # fixture: the org gets a few more Salesforce Integration seats for this module (autouse)


def names(points: list[str]) -> set[str]:
    """'flow:task#1' -> 'task', 'flow:wait:key#1' -> 'wait:key'."""
    return {p.split(":", 1)[1].rsplit("#", 1)[0] for p in points}


def matrix(prefect_server: PrefectServer, env: dict[str, str], tmp: Path, flow: Any, entrypoint: str) -> CrashMatrix:
    deployment = register(flow, entrypoint)
    found = CrashMatrix(prefect_server.api_url, env, tmp, entrypoint, [entrypoint.split(":")[0]])
    found.deployment = deployment  # type: ignore[attr-defined]
    return found


@pytest.fixture
def crash_matrix(prefect_server: PrefectServer, tmp_path: Path) -> Iterator[Any]:
    made: list[CrashMatrix] = []

    def make(env: dict[str, str], flow: Any, entrypoint: str) -> CrashMatrix:
        made.append(matrix(prefect_server, env, tmp_path, flow, entrypoint))
        return made[-1]

    yield make
    for m in made:
        m.close()


def _report(name: str, outcome: Outcome) -> None:
    waits = [p for p in outcome.points if ":wait:" in p or ":answer:" in p]
    record("crash-matrix", flows=1, crash_points=len(outcome.points), at_human_steps=len(waits))
    print(f"CRASH-MATRIX {name}: {len(outcome.points)} crash points ({len(waits)} at human steps), "
          f"{outcome.attempts} process starts, steps {outcome.steps}")  # fmt: skip


# -- change-intercom-app-user -------------------------------------------------------------------------------


class IntercomPerson:
    """bob, doing change-intercom-app-user's steps over HTTP: Jira's log out, Intercom's App info page
    (Uninstall, Install), the invitation in the new user's mailbox, Jira's consent; then Done in Slack."""

    def __init__(self, sandbox: Sandbox, email: str) -> None:
        self.sandbox, self.email = sandbox, email
        tls = ssl.create_default_context(cafile=sandbox.ca_file)
        self.intercom = httpx.Client(base_url=sandbox.urls["intercom"], verify=tls, timeout=15)
        self.jira = httpx.Client(base_url=sandbox.urls["jira"], verify=tls, timeout=15)
        self.app_page = f"/a/apps/{workspace(sandbox.world).id_code}/appstore/jira"
        bob = {"email": "bob@acme.example", "password": "bob-intercom-pw"}
        signed = self.intercom.post("/admins/sign_in", data=bob)
        assert signed.status_code == 303, signed.text

    def __call__(self, run_id: str, key: str) -> None:
        message = step_message(self.sandbox, run_id, key)
        if key == "jira-logout":
            assert self.jira.get("/logout").status_code == 200
        elif key == "intercom-uninstall":
            assert self.intercom.post(self.app_page + "/uninstall").status_code == 303
        elif key == "intercom-reinstall":
            self._accept_invitation()
            to_jira = self.intercom.post(self.app_page + "/install")
            assert to_jira.status_code == 303, to_jira.text
            consent = self.jira.get(to_jira.headers["location"])
            request_id = re.search(r'name="request_id" value="([^"]+)"', consent.text)
            assert request_id and self.email in consent.text, consent.text
            back = self.jira.post("/authorize/consent", data={"request_id": request_id.group(1), "decision": "accept"})
            assert back.status_code == 302, back.text
            assert self.intercom.get(back.headers["location"]).status_code == 303
        elif key == "intercom-app-info":
            assert self.email in self.intercom.get(self.app_page).text
        else:
            raise AssertionError(f"unexpected step {key}")
        slack_click(self.sandbox, message)

    def _accept_invitation(self) -> None:
        mails = httpx.get(f"{self.sandbox.urls['admin']}/inbox/{self.email}.json").json()
        links = [link for mail in mails for link in mail["links"] if "/invite/" in link]
        assert len(links) == 1, mails  # invited once, however often the account step ran
        joined = self.jira.post(httpx.URL(links[0]).path, data={"password": "Intercom-app-pw-1", "display_name": ""})
        assert joined.status_code == 200 and self.email in joined.text, joined.text

    def close(self) -> None:
        self.intercom.close()
        self.jira.close()


def test_intercom_app_user_converges_after_a_crash_at_every_point(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, crash_matrix: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    email = f"intercom-crash.{tag}@acme.example"
    current = app_user(sandbox.world)
    request = {"integration_id": f"intercom-{tag}", "leaver": current["email"] if current else "alice@acme.example",
               "successor": email, "projects": [10000], "intercom_workspace": "acmesupport1",
               "requested_by": "carol@acme.example", "assignee": "bob@acme.example"}  # fmt: skip
    m = crash_matrix(baton_env, change_intercom_app_user, "flows.intercom_app_user:change_intercom_app_user")
    history = len(workspace(sandbox.world).jira_app.history)  # type: ignore[union-attr]
    person = IntercomPerson(sandbox, email)
    try:
        outcome = m.go(m.create_run(m.deployment, request=request), person)
    finally:
        person.close()
    _report("change-intercom-app-user", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    assert outcome.result is not None and outcome.result["status"] == "done", outcome.tail()
    keys = ["jira-logout", "intercom-uninstall", "intercom-reinstall", "intercom-app-info"]
    assert outcome.steps == keys
    assert len(outcome.points) == len(set(outcome.points))
    assert names(outcome.points) >= {
        "no_other_handover",
        "find_account",
        "ensure_account",
        "ensure_groups",
        "check_permissions",
    } | {f"{w}:{k}" for k in keys for w in ("wait", "answer")}
    # converged: one Jira account, in its group, invited once; the app installed once, as it; each step posted once
    accounts = [u for u in site(sandbox.world).users.values() if u.email == email]
    assert len(accounts) == 1 and "jira-software-users" in accounts[0].groups
    assert len(sandbox.world.mails_for(email)) == 1
    assert app_user(sandbox.world)["email"] == email  # type: ignore[index]
    events = [e["event"] for e in workspace(sandbox.world).jira_app.history[history:]]  # type: ignore[union-attr]
    assert events == ["uninstalled", "installed"]
    for key in keys:
        assert len(posts(sandbox, outcome.run_id, key)) == 1, key


# -- create-jotform-api-only-user ---------------------------------------------------------------------------


class JotformPerson(jotform.Person):
    """The jotform tests' person (inbox, reveal page, Jotform's and Salesforce's pages), answering one step."""

    def __call__(self, run_id: str, key: str) -> None:
        message = step_message(self.sandbox, run_id, key)
        if key == "verify-email":
            self.verify_email()
        elif key == "jotform-authenticate":
            self.authenticate_jotform(message)
        else:
            raise AssertionError(f"unexpected step {key}")
        slack_click(self.sandbox, message)


def test_jotform_api_only_user_converges_after_a_crash_at_every_point(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer, crash_matrix: Any,
) -> None:  # fmt: skip
    env = {**baton_env, "BATON_JOTFORM_API_KEY": "jf-apikey-acme-0001"}
    params = jotform._params(f"cm{uuid.uuid4().hex[:4]}", jotform._new_form(sandbox))
    path = jotform._vault_path(params["username"])
    custody = jotform._custody(openbao)
    org = org_of(sandbox.world)

    def invariants() -> None:
        counts = jotform._counts(sandbox, params)
        assert max(counts[k] for k in ("users", "permission_sets", "licence_assignments", "set_assignments")) <= 1
        try:
            state = custody.describe(path)
        except VaultNotFound:
            return  # not generated yet
        assert (state.latest_version or 0) <= 1  # one generated password, reused by every rerun
        if state.current_version is not None:  # promoted only once proven: the current one works
            password = custody.read_current(path).values["password"].get_secret_value()
            assert org.check_login(params["username"], password, kind="Application", token_optional=True)

    m = crash_matrix(env, create_jotform_api_only_user, "flows.jotform_api_only_user:create_jotform_api_only_user")
    person = JotformPerson(sandbox, prefect_server.api_url, params)
    outcome = m.go(m.create_run(m.deployment, request=params), person, after_each=invariants)
    _report("create-jotform-api-only-user", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    assert outcome.result is not None and outcome.result["status"] == "done", outcome.tail()
    keys = ["verify-email", "jotform-authenticate"]
    assert outcome.steps == keys
    assert len(outcome.points) == len(set(outcome.points))
    assert names(outcome.points) >= {
        "find_form", "permission_set_licence", "check_licence", "existing_user", "ensure_permission_set",
        "ensure_user", "ensure_password", "email_verified", "ensure_licence_assignment",
        "ensure_permission_set_assignment", "app_authorization", "promote_password",
    } | {f"{w}:{k}" for k in keys for w in ("wait", "answer")}  # fmt: skip
    jotform._assert_set_up(sandbox, openbao, params)  # one of each object; the password current and working
    state = custody.describe(path)
    assert state.current_version == 1 and state.latest_version == 1 and state.pending_version is None
    assert len([m for m in sandbox.world.mails_for(params["email"]) if "Verify" in m.subject]) == 1
    for key in keys:
        assert len(posts(sandbox, outcome.run_id, key)) == 1, key


# -- rotate-salesforce-jira-connector, server variant -----------------------------------------------------


class ConnectorPerson:
    """bob, doing the connector's steps over HTTP: Jira Server's Configure page (Revoke, Authorize with Salesforce's
    login as the successor and Allow, the API access token), the deposit page, the package's Configure page in
    Salesforce (as bob); Done in Slack, except for the deposit (it resumes the run)."""

    def __init__(self, sandbox: Sandbox, successor: str) -> None:
        self.sandbox, self.successor = sandbox, successor
        self.tls = ssl.create_default_context(cafile=sandbox.ca_file)
        self.jira = httpx.Client(base_url=sandbox.urls["jira_server"], verify=self.tls, timeout=15)
        login = self.jira.post("/login.jsp", data={"os_username": "bob", "os_password": "bob-jira-dc-pw"})
        assert login.status_code == 303, login.text
        self.token = ""

    def __call__(self, run_id: str, key: str) -> None:
        message = step_message(self.sandbox, run_id, key)
        found = pages.links(message)
        configure = httpx.URL(found.get(pages.CONFIGURE, "")).path
        if key == "sf-logout":
            pass  # this person has no Salesforce session open
        elif key == "jira-revoke":
            assert self.jira.post(configure + "/revoke").status_code == 303
        elif key == "authorize":
            self._authorize(configure, self._password(found))
        elif key == "api-token":
            page = self.jira.get(configure + "/api-token")
            value = re.search(r'id="api-token-value" readonly size="60" value="([^"]+)"', page.text)
            assert value, page.text
            self.token = html.unescape(value.group(1))
            stored = httpx.post(next(u for u in found.values() if "/deposit/" in u), data={"secret": self.token})
            assert stored.status_code == 200 and "Stored in Vault" in stored.text, stored.text
            return  # the deposit resumes the run
        elif key == "sf-package-save":
            self._save_package(next(u for label, u in found.items() if label.startswith("Salesforce: Configure")))
        else:
            raise AssertionError(f"unexpected step {key}")
        slack_click(self.sandbox, message)

    def _password(self, found: dict[str, str]) -> str:
        url = next(u for label, u in found.items() if label.startswith("the password of"))
        shown = re.search(r'<code id="secret">([^<]+)</code>', httpx.get(url).text)
        assert shown
        return html.unescape(shown.group(1))

    def _authorize(self, configure: str, password: str) -> None:
        to_sf = self.jira.post(configure + "/authorize")
        assert to_sf.status_code == 303, to_sf.text
        with httpx.Client(verify=self.tls, timeout=15) as browser:  # the successor's Salesforce session
            login = browser.get(to_sf.headers["location"])
            assert login.status_code == 302, login.text
            login_url = login.url.join(login.headers["location"])
            form = {"username": self.successor, "pw": password, "startURL": login_url.params["startURL"]}
            signed = browser.post(str(login_url.join("/")), data=form)
            assert signed.status_code == 302, signed.text
            consent = browser.get(str(signed.url.join(signed.headers["location"])))
            hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
            assert hidden, consent.text
            allow = {k: html.unescape(v) for k, v in hidden.items()} | {"decision": "Allow"}
            back = browser.post(str(consent.url.join("/services/oauth2/authorize")), data=allow)
            assert back.status_code == 302, back.text
        done = self.jira.get(back.headers["location"])
        assert done.status_code == 303, done.text

    def _save_package(self, url: str) -> None:
        with httpx.Client(verify=self.tls, timeout=15, follow_redirects=True) as browser:  # bob, in Salesforce Setup
            base = str(httpx.URL(url).copy_with(path="/", query=None))
            signed = browser.post(base, data={"username": "bob@acme.example", "pw": "bob-sf-Passw0rd", "startURL": "/"})
            assert signed.status_code == 200, signed.text
            path = httpx.URL(url).path
            assert browser.post(url.replace(path, path.replace("/configure", "/revoke"))).status_code == 200
            saved = browser.post(url, data={"access_token": self.token})
            assert 'id="package-status">connected' in saved.text, saved.text

    def close(self) -> None:
        self.jira.close()


def test_connector_server_converges_after_a_crash_at_every_point(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
    crash_matrix: Any,
) -> None:  # fmt: skip
    """The rotation case: Vault holds the leaver's token (v1, current) before; the new one is current only once it
    is proven to open the connection as the successor, and the previous version is kept."""
    case = new_case(sandbox, openbao, "server")
    vault = custody(openbao)
    old = vault.stage(case.token_path, {"api_access_token": "old-leaver-token"}, expect_version=0)
    vault.promote(old.path, old.version)

    def invariants() -> None:
        state = vault.describe(case.token_path)
        assert (state.latest_version or 0) <= 2  # one deposit, however often the run crashed
        if state.current_version == 1:
            return  # the previous one stays current until the new one is proven
        assert state.current_version == 2, state
        token = vault.read_current(case.token_path).values["api_access_token"].get_secret_value()
        assert case.connection().current_token().token == token  # type: ignore[union-attr]

    m = crash_matrix(baton_env, rotate_salesforce_jira_connector,
                     "flows.salesforce_jira_connector:rotate_salesforce_jira_connector")  # fmt: skip
    person = ConnectorPerson(sandbox, case.successor)
    try:
        outcome = m.go(m.create_run(m.deployment, request=case.request()), person, after_each=invariants)
    finally:
        person.close()
    _report("rotate-salesforce-jira-connector (server)", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    assert outcome.result is not None and outcome.result["status"] == "done", outcome.tail()
    keys = ["sf-logout", "jira-revoke", "authorize", "api-token", "sf-package-save"]
    assert outcome.steps == keys
    assert len(outcome.points) == len(set(outcome.points))
    assert names(outcome.points) >= {"no_other_handover", "check_users", "check_connected_app",
                                     "check_permission_sets", "check_tokens", "api_token_state", "who_authorised",
                                     "revoke_leaver_tokens", "authorizations", "promote_api_token"} | {
        f"{w}:{k}" for k in keys for w in ("wait", "answer")}  # fmt: skip
    # converged: one authorisation, the successor's; the connection runs as it with one token; Vault v2 current
    assert case.tokens(case.successor_id) == 1 and case.tokens(case.leaver_id) == 0
    conn = case.connection()
    assert conn.status == "authorized" and conn.salesforce_username == case.successor
    assert len([t for t in conn.api_tokens if t.active]) == 1
    state = vault.describe(case.token_path)
    assert state.current_version == 2 and state.latest_version == 2 and state.pending_version is None
    assert vault.read_version(case.token_path, 1).values["api_access_token"].get_secret_value() == "old-leaver-token"
    invariants()
    for key in keys:
        assert len(posts(sandbox, outcome.run_id, key)) == 1, key


# -- create-salesforce-integration-user, security-token path ----------------------------------------------


def test_integration_user_converges_after_a_crash_at_every_point(
    baton_env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
    crash_matrix: Any,
) -> None:  # fmt: skip
    username = f"token-cm.{uuid.uuid4().hex[:6]}@acme.example"
    slug = re.sub(r"[^a-z0-9]+", "-", username).strip("-")
    password_path, token_path = (f"baton/integrations/salesforce-{slug}/{k}" for k in ("password", "security-token"))
    vault = custody(openbao)
    org = org_of(sandbox.world)

    def invariants() -> None:
        assert len(integration_user._users(sandbox, username)) <= 1
        try:
            password = vault.describe(password_path)
        except VaultNotFound:
            return
        assert password.latest_version == 1  # one generated password, reused by every rerun
        try:
            token = vault.describe(token_path)
        except VaultNotFound:
            return
        assert (token.latest_version or 0) <= 1
        if token.current_version is not None:  # promoted: it works, with the password (promoted with it)
            secret = vault.read_current(password_path).values["password"].get_secret_value()
            tok = vault.read_current(token_path).values["security_token"].get_secret_value()
            assert org.check_login(username, secret + tok, kind="Application")

    def deposit(run_id: str, key: str) -> None:
        assert key == "security-token"
        integration_user.answer_security_token_step(sandbox, run_id, username)

    m = crash_matrix(baton_env, create_salesforce_integration_user,
                     "flows.salesforce_integration_user:create_salesforce_integration_user")  # fmt: skip
    request = json.loads(integration_user._params(username))
    outcome = m.go(m.create_run(m.deployment, request=request), deposit, after_each=invariants)
    _report("create-salesforce-integration-user", outcome)
    assert outcome.final["type"] == "COMPLETED", outcome.tail()
    assert outcome.result is not None and outcome.result["status"] == "done", outcome.tail()
    assert outcome.steps == ["security-token"]
    assert len(outcome.points) == len(set(outcome.points))
    assert names(outcome.points) >= {"find_user", "check_licence", "ensure_profile", "role_id", "ensure_user",
                                     "ensure_password", "password_login_works", "wait:security-token",
                                     "answer:security-token", "verify_password_login_and_promote"}  # fmt: skip
    users = integration_user._users(sandbox, username)
    assert len(users) == 1
    for path in (password_path, token_path):
        state = vault.describe(path)
        assert state.current_version == 1 and state.latest_version == 1 and state.pending_version is None, path
    invariants()
    assert len(posts(sandbox, outcome.run_id, "security-token")) == 1
