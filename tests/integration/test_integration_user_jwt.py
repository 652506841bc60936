"""create-salesforce-integration-user with credential_mode="jwt": no person at all. Real Prefect, real OpenBao,
the sandbox. The login restrictions are set by Metadata API and read back (a login from outside the ranges
fails), the profile is a real clone (equal to its source except the restrictions asked for), the private key
is current in Vault and nowhere in Prefect or Slack, a crash at every task boundary converges, and the plan of
each mode counts the steps that need a person. The fallback: an org that refuses the Metadata API call gets
the login-restrictions step as a person's task, naming the missing permission."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.salesforce import SalesforceClient, SalesforceError, make_session
from clients.vault import Custody, VaultAuth, VaultNotFound, connect
from sandbox.salesforce import org_of
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.harness import ROOT, FlowProcess, step_message, wait_paused
from tests.leakscan import Scan

FLOW = "flows.salesforce_integration_user:create_salesforce_integration_user"
SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
KEY_PATH = "baton/salesforce/jwt/baton-integration/key"
ALL_WEEK = [
    f"{day} 00:00-24:00" for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
]
HUMAN_KEYS = ("login-restrictions", "oauth-consent", "security-token")


def _params(username: str, clone: str, **extra: Any) -> str:
    return json.dumps({
        "first_name": "Jwt", "last_name": "Integration", "email": username, "username": username, "alias": "jwtint",
        "profile": "Standard Platform User", "clone_profile_as": clone, "disable_permissions": ["RunReports"],
        "role_name": "Integrations", "licence": "Salesforce Platform", "credential_mode": "jwt",
        "login_ip_ranges": ["127.0.0.1-127.0.0.1", "203.0.113.10-203.0.113.20"], "login_hours": ALL_WEEK,
        "requested_by": "bob@acme.example", **extra,
    })  # fmt: skip


def _run(env: dict[str, str], params: str, crash_after: int | None = None) -> FlowProcess:
    extra = {"BATON_TEST_CRASH_AFTER": str(crash_after)} if crash_after else {}
    return FlowProcess(SCRIPT, {**env, **extra}, FLOW, params)


def _custody(openbao: OpenBaoDevServer) -> Custody:
    return Custody(connect(VaultAuth(addr=openbao.addr, token=SecretStr(openbao.root_token))))


def _slug(username: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", username).strip("-")


def _human_messages(sandbox: Sandbox) -> list[str]:
    """Every Slack message that asks a person for one of the flow's human steps."""
    found = []
    for message in state_of(sandbox.world).messages("C0HANDOVER", include_replies=True):
        text = json.dumps(message.get("blocks") or [])
        if any(f'\\"key\\": \\"{k}\\"' in text for k in HUMAN_KEYS):
            found.append(text)
    return found


def _enabled(org: Any, profile: dict[str, Any]) -> set[str]:
    from sandbox.salesforce.mdtypes import permissions_of

    return {name for name, on in permissions_of(profile).items() if on}


def _scan(prefect_server: PrefectServer, sandbox: Sandbox, flows: list[FlowProcess]) -> Scan:
    """Prefect's home (the database with its -wal and -shm, server log, result storage), the flows' logs, Slack."""
    scan = Scan()
    scan.add_path(prefect_server.home)
    for flow in flows:
        scan.add_path(flow.log)
    slack = state_of(sandbox.world)
    scan.add_json("slack", [slack.messages(c, include_replies=True) for c in ("C0HANDOVER", "C0ITAUDIT")])
    return scan


@pytest.fixture
def restore_bob(sandbox: Sandbox) -> Iterator[dict[str, Any]]:
    org = org_of(sandbox.world)
    profile = org.profile_of(org.user_by_username("bob@acme.example"))  # type: ignore[arg-type]
    saved = dict(profile.get("_userPermissions") or {})
    yield profile
    profile["_userPermissions"] = saved


