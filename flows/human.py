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
from dataclasses import dataclass, field
from typing import Any

from prefect import get_run_logger, pause_flow_run, suspend_flow_run
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.input import RunInput
from prefect.input.actions import create_flow_run_input, read_flow_run_input
from prefect.states import Running

from baton.errors import BatonError
from clients.humanstep import (
    OUTCOMES_BY_KIND,
    AnswerFields,
    ButtonValue,
    Kind,
    answered_blocks,
    attested_fields,
    step_blocks,
)
from clients.slack import SlackError, SlackMessage
from clients.vault import attestation
from clients.vault.tickets import TicketStore
from flows.reminders import Action, WaitPolicy
from tasks.services import Services, services

SUSPEND_GRACE = 24 * 3600  # seconds past a step's deadline before Prefect itself would expire a suspend


class HumanAnswer(RunInput, AnswerFields):
    """The form a person fills in the Prefect UI (and what the gateway and the CLI send)."""


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
    message: SlackMessage | None = None
    posted_at: float = field(default_factory=time.time)


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


def _read_meta(key: str) -> dict[str, Any] | None:
    try:
        value = read_flow_run_input(key=f"baton-step-{key}")
    except Exception:  # noqa: BLE001 - absent keys raise differently across Prefect versions
        return None
    return value if isinstance(value, dict) else None


def _post(svc: Services, step: _Step, run_id: str, thread_ts: str | None) -> SlackMessage | None:
    meta = _read_meta(step.key)
    if meta and meta.get("ts"):  # posted before a crash or a suspend: never post twice
        step.posted_at = float(meta.get("posted_at", step.posted_at))
        return SlackMessage(channel=str(meta["channel"]), ts=str(meta["ts"]))
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
    create_flow_run_input(
        key=f"baton-step-{step.key}",
        value={
            "channel": message.channel,
            "ts": message.ts,
            "thread_ts": thread_ts or message.ts,
            "posted_at": step.posted_at,
            "assignee": step.assignee,
            "kind": step.kind,
            "title": step.title,
            "policy": [step.policy.remind_every, step.policy.escalate_after, step.policy.deadline],
            "state_if_expired": step.state_if_expired,
        },
    )
    return message


def _say(svc: Services, step: _Step, text: str) -> None:
    if svc.slack is not None and step.message is not None:
        svc.slack.post(step.message.channel, text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
                       thread_ts=step.message.ts)  # fmt: skip


def _act(svc: Services, step: _Step, action: Action) -> None:
    who = f"<@{step.assignee}>" if step.assignee else "someone"
    if action == "remind":
        _say(svc, step, f"Reminder: {who}, *{step.title}* is still waiting for you.")
    elif action == "escalate":
        group = svc.settings.slack_escalation_group
        gid = ""
        if svc.slack is not None:
            try:
                gid = svc.slack.group_id(group)
            except SlackError:
                gid = ""
        mention = f"<!subteam^{gid}>" if gid else f"@{group}"
        _say(svc, step, f"Escalation to {mention}: *{step.title}* has had no answer from {who}.")


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


def _expired_text(step: _Step) -> str:
    return (
        f":warning: Nobody answered *{step.title}* in time, so Baton stopped here and changed nothing further. "
        f"State: {step.state_if_expired} To go on, start the flow again; it picks up where it stopped."
    )


def _remind_while_paused(svc: Services, step: _Step, stop: threading.Event) -> None:
    done: list[Action] = []
    while not stop.wait(min(5.0, step.policy.remind_every / 4)):
        for action in step.policy.due(time.time() - step.posted_at, tuple(done)):
            done.append(action)
            if action != "expire":
                _act(svc, step, action)


