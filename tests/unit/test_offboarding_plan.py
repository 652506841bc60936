"""offboard_person's request and plan: leave dates in the organisation's time zone, start times that finish
before the leave date with a margin, and a plan that says who does what."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows.catalog import load_catalog
from flows.offboarding_plan import (
    OffboardRequest,
    approval_policy,
    local,
    plan_handovers,
    render_plan,
    schedule_start,
)
from flows.plan import InvalidRequest, validate
from flows.reminders import WaitPolicy

ROOT = Path(__file__).parents[2]
CATALOG = load_catalog(ROOT / "deployments" / "catalog" / "alice-leaving.yaml")
NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def test_a_naive_leave_date_is_read_in_the_organisations_time_zone() -> None:
    req = validate(OffboardRequest, {"person": "Alice@acme.example", "requested_by": "carol@acme.example",
                                     "leave_at": "2026-07-01T17:00:00"})  # fmt: skip
    when = req.leave_time("Europe/London")
    assert when is not None and when.utcoffset() == dt.timedelta(hours=1)  # BST in July
    assert when.astimezone(dt.UTC).hour == 16 and req.person == "alice@acme.example"
    aware = validate(OffboardRequest, {"person": "alice@acme.example", "requested_by": "carol@acme.example",
                                       "leave_at": "2026-07-01T17:00:00+02:00"})  # fmt: skip
    assert aware.leave_time("Europe/London") == dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"requested_by": "carol@acme.example"}, "person"),
        ({"person": "alice", "requested_by": "carol@acme.example"}, "person"),
        ({"person": "alice@acme.example"}, "requested_by"),
        ({"person": "alice@acme.example", "requested_by": "carol@acme.example", "leave_at": "soon"}, "leave_at"),
    ],
)
def test_a_bad_request_names_the_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequest, match=f"nothing was changed; fix these parameters: {field}"):
        validate(OffboardRequest, params)


def test_handovers_are_scheduled_to_finish_before_the_leave_date_with_the_margin() -> None:
    leave = NOW + dt.timedelta(days=3)
    entry = CATALOG.by_id("jotform-contact-sales")  # expected_minutes: 25
    start = schedule_start(entry, leave, 120, NOW)
    assert start is not None
    assert dt.datetime.fromisoformat(start) == leave - dt.timedelta(minutes=145)
    assert schedule_start(entry, None, 120, NOW) is None  # no leave date: now
    assert schedule_start(entry, NOW + dt.timedelta(minutes=100), 120, NOW) is None  # too late to wait: now


def test_the_plan_says_who_takes_over_what_needs_a_person_and_when() -> None:
    leave = dt.datetime(2026, 12, 5, 17, 0, tzinfo=ZoneInfo("Europe/London"))
    plan = plan_handovers(CATALOG.of("alice@acme.example"), "alice@acme.example", leave, 120, NOW)
    assert [p["integration_id"] for p in plan] == [e.id for e in CATALOG.integrations]
    intercom = next(p for p in plan if p["integration_id"] == "intercom-jira-app")
    assert (
        intercom["to_user"] == "intercom-app@acme.example" and "uninstall the Intercom app" in intercom["person_steps"]
    )
    text = render_plan("alice@acme.example", plan, ["extra line"], "Europe/London")
    assert "alice@acme.example -> intercom-app@acme.example" in text
    assert "scheduled 2026-12-05 14:45 Europe/London" in text  # 17:00 - 2 h margin - 15 min
    assert text.endswith("extra line")
    assert local("2026-12-05T14:45:00+00:00", "Europe/London") == "2026-12-05 14:45 Europe/London"


def test_the_approval_may_wait_no_longer_than_the_leave_date_allows() -> None:
    plan = plan_handovers(CATALOG.of("alice@acme.example"), "alice@acme.example", None, 120, NOW)
    assert approval_policy(plan, None, 120) == WaitPolicy()
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=5)  # 5 h - 2 h margin - 25 min longest handover
    policy = approval_policy(plan, soon, 120)
    assert abs(policy.deadline - (5 * 3600 - 145 * 60)) < 60 and policy.escalate_after == policy.deadline / 2
    assert approval_policy(plan, dt.datetime.now(dt.UTC) + dt.timedelta(days=30), 120) == WaitPolicy()
    assert approval_policy(plan, dt.datetime.now(dt.UTC), 120).deadline == 3600  # leaving now: an hour
