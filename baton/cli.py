"""Answer Baton's human steps from a terminal, for operators without Slack.

    baton paused                     list the runs waiting for a person
    baton resume RUN_ID --outcome done --note "logged out" --as alice
    baton rotate-attestation-key     a new key for the gateway's answers (restart the gateway)

An answer given here is self-declared: nothing proves who typed it, so the flow records it as such
(like an answer in the Prefect UI). Approvals are accepted only through Slack unless
BATON_APPROVALS_SLACK_ONLY=false. Settings come from BATON_* (BATON_PREFECT_API_URL); a Prefect API
behind HTTP Basic authentication (PREFECT_SERVER_API_AUTH_STRING) is reached with
BATON_PREFECT_API_AUTH_STRING=user:password (or Prefect's own PREFECT_API_AUTH_STRING).

Exit codes: 0 done; 1 Prefect refused the answer or could not be reached; 2 Baton refused the
command (bad input, unknown run, run not waiting, answer not allowed) and sent nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import NoReturn

import typer
from pydantic import ValidationError

from clients.factory import prefect_api_from
from clients.humanstep import OUTCOMES_BY_KIND, Answer, AnswerFields, StepRecord, refusal
from clients.humanstep.keys import record_key, step_of
from clients.prefect_api import PrefectAPI, PrefectAPIError, RunState
from core.errors import BatonError
from core.settings import Settings, load_settings

# "\b" keeps click from re-flowing the examples
HELP = (__doc__ or "").replace("\n\n    baton paused", "\n\n\b\n    baton paused", 1)
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=HELP,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

REFUSED = 2  # Baton refused the command; nothing was sent to Prefect
FAILED = 1  # Prefect refused the answer, or could not be reached
CLI_LABELS = {"note": "--note", "responder": "--as", "outcome": "--outcome"}


class Outcome(StrEnum):
    done = "done"
    problem = "problem"
    approve = "approve"
    reject = "reject"


class CliError(BatonError):
    """Something the operator must fix; carries the exit code."""

    def __init__(self, message: str, code: int = REFUSED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class WaitingStep:
    """One run waiting for a person, as the CLI shows it."""

    run_id: str
    flow: str
    run_name: str
    state: str
    step: str
    pause_key: str
    kind: str
    since: str
    deadline: str
    instruction: str
    url: str


def _ui_base(settings: Settings) -> str:
    if settings.prefect_ui_url is not None:
        return str(settings.prefect_ui_url).rstrip("/")
    return str(settings.prefect_api_url).rstrip("/").removesuffix("/api")


def step_record(api: PrefectAPI, run_id: str, pause_key: str) -> tuple[str, StepRecord | None]:
    """(the step a run waits at, its record); a wait after a refused answer has a retry key of that step."""
    step = step_of(pause_key)
    try:
        return step, StepRecord.model_validate(api.run_input(run_id, record_key(step)))
    except ValidationError:
        return step, None


def waiting_step(api: PrefectAPI, settings: Settings, run: RunState, flow: str) -> WaitingStep:
    details = run.details
    pause_key = str(details.get("pause_key") or "")
    keyset = details.get("run_input_keyset") or {}
    step, record = step_record(api, run.id, pause_key) if pause_key else ("", None)
    description = api.run_input(run.id, keyset["description"]) if keyset.get("description") else None
    state = run.raw.get("state") or {}
    return WaitingStep(
        run_id=run.id,
        flow=flow,
        run_name=str(run.raw.get("name") or ""),
        state=run.state_name or run.state_type,
        step=step,
        pause_key=pause_key,
        kind=record.kind if record else "",
        since=str(state.get("timestamp") or ""),
        deadline=str(details.get("pause_timeout") or ""),
        instruction=description if isinstance(description, str) else "",
        url=f"{_ui_base(settings)}/runs/flow-run/{run.id}",
    )


def _span(seconds: float) -> str:
    """A duration as people say it: 45 s, 12 min, 5.5 h, 3.0 days."""
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _when(stamp: str) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM:SS UTC (12 min ago)' or '(in 3.0 days)'."""
    if not stamp:
        return "(unknown)"
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return stamp
    seconds = (dt.datetime.now(dt.UTC) - moment).total_seconds()
    relative = f"{_span(seconds)} ago" if seconds >= 0 else f"in {_span(-seconds)}"
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({relative})"


def _allowed(kind: str) -> tuple[str, ...]:
    return OUTCOMES_BY_KIND.get(kind, tuple(o.value for o in Outcome))


def outcome_refusal(kind: str, outcome: str, approvals_slack_only: bool, note: str = "", responder: str = "") -> str:
    """Why this answer may not be sent from the CLI ('' when it may): the answer rules, as the CLI words them.
    An unknown kind (a run that is not waiting at a Baton step) is left for Prefect to judge."""
    answer = Answer(
        kind=kind or "task", outcome=outcome, via="cli", verified=False, responder=responder, note=note,
        approvals_slack_only=approvals_slack_only,
    )  # fmt: skip
    refused = refusal(answer)
    if refused is None or (not kind and refused.rule == "outcome-for-kind"):
        return ""
    return refused.message(CLI_LABELS)


