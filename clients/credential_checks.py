"""Does a stored credential still work? Each vendor's cheapest read, with the credential as it is in Vault.

| test | the secret's keys | the call |
|---|---|---|
| salesforce | ``access_token`` (+ ``instance_url``) | ``GET /services/oauth2/userinfo`` |
| salesforce | ``refresh_token`` (Baton's connected app) | ``POST /services/oauth2/token`` (refresh), then userinfo |
| salesforce | ``password`` (+ ``security_token``, ``username``) | SOAP ``login``, then ``GET .../limits`` |
| jira | ``api_token`` or ``value`` (+ ``email``) | ``GET /rest/api/3/myself`` (Basic) |
| jira_server | ``token`` or ``value`` (a personal access token) | ``GET /rest/api/2/myself`` (Bearer) |
| intercom | ``access_token``, ``token`` or ``value`` | ``GET /me`` (Bearer) |
| jotform | ``api_key`` or ``value`` | ``GET /user`` (``APIKEY`` header) |

The token and login calls are the only POSTs: they read a session, they change no data. The answer is
``Check(ok, detail)``: the detail names the call and the status, never a value. A read answered 429, 502-504 or
Salesforce's 403 REQUEST_LIMIT_EXCEEDED, or not answered at all, is tried again (``TRIES`` in all) after its
Retry-After (at most ``MAX_WAIT`` s) or a back-off: a vendor's bad minute is not reported as a broken credential.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import requests
from pydantic import SecretStr

from clients.salesforce import API_VERSION, SalesforceClient, SalesforceError, make_session
from core import redaction
from core.settings import Settings


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str  # e.g. "GET /rest/api/3/myself answered 401"


def _first(values: Mapping[str, SecretStr], *keys: str) -> str:
    for key in keys:
        if key in values and values[key].get_secret_value():
            return values[key].get_secret_value()
    return ""


TRIES = 4
BACKOFF = (1.0, 2.0, 4.0)
MAX_WAIT = 30.0
TRANSIENT = {429, 502, 503, 504}


def _transient_wait(reply: httpx.Response, attempt: int) -> float | None:
    """Seconds to wait before trying *reply*'s call again, or None when the answer is final."""
    limited = reply.status_code == 403 and b"REQUEST_LIMIT_EXCEEDED" in reply.content
    if reply.status_code not in TRANSIENT and not limited:
        return None
    after = reply.headers.get("retry-after", "")
    return min(float(after), MAX_WAIT) if after.isdigit() else BACKOFF[min(attempt, len(BACKOFF) - 1)]


def _http(verify: ssl.SSLContext | bool, call: str, method: str, url: str, **kwargs: object) -> Check:
    for attempt in range(TRIES):
        last = attempt == TRIES - 1
        try:
            reply = httpx.request(method, url, timeout=15, verify=verify, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            if last:
                return Check(False, f"{call}: no answer ({type(exc).__name__}), {TRIES} tries")
            time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            continue
        except httpx.HTTPError as exc:
            return Check(False, f"{call}: no answer ({type(exc).__name__})")
        wait = _transient_wait(reply, attempt)
        if wait is None or last:
            return Check(reply.status_code == 200, f"{call} answered {reply.status_code}")
        time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _salesforce(settings: Settings, values: Mapping[str, SecretStr], user: str) -> Check:
    login = str(settings.salesforce_login_url).rstrip("/")
    session: requests.Session = make_session(login, settings.salesforce_ca_file)
    ca = settings.salesforce_ca_file
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
    access, refresh = _first(values, "access_token"), _first(values, "refresh_token")
    instance = _first(values, "instance_url") or login
    if refresh and not access:
        if not settings.salesforce_client_id or settings.salesforce_client_secret is None:
            return Check(False, "a refresh token needs Baton's connected app (BATON_SALESFORCE_CLIENT_ID/SECRET)")
        data = {"grant_type": "refresh_token", "refresh_token": refresh, "client_id": settings.salesforce_client_id,
                "client_secret": settings.salesforce_client_secret.get_secret_value()}  # fmt: skip
        try:
            reply = session.post(f"{login}/services/oauth2/token", data=data, timeout=15)
        except requests.RequestException as exc:
            return Check(False, f"POST /services/oauth2/token (refresh): no answer ({type(exc).__name__})")
        if reply.status_code != 200:
            return Check(False, f"POST /services/oauth2/token (refresh) answered {reply.status_code}")
        body = reply.json()
        access, instance = str(body.get("access_token", "")), str(body.get("instance_url") or instance)
        redaction.register(access)
    if access:
        headers = {"Authorization": f"Bearer {access}"}
        return _http(verify, "GET /services/oauth2/userinfo", "GET", f"{instance}/services/oauth2/userinfo",
                     headers=headers)  # fmt: skip
    password = _first(values, "password", "value")
    if not password:
        return Check(False, "the secret has none of access_token, refresh_token, password")
    username = _first(values, "username") or user
    try:
        sf = SalesforceClient.password_login(
            login, username, password, _first(values, "security_token"), session=session
        )
        sf.sf.restful("limits", method="GET")
    except SalesforceError as exc:
        return Check(False, f"SOAP login as {username} failed: {exc.code}")
    except Exception as exc:  # noqa: BLE001 - simple-salesforce's own errors for the limits call
        return Check(False, f"GET /services/data/v{API_VERSION}/limits failed ({type(exc).__name__})")
    return Check(True, f"SOAP login as {username}, GET /services/data/v{API_VERSION}/limits answered 200")


def check(settings: Settings, test: str, values: Mapping[str, SecretStr], user: str) -> Check:
    """Run *test*'s cheapest read with *values* (a Vault secret); *user* is who it runs as (the catalog's)."""
    redaction.register(*(v.get_secret_value() for v in values.values()))
    if test == "salesforce":
        return _salesforce(settings, values, user)
    if test == "jira":
        token = _first(values, "api_token", "value")
        email = _first(values, "email") or user
        url = f"{str(settings.jira_site_url).rstrip('/')}/rest/api/3/myself"
        return _http(True, "GET /rest/api/3/myself", "GET", url, auth=(email, token))
    if test == "jira_server":
        if settings.jira_server_url is None:
            return Check(False, "set BATON_JIRA_SERVER_URL to test a Jira Server token")
        url = f"{str(settings.jira_server_url).rstrip('/')}/rest/api/2/myself"
        bearer = {"Authorization": f"Bearer {_first(values, 'token', 'value')}"}
        return _http(True, "GET /rest/api/2/myself", "GET", url, headers=bearer)
    if test == "intercom":
        bearer = {"Authorization": f"Bearer {_first(values, 'access_token', 'token', 'value')}",
                  "Accept": "application/json"}  # fmt: skip
        return _http(True, "GET /me", "GET", f"{str(settings.intercom_api_url).rstrip('/')}/me", headers=bearer)
    if test == "jotform":
        key = {"APIKEY": _first(values, "api_key", "value")}
        return _http(True, "GET /user", "GET", f"{str(settings.jotform_api_url).rstrip('/')}/user", headers=key)
    return Check(False, f"no test for {test!r}")
