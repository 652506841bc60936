"""offboard_person's request and plan: what hands over to whom, which steps need a person, how long each
is expected to take, and, with a leave date known ahead, when each handover is scheduled to start."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, EmailStr, Field, field_validator

from flows.catalog import Integration
from flows.reminders import WaitPolicy

# The steps of each handover flow that need a person (from its guide), for the plan people approve.
PERSON_STEPS: dict[str, list[str]] = {
    "rotate-salesforce-jira-connector": [
        "log out of Salesforce",
        "Revoke + Authorize in Jira as the successor (OAuth consent)",
        "copy the API access token (deposited into Vault)",
        "paste it into the Salesforce package and Save",
    ],
    "change-intercom-app-user": [
        "log out of Jira",
        "uninstall the Intercom app",
        "reinstall it and authorize as the successor",
    ],
    "create-jotform-api-only-user": [
        "verify the new user's e-mail",
        "Authenticate Jotform as the API-only user and Allow",
    ],
    "create-salesforce-integration-user": ["OAuth consent as the new user (or deposit the security token)"],
}
DAY = dt.timedelta(days=1)


class OffboardRequest(BaseModel):
    """offboard_person's parameters, checked before anything runs."""

    person: EmailStr = Field(description="the leaver's login e-mail, e.g. alice@acme.example")
    requested_by: str = Field(
        min_length=3,
        max_length=200,
        description="who asks: an e-mail, or 'identity-provider' for an event (they may not approve)",
    )
    leave_at: dt.datetime | None = Field(
        None, description="when their accounts are switched off; a naive time is in the organisation's time zone"
    )
    cancel: bool = Field(False, description="the leave is cancelled: cancel what was scheduled for this person")
    event_id: str | None = Field(None, max_length=200, description="the identity provider's event, for the record")

    @field_validator("requested_by")
    @classmethod
    def _not_lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("person")
    @classmethod
    def _person(cls, value: str) -> str:
        return value.lower()

    def leave_time(self, timezone: str) -> dt.datetime | None:
        """leave_at as an aware time (a naive one is read in the organisation's *timezone*)."""
        if self.leave_at is None:
            return None
        return self.leave_at if self.leave_at.tzinfo else self.leave_at.replace(tzinfo=ZoneInfo(timezone))


@dataclass(frozen=True)
class Handover:
    """One line of the plan."""

    integration_id: str
    title: str
    deployment: str
    variant: str | None
    from_user: str
    to_user: str
    person_steps: list[str]
    expected_minutes: int
    start_at: str | None = None  # ISO time when scheduled ahead; None: now

    @property
    def needs_a_person(self) -> bool:
        return bool(self.person_steps)


def schedule_start(
    entry: Integration, leave_at: dt.datetime | None, margin_minutes: int, now: dt.datetime
) -> str | None:
    """When to start *entry*'s handover so it finishes *margin_minutes* before *leave_at*; None: start now."""
    if leave_at is None:
        return None
    start = leave_at - dt.timedelta(minutes=margin_minutes + entry.expected_minutes)
    return start.astimezone(dt.UTC).isoformat() if start > now else None


def plan_handovers(
    entries: list[Integration], person: str, leave_at: dt.datetime | None, margin_minutes: int, now: dt.datetime
) -> list[dict[str, Any]]:
    """The plan, one dict per handover (JSON-able: it is a cached task result and the approval's text)."""
    return [
        asdict(
            Handover(
                integration_id=e.id,
                title=e.title,
                deployment=e.target(),
                variant=e.variant,
                from_user=person,
                to_user=str(e.successor or "(no successor named in the catalog)"),
                person_steps=list(PERSON_STEPS.get(e.flow, [])),
                expected_minutes=e.expected_minutes,
                start_at=schedule_start(e, leave_at, margin_minutes, now),
            )
        )
        for e in entries
    ]


def local(iso: str, timezone: str) -> str:
    """'2026-12-05 14:30 Europe/London' for an ISO time."""
    return dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone)).strftime(f"%Y-%m-%d %H:%M {timezone}")


def render_plan(person: str, plan: list[dict[str, Any]], extra: list[str], timezone: str) -> str:
    """The plan as people read it in Slack and in the Prefect UI."""
    lines = [f"Offboarding {person}: {len(plan)} handover(s), each verified before {person} is frozen."]
    for number, item in enumerate(plan, 1):
        variant = f" ({item['variant']})" if item["variant"] else ""
        when = f"scheduled {local(item['start_at'], timezone)}" if item["start_at"] else "starts after approval"
        steps = "; ".join(item["person_steps"]) or "none"
        lines.append(
            f"{number}. *{item['title']}* [{item['integration_id']}]: {item['from_user']} -> {item['to_user']} "
            f"by {item['deployment'].split('/')[0]}{variant}; ~{item['expected_minutes']} min; {when}; "
            f"a person: {steps}"
        )
    lines += extra
    return "\n".join(lines)


def approval_policy(plan: list[dict[str, Any]], leave_at: dt.datetime | None, margin_minutes: int) -> WaitPolicy:
    """How long the approval may wait: the usual three days, but with a leave date no longer than leaves
    time for the longest handover before it (at least an hour), escalating half-way."""
    default = WaitPolicy()
    if leave_at is None:
        return default
    longest = max((item["expected_minutes"] for item in plan), default=0)
    room = (leave_at - dt.datetime.now(dt.UTC)).total_seconds() - 60 * (margin_minutes + longest)
    deadline = max(3600.0, min(default.deadline, room))
    escalate = min(default.escalate_after, deadline / 2)
    return WaitPolicy(remind_every=min(default.remind_every, escalate / 2), escalate_after=escalate, deadline=deadline)
