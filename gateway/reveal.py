"""``GET /reveal/<ticket>``: show one secret from Vault to one person, once (e.g. the new integration
user's generated password, so that they can sign in as that user on a consent page). The value goes
only to that browser page (no-store); the link is single use and expiring."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from clients.vault import Custody, VaultError
from clients.vault.tickets import TicketInvalid, TicketStore
from gateway import pages
from gateway.deposit import PageReply

log = logging.getLogger("baton.gateway")


@dataclass
class Reveal:
    tickets: TicketStore
    custody: Custody

    def show(self, token: str) -> PageReply:
        try:
            ticket = self.tickets.consume(token, "reveal")
            values = self.custody.read_version(ticket.vault_path, int(ticket.extra or 0)).values
            secret = values[ticket.field].get_secret_value()
        except TicketInvalid as exc:
            return PageReply(404, pages.message("This link does not work", str(exc).split(": ", 1)[-1]))
        except (VaultError, KeyError, ValueError):
            return PageReply(404, pages.message("Nothing to show", "Vault has no such value any more."))
        log.info("revealed %s v%s once", ticket.vault_path, ticket.extra)
        return PageReply(
            200,
            pages.page(
                ticket.label or "A secret for you",
                f'<p>Shown once. Copy it now; this page will not show it again.</p><p><code id="secret">'
                f"{html.escape(secret)}</code></p>",
            ),
        )
