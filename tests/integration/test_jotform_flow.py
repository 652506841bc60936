"""create-jotform-api-only-user end to end: real Prefect, real OpenBao, the sandbox, the gateway.

The person's part is played over HTTP as a person would do it: Slack clicks (signed by the Slack
stand-in, through the gateway), the verification link from the new user's inbox, the password from
the one-time reveal page, and Jotform's integration pages with Salesforce's login and consent forms.
"""

from __future__ import annotations

import html
import json
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.prefect_api import prefect_http
from clients.vault import Custody, VaultAuth, connect
from flows.jotform_api_only_user import STEPS
from sandbox.faults import FaultRule
from sandbox.jotform.state import Form, account, integration
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess, RunningGateway

FLOW = "flows.jotform_api_only_user:create_jotform_api_only_user"
FLOW_NAME = "create-jotform-api-only-user"
SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
GATED = ROOT / "tests" / "flows" / "run_flow_gated.py"
SEED_FORM = "241118435271045"  # "Contact Sales" in the shipped scenario
PROFILE = "Minimum Access - API Only Integrations"
PREFIX = f"jf{uuid.uuid4().hex[:4]}"
EXTRA_SEATS = 6


# -- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(baton_env: dict[str, str]) -> dict[str, str]:
    return {**baton_env, "BATON_JOTFORM_API_KEY": "jf-apikey-acme-0001"}


@pytest.fixture(scope="module", autouse=True)
def seats(sandbox: Sandbox) -> Iterator[None]:
    """The shipped org has two Salesforce Integration seats; these tests make more API-only users, so the
    org gets a few more seats, and gives them back (users deactivated, licences unassigned) afterwards."""
    org = org_of(sandbox.world)
    with sandbox.world.lock:
        licences = [
            org.store.first("UserLicense", Name="Salesforce Integration"),
            org.store.first("PermissionSetLicense", MasterLabel="Salesforce API Integration"),
        ]
        for lic in licences:
            lic["TotalLicenses"] += EXTRA_SEATS  # type: ignore[index]
    yield
    with sandbox.world.lock:
        for user in org.store.all("User"):
            if user["Username"].startswith(PREFIX) and user["IsActive"]:
                org.update("User", user["Id"], {"IsActive": False})
                for row in org.store.find("PermissionSetLicenseAssign", AssigneeId=user["Id"]):
                    org.delete("PermissionSetLicenseAssign", row["Id"])
        for lic in licences:
            lic["TotalLicenses"] -= EXTRA_SEATS  # type: ignore[index]


def _new_form(sandbox: Sandbox) -> str:
    """A Jotform form of its own for one test (the seeded form's fields), so tests don't share its integration."""
    state = account(sandbox.world)
    with sandbox.world.lock:
        form_id = str(900_000_000_000_000 + len(state.forms))
        fields = [dict(q) for q in state.forms[SEED_FORM].fields]
        state.forms[form_id] = Form(form_id, f"Baton test form {form_id}", fields)
    return form_id


def _params(tag: str, form_id: str, **over: Any) -> dict[str, Any]:
    username = f"{PREFIX}.{tag}@acme.example"
    return {
        "first_name": "Jotform", "last_name": "Integration", "email": username, "username": username,
        "alias": "jotform", "permission_set_name": f"Jotform_API_{PREFIX}_{tag}",
        "permission_set_label": "Jotform API access", "form_id": form_id, "requested_by": "carol@acme.example",
        **over,
    }  # fmt: skip


def _custody(openbao: OpenBaoDevServer) -> Custody:
    return Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))


def _vault_path(username: str) -> str:
    return "baton/integrations/jotform-salesforce-" + re.sub(r"[^a-z0-9]+", "-", username).strip("-") + "/password"