def test_jwt_end_to_end_with_no_person(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer, openbao: OpenBaoDevServer
) -> None:
    username = f"jwt.{uuid.uuid4().hex[:6]}@acme.example"
    clone = f"JWT Integration {uuid.uuid4().hex[:4]}"
    asked_before = len(_human_messages(sandbox))
    flow = _run(baton_env, _params(username, clone))
    try:
        result = flow.wait(timeout=240)
    finally:
        flow.kill()
    assert result.get("status") == "done", (result, flow.output()[-3000:])
    assert len(_human_messages(sandbox)) == asked_before  # nobody was asked anything
    org = org_of(sandbox.world)
    users = [u for u in org.store.all("User") if u["Username"] == username]
    assert len(users) == 1
    profile, source = org.profile_of(users[0]), org.store.first("Profile", Name="Standard Platform User")
    assert profile["Name"] == clone and source is not None
    # the clone: the source's permissions except the restrictions asked for (API Enabled on, RunReports off)
    assert _enabled(org, profile) == (_enabled(org, source) | {"ApiEnabled"}) - {"RunReports"}
    steps = dict(result["steps"])
    assert "RunReports: on → off" in steps["Ensure the profile"]
    # login restrictions set by Metadata API and read back
    assert "set by Metadata API" in steps["Restrict login IP ranges and hours"]
    assert {(r["startAddress"], r["endAddress"]) for r in profile["_loginIpRanges"]} == {
        ("127.0.0.1", "127.0.0.1"), ("203.0.113.10", "203.0.113.20"),
    }  # fmt: skip
    assert profile["_loginHours"]["mondayStart"] == "0" and profile["_loginHours"]["sundayEnd"] == "1440"
    # one grant through one permission set; the JWT grant works as the new user with the key in Vault
    app = org.connected_app("Baton Integration")
    assert app is not None and app.certificate
    ps = org.store.first("PermissionSet", Name="Baton_JWT_Baton_Integration")
    assert ps is not None and len(org.store.find("SetupEntityAccess", ParentId=ps["Id"], SetupEntityId=app.id)) == 1
    assert org.store.first("PermissionSetAssignment", AssigneeId=users[0]["Id"], PermissionSetId=ps["Id"])
    custody = _custody(openbao)
    key = custody.describe(KEY_PATH)
    assert key.current_version is not None and key.pending_version is None
    private = custody.read_current(KEY_PATH).values["private_key"].get_secret_value()
    assert private.startswith("-----BEGIN PRIVATE KEY-----")
    from clients.salesforce_jwt import jwt_bearer_token

    token = jwt_bearer_token(sandbox.urls["salesforce"] + "/services/oauth2/token", app.client_id, username,
                             SecretStr(private), ca_file=sandbox.ca_file)  # fmt: skip
    assert org.whoami(token["access_token"])["Id"] == users[0]["Id"]  # type: ignore[index]
    # a login from outside the ranges fails
    password = custody.read_current(f"baton/integrations/salesforce-{_slug(username)}/password").values["password"]
    session = make_session(sandbox.urls["salesforce"], sandbox.ca_file)
    session.headers["X-Forwarded-For"] = "198.51.100.7"
    with pytest.raises(SalesforceError) as outside:
        SalesforceClient.password_grant(sandbox.urls["salesforce"], "baton-salesforce-client-0001",
                                        "baton-salesforce-secret-0001", username, password.get_secret_value(),
                                        session=session)  # fmt: skip
    assert "ip restricted" in str(outside.value)
    # the private key is nowhere in Prefect (DB, WAL, results, logs) or Slack
    body = "".join(line for line in private.splitlines() if not line.startswith("-----"))
    hits = _scan(prefect_server, sandbox, [flow]).hits([(private, "key"), (body[:64], "key start"),
                                                         (body[-64:], "key end")])  # fmt: skip
    assert not hits, "the private key leaked:\n" + "\n".join(map(str, hits))


