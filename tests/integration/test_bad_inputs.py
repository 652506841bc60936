"""The bad-input catalog: every surface a person or a system types into, each bad input refused with an error
that names the field and says the fix, and nothing changed.

Surfaces: flow parameters (the flows' request models, run in this process against the real Prefect server),
catalog entries (the audit flow reading a bad catalog), webhook events (the in-process gateway's two hooks),
human-step answers (the CLI and signed Slack clicks on one really paused run), CLI arguments and settings
(BATON_* given to the CLI, or to a flow). After every case: Prefect has no new run (an in-process flow: only
the refused run itself, failed, with no task run), the sandbox saw no vendor write, Vault holds the same
secrets, and the shared paused run is still paused with no answer stored.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import hvac
import pytest
import yaml

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.prefect_api import prefect_http
from flows.audit import audit_integrations
from flows.intercom_app_user import change_intercom_app_user
from flows.jotform_api_only_user import create_jotform_api_only_user
from flows.offboarding import offboard_person
from flows.salesforce_integration_user import create_salesforce_integration_user
from flows.salesforce_jira_connector import rotate_salesforce_jira_connector
from sandbox.calllog import writes
from sandbox.server import Sandbox
from sandbox.slack import state_of
from sandbox.slack.interactivity import prepare
from tests.figures import record
from tests.harness import ROOT, RunningGateway, step_message
from tests.integration.test_cli import Waiting, cli, finish, no_answer_stored, start_paused, state_of_run
from tests.integration.test_gateway_refusals import signed
from tests.integration.test_offboarding_hook import Hook, event

Surface = Literal["flow-parameter", "catalog", "webhook", "answer", "cli", "settings"]
SURFACES: tuple[Surface, ...] = ("flow-parameter", "catalog", "webhook", "answer", "cli", "settings")
CHECKS = ("no new flow run", "no vendor write", "no new Vault secret", "the paused run still paused, no answer")
SHIPPED = ROOT / "deployments" / "catalog" / "alice-leaving.yaml"
CAROL = "carol@acme.example"


def _prefect(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A call to the session's Prefect server, authenticated (PREFECT_API_AUTH_STRING, set by the fixture)."""
    with prefect_http(url) as http:
        return http.request(method, url, **kwargs)


@dataclass(frozen=True)
class Case:
    id: str
    surface: Surface
    bad: Any  # the bad input (its shape depends on the surface: see the runners below)
    says: tuple[str, ...]  # fragments of the error: at least the field and the fix
    unchanged: tuple[str, ...] = CHECKS  # how "nothing changed" is checked (all of CHECKS, after every case)


# -- the cases -----------------------------------------------------------------------------------------------

CONNECTOR = {
    "integration_id": "jira-cloud-salesforce", "variant": "cloud", "leaver": "alice@acme.example",
    "successor": "jira-connector@acme.example", "connection_id": "10001", "requested_by": "bob@acme.example",
}  # fmt: skip
INTERCOM = {
    "integration_id": "intercom-jira", "leaver": "alice@acme.example", "successor": "intercom-app@acme.example",
    "projects": [10000], "intercom_workspace": "acmesupport1", "requested_by": "bob@acme.example",
}  # fmt: skip
JOTFORM = {
    "first_name": "Jotform", "last_name": "Integration", "email": "jotform.api@acme.example",
    "username": "jotform.api@acme.example", "alias": "jotform", "permission_set_name": "Jotform_API_Only",
    "permission_set_label": "Jotform API only", "form_id": "241118435271045", "requested_by": CAROL,
}  # fmt: skip
SF_USER = {
    "first_name": "Jira", "last_name": "Integration", "email": "jira.int@acme.example",
    "username": "jira.int@acme.example", "alias": "jiraint", "profile": "Minimum Access - Salesforce",
    "requested_by": CAROL,
}  # fmt: skip
OFFBOARD = {"person": "alice@acme.example", "requested_by": CAROL}
FLOWS: dict[str, Any] = {
    "connector": rotate_salesforce_jira_connector,
    "intercom": change_intercom_app_user,
    "jotform": create_jotform_api_only_user,
    "sf-user": create_salesforce_integration_user,
    "offboard": offboard_person,
    "audit": audit_integrations,
}


def fp(ident: str, flow: str, request: Any, *says: str) -> Case:
    return Case(ident, "flow-parameter", (flow, request), says)