def _counts(sandbox: Sandbox, params: dict[str, Any]) -> dict[str, int]:
    org = org_of(sandbox.world)
    with sandbox.world.lock:
        users = [u for u in org.store.all("User") if u["Username"].lower() == params["username"].lower()]
        ids = {u["Id"] for u in users}
        sets = [p for p in org.store.all("PermissionSet") if p["Name"].lower() == params["permission_set_name"].lower()]
        return {
            "users": len(users),
            "permission_sets": len(sets),
            "licence_assignments": sum(
                1 for a in org.store.all("PermissionSetLicenseAssign") if a["AssigneeId"] in ids
            ),
            "set_assignments": sum(
                1 for a in org.store.all("PermissionSetAssignment")
                if a["AssigneeId"] in ids and any(a["PermissionSetId"] == p["Id"] for p in sets)
            ),
            "all_users": len(org.store.all("User")),
            "all_permission_sets": len(org.store.all("PermissionSet")),
            "all_assignments": len(org.store.all("PermissionSetAssignment"))
            + len(org.store.all("PermissionSetLicenseAssign")),
        }  # fmt: skip


# -- the person's part ---------------------------------------------------------------------------------


@dataclass
class Person:
    """Answers the run's human steps as a person would (Slack, inbox, reveal page, Jotform + Salesforce pages)."""

    sandbox: Sandbox
    api_url: str
    params: dict[str, Any]
    answered: list[str] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)
    skip_jotform: bool = False  # presses Done without doing the Jotform part

    def paused_step(self) -> tuple[str, str] | None:
        """(run id, step key) of this request's run if it waits for a person and accepts answers."""
        with prefect_http(self.api_url) as http:
            runs = http.post(
                "flow_runs/filter",
                json={"flows": {"name": {"any_": [FLOW_NAME]}}, "flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}},
                      "sort": "EXPECTED_START_TIME_DESC", "limit": 20},
            ).json()  # fmt: skip
            for run in runs:
                key = run["state"]["state_details"]["pause_key"]
                if (run["parameters"].get("request") or {}).get("username") != self.params["username"] or (
                    run["id"],
                    key,
                ) in self.seen:
                    continue
                schema = f"{run['state']['name'].lower()}-{key}-schema"
                if http.get(f"flow_runs/{run['id']}/input/{schema}").status_code == 200:
                    return run["id"], key
        return None

    def drive(self, flow: FlowProcess, timeout: float = 90) -> str:
        """Answer every step the run asks until its process ends; returns the process output."""
        deadline = time.monotonic() + timeout
        while flow.proc.poll() is None:
            assert time.monotonic() < deadline, flow.output()[-3000:]
            waiting = self.paused_step()
            if waiting is None:
                time.sleep(0.2)
                continue
            run_id, key = waiting
            self.seen.add(waiting)
            message = self.step_message(run_id, key)
            if key == "verify-email":
                self.verify_email()
            elif key == "jotform-authenticate":
                if not self.skip_jotform:
                    self.authenticate_jotform(message)
            else:
                raise AssertionError(f"unexpected step {key}")
            click = state_of(self.sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_done")
            assert click.status == 200, click.body
            self.answered.append(key)
        return flow.output()

    def step_message(self, run_id: str, key: str) -> dict[str, Any]:
        for message in reversed(state_of(self.sandbox.world).messages("C0HANDOVER", include_replies=True)):
            text = json.dumps(message.get("blocks") or [])
            if run_id in text and f'\\"key\\": \\"{key}\\"' in text:
                return message
        raise AssertionError(f"no Slack message for step {key} of run {run_id}")

    def verify_email(self) -> None:
        """Open the new user's mailbox (the sandbox's inbox page) and follow the verification link."""
        address = self.params["email"]
        mails = httpx.get(f"{self.sandbox.urls['admin']}/inbox/{address}.json").json()
        links = [link for mail in mails for link in mail["links"] if "/verify?" in link]
        assert links, mails
        page = httpx.get(links[-1], verify=ssl.create_default_context(cafile=self.sandbox.ca_file))
        assert page.status_code == 200 and "API Only" in page.text, page.text

    def authenticate_jotform(self, message: dict[str, Any]) -> None:
        """Reveal the password once, then Jotform > Authenticate > Salesforce login + Allow > mapping > Save."""
        blocks = json.dumps(message["blocks"])
        reveal = re.search(r"<(http://127\.0\.0\.1:\d+/reveal/[A-Za-z0-9_-]+)\|", blocks)
        page = re.search(r"<(http[^|>]+/settings/integrations/salesforce)\|", blocks)
        assert reveal and page, blocks
        shown = httpx.get(reveal.group(1))
        secret = re.search(r'<code id="secret">([^<]+)</code>', shown.text)
        assert shown.status_code == 200 and secret, shown.text
        password = html.unescape(secret.group(1))
        assert httpx.get(reveal.group(1)).status_code == 404  # shown once
        settings_page = page.group(1)
        with httpx.Client(verify=ssl.create_default_context(cafile=self.sandbox.ca_file), timeout=10) as browser:
            to_sf = browser.post(settings_page + "/authenticate")
            assert to_sf.status_code == 303, to_sf.text
            login = browser.get(to_sf.headers["location"])
            assert login.status_code == 302, login.text
            login_url = login.url.join(login.headers["location"])
            start = login_url.params["startURL"]
            signed_in = browser.post(
                str(login_url.join("/")), data={"username": self.params["username"], "pw": password, "startURL": start}
            )
            assert signed_in.status_code == 302, signed_in.text
            consent = browser.get(str(signed_in.url.join(signed_in.headers["location"])))
            hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent.text))
            assert hidden and "Allow" in consent.text, consent.text
            form = {k: html.unescape(v) for k, v in hidden.items()} | {"decision": "Allow"}
            back = browser.post(str(consent.url.join("/services/oauth2/authorize")), data=form)
            assert back.status_code == 302, back.text
            done = browser.get(back.headers["location"])
            assert done.status_code == 303, done.text
            saved = browser.post(
                settings_page,
                data={"action": "create_or_update", "object": "Lead", "map_email": "Email", "map_fullName": "LastName"},
            )
            assert saved.status_code == 303, saved.text


