"""The scenario's slack: section: the story's names, and clear errors that name the key."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.scenario import load_scenario
from sandbox.slack import SlackScenarioError, seed, state_of
from sandbox.world import World


def seeded(section: Any) -> World:
    world = World()
    seed(world, {"slack": section})
    return world


def test_the_story() -> None:
    state = state_of(seeded(load_scenario()["slack"]))
    assert state.team.id == "T0ACME" and state.bot.token.startswith("xoxb-sandbox-")
    assert {u.email: u.id for u in state.users.values()} == {
        "alice@acme.example": "U0ALICE01",
        "bob@acme.example": "U0BOB0001",
        "carol@acme.example": "U0CAROL01",
        "dave@acme.example": "U0DAVE001",
    }
    assert state.channel_id("#it-handover") == "C0HANDOVER" and state.channel_id("it-audit") == "C0ITAUDIT"
    assert state.usergroup_members["S0APPROVERS"] == ["U0BOB0001", "U0CAROL01"]
    assert state.request_url == "" and state.limiter.per_second == 1


def test_an_absent_section_gives_an_empty_workspace() -> None:
    state = state_of(seeded(None))
    assert state.users == {} and state.bot.token.startswith("xoxb-")


@pytest.mark.parametrize(
    "change,key",
    [
        (lambda s: s.update(usres=[]), "usres"),
        (lambda s: s["users"][0].pop("email"), "users[0].email"),
        (lambda s: s["users"][1].update(id="bob"), "users[1].id"),
        (lambda s: s["channels"][0].update(members=["nobody@acme.example"]), "members"),
        (lambda s: s["usergroups"][0].update(users="bob"), "usergroups[0].users"),
        (lambda s: s["bot"].update(token="xoxp-user-token"), "slack.bot.token"),
        (lambda s: s["rate_limits"].update(post_message_per_channel_per_second=-1), "post_message_per_channel"),
        (lambda s: s["users"].append(dict(s["users"][0])), "twice"),
    ],
)
def test_errors_name_the_key(change: Any, key: str) -> None:
    section = copy.deepcopy(load_scenario()["slack"])
    change(section)
    with pytest.raises(SlackScenarioError, match=key.replace("[", r"\[").replace("]", r"\]")):
        seeded(section)