FLOW_CASES = [
    fp("connector-variant", "connector", {**CONNECTOR, "variant": "datacenter"}, "variant:", "'cloud' or 'server'"),
    fp("connector-same-user", "connector", {**CONNECTOR, "successor": "Alice@acme.example"},
       "successor must differ from leaver", "dedicated integration user"),
    fp("connector-id", "connector", {**CONNECTOR, "integration_id": "Jira Cloud!"}, "integration_id:",
       "expected: Baton's id of this connector, e.g. 'jira-cloud-salesforce'"),
    fp("connector-no-leaver", "connector", {k: v for k, v in CONNECTOR.items() if k != "leaver"}, "leaver:",
       "Field required", "expected: Salesforce username the connector runs as today"),
    fp("intercom-no-projects", "intercom", {**INTERCOM, "projects": []}, "projects:", "at least 1 item",
       "expected: ids of the Jira projects"),
    fp("intercom-not-a-mapping", "intercom", "intercom-jira", "request: is a str, not a mapping",
       "give the request as an object of its fields (integration_id"),
    fp("intercom-workspace", "intercom", {**INTERCOM, "intercom_workspace": "Acme Support"}, "intercom_workspace:",
       "expected: the workspace id in Intercom's URLs"),
    fp("jotform-form-id", "jotform", {**JOTFORM, "form_id": "contact-sales"}, "form_id:",
       "expected: the number in the form's URL"),
    fp("jotform-api-name", "jotform", {**JOTFORM, "permission_set_name": "Jotform API"}, "permission_set_name:",
       "e.g. 'Jotform_API_Only'"),
    fp("sf-user-ip-range", "sf-user", {**SF_USER, "login_ip_ranges": ["203.0.113.10"]}, "login_ip_ranges:",
       "e.g. '203.0.113.10-203.0.113.20'"),
    fp("sf-user-credential-mode", "sf-user", {**SF_USER, "credential_mode": "password"}, "credential_mode:",
       "'oauth', 'security_token' or 'jwt'"),
    fp("sf-user-alias", "sf-user", {**SF_USER, "alias": "integration-user"}, "alias:", "at most 8 characters"),
    fp("offboard-person", "offboard", {**OFFBOARD, "person": "alice"}, "person:",
       "expected: the leaver's login e-mail, e.g. alice@acme.example"),
    fp("offboard-leave-at", "offboard", {**OFFBOARD, "leave_at": "next tuesday"}, "leave_at:",
       "expected: when their accounts are switched off"),
    fp("audit-unknown-entry", "audit", {"only": ["no-such-integration"]}, "only: no catalog entry no-such-integration",
       "use ids from the catalog (salesforce-jira-cloud"),
    fp("audit-typo", "audit", {"catalog": "/etc/baton/catalog.yaml"}, "catalog: not a parameter of this flow",
       "remove it (the parameters: requested_by, catalog_path"),
]  # fmt: skip


def _entry(index: int, **changes: Any) -> Any:
    data: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    data["integrations"][index].update(changes)
    return data


def cat(ident: str, raw: Any, *says: str) -> Case:
    return Case(ident, "catalog", raw, says)


CATALOG_CASES = [
    cat("successor-not-an-address", _entry(0, successor="jira-connector"),
        "integrations[salesforce-jira-cloud].successor",
        "expected: the dedicated account that takes over"),
    cat("successor-is-the-leaver", _entry(0, successor="alice@acme.example"),
        "integrations[salesforce-jira-cloud].successor", "must differ from integration_user"),
    cat("variant", _entry(1, variant="onprem"), "integrations[salesforce-jira-server].variant",
        "needs variant cloud or server"),
    cat("flow", _entry(2, flow="rotate-everything"), "integrations[intercom-jira-app].flow",
        "use one of rotate-salesforce-jira-connector"),
    cat("no-approvers", _entry(3, approvers=[]), "integrations[jotform-contact-sales].approvers", "at least 1 item"),
    cat("reserved-parameter", _entry(3, parameters={"requested_by": "x@acme.example"}),
        "integrations[jotform-contact-sales].parameters", "remove requested_by: Baton sets them itself"),
    cat("slack-channel", _entry(3, slack_channel="it handover"), "integrations[jotform-contact-sales].slack_channel",
        "expected: '#it-handover' or an id"),
    cat("duplicate-id", _entry(2, id="salesforce-jira-cloud"), "integrations[salesforce-jira-cloud].id",
        "ids must be unique"),
    cat("credential-test", _entry(3, credentials=[{"path": "baton/x/api-key", "test": "zendesk"}]),
        "integrations[jotform-contact-sales].credentials.0.test", "'salesforce', 'jira'"),
    cat("not-a-mapping", ["salesforce-jira-cloud"], "must be a mapping", "with 'organisation' and 'integrations'"),
    cat("not-yaml", "integrations: [\n  - id: x\n title", "is not YAML", "fix the syntax where it says", "line"),
    cat("no-file", None, "no catalog at", "set BATON_CATALOG_PATH to the catalog's YAML file"),
]  # fmt: skip


