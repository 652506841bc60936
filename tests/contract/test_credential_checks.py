"""clients/credential_checks against the sandbox: each vendor's cheapest read passes with a working credential
and fails, naming the call and status (never the value), with a wrong one."""

from __future__ import annotations

import ssl

import httpx
import pytest
from pydantic import SecretStr

from clients.credential_checks import check
from core.settings import Settings
from sandbox.server import Sandbox
from tests.figures import record

BOB = "bob@acme.example"


def _settings(sb: Sandbox) -> Settings:
    u = sb.urls
    return Settings(
        vault_token=SecretStr("unused"), salesforce_login_url=u["salesforce"], salesforce_ca_file=sb.ca_file,
        salesforce_client_id="baton-salesforce-client-0001",
        salesforce_client_secret=SecretStr("baton-salesforce-secret-0001"),
        jira_site_url=u["jira"], jira_server_url=u["jira_server"], intercom_api_url=u["intercom"],
        jotform_api_url=u["jotform"],
    )  # fmt: skip


def _values(**values: str) -> dict[str, SecretStr]:
    return {k: SecretStr(v) for k, v in values.items()}


@pytest.mark.parametrize(
    ("test", "good", "call"),
    [
        ("jira", {"api_token": "ATATT-bob-token-0001", "email": BOB}, "GET /rest/api/3/myself"),
        ("jira_server", {"token": "NjEbobPAT0001"}, "GET /rest/api/2/myself"),
        ("intercom", {"access_token": "dG9rOmJvYi1iYXRvbi10b2tlbi0wMDAx"}, "GET /me"),
        ("jotform", {"api_key": "jf-apikey-acme-0001"}, "GET /user"),
        ("salesforce", {"password": "bob-sf-Passw0rd", "security_token": "BOBTOKEN0000000000000001"}, "limits"),
    ],
)
def test_a_working_credential_passes_and_a_wrong_one_fails(
    fresh_sandbox: Sandbox, test: str, good: dict[str, str], call: str
) -> None:
    settings = _settings(fresh_sandbox)
    ok = check(settings, test, _values(**good), BOB)
    assert ok.ok and call in ok.detail, ok
    wrong = {k: (v + "x" if k not in ("email", "username") else v) for k, v in good.items()}
    failed = check(settings, test, _values(**wrong), BOB)
    assert not failed.ok, failed
    assert all(v not in failed.detail for v in wrong.values() if "@" not in v)


def test_salesforce_access_and_refresh_tokens(fresh_sandbox: Sandbox) -> None:
    settings = _settings(fresh_sandbox)
    trust = ssl.create_default_context(cafile=fresh_sandbox.ca_file)
    reply = httpx.post(
        f"{fresh_sandbox.urls['salesforce']}/services/oauth2/token", verify=trust,
        data={"grant_type": "client_credentials", "client_id": "baton-salesforce-client-0001",
              "client_secret": "baton-salesforce-secret-0001"},
    ).json()  # fmt: skip
    passed = check(settings, "salesforce", _values(access_token=reply["access_token"]), BOB)
    assert passed.ok and "userinfo answered 200" in passed.detail
    assert not check(settings, "salesforce", _values(access_token="00Dnope"), BOB).ok
    refused = check(settings, "salesforce", _values(refresh_token="not-a-refresh-token"), BOB)
    assert not refused.ok and "oauth2/token (refresh) answered 400" in refused.detail


STORM_KINDS = ("ratelimit", "unavailable", "drop", "latency")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("test", "good", "host", "route"),
    [
        ("jira", {"api_token": "ATATT-bob-token-0001", "email": BOB}, "jira", "/rest/api/3/myself"),
        ("jira_server", {"token": "NjEbobPAT0001"}, "jira_server", "/rest/api/2/myself"),
        ("intercom", {"access_token": "dG9rOmJvYi1iYXRvbi10b2tlbi0wMDAx"}, "intercom", "/me"),
        ("jotform", {"api_key": "jf-apikey-acme-0001"}, "jotform", "/user"),
    ],
)
def test_a_storm_is_ridden_out_not_reported_as_a_broken_credential(
    fresh_sandbox: Sandbox, test: str, good: dict[str, str], host: str, route: str
) -> None:
    """A 429 with Retry-After, a 503, a dropped connection and a slow answer in a row: the check waits as told,
    tries again, and passes; no call comes back before its Retry-After."""
    from sandbox.faults import FaultRule

    for kind in STORM_KINDS:
        fresh_sandbox.world.faults.add(
            FaultRule(host=host, route=f"^{route}$", kind=kind, count=1, retry_after=1, latency_ms=300)  # type: ignore[arg-type]
        )
    ok = check(_settings(fresh_sandbox), test, _values(**good), BOB)
    fired, early = fresh_sandbox.world.faults.fired_counts(), fresh_sandbox.world.faults.early
    record("saas-fault-storms", storms=1, faults_injected=sum(fired.values()), early_calls=len(early))
    print(f"FIGURES credential check storm {host}: faults injected={fired}, early calls={early}")
    assert ok.ok, ok
    assert fired == {f"{host} {kind}": 1 for kind in STORM_KINDS}
    assert fresh_sandbox.world.faults.early == []
    assert fresh_sandbox.world.calls[f"{host} GET {route}"] == len(STORM_KINDS)
