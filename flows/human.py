"""Human steps: a flow waits for a person, tells them exactly what to do, and resumes on their answer.

``human_step`` posts the guide's instruction to Slack (buttons Done/Problem or Approve/Reject, a note
field, a link to the run in the Prefect UI), then waits with a typed RunInput: ``suspend_flow_run``
when the run belongs to a deployment (no process held), ``pause_flow_run`` otherwise. Answers come
from a signed Slack click through the gateway (attested), the Prefect UI or the CLI (self-declared).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prefect import get_run_logger, pause_flow_run, suspend_flow_run
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.states import Running
from pydantic import ConfigDict

from clients.humanstep import (
    OUTCOMES_BY_KIND,
    SECRET_PATHS,
    VERIFIED_PATHS,
    Answer,
    AnswerFields,
    ButtonValue,
    Kind,
    StepRecord,
    WaitPolicy,
    answered_blocks,
    attested_fields,
    refusal,
    step_blocks,
)
from clients.humanstep.keys import wait_key
from clients.humanstep.record import DEFAULT_EXPIRED_STATE, PolicyFields
from clients.slack import SlackError, SlackMessage
from clients.vault import attestation, retrying
from clients.vault.tickets import TicketStore
from core.errors import BatonError
from flows import records
from flows.reminders import expired_text, remind_while_paused, say_in_step
from tasks.services import Services, services

SUSPEND_GRACE = 24 * 3600  # seconds past a step's deadline before Prefect itself would expire a suspend


class HumanAnswer(RunInput, AnswerFields):
    """The form a person fills in the Prefect UI (and what the gateway and the CLI send)."""


# A secret step is done only through its one-time link (rule secret-through-its-link): the gateway resumes it
# with via deposit or oauth. Any other answer may only report a problem, and Prefect's server checks the form's
# schema on resume, so a "done" typed in the UI is refused there (REJECT) and the step keeps waiting.
SECRET_FORM_RULE: dict[str, Any] = {
    "if": {"not": {"required": ["via"], "properties": {"via": {"enum": list(SECRET_PATHS)}}}},
    "then": {"properties": {"outcome": {"enum": ["problem"]}}},
}


class SecretStepAnswer(HumanAnswer):
    """A secret step's form: done only with the secret (through the gateway's link); here only a problem."""

    model_config = ConfigDict(json_schema_extra=SECRET_FORM_RULE)


class HumanStepTimedOut(BatonError):
    """Nobody answered before the deadline; the flow stops safely."""


@dataclass(frozen=True)
class HumanResult:
    """An answer, checked: who, how, whether the path proves the person, and any Vault reference."""

    key: str
    outcome: str
    responder: str
    via: str
    verified: bool
    answered_at: str
    note: str = ""
    vault_path: str = ""
    vault_version: int = 0

    @property
    def approved(self) -> bool:
        return self.outcome == "approve"

    @property
    def ok(self) -> bool:
        return self.outcome in ("done", "approve")


@dataclass
class _Step:
    """A step as the flow asks it; ``record`` is what it stored once its message was posted."""

    key: str
    title: str
    instruction: str
    kind: Kind
    requester: str
    assignee: str
    state_if_expired: str
    policy: WaitPolicy
    link: Callable[[], tuple[str, str]] | None = None
    extra_links: Callable[[], dict[str, str]] | None = None
    record: StepRecord | None = None
    started_at: float = 0.0

    @property
    def posted_at(self) -> float:
        return self.record.posted_at if self.record else self.started_at


def _run() -> tuple[str, bool]:
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        raise BatonError("human_step must be called inside a flow run")
    return str(ctx.flow_run.id), ctx.flow_run.deployment_id is not None


def _slack_user(svc: Services, who: str) -> str:
    """A Slack user id for an e-mail address (or the id itself); empty when Slack is off or unknown."""
    if not who or svc.slack is None:
        return ""
    if "@" not in who:
        return who
    try:
        return svc.slack.user_id_by_email(who)
    except SlackError:
        return ""


def _post(svc: Services, step: _Step, run_id: str, thread_ts: str | None) -> StepRecord | None:
    """Post the step's message once (a rerun after a crash or a suspend finds its record) and record it."""
    existing = records.read_step(step.key)
    if existing is not None:
        return existing
    if svc.slack is None:
        return None
    value = ButtonValue(run=run_id, key=step.key, kind=step.kind, requester=step.requester)
    blocks = step_blocks(
        title=step.title,
        instruction=step.instruction,
        kind=step.kind,
        value=value,
        run_url=svc.run_url(run_id),
        assignee=step.assignee,
        secure_link=step.link() if step.link else None,
        links=step.extra_links() if step.extra_links else None,
    )
    message = svc.slack.post(svc.settings.slack_channel, f"{step.title}: action needed", blocks, thread_ts)
    record = StepRecord(
        channel=message.channel, ts=message.ts, thread_ts=thread_ts or message.ts, posted_at=step.started_at,
        assignee=step.assignee, kind=step.kind, title=step.title, policy=PolicyFields.of(step.policy),
        state_if_expired=step.state_if_expired, requester=step.requester,
    )  # fmt: skip
    records.write_step(step.key, record)
    return record


