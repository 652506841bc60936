"""offboard_person end to end against real Prefect, OpenBao, the sandbox and the gateway.

The handovers are TEST-ONLY stand-in deployments (tests/flows/handover_standins.py, served with
``serve()``): real runs of real deployments that succeed or fail as their catalog parameters say. The
approval is a signed Slack click by bob (carol asked: she may not approve).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from baton.devstack import PrefectServer, free_port
from baton.stackenv import settings_from
from clients.factory import custody_from, slack_from
from clients.prefect_api import prefect_http
from gateway.app import build, create_app
from sandbox.okta import OktaEventHook
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess, RunningGateway, wait_paused

FLOW = "flows.offboarding:offboard_person"
SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
STANDINS = ROOT / "tests" / "flows" / "handover_standins.py"
ALICE = "alice@acme.example"
SHIPPED = ROOT / "deployments" / "catalog" / "alice-leaving.yaml"
IDS = ["salesforce-jira-cloud", "salesforce-jira-server", "intercom-jira-app", "jotform-contact-sales"]


@pytest.fixture(scope="module")
def standins(
    baton_env: dict[str, str], prefect_server: PrefectServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """The stand-in handover deployments, served by a process of their own for this module."""
    here = tmp_path_factory.mktemp("standins")
    log = here / "serve.log"
    env = {**__import__("os").environ, **baton_env, "PREFECT_RUNNER_POLL_FREQUENCY": "1",
           "BATON_CATALOG_PATH": str(catalog(here))}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, str(STANDINS)], env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        with prefect_http(prefect_server.api_url) as http:
            while True:
                names = [
                    f"{n}/standin"
                    for n in (
                        "rotate-salesforce-jira-connector",
                        "change-intercom-app-user",
                        "create-jotform-api-only-user",
                    )
                ] + ["offboard-person/test"]
                if all(http.get(f"deployments/name/{name}").status_code == 200 for name in names):
                    break
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def alice_unfrozen(sandbox: Sandbox) -> Iterator[None]:
    """alice's UserLogin is thawed afterwards (other tests use the session's sandbox)."""
    yield
    org = org_of(sandbox.world)
    user = org.user_by_username(ALICE)
    assert user is not None
    with sandbox.world.lock:
        login = org.store.first("UserLogin", UserId=user["Id"])
        assert login is not None
        login["IsFrozen"] = False


@contextlib.contextmanager
def hook_gateway(env: dict[str, str]) -> Iterator[str]:
    """A second gateway, in this process, whose hooks start *env*'s BATON_OFFBOARDING_DEPLOYMENT."""
    settings = settings_from(env)
    app = create_app(build(settings, custody_from(settings), slack_from(settings)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def frozen(sandbox: Sandbox) -> bool:
    org = org_of(sandbox.world)
    user = org.user_by_username(ALICE)
    assert user is not None
    login = org.store.first("UserLogin", UserId=user["Id"])
    return bool(login and login["IsFrozen"])


def catalog(tmp_path: Path, **outcomes: str) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    for entry in data["integrations"]:
        entry["deployment"] = f"{entry['flow']}/standin"
        entry["parameters"] = {
            **entry["parameters"],
            "standin": outcomes.get(entry["id"], "done"),
            "standin_seconds": 1,
        }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def start(env: dict[str, str], path: Path, **request: Any) -> FlowProcess:
    params = {"request": {"person": ALICE, "requested_by": "carol@acme.example", **request}}
    return FlowProcess(SCRIPT, {**env, "BATON_CATALOG_PATH": str(path)}, FLOW, json.dumps(params, default=str))


def approve(sandbox: Sandbox, api: str, after: float, flow: FlowProcess) -> str:
    """Wait for the approval step of a run started after *after*, refuse carol's own click, approve as bob."""
    run = wait_paused(api, "offboard-person", key="approve-offboarding", timeout=180)
    assert dt.datetime.fromisoformat(run["created"]).timestamp() >= after - 5, flow.output()[-2000:]
    message = None
    for _ in range(100):
        for candidate in reversed(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)):
            if run["id"] in json.dumps(candidate.get("blocks") or []) and "approve-offboarding" in json.dumps(
                candidate.get("blocks") or []
            ):
                message = candidate
                break
        if message:
            break
        time.sleep(0.2)
    assert message is not None, "no approval message in Slack"
    assert (
        state_of(sandbox.world).click("carol@acme.example", "C0HANDOVER", message["ts"], "baton_approve").status == 200
    )
    time.sleep(1)
    assert prefect_http(api).get(f"flow_runs/{run['id']}").json()["state"]["type"] == "PAUSED", "the requester approved"
    assert state_of(sandbox.world).click("bob@acme.example", "C0HANDOVER", message["ts"], "baton_approve").status == 200
    return str(run["id"])


def child_runs(api: str, parent_tags: list[str], states: list[str] | None = None) -> list[dict[str, Any]]:
    body: dict[str, Any] = {"flow_runs": {"tags": {"all_": parent_tags}}, "limit": 50}
    if states:
        body["flow_runs"]["state"] = {"type": {"any_": states}}
    with prefect_http(api) as http:
        return list(http.post("flow_runs/filter", json=body).json())


def test_every_handover_verified_then_alice_is_frozen(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, gateway: RunningGateway,
    standins: None, alice_unfrozen: None, tmp_path: Path,
) -> None:  # fmt: skip
    began = time.time()
    flow = start(baton_env, catalog(tmp_path))
    run_id = approve(sandbox, prefect_server.api_url, began, flow)
    assert not frozen(sandbox), "frozen before the handovers"
    result = flow.wait(timeout=300)
    assert result["status"].startswith("done: every handover verified"), (result, flow.output()[-3000:])
    assert result["frozen"] is True and frozen(sandbox)
    assert result["still_running_as_leaver"] == []
    assert {ident: state["type"] for ident, state in result["handovers"].items()} == dict.fromkeys(IDS, "COMPLETED")
    children = {r["id"] for r in child_runs(prefect_server.api_url, ["offboarding", f"baton-leaver:{ALICE}"])}
    assert {state["run_id"] for state in result["handovers"].values()} <= children
    for state in result["handovers"].values():  # each its own run, of its own deployment, with the catalog's request
        run = prefect_http(prefect_server.api_url).get(f"flow_runs/{state['run_id']}").json()
        assert run["deployment_id"] and run["parameters"]["request"]["requested_by"] == "carol@acme.example"
    with prefect_http(prefect_server.api_url) as http:
        artifact = http.get("artifacts/offboarding-summary/latest").json()
    assert artifact["flow_run_id"] == run_id and all(ident in artifact["data"] for ident in IDS)
    with prefect_http(prefect_server.api_url) as http:
        planned = http.get("artifacts/offboarding-plan/latest").json()
    assert planned["flow_run_id"] == run_id and "alice@acme.example -> jotform-api@acme.example" in planned["data"]
    thread = json.dumps(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)[-3:])
    assert "every handover verified" in thread


