"""WaitPolicy: what is due when, and which policies are refused."""

from __future__ import annotations

import pytest

from clients.humanstep import StepRecord, WaitPolicy

H = 3600.0


@pytest.mark.parametrize(
    ("remind_every", "escalate_after", "deadline"),
    [
        (0, 24 * H, 72 * H),  # divides by zero in due()
        (-1, 24 * H, 72 * H),
        (4 * H, 0, 72 * H),
        (4 * H, -5, 72 * H),
        (4 * H, 80 * H, 72 * H),  # escalation after the deadline
    ],
)
def test_an_invalid_policy_is_refused(remind_every: float, escalate_after: float, deadline: float) -> None:
    with pytest.raises(ValueError, match="0 < remind_every and 0 < escalate_after <= deadline"):
        WaitPolicy(remind_every, escalate_after, deadline)


def test_escalation_at_the_deadline_is_allowed() -> None:
    assert WaitPolicy(1, 10, 10).due(10, ()) == ["remind"] * 10 + ["escalate", "expire"]


@pytest.mark.parametrize(
    ("elapsed", "done", "due"),
    [
        (0, (), []),
        (3.9 * H, (), []),
        (4 * H, (), ["remind"]),
        (8.5 * H, (), ["remind", "remind"]),
        (8.5 * H, ("remind",), ["remind"]),
        (8.5 * H, ("remind", "remind"), []),
        (24 * H, ("remind",) * 5, ["remind", "escalate"]),
        (30 * H, ("remind",) * 6, ["escalate"]),  # reminders stop at the escalation
        (30 * H, ("remind",) * 6 + ("escalate",), []),
        (72 * H, ("remind",) * 6 + ("escalate",), ["expire"]),
        (100 * H, (), ["remind"] * 6 + ["escalate", "expire"]),  # a late sweep catches up, in order
        (100 * H, ("remind",) * 6 + ("escalate", "expire"), []),
    ],
)
def test_due_counts_what_is_left_in_order(elapsed: float, done: tuple[str, ...], due: list[str]) -> None:
    assert WaitPolicy().due(elapsed, done) == due  # type: ignore[arg-type]


def test_a_record_written_before_the_model_keeps_its_policy() -> None:
    record = StepRecord.model_validate(
        {"channel": "C1", "ts": "1.0", "posted_at": 5.0, "policy": [60, 120, 300], "title": "t"}
    )
    assert record.policy.policy() == WaitPolicy(60, 120, 300)
    assert StepRecord.model_validate(record.model_dump()) == record