def _leave_expired_pause(run_id: str) -> None:
    """Prefect's server turns any transition out of a pause past its timeout into "The flow was failed and never
    resumed.", which would hide HumanStepTimedOut's message; back to Running (forced) so the failure keeps it."""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run_id, Running(message="the human step's deadline passed"), force=True)


def _fired_pause_keys() -> set[str]:
    """Keys this run has waited at already. After a suspend the flow runs again from the top and each earlier
    wait hands its answer back at once; an answer refused back then must not be judged and announced again."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return set()
    return set(ctx.flow_run.empirical_policy.pause_keys or ())


def _wait(svc: Services, step: _Step, key: str, deployment: bool) -> HumanAnswer:
    default = {"approval": "approve", "secret": "problem"}.get(step.kind, "done")
    model = SecretStepAnswer if step.kind == "secret" else HumanAnswer
    form = model.with_initial_data(description=_form_description(step), outcome=default)
    remaining = max(1, int(step.policy.deadline - (time.time() - step.posted_at)))
    if deployment:
        # No process waits for a suspended run: the sweeper reminds, escalates and fails it safely at the
        # deadline. Prefect's own pause expiry would fail it silently first, so it gets a day's grace.
        answer: HumanAnswer = suspend_flow_run(wait_for_input=form, timeout=remaining + SUSPEND_GRACE, key=key)
        return answer
    stop = threading.Event()
    if step.record is not None:  # with no Slack message there is nobody to remind
        reminding = (svc, step.record, stop, _run()[0], step.key)
        threading.Thread(target=remind_while_paused, args=reminding, daemon=True).start()
    try:
        poll = max(1, round(svc.settings.prefect_pause_poll_seconds))
        paused: HumanAnswer = pause_flow_run(wait_for_input=form, timeout=remaining, poll_interval=poll, key=key)
        return paused
    finally:
        stop.set()


def _form_description(step: _Step) -> str:
    allowed = " / ".join(OUTCOMES_BY_KIND[step.kind])
    return (
        f"## {step.title}\n\n{step.instruction}\n\n---\n"
        f"Answer with **{allowed}**. An answer given here is recorded as self-declared"
        + (
            {
                "approval": "; approvals are accepted only through Slack (BATON_APPROVALS_SLACK_ONLY).",
                "secret": ". **A secret step is done only through its one-time link in Slack**, so the secret goes "
                "straight into Vault: here you can only report a *problem* (a *done* is refused).",
            }.get(step.kind, ".")
        )
    )


def _check(svc: Services, step: _Step, run_id: str, key: str, answer: HumanAnswer) -> tuple[bool, str]:
    """(verified, refusal or ''): the gateway's attestation, then the answer rules (clients.humanstep.rules)."""
    key_bytes = retrying(lambda: attestation.read_keys(svc.custody))
    verified = answer.via in VERIFIED_PATHS and attestation.verify(
        key_bytes, attested_fields(run_id, key, answer), answer.attestation
    )
    approvers: frozenset[str] | None = None
    approving = step.kind == "approval" and answer.outcome == "approve"
    clicked = step.kind != "approval" and answer.via == "slack"  # who may answer a task or secret step
    if verified and (approving or clicked) and svc.slack is not None:
        approvers = frozenset(svc.slack.group_member_ids(svc.settings.slack_approver_group))
    escalation = records.read_escalation(step.key) if approvers is not None and step.kind != "approval" else None
    escalated_to = frozenset(svc.slack.group_member_ids(escalation.group)) if escalation and svc.slack else frozenset()
    requester = frozenset(r for r in (step.requester, _slack_user(svc, step.requester)) if r)
    refused = refusal(
        Answer(
            kind=step.kind, outcome=answer.outcome, via=answer.via, verified=verified, responder=answer.responder,
            note=answer.note, requester=requester, approvers=approvers,
            approver_group=svc.settings.slack_approver_group, approvals_slack_only=svc.settings.approvals_slack_only,
            assignee=step.assignee, escalation_group=escalation.group if escalation else "", escalated_to=escalated_to,
        )
    )  # fmt: skip
    return verified, refused.message() if refused else ""