def test_a_failed_handover_leaves_alice_unfrozen_and_is_named(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, gateway: RunningGateway,
    standins: None, alice_unfrozen: None, tmp_path: Path,
) -> None:  # fmt: skip
    began = time.time()
    flow = start(baton_env, catalog(tmp_path, **{"jotform-contact-sales": "fail", "intercom-jira-app": "problem"}))
    approve(sandbox, prefect_server.api_url, began, flow)
    result = flow.wait(timeout=300)
    assert result["status"].startswith("partial: "), result
    assert "jotform-contact-sales" in result["status"] and "intercom-jira-app" in result["status"]
    assert sorted(result["still_running_as_leaver"]) == ["intercom-jira-app", "jotform-contact-sales"]
    assert result["frozen"] is False and not frozen(sandbox)
    assert result["handovers"]["jotform-contact-sales"]["type"] == "FAILED"
    assert result["handovers"]["salesforce-jira-cloud"]["type"] == "COMPLETED"


def test_a_leave_date_ahead_is_approved_now_scheduled_moved_and_cancelled(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, gateway: RunningGateway,
    standins: None, alice_unfrozen: None, tmp_path: Path,
) -> None:  # fmt: skip
    api = prefect_server.api_url
    path = catalog(tmp_path)
    leave = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(microsecond=0)
    began = time.time()
    watcher = start(baton_env, path, leave_at=leave.isoformat(), event_id=f"evt-{uuid.uuid4().hex[:8]}")
    approve(sandbox, api, began, watcher)  # asked at once, three days ahead
    expected = {
        "salesforce-jira-cloud": 20,
        "salesforce-jira-server": 20,
        "intercom-jira-app": 15,
        "jotform-contact-sales": 25,
    }

    def scheduled() -> dict[str, dt.datetime]:
        runs = child_runs(api, [f"baton-leaver:{ALICE}"], ["SCHEDULED"])
        found = {}
        for run in runs:
            ident = next(t.split(":", 1)[1] for t in run["tags"] if t.startswith("baton-integration:"))
            found[ident] = dt.datetime.fromisoformat(run["state"]["state_details"]["scheduled_time"])
        return found

    deadline = time.monotonic() + 120
    while len(scheduled()) < 4:
        assert time.monotonic() < deadline and watcher.proc.poll() is None, watcher.output()[-3000:]
        time.sleep(0.5)
    margin = dt.timedelta(minutes=120)  # BATON_HANDOVER_MARGIN_MINUTES's default
    for ident, when in scheduled().items():
        assert when == leave - margin - dt.timedelta(minutes=expected[ident]), (ident, when)
        assert when + dt.timedelta(minutes=expected[ident]) < leave

    moved_to = leave + dt.timedelta(days=1)
    mover = start(baton_env, path, leave_at=moved_to.isoformat())
    assert mover.wait(timeout=180)["status"] == "moved"
    for ident, when in scheduled().items():
        assert when == moved_to - margin - dt.timedelta(minutes=expected[ident]), (ident, when)

    canceller = start(baton_env, path, cancel=True)
    assert canceller.wait(timeout=180)["status"] == "cancelled"
    assert scheduled() == {}
    cancelled = child_runs(api, [f"baton-leaver:{ALICE}"], ["CANCELLED"])
    assert {next(t for t in r["tags"] if t.startswith("baton-integration:")) for r in cancelled} >= {
        f"baton-integration:{ident}" for ident in IDS
    }
    result = watcher.wait(timeout=120)  # the run that watched them ends, and alice stays unfrozen
    assert result["frozen"] is False and not frozen(sandbox)
    assert result["status"].startswith("partial: ")


