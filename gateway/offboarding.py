"""``POST /hooks/offboarding``: an identity provider says a person left; start the offboarding run.

Authenticated by ``X-Baton-Signature: sha256=<HMAC-SHA256(secret, body)>`` or ``Authorization:
Bearer <secret>`` (BATON_GATEWAY_HOOK_SECRET). The event id is the idempotency key, so a repeated
delivery returns the same run. ``leave_at`` (optional) is a leave date known ahead: the handovers are
scheduled to finish before it; a later event for the same person with another ``leave_at`` moves them,
and ``type: user.leave_cancelled`` cancels them. Okta's event hook is gateway/okta_hook.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, EmailStr, Field, ValidationError

from clients.humanstep import has_template_markers
from clients.prefect_api import PrefectAPI, PrefectAPIError, PrefectUnreachable

log = logging.getLogger("baton.gateway")


def no_template_markers(value: str) -> str:
    """An address may hold ``{``, ``}``, ``#``, ``%`` (RFC 5322); never ``{{``, ``{%``, ``{#``."""
    if has_template_markers(value):
        raise ValueError("template markers ({{, }}, {%, %}, {#) are not accepted; send the plain address")
    return value


Address = Annotated[EmailStr, AfterValidator(no_template_markers)]


class _Person(BaseModel):
    email: Address


class OffboardingEvent(BaseModel):
    event_id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")
    type: str = Field(pattern=r"^user\.(deactivated|suspended|deleted|leave_cancelled)$")
    user: _Person
    leave_at: dt.datetime | None = None
    requested_by: Address | None = None


UNREACHABLE = "Baton cannot reach Prefect right now; nothing was started; try again in a minute"


def field_problems(exc: ValidationError) -> str:
    """'user.email (value is not a valid email address: ...), type (...)': each bad field and what is wrong
    (pydantic's messages say what is expected, never the value sent)."""
    return ", ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'} ({str(e['msg']).removeprefix('Value error, ')})"
        for e in exc.errors()
    )


UNAUTHENTICATED = (
    "missing or wrong X-Baton-Signature / Authorization: send X-Baton-Signature: sha256=<HMAC-SHA256 of the body "
    "with the hook's secret> or Authorization: Bearer <the hook's secret> (BATON_GATEWAY_HOOK_SECRET)"
)
EXAMPLE_EVENT = {"event_id": "evt_123", "type": "user.deactivated", "user": {"email": "alice@acme.example"}}


def offboarding_parameters(
    person: str, requested_by: str, event_id: str, leave_at: dt.datetime | None = None, cancel: bool = False
) -> dict[str, Any]:
    """offboard_person's parameters (its ``request``) for one identity-provider event."""
    request: dict[str, Any] = {"person": person, "requested_by": requested_by, "event_id": event_id}
    if leave_at is not None:
        request["leave_at"] = leave_at.isoformat()
    if cancel:
        request["cancel"] = True
    return {"request": request}


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
            return HookReply(401, {"error": UNAUTHENTICATED})
        try:
            event = OffboardingEvent.model_validate_json(body)
        except ValidationError as exc:
            return HookReply(400, {"error": f"invalid event; check: {field_problems(exc)}", "example": EXAMPLE_EVENT})
        try:
            deployment_id = self.prefect.deployment_id(self.deployment)
            params = offboarding_parameters(
                str(event.user.email), str(event.requested_by or "identity-provider"), event.event_id,
                event.leave_at, cancel=event.type == "user.leave_cancelled",
            )  # fmt: skip
            run_id = self.prefect.create_run(deployment_id, params, event.event_id, tags=["offboarding"])
        except PrefectUnreachable:
            return HookReply(503, {"error": UNREACHABLE})
        except PrefectAPIError as exc:
            return HookReply(502, {"error": str(exc)})
        log.info("offboarding event %s started run %s", event.event_id, run_id)
        return HookReply(202, {"flow_run_id": run_id, "event_id": event.event_id})
