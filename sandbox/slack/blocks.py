"""Block Kit: the checks Slack makes before it answers ``invalid_blocks``, and finding a button.

Slack stores every block with a ``block_id`` and every interactive element with an ``action_id``,
generating them when the sender gave none; ``normalize`` does the same.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from sandbox.slack.ids import short_id

BLOCK_TYPES = {
    "actions",
    "context",
    "divider",
    "file",
    "header",
    "image",
    "input",
    "section",
    "video",
    "rich_text",
    "markdown",
}
INTERACTIVE = {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "multi_static_select",
    "overflow",
    "radio_buttons",
    "static_select",
    "timepicker",
    "users_select",
    "conversations_select",
    "channels_select",
    "external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
    "multi_external_select",
    "email_text_input",
    "number_input",
    "plain_text_input",
    "url_text_input",
    "rich_text_input",
    "workflow_button",
}
MAX_BLOCKS = 50
MAX_ELEMENTS = 25


class InvalidBlocks(ValueError):
    """Blocks Slack would refuse (``invalid_blocks``); the message says which and why."""


def parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """``blocks`` as sent: a list (JSON body) or a JSON string (form body); None when absent."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InvalidBlocks("blocks is not valid JSON") from exc
    if not isinstance(raw, list):
        raise InvalidBlocks("blocks must be an array")
    return raw


def _text_object(value: Any, where: str, *, plain_only: bool = False, max_len: int = 3000) -> None:
    if not isinstance(value, dict) or value.get("type") not in ("plain_text", "mrkdwn"):
        raise InvalidBlocks(f"{where} must be a text object with type plain_text or mrkdwn")
    if plain_only and value["type"] != "plain_text":
        raise InvalidBlocks(f"{where} must be plain_text")
    text = value.get("text")
    if not isinstance(text, str) or not text or len(text) > max_len:
        raise InvalidBlocks(f"{where}.text must be a string of 1..{max_len} characters")


def _element(element: Any, where: str) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        raise InvalidBlocks(f"{where} must be an object with a type")
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or not action_id or len(action_id) > 255):
        raise InvalidBlocks(f"{where}.action_id must be a string of 1..255 characters")
    if element["type"] == "button":
        _text_object(element.get("text"), f"{where}.text", plain_only=True, max_len=75)
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            raise InvalidBlocks(f"{where}.value must be a string of at most 2000 characters")
        if element.get("style") not in (None, "primary", "danger"):
            raise InvalidBlocks(f"{where}.style must be primary or danger")


def _block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise InvalidBlocks(f"{where} must be an object with a string type")
    kind = block["type"]
    if kind not in BLOCK_TYPES:
        raise InvalidBlocks(f"{where}.type {kind!r} is not a block type")
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or not block_id or len(block_id) > 255):
        raise InvalidBlocks(f"{where}.block_id must be a string of 1..255 characters")
    if kind == "section":
        if "text" not in block and "fields" not in block:
            raise InvalidBlocks(f"{where}: a section needs text or fields")
        if "text" in block:
            _text_object(block["text"], f"{where}.text")
        if "accessory" in block:
            _element(block["accessory"], f"{where}.accessory")
    elif kind == "header":
        _text_object(block.get("text"), f"{where}.text", plain_only=True, max_len=150)
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements or len(elements) > MAX_ELEMENTS:
            raise InvalidBlocks(f"{where}.elements must be a list of 1..{MAX_ELEMENTS} elements")
        for j, element in enumerate(elements):
            if kind == "actions":
                _element(element, f"{where}.elements[{j}]")
            elif not isinstance(element, dict) or not isinstance(element.get("type"), str):
                raise InvalidBlocks(f"{where}.elements[{j}] must be an object with a type")


def validate_blocks(blocks: list[Any]) -> None:
    if len(blocks) > MAX_BLOCKS:
        raise InvalidBlocks(f"at most {MAX_BLOCKS} blocks")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        _block(block, f"blocks[{i}]")
        block_id = block.get("block_id")
        if block_id in block_ids:
            raise InvalidBlocks(f"blocks[{i}].block_id {block_id!r} is used twice")
        if block_id:
            block_ids.add(block_id)
        action_ids = [e.get("action_id") for e in _elements(block) if e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            raise InvalidBlocks(f"blocks[{i}]: an action_id is used twice in one block")


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if block.get("type") == "actions":
        found.extend(e for e in block.get("elements", []) if isinstance(e, dict))
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        found.append(accessory)
    return found


def normalize(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy with the ids Slack generates: every block a block_id, every interactive element an action_id."""
    result = copy.deepcopy(blocks)
    for block in result:
        block.setdefault("block_id", short_id())
        for element in _elements(block):
            if element.get("type") in INTERACTIVE:
                element.setdefault("action_id", short_id())
    return result


@dataclass(frozen=True)
class FoundAction:
    block_id: str
    element: dict[str, Any]


def find_action(blocks: list[dict[str, Any]], action_id: str) -> FoundAction | None:
    for block in blocks:
        for element in _elements(block):
            if element.get("action_id") == action_id:
                return FoundAction(block_id=str(block.get("block_id", "")), element=element)
    return None
