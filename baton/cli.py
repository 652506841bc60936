"""Answer Baton's human steps from a terminal, for operators without Slack.

    baton paused                     list the runs waiting for a person
    baton resume RUN_ID --outcome done --note "logged out" --as alice

An answer given here is self-declared: nothing proves who typed it, so the flow records it as such
(like an answer in the Prefect UI). Approvals are accepted only through Slack unless
BATON_APPROVALS_SLACK_ONLY=false. Settings come from BATON_* (BATON_PREFECT_API_URL); a Prefect API
behind HTTP Basic authentication is reached with PREFECT_API_AUTH_STRING=user:password.

Exit codes: 0 done; 1 Prefect refused the answer or could not be reached; 2 Baton refused the
command (bad input, unknown run, run not waiting, answer not allowed) and sent nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, NoReturn

import httpx
import typer
from pydantic import ValidationError

from baton.errors import BatonError
from baton.settings import Settings, load_settings
from clients.humanstep import OUTCOMES_BY_KIND, AnswerFields, has_template_markers

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


class PrefectRest:
    """The few calls the CLI makes to Prefect's REST API (httpx; no Prefect import, so it starts fast)."""

    def __init__(self, api_url: str, *, timeout: float = 10.0) -> None:
        auth_string = os.environ.get("PREFECT_API_AUTH_STRING", "")
        auth = httpx.BasicAuth(*auth_string.split(":", 1)) if ":" in auth_string else None
        self.api_url = api_url.rstrip("/")
        self.http = httpx.Client(base_url=self.api_url + "/", timeout=timeout, auth=auth)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; a busy server's 502/503/504 (e.g. SQLite locked) is tried again, up to 3 times."""
        attempt = 0
        while True:
            try:
                reply = self.http.request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                raise CliError(
                    f"cannot reach Prefect at {self.api_url} ({exc.__class__.__name__}: {exc}); "
                    "check BATON_PREFECT_API_URL",
                    FAILED,
                ) from None
            if reply.status_code not in (502, 503, 504) or attempt == 3:
                return reply
            attempt += 1
            time.sleep(0.5 * attempt)

    def _json(self, reply: httpx.Response, what: str) -> Any:
        if reply.status_code >= 400:
            raise CliError(f"Prefect answered HTTP {reply.status_code} to {what}: {reply.text[:300]}", FAILED)
        return reply.json()

    def flow_run(self, run_id: str) -> dict[str, Any] | None:
        """``GET /flow_runs/<id>``; None when there is no such run (or the id is not a UUID)."""
        reply = self._call("GET", f"flow_runs/{run_id}")
        if reply.status_code in (404, 422):
            return None
        data: dict[str, Any] = self._json(reply, f"GET flow_runs/{run_id}")
        return data

    def paused_runs(self, limit: int) -> list[dict[str, Any]]:
        """``POST /flow_runs/filter``: runs in a PAUSED state (state names Paused and Suspended), oldest first."""
        body = {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}}}, "sort": "START_TIME_ASC", "limit": limit}
        runs: list[dict[str, Any]] = self._json(self._call("POST", "flow_runs/filter", json=body), "flow_runs/filter")
        return runs

    def flow_names(self, flow_ids: set[str]) -> dict[str, str]:
        """``POST /flows/filter`` by id: flow id → flow name."""
        if not flow_ids:
            return {}
        body = {"flows": {"id": {"any_": sorted(flow_ids)}}, "limit": len(flow_ids)}
        flows = self._json(self._call("POST", "flows/filter", json=body), "flows/filter")
        return {str(f["id"]): str(f["name"]) for f in flows}

    def run_input(self, run_id: str, key: str) -> Any:
        """``GET /flow_runs/<id>/input/<key>``, JSON-decoded; None when the key is absent."""
        reply = self._call("GET", f"flow_runs/{run_id}/input/{key}")
        if reply.status_code == 404:
            return None
        if reply.status_code >= 400:
            return None
        try:
            return json.loads(reply.text)
        except json.JSONDecodeError:
            return reply.text

    def resume(self, run_id: str, run_input: dict[str, Any], *, wait_for_schema: float = 3.0) -> dict[str, Any]:
        """``POST /flow_runs/<id>/resume``. The reply is HTTP 200 even when refused: the caller reads ``status``.

        A refusal because the input schema is not stored yet (right after the pause) is retried briefly.
        """
        deadline = time.monotonic() + wait_for_schema
        while True:
            reply = self._call("POST", f"flow_runs/{run_id}/resume", json={"run_input": run_input})
            body: dict[str, Any] = self._json(reply, f"POST flow_runs/{run_id}/resume")
            reason = str((body.get("details") or {}).get("reason") or "")
            if body.get("status") != "ACCEPT" and "schema not found" in reason.lower() and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            return body


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


