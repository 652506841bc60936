"""The demo's autopilot: plays the people of one offboarding, through the doors a person uses.

bob (not the requester) clicks Approve in the Slack stand-in; then, for every handover run the offboarding
starts, each human step as it comes, in Debian chromium on the sandbox's vendor pages (baton/autopilot_pages.py,
the same page-driving code the e2e tests use): Salesforce logins and consents, Jira's Revoke and Authorize,
the API access token into the deposit page, the Intercom reinstall and App info, the Jotform API-only user's
e-mail verification and authentication; then Done in Slack. With ``act=False`` (``--interactive``) it only
prints each step's links and waits for a person to answer.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from baton import autopilot_pages as pages
from clients.prefect_api import prefect_http
from sandbox.server import Sandbox

APPROVER = "bob@acme.example"  # an approver who is not the requester (carol asks)
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
SCENARIO = Path(__file__).resolve().parents[1] / "sandbox" / "scenarios" / "alice-leaving.yaml"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError(f"timed out waiting for {what}")


def paused_at(prefect: httpx.Client, run: dict[str, Any]) -> str | None:
    """The pause key of *run* when it waits for a person and its answer form is up, else None."""
    state = run["state"]
    if state["type"] != "PAUSED":
        return None
    details = state["state_details"]
    keyset = details.get("run_input_keyset") or {}
    schema = keyset.get("schema") or f"{state['name'].lower()}-{details['pause_key']}-schema"
    ready = prefect.get(f"flow_runs/{run['id']}/input/{schema}").status_code == 200
    return str(details["pause_key"]) if ready else None


def sandbox_passwords(scenario: Path = SCENARIO) -> dict[str, str]:
    """The scenario's sandbox-only passwords: Salesforce ``sf:<username>`` and Jira Cloud ``jira:<email>``."""
    data = yaml.safe_load(scenario.read_text())
    found = {f"sf:{u['username']}": u["password"] for u in data["salesforce"]["users"] if u.get("password")}
    found |= {f"jira:{u['email']}": u["password"] for u in data["jira"]["users"] if u.get("password")}
    return found


@dataclass
class Handover:
    """One handover run as the autopilot sees it: its page (its own cookies) and what the person carries."""

    ident: str
    run_id: str
    flow: str
    request: dict[str, Any]
    page: Any = None
    carried: dict[str, str] = field(default_factory=dict)  # e.g. the copied token, in memory only
    answered: set[str] = field(default_factory=set)
    last_state: str = ""
    state_run: dict[str, Any] = field(default_factory=dict)  # the run as last read