def _wait(svc: Services, step: _Step, key: str, deployment: bool) -> HumanAnswer:
    default = "approve" if step.kind == "approval" else "done"
    form = HumanAnswer.with_initial_data(description=_form_description(step), outcome=default)
    remaining = max(1, int(step.policy.deadline - (time.time() - step.posted_at)))
    if deployment:
        # No process waits for a suspended run: the sweeper reminds, escalates and fails it safely at the
        # deadline. Prefect's own pause expiry would fail it silently first, so it gets a day's grace.
        answer: HumanAnswer = suspend_flow_run(wait_for_input=form, timeout=remaining + SUSPEND_GRACE, key=key)
        return answer
    stop = threading.Event()
    reminder = threading.Thread(target=_remind_while_paused, args=(svc, step, stop), daemon=True)
    reminder.start()
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
            "; approvals are accepted only through Slack (BATON_APPROVALS_SLACK_ONLY)."
            if step.kind == "approval"
            else "."
        )
    )


def _check(svc: Services, step: _Step, run_id: str, key: str, answer: HumanAnswer) -> tuple[bool, str]:
    """(verified, refusal reason or '')."""
    key_bytes = attestation.read_key(svc.custody)
    verified = answer.via in ("slack", "oauth", "deposit") and attestation.verify(
        key_bytes, attested_fields(run_id, key, answer), answer.attestation
    )
    if answer.outcome not in OUTCOMES_BY_KIND[step.kind]:
        return (
            verified,
            f"'{answer.outcome}' is not an answer to this step; use {' or '.join(OUTCOMES_BY_KIND[step.kind])}",
        )
    if step.kind == "approval" and answer.outcome == "approve":
        if svc.settings.approvals_slack_only and not verified:
            return verified, "approvals are accepted only through Slack (BATON_APPROVALS_SLACK_ONLY=true)"
        if verified and svc.slack is not None:
            approvers = svc.slack.group_member_ids(svc.settings.slack_approver_group)
            if answer.responder not in approvers:
                return verified, f"<@{answer.responder}> is not in @{svc.settings.slack_approver_group}"
        if step.requester and answer.responder in (step.requester, _slack_user(svc, step.requester)):
            return verified, "the person who requested this rotation may not approve it (four eyes)"
    return verified, ""


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
    if svc.slack is not None and step.message is not None:
        svc.slack.update(step.message, f"{step.title}: {label}", answered_blocks(
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
    state_if_expired: str = "Nothing was changed by this step.",
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
        link=link, extra_links=extra_links,
    )  # fmt: skip
    step.message = _post(svc, step, run_id, thread_ts)
    logger = get_run_logger()
    logger.info("waiting for a person: %s (step %s)", title, key)
    fired = _fired_pause_keys()
    for attempt in range(max_refusals + 1):
        wait_key = key if attempt == 0 else f"{key}-r{attempt}"
        if f"{key}-r{attempt + 1}" in fired:  # refused before a suspend (the step waited again after it)
            continue
        try:
            answer = _wait(svc, step, wait_key, deployment)
        except FlowPauseTimeout:
            _say(svc, step, _expired_text(step))
            _leave_expired_pause(run_id)
            raise HumanStepTimedOut(f"no answer to '{title}' before its deadline; {state_if_expired}") from None
        verified, refusal = _check(svc, step, run_id, wait_key, answer)
        if refusal:
            logger.warning("answer to %s via %s refused: %s", key, answer.via, refusal)
            _say(svc, step, f"Answer via {answer.via} not accepted: {refusal}. The step is still waiting.")
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
    state_if_expired: str = "Nothing was changed by this step.",
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


def thread(title: str) -> str | None:
    """The run's Slack thread (its first message), posted once per run even across suspends."""
    svc = services()
    meta = _read_meta("thread")
    if meta and meta.get("ts"):
        return str(meta["ts"])
    if svc.slack is None:
        return None
    run_id, _ = _run()
    text = f"{title} · <{svc.run_url(run_id)}|run in Prefect>"
    message = svc.slack.post(
        svc.settings.slack_channel, title, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )
    create_flow_run_input(key="baton-step-thread", value={"channel": message.channel, "ts": message.ts})
    return message.ts


def say(thread_ts: str | None, text: str) -> None:
    """A line in the run's Slack thread (no secrets: ids, names and Vault references only)."""
    svc = services()
    if svc.slack is not None and thread_ts:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]
        svc.slack.post(svc.settings.slack_channel, text[:150], blocks, thread_ts=thread_ts)
