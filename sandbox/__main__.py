"""``python -m sandbox --scenario FILE``: start every stand-in on loopback and print their URLs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer

from sandbox.scenario import DEFAULT_SCENARIO, ScenarioError
from sandbox.server import Sandbox

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    scenario: Path = typer.Option(DEFAULT_SCENARIO, help="YAML scenario that seeds every stand-in."),
    urls_json: Path | None = typer.Option(None, help="Also write the base URLs (and the TLS CA file) here as JSON."),
    bind: str = typer.Option("127.0.0.1", help="Loopback address to listen on."),
) -> None:
    """Start Salesforce, Jira, Intercom, Jotform and Slack stand-ins; stop with Ctrl-C."""
    if not bind.startswith("127.") and bind != "::1":
        raise typer.BadParameter("the sandbox listens on loopback only, e.g. 127.0.0.1", param_hint="--bind")
    try:
        sandbox = Sandbox(scenario, bind=bind)
    except ScenarioError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scenario") from exc

    async def run() -> None:
        task = asyncio.create_task(sandbox.serve())
        while not sandbox._ready.is_set():
            await asyncio.sleep(0.05)
        info = {**sandbox.urls, "ca_file": sandbox.ca_file}
        for name, url in sandbox.urls.items():
            typer.echo(f"{name:12} {url}")
        typer.echo("sandbox ready (Ctrl-C stops it)")
        if urls_json:
            urls_json.write_text(json.dumps(info, indent=2))
        await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        typer.echo("sandbox stopped")


if __name__ == "__main__":
    app()
