"""Salesforce's error shapes: REST errors are a JSON list ``[{"message", "errorCode", "fields"?}]``."""

from __future__ import annotations

from typing import Any


class SfError(Exception):
    """A REST error as Salesforce reports it; ``status`` is the HTTP status."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


class OAuthError(Exception):
    """An OAuth endpoint error: HTTP 400 (or 401) ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class LoginFailed(Exception):
    """A SOAP login fault (``sf:exceptionCode``) or a failed username/password check."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def invalid_session() -> SfError:
    return SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def not_found() -> SfError:
    return SfError(404, "NOT_FOUND", "The requested resource does not exist")


INVALID_LOGIN_MESSAGE = "Invalid username, password, security token; or user locked out."