def _start(env: dict[str, str], params: dict[str, Any], crash_after: int | None = None) -> FlowProcess:
    extra = {"BATON_TEST_CRASH_AFTER": str(crash_after)} if crash_after else {}
    return FlowProcess(SCRIPT, {**env, **extra}, FLOW, json.dumps(params))


class GatedRun:
    """A run whose process starts now (imports) and runs the flow when released (tests/flows/run_flow_gated.py)."""

    def __init__(self, env: dict[str, str], params: dict[str, Any], go: Path) -> None:
        self.go = go
        self.flow = FlowProcess(GATED, {**env, "BATON_TEST_GO_FILE": str(go)}, FLOW, json.dumps(params))

    def release(self, crash_after: int | None) -> None:
        staged = self.go.with_suffix(".tmp")
        staged.write_text(str(crash_after or ""))
        staged.rename(self.go)


def _crashed_after(output: str, n: int) -> str:
    """The task after which the run crashed, checked to be its n-th (and the run printed no result)."""
    crash = re.search(r"CRASHING after task (\S+) \((\d+)\)", output)
    assert crash is not None and int(crash.group(2)) == n and _result(output) is None, output[-2000:]
    return crash.group(1)


def _result(output: str) -> dict[str, Any] | None:
    lines = [line for line in output.splitlines() if line.startswith("RESULT=")]
    return json.loads(lines[-1].removeprefix("RESULT=")) if lines else None


def _assert_set_up(sandbox: Sandbox, openbao: OpenBaoDevServer, params: dict[str, Any]) -> None:
    """Exactly one of each object, Jotform authorized by the user in the org, the password current and working."""
    counts = _counts(sandbox, params)
    assert {k: counts[k] for k in ("users", "permission_sets", "licence_assignments", "set_assignments")} == {
        "users": 1, "permission_sets": 1, "licence_assignments": 1, "set_assignments": 1,
    }  # fmt: skip
    org = org_of(sandbox.world)
    user = org.user_by_username(params["username"])
    assert user is not None
    assert org.profile_of(user)["Name"] == PROFILE
    licence = org.store.get("UserLicense", org.profile_of(user)["UserLicenseId"])
    assert licence is not None and licence["Name"] == "Salesforce Integration"
    ps = org.store.first("PermissionSet", Name=params["permission_set_name"])
    psl = org.store.get("PermissionSetLicense", ps["LicenseId"])  # type: ignore[index]
    assert psl is not None and psl["MasterLabel"] == "Salesforce API Integration"
    tokens = org.store.find("OauthToken", AppName="Jotform", UserId=user["Id"])
    assert len(tokens) == 1
    assert org.authorized_user("Jotform")["Username"] == params["username"]  # type: ignore[index]
    assert org.email_verified(user["Id"])
    state = integration(sandbox.world, params["form_id"])
    assert state is not None and state["status"] == "active" and state["salesforce_user_id"] == user["Id"]
    custody = _custody(openbao)
    described = custody.describe(_vault_path(params["username"]))
    assert described.current_version is not None and described.pending_version is None
    password = custody.read_current(_vault_path(params["username"])).values["password"].get_secret_value()
    assert org.check_login(params["username"], password, kind="Application", token_optional=True)["Id"] == user["Id"]


