"""Jotform's API over httpx: what Baton needs to know about a form before it changes anything.

Seam: ``transport=`` (an ``httpx.BaseTransport``, e.g. ``httpx.MockTransport``). The API key goes in
the ``APIKEY`` header, never in a URL, so it cannot end up in an access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from core import redaction
from core.errors import BatonError

RETRYABLE_STATUS = {429, 502, 503, 504}
HINTS = {
    401: "Check BATON_JOTFORM_API_KEY (Jotform: My Account > API); the key needs read access.",
    403: "The API key may not read this form; use a key of the form's owner.",
    404: "Check form_id: it is the number in the form's URL, e.g. https://form.jotform.com/241118435271045.",
}
# The API host and the Form Builder's host of each Jotform region.
APP_HOSTS = {
    "api.jotform.com": "www.jotform.com",
    "eu-api.jotform.com": "eu.jotform.com",
    "hipaa-api.jotform.com": "hipaa.jotform.com",
}


class JotformError(BatonError):
    """A Jotform call failed. ``retryable`` for 429 and 5xx-unavailable (with ``retry_after`` seconds)."""

    def __init__(self, what: str, status: int, message: str, retry_after: float = 0.0) -> None:
        self.status = status
        self.retryable = status in RETRYABLE_STATUS
        self.retry_after = retry_after
        hint = HINTS.get(status, "")
        super().__init__(f"Jotform {what} failed: HTTP {status}: {message.strip()}." + (f" {hint}" if hint else ""))


@dataclass(frozen=True)
class JotformForm:
    id: str
    title: str
    url: str


def builder_url(api_url: str, form_id: str) -> str:
    """The Form Builder's Salesforce integration page of *form_id* (same host as the API off Jotform)."""
    parts = urlsplit(api_url)
    host = APP_HOSTS.get(parts.hostname or "")
    netloc = host if host else parts.netloc
    path = f"/build/{form_id}/settings/integrations/salesforce"
    return urlunsplit((parts.scheme or "https", netloc, path, "", ""))


class JotformClient:
    """One API key. Methods name the endpoint they call."""

    def __init__(
        self, api_url: str, api_key: str, *, transport: httpx.BaseTransport | None = None, timeout: float = 15
    ) -> None:
        redaction.register(api_key)
        self._http = httpx.Client(
            base_url=api_url.rstrip("/") + "/", headers={"APIKEY": api_key}, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JotformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, what: str, path: str) -> Any:
        try:
            reply = self._http.get(path)
        except httpx.HTTPError as exc:
            raise JotformError(what, 503, f"no answer ({type(exc).__name__})") from None
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if reply.status_code != 200:
            retry_after = reply.headers.get("retry-after", "0")
            try:
                wait = float(retry_after)
            except ValueError:
                wait = 0.0
            raise JotformError(what, reply.status_code, str(body.get("message") or reply.reason_phrase), wait)
        return body.get("content")

    def form(self, form_id: str) -> JotformForm:
        """``GET /form/<id>``: the form's id, title and public URL."""
        content = self._get(f"form {form_id}", f"form/{form_id}")
        if not isinstance(content, dict) or "id" not in content:
            raise JotformError(f"form {form_id}", 502, "the reply has no form")
        return JotformForm(id=str(content["id"]), title=str(content.get("title", "")), url=str(content.get("url", "")))
