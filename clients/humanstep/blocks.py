"""The step's Slack message (Block Kit) and what its buttons carry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from clients.humanstep.answer import MAX_NOTE, OUTCOMES_BY_KIND, Kind

ACTION_IDS: dict[str, str] = {
    "baton_done": "done",
    "baton_problem": "problem",
    "baton_approve": "approve",
    "baton_reject": "reject",
}
LINK_ACTION = "baton_link"  # a URL button: Slack still reports the click, the gateway only acks it
NOTE_BLOCK, NOTE_ACTION = "baton_note", "note"


@dataclass(frozen=True)
class ButtonValue:
    """What a step's Slack buttons carry. Slack signs the payload it comes back in."""

    run: str
    key: str
    kind: Kind
    requester: str = ""

    def encode(self) -> str:
        return json.dumps({"run": self.run, "key": self.key, "kind": self.kind, "req": self.requester})

    @classmethod
    def decode(cls, raw: str) -> ButtonValue:
        data = json.loads(raw)
        if not isinstance(data, dict) or not isinstance(data.get("run"), str) or not isinstance(data.get("key"), str):
            raise ValueError("button value must be a JSON object with run and key")
        kind = data.get("kind")
        if kind not in OUTCOMES_BY_KIND:
            raise ValueError(f"unknown step kind {kind!r}")
        return cls(run=data["run"], key=data["key"], kind=kind, requester=str(data.get("req") or ""))


def _md(text: str) -> str:
    """Markdown to Slack mrkdwn, for the few forms the guides use."""
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"<\2|\1>", text)


def step_blocks(
    *,
    title: str,
    instruction: str,
    kind: Kind,
    value: ButtonValue,
    run_url: str,
    links: dict[str, str] | None = None,
    assignee: str = "",
    secure_link: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The step message: instruction, links, the run in Prefect, a note field, and the buttons.

    A secret step gets a link button to its one-time page (*secure_link*: label, url) instead of Done.
    """
    who = f"<@{assignee}> " if assignee.startswith(("U", "W")) else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": (who + _md(instruction))[:3000]}},
    ]
    link_text = " · ".join(f"<{url}|{label}>" for label, url in (links or {}).items())
    context = f"<{run_url}|Open the run in Prefect>" + (f" · {link_text}" if link_text else "")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    blocks.append(
        {
            "type": "input",
            "block_id": NOTE_BLOCK,
            "optional": True,
            "label": {"type": "plain_text", "text": "Note (optional)"},
            "element": {"type": "plain_text_input", "action_id": NOTE_ACTION, "max_length": MAX_NOTE},
        }
    )
    if kind == "approval":
        buttons = [("baton_approve", "Approve", "primary"), ("baton_reject", "Reject", "danger")]
    elif kind == "secret":
        buttons = [("baton_problem", "Problem", "danger")]
    else:
        buttons = [("baton_done", "Done", "primary"), ("baton_problem", "Problem", "danger")]
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": action,
            "text": {"type": "plain_text", "text": label},
            "style": style,
            "value": value.encode(),
        }
        for action, label, style in buttons
    ]
    if secure_link is not None:
        label, url = secure_link
        link_button = {"type": "button", "action_id": LINK_ACTION, "text": {"type": "plain_text", "text": label}}
        elements.insert(0, link_button | {"url": url, "style": "primary"})
    blocks.append({"type": "actions", "block_id": "baton_actions", "elements": elements})
    return blocks


def answered_blocks(*, title: str, instruction: str, status: str) -> list[dict[str, Any]]:
    """The step message once answered: the buttons are replaced by who answered, when and how."""
    return [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _md(instruction)[:3000]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": status[:2000]}]},
    ]
