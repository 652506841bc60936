"""The spec checker itself must be able to fail: wrong shapes, quirk fields, unknown error codes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.contract.slack_spec import SlackSpec, SpecMismatch

GOOD_POST: dict[str, Any] = {
    "ok": True,
    "channel": "C0HANDOVER",
    "ts": "1700000000.000100",
    "message": {
        "type": "message",
        "text": "hi",
        "user": "U0BATONBOT",
        "ts": "1700000000.000100",
        "bot_id": "B0BATONBOT",
        "blocks": [{"type": "section", "block_id": "a"}],
    },
}


def test_a_good_answer_passes(slack_spec: SlackSpec) -> None:
    slack_spec.check("chat.postMessage", GOOD_POST)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.pop("message"),  # required field missing
        lambda b: b.update(extra=1),  # additionalProperties: false
        lambda b: b.update(ts="1700000000"),  # ts pattern
        lambda b: b.update(channel="it-handover"),  # channel id pattern
        lambda b: b["message"].update(app_id="A0BATONAPP"),  # objs_message forbids extras
        lambda b: b["message"].update(blocks=[{"block_id": "x"}]),  # a block needs a type
    ],
)
def test_wrong_shapes_are_caught(slack_spec: SlackSpec, mutate: Any) -> None:
    body = copy.deepcopy(GOOD_POST)
    mutate(body)
    with pytest.raises(SpecMismatch):
        slack_spec.check("chat.postMessage", body)


def test_error_codes_outside_the_methods_list_are_caught(slack_spec: SlackSpec) -> None:
    slack_spec.check("users.lookupByEmail", {"ok": False, "error": "users_not_found"})
    with pytest.raises(SpecMismatch):
        slack_spec.check("users.lookupByEmail", {"ok": False, "error": "user_not_found"})
    with pytest.raises(SpecMismatch):
        slack_spec.check("chat.postMessage", {"ok": False, "error": "channel_not_found", "detail": "x"})


def test_the_corrections_are_needed_and_narrow() -> None:
    strict = SlackSpec(strict=True)
    with pytest.raises(SpecMismatch):
        strict.check("chat.postMessage", {"ok": False, "error": "invalid_blocks"})
    with pytest.raises(SpecMismatch):
        strict.check(
            "conversations.history",
            {
                "ok": True,
                "messages": [],
                "has_more": False,
                "pin_count": 0,
                "channel_actions_ts": None,
                "channel_actions_count": 0,
            },
        )


def test_rate_limit_and_status_rules(slack_spec: SlackSpec) -> None:
    slack_spec.check("chat.postMessage", {"ok": False, "error": "ratelimited"}, status=429)
    with pytest.raises(SpecMismatch):
        slack_spec.check("chat.postMessage", {"ok": False, "error": "rate_limited"}, status=429)
    with pytest.raises(SpecMismatch):
        slack_spec.check("auth.test", {"ok": False, "error": "invalid_auth"}, status=401)


def test_quirk_fields_are_checked_where_the_spec_ignores_them(slack_spec: SlackSpec) -> None:
    # objs_user is `items: [A, B]`, which JSON Schema ignores: a user that is a string would pass...
    raw = slack_spec.validator(slack_spec.response_pointer("users.info", True))
    assert raw.is_valid({"ok": True, "user": "U0CAROL01"})
    # ...so the checker looks at it itself.
    with pytest.raises(SpecMismatch, match="user must be an object"):
        slack_spec.check("users.info", {"ok": True, "user": "U0CAROL01"})
    with pytest.raises(SpecMismatch, match="user"):
        slack_spec.check("users.info", {"ok": True, "user": {"id": "U0CAROL01"}})
    with pytest.raises(SpecMismatch, match="channel"):
        slack_spec.check("conversations.open", {"ok": True, "channel": "D0CAROL01"})
    with pytest.raises(SpecMismatch, match="channel"):
        slack_spec.check("conversations.open", {"ok": True, "channel": {"id": "C0HANDOVER"}})
    with pytest.raises(SpecMismatch, match="messages"):
        slack_spec.check("conversations.replies", {"ok": True, "messages": [{"text": "no ts"}]})
