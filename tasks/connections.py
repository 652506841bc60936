"""Connections tasks share, built once per process from settings (Baton's own Salesforce app)."""

from __future__ import annotations

import functools

import requests

from clients.salesforce import SalesforceClient, make_session
from core.errors import ConfigError
from tasks.services import services


def salesforce_session() -> requests.Session:
    settings = services().settings
    return make_session(str(settings.salesforce_login_url), settings.salesforce_ca_file)


@functools.cache
def salesforce_admin() -> SalesforceClient:
    """Baton's connected app, client-credentials grant (it runs as the app's run-as admin user)."""
    settings = services().settings
    if not settings.salesforce_client_id or settings.salesforce_client_secret is None:
        raise ConfigError("set BATON_SALESFORCE_CLIENT_ID and BATON_SALESFORCE_CLIENT_SECRET (Baton's connected app)")
    return SalesforceClient.client_credentials(
        str(settings.salesforce_login_url),
        settings.salesforce_client_id,
        settings.salesforce_client_secret.get_secret_value(),
        session=salesforce_session(),
    )