# -- tests ------------------------------------------------------------------------------------------------


def test_end_to_end_with_people_answering_through_the_gateway(
    env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    params = _params("e2e", _new_form(sandbox))
    person = Person(sandbox, prefect_server.api_url, params)
    flow = _start(env, params)
    try:
        output = person.drive(flow)
    finally:
        flow.kill()
    result = _result(output)
    assert result is not None and result.get("status") == "done", output[-3000:]
    assert person.answered == ["verify-email", "jotform-authenticate"]
    _assert_set_up(sandbox, openbao, params)
    custody = _custody(openbao)
    assert custody.describe(_vault_path(params["username"])).current_version == 1
    # The report: in the Slack thread, with who did each human step and the Vault reference, never a value.
    password = custody.read_current(_vault_path(params["username"])).values["password"].get_secret_value()
    messages = state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)
    summary = next(m for m in reversed(messages) if params["username"] in m["text"] and "Report" in json.dumps(m))
    text = json.dumps(summary["blocks"])
    assert "done by U0BOB0001 via slack (verified)" in text
    assert f"Vault {_vault_path(params['username'])} v1" in text and "Salesforce confirms it" in text
    assert all(password not in json.dumps(m) for m in messages)
    assert password not in output
    # The same report as the run's artifact in Prefect.
    with prefect_http(prefect_server.api_url) as http:
        artifacts = http.post(
            "artifacts/filter", json={"artifacts": {"key": {"any_": ["jotform-api-only-user-report"]}}, "limit": 50}
        ).json()
    report = next(a["data"] for a in artifacts if a["flow_run_id"] == result["flow_run_id"])
    assert "| Verify the new user's e-mail | done by U0BOB0001 via slack (verified)" in report
    assert f"Vault {_vault_path(params['username'])} v1 is current" in report and password not in report


def test_crash_at_every_task_boundary_then_rerun_converges(
    env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer, tmp_path: Path,
) -> None:  # fmt: skip
    """BATON_TEST_CRASH_AFTER=N kills the process right after the N-th task; the next run goes one task
    further. A run in which a person answered a step is followed by a run that skips that step and its
    re-check (Salesforce shows it done), so the same N then lands on the next task. Each run's process
    starts while the previous run goes (run_flow_gated.py) and is released once that one has ended."""
    params = _params("crash", _new_form(sandbox))
    person = Person(sandbox, prefect_server.api_url, params)
    crashed_after: list[str] = []
    warm = GatedRun(env, params, tmp_path / "go-1")
    n, number = 1, 1
    try:
        while True:
            run, number = warm, number + 1
            warm = GatedRun(env, params, tmp_path / f"go-{number}")
            answered_before = len(person.answered)
            run.release(crash_after=n)
            try:
                output = person.drive(run.flow)
            finally:
                run.flow.kill()
            if "CRASHING after task" not in output:
                break
            crashed_after.append(_crashed_after(output, n))
            n += 1 - (len(person.answered) - answered_before)
            assert len(crashed_after) < 20, crashed_after
    finally:
        warm.flow.kill()
    result = _result(output)
    assert result is not None and result.get("status") == "done", output[-3000:]
    assert crashed_after == [
        "find_form", "permission_set_licence", "check_licence", "existing_user", "ensure_permission_set",
        "ensure_user", "ensure_password", "email_verified", "email_verified", "ensure_licence_assignment",
        "ensure_permission_set_assignment", "app_authorization", "app_authorization", "promote_password",
    ]  # fmt: skip
    assert person.answered == ["verify-email", "jotform-authenticate"]  # each person's step once
    _assert_set_up(sandbox, openbao, params)
    custody = _custody(openbao)
    state = custody.describe(_vault_path(params["username"]))
    assert state.current_version == 1 and state.latest_version == 1  # one generated password, reused after crashes
    mails = sandbox.world.mails_for(params["email"])
    assert len([m for m in mails if "Verify" in m.subject]) == 1  # the user was created once