def test_waiting_a_day_before_the_leave_date_escalates_and_leaving_now_runs_what_was_scheduled(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, gateway: RunningGateway,
    standins: None, alice_unfrozen: None, tmp_path: Path,
) -> None:  # fmt: skip
    api = prefect_server.api_url
    path = catalog(tmp_path)
    leave = dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)  # the handovers are scheduled, less than a day ahead
    began = time.time()
    watcher = start(baton_env, path, leave_at=leave.isoformat())
    approve(sandbox, api, began, watcher)
    deadline = time.monotonic() + 120
    escalation = None
    while escalation is None:
        assert time.monotonic() < deadline and watcher.proc.poll() is None, watcher.output()[-3000:]
        for message in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True):
            text = json.dumps(message.get("blocks") or [])
            if ":rotating_light:" in text and ALICE in text and float(message["ts"]) >= began:
                escalation = text
        time.sleep(0.5)
    assert "@it-escalation" in escalation and "still waiting" in escalation and "stays unfrozen" in escalation
    assert len(child_runs(api, [f"baton-leaver:{ALICE}"], ["SCHEDULED"])) == 4

    now = start(baton_env, path)  # a second event: alice leaves now; no second approval, no second set of runs
    assert now.wait(timeout=180)["status"] == "moved"
    result = watcher.wait(timeout=300)
    assert result["status"].startswith("done: every handover verified"), (result, watcher.output()[-3000:])
    assert result["frozen"] is True and frozen(sandbox)
    for ident in IDS:  # exactly one run per integration for this offboarding
        tagged = child_runs(api, [f"baton-leaver:{ALICE}", f"baton-integration:{ident}"], ["COMPLETED"])
        assert result["handovers"][ident]["run_id"] in {r["id"] for r in tagged}
        assert sum(1 for r in tagged if dt.datetime.fromisoformat(r["created"]).timestamp() >= began - 5) == 1


