"""How a real client reaches the stand-in: a ``requests.Session`` that trusts the sandbox's CA and
sends ``https://*.salesforce.com`` (login.salesforce.com, test.salesforce.com, My Domains) to it.

simple-salesforce builds ``https://login.salesforce.com/services/Soap/u/59.0`` for its SOAP, password
and client-credentials logins; pass ``session=salesforce_session(...)``. Once logged in, it uses the
instance from the reply (``127.0.0.1:PORT``), which needs no rewriting.

``trust_env`` is off: with it on, requests lets ``REQUESTS_CA_BUNDLE`` override ``session.verify``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter


class SalesforceHostAdapter(HTTPAdapter):
    """Rewrites ``https://<anything>.salesforce.com/...`` to the stand-in's base URL."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = urlsplit(base_url)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname and (parts.hostname == "salesforce.com" or parts.hostname.endswith(".salesforce.com")):
            request.url = urlunsplit((self._target.scheme, self._target.netloc, parts.path, parts.query, ""))
        return super().send(request, *args, **kwargs)


def salesforce_session(base_url: str, ca_file: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_file
    session.mount("https://", SalesforceHostAdapter(base_url))
    return session
