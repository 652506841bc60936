"""What flows and tasks talk to, built once per process from settings: Slack, Vault custody, links."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from clients.factory import custody_from, slack_from
from clients.slack import SlackClient
from clients.vault import Custody
from core import redaction
from core.settings import Settings, load_settings


@dataclass
class Services:
    settings: Settings
    slack: SlackClient | None
    custody: Custody

    def run_url(self, flow_run_id: str) -> str:
        """The run's page in the Prefect UI."""
        base = str(self.settings.prefect_ui_url or str(self.settings.prefect_api_url).rstrip("/").removesuffix("/api"))
        return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


@functools.cache
def services() -> Services:
    settings = load_settings()
    redaction.install()
    return Services(settings=settings, slack=slack_from(settings), custody=custody_from(settings))
