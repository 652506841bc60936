"""Jira Cloud's REST API v3 over httpx: the user, group and permission calls a handover needs.

Auth: Basic ``email:API token`` of Baton's Jira administrator (an organisation admin may create users).
Seam: ``transport=``. Errors keep Jira's own words (``errorMessages`` and ``errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from core import redaction
from core.errors import BatonError

RETRYABLE_STATUS = {429, 502, 503, 504}
HINTS = {
    401: "Check BATON_JIRA_ADMIN_EMAIL and BATON_JIRA_ADMIN_API_TOKEN (id.atlassian.com > Security > API tokens).",
    403: "Baton's Jira user must be a Jira administrator (group jira-administrators or site-admins).",
}


class JiraError(BatonError):
    """A Jira call failed; ``retryable`` for 429 and 5xx-unavailable (``retry_after`` seconds)."""

    def __init__(self, what: str, status: int, message: str, retry_after: float = 0.0) -> None:
        self.status = status
        self.retryable = status in RETRYABLE_STATUS
        self.retry_after = retry_after
        hint = HINTS.get(status, "")
        super().__init__(f"Jira {what} failed: HTTP {status}: {message}." + (f" {hint}" if hint else ""))


@dataclass(frozen=True)
class JiraAccount:
    account_id: str
    email: str
    display_name: str
    active: bool


def _account(data: dict[str, Any]) -> JiraAccount:
    return JiraAccount(
        account_id=str(data["accountId"]),
        email=str(data.get("emailAddress", "")),
        display_name=str(data.get("displayName", "")),
        active=bool(data.get("active", True)),
    )


class JiraClient:
    """One Jira Cloud site as Baton's administrator. Methods name the endpoint they call."""

    def __init__(
        self, site_url: str, email: str, api_token: str, *, transport: httpx.BaseTransport | None = None,
        timeout: float = 15,
    ) -> None:  # fmt: skip
        redaction.register(api_token)
        self._http = httpx.Client(
            base_url=site_url.rstrip("/") + "/rest/api/3/", auth=(email, api_token), transport=transport,
            timeout=timeout, headers={"Accept": "application/json"},
        )  # fmt: skip

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, method: str, path: str, **kwargs: Any) -> Any:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise JiraError(what, 503, f"no answer ({type(exc).__name__})") from None
        if reply.status_code >= 400:
            try:
                body = reply.json()
            except ValueError:
                body = {}
            words = [*body.get("errorMessages", []), *(f"{k}: {v}" for k, v in body.get("errors", {}).items())]
            try:
                wait = float(reply.headers.get("retry-after", "0"))
            except ValueError:
                wait = 0.0
            raise JiraError(what, reply.status_code, "; ".join(words) or reply.reason_phrase, wait)
        return reply.json() if reply.content else None

    def find_user(self, email: str) -> JiraAccount | None:
        """``GET /user/search?query=<email>``: the account with exactly that e-mail address, or None."""
        found = self._call("user search", "GET", "user/search", params={"query": email, "maxResults": 50})
        match = [u for u in found or [] if str(u.get("emailAddress", "")).lower() == email.lower()]
        return _account(match[0]) if match else None

    def create_user(self, email: str, display_name: str, products: list[str]) -> JiraAccount:
        """``POST /user`` (takes a seat; Atlassian e-mails the person an invitation)."""
        body = {"emailAddress": email, "displayName": display_name, "products": products}
        return _account(self._call("create user", "POST", "user", json=body))

    def groups(self, account_id: str) -> list[str]:
        """``GET /user/groups?accountId=``: the names of the account's groups."""
        found = self._call("user groups", "GET", "user/groups", params={"accountId": account_id})
        return sorted(str(g["name"]) for g in found or [])

    def add_to_group(self, account_id: str, group: str) -> None:
        """``POST /group/user?groupname=`` with ``{"accountId"}``."""
        self._call("add to group", "POST", "group/user", params={"groupname": group}, json={"accountId": account_id})

    def permitted_projects(self, account_id: str, permissions: list[str], projects: list[int]) -> dict[str, list[int]]:
        """``POST /permissions/check`` (bulk, by accountId): permission → the *projects* on which the account has it."""
        body = {"accountId": account_id, "projectPermissions": [{"permissions": permissions, "projects": projects}]}
        found = self._call("permission check", "POST", "permissions/check", json=body)
        granted: dict[str, list[int]] = {p: [] for p in permissions}
        for item in (found or {}).get("projectPermissions", []):
            granted.setdefault(str(item["permission"]), []).extend(int(p) for p in item.get("projects", []))
        return granted
