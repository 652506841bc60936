"""Okta stand-in: the sending side of an Event Hook, as Okta's documentation describes it.

An admin registers a hook (its URL, the header name and the secret value Okta sends with every request);
Okta verifies it once (``GET`` with ``X-Okta-Verification-Challenge``; the service must answer
``{"verification": <the challenge>}``), and only a verified hook receives deliveries: ``POST``s whose body
is ``{"eventType": "com.okta.event_hook", ..., "data": {"events": [<System Log event>...]}}``, each event
with ``uuid``, ``eventType`` (``user.lifecycle.deactivate``...), ``actor`` and ``target[]`` (``type: User``,
``alternateId`` = the login e-mail). Okta signs nothing; it retries a delivery that fails.

Python API::

    hook = OktaEventHook(uri="http://127.0.0.1:8700/hooks/okta", auth_value="secret")
    hook.verify()                                   # True once the service echoed the challenge
    event, reply = hook.deactivate("alice@acme.example", actor="bob@acme.example")
    hook.deliver(event)                             # the same event again (a redelivery)
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

import httpx

USERS = {  # Okta user ids of the sample scenario's people (00u + 17 characters, as Okta's)
    "alice@acme.example": ("00ub0alice0000000001", "Alice Leaver"),
    "bob@acme.example": ("00ub0bob000000000002", "Bob Admin"),
    "carol@acme.example": ("00ub0carol0000000003", "Carol Approver"),
    "dave@acme.example": ("00ub0dave0000000004", "Dave Oncall"),
}


class NotVerified(Exception):
    """Okta delivers events only to a verified hook."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _user(email: str, kind: str = "User") -> dict[str, Any]:
    ident, name = USERS.get(email.lower(), ("00u" + secrets.token_hex(9)[:17], email.split("@")[0]))
    return {"id": ident, "type": kind, "alternateId": email, "displayName": name, "detailEntry": None}


@dataclass
class OktaEventHook:
    uri: str
    auth_value: str
    auth_key: str = "Authorization"
    org_url: str = "https://acme.okta.com"
    id: str = field(default_factory=lambda: "who" + secrets.token_hex(9)[:17])
    verification_status: str = "UNVERIFIED"
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    timeout: float = 10.0

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Content-Type": "application/json", self.auth_key: self.auth_value}

    def verify(self) -> bool:
        """``POST /api/v1/eventHooks/<id>/lifecycle/verify``: Okta's one-time verification request."""
        challenge = secrets.token_urlsafe(30)
        headers = {**self._headers(), "X-Okta-Verification-Challenge": challenge}
        try:
            reply = httpx.get(self.uri, headers=headers, timeout=self.timeout)
            ok = reply.status_code == 200 and reply.json().get("verification") == challenge
        except (httpx.HTTPError, ValueError, AttributeError):
            ok = False
        self.verification_status = "VERIFIED" if ok else "UNVERIFIED"
        return ok

    def event(self, event_type: str, email: str, actor: str, *, event_uuid: str | None = None) -> dict[str, Any]:
        """One System Log event as an event hook carries it."""
        verb = event_type.rsplit(".", 1)[-1]
        return {
            "uuid": event_uuid or str(uuidlib.uuid4()),
            "published": _now(),
            "eventType": event_type,
            "version": "0",
            "displayMessage": f"{verb.capitalize()} Okta user",
            "severity": "INFO",
            "client": {"userAgent": None, "zone": None, "device": None, "ipAddress": "203.0.113.7"},
            "actor": _user(actor),
            "outcome": {"result": "SUCCESS", "reason": None},
            "target": [_user(email)],
            "transaction": {"type": "WEB", "id": secrets.token_urlsafe(12), "detail": {}},
            "debugContext": {"debugData": {"eventHookIds": self.id}},
            "legacyEventType": f"core.user.config.user_{verb}d",
        }

    def deliver(self, *events: dict[str, Any]) -> httpx.Response:
        """POST the events to the hook, in Okta's envelope."""
        if self.verification_status != "VERIFIED":
            raise NotVerified(f"event hook {self.id} is not verified: Okta sends it nothing")
        body = {
            "eventType": "com.okta.event_hook",
            "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1",
            "source": f"{self.org_url}/api/v1/eventHooks/{self.id}",
            "eventId": str(uuidlib.uuid4()),
            "data": {"events": list(events)},
            "eventTime": _now(),
            "contentType": "application/json",
        }
        self.deliveries.append(body)
        return httpx.post(self.uri, json=body, headers=self._headers(), timeout=self.timeout)

    def deactivate(self, email: str, actor: str) -> tuple[dict[str, Any], httpx.Response]:
        """``POST /api/v1/users/<id>/lifecycle/deactivate``, then its event delivered to the hook."""
        event = self.event("user.lifecycle.deactivate", email, actor)
        return event, self.deliver(event)

    def suspend(self, email: str, actor: str) -> tuple[dict[str, Any], httpx.Response]:
        event = self.event("user.lifecycle.suspend", email, actor)
        return event, self.deliver(event)
