"""``POST /hooks/offboarding``: an identity provider says a person left; start the offboarding run.

Authenticated by ``X-Baton-Signature: sha256=<HMAC-SHA256(secret, body)>`` or ``Authorization:
Bearer <secret>`` (BATON_GATEWAY_HOOK_SECRET). The event id is the idempotency key, so a repeated
delivery returns the same run.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, EmailStr, Field, ValidationError

from clients.prefect_api import PrefectAPI, PrefectAPIError

log = logging.getLogger("baton.gateway")


class _Person(BaseModel):
    email: EmailStr


class OffboardingEvent(BaseModel):
    event_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    type: str = Field(pattern=r"^user\.(deactivated|suspended|deleted)$")
    user: _Person


EXAMPLE_EVENT = {"event_id": "evt_123", "type": "user.deactivated", "user": {"email": "alice@acme.example"}}


@dataclass(frozen=True)
class HookReply:
    status: int
    body: dict[str, Any]


@dataclass
class OffboardingHook:
    secret: str | None
    prefect: PrefectAPI
    deployment: str

    def authenticated(self, body: bytes, headers: dict[str, str]) -> bool:
        if not self.secret:
            return False
        # compare bytes: hmac.compare_digest raises TypeError on str holding non-ASCII characters
        signature = headers.get("x-baton-signature", "")
        if signature.startswith("sha256="):
            expected = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            return hmac.compare_digest(signature.removeprefix("sha256=").encode(), expected.encode())
        bearer = headers.get("authorization", "")
        return bearer.startswith("Bearer ") and hmac.compare_digest(
            bearer.removeprefix("Bearer ").encode(), self.secret.encode()
        )

    def handle(self, body: bytes, headers: dict[str, str]) -> HookReply:
        if not self.secret:
            return HookReply(503, {"error": "the offboarding hook is off: set BATON_GATEWAY_HOOK_SECRET"})
        if not self.authenticated(body, headers):
            return HookReply(401, {"error": "missing or wrong X-Baton-Signature / Authorization"})
        try:
            event = OffboardingEvent.model_validate_json(body)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
            return HookReply(400, {"error": f"invalid event; check: {fields}", "example": EXAMPLE_EVENT})
        try:
            deployment_id = self.prefect.deployment_id(self.deployment)
            run_id = self.prefect.create_run(
                deployment_id,
                {"leaver_email": str(event.user.email), "event_id": event.event_id},
                event.event_id,
                tags=["offboarding"],
            )
        except PrefectAPIError as exc:
            return HookReply(502, {"error": str(exc)})
        log.info("offboarding event %s started run %s", event.event_id, run_id)
        return HookReply(202, {"flow_run_id": run_id, "event_id": event.event_id})