def _record(svc: Services, step: _Step, run_id: str, result: HumanResult) -> None:
    logger = get_run_logger()
    how = "verified by Slack's signature" if result.verified else "self-declared"
    logger.info(
        "human step %s answered %r by %s via %s (%s) at %s",
        step.key, result.outcome, result.responder or "(not given)", result.via, how, result.answered_at,
    )  # fmt: skip
    who = f"<@{result.responder}>" if result.verified else (result.responder or "someone")
    when = dt.datetime.fromisoformat(result.answered_at).strftime("%H:%M") if result.answered_at else ""
    label = {"done": "Done", "problem": "Problem reported", "approve": "Approved", "reject": "Rejected"}[result.outcome]
    status = f"*{label}* by {who} at {when} (via {result.via}, {how})" + (f": {result.note}" if result.note else "")
    if svc.slack is not None and step.record is not None:
        svc.slack.update(SlackMessage(step.record.channel, step.record.ts), f"{step.title}: {label}", answered_blocks(
            title=step.title, instruction=step.instruction, status=status))  # fmt: skip
    create_markdown_artifact(
        key=f"human-step-{step.key}".lower().replace("_", "-")[:60],
        markdown=(
            f"### {step.title}\n\n| | |\n|---|---|\n| answer | {result.outcome} |\n"
            f"| by | {result.responder or '(not given)'} |\n| via | {result.via} ({how}) |\n"
            f"| at | {result.answered_at} |\n| note | {result.note or ''} |\n"
            + (f"| vault | {result.vault_path} v{result.vault_version} |\n" if result.vault_path else "")
        ),
        description=f"Human step {step.key}",
    )


