"""The step's Slack message (Block Kit): what each kind of step shows and what its buttons carry."""

from __future__ import annotations

from typing import Any

import pytest

from clients.humanstep import (
    ACTION_IDS,
    LINK_ACTION,
    NOTE_ACTION,
    NOTE_BLOCK,
    OUTCOMES_BY_KIND,
    ButtonValue,
    answered_blocks,
    step_blocks,
)

RUN = "0b7e4b6e-2d1f-4b7a-9a57-3f6f1a1c0d11"


def _blocks(kind: str, **extra: Any) -> list[dict[str, Any]]:
    value = ButtonValue(run=RUN, key="revoke", kind=kind, requester="bob@acme.example")  # type: ignore[arg-type]
    return step_blocks(
        title="Revoke the connection",
        instruction="In **Jira**, open [Configure](https://jira.example/configure) and press **Revoke**.",
        kind=kind,  # type: ignore[arg-type]
        value=value,
        run_url=f"http://127.0.0.1:4200/runs/flow-run/{RUN}",
        **extra,
    )


def _of(blocks: list[dict[str, Any]], block_type: str) -> list[dict[str, Any]]:
    return [b for b in blocks if b["type"] == block_type]


@pytest.mark.parametrize("kind", ["task", "approval", "secret"])
def test_every_step_shows_title_instruction_run_link_and_a_note(kind: str) -> None:
    blocks = _blocks(kind, assignee="U0BOB0001", links={"Jira: Configure": "https://jira.example/c"})
    assert _of(blocks, "header")[0]["text"]["text"] == "Revoke the connection"
    section = _of(blocks, "section")[0]["text"]["text"]
    assert section.startswith("<@U0BOB0001> ")
    assert "*Jira*" in section and "<https://jira.example/configure|Configure>" in section  # Markdown → mrkdwn
    context = _of(blocks, "context")[0]["elements"][0]["text"]
    assert f"<http://127.0.0.1:4200/runs/flow-run/{RUN}|Open the run in Prefect>" in context
    assert "<https://jira.example/c|Jira: Configure>" in context
    note = _of(blocks, "input")[0]
    assert note["block_id"] == NOTE_BLOCK and note["optional"] is True
    assert note["element"]["action_id"] == NOTE_ACTION and note["element"]["max_length"] == 2000


@pytest.mark.parametrize(
    ("kind", "buttons"),
    [("task", ["baton_done", "baton_problem"]), ("approval", ["baton_approve", "baton_reject"])],
)
def test_buttons_answer_with_the_kinds_outcomes_and_carry_the_step(kind: str, buttons: list[str]) -> None:
    elements = _of(_blocks(kind), "actions")[0]["elements"]
    assert [e["action_id"] for e in elements] == buttons
    assert tuple(ACTION_IDS[e["action_id"]] for e in elements) == OUTCOMES_BY_KIND[kind]
    for element in elements:
        value = ButtonValue.decode(element["value"])
        assert (value.run, value.key, value.kind, value.requester) == (RUN, "revoke", kind, "bob@acme.example")


def test_a_secret_step_offers_its_one_time_link_and_no_done_button() -> None:
    elements = _of(_blocks("secret", secure_link=("Open the deposit page", "https://gw/deposit/t")), "actions")[0][
        "elements"
    ]
    assert elements[0]["action_id"] == LINK_ACTION and elements[0]["url"] == "https://gw/deposit/t"
    assert [e["action_id"] for e in elements[1:]] == ["baton_problem"]


def test_an_assignee_that_is_not_a_slack_id_is_not_mentioned() -> None:
    assert not _of(_blocks("task", assignee="bob@acme.example"), "section")[0]["text"]["text"].startswith("<@")


def test_long_texts_fit_slacks_limits() -> None:
    value = ButtonValue(run=RUN, key="k", kind="task")
    blocks = step_blocks(title="t" * 400, instruction="i" * 5000, kind="task", value=value, run_url="http://x")
    assert len(_of(blocks, "header")[0]["text"]["text"]) == 150
    assert len(_of(blocks, "section")[0]["text"]["text"]) == 3000


def test_the_answered_message_has_no_buttons_and_says_who() -> None:
    blocks = answered_blocks(title="Revoke", instruction="Press **Revoke**.", status="*Done* by <@U0BOB0001>")
    assert not _of(blocks, "actions") and not _of(blocks, "input")
    assert _of(blocks, "context")[0]["elements"][0]["text"] == "*Done* by <@U0BOB0001>"


@pytest.mark.parametrize("raw", ['{"run": 1, "key": "k", "kind": "task"}', '{"run": "r", "key": "k"}', "[]", "x"])
def test_a_malformed_button_value_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        ButtonValue.decode(raw)