def wh(ident: str, how: str, payload: Any, *says: str) -> Case:
    return Case(ident, "webhook", (how, payload), says)


WEBHOOK_CASES = [
    wh("unsigned", "none", event(), "X-Baton-Signature", "sha256=<HMAC-SHA256 of the body", "Bearer"),
    wh("wrong-bearer", "wrong-bearer", event(), "Authorization", "BATON_GATEWAY_HOOK_SECRET"),
    wh("signature-over-another-body", "other-body", event(), "X-Baton-Signature", "HMAC-SHA256 of the body"),
    wh("bad-email", "signed", event(user={"email": "not-an-address"}), "user.email (value is not a valid email",
       '"example"'),
    wh("no-email", "signed", event(user={}), "user.email (Field required)", '"example"'),
    wh("bad-type", "signed", event(type="user.created"), "type (String should match pattern",
       "deactivated|suspended|deleted|leave_cancelled"),
    wh("bad-leave-at", "signed", event(leave_at="next tuesday"), "leave_at (Input should be a valid datetime",
       '"example"'),
    wh("bad-event-id", "signed", event(event_id="has spaces"), "event_id (String should match pattern", '"example"'),
    wh("not-json", "signed", b"{not json", "body (Invalid JSON", '"example"'),
    wh("okta-wrong-secret", "okta-wrong", {"data": {"events": []}}, "Authorization header",
       "send the hook's secret (BATON_OKTA_HOOK_SECRET)"),
    wh("okta-no-events", "okta", {"data": {}}, "not an Okta event hook delivery", "data.events (Field required)"),
]  # fmt: skip


def ans(ident: str, how: str, bad: Any, *says: str) -> Case:
    return Case(ident, "answer", (how, bad), says)


ANSWER_CASES = [
    ans("cli-template-note", "cli", ["--outcome", "done", "--note", "see {{ prefect.variables.token }}"],
        "--note holds template markers", "remove them and answer again"),
    ans("cli-template-comment", "cli", ["--outcome", "done", "--note", "ok {# hidden #}"],
        "--note holds template markers",
        "remove them"),
    ans("cli-template-responder", "cli", ["--outcome", "done", "--as", "{{ 7*7 }}"], "--as holds template markers",
        "remove them"),
    ans("cli-approve-a-task", "cli", ["--outcome", "approve"], "'approve' is not an answer to this task step",
        "use --outcome done or --outcome problem"),
    ans("cli-reject-a-task", "cli", ["--outcome", "reject"], "'reject' is not an answer to this task step",
        "use --outcome done or --outcome problem"),
    ans("cli-note-too-long", "cli", ["--outcome", "done", "--note", "x" * 2001],
        "--note is longer than 2000 characters",
        "shorten it"),
    ans("slack-template-note", "slack", ("baton_done", "{% if true %}x{% endif %}"), "holds template markers",
        "remove them"),
    ans("slack-note-too-long", "slack", ("baton_done", "n" * 2001), "longer than 2000 characters", "shorten it"),
    ans("slack-approve-a-task", "slack", ("baton_approve", ""), "does not belong to that kind of step",
        "'approve' is not an answer to this task step; use done or problem"),
]  # fmt: skip


def cl(ident: str, args: list[str], *says: str) -> Case:
    return Case(ident, "cli", args, says)


