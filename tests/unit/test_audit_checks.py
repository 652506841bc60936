"""The audit's rules one at a time (flows/audit_checks.py), the call log's definition of a write
(sandbox/calllog.py), and the report's button matching the gateway's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from clients.salesforce_audit import Login, OrgSnapshot, OrgUser, Token
from flows.audit_checks import AuditInput, CredentialFacts, audit
from flows.audit_report import HANDOVER_ACTION, group_messages, markdown
from flows.catalog import parse_catalog
from gateway.audit_actions import HANDOVER_ACTION as GATEWAY_ACTION
from gateway.audit_actions import Click
from sandbox import calllog

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _catalog(**extra: Any) -> Any:
    entry = {"id": "jira-sf", "title": "t", "flow": "rotate-salesforce-jira-connector", "variant": "cloud",
             "systems": ["salesforce", "jira"], "connections": {"salesforce": "App", "jira": "Acme"},
             "integration_user": "svc@acme.example", "successor": "next@acme.example",
             "approvers": ["bob@acme.example"], "slack_channel": "#it-audit", "max_credential_age_days": 90,
             **extra}  # fmt: skip
    return parse_catalog({"organisation": "Acme", "integrations": [entry]})


def _user(ident: str, name: str, *, dedicated: bool = True, active: bool = True, frozen: bool = False) -> OrgUser:
    licence = "Salesforce Integration" if dedicated else "Salesforce"
    return OrgUser(ident, f"{name}@acme.example", active, frozen, "P", licence, dedicated)


def _tokens(user_id: str, n: int, app: str = "App") -> list[Token]:
    return [Token(app, user_id, f"2026-0{i + 1}-01T00:00:00.000+0000", "2026-05-01", 1) for i in range(n)]


def _kinds(data: AuditInput) -> list[tuple[str, str | None]]:
    return [(f.kind, f.integration_id) for f in audit(data)]


def test_healthy_integration_has_no_finding() -> None:
    login = Login("1", "2026-05-01", "Partner Product", "10.0.0.5", "Success", "x", "SOAP")
    ranges = {"P": [("10.0.0.1", "10.0.0.9")]}
    org = OrgSnapshot(users={"1": _user("1", "svc")}, tokens=_tokens("1", 1), ip_ranges=ranges, logins=[login])
    facts = [CredentialFacts("jira-sf", "baton/x", "jira", True, 3, "2026-05-01T00:00:00+00:00", True, "ok")]
    assert audit(AuditInput(_catalog(), org, facts, NOW)) == []


@pytest.mark.parametrize(("tokens", "expected"), [(3, []), (4, [("token-limit", "jira-sf")]),
                                                  (5, [("token-limit", "jira-sf")]), (6, [])])  # fmt: skip
def test_four_or_five_tokens_for_one_app(tokens: int, expected: list[tuple[str, str]]) -> None:
    org = OrgSnapshot(users={"1": _user("1", "svc")}, tokens=_tokens("1", tokens))
    assert _kinds(AuditInput(_catalog(), org, [], NOW)) == expected


@pytest.mark.parametrize(("state", "kw"), [("inactive", {"active": False}), ("frozen", {"frozen": True})])
def test_a_leavers_tokens_are_critical_and_handed_over(state: str, kw: dict[str, bool]) -> None:
    org = OrgSnapshot(users={"1": _user("1", "svc", dedicated=False, **kw)}, tokens=_tokens("1", 1))
    (finding,) = audit(AuditInput(_catalog(), org, [], NOW))
    assert (finding.kind, finding.severity, finding.handover) == ("leaver-authorisation", "critical", True)
    assert finding.evidence["user_state"] == state


def test_personal_account_by_licence_or_missing_successor() -> None:
    org = OrgSnapshot(users={"1": _user("1", "alice", dedicated=False)}, tokens=_tokens("1", 1))
    assert _kinds(AuditInput(_catalog(), org, [], NOW)) == [("personal-account", "jira-sf")]
    no_successor = _catalog(successor=None)
    (finding,) = audit(AuditInput(no_successor, OrgSnapshot(), [], NOW))
    assert finding.kind == "personal-account" and finding.evidence["catalog_successor"] == "unset"


@pytest.mark.parametrize(("days", "stale"), [(89, False), (91, True)])
def test_credential_age_against_the_catalogs_maximum(days: int, stale: bool) -> None:
    rotated = (NOW - dt.timedelta(days=days)).isoformat()
    facts = [CredentialFacts("jira-sf", "baton/x", "jira", True, 2, rotated, True, "ok")]
    assert _kinds(AuditInput(_catalog(), OrgSnapshot(), facts, NOW)) == (
        [("credential-stale", "jira-sf")] if stale else []
    )


def test_broken_or_missing_credentials() -> None:
    fresh = NOW.isoformat()
    failed = "GET /rest/api/3/myself answered 401"
    facts = [CredentialFacts("jira-sf", "baton/a", "jira", True, 2, fresh, False, failed),
             CredentialFacts("jira-sf", "baton/b", "jira", False)]  # fmt: skip
    found = audit(AuditInput(_catalog(), OrgSnapshot(), facts, NOW))
    assert [(f.kind, f.subject) for f in found] == [("credential-broken", "baton/a"), ("credential-broken", "baton/b")]
    assert "answered 401" in found[0].evidence["detail"] and all(f.handover for f in found)


def test_logins_outside_ranges_and_interactive() -> None:
    logins = [Login("1", "2026-05-01T10:00", "Partner Product", "203.0.113.9", "Success", "x", "SOAP"),
              Login("1", "2026-05-02T10:00", "Application", "10.0.0.5", "Success", "Browser", "N/A")]  # fmt: skip
    org = OrgSnapshot(users={"1": _user("1", "svc")}, logins=logins, ip_ranges={"P": [("10.0.0.1", "10.0.0.9")]})
    found = audit(AuditInput(_catalog(), org, [], NOW))
    assert sorted(f.kind for f in found) == ["interactive-login", "login-outside-ranges"]
    assert not any(f.handover for f in found)


def test_report_buttons_only_for_handover_findings_and_ids_are_unique() -> None:
    org = OrgSnapshot(users={"1": _user("1", "svc", active=False)}, tokens=_tokens("1", 4))
    findings = audit(AuditInput(_catalog(), org, [], NOW, run_tag="audit-1234"))
    assert len({f.id for f in findings}) == len(findings) == 2
    messages = group_messages(findings, "run-1", "carol@acme.example", "1.0")
    buttons = [e for _, blocks in messages for b in blocks for e in b.get("elements", [])]
    assert len(buttons) == 1 and buttons[0]["action_id"].startswith(HANDOVER_ACTION + "_")
    click = Click.decode(buttons[0]["value"])
    assert (click.integration, click.requester, click.thread) == ("jira-sf", "carol@acme.example", "1.0")
    assert "token-limit" in markdown("Audit", findings, 1, "carol") and HANDOVER_ACTION == GATEWAY_ACTION


def test_what_counts_as_a_write() -> None:
    calls = {
        "salesforce GET /services/data/v59.0/query": 3, "salesforce POST /services/oauth2/token": 2,
        "salesforce POST /services/Soap/u/59.0": 1, "salesforce POST /services/Soap/m/59.0": 2,
        "salesforce SOAP metadata readMetadata": 1, "slack POST /api/chat.postMessage": 8,
        "jira POST /rest/api/3/permissions/check": 1,
    }  # fmt: skip
    assert calllog.writes(calls) == {"jira POST /rest/api/3/permissions/check": 1}
    assert calllog.writes({**calls, "salesforce SOAP metadata updateMetadata": 1}).keys() == {
        "jira POST /rest/api/3/permissions/check", "salesforce SOAP metadata updateMetadata"}  # fmt: skip
    assert calllog.writes({"salesforce PATCH /services/data/v59.0/sobjects/UserLogin/x": 1})
    assert "salesforce SOAP metadata readMetadata" not in calllog.requests(calls) and len(calllog.requests(calls)) == 5