def test_crash_at_every_task_boundary_converges(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer, openbao: OpenBaoDevServer
) -> None:
    username = f"jwtcrash.{uuid.uuid4().hex[:6]}@acme.example"
    clone = f"JWT Crash {uuid.uuid4().hex[:4]}"
    params = _params(username, clone)
    org = org_of(sandbox.world)
    custody = _custody(openbao)
    crashes, asked_before = 0, len(_human_messages(sandbox))
    app = org.connected_app("Baton Integration")
    assert app is not None
    app.certificate = None  # as a fresh app: the run must make, stage and place a new key, once
    try:
        latest = custody.describe(KEY_PATH).latest_version
    except VaultNotFound:  # no key yet (this test alone)
        latest = 0
    for n in range(1, 20):
        flow = _run(baton_env, params, crash_after=n)
        flow.proc.wait(timeout=240)
        if flow.proc.returncode != 137:  # ran to the end: fewer tasks than n
            result = flow.wait(timeout=5)
            assert result.get("status") == "done", flow.output()[-3000:]
            break
        crashes += 1
        assert len([u for u in org.store.all("User") if u["Username"] == username]) <= 1
        assert len(org.store.find("Profile", Name=clone)) <= 1
    assert crashes >= 10, f"only {crashes} task boundaries on the jwt path"
    final = _run(baton_env, params).wait(timeout=240)
    assert final.get("status") == "done", final
    users = [u for u in org.store.all("User") if u["Username"] == username]
    assert len(users) == 1 and len(org.store.find("Profile", Name=clone)) == 1
    ps = org.store.first("PermissionSet", Name="Baton_JWT_Baton_Integration")
    assert ps is not None and len(org.store.find("PermissionSet", Name="Baton_JWT_Baton_Integration")) == 1
    assert len(org.store.find("SetupEntityAccess", ParentId=ps["Id"], SetupEntityId=app.id)) == 1
    assert len(org.store.find("PermissionSetAssignment", AssigneeId=users[0]["Id"], PermissionSetId=ps["Id"])) == 1
    key = custody.describe(KEY_PATH)
    assert key.current_version == latest + 1 and key.pending_version is None and key.latest_version == latest + 1
    cert = custody.read_current(KEY_PATH).values["certificate"].get_secret_value()
    assert "".join(cert.split()) == "".join((app.certificate or "").split())  # one current key, on the app
    assert len(_human_messages(sandbox)) == asked_before


@pytest.mark.parametrize(("mode", "people"), [("jwt", 0), ("oauth", 1), ("security_token", 1)])
def test_plan_counts_the_steps_that_need_a_person(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer, mode: str, people: int
) -> None:
    params = json.loads(_params(f"plan.{mode}@acme.example", "Plan Clone"))
    params |= {"credential_mode": mode, "plan": True}
    result = _run(baton_env, json.dumps(params)).wait(timeout=120)
    assert result["plan"].splitlines()[-1] == f"Steps that need a person: {people}", result["plan"]
    assert "[AUTO  ] Restrict login IP ranges and hours" in result["plan"]


def test_an_org_that_refuses_the_metadata_api_gets_a_person_step(
    baton_env: dict[str, str], sandbox: Sandbox, prefect_server: PrefectServer, restore_bob: dict[str, Any]
) -> None:
    restore_bob["_userPermissions"] = {k: v for k, v in restore_bob["_userPermissions"].items() if k != "ModifyAllData"}
    username = f"jwtrefused.{uuid.uuid4().hex[:6]}@acme.example"
    params = json.loads(_params(username, "Standard Platform User"))
    params |= {"clone_profile_as": None, "disable_permissions": [], "credential_mode": "security_token"}
    asked_before = len(_human_messages(sandbox))
    flow = _run(baton_env, json.dumps(params))
    try:
        run = wait_paused(prefect_server.api_url, "create-salesforce-integration-user", key="login-restrictions",
                          timeout=180)  # fmt: skip
        text = json.dumps(step_message(sandbox, run["id"])["blocks"], ensure_ascii=False)
        assert "INSUFFICIENT_ACCESS" in text and "ModifyAllData or ModifyMetadata" in text
        assert "203.0.113.10 → 203.0.113.20" in text
        assert len(_human_messages(sandbox)) > asked_before  # the detector sees a person's step
    finally:
        flow.kill()
