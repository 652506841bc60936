"""``POST /slack/actions``: a signed Slack button click resumes the step it belongs to.

Order of checks: signature and timestamp (slack-sdk's SignatureVerifier), replay, payload shape; the step's
record (``baton-step-<key>`` of the run the button names) and that the clicked message is that step's own
message (a button value naming another run or step resumes nothing and marks nothing); the clicker is a member
of the workspace (``users.info``: not unknown, deactivated, a bot, a guest or from another organisation); the
clicker's rights (clients.humanstep.rules: a task or secret step is answered by its assignee, an approver, or
the escalation group once escalated; an approval by an approver other than the requester); template text in
the note; the run still waiting at that step. Then the gateway builds run_input itself, attests it and resumes
the run. Every refusal answers Slack with an ephemeral message (or 400/401 for requests not from Slack) and
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
    StepRecord,
    answered_blocks,
    refusal,
)
from clients.prefect_api import PrefectAPIError, is_run_id
from clients.slack import SlackClient, SlackError, SlackMessage
from gateway.answers import NotWaiting, Resumer
from gateway.audit_actions import HANDOVER_ACTION, AuditActions
from gateway.members import Workspace
from gateway.replay import ReplayGuard

log = logging.getLogger("baton.gateway")
MAX_AGE = 300
TRY_AGAIN = "Baton could not reach Prefect to resume the run; try again in a minute."


class _User(BaseModel):
    id: str = Field(pattern=r"^[UW][A-Z0-9]{2,40}$")  # a Slack user id; it becomes the answer's responder
    username: str = ""
    team_id: str = ""  # the clicker's home workspace, as Slack's signed payload names it


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
    workspace: Workspace | None = None  # the membership check (built from *slack* when not given)

    def __post_init__(self) -> None:
        if self.workspace is None:
            self.workspace = Workspace(self.slack)

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
                outsider = self._not_a_member(payload)
                if outsider:
                    return _ephemeral(outsider)
                audit_click = (payload.user.id, action.value, payload.container.channel_id)
                return Reply(200, self.audit.click(*audit_click))
            outcome = ACTION_IDS[action.action_id]
            value = ButtonValue.decode(action.value)
            note = _note(payload)
        except (KeyError, ValueError, ValidationError, UnicodeDecodeError, RecursionError):
            return Reply(400, {"error": "malformed payload"})
        clicker = payload.user.id
        judged = self._judge(payload, value, outcome, note)
        if isinstance(judged, Reply):
            return judged
        record = judged
        try:
            self.resumer.resume(value.run, value.key, outcome=outcome, note=note, responder=clicker, via="slack")
        except NotWaiting as exc:
            return _ephemeral(f"Nothing to do: {exc}.")
        except PrefectAPIError as exc:
            log.warning("resume of run %s failed: %s", value.run, exc)
            return _ephemeral(TRY_AGAIN)
        self._mark_answered(payload, record, outcome, clicker)
        log.info("run %s step %s: %s by %s via slack", value.run, value.key, outcome, clicker)
        return Reply(200, {})

    def _judge(self, payload: _Payload, value: ButtonValue, outcome: str, note: str) -> StepRecord | Reply:
        """The step's record when the click may be taken; else the refusal. What the button claims is judged
        first (no lookups); then the message, the clicker's membership and rights, from the step's own record."""
        clicker = payload.user.id
        claimed = {"requester": frozenset(r for r in (value.requester,) if r)}
        refused = refusal(self._answer(value.kind, outcome, clicker, note, "", claimed))
        if refused is None:
            record = self._own_step(payload, value)
            if isinstance(record, str):
                return _ephemeral(record)
            outsider = self._not_a_member(payload)
            if outsider:
                return _ephemeral(outsider)
            rights = self._rights(value, record, outcome)
            if isinstance(rights, str):
                return _ephemeral(rights)
            refused = refusal(self._answer(record.kind, outcome, clicker, note, record.assignee, rights))
            if refused is None:
                return record
        if refused.rule == "outcome-for-kind":
            return Reply(400, {"error": f"this button does not belong to that kind of step: {refused.message()}"})
        log.info("run %s step %s: %s by %s refused (%s)", value.run, value.key, outcome, clicker, refused.rule)
        return _ephemeral(f"{refused.message({'note': 'your note'})}.")

    def _answer(
        self, kind: str, outcome: str, clicker: str, note: str, assignee: str, rights: dict[str, Any]
    ) -> Answer:
        return Answer(
            kind=kind, outcome=outcome, via="slack", verified=True, responder=clicker, note=note,
            approver_group=self.approver_group, assignee=assignee, **rights,
        )  # fmt: skip

    def _own_step(self, payload: _Payload, value: ButtonValue) -> StepRecord | str:
        """The record of the step the button names, if the clicked message is that step's own message."""
        try:
            record = self.resumer.step_record(value.run, value.key) if is_run_id(value.run) else None
        except PrefectAPIError as exc:
            log.warning("reading step %s of run %s failed: %s", value.key, value.run, exc)
            return TRY_AGAIN
        here = (payload.container.channel_id, payload.container.message_ts)
        if record is None or (record.channel, record.ts) != here or record.kind != value.kind:
            log.warning("a button naming run %s step %s clicked on message %s refused", value.run, value.key, here)
            return (
                "This button does not belong to this message: it names a run or step whose Slack message this is "
                "not. Nothing was changed; answer with the buttons on the step's own message."
            )
        return record

    def _not_a_member(self, payload: _Payload) -> str | None:
        assert self.workspace is not None
        return self.workspace.refusal(payload.user.id, payload.user.team_id)

    def _rights(self, value: ButtonValue, record: StepRecord, outcome: str) -> dict[str, Any] | str:
        """What the rules need to judge the clicker: the approvers, the requester's identities and, for a task
        or secret step, the group it was escalated to and its members; or why they cannot be known."""
        value = ButtonValue(
            run=value.run, key=value.key, kind=record.kind, requester=record.requester or value.requester
        )
        if record.kind == "approval" and outcome != "approve":
            return {"requester": frozenset(r for r in (value.requester,) if r)}
        looked_up = self._approvers_and_requester(value)
        if isinstance(looked_up, str):
            return looked_up
        approvers, requester = looked_up
        rights: dict[str, Any] = {"approvers": approvers, "requester": requester}
        if record.kind == "approval":
            return rights
        try:
            escalation = self.resumer.escalation(value.run, value.key)
        except PrefectAPIError:
            return TRY_AGAIN
        if escalation is not None and self.slack is not None:
            try:
                members = frozenset(self.slack.group_member_ids(escalation.group))
            except SlackError as exc:
                return f"Baton could not read @{escalation.group}: {exc}"
            rights.update(escalation_group=escalation.group, escalated_to=members)
        return rights

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

    def _mark_answered(self, payload: _Payload, record: StepRecord, outcome: str, clicker: str) -> None:
        if self.slack is None:
            return
        title, instruction = _title_and_instruction(payload.message.get("blocks"))
        status = f"*{outcome.capitalize()}* by <@{clicker}> at {time.strftime('%H:%M')}: resuming the run..."
        try:
            self.slack.update(
                SlackMessage(record.channel, record.ts),
                f"{title}: {outcome}",
                answered_blocks(title=title, instruction=instruction, status=status),
            )
        except SlackError as exc:
            log.warning("could not update the Slack message: %s", exc)