CLI_CASES = [
    cl("resume-without-outcome", ["resume", "{run}", "--as", "alice"], "Missing option '--outcome'", "Try "),
    cl("unknown-outcome", ["resume", "{run}", "--outcome", "maybe", "--as", "alice"], "'--outcome'",
       "'maybe' is not one of", "'done'"),
    cl("limit-zero", ["paused", "--limit", "0"], "'--limit'", "greater than or equal to 1"),
    cl("limit-too-big", ["paused", "--limit", "1000"], "'--limit'", "less than or equal to 200"),
    cl("unknown-command", ["pause"], "No such command 'pause'", "Try "),
    cl("extra-argument", ["paused", "{run}"], "unexpected extra argument", "Try "),
    cl("unknown-run", ["resume", "{uuid}", "--outcome", "done", "--as", "alice"], "there is no run",
       "`baton paused` lists waiting runs"),
    cl("run-id-not-a-uuid", ["resume", "not-a-run-id", "--outcome", "done", "--as", "alice"],
       "there is no run not-a-run-id", "`baton paused` lists waiting runs"),
    cl("run-not-paused", ["resume", "{completed}", "--outcome", "done", "--as", "alice"],
       "is Completed, not waiting for an answer", "`baton paused` lists waiting runs"),
    cl("nobody-answering", ["resume", "{run}", "--outcome", "done", "--as", ""], "say who is answering with --as NAME",
       "$USER"),
]  # fmt: skip


def st(ident: str, env: dict[str, str], *says: str) -> Case:
    return Case(ident, "settings", env, says)


SETTINGS_CASES = [
    st("prefect-url", {"BATON_PREFECT_API_URL": "prefect dot local"}, "BATON_PREFECT_API_URL",
       "example: BATON_PREFECT_API_URL=http://127.0.0.1:4200/api"),
    st("approvals-flag", {"BATON_APPROVALS_SLACK_ONLY": "maybe-not"}, "BATON_APPROVALS_SLACK_ONLY",
       "example: BATON_APPROVALS_SLACK_ONLY=true"),
    st("timezone", {"BATON_ORG_TIMEZONE": "Mars/Olympus_Mons"}, "BATON_ORG_TIMEZONE", "e.g. 'Europe/London'"),
    st("poll-seconds", {"BATON_PREFECT_PAUSE_POLL_SECONDS": "0"}, "BATON_PREFECT_PAUSE_POLL_SECONDS",
       "example: BATON_PREFECT_PAUSE_POLL_SECONDS=1"),
    st("ticket-ttl", {"BATON_GATEWAY_TICKET_TTL_SECONDS": "an hour"}, "BATON_GATEWAY_TICKET_TTL_SECONDS",
       "example: BATON_GATEWAY_TICKET_TTL_SECONDS=3600"),
    st("vault-prefix", {"BATON_VAULT_PREFIX": "baton/../other-team"}, "BATON_VAULT_PREFIX",
       "no empty, '.' or '..' segments"),
    st("vault-kv-mount", {"BATON_VAULT_KV_MOUNT": "/"}, "BATON_VAULT_KV_MOUNT", "must be a non-empty path such as"),
    st("margin", {"BATON_HANDOVER_MARGIN_MINUTES": "-5"}, "BATON_HANDOVER_MARGIN_MINUTES",
       "example: BATON_HANDOVER_MARGIN_MINUTES=120"),
    st("slack-base-url", {"BATON_SLACK_BASE_URL": "slack"}, "BATON_SLACK_BASE_URL",
       "example: BATON_SLACK_BASE_URL=https://slack.com/api/"),
    st("prefect-ui-url", {"BATON_PREFECT_UI_URL": "ftp://prefect"}, "BATON_PREFECT_UI_URL",
       "example: BATON_PREFECT_UI_URL=http://127.0.0.1:4200"),
]  # fmt: skip

CASES: list[Case] = FLOW_CASES + CATALOG_CASES + WEBHOOK_CASES + ANSWER_CASES + CLI_CASES + SETTINGS_CASES


# -- the stack the cases run against (one paused run for the whole module) -----------------------------------


@dataclass
class Stack:
    env: dict[str, str]
    api: str
    sandbox: Sandbox
    gateway: RunningGateway
    hook: Hook
    vault: hvac.Client
    waiting: Waiting
    completed: str
    tmp: Path

    def runs(self) -> int:
        reply = _prefect("POST", f"{self.api}/flow_runs/count", json={})
        reply.raise_for_status()
        return int(reply.json())

    def secrets(self, path: str = "baton") -> frozenset[str]:
        """Every secret under *path* but the gateway's replay guard (each signed request leaves its mark there)."""
        if path == "baton/gateway/replay":
            return frozenset()
        try:
            keys = self.vault.secrets.kv.v2.list_secrets(path=path, mount_point="secret")["data"]["keys"]
        except hvac.exceptions.InvalidPath:
            return frozenset()
        found: set[str] = set()
        for key in keys:
            found |= self.secrets(f"{path}/{key.rstrip('/')}") if key.endswith("/") else {f"{path}/{key}"}
        return frozenset(found)