def _fail(message: str, code: int) -> NoReturn:
    prefix = "refused (nothing sent)" if code == REFUSED else "failed"
    typer.echo(f"baton: {prefix}: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings(vault=False)
    except BatonError as exc:
        _fail(str(exc), REFUSED)


@app.command()
def paused(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per run instead of text."),
    limit: int = typer.Option(200, min=1, max=200, help="At most this many runs."),
) -> None:
    """List the runs waiting for a person: run id, flow, run name, step, since when, the instruction, the link."""
    settings = _settings()
    api = prefect_api_from(settings)
    try:
        runs = api.paused_runs(limit)
        names = api.flow_names({r.flow_id for r in runs})
        steps = [waiting_step(api, settings, r, names.get(r.flow_id, "?")) for r in runs]
    except PrefectAPIError as exc:
        _fail(str(exc), FAILED)
    if as_json:
        for step in steps:
            typer.echo(json.dumps(asdict(step)))
        return
    if not steps:
        typer.echo("No run is waiting for a person.")
        return
    typer.echo(f"{len(steps)} run{'s' if len(steps) != 1 else ''} waiting for a person:")
    for step in steps:
        allowed = _allowed(step.kind)
        here = [o for o in allowed if not outcome_refusal(step.kind, o, settings.approvals_slack_only)]
        command = f"baton resume {step.run_id} --outcome {'|'.join(here)} --note '...' --as <you>"
        typer.echo("")
        typer.echo(f"{step.run_id}  {step.flow} / {step.run_name}  [{step.state}]")
        typer.echo(f"  step:        {step.step or '(none)'}" + (f" ({step.kind})" if step.kind else ""))
        typer.echo(f"  waiting:     since {_when(step.since)}")
        if step.deadline:
            typer.echo(f"  deadline:    {_when(step.deadline)}")
        typer.echo(f"  open:        {step.url}")
        if step.instruction:
            typer.echo("  instruction:")
            for line in step.instruction.strip().splitlines():
                typer.echo(f"    {line}".rstrip())
        if here == list(allowed):
            typer.echo(f"  answer:      {command}")
        else:  # an approval (Slack only) or a secret (its one-time link): the CLI can only say no
            typer.echo(f"  answer:      in Slack; from here only: {command}")


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="The paused run's id (see `baton paused`)."),
    outcome: Outcome = typer.Option(
        ...,
        "--outcome",
        "-o",
        case_sensitive=False,
        help="done / problem for a task; approve / reject for an approval.",
    ),
    note: str = typer.Option("", "--note", "-n", help="What the next person should know (no {{ }} or {% %})."),
    responder: str = typer.Option(
        "", "--as", help="Who is answering (recorded as self-declared). Default: $USER.", show_default=False
    ),
) -> None:
    """Answer the step a run is waiting at, and resume it. Checks the run first and sends nothing if it is wrong."""
    settings = _settings()
    who = responder or os.environ.get("USER", "")
    if not who:
        _fail("say who is answering with --as NAME (or set $USER)", REFUSED)
    early = refusal(Answer(kind="task", outcome="done", via="cli", verified=False, responder=who, note=note))
    if early is not None:  # what was typed is refused whatever the step (template markers, length)
        _fail(early.message(CLI_LABELS), REFUSED)
    try:
        answer = AnswerFields.model_validate(
            {
                "outcome": outcome.value,
                "note": note,
                "responder": who,
                "via": "cli",
                "answered_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        _fail(f"the answer is not valid: {problems}", REFUSED)
    api = prefect_api_from(settings)
    try:
        run = api.flow_run(run_id)
        if run is None:
            raise CliError(f"there is no run {run_id} in Prefect at {api.api_url}; `baton paused` lists waiting runs")
        if not run.paused:
            raise CliError(
                f"run {run_id} is {run.state_name or run.state_type or 'without a state'}, "
                "not waiting for an answer; `baton paused` lists waiting runs"
            )
        names = api.flow_names({run.flow_id})
        step = waiting_step(api, settings, run, names.get(run.flow_id, "?"))
        refused = outcome_refusal(step.kind, outcome.value, settings.approvals_slack_only, note, who)
        if refused:
            raise CliError(f"step {step.step!r} of run {run_id}: {refused}")
        reply = api.resume_reply(run_id, answer.model_dump())
    except CliError as exc:
        _fail(str(exc), exc.code)
    except PrefectAPIError as exc:
        _fail(str(exc), FAILED)
    status = str(reply.get("status") or "")
    if status != "ACCEPT":
        reason = str((reply.get("details") or {}).get("reason") or "no reason given")
        _fail(f"Prefect did not resume run {run_id}: {status or 'no status'} - {reason}", FAILED)
    typer.echo(
        f"Resumed run {run_id} ({step.flow} / {step.run_name}) at step {step.step or step.pause_key!r}: "
        f"{outcome.value} as {who} (self-declared, via cli)."
    )
    typer.echo(f"The flow checks the answer and records it; follow it at {step.url}")


@app.command("rotate-attestation-key")
def rotate_attestation_key(
    who: str = typer.Option("operator", "--as", help="Your name, recorded as the rotation's author in Vault."),
) -> None:
    """Write a new attestation key in Vault and make it current; the previous one stays valid for answers
    already signed. Restart the gateway afterwards so that it signs with the new key. Needs BATON_VAULT_*."""
    from clients.factory import custody_from  # Vault only for this command
    from clients.vault import VaultError, attestation

    try:
        settings = load_settings()
        version = attestation.rotate_key(custody_from(settings), rotated_by=who)
    except VaultError as exc:
        _fail(str(exc), FAILED)
    except BatonError as exc:
        _fail(str(exc), REFUSED)
    typer.echo(
        f"The attestation key is now version {version} (the previous version still verifies answers signed "
        "before now). Restart the gateway so that it signs with the new key."
    )


if __name__ == "__main__":
    app()