def test_plan_mode_lists_every_step_and_changes_nothing(
    env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    params = _params("plan", _new_form(sandbox), plan=True)
    before = _counts(sandbox, params)
    flow = _start(env, params)
    try:
        result = flow.wait(timeout=60)
    finally:
        flow.kill()
    plan = result["plan"]
    for number, step in enumerate(STEPS.values(), 1):
        mark = "AUTO  " if step.who == "automatic" else "PERSON"
        assert f"{number:2}. [{mark}] {step.title}" in plan, plan
    assert "[PERSON] Verify the new user's e-mail" in plan
    assert "[PERSON] Authenticate Jotform as the API-only user" in plan
    assert _counts(sandbox, params) == before
    assert not sandbox.world.mails_for(params["email"])


def test_bad_input_names_the_field_and_changes_nothing(
    env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer
) -> None:
    bad = _params("bad", _new_form(sandbox), permission_set_name="Jotform API", email="not-an-email")
    unknown_form = _params("bad2", "123456789012345")
    before = [_counts(sandbox, bad), _counts(sandbox, unknown_form)]
    flows = [_start(env, bad), _start(env, unknown_form)]
    try:
        results = [flow.wait(timeout=60) for flow in flows]
    finally:
        for flow in flows:
            flow.kill()
    assert results[0]["type"] == "InvalidRequest", results[0]
    assert "permission_set_name" in results[0]["error"] and "email" in results[0]["error"]
    assert "nothing was changed" in results[0]["error"]
    assert results[1]["type"] == "JotformError", results[1]
    assert "HTTP 404" in results[1]["error"] and "form_id" in results[1]["error"]
    assert [_counts(sandbox, bad), _counts(sandbox, unknown_form)] == before
    # The run that got as far as Slack says there why it stopped, and that nothing was done.
    messages = [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]
    assert any("Stopped" in m and "123456789012345" in m and "Done so far: nothing" in m for m in messages)


def test_salesforce_limit_is_retried_and_the_flow_completes(
    env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    params = _params("fault", _new_form(sandbox))
    person = Person(sandbox, prefect_server.api_url, params)
    for rule in (
        {"host": "salesforce", "route": "/query", "kind": "limit", "count": 1},
        {"host": "salesforce", "route": "/sobjects/PermissionSetAssignment", "kind": "unavailable", "count": 1},
    ):
        sandbox.world.faults.add(FaultRule.from_dict(rule))
    flow = _start(env, params)
    try:
        output = person.drive(flow)
    finally:
        flow.kill()
    result = _result(output)
    assert result is not None and result.get("status") == "done", output[-3000:]
    assert "REQUEST_LIMIT_EXCEEDED" in output and "SERVER_UNAVAILABLE" in output
    assert output.count("Retry 1/3 will start") >= 2, output[-3000:]
    _assert_set_up(sandbox, openbao, params)


def test_done_without_authenticating_in_jotform_fails_naming_what_to_redo(
    env: dict[str, str], gateway: RunningGateway, sandbox: Sandbox, prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    params = _params("lazy", _new_form(sandbox))
    person = Person(sandbox, prefect_server.api_url, params, skip_jotform=True)
    flow = _start(env, params)
    try:
        output = person.drive(flow)
    finally:
        flow.kill()
    result = _result(output)
    assert result is not None and result.get("type") == "StepNotDone", output[-3000:]
    assert f"Jotform is not authorized by {params['username']}" in result["error"]
    assert f"press Authenticate, log in as {params['username']} (not as yourself), press Allow" in result["error"]
    assert "the latest Jotform authorization in the org is by" in result["error"]
    state = _custody(openbao).describe(_vault_path(params["username"]))
    assert state.current_version is None and state.pending_version == 1  # never promoted: not proven
    assert _counts(sandbox, params)["set_assignments"] == 1
    messages = [json.dumps(m) for m in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)]
    assert any("Stopped" in m and "Jotform is not authorized by" in m for m in messages)