@dataclass(frozen=True)
class Snapshot:
    runs: int
    writes: dict[str, int]
    secrets: frozenset[str]
    paused: str


def snapshot(stack: Stack) -> Snapshot:
    state = state_of_run(stack.api, stack.waiting.id)
    answered = "" if no_answer_stored(stack.api, stack.waiting) else ", an answer stored"
    return Snapshot(stack.runs(), writes(stack.sandbox.world.calls), stack.secrets(), f"{state['name']}{answered}")


@pytest.fixture(scope="module")
def stack(
    baton_env: dict[str, str],
    prefect_server: PrefectServer,
    openbao: OpenBaoDevServer,
    sandbox: Sandbox,
    gateway: RunningGateway,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    api = prefect_server.api_url
    slack = state_of(sandbox.world)
    rate = slack.limiter.per_second
    slack.set_post_rate(0)  # the refused handovers each say so in Slack; no 1/s pacing for the catalog's pace
    flow_id = _prefect("POST", f"{api}/flows/", json={"name": "bad-inputs-not-paused"}).json()["id"]
    completed = _prefect("POST", f"{api}/flow_runs/", json={"flow_id": flow_id, "state": {"type": "COMPLETED"}}).json()
    waiting = start_paused(baton_env, api, "kind=task")
    step_message(sandbox, waiting.id)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for key, value in baton_env.items():  # the in-process flows read BATON_* as a worker would
                patch.setenv(key, value)
            yield Stack(
                env=baton_env, api=api, sandbox=sandbox, gateway=gateway,
                hook=Hook(gateway, baton_env, api), vault=hvac.Client(url=openbao.addr, token=openbao.root_token),
                waiting=waiting, completed=str(completed["id"]), tmp=tmp_path_factory.mktemp("bad-inputs"),
            )  # fmt: skip
    finally:
        slack.set_post_rate(rate)
        finish(baton_env, api, waiting)


# -- one runner per surface: each sends the bad input and returns (the error text, runs it may create) ---------


def _in_process(flow: Any, request: Any) -> tuple[str, str]:
    """Run *flow* here (as a worker would); (the error it failed with, its run id)."""
    state = flow(request=request, return_state=True)
    assert state.is_failed(), f"the flow did not refuse the request: {state}"
    error = state.result(raise_on_failure=False)
    return f"{type(error).__name__}: {error}", str(state.state_details.flow_run_id)


def _no_task_ran(stack: Stack, run_id: str) -> None:
    run = _prefect("GET", f"{stack.api}/flow_runs/{run_id}").json()
    assert run["state"]["type"] == "FAILED", run["state"]
    count = _prefect("POST", f"{stack.api}/task_runs/count", json={"flow_runs": {"id": {"any_": [run_id]}}}).json()
    assert count == 0, f"the refused run {run_id} ran {count} task(s)"


def run_flow_parameter(stack: Stack, case: Case) -> tuple[str, int]:
    flow, request = case.bad
    error, run_id = _in_process(FLOWS[flow], request)
    _no_task_ran(stack, run_id)
    return error, 1


def run_catalog(stack: Stack, case: Case) -> tuple[str, int]:
    path = stack.tmp / f"{case.id}.yaml"
    if isinstance(case.bad, str):
        path.write_text(case.bad)
    elif case.bad is not None:
        path.write_text(yaml.safe_dump(case.bad))
    error, run_id = _in_process(audit_integrations, {"catalog_path": str(path), "requested_by": CAROL})
    _no_task_ran(stack, run_id)
    return error, 1


def run_webhook(stack: Stack, case: Case) -> tuple[str, int]:
    how, payload = case.bad
    hook = stack.hook
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if how == "signed":
        reply = hook.signed(payload)
    elif how == "none":
        reply = hook.post(body)
    elif how == "wrong-bearer":
        reply = hook.post(body, {"Authorization": "Bearer not-the-secret"})
    elif how == "other-body":
        other = json.dumps(event(user={"email": "mallory@acme.example"})).encode()
        reply = hook.post(other, {"X-Baton-Signature": hook_signature(stack, body)})
    else:
        secret = stack.env["BATON_OKTA_HOOK_SECRET"] if how == "okta" else "not-the-secret"
        reply = httpx.post(stack.gateway.url + "/hooks/okta", content=body, headers={"Authorization": secret})
    assert reply.status_code in (400, 401), (reply.status_code, reply.text)
    return reply.text, 0


def hook_signature(stack: Stack, body: bytes) -> str:
    from tests.integration.test_offboarding_hook import sign

    return sign(stack.hook.secret, body)


def run_answer(stack: Stack, case: Case) -> tuple[str, int]:
    how, bad = case.bad
    if how == "cli":
        done = cli(stack.env, "resume", stack.waiting.id, "--as", "mallory", *bad)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert "refused (nothing sent)" in done.stderr
        return done.stderr, 0
    action, note = bad
    slack = state_of(stack.sandbox.world)
    message = step_message(stack.sandbox, stack.waiting.id)
    payload = prepare(slack, CAROL, "C0HANDOVER", message["ts"], "baton_done").payload
    payload["actions"][0]["action_id"] = action  # a signed click may name a button the message does not have
    if note:
        payload["state"] = {"values": {"baton_note": {"note": {"type": "plain_text_input", "value": note}}}}
    body, headers = signed(slack.config.signing_secret, payload)
    reply = httpx.post(stack.gateway.url + "/slack/actions", content=body, headers=headers)
    if action == "baton_approve":  # a button the step's message does not have: a forged click, a 400
        assert reply.status_code == 400, reply.text
        return str(reply.json()["error"]), 0
    assert reply.status_code == 200, reply.text
    assert reply.json()["response_type"] == "ephemeral", reply.text
    return str(reply.json()["text"]), 0


def run_cli(stack: Stack, case: Case) -> tuple[str, int]:
    args = [
        a.format(run=stack.waiting.id, uuid=uuid.uuid4(), completed=stack.completed) for a in case.bad
    ]  # a run id in the arguments: the shared paused run, an unknown one, a completed one
    env = stack.env
    if "--as" in args and args[args.index("--as") + 1] == "":
        args = args[: args.index("--as")] + args[args.index("--as") + 2 :]
        env = {**os.environ, **stack.env}
        env.pop("USER", None)
        os_user = os.environ.pop("USER", None)  # cli() merges os.environ: take $USER out for this one call
        try:
            done = cli(env, *args)
        finally:
            if os_user is not None:
                os.environ["USER"] = os_user
    else:
        done = cli(env, *args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    return done.stderr, 0


def run_settings(stack: Stack, case: Case) -> tuple[str, int]:
    """The CLI answering the shared paused run with one bad setting: it stops at start-up and sends nothing."""
    done = cli({**stack.env, **case.bad}, "resume", stack.waiting.id, "--outcome", "done", "--as", "alice")
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    return done.stderr, 0


RUNNERS: dict[Surface, Callable[[Stack, Case], tuple[str, int]]] = {
    "flow-parameter": run_flow_parameter,
    "catalog": run_catalog,
    "webhook": run_webhook,
    "answer": run_answer,
    "cli": run_cli,
    "settings": run_settings,
}


def test_the_catalog_covers_every_surface() -> None:
    per_surface = {s: sum(c.surface == s for c in CASES) for s in SURFACES}
    print(f"\nbad inputs: {len(CASES)} cases; per surface: {per_surface}")
    assert len({c.id for c in CASES}) == len(CASES) >= 45
    assert all(n >= 5 for n in per_surface.values()), per_surface
    assert all(len(c.says) >= 2 and set(c.unchanged) <= set(CHECKS) for c in CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[f"{c.surface}:{c.id}" for c in CASES])
def test_a_bad_input_is_refused_clearly_and_changes_nothing(stack: Stack, case: Case) -> None:
    before = snapshot(stack)
    started = time.monotonic()
    error, may_create = RUNNERS[case.surface](stack, case)
    after = snapshot(stack)
    missing = [fragment for fragment in case.says if fragment not in error]
    assert not missing, f"the error does not say {missing}:\n{error}"
    assert after.runs == before.runs + may_create, "a bad input started a flow run"  # no new flow run
    assert after.writes == before.writes, f"a bad input wrote to a vendor: {after.writes}"  # no vendor write
    assert after.secrets == before.secrets, f"new Vault secrets: {after.secrets - before.secrets}"
    assert after.paused == before.paused == "Paused", after.paused  # the paused run still paused, no answer
    record("bad-inputs", refused_clearly_nothing_changed=1)
    print(f"\n{case.surface}:{case.id} refused in {time.monotonic() - started:.2f} s: {error.strip()[:300]}")
