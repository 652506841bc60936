"""rotate-salesforce-jira-connector end to end, per variant: a served deployment (suspends at every human step,
no process held), real Prefect, real OpenBao, the sandbox and the gateway; the person's part played in Debian
chromium on the sandbox's Salesforce and Jira pages, answered by Slack clicks through the gateway."""

from __future__ import annotations

import pytest

from baton.devstack import OpenBaoDevServer, PrefectServer
from clients.prefect_api import prefect_http
from sandbox.server import Sandbox
from sandbox.slack import state_of
from tests.e2e.browser import browser_page, needs_chromium
from tests.e2e.handover_case import Case, Person, custody, new_case, thread_text
from tests.handover_serving import Handovers, served_handovers
from tests.harness import RunningGateway
from tests.integration.test_suspend import cmdline, descendants, wait_for
from tests.leakscan import Scan, add_prefect_api

pytestmark = [pytest.mark.e2e, needs_chromium]
__all__ = ["served_handovers"]
CANARIES: list[str] = []
TOKEN_PATHS: list[str] = []  # the API access tokens deposited by the tests above, and the passwords revealed


@pytest.fixture(scope="module")
def served(served_handovers: Handovers) -> Handovers:
    return served_handovers


def _assert_handed_over(case: Case, openbao: OpenBaoDevServer, token: str) -> None:
    assert case.tokens(case.successor_id) == 1 and case.tokens(case.leaver_id) == 0
    conn = case.connection()
    assert conn.status == "authorized" and conn.salesforce_username == case.successor
    vault = custody(openbao)
    state = vault.describe(case.token_path)
    assert state.current_version is not None and state.pending_version is None
    assert vault.read_current(case.token_path).values["api_access_token"].get_secret_value() == token


def _no_flow_process(served: Handovers) -> None:
    """While a step waits, the run is suspended and no process runs it (the runner starts `prefect.engine` per run)."""
    pid = served.server.proc.pid
    wait_for("the flow's process to exit", lambda: not [p for p in descendants(pid) if "prefect.engine" in cmdline(p)])


def _play(person: Person, case: Case, *, wrong_first: bool = False) -> str:
    """The guide's five steps in chromium; with *wrong_first*, step 3 is done as bob (still logged in as himself)."""
    links = person.wait("sf-logout")
    assert person.served.state(person.run_id)["name"] == "Suspended"
    _no_flow_process(person.served)  # type: ignore[arg-type]
    if not wrong_first:
        person.log_out_of_salesforce(links)
    person.done()
    person.revoke_in_jira(person.wait("jira-revoke"))
    person.done()
    links = person.wait("authorize")
    if wrong_first:
        person.authorize_in_jira(links, "bob@acme.example", "bob-sf-Passw0rd")
        person.done()
        links = person.wait("authorize-redo-1")
        person.log_out_of_salesforce(links)
        person.revoke_in_jira(links)
    person.authorize_in_jira(links, case.successor)
    person.done()
    token = person.copy_and_deposit_token(person.wait("api-token"))
    person.save_in_salesforce(person.wait("sf-package-save"), token)
    person.done()
    return token


