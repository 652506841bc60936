"""Canary secrets over every flow, on one stack (the demo's): the sandbox's scenario with every machine secret
made a unique canary (tests/canary_world.py), Baton logging in to Vault by AppRole, then

1. offboard-person for alice@, played by the demo's autopilot in Debian chromium: its four handovers run
   rotate-salesforce-jira-connector (cloud and server), change-intercom-app-user and create-jotform-api-only-user;
2. create-salesforce-integration-user (JWT: a generated password and Baton's private key, no person);
3. audit-integrations, with five canary credentials stored for it to test (one fails: alice is frozen).

Then every secret is gathered (the canaries, what the stand-ins minted, every version in Vault, Baton's own
settings) and grepped for, in plain, JSON-escaped, URL-encoded and base64 forms (tests/leakscan.py), in:
Prefect's database with its WAL and shm, result storage and everything else under Prefect's home, the server's,
the worker's (baton.serve), the flow processes' and the gateway's logs, what Prefect's API serves (flow runs,
RunInputs, task runs, logs, artifacts, events, deployments, work pools, variables, blocks) and the Slack
stand-in's messages. Zero hits; a self-check first proves the scan finds a planted canary in every form.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import hvac
import pytest
from pydantic import SecretStr

from baton import autopilot_pages as pages
from baton.autopilot import Autopilot
from baton.demo import send_offboarding_event
from baton.demo_stack import Running, Stack
from clients.vault import Custody, VaultAuth, connect
from sandbox.slack import state_of
from tests.canary_world import audit_catalog, canary_scenario, vault_secrets, world_secrets
from tests.e2e.browser import needs_chromium
from tests.figures import record
from tests.harness import ROOT, FlowProcess
from tests.leakscan import FORMS, Scan, add_prefect_api, planted

pytestmark = [pytest.mark.e2e, pytest.mark.slow, needs_chromium]
SCRIPT = ROOT / "tests" / "flows" / "run_flow.py"
HANDOVER_FLOWS = {"rotate-salesforce-jira-connector", "change-intercom-app-user", "create-jotform-api-only-user"}
SETTINGS = {  # Baton's own secrets, read back from its settings after the run
    "BATON_SLACK_SIGNING_SECRET": "slack signing secret", "BATON_SLACK_BOT_TOKEN": "slack bot token",
    "BATON_GATEWAY_HOOK_SECRET": "gateway hook secret", "BATON_OKTA_HOOK_SECRET": "okta hook secret",
    "BATON_VAULT_SECRET_ID": "vault approle secret_id", "BATON_SALESFORCE_CLIENT_SECRET": "salesforce client secret",
    "BATON_JIRA_CLIENT_SECRET": "jira client secret", "BATON_JIRA_ADMIN_API_TOKEN": "jira admin api token",
}  # fmt: skip


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot format is still kept
            self.lines.append(repr(record.__dict__))


@pytest.fixture
def process_logs() -> Iterator[_Lines]:
    """Every log record of this process (the gateway, the sandbox, the autopilot), at INFO."""
    handler, root = _Lines(), logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def test_the_scanner_finds_a_planted_canary_in_every_form(tmp_path: Path) -> None:
    """The scan can fail: a canary planted in each form, in a file, a SQLite-style -wal beside a database,
    and an API text, at each base64 alignment, is found (and an unrelated value is not)."""
    for form in FORMS:
        for pad in range(3):  # the three base64 alignments
            value = "canary-" + uuid.uuid4().hex
            db = tmp_path / f"{form}{pad}.db"
            db.write_bytes(b"SQLite format 3\0")
            Path(f"{db}-wal").write_bytes(b"\0" * 17 + planted(value, form, pad) + b"\0")
            scan = Scan()
            scan.add_path(tmp_path)
            scan.add_text("api", "nothing here")
            hits = scan.hits({value: "planted"})
            assert [h.where for h in hits if h.form == form] == [f"{db}-wal"], (form, pad, hits)
            assert not scan.hits({"canary-" + uuid.uuid4().hex: "absent"})
            Path(f"{db}-wal").unlink()
    in_text = Scan()
    in_text.add_json("slack", [{"text": "see " + planted("tok-" + "9" * 30, "quote_plus").decode()}])
    assert in_text.hits({"tok-" + "9" * 30: "planted"})


def _run_flow(running: Running, flow: str, params: dict[str, object], logs: list[Path], timeout: float) -> dict:
    process = FlowProcess(SCRIPT, running.env, flow, json.dumps(params))
    logs.append(process.log)
    try:
        result = process.wait(timeout=timeout)
    finally:
        process.kill()
    assert result.get("status") == "done", (flow, result, process.output()[-3000:])
    return result


def _offboard(running: Running, say: list[str]) -> Autopilot:
    run_id = send_offboarding_event(running, f"canary-{uuid.uuid4().hex[:8]}")
    with pages.chromium() as browser:
        pilot = Autopilot(
            running.sandbox,
            running.prefect.api_url,
            run_id,
            say.append,
            browser=browser,
            auth_string=running.prefect.auth_string,
        )
        final = pilot.run(timeout=1000)
    assert final["type"] == "COMPLETED", (final, say[-30:])
    done = {h.flow for h in pilot.handovers.values() if h.last_state == "COMPLETED"}
    assert done == HANDOVER_FLOWS and len(pilot.handovers) == 4, {i: h.last_state for i, h in pilot.handovers.items()}
    return pilot


def _secrets(running: Running, planted_kinds: dict[str, str]) -> dict[str, str]:
    found = dict(planted_kinds)
    for key, kind in SETTINGS.items():
        found.setdefault(running.env[key], kind)
    found.setdefault(running.bao.root_token, "vault root token")
    if running.prefect.auth_string:  # the Prefect server's HTTP Basic auth string, and its password alone
        found.setdefault(running.prefect.auth_string, "prefect auth string")
        found.setdefault(running.prefect.auth_string.split(":", 1)[1], "prefect auth password")
    found |= {v: k for v, k in vault_secrets(hvac.Client(url=running.bao.addr, token=running.bao.root_token)).items()
              if v not in found}  # fmt: skip
    with running.sandbox.world.lock:
        found |= {v: k for v, k in world_secrets(running.sandbox.world).items() if v not in found}
    return found


@pytest.mark.timeout(1500)
def test_no_canary_secret_anywhere_after_every_flow(tmp_path: Path, process_logs: _Lines) -> None:
    began = time.monotonic()
    scenario, replace, planted_kinds = canary_scenario(tmp_path)
    state, say, flow_logs, stack = tmp_path / "state", [], [], Stack()
    try:
        running = stack.start(state, 0, 0, say.append, scenario=scenario, replace=replace, approle=True)
        assert "BATON_VAULT_TOKEN" not in running.env and running.env["BATON_VAULT_SECRET_ID"]
        _offboard(running, say)
        offboarded = time.monotonic() - began
        username = f"canary.jwt.{uuid.uuid4().hex[:6]}@acme.example"
        created = _run_flow(running, "flows.salesforce_integration_user:create_salesforce_integration_user", {
            "first_name": "Canary", "last_name": "Integration", "email": username, "username": username,
            "alias": "canary", "profile": "Standard Platform User", "clone_profile_as": "Canary Integration",
            "role_name": "Integrations", "licence": "Salesforce Platform", "credential_mode": "jwt",
            "login_ip_ranges": ["127.0.0.1-127.0.0.1"], "requested_by": "bob@acme.example",
        }, flow_logs, timeout=300)  # fmt: skip
        custody = Custody(connect(VaultAuth(addr=running.bao.addr, token=SecretStr(running.bao.root_token))))
        catalog = audit_catalog(tmp_path, custody, replace)
        audited = _run_flow(running, "flows.audit:audit_integrations", {"requested_by": "carol@acme.example",
                            "catalog_path": str(catalog)}, flow_logs, timeout=300)  # fmt: skip
        assert audited["entries"] == 4 and audited["credentials"] == 5, audited
        broken = [f for f in audited["findings"] if f["kind"] == "credential-broken"]
        assert [f["integration_id"] for f in broken] == ["salesforce-jira-cloud"], audited["findings"]
        secrets = _secrets(running, planted_kinds)
        path_of_key = "baton/salesforce/jwt/"  # where the JWT private key lives, named in the flow's report
        scan = Scan()
        scan.add_path(running.prefect.home)  # prefect.db, -wal, -shm, server.log, storage/ (result storage)
        # the server's own 0600 login file for a person at its UI holds its auth string by design (not a leak)
        scan.haystacks.pop(str(running.prefect.login_file), None)
        for log in [state / "serve.log", *flow_logs]:
            scan.add_path(log)
        scan.add_text("gateway and sandbox log records (this process)", "\n".join(process_logs.lines))
        scan.add_text("the autopilot's output", "\n".join(say))
        api = add_prefect_api(scan, running.prefect.api_url, running.prefect.auth_string)
        slack = state_of(running.sandbox.world)
        with running.sandbox.world.lock:
            channels = {c: slack.messages(c, include_replies=True) for c in slack.channels}
        scan.add_json("Slack stand-in messages", channels)
        hits = scan.hits(secrets)
        # a positive control: what the flows handled that is not secret is there, where the scan looked
        seen = {h.where for h in scan.hits({username: "the JWT user's username", path_of_key: "a Vault path"})}
    finally:
        stack.stop(say.append)
    kinds = Counter(secrets.values())
    files = [name for name in scan.haystacks if name.startswith("/")]
    print(f"\ncanary secrets: {len(secrets)} values, {len(kinds)} kinds")
    for kind, count in sorted(kinds.items()):
        print(f"  {count:3d}  {kind}")
    print(f"scanned: {len(scan.haystacks)} places ({len(files)} files), {scan.bytes_scanned} bytes, forms {FORMS}")
    print(f"Prefect API records: {api}; Slack messages: {sum(len(m) for m in channels.values())}")
    record(
        "canary",
        secrets=len(secrets),
        kinds=len(kinds),
        places=len(scan.haystacks),
        bytes=scan.bytes_scanned,
        forms=len(FORMS),
        hits=len(hits),
    )
    print(f"hits: {len(hits)}; offboarding {offboarded:.0f} s, total {time.monotonic() - began:.0f} s")
    assert not hits, "secrets found where they must never be:\n" + "\n".join(map(str, hits[:40]))
    # the run did handle the secrets it is meant to, so the zero above means something
    assert len(secrets) >= 15 and len(planted_kinds) >= 20, kinds
    assert any(k.startswith("vault") and "PEM" in k for k in kinds), "the JWT private key was not gathered"
    assert any("api_access_token" in k for k in kinds) and any("password" in k for k in kinds), kinds
    assert sum("salesforce" in k and "token" in k for k in secrets.values()) >= 4, kinds
    assert api["flow runs"] >= 7 and api["artifacts"] >= 5 and api["events"] > 0 and api["flow-run inputs"] > 0, api
    assert Path(f"{running.prefect.home / 'prefect.db'}-wal").as_posix() in files
    assert created["status"] == "done" and audited["status"] == "done"
    assert {"Prefect API: flow runs", "Prefect API: artifacts"} <= seen and any(
        w.endswith((".db", ".db-wal")) for w in seen
    ), seen
