"""The connector handovers' request models (one parameter, ``request``), the guide's words in their steps, and
the small helpers, without Prefect."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.connector_texts import Texts
from flows.handover_common import Waits, minutes_between
from flows.intercom_app_user import IntercomAppUserRequest
from flows.plan import InvalidRequest, validate
from flows.salesforce_jira_connector import ConnectorHandoverRequest, S

GUIDES = next(
    (p for p in (Path(__file__).resolve().parents[3] / "shared" / "guides", Path("/work/shared/guides")) if p.exists()),
    Path("/work/shared/guides"),
)
GOOD = {
    "integration_id": "jira-cloud-salesforce", "variant": "cloud", "leaver": "alice@acme.example",
    "successor": "jira-connector@acme.example", "connection_id": "10001", "requested_by": "bob@acme.example",
}  # fmt: skip


def test_a_good_request_and_its_defaults() -> None:
    req = validate(ConnectorHandoverRequest, GOOD)
    assert req.permission_sets == ["Jira_Connector_Access"]
    assert req.token_path == "baton/integrations/jira-cloud-salesforce/api-access-token"
    assert req.password_path == "baton/integrations/salesforce-jira-connector-acme-example/password"
    assert req.waits.policy().deadline == 72 * 3600


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"variant": "datacenter"}, ["variant"]),
        ({"leaver": "not-an-email", "connection_id": "10 001"}, ["leaver", "connection_id"]),
        ({"integration_id": "Jira Cloud!"}, ["integration_id"]),
        ({"successor": "ALICE@acme.example"}, ["successor must differ from leaver"]),
        ({"waits": {"escalate_after_minutes": 10, "deadline_minutes": 5}}, ["waits", "escalate_after_minutes"]),
    ],
)
def test_bad_requests_name_every_field_and_change_nothing(change: dict[str, object], fields: list[str]) -> None:
    with pytest.raises(InvalidRequest) as info:
        validate(ConnectorHandoverRequest, {**GOOD, **change})
    assert str(info.value).startswith("nothing was changed; fix these parameters:")
    for name in fields:
        assert name in str(info.value)


def test_intercom_request_needs_projects_and_a_different_successor() -> None:
    base = {"integration_id": "intercom-jira", "leaver": "alice@acme.example", "successor": "intercom-app@acme.example",
            "projects": [10000], "intercom_workspace": "acmesupport1", "requested_by": "bob@acme.example"}  # fmt: skip
    req = validate(IntercomAppUserRequest, base)
    assert req.successor_name == "Intercom app" and "CREATE_ISSUES" in req.permissions
    with pytest.raises(InvalidRequest, match="projects: List should have at least 1 item"):
        validate(IntercomAppUserRequest, {**base, "projects": []})
    with pytest.raises(InvalidRequest, match="successor must differ from leaver"):
        validate(IntercomAppUserRequest, {**base, "successor": "Alice@acme.example"})


def test_the_steps_follow_the_guide_in_its_order_and_words() -> None:
    guide = (GUIDES / "salesforce-jira-connector.txt").read_text().replace("\xa0", " ")
    texts = Texts("cloud", "alice@acme.example", "jira-connector@acme.example", "10001")
    said = [texts.logout(), texts.revoke(), texts.authorize(0), texts.copy_token(), texts.save()]
    phrases = [
        "Logout from Salesforce first",
        "navigate to *Jira Apps > Salesforce > Connections > Your connection > Configure*",
        "While on the same page, click **Authorize**. You will be redirected to the Salesforce website",
        "return to your Jira instance (do not close the Salesforce window yet)",
        'Return to Salesforce window. Click *Setup > Installed packages > Configure "Jira Cloud for Salesforce"*',
    ]
    for text, phrase in zip(said, phrases, strict=True):
        assert phrase in text, phrase
    for phrase in ("Logout from Salesforce first", "While on the same page, click Authorize", "API Access token"):
        assert phrase in guide
    assert 'Configure "Jira Server for Salesforce"' in Texts("server", "a@x.io", "b@x.io", "1").save()
    people = [s.value.title for s in S if s.value.who == "person"]
    assert [t[:2] for t in people] == ["1.", "2.", "3.", "4.", "5."]


def test_minutes_between_and_waits() -> None:
    assert minutes_between("2026-12-02T05:00:00+00:00", "2026-12-02T05:07:30+00:00") == 7.5
    assert minutes_between("2026-12-02T05:00:00", "2026-12-02T04:00:00+00:00") == 0.0
    assert Waits(remind_every_minutes=1, escalate_after_minutes=2, deadline_minutes=3).policy().escalate_after == 120


def test_the_shipped_catalog_starts_these_flows_with_requests_they_accept() -> None:
    """offboard-person passes each catalog entry's ``request()`` to the flow's deployment: it must validate."""
    from flows.catalog import load_catalog

    catalog = load_catalog(Path(__file__).parents[2] / "deployments" / "catalog" / "alice-leaving.yaml")
    models = {"rotate-salesforce-jira-connector": ConnectorHandoverRequest,
              "change-intercom-app-user": IntercomAppUserRequest}  # fmt: skip
    checked = 0
    for entry in catalog.integrations:
        if entry.flow in models:
            req = validate(models[entry.flow], entry.request("bob@acme.example"))
            assert req.integration_id == entry.id and str(req.successor) == entry.successor
            checked += 1
    assert checked == 3
    server = next(e for e in catalog.integrations if e.variant == "server")
    assert validate(ConnectorHandoverRequest, server.request("bob@acme.example")).variant == "server"