def human_step(
    key: str,
    *,
    title: str,
    instruction: str,
    kind: Kind = "task",
    assignee: str = "",
    requested_by: str = "",
    thread_ts: str | None = None,
    policy: WaitPolicy | None = None,
    state_if_expired: str = DEFAULT_EXPIRED_STATE,
    max_refusals: int = 5,
    link: Callable[[], tuple[str, str]] | None = None,
    extra_links: Callable[[], dict[str, str]] | None = None,
) -> HumanResult:
    """Ask a person to do *instruction* and wait for their answer; see the module docstring.

    *link* and *extra_links* are called only when the Slack message is posted (once per step, even
    across a suspend and a rerun), so one-time links are issued once.
    """
    svc = services()
    run_id, deployment = _run()
    step = _Step(
        key=key, title=title, instruction=instruction, kind=kind, requester=requested_by,
        assignee=_slack_user(svc, assignee), state_if_expired=state_if_expired, policy=policy or WaitPolicy(),
        link=link, extra_links=extra_links, started_at=time.time(),
    )  # fmt: skip
    step.record = _post(svc, step, run_id, thread_ts)
    logger = get_run_logger()
    logger.info("waiting for a person: %s (step %s)", title, key)
    fired = _fired_pause_keys()
    for attempt in range(max_refusals + 1):
        if wait_key(key, attempt + 1) in fired:  # refused before a suspend (the step waited again after it)
            continue
        waiting_at = wait_key(key, attempt)
        try:
            answer = _wait(svc, step, waiting_at, deployment)
        except FlowPauseTimeout:
            if step.record is not None:
                say_in_step(svc, step.record, expired_text(step.record))
            _leave_expired_pause(run_id)
            raise HumanStepTimedOut(f"no answer to '{title}' before its deadline; {state_if_expired}") from None
        verified, refused = _check(svc, step, run_id, waiting_at, answer)
        if refused:
            logger.warning("answer to %s via %s refused: %s", key, answer.via, refused)
            say_in_step(
                svc, step.record, f"Answer via {answer.via} not accepted: {refused}. The step is still waiting."
            )
            continue
        result = HumanResult(
            key=key, outcome=answer.outcome, responder=answer.responder, via=answer.via, verified=verified,
            answered_at=answer.answered_at or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            note=answer.note, vault_path=answer.vault_path, vault_version=answer.vault_version,
        )  # fmt: skip
        _record(svc, step, run_id, result)
        return result
    raise HumanStepTimedOut(f"too many refused answers to '{title}'; {state_if_expired}")


def secret_step(
    key: str,
    *,
    title: str,
    instruction: str,
    vault_path: str,
    field: str = "value",
    oauth_provider: str | None = None,
    assignee: str = "",
    requested_by: str = "",
    thread_ts: str | None = None,
    policy: WaitPolicy | None = None,
    state_if_expired: str = DEFAULT_EXPIRED_STATE,
    extra_links: Callable[[], dict[str, str]] | None = None,
) -> HumanResult:
    """A human step whose answer is a secret: the person gets a one-time link (a deposit page, or an
    OAuth consent through the gateway); the secret goes straight into Vault (staged) and the flow gets
    back only the Vault path and version. Nothing secret passes through Prefect or Slack."""
    svc = services()
    run_id, _ = _run()
    svc.custody.check_path(vault_path, "secret_step")
    gateway = str(svc.settings.gateway_url).rstrip("/")

    def link() -> tuple[str, str]:
        tickets = TicketStore(svc.custody, ttl_seconds=svc.settings.gateway_ticket_ttl_seconds)
        if oauth_provider:
            token = tickets.issue("oauth", run=run_id, step=key, vault_path=vault_path, provider=oauth_provider)
            return (
                f"Sign in to {oauth_provider.capitalize()}",
                f"{gateway}/oauth/{oauth_provider}/start?ticket={token}",
            )
        token = tickets.issue("deposit", run=run_id, step=key, vault_path=vault_path, field=field, label=title)
        return ("Open the deposit page", f"{gateway}/deposit/{token}")

    return human_step(
        key, title=title, kind="secret", assignee=assignee, requested_by=requested_by, thread_ts=thread_ts,
        policy=policy, state_if_expired=state_if_expired, link=link, extra_links=extra_links,
        instruction=instruction + "\n\nUse the one-time link in Slack: the secret goes straight into Vault.",
    )  # fmt: skip


def reveal_link(vault_path: str, version: int, field: str, label: str) -> Callable[[], dict[str, str]]:
    """A factory for a one-time page that shows one Vault value to the person (e.g. a generated password)."""

    def make() -> dict[str, str]:
        svc = services()
        run_id, _ = _run()
        tickets = TicketStore(svc.custody, ttl_seconds=svc.settings.gateway_ticket_ttl_seconds)
        token = tickets.issue("reveal", run=run_id, step="reveal", vault_path=vault_path, field=field, label=label,
                              extra=str(version))  # fmt: skip
        return {label: f"{str(svc.settings.gateway_url).rstrip('/')}/reveal/{token}"}

    return make
