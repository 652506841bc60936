"""``/hooks/okta``: an Okta Event Hook starts offboarding when a user is deactivated or suspended.

As Okta's documentation describes event hooks:
- once, when the admin verifies the hook, Okta sends ``GET`` with ``X-Okta-Verification-Challenge: <value>``
  and expects ``200 {"verification": "<value>"}``;
- then every delivery is a ``POST`` whose JSON body carries ``data.events[]``; each event has ``uuid``,
  ``eventType`` (here ``user.lifecycle.deactivate`` or ``user.lifecycle.suspend``), ``actor`` (who did it)
  and ``target[]`` (the ``User`` whose ``alternateId`` is their login e-mail). Okta expects 200 or 204 quickly.
- Okta signs nothing: it sends the header the admin configured (``Authorization`` by default) with the
  secret the admin chose (BATON_OKTA_HOOK_SECRET; BATON_OKTA_HOOK_HEADER names another header).
Each event's ``uuid`` is the idempotency key: a redelivered event returns the run it started.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, ValidationError

from clients.humanstep import has_template_markers
from clients.prefect_api import PrefectAPI, PrefectAPIError, PrefectUnreachable
from gateway.offboarding import UNREACHABLE, HookReply, field_problems, no_template_markers, offboarding_parameters

log = logging.getLogger("baton.gateway")
OFFBOARDING_EVENTS = ("user.lifecycle.deactivate", "user.lifecycle.suspend")
CHALLENGE_HEADER = "x-okta-verification-challenge"


class _Party(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = ""
    type: str = ""
    alternateId: str = ""


class OktaEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")
    uuid: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    eventType: str = Field(min_length=1)
    actor: _Party | None = None
    target: list[_Party] = Field(default_factory=list)


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")
    events: list[OktaEvent]


class OktaDelivery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: _Data


class _Email(BaseModel):
    email: Annotated[EmailStr, AfterValidator(no_template_markers)]


def _email(value: str) -> str | None:
    try:
        return str(_Email(email=value).email)
    except ValidationError:
        return None


@dataclass
class OktaHook:
    secret: str | None
    prefect: PrefectAPI
    deployment: str
    header: str = "authorization"

    def authenticated(self, headers: dict[str, str]) -> bool:
        if not self.secret:
            return False
        sent = headers.get(self.header.lower(), "")
        return hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), self.secret.encode())

    def _refusal(self, headers: dict[str, str]) -> HookReply | None:
        if not self.secret:
            return HookReply(503, {"error": "the Okta hook is off: set BATON_OKTA_HOOK_SECRET"})
        if not self.authenticated(headers):
            fix = "send the hook's secret (BATON_OKTA_HOOK_SECRET) in it"
            return HookReply(401, {"error": f"missing or wrong {self.header} header: {fix}"})
        return None

    def verify(self, headers: dict[str, str]) -> HookReply:
        """Okta's one-time verification: echo the challenge."""
        refused = self._refusal(headers)
        if refused:
            return refused
        challenge = headers.get(CHALLENGE_HEADER, "")
        if not challenge:
            return HookReply(400, {"error": "no X-Okta-Verification-Challenge header: this is Okta's verification"})
        return HookReply(200, {"verification": challenge})

    def handle(self, body: bytes, headers: dict[str, str]) -> HookReply:
        """A delivery: start one offboarding run per deactivate/suspend event; other events are ignored."""
        refused = self._refusal(headers)
        if refused:
            return refused
        try:
            delivery = OktaDelivery.model_validate_json(body)
        except ValidationError as exc:
            return HookReply(400, {"error": f"not an Okta event hook delivery; check: {field_problems(exc)}"})
        started, held, ignored = [], [], 0
        for event in delivery.data.events:
            if event.eventType not in OFFBOARDING_EVENTS:
                ignored += 1
                continue
            typed = [t.alternateId for t in event.target] + ([event.actor.alternateId] if event.actor else [])
            if any(has_template_markers(text) for text in typed):
                held.append({"event_id": event.uuid, "error": "template markers in target/actor alternateId"})
                continue
            person = next((_email(t.alternateId) for t in event.target if t.type == "User"), None)
            if person is None:
                ignored += 1
                continue
            actor = _email(event.actor.alternateId) if event.actor else None
            try:
                deployment_id = self.prefect.deployment_id(self.deployment)
                params = offboarding_parameters(person, actor or "identity-provider", event.uuid)
                run_id = self.prefect.create_run(deployment_id, params, event.uuid, tags=["offboarding"])
            except PrefectUnreachable:
                return HookReply(503, {"error": UNREACHABLE})
            except PrefectAPIError as exc:
                return HookReply(502, {"error": str(exc)})  # Okta retries a delivery that fails
            log.info("Okta event %s (%s) started offboarding run %s", event.uuid, event.eventType, run_id)
            started.append({"event_id": event.uuid, "flow_run_id": run_id})
        if held:
            log.warning("Okta delivery: %d event(s) refused for template markers", len(held))
        return HookReply(200, {"started": started, "ignored": ignored} | ({"refused": held} if held else {}))