@pytest.mark.parametrize("variant", ["cloud", "server"])
def test_handover_end_to_end_in_chromium(
    variant: str, served: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    case = new_case(sandbox, openbao, variant)
    run_id = served.start(request=case.request())
    try:
        with browser_page() as page:
            person = Person(sandbox, served, page, run_id)
            person.salesforce_login("bob@acme.example", "bob-sf-Passw0rd")  # the admin is signed in to start with
            token = _play(person, case)
        CANARIES.extend([token, case.password])
        TOKEN_PATHS.append(case.token_path)
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    assert final["type"] == "COMPLETED", (final, served.server.output()[-4000:])
    _assert_handed_over(case, openbao, token)
    assert person.steps == ["sf-logout", "jira-revoke", "authorize", "api-token", "sf-package-save"]
    text = thread_text(sandbox)
    assert "disconnected window:" in text and " minutes (Revoke at " in text
    assert "the leaver's leftover authorisations revoked: 1" in text
    assert token not in text and token not in served.server.output()
    with prefect_http(served.http.base_url.__str__().rstrip("/")) as http:
        result = http.get(f"flow_runs/{run_id}").json()
    assert result["state"]["type"] == "COMPLETED"


def test_wrong_user_is_detected_and_the_step_asked_again(
    served: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    case = new_case(sandbox, openbao, "cloud")
    run_id = served.start(request=case.request())
    try:
        with browser_page() as page:
            person = Person(sandbox, served, page, run_id)
            person.salesforce_login("bob@acme.example", "bob-sf-Passw0rd")
            token = _play(person, case, wrong_first=True)
        CANARIES.extend([token, case.password])
        TOKEN_PATHS.append(case.token_path)
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    assert final["type"] == "COMPLETED", (final, served.server.output()[-4000:])
    text = thread_text(sandbox)
    assert "*Wrong user*: Salesforce shows" in text and "`bob@acme.example`, not by" in text
    assert person.steps == ["sf-logout", "jira-revoke", "authorize", "authorize-redo-1", "api-token", "sf-package-save"]
    _assert_handed_over(case, openbao, token)
    assert "after 1 redo(s)" in text


def test_failed_verification_promotes_nothing_and_says_where_each_side_is(
    served: Handovers, gateway: RunningGateway, sandbox: Sandbox, openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    """The person pastes something else into the deposit page: the token check fails after Save; nothing is
    promoted, the leaver's authorisation is left alone, and the thread says what state each side is in."""
    case = new_case(sandbox, openbao, "cloud")
    run_id = served.start(request=case.request())
    try:
        with browser_page() as page:
            person = Person(sandbox, served, page, run_id)
            person.log_out_of_salesforce(person.wait("sf-logout"))
            person.done()
            person.revoke_in_jira(person.wait("jira-revoke"))
            person.done()
            person.authorize_in_jira(person.wait("authorize"), case.successor)
            person.done()
            token = person.copy_and_deposit_token(person.wait("api-token"), deposit="sfj-a-slip-of-the-clipboard")
            person.save_in_salesforce(person.wait("sf-package-save"), token)
            person.done()
        final = served.wait_final(run_id)
    finally:
        served.cancel_if_paused(run_id)
    assert final["type"] == "FAILED" and "VerificationFailed" in final["message"], final
    vault = custody(openbao)
    state = vault.describe(case.token_path)
    assert state.current_version is None and state.pending_version == 1  # promoted nothing
    slip = vault.read_version(case.token_path, 1).values["api_access_token"].get_secret_value()
    assert slip == "sfj-a-slip-of-the-clipboard"  # what was pasted, and the reason the check failed
    assert case.tokens(case.leaver_id) == 1 and case.tokens(case.successor_id) == 1
    stopped = [m for m in thread_text(sandbox).split('"ts"') if "Stopped" in m and case.successor in m]
    assert stopped, "no stop message in the thread"
    assert "does not open the connector" in stopped[-1] and "Salesforce side:" in stopped[-1]
    assert "by the leaver 1x" in stopped[-1] and "Way back" in stopped[-1] and "not promoted" in stopped[-1]


def test_deposited_tokens_are_in_vault_and_nowhere_in_prefect_logs_or_slack(
    served: Handovers, prefect_server: PrefectServer, gateway: RunningGateway, sandbox: Sandbox,
    openbao: OpenBaoDevServer,
) -> None:  # fmt: skip
    assert len(CANARIES) == 6, "run the end-to-end tests of this module first"
    scan = Scan()
    for place in (prefect_server.home, served.server.log):  # prefect.db with -wal and -shm, server.log, storage/
        scan.add_path(place)
    scan.add_text("gateway log", "\n".join(gateway.log_lines))
    slack = state_of(sandbox.world)
    scan.add_json("slack", [slack.messages(c, include_replies=True) for c in ("C0HANDOVER", "C0ITAUDIT")])
    with prefect_http(prefect_server.api_url) as http:
        reports = http.post("artifacts/filter", json={"artifacts": {"key": {"any_": [
            "salesforce-jira-connector-report"]}}, "limit": 50}).json()  # fmt: skip
    api = add_prefect_api(scan, prefect_server.api_url, prefect_server.auth_string)  # logs, inputs, events...
    assert scan.haystacks[str(prefect_server.home / "prefect.db")] and reports and api["artifacts"] >= len(reports)
    hits = scan.hits({canary: "deposited token or revealed password" for canary in CANARIES})
    assert not hits, "a canary leaked:\n" + "\n".join(map(str, hits))
    vault = custody(openbao)
    tokens = CANARIES[0::2]
    stored = []
    for case_path in TOKEN_PATHS:
        stored.append(vault.read_current(case_path).values["api_access_token"].get_secret_value())
    assert sorted(stored) == sorted(tokens)
