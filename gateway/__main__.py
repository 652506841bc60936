"""``python -m gateway``: serve Baton's gateway with uvicorn (settings from BATON_* / .env)."""

from __future__ import annotations

import logging

import typer
import uvicorn

from clients.factory import custody_from, slack_from
from core import redaction
from core.errors import BatonError
from core.settings import load_settings
from gateway.app import build, create_app

cli = typer.Typer(add_completion=False, help=__doc__)


@cli.command()
def main(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (put a TLS proxy in front in production)."),
    port: int = typer.Option(8700, help="Port to listen on."),
) -> None:
    """Serve /slack/actions, /oauth/<provider>/start|callback, /deposit/<ticket>, /hooks/offboarding, /healthz."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
        gateway = build(settings, custody_from(settings), slack_from(settings))
    except BatonError as exc:
        typer.echo(f"gateway cannot start: {exc}", err=True)
        raise typer.Exit(2) from None
    redaction.install()
    uvicorn.run(create_app(gateway), host=host, port=port, log_level="info", access_log=False)


if __name__ == "__main__":
    cli()
