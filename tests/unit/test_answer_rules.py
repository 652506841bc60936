"""The answer rules (clients.humanstep.rules): every kind, path and outcome, and the checks on what people type.

The same function judges an answer in the flow, the gateway and the CLI, so this table is the contract."""

from __future__ import annotations

import itertools

import pytest

from clients.humanstep import OUTCOMES_BY_KIND, SECRET_PATHS, VERIFIED_PATHS, Answer, refusal
from clients.humanstep.keys import record_key, step_of, sweep_action, sweep_key, wait_key, waits_for

KINDS = ("task", "secret", "approval")
PATHS = ("prefect-ui", "cli", "slack", "oauth", "deposit")
OUTCOMES = ("done", "problem", "approve", "reject")
APPROVER, REQUESTER = "U0APPROVER", "U0REQUESTER"


def expected_rule(kind: str, via: str, outcome: str, slack_only: bool) -> str | None:
    """The rule each combination breaks, written out independently of the implementation."""
    if outcome not in OUTCOMES_BY_KIND[kind]:
        return "outcome-for-kind"
    if kind == "secret" and outcome == "done" and via not in SECRET_PATHS:
        return "secret-through-its-link"
    if kind == "approval" and outcome == "approve" and slack_only and via not in VERIFIED_PATHS:
        return "approvals-slack-only"
    return None


@pytest.mark.parametrize(
    ("kind", "via", "outcome", "slack_only"), list(itertools.product(KINDS, PATHS, OUTCOMES, (True, False)))
)
def test_every_kind_path_and_outcome(kind: str, via: str, outcome: str, slack_only: bool) -> None:
    answer = Answer(
        kind=kind,
        outcome=outcome,
        via=via,
        verified=via in VERIFIED_PATHS,
        responder=APPROVER,
        approvers=frozenset({APPROVER}) if via in VERIFIED_PATHS else None,
        requester=frozenset({REQUESTER, "req@acme.example"}),
        approvals_slack_only=slack_only,
    )
    refused = refusal(answer)
    want = expected_rule(kind, via, outcome, slack_only)
    assert (refused.rule if refused else None) == want
    if refused:
        said = refused.message()
        assert refused.reason and refused.fix and "; " in said and "{choices}" not in said and "{field}" not in said


def test_an_approver_outside_the_group_is_refused_naming_the_group() -> None:
    answer = Answer(
        kind="approval",
        outcome="approve",
        via="slack",
        verified=True,
        responder="U0OUTSIDER",
        approvers=frozenset({APPROVER}),
        approver_group="baton-approvers",
    )
    refused = refusal(answer)
    assert refused is not None and refused.rule == "approver-group"
    assert "Only members of @baton-approvers may approve" in refused.message()


@pytest.mark.parametrize("via", ["slack", "prefect-ui"])
def test_the_requester_may_not_approve_but_may_reject(via: str) -> None:
    base = dict(
        kind="approval",
        via=via,
        verified=via == "slack",
        responder=REQUESTER,
        approvers=frozenset({REQUESTER}) if via == "slack" else None,
        requester=frozenset({REQUESTER, "req@acme.example"}),
        approvals_slack_only=False,
    )
    refused = refusal(Answer(outcome="approve", **base))  # type: ignore[arg-type]
    assert refused is not None and refused.rule == "four-eyes" and "four eyes" in refused.message()
    assert refusal(Answer(outcome="reject", **base)) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["{{ prefect.variables.x }}", "{% for %}", "{# c #}", "a }} b", "x %}"])
@pytest.mark.parametrize("field", ["note", "responder"])
def test_template_markers_are_refused_in_what_people_type(field: str, text: str) -> None:
    answer = Answer(kind="task", outcome="done", via="cli", verified=False, **{field: text})  # type: ignore[arg-type]
    refused = refusal(answer)
    assert refused is not None and refused.rule == "template-markers" and refused.field == field
    assert refused.message({"note": "--note", "responder": "--as"}).startswith(
        {"note": "--note", "responder": "--as"}[field]
    )


