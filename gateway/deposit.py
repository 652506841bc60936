"""``GET|POST /deposit/<ticket>``: a person pastes a secret; it goes straight into Vault (staged) and
the run resumes with the Vault path and version only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clients.vault import Custody, VaultError, VaultNotFound
from clients.vault.tickets import TicketInvalid, TicketStore
from gateway import pages
from gateway.answers import NotWaiting, Resumer

log = logging.getLogger("baton.gateway")
MAX_SECRET = 8192


@dataclass(frozen=True)
class PageReply:
    status: int
    html: str


def latest_version(custody: Custody, path: str) -> int:
    try:
        return custody.describe(path).latest_version
    except VaultNotFound:
        return 0


@dataclass
class Deposit:
    tickets: TicketStore
    custody: Custody
    resumer: Resumer

    def form(self, token: str, action: str) -> PageReply:
        try:
            ticket = self.tickets.peek(token, "deposit")
            self.resumer.check_waiting(ticket.run, ticket.step)
        except TicketInvalid as exc:
            return PageReply(404, pages.message("This link does not work", str(exc).split(": ", 1)[-1]))
        except NotWaiting as exc:
            return PageReply(409, pages.message("Nothing is waiting for this", str(exc)))
        return PageReply(200, pages.deposit_form(ticket.label, ticket.field, action))

    def submit(self, token: str, secret: str) -> PageReply:
        if not secret.strip():
            return PageReply(400, pages.message("Nothing stored", "The field was empty; go back and paste the value."))
        if len(secret) > MAX_SECRET:
            return PageReply(400, pages.message("Nothing stored", f"The value is longer than {MAX_SECRET} characters."))
        try:
            ticket = self.tickets.peek(token, "deposit")
            self.resumer.check_waiting(ticket.run, ticket.step)
            ticket = self.tickets.consume(token, "deposit")
            staged = self.custody.stage(
                ticket.vault_path, {ticket.field: secret.strip()},
                expect_version=latest_version(self.custody, ticket.vault_path),
                staged_by="deposit", flow_run_id=ticket.run,
            )  # fmt: skip
            self.resumer.resume(
                ticket.run, ticket.step, outcome="done", via="deposit",
                vault_path=staged.path, vault_version=staged.version, responder="deposit page",
            )  # fmt: skip
        except TicketInvalid as exc:
            return PageReply(404, pages.message("This link does not work", str(exc).split(": ", 1)[-1]))
        except NotWaiting as exc:
            return PageReply(409, pages.message("Nothing is waiting for this", str(exc)))
        except VaultError as exc:
            log.warning("deposit failed: %s", exc)
            return PageReply(502, pages.message("Not stored", "Vault refused the value; tell your Baton admin."))
        log.info("deposit for run %s step %s stored at %s v%s", ticket.run, ticket.step, staged.path, staged.version)
        return PageReply(
            200, pages.message("Stored in Vault", f"Stored as version {staged.version}. You can close this tab.")
        )