def test_plan_mode_reports_what_is_not_in_the_catalog_and_changes_nothing(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, tmp_path: Path
) -> None:
    org = org_of(sandbox.world)
    org.register_connected_app("Zapier", "zapier-client-0001", "zapier-secret-0001", ["https://zapier.com/cb"])
    org.grant("Zapier", ALICE)  # alice authorised Zapier too; nobody told the catalog
    messages = len(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True))
    try:
        flow = FlowProcess(
            SCRIPT, {**baton_env, "BATON_CATALOG_PATH": str(catalog(tmp_path))}, FLOW,
            json.dumps({"request": {"person": ALICE, "requested_by": "carol@acme.example"}, "plan": True}),
        )  # fmt: skip
        result = flow.wait(timeout=180)
    finally:
        user = org.user_by_username(ALICE)
        assert user is not None
        for row in org.oauth_tokens_for(user["Id"]):
            if row["AppName"] == "Zapier":
                org.revoke_row(row["Id"])
    missing = result["discovery"]["not_in_catalog"]
    assert [m["name"] for m in missing] == ["Zapier"], result
    assert "no handover flow knows the connected app 'Zapier'" in missing[0]["add"]
    assert "Found, but not in the catalog" in result["plan"] and "Zapier" in result["plan"]
    assert [h["integration_id"] for h in result["handovers"]] == IDS
    assert len(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)) == messages  # nothing posted


def test_a_bad_catalog_is_refused_naming_the_entry_and_field_before_anything_runs(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, tmp_path: Path
) -> None:
    data = yaml.safe_load(SHIPPED.read_text())
    data["integrations"][2]["successor"] = "intercom-app"  # not an address
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    messages = len(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True))
    before = len(child_runs(prefect_server.api_url, [f"baton-leaver:{ALICE}"]))
    result = start(baton_env, path).wait(timeout=180)
    assert result["type"] == "CatalogError", result
    assert "integrations[intercom-jira-app].successor" in result["error"] and "nothing was run" in result["error"]
    assert len(state_of(sandbox.world).messages("C0HANDOVER", include_replies=True)) == messages
    assert len(child_runs(prefect_server.api_url, [f"baton-leaver:{ALICE}"])) == before
    assert not frozen(sandbox)


def test_an_okta_deactivate_offboards_alice_through_the_deployment(
    sandbox: Sandbox, baton_env: dict[str, str], prefect_server: PrefectServer, gateway: RunningGateway,
    standins: None, alice_unfrozen: None,
) -> None:  # fmt: skip
    """The production path: Okta (the stand-in) delivers user.lifecycle.deactivate to a gateway whose hook starts
    the real offboard-person deployment; the approval suspends the run (no process waits), the click resumes
    it on a new process, every handover is verified and alice is frozen."""
    api = prefect_server.api_url
    began = time.time()
    with hook_gateway({**baton_env, "BATON_OFFBOARDING_DEPLOYMENT": "offboard-person/test"}) as url:
        okta = OktaEventHook(uri=url + "/hooks/okta", auth_value=baton_env["BATON_OKTA_HOOK_SECRET"])
        assert okta.verify()
        event, reply = okta.deactivate(ALICE, actor="carol@acme.example")  # carol deactivated alice in Okta
        assert reply.status_code == 200, reply.text
        created = {"id": reply.json()["started"][0]["flow_run_id"]}
        assert okta.deliver(event).json()["started"][0]["flow_run_id"] == created["id"]  # a redelivery: same run
    waiting = wait_paused(api, "offboard-person", key="approve-offboarding", timeout=180)
    assert waiting["id"] == created["id"] and waiting["state"]["name"] == "Suspended"

    class _Run:  # approve() reads a process's output only to explain a failure
        def output(self) -> str:
            return "(served by the stand-ins' process)"

    assert approve(sandbox, api, began, _Run()) == created["id"]  # type: ignore[arg-type]
    deadline = time.monotonic() + 300
    while True:
        run = prefect_http(api).get(f"flow_runs/{created['id']}").json()
        if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        assert time.monotonic() < deadline, run["state"]
        time.sleep(1)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    assert frozen(sandbox)
    with prefect_http(api) as http:
        artifact = http.get("artifacts/offboarding-summary/latest").json()
    assert artifact["flow_run_id"] == created["id"] and "every handover verified" in artifact["data"]