def _step_meta(api: PrefectRest, run_id: str, pause_key: str) -> tuple[str, dict[str, Any]]:
    """(step key, what flows/human.py stored under ``baton-step-<key>``); a refused answer waits at ``<key>-r<n>``."""
    candidates = [pause_key]
    base = re.sub(r"-r\d+$", "", pause_key)
    if base != pause_key:
        candidates.append(base)
    for key in candidates:
        meta = api.run_input(run_id, f"baton-step-{key}")
        if isinstance(meta, dict):
            return key, meta
    return base, {}


def waiting_step(api: PrefectRest, settings: Settings, run: dict[str, Any], flow: str) -> WaitingStep:
    state = run.get("state") or {}
    details = state.get("state_details") or {}
    pause_key = str(details.get("pause_key") or "")
    keyset = details.get("run_input_keyset") or {}
    step, meta = _step_meta(api, str(run["id"]), pause_key) if pause_key else ("", {})
    description = api.run_input(str(run["id"]), keyset["description"]) if keyset.get("description") else None
    return WaitingStep(
        run_id=str(run["id"]),
        flow=flow,
        run_name=str(run.get("name") or ""),
        state=str(state.get("name") or state.get("type") or ""),
        step=step,
        pause_key=pause_key,
        kind=str(meta.get("kind") or ""),
        since=str(state.get("timestamp") or ""),
        deadline=str(details.get("pause_timeout") or ""),
        instruction=description if isinstance(description, str) else "",
        url=f"{_ui_base(settings)}/runs/flow-run/{run['id']}",
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


def outcome_refusal(kind: str, outcome: str, approvals_slack_only: bool) -> str:
    """Why *outcome* may not be sent from the CLI to a step of *kind* ('' when it may)."""
    if kind and outcome not in _allowed(kind):
        choices = " or --outcome ".join(_allowed(kind))
        return f"'{outcome}' is not an answer to this {kind} step; use --outcome {choices}"
    if kind == "secret" and outcome == "done":
        return (
            "a secret step is done only through its one-time deposit or OAuth link (see the Slack message), "
            "so the secret goes straight into Vault; from here you can only report --outcome problem"
        )
    if kind == "approval" and outcome == "approve" and approvals_slack_only:
        return (
            "approvals are accepted only through Slack, where Slack vouches for who clicked "
            "(BATON_APPROVALS_SLACK_ONLY=true); you can --outcome reject from here"
        )
    return ""


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
    api = PrefectRest(str(settings.prefect_api_url))
    try:
        runs = api.paused_runs(limit)
        names = api.flow_names({str(r["flow_id"]) for r in runs})
        steps = [waiting_step(api, settings, r, names.get(str(r["flow_id"]), "?")) for r in runs]
    except CliError as exc:
        _fail(str(exc), exc.code)
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
    for label, text in (("--note", note), ("--as", who)):
        if has_template_markers(text):
            _fail(
                f"{label} holds template markers ({{{{, }}}}, {{%, %}}, {{#), which Prefect's server would "
                "render; remove them and try again",
                REFUSED,
            )
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
    api = PrefectRest(str(settings.prefect_api_url))
    try:
        run = api.flow_run(run_id)
        if run is None:
            raise CliError(f"there is no run {run_id} in Prefect at {api.api_url}; `baton paused` lists waiting runs")
        state = run.get("state") or {}
        if state.get("type") != "PAUSED":
            raise CliError(
                f"run {run_id} is {state.get('name') or state.get('type') or 'without a state'}, "
                "not waiting for an answer; `baton paused` lists waiting runs"
            )
        names = api.flow_names({str(run["flow_id"])})
        step = waiting_step(api, settings, run, names.get(str(run["flow_id"]), "?"))
        refusal = outcome_refusal(step.kind, outcome.value, settings.approvals_slack_only)
        if refusal:
            raise CliError(f"step {step.step!r} of run {run_id}: {refusal}")
        reply = api.resume(run_id, answer.model_dump())
    except CliError as exc:
        _fail(str(exc), exc.code)
    status = str(reply.get("status") or "")
    if status != "ACCEPT":
        reason = str((reply.get("details") or {}).get("reason") or "no reason given")
        _fail(f"Prefect did not resume run {run_id}: {status or 'no status'} - {reason}", FAILED)
    typer.echo(
        f"Resumed run {run_id} ({step.flow} / {step.run_name}) at step {step.step or step.pause_key!r}: "
        f"{outcome.value} as {who} (self-declared, via cli)."
    )
    typer.echo(f"The flow checks the answer and records it; follow it at {step.url}")


if __name__ == "__main__":
    app()
