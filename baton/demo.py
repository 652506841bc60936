"""``./run demo``: Baton's main job, offboarding alice@ end to end, on the embedded stack (all on loopback).

It starts OpenBao, the sandbox's stand-ins with the sample scenario (alice@ is the integration user of four
integrations and is leaving), a local Prefect server, Baton's gateway and ``python -m baton.serve``; sends the
offboarding event for alice@ to the gateway's hook (signed as the hook expects, requested by carol@); and plays
the people itself: bob@ approves the plan in the Slack stand-in, then does every handover's human steps in Debian
chromium (Salesforce logins and consents, Jira's Revoke and Authorize, the API access token deposits, the
Intercom reinstall and App info, the Jotform user's e-mail and authentication). It runs to the end on its own:
every handover verified, alice frozen, a summary with where to look, exit 0; everything it started is stopped
on success, failure or Ctrl-C. ``--interactive`` prints each step's links and waits for you instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import shutil
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import typer

from baton import autopilot_pages as pages
from baton.autopilot import Autopilot
from baton.demo_stack import CATALOG, Running, Stack
from flows.catalog import load_catalog
from sandbox.connectors.jira_app import connector
from sandbox.intercom.state import app_user
from sandbox.jotform.state import account
from sandbox.salesforce import org_of

app = typer.Typer(add_completion=False, help=__doc__, rich_markup_mode=None)
LEAVER, REQUESTER = "alice@acme.example", "carol@acme.example"


def send_offboarding_event(running: Running, event_id: str) -> str:
    """POST the identity provider's event to the gateway's hook, signed (X-Baton-Signature); the run id."""
    body = json.dumps({"event_id": event_id, "type": "user.deactivated", "user": {"email": LEAVER},
                       "requested_by": REQUESTER}).encode()  # fmt: skip
    secret = running.env["BATON_GATEWAY_HOOK_SECRET"].encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    reply = httpx.post(f"{running.gateway_url}/hooks/offboarding", content=body, timeout=60,
                       headers={"content-type": "application/json", "x-baton-signature": signature})  # fmt: skip
    if reply.status_code != 202:
        raise RuntimeError(f"the offboarding hook answered {reply.status_code}: {reply.text}")
    return str(reply.json()["flow_run_id"])


def vendor_checks(running: Running) -> list[tuple[bool, str]]:
    """What the vendors' stand-ins say now (not what Baton reports): each handover's successor, alice frozen."""
    world, checks = running.sandbox.world, []
    with world.lock:
        for entry in load_catalog(CATALOG).of(LEAVER):
            params, want = entry.parameters, str(entry.successor)
            if entry.flow == "rotate-salesforce-jira-connector":
                conn = connector(world, str(entry.variant)).connections[str(params["connection_id"])]
                now = f"{conn.status}, Salesforce user {conn.salesforce_username}"
                ok = conn.status == "authorized" and conn.salesforce_username == want
            elif entry.flow == "change-intercom-app-user":
                user = app_user(world) or {}
                now, ok = f"app user {user.get('email')}", user.get("email") == want
            else:
                sf = account(world).forms[str(params["form_id"])].salesforce
                now, ok = f"{sf.status}, Salesforce user {sf.salesforce_username}", sf.salesforce_username == want
            checks.append((ok, f"{entry.id}: {now} (successor {want})"))
        org = org_of(world)
        alice = org.user_by_username(LEAVER)
        login = org.store.first("UserLogin", UserId=alice["Id"]) if alice else None
        frozen = bool(login and login["IsFrozen"])
        checks.append((frozen, f"{LEAVER} in Salesforce: UserLogin.IsFrozen = {str(frozen).lower()}"))
    return checks


def summary(running: Running, run_id: str, final: dict[str, Any], began: float) -> bool:
    with running.prefect.http() as http:
        artifact = http.get("artifacts/offboarding-summary/latest")
    typer.echo("")
    typer.echo(f"offboarding run {run_id}: {final['type']} {final.get('message') or ''}".rstrip())
    if artifact.status_code == 200 and artifact.json().get("flow_run_id") == run_id:
        typer.echo(artifact.json()["data"])
    checks = vendor_checks(running)
    typer.echo("What the vendors say now:")
    for ok, line in checks:
        typer.echo(f"  {'ok ' if ok else 'NOT'} {line}")
    good = final["type"] == "COMPLETED" and all(ok for ok, _ in checks)
    typer.echo("")
    typer.echo("Where to look:")
    typer.echo(f"  Prefect UI, the offboarding run  {running.prefect.ui_url}/runs/flow-run/{run_id}")
    typer.echo(f"  Prefect UI, every run            {running.prefect.ui_url}/runs")
    typer.echo(f"  Prefect UI login                 the line in {running.prefect.login_file} (gone with the server)")
    typer.echo(f"  Slack stand-in, #it-handover     {running.slack_page}")
    verdict = "every handover verified, alice frozen" if good else "NOT done (see above)"
    typer.echo(f"demo: {verdict}; total {time.monotonic() - began:.0f} s")
    return good


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops everything as Ctrl-C does


@app.command(help=__doc__)
def main(
    interactive: bool = typer.Option(
        False, "--interactive", help="Print each step's links and wait for you to act (default: the demo acts)."
    ),
    state_dir: Path = typer.Option(Path("var/demo"), help="Where the Prefect database and the logs live."),
    fresh: bool = typer.Option(
        True, help="Start from an empty Prefect database (the sandbox and OpenBao start empty anyway)."
    ),
    prefect_port: int = typer.Option(4200, help="Port of the Prefect server (UI and API); 0 picks a free one."),
    gateway_port: int = typer.Option(8700, help="Port of Baton's gateway; 0 picks a free one."),
    timeout: float = typer.Option(
        1500, help="Give up (and stop everything) after this many seconds; with --interactive, a day."
    ),
    headed: bool = typer.Option(False, help="Show the browser window (needs a display)."),
) -> None:
    """Offboard alice@ across her four integrations, playing the people (or, --interactive, waiting for you)."""
    began = time.monotonic()
    if fresh and (state_dir / "prefect").exists():
        shutil.rmtree(state_dir / "prefect")
    state_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    stack, good = Stack(), False
    try:
        running = stack.start(state_dir, prefect_port, gateway_port, typer.echo)
        event_id = f"demo-{uuid.uuid4().hex[:8]}"
        run_id = send_offboarding_event(running, event_id)
        typer.echo(f"[{time.monotonic() - began:6.1f}s] offboarding event {event_id} for {LEAVER} (requested by "
                   f"{REQUESTER}) sent to the gateway's hook: run {run_id}")  # fmt: skip
        typer.echo(f"         watch it: {running.prefect.ui_url}/runs/flow-run/{run_id} and {running.slack_page}")
        typer.echo(f"         the Prefect UI asks for a login: paste the line in {running.prefect.login_file}")
        with contextlib.ExitStack() as browsing:
            browser = None if interactive else browsing.enter_context(pages.chromium(headed=headed))
            pilot = Autopilot(running.sandbox, running.prefect.api_url, run_id, typer.echo, act=not interactive,
                              browser=browser, began=began, auth_string=running.prefect.auth_string)  # fmt: skip
            if interactive:
                typer.echo("         act as bob@ in the Slack stand-in and on the pages each step links to (sandbox "
                           "logins: docs/operators.md); Ctrl-C stops everything")  # fmt: skip
            final = pilot.run(timeout=86400 if interactive else timeout)
        good = summary(running, run_id, final, began)
    except KeyboardInterrupt:
        typer.echo("interrupted.")
    except Exception as exc:  # noqa: BLE001 - say what failed, then stop everything
        typer.echo(f"demo failed: {type(exc).__name__}: {exc}")
    finally:
        typer.echo("stopping everything the demo started ...")
        stack.stop(typer.echo)
        typer.echo(f"stopped. total {time.monotonic() - began:.0f} s")
    if not good:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
