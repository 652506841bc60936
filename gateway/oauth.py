"""``GET /oauth/<provider>/start`` and ``/callback``: authorization code + PKCE with authlib; the state
is bound to (run, step), single use and expiring; tokens go into Vault and the run resumes with the
Vault path and version only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from clients.oauth import OAuthError, Provider, authorization_url, exchange_code
from clients.vault import Custody, VaultError
from clients.vault.tickets import TicketInvalid, TicketStore
from gateway import pages
from gateway.answers import NotWaiting, Resumer
from gateway.deposit import PageReply, latest_version

log = logging.getLogger("baton.gateway")


@dataclass(frozen=True)
class Redirect:
    location: str


@dataclass
class OAuthFlow:
    providers: dict[str, Provider]
    tickets: TicketStore
    custody: Custody
    resumer: Resumer
    gateway_url: str

    def redirect_uri(self, provider: str) -> str:
        return f"{self.gateway_url.rstrip('/')}/oauth/{provider}/callback"

    def start(self, provider_name: str, token: str) -> Redirect | PageReply:
        provider = self.providers.get(provider_name)
        if provider is None:
            return PageReply(404, pages.message("Unknown provider", f"Baton has no OAuth app for {provider_name!r}."))
        try:
            ticket = self.tickets.peek(token, "oauth")
            if ticket.provider != provider_name:
                raise TicketInvalid("this link is for another provider", method="ticket")
            self.resumer.check_waiting(ticket.run, ticket.step)
        except TicketInvalid as exc:
            return PageReply(404, pages.message("This link does not work", str(exc).split(": ", 1)[-1]))
        except NotWaiting as exc:
            return PageReply(409, pages.message("Nothing is waiting for this", str(exc)))
        url, state, verifier = authorization_url(provider, self.redirect_uri(provider_name))
        self.tickets.issue_state(state, ticket_token=token, provider=provider_name, verifier=verifier)
        return Redirect(url)

    def callback(self, provider_name: str, params: dict[str, str]) -> PageReply:
        provider = self.providers.get(provider_name)
        state = params.get("state", "")
        if provider is None:
            return PageReply(404, pages.message("Unknown provider", f"Baton has no OAuth app for {provider_name!r}."))
        try:
            record = self.tickets.consume(state, "oauth-state")
            if record.provider != provider_name:
                raise TicketInvalid("this answer is for another provider", method="ticket")
        except TicketInvalid as exc:
            return PageReply(400, pages.message("Sign-in not accepted", str(exc).split(": ", 1)[-1]))
        if params.get("error"):
            return PageReply(
                400,
                pages.message(
                    "Nothing authorized",
                    f"{provider_name} answered {params['error']}. Open the link from Slack again to retry.",
                ),
            )
        try:
            ticket = self.tickets.peek(record.label, "oauth", hashed=True)
            self.resumer.check_waiting(ticket.run, ticket.step)
            tokens = exchange_code(provider, self.redirect_uri(provider_name), params.get("code", ""), record.extra)
            ticket = self.tickets.consume(record.label, "oauth", hashed=True)
            staged = self.custody.stage(
                ticket.vault_path, tokens, expect_version=latest_version(self.custody, ticket.vault_path),
                staged_by=f"oauth:{provider_name}", flow_run_id=ticket.run,
            )  # fmt: skip
            self.resumer.resume(
                ticket.run, ticket.step, outcome="done", via="oauth", responder=tokens.get("id", provider_name),
                vault_path=staged.path, vault_version=staged.version,
            )  # fmt: skip
        except TicketInvalid as exc:
            return PageReply(400, pages.message("Sign-in not accepted", str(exc).split(": ", 1)[-1]))
        except NotWaiting as exc:
            return PageReply(409, pages.message("Nothing is waiting for this", str(exc)))
        except OAuthError as exc:
            return PageReply(400, pages.message("Nothing authorized", str(exc)))
        except VaultError as exc:
            log.warning("oauth callback could not store tokens: %s", exc)
            return PageReply(502, pages.message("Not stored", "Vault refused the tokens; tell your Baton admin."))
        log.info("oauth %s for run %s stored at %s v%s", provider_name, ticket.run, staged.path, staged.version)
        return PageReply(200, pages.message("Authorized", "Baton stored the tokens in Vault. You can close this tab."))