def test_a_note_at_the_limit_passes_and_one_over_is_refused() -> None:
    ok = Answer(kind="task", outcome="done", via="slack", verified=True, note="x" * 2000)
    assert refusal(ok) is None
    long = Answer(kind="task", outcome="done", via="slack", verified=True, note="x" * 2001)
    refused = refusal(long)
    assert refused is not None and refused.rule == "note-length"


def test_the_fix_names_the_choices_in_each_paths_words() -> None:
    refused = refusal(Answer(kind="task", outcome="approve", via="cli", verified=False))
    assert refused is not None
    assert refused.message() == "'approve' is not an answer to this task step; use done or problem"
    assert refused.message({"outcome": "--outcome"}).endswith("use --outcome done or --outcome problem")


def test_keys_are_spelled_once_and_round_trip() -> None:
    assert record_key("oauth-consent") == "baton-step-oauth-consent"
    assert [wait_key("s", n) for n in range(3)] == ["s", "s-r1", "s-r2"]
    assert {step_of(wait_key("oauth-consent", n)) for n in range(4)} == {"oauth-consent"}
    assert waits_for("oauth-consent-r2", "oauth-consent") and waits_for("oauth-consent", "oauth-consent")
    assert not waits_for("oauth-consent", "oauth") and not waits_for("other-r1", "oauth-consent")
    assert sweep_action("s", sweep_key("s", "remind", 3)) == "remind"
    assert sweep_action("t", sweep_key("s", "remind", 3)) == ""
    with pytest.raises(ValueError):
        wait_key("s", -1)


ASSIGNEE, LEAVER, ONCALL = "U0ASSIGNEE", "U0LEAVER", "U0ONCALL"


def _clicked(kind: str, outcome: str, responder: str, *, escalated: bool = False, via: str = "slack") -> Answer:
    return Answer(
        kind=kind, outcome=outcome, via=via, verified=via in VERIFIED_PATHS, responder=responder,
        approvers=frozenset({APPROVER}) if via in VERIFIED_PATHS else None, assignee=ASSIGNEE,
        escalation_group="it-escalation" if escalated else "",
        escalated_to=frozenset({ONCALL}) if escalated else frozenset(),
    )  # fmt: skip


@pytest.mark.parametrize("kind", ["task", "secret"])
@pytest.mark.parametrize(
    ("responder", "escalated", "allowed"),
    [
        (ASSIGNEE, False, True),
        (APPROVER, False, True),
        (ONCALL, False, False),
        (ONCALL, True, True),
        (LEAVER, False, False),
        (LEAVER, True, False),
    ],
)
def test_who_may_answer_a_task_or_secret_step(kind: str, responder: str, escalated: bool, allowed: bool) -> None:
    refused = refusal(_clicked(kind, "problem", responder, escalated=escalated))
    assert (refused is None) is allowed, refused
    if refused is not None:
        said = refused.message()
        assert refused.rule == "who-may-answer" and f"<@{ASSIGNEE}> (the assignee)" in said
        assert "@baton-approvers" in said and f"<@{responder}> is not one of them" in said
        assert ("@it-escalation (the step was escalated to it)" in said) is escalated


@pytest.mark.parametrize("via", ["prefect-ui", "cli"])
def test_who_may_answer_is_not_judged_where_nobody_vouches_for_the_person(via: str) -> None:
    """A self-declared answer names whoever it likes; the rule needs Slack's word (and Prefect's own auth guards the
    UI and the CLI)."""
    assert refusal(_clicked("task", "done", LEAVER, via=via)) is None


def test_an_approval_is_not_judged_by_the_assignee_rule() -> None:
    answer = _clicked("approval", "reject", LEAVER)
    assert refusal(answer) is None  # a rejection may come from anyone in the workspace
