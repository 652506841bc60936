"""The Slack stand-in's Web API through slack-sdk's WebClient; every response is checked against the spec."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from sandbox.server import Sandbox
from sandbox.slack import SlackState, state_of
from sandbox.slack.config import SlackScenarioError, UserSpec, parse_config
from tests.contract.conftest import checked_client
from tests.contract.slack_spec import CheckedWebClient, SlackSpec

HANDOVER = "C0HANDOVER"
# slack-sdk warns when a message has no top-level text; some tests leave it out on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")


def buttons(prefix: str = "") -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{prefix}Re-authorize the Jira connector"}},
        {
            "type": "actions",
            "block_id": "decision",
            "elements": [
                {
                    "type": "button",
                    "action_id": "done",
                    "value": "run-1:done",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Done"},
                },
                {
                    "type": "button",
                    "action_id": "problem",
                    "value": "run-1:problem",
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Problem"},
                },
            ],
        },
    ]


def error_of(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def test_auth_test_names_the_bot_and_team(slack: CheckedWebClient) -> None:
    data = slack.auth_test().data
    assert isinstance(data, dict)
    assert (data["team_id"], data["team"], data["user_id"], data["bot_id"]) == (
        "T0ACME",
        "Acme",
        "U0BATONBOT",
        "B0BATONBOT",
    )


@pytest.mark.parametrize("token,code", [("", "not_authed"), ("xoxb-sandbox-wrong", "invalid_auth")])
def test_tokens_are_checked(sandbox: Sandbox, slack_spec: SlackSpec, token: str, code: str) -> None:
    client = checked_client(sandbox, slack_spec)
    client.token = token or None
    assert error_of(client.auth_test).response["error"] == code
    assert error_of(lambda: client.chat_postMessage(channel=HANDOVER, text="x")).response["error"] == code


def test_token_as_form_parameter_is_accepted(sandbox: Sandbox, slack_state: SlackState, slack_spec: SlackSpec) -> None:
    client = checked_client(sandbox, slack_spec)
    client.token = None
    assert client.api_call("auth.test", params={"token": slack_state.bot.token})["ok"] is True


def test_post_message_by_id_and_by_name_with_blocks(slack: CheckedWebClient, slack_state: SlackState) -> None:
    first = slack.chat_postMessage(channel=HANDOVER, text="hand-over 1", blocks=buttons())
    second = slack.chat_postMessage(channel="#it-handover", text="hand-over 2")
    assert first["channel"] == second["channel"] == HANDOVER
    assert first["ts"] < second["ts"]
    message = first["message"]
    assert message["bot_id"] == "B0BATONBOT" and message["user"] == "U0BATONBOT"
    assert [b["block_id"] for b in message["blocks"]][1] == "decision"
    assert message["blocks"][0]["block_id"], "Slack gives every block a block_id"
    stored = slack_state.message(HANDOVER, first["ts"])
    assert stored["text"] == "hand-over 1" and stored["blocks"] == message["blocks"]


def test_post_message_form_encoded_blocks(slack: CheckedWebClient) -> None:
    response = slack.api_call(
        "chat.postMessage", data={"channel": HANDOVER, "text": "form", "blocks": json.dumps(buttons())}
    )
    assert response["message"]["blocks"][1]["elements"][0]["action_id"] == "done"


def test_thread_replies(slack: CheckedWebClient, slack_state: SlackState) -> None:
    parent = slack.chat_postMessage(channel=HANDOVER, text="thread parent")["ts"]
    reply = slack.chat_postMessage(channel=HANDOVER, text="reply 1", thread_ts=parent)
    slack.chat_postMessage(channel=HANDOVER, text="reply 2", thread_ts=parent)
    assert reply["message"]["thread_ts"] == parent
    thread = slack.conversations_replies(channel=HANDOVER, ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["thread parent", "reply 1", "reply 2"]
    assert thread[0]["reply_count"] == 2 and thread[1]["parent_user_id"] == "U0BATONBOT"
    assert [m["text"] for m in slack_state.thread(HANDOVER, parent)] == ["thread parent", "reply 1", "reply 2"]
    top = [m["ts"] for m in slack_state.messages(HANDOVER)]
    assert parent in top and reply["ts"] not in top


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"channel": "C0NOSUCHCHAN", "text": "x"}, "channel_not_found"),
        ({"channel": "#no-such-channel", "text": "x"}, "channel_not_found"),
        ({"channel": HANDOVER}, "no_text"),
        ({"channel": HANDOVER, "text": ""}, "no_text"),
        ({"channel": HANDOVER, "text": "x", "blocks": [{"type": "no_such_block"}]}, "invalid_blocks"),
        ({"channel": HANDOVER, "text": "x", "blocks": [{"type": "actions", "elements": []}]}, "invalid_blocks"),
        (
            {"channel": HANDOVER, "text": "x", "blocks": [{"type": "actions", "elements": [{"type": "button"}]}]},
            "invalid_blocks",
        ),
        ({"channel": HANDOVER, "text": "x" * 40_001}, "msg_too_long"),
    ],
)
def test_post_message_errors(slack: CheckedWebClient, kwargs: dict[str, Any], code: str) -> None:
    assert error_of(lambda: slack.chat_postMessage(**kwargs)).response["error"] == code


def test_post_message_outside_the_bots_channels(slack: CheckedWebClient, slack_state: SlackState) -> None:
    audit = slack_state.channels["C0ITAUDIT"]
    assert "U0BATONBOT" in slack_state.members[audit.id]
    slack_state.members[audit.id].discard("U0BATONBOT")
    try:
        assert (
            error_of(lambda: slack.chat_postMessage(channel="#it-audit", text="x")).response["error"]
            == "not_in_channel"
        )
    finally:
        slack_state.members[audit.id].add("U0BATONBOT")


def test_update_keeps_history(slack: CheckedWebClient, slack_state: SlackState) -> None:
    ts = slack.chat_postMessage(channel=HANDOVER, text="waiting for Carol", blocks=buttons())["ts"]
    done = [{"type": "section", "text": {"type": "mrkdwn", "text": "Done by <@U0CAROL01> at 12:03"}}]
    response = slack.chat_update(channel=HANDOVER, ts=ts, text="done by carol", blocks=done)
    assert (response["channel"], response["ts"], response["text"]) == (HANDOVER, ts, "done by carol")
    stored = slack_state.message(HANDOVER, ts)
    assert stored["text"] == "done by carol" and stored["blocks"][0]["text"]["text"].startswith("Done by")
    assert [v["text"] for v in stored["history"]] == ["waiting for Carol"]
    assert stored["history"][0]["via"] == "chat.update" and stored["history"][0]["blocks"][1]["block_id"] == "decision"
    history = slack.conversations_history(channel=HANDOVER, latest=ts, inclusive=True, limit=1)["messages"]
    assert history[0]["text"] == "done by carol"


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"channel": HANDOVER, "ts": "1111111111.000001", "text": "x"}, "message_not_found"),
        ({"channel": "C0NOSUCHCHAN", "ts": "1111111111.000001", "text": "x"}, "channel_not_found"),
    ],
)
def test_update_errors(slack: CheckedWebClient, kwargs: dict[str, Any], code: str) -> None:
    assert error_of(lambda: slack.chat_update(**kwargs)).response["error"] == code


def test_update_without_content_and_bad_blocks(slack: CheckedWebClient) -> None:
    ts = slack.chat_postMessage(channel=HANDOVER, text="to update")["ts"]
    assert error_of(lambda: slack.chat_update(channel=HANDOVER, ts=ts)).response["error"] == "no_text"
    bad = error_of(lambda: slack.chat_update(channel=HANDOVER, ts=ts, blocks=[{"type": 3}]))
    assert bad.response["error"] == "invalid_blocks"


def test_post_ephemeral(slack: CheckedWebClient, slack_state: SlackState) -> None:
    ts = slack.chat_postEphemeral(channel=HANDOVER, user="U0CAROL01", text="only Carol sees this")["message_ts"]
    assert ts not in [m["ts"] for m in slack_state.messages(HANDOVER)]
    mine = [m for m in slack_state.messages(HANDOVER, include_ephemeral=True) if m["ts"] == ts]
    assert mine[0]["ephemeral_to"] == "U0CAROL01"
    error = error_of(lambda: slack.chat_postEphemeral(channel="#it-audit", user="U0DAVE001", text="x"))
    assert error.response["error"] == "user_not_in_channel"
    assert error_of(lambda: slack.chat_postEphemeral(channel=HANDOVER, user="U0CAROL01")).response["error"] == "no_text"


def test_get_permalink(slack: CheckedWebClient) -> None:
    ts = slack.chat_postMessage(channel=HANDOVER, text="link me")["ts"]
    link = slack.chat_getPermalink(channel=HANDOVER, message_ts=ts)["permalink"]
    assert link == f"https://acme.slack.com/archives/{HANDOVER}/p{ts.replace('.', '')}"
    missing = error_of(lambda: slack.chat_getPermalink(channel=HANDOVER, message_ts="1000000000.000001"))
    assert missing.response["error"] == "message_not_found"


def test_conversations_open_and_dm(slack: CheckedWebClient, slack_state: SlackState) -> None:
    opened = slack.conversations_open(users="U0CAROL01")
    dm = opened["channel"]["id"]
    assert dm.startswith("D")
    again = slack.conversations_open(users=["U0CAROL01"], return_im=True)
    assert again["channel"]["id"] == dm and again["already_open"] is True and again["channel"]["user"] == "U0CAROL01"
    ts = slack.chat_postMessage(channel=dm, text="Please approve")["ts"]
    assert slack_state.message(dm, ts)["text"] == "Please approve"
    assert slack.conversations_info(channel=dm)["channel"]["is_im"] is True
    by_user = slack.chat_postMessage(channel="U0CAROL01", text="straight to the user")
    assert by_user["channel"] == dm


@pytest.mark.parametrize(
    "users,code",
    [
        ("U0NOBODY01", "user_not_found"),
        (None, "users_list_not_supplied"),
        (",", "not_enough_users"),
    ],
)
def test_conversations_open_errors(slack: CheckedWebClient, users: str | None, code: str) -> None:
    params = {"users": users} if users is not None else {}
    assert error_of(lambda: slack.api_call("conversations.open", params=params)).response["error"] == code


def test_history_order_limits_and_errors(slack: CheckedWebClient) -> None:
    stamps = [slack.chat_postMessage(channel="#it-audit", text=f"audit {i}")["ts"] for i in range(3)]
    page = slack.conversations_history(channel="C0ITAUDIT", limit=2)
    assert [m["ts"] for m in page["messages"]] == stamps[::-1][:2] and page["has_more"] is True
    window = slack.conversations_history(channel="C0ITAUDIT", oldest=stamps[0], latest=stamps[2])
    assert [m["ts"] for m in window["messages"]] == [stamps[1]]
    assert (
        error_of(lambda: slack.conversations_history(channel="C0NOSUCHCHAN")).response["error"] == "channel_not_found"
    )
    assert (
        error_of(lambda: slack.conversations_history(channel="C0ITAUDIT", latest="soon")).response["error"]
        == "invalid_ts_latest"
    )


def test_history_of_an_empty_conversation(slack: CheckedWebClient) -> None:
    # Slack answers "messages": [] (the spec's minItems: 1 is one of the documented corrections).
    page = slack.conversations_history(channel=HANDOVER, oldest="9999999999.000000")
    assert page["messages"] == [] and page["has_more"] is False


def test_replies_errors(slack: CheckedWebClient) -> None:
    assert (
        error_of(lambda: slack.conversations_replies(channel=HANDOVER, ts="1000000000.000001")).response["error"]
        == "thread_not_found"
    )
    assert (
        error_of(lambda: slack.conversations_replies(channel="C0NOSUCHCHAN", ts="1000000000.000001")).response["error"]
        == "channel_not_found"
    )


def test_conversations_info(slack: CheckedWebClient) -> None:
    channel = slack.conversations_info(channel=HANDOVER)["channel"]
    assert (channel["id"], channel["name"], channel["is_member"]) == (HANDOVER, "it-handover", True)
    assert channel["topic"]["value"].startswith("Integration hand-overs")
    assert error_of(lambda: slack.conversations_info(channel="C0NOSUCHCHAN")).response["error"] == "channel_not_found"


def test_users(slack: CheckedWebClient) -> None:
    carol = slack.users_lookupByEmail(email="Carol@Acme.example")["user"]
    assert (carol["id"], carol["real_name"], carol["profile"]["email"]) == (
        "U0CAROL01",
        "Carol Approver",
        "carol@acme.example",
    )
    alice = slack.users_info(user="U0ALICE01")["user"]
    assert alice["name"] == "alice" and alice["is_bot"] is False and alice["deleted"] is False
    bot = slack.users_info(user="U0BATONBOT")["user"]
    assert bot["is_bot"] is True and bot["profile"]["bot_id"] == "B0BATONBOT"
    assert (
        error_of(lambda: slack.users_lookupByEmail(email="nobody@acme.example")).response["error"] == "users_not_found"
    )
    assert error_of(lambda: slack.users_info(user="U0NOBODY01")).response["error"] == "user_not_found"


def test_usergroups(slack: CheckedWebClient) -> None:
    groups = {g["handle"]: g for g in slack.usergroups_list(include_users=True, include_count=True)["usergroups"]}
    assert set(groups) == {"baton-approvers", "it-escalation"}
    assert groups["baton-approvers"]["users"] == ["U0BOB0001", "U0CAROL01"]
    assert groups["baton-approvers"]["user_count"] == 2
    assert "users" not in slack.usergroups_list()["usergroups"][0]
    approvers = groups["baton-approvers"]["id"]
    assert slack.usergroups_users_list(usergroup=approvers)["users"] == ["U0BOB0001", "U0CAROL01"]
    assert slack.usergroups_users_list(usergroup=groups["it-escalation"]["id"])["users"] == ["U0DAVE001"]
    assert error_of(lambda: slack.usergroups_users_list(usergroup="S0NOSUCH")).response["error"] == "no_such_subteam"


def test_every_response_was_checked(slack: CheckedWebClient) -> None:
    slack.auth_test()
    error_of(lambda: slack.users_info(user="U0NOBODY01"))
    assert slack.checked == ["auth.test", "users.info"]


def test_users_from_outside_the_workspace(fresh_sandbox: Sandbox, slack_spec: SlackSpec) -> None:
    """Guests, deactivated accounts and Slack Connect users of another organisation, in the spec's shapes."""
    state = state_of(fresh_sandbox.world)
    state.add_user(UserSpec("U0GONE0001", "gone@acme.example", "gone", "Gone Person", deleted=True))
    state.add_user(UserSpec("U0GUEST001", "guest@x.example", "guest", "A Guest", is_ultra_restricted=True))
    state.add_user(
        UserSpec("W0PARTNER1", "pat@partner.example", "pat", "Pat Partner", team_id="T0PARTNER01", is_stranger=True),
        channels=("it-handover",),
    )
    slack = checked_client(fresh_sandbox, slack_spec)
    gone = slack.users_info(user="U0GONE0001")["user"]
    assert gone["deleted"] is True and "team_id" not in gone
    guest = slack.users_info(user="U0GUEST001")["user"]
    assert guest["is_restricted"] is True and guest["is_ultra_restricted"] is True
    pat = slack.users_info(user="W0PARTNER1")["user"]
    assert (pat["team_id"], pat["is_stranger"]) == ("T0PARTNER01", True) and "email" not in pat["profile"]
    assert error_of(lambda: slack.users_lookupByEmail(email="gone@acme.example")).response["error"] == "users_not_found"
    assert state.is_member("C0HANDOVER", "W0PARTNER1")
    with pytest.raises(ValueError, match="exists already"):
        state.add_user(UserSpec("U0GONE0001", "other@acme.example", "x", "X"))


def test_a_bad_home_team_in_the_scenario_names_the_key() -> None:
    user = {"id": "U0OTHER001", "email": "o@other.example", "real_name": "O", "team_id": "T0SHORT"}
    with pytest.raises(SlackScenarioError, match=r"slack\.users\[0\]\.team_id"):
        parse_config({"users": [user]})
