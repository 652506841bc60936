"""``POST /slack/actions``: a signed Slack button click resumes the step it belongs to.

Order of checks: signature and timestamp (slack-sdk's SignatureVerifier), replay, payload shape,
the clicker's rights (approver group; no self-approval), template text in the note, the run still
waiting at that step; then the gateway builds run_input itself, attests it and resumes the run.
Every refusal answers Slack with an ephemeral message (or 400/401 for requests not from Slack) and
resumes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from pydantic import BaseModel, Field, ValidationError
from slack_sdk.signature import SignatureVerifier

from clients.humanstep import (
    ACTION_IDS,
    LINK_ACTION,
    NOTE_ACTION,
    NOTE_BLOCK,
    Answer,
    ButtonValue,
    answered_blocks,
    refusal,
)
from clients.prefect_api import PrefectAPIError
from clients.slack import SlackClient, SlackError, SlackMessage
from gateway.answers import NotWaiting, Resumer
from gateway.audit_actions import HANDOVER_ACTION, AuditActions
from gateway.replay import ReplayGuard

log = logging.getLogger("baton.gateway")
MAX_AGE = 300


class _User(BaseModel):
    id: str = Field(pattern=r"^[UW][A-Z0-9]{2,40}$")  # a Slack user id; it becomes the answer's responder
    username: str = ""


class _Action(BaseModel):
    action_id: str
    value: str = ""


class _Container(BaseModel):
    message_ts: str = ""
    channel_id: str = ""


class _State(BaseModel):
    values: dict[str, dict[str, dict[str, Any]]] = {}  # block_id -> action_id -> the element's state


class _Payload(BaseModel):
    type: str
    user: _User
    actions: list[_Action]
    container: _Container = _Container()
    state: _State = _State()
    message: dict[str, Any] = {}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]


def _ephemeral(text: str) -> Reply:
    return Reply(200, {"response_type": "ephemeral", "replace_original": False, "text": text})


def _block_text(block: Any) -> str | None:
    text = block.get("text") if isinstance(block, dict) else None
    value = text.get("text") if isinstance(text, dict) else None
    return value if isinstance(value, str) else None


def _title_and_instruction(blocks: Any) -> tuple[str, str]:
    """The step's header and instruction from the message Slack sent back (tolerant of odd shapes)."""
    items = blocks if isinstance(blocks, list) else []
    kinds = [(b.get("type"), _block_text(b)) for b in items if isinstance(b, dict)]
    title = next((t for k, t in kinds if k == "header" and t), "Step")
    instruction = next((t for k, t in kinds if k == "section" and t), "")
    return title, instruction


def _note(payload: _Payload) -> str:
    value = payload.state.values.get(NOTE_BLOCK, {}).get(NOTE_ACTION, {}).get("value")
    if value is not None and not isinstance(value, str):
        raise ValueError("the note's value must be text")
    return value or ""


@dataclass
class SlackActions:
    verifier: SignatureVerifier
    replay: ReplayGuard
    resumer: Resumer
    slack: SlackClient | None
    approver_group: str
    audit: AuditActions | None = None  # the audit's "Hand over" buttons

    def handle(self, body: bytes, headers: dict[str, str]) -> Reply:
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        try:
            age = abs(time.time() - int(timestamp))
        except ValueError:
            return Reply(401, {"error": "missing or malformed X-Slack-Request-Timestamp"})
        if age > MAX_AGE:
            return Reply(401, {"error": "stale request: timestamp older than 5 minutes"})
        if not signature.isascii():  # hmac.compare_digest raises on non-ASCII text
            return Reply(401, {"error": "invalid signature"})
        try:
            body.decode("utf-8")  # the verifier decodes the body and would raise on other bytes
        except UnicodeDecodeError:
            return Reply(400, {"error": "malformed payload: the body is not UTF-8"})
        if not self.verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
            return Reply(401, {"error": "invalid signature"})
        if not self.replay.first_time(signature):
            return Reply(409, {"error": "replayed request"})
        try:
            raw = parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"][0]
            payload = _Payload.model_validate(json.loads(raw))
            if payload.type != "block_actions" or not payload.actions:
                raise ValueError("not a block_actions payload")
            action = payload.actions[0]
            if action.action_id == LINK_ACTION:
                return Reply(200, {})
            if action.action_id.startswith(HANDOVER_ACTION + "_") and self.audit is not None:
                audit_click = (payload.user.id, action.value, payload.container.channel_id)
                return Reply(200, self.audit.click(*audit_click))
            outcome = ACTION_IDS[action.action_id]
            value = ButtonValue.decode(action.value)
            note = _note(payload)
        except (KeyError, ValueError, ValidationError, UnicodeDecodeError, RecursionError):
            return Reply(400, {"error": "malformed payload"})
        clicker = payload.user.id
        approvers: frozenset[str] | None = None
        requester = frozenset(r for r in (value.requester,) if r)
        if value.kind == "approval" and outcome == "approve":
            looked_up = self._approvers_and_requester(value)
            if isinstance(looked_up, str):
                return _ephemeral(looked_up)
            approvers, requester = looked_up
        refused = refusal(
            Answer(
                kind=value.kind, outcome=outcome, via="slack", verified=True, responder=clicker, note=note,
                requester=requester, approvers=approvers, approver_group=self.approver_group,
            )
        )  # fmt: skip
        if refused is not None and refused.rule == "outcome-for-kind":
            return Reply(400, {"error": f"this button does not belong to that kind of step: {refused.message()}"})
        if refused is not None:
            return _ephemeral(f"{refused.message({'note': 'your note'})}.")
        try:
            self.resumer.resume(value.run, value.key, outcome=outcome, note=note, responder=clicker, via="slack")
        except NotWaiting as exc:
            return _ephemeral(f"Nothing to do: {exc}.")
        except PrefectAPIError as exc:
            log.warning("resume of run %s failed: %s", value.run, exc)
            return _ephemeral("Baton could not reach Prefect to resume the run; try again in a minute.")
        self._mark_answered(payload, outcome, clicker)
        log.info("run %s step %s: %s by %s via slack", value.run, value.key, outcome, clicker)
        return Reply(200, {})

    def _approvers_and_requester(self, value: ButtonValue) -> tuple[frozenset[str], frozenset[str]] | str:
        """The approver group's members and the requester's identities, or why they cannot be known."""
        if self.slack is None:
            return "Approvals need Slack user groups, and the gateway has no Slack token."
        try:
            approvers = frozenset(self.slack.group_member_ids(self.approver_group))
        except SlackError as exc:
            return f"Baton could not read @{self.approver_group}: {exc}"
        identities = {value.requester} if value.requester else set()
        if "@" in value.requester:
            try:
                identities.add(self.slack.user_id_by_email(value.requester))
            except SlackError:
                pass
        return approvers, frozenset(identities)

    def _mark_answered(self, payload: _Payload, outcome: str, clicker: str) -> None:
        if self.slack is None or not payload.container.message_ts:
            return
        title, instruction = _title_and_instruction(payload.message.get("blocks"))
        status = f"*{outcome.capitalize()}* by <@{clicker}> at {time.strftime('%H:%M')}: resuming the run..."
        try:
            self.slack.update(
                SlackMessage(payload.container.channel_id, payload.container.message_ts),
                f"{title}: {outcome}",
                answered_blocks(title=title, instruction=instruction, status=status),
            )
        except SlackError as exc:
            log.warning("could not update the Slack message: %s", exc)
