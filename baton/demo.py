"""``./run demo``: the embedded stack on loopback — a local Prefect server (SQLite), an OpenBao dev
server set up for Baton, and the sandbox's stand-ins — with their URLs and a one-line status.
Ctrl-C stops everything cleanly. State lives under ``var/demo`` (removed with ``--fresh``).
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from pathlib import Path

import hvac
import typer

from baton.devstack import OpenBaoDevServer, PrefectServer
from deployments.vault.setup import setup_vault
from sandbox.server import Sandbox

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    state_dir: Path = typer.Option(Path("var/demo"), help="Where the Prefect database and logs live."),
    fresh: bool = typer.Option(False, help="Start from an empty Prefect database."),
    prefect_port: int = typer.Option(4200, help="Port of the Prefect server (UI and API)."),
    exit_after: float = typer.Option(0, help="Stop by itself after this many seconds (0: run until Ctrl-C)."),
) -> None:
    """Start the embedded stack and wait; Ctrl-C stops it."""
    if fresh and state_dir.exists():
        shutil.rmtree(state_dir)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    bao = OpenBaoDevServer(state_dir / "openbao")
    prefect = PrefectServer(state_dir / "prefect", port=prefect_port)
    sandbox = Sandbox()
    started: list[object] = []
    try:
        typer.echo("starting OpenBao dev server ...")
        bao.start()
        started.append(bao)
        setup_vault(hvac.Client(url=bao.addr, token=bao.root_token))
        typer.echo("starting the sandbox ...")
        sandbox.start()
        started.append(sandbox)
        typer.echo("starting Prefect server (about 20 s on a fresh database) ...")
        prefect.start()
        started.append(prefect)
        typer.echo("")
        typer.echo(f"  Prefect UI          {prefect.ui_url}")
        typer.echo(f"  Prefect API         {prefect.api_url}")
        typer.echo(f"  OpenBao             {bao.addr}   (dev root token in this process only)")
        for name, url in sandbox.urls.items():
            typer.echo(f"  sandbox {name:<12}{url}")
        typer.echo("")
        typer.echo(
            f"status: ok - Prefect up in {prefect.startup_seconds:.1f} s, OpenBao in {bao.startup_seconds:.1f} s, "
            f"{len(sandbox.urls)} stand-ins. Ctrl-C stops everything."
        )
        deadline = time.monotonic() + exit_after if exit_after else None
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping ...")
        for part in reversed(started):
            part.stop()  # type: ignore[attr-defined]
        typer.echo("stopped.")


if __name__ == "__main__":
    app()
