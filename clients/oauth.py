"""Authorization-code + PKCE clients over authlib, one per provider Baton authorizes against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from core import redaction
from core.errors import BatonError
from core.settings import Settings


class OAuthError(BatonError):
    """The provider refused; ``error`` is its OAuth error code."""

    def __init__(self, provider: str, error: str, description: str = "") -> None:
        self.error = error
        super().__init__(f"{provider} OAuth failed: {error}" + (f" ({description})" if description else ""))


@dataclass(frozen=True)
class Provider:
    name: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    authorize_params: dict[str, str] = field(default_factory=dict)
    verify: bool | str = True


def providers(settings: Settings) -> dict[str, Provider]:
    """The providers configured in settings (a provider without a client id is left out)."""
    found: dict[str, Provider] = {}
    if settings.salesforce_client_id and settings.salesforce_client_secret:
        base = str(settings.salesforce_login_url).rstrip("/")
        found["salesforce"] = Provider(
            name="salesforce",
            authorize_url=f"{base}/services/oauth2/authorize",
            token_url=f"{base}/services/oauth2/token",
            client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret.get_secret_value(),
            scope="api refresh_token id",
            authorize_params={"prompt": "login consent"},
            verify=settings.salesforce_ca_file or True,
        )
    if settings.jira_client_id and settings.jira_client_secret:
        base = str(settings.jira_auth_url).rstrip("/")
        found["jira"] = Provider(
            name="jira",
            authorize_url=f"{base}/authorize",
            token_url=f"{base}/oauth/token",
            client_id=settings.jira_client_id,
            client_secret=settings.jira_client_secret.get_secret_value(),
            scope="read:jira-user write:jira-work offline_access",
            authorize_params={"audience": "api.atlassian.com", "prompt": "consent"},
        )
    for provider in found.values():
        redaction.register(provider.client_secret)
    return found


def _client(provider: Provider, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=provider.scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        verify=provider.verify,
        timeout=10,
    )


def authorization_url(provider: Provider, redirect_uri: str) -> tuple[str, str, str]:
    """(url, state, code_verifier) for the consent page."""
    verifier = generate_token(64)
    with _client(provider, redirect_uri) as client:
        url, state = client.create_authorization_url(
            provider.authorize_url, code_verifier=verifier, **provider.authorize_params
        )
    return str(url), str(state), verifier


def exchange_code(provider: Provider, redirect_uri: str, code: str, verifier: str) -> dict[str, str]:
    """Trade the code for tokens; every value is registered for redaction and returned as a string."""
    with _client(provider, redirect_uri) as client:
        try:
            token: dict[str, Any] = dict(
                client.fetch_token(
                    provider.token_url, code=code, code_verifier=verifier, grant_type="authorization_code"
                )
            )
        except Exception as exc:  # noqa: BLE001 - authlib raises several types; keep only the code
            error = getattr(exc, "error", None) or type(exc).__name__
            raise OAuthError(provider.name, str(error), str(getattr(exc, "description", "") or "")) from None
    values = {k: str(v) for k, v in token.items() if v is not None}
    redaction.register(*(v for k, v in values.items() if "token" in k or k == "signature"))
    return values