class Autopilot:
    """Answers every human step of one offboarding run (and of the handover runs it starts)."""

    def __init__(self, sandbox: Sandbox, prefect_api: str, run_id: str, say: Callable[[str], None],
                 *, act: bool = True, browser: Any = None, began: float | None = None,
                 auth_string: str | None = None) -> None:  # fmt: skip
        """*auth_string*: the Prefect server's ``user:password`` (default: PREFECT_API_AUTH_STRING)."""
        self.sandbox, self.run_id, self.say, self.act, self.browser = sandbox, run_id, say, act, browser
        self.http = prefect_http(prefect_api, timeout=30, auth_string=auth_string)
        self.began = began or time.monotonic()
        self.urls = sandbox.urls
        self.passwords = sandbox_passwords()
        self.handovers: dict[str, Handover] = {}
        self.approved = False
        self._parent: dict[str, Any] | None = None

    def log(self, text: str) -> None:
        self.say(f"[{time.monotonic() - self.began:6.1f}s] {text}")

    def run(self, timeout: float = 1500) -> dict[str, Any]:
        """Until the offboarding run ends; returns its final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            parent = self.http.get(f"flow_runs/{self.run_id}").json()
            if parent["state"]["type"] in FINAL:
                self.follow_children()
                return dict(parent["state"])
            if not self.approved and paused_at(self.http, parent) == "approve-offboarding":
                self.approve()
            for handover in self.follow_children():
                key = paused_at(self.http, handover.state_run)
                if key and key not in handover.answered:
                    self.step(handover, key)
            time.sleep(1)
        raise TimeoutError(f"the offboarding run {self.run_id} did not finish in {timeout:.0f} s")

    def approve(self) -> None:
        message = pages.step_message(self.sandbox.world, self.run_id, "approve-offboarding")
        if not self.act:
            self.log("the plan waits for an approver who is not the requester: click Approve in #it-handover as bob@")
            self.approved = True  # said once; the run goes on when the person clicks
            return
        self.log(f"approval: {APPROVER} reviews the plan and clicks Approve in the Slack stand-in")
        pages.click(self.sandbox.world, APPROVER, message, "baton_approve")
        self.approved = True

    def follow_children(self) -> list[Handover]:
        runs = self._children()
        found = []
        for run in runs:
            ident = next((t.split(":", 1)[1] for t in run["tags"] if t.startswith("baton-integration:")), run["name"])
            handover = self.handovers.get(ident)
            if handover is None or handover.run_id != run["id"]:
                flow = self.http.get(f"flows/{run['flow_id']}").json()["name"]
                handover = Handover(ident, run["id"], flow, dict(run["parameters"].get("request") or {}))
                self.handovers[ident] = handover
                self.log(f"{ident}: run {run['id']} of {flow} started")
            state = run["state"]["type"]
            if state != handover.last_state and state in FINAL:
                self.log(f"{ident}: {state} {run['state'].get('message') or ''}".rstrip())
            handover.last_state = state
            handover.state_run = run
            found.append(handover)
        return found

    def _children(self) -> list[dict[str, Any]]:
        """Handover runs of this offboarding: the leaver's tag, created after the offboarding run."""
        if self._parent is None:
            self._parent = self.http.get(f"flow_runs/{self.run_id}").json()
        person = (self._parent["parameters"].get("request") or {}).get("person", "")
        since = dt.datetime.fromisoformat(self._parent["created"])
        body = {"flow_runs": {"tags": {"all_": [f"baton-leaver:{person}"]}}, "sort": "EXPECTED_START_TIME_ASC",
                "limit": 50}  # fmt: skip
        runs = self.http.post("flow_runs/filter", json=body).json()
        return [r for r in runs if r["id"] != self.run_id and dt.datetime.fromisoformat(r["created"]) >= since]

    def step(self, handover: Handover, key: str) -> None:
        message = pages.step_message(self.sandbox.world, handover.run_id, key)
        found = pages.links(message)
        handover.answered.add(key)
        if not self.act:
            self.log(f"{handover.ident}: step {key} waits for you; in #it-handover, or open:")
            for label, url in found.items():
                self.say(f"           {label}: {url}")
            return  # said once; the run goes on when the person answers
        if handover.page is None:
            handover.page = pages.loopback_page(self.browser)
            self.sign_in_first(handover)
        started = time.monotonic()
        what, press_done = self.do(handover, key, found)
        self.log(f"{handover.ident}: step {key}: {what} ({time.monotonic() - started:.1f} s)")
        if press_done:
            pages.click(self.sandbox.world, APPROVER, message)

    def sign_in_first(self, handover: Handover) -> None:
        """bob starts signed in where his day starts (the guides' warnings are about exactly this)."""
        page = handover.page
        if handover.flow == "rotate-salesforce-jira-connector":
            pages.salesforce_login(page, self.urls["salesforce"], APPROVER, self.passwords[f"sf:{APPROVER}"])
        elif handover.flow == "change-intercom-app-user":
            page.goto(self.urls["jira"] + "/login")
            pages.jira_login_if_asked(page)
            pages.intercom_sign_in(page, self.urls["intercom"])

    def do(self, handover: Handover, key: str, found: dict[str, str]) -> tuple[str, bool]:
        """Do step *key* of *handover* in its page; (what was done, whether to press Done in Slack)."""
        page, req = handover.page, handover.request
        if handover.flow == "rotate-salesforce-jira-connector":
            successor = str(req["successor"])
            if key == "sf-logout":
                page.goto(found["Salesforce: log out"])
                return "bob logs out of Salesforce", True
            if key == "jira-revoke":
                pages.revoke_in_jira(page, found)
                return "bob clicks Revoke on the connection's Configure page in Jira", True
            if key.startswith("authorize"):
                if "Salesforce: log out" in found:
                    page.goto(found["Salesforce: log out"])
                password = pages.password_from(page, found) or self.passwords[f"sf:{successor}"]
                pages.authorize_in_jira(page, found, successor, password)
                return f"Authorize in Jira, Salesforce login as {successor}, Allow", True
            if key == "api-token":
                handover.carried["token"] = pages.copy_api_token(page, found)
                pages.deposit(page, found, handover.carried["token"])
                return "API access token copied in Jira, pasted into Baton's one-time deposit page (Vault)", False
            if key == "sf-package-save":
                pages.save_in_salesforce(page, found, handover.carried.pop("token"))
                return "token pasted in Salesforce's package Configure page, Save", True
        if handover.flow == "change-intercom-app-user":
            email = str(req["successor"])
            if key == "jira-logout":
                page.goto(found["Jira: log out"])
                return "bob logs out of Jira", True
            if key == "intercom-uninstall":
                pages.intercom_uninstall(page, found)
                return "Uninstall on the app's page in Intercom", True
            if key == "intercom-reinstall":
                password = self.passwords.get(f"jira:{email}", "Intercom-app-Passw0rd-1")
                invited = pages.accept_invitation(page, self.urls["admin"], email, password)
                pages.intercom_reinstall(page, found, "" if invited else email, password)
                how = "Atlassian's invitation accepted, " if invited else f"Jira login as {email}, "
                return how + "Install in Intercom, Accept", True
            if key == "intercom-app-info":
                shown = pages.intercom_app_user(page, found)
                if email not in shown:
                    raise RuntimeError(f"App info shows {shown!r}, not {email}")
                return f"App info shows {shown}", True
        if handover.flow == "create-jotform-api-only-user":
            if key == "verify-email":
                pages.verify_email(page, self.urls["admin"], str(req["email"]))
                return f"the verification link in {req['email']}'s mailbox opened", True
            if key == "jotform-authenticate":
                mapping = {"fullName": "LastName", "email": "Email", "company": "Company"}
                pages.jotform_authenticate(page, found, str(req["username"]), mapping)
                return f"Jotform > Salesforce > Authenticate as {req['username']}, Allow, mapping, Save", True
        raise RuntimeError(f"the autopilot does not know step {key} of {handover.flow}; answer it in Slack")
