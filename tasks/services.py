"""What flows and tasks talk to, built once per process from settings: Slack, Vault custody, links.

Vault is logged in to on first use, not when the process starts: a run that starts while Vault is down still
has its Slack thread, so the failure is said there (flows/reporting.py) rather than only in Prefect's log. The
login rides out a short outage (clients.vault.retrying) before it fails with what to fix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from clients.factory import custody_from, slack_from
from clients.slack import SlackClient
from clients.vault import Custody, retrying
from core import redaction
from core.settings import Settings, load_settings


@dataclass
class Services:
    settings: Settings
    slack: SlackClient | None
    _custody: Custody | None = field(default=None, repr=False)

    @property
    def custody(self) -> Custody:
        """Vault custody, logged in on first use."""
        if self._custody is None:
            self._custody = retrying(lambda: custody_from(self.settings))
        return self._custody

    def run_url(self, flow_run_id: str) -> str:
        """The run's page in the Prefect UI."""
        base = str(self.settings.prefect_ui_url or str(self.settings.prefect_api_url).rstrip("/").removesuffix("/api"))
        return f"{base.rstrip('/')}/runs/flow-run/{flow_run_id}"


@functools.cache
def services() -> Services:
    settings = load_settings()
    redaction.install()
    return Services(settings=settings, slack=slack_from(settings))
