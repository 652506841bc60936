"""The Salesforce connector's pages inside Jira: Jira Apps > Salesforce > Connections > Configure.

Revoke, Authorize (Salesforce OAuth as whoever logs in there), and "three dots" > API Access token (shown with a
Copy button). Served on the Jira Cloud host (variant "cloud") and, through ``connector_routes``, on the Jira
Server host (variant "server"). Python API: ``connection(world, variant, connection_id)`` and
``connections(world, variant)`` (dicts: status, salesforce_user_id, salesforce_username, api_tokens...).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.connectors.connector_api import api_routes
from sandbox.jira.sfclient import (
    SalesforceUnavailable,
    authorize_url,
    ensure_connected_app,
    exchange,
    new_pkce,
    user_id_of,
)
from sandbox.jira.state import SeedError, _check_keys, _req
from sandbox.jira.web import esc, page
from sandbox.world import World

VENDOR_KEY = "jira_connector"
BASE = "/plugins/servlet/salesforce"
CALLBACK = BASE + "/oauth/callback"
APP_NAMES = {"cloud": "Jira Cloud for Salesforce", "server": "Jira Server for Salesforce"}
Who = Callable[[Request], str | None]  # the logged-in Jira user's name, or None
ToLogin = Callable[[Request], Response]


@dataclass
class ApiAccessToken:
    token: str
    salesforce_user_id: str
    salesforce_username: str
    issued_at: float = field(default_factory=time.time)
    active: bool = True


@dataclass
class Connection:
    id: str
    name: str
    status: str = "revoked"  # authorized | revoked
    salesforce_user_id: str = ""
    salesforce_username: str = ""
    sf_access_token: str = ""
    sf_refresh_token: str = ""
    authorized_by_jira_user: str = ""
    api_tokens: list[ApiAccessToken] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def current_token(self) -> ApiAccessToken | None:
        return next((t for t in reversed(self.api_tokens) if t.active), None)


@dataclass
class Connector:
    variant: str
    app_name: str
    client_id: str
    client_secret: str
    connections: dict[str, Connection] = field(default_factory=dict)
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # OAuth state -> connection id, verifier


def connector(world: World, variant: str) -> Connector:
    found = world.vendors.get(VENDOR_KEY, {}).get(variant)
    if not isinstance(found, Connector):
        raise LookupError(f"no Salesforce connector seeded for Jira {variant} (scenario: salesforce_connector)")
    return found


def connection(world: World, variant: str, connection_id: str) -> dict[str, Any] | None:
    """One connection's state, without the Salesforce tokens (API access tokens are included)."""
    with world.lock:
        conn = connector(world, variant).connections.get(str(connection_id))
        if conn is None:
            return None
        data = asdict(conn)
        data.pop("sf_access_token")
        data.pop("sf_refresh_token")
        return data


def connections(world: World, variant: str) -> list[dict[str, Any]]:
    return [c for cid in list(connector(world, variant).connections) if (c := connection(world, variant, cid))]


def find_api_token(world: World, variant: str, token: str) -> tuple[Connection, ApiAccessToken] | None:
    with world.lock:
        for conn in connector(world, variant).connections.values():
            for tok in conn.api_tokens:
                if tok.active and secrets.compare_digest(tok.token, token):
                    return conn, tok
    return None


def _issue(conn: Connection) -> ApiAccessToken:
    tok = ApiAccessToken("sfj-" + secrets.token_urlsafe(32), conn.salesforce_user_id, conn.salesforce_username)
    conn.api_tokens.append(tok)
    return tok


def seed(world: World, scenario: dict[str, Any]) -> None:
    """Both variants, from ``jira.salesforce_connector`` and ``jira_server.salesforce_connector``."""
    found: dict[str, Connector] = {}
    for variant, section in (("cloud", "jira"), ("server", "jira_server")):
        data = (scenario.get(section) or {}).get("salesforce_connector")
        if not data:
            continue
        w = f"{section}.salesforce_connector"
        data = _check_keys(data, {"app", "client_id", "client_secret", "connections"}, w)
        conn = Connector(
            variant,
            str(data.get("app", APP_NAMES[variant])),
            str(_req(data, "client_id", w)),
            str(_req(data, "client_secret", w)),
        )
        callback = world.urls.get(section, "") + CALLBACK
        if "salesforce" in world.vendors:
            conn.client_id, conn.client_secret = ensure_connected_app(
                world, conn.app_name, conn.client_id, conn.client_secret, callback
            )
        for i, c in enumerate(data.get("connections") or []):
            cw = f"{w}.connections[{i}]"
            c = _check_keys(c, {"id", "name", "salesforce_url", "authorized_by", "status"}, cw)
            status = str(c.get("status", "authorized"))
            if status not in ("authorized", "revoked"):
                raise SeedError(f"{cw}.status must be authorized or revoked; got {status!r}")
            item = Connection(str(_req(c, "id", cw)), str(_req(c, "name", cw)), status)
            if status == "authorized":
                item.salesforce_username = str(_req(c, "authorized_by", cw))
                if "salesforce" in world.vendors:
                    item.salesforce_user_id = user_id_of(world, item.salesforce_username)
                _issue(item)
            conn.connections[item.id] = item
        found[variant] = conn
    with world.lock:
        world.vendors[VENDOR_KEY] = found
    from sandbox.connectors.sf_package import seed_packages

    seed_packages(world)


def connector_routes(world: World, variant: str, who: Who, to_login: ToLogin) -> list[BaseRoute]:
    """The connector's pages for one Jira variant; ``who``/``to_login`` are that Jira's session helpers."""

    def guard(request: Request) -> tuple[Connector, Connection | None] | Response:
        if who(request) is None:
            return to_login(request)
        state = connector(world, variant)
        cid = request.path_params.get("cid")
        conn = state.connections.get(cid) if cid else None
        if cid and conn is None:
            return page("Connection not found", "<p>No such connection.</p>", 404, "Jira")
        return state, conn

    async def list_page(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        rows = "".join(
            f'<tr><td>{esc(c.name)}</td><td class="status">{esc(c.status)}</td>'
            f"<td>{esc(c.salesforce_username)}</td>"
            f'<td><a id="configure-{esc(c.id)}" href="{BASE}/connections/{esc(c.id)}">Configure</a></td></tr>'
            for c in found[0].connections.values()
        )
        return page(
            "Salesforce Connections",
            f"<table><tr><th>Connection</th><th>Status</th><th>Runs as</th><th></th></tr>{rows}</table>",
            brand=f"Jira Apps > {found[0].app_name}",
        )

    async def configure(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        state, conn = found
        assert conn is not None
        link = f"{BASE}/connections/{esc(conn.id)}"
        return page(
            f"Configure {conn.name}",
            f"""
<p>Status: <span class="status" id="connection-status">{esc(conn.status)}</span></p>
<p>Salesforce user: <span id="connection-user">{esc(conn.salesforce_username or "-")}</span></p>
<form method="post" action="{link}/revoke"><button type="submit" id="revoke">Revoke</button></form>
<form method="post" action="{link}/authorize"><button type="submit" id="authorize">Authorize</button></form>
<details id="more-actions"><summary id="three-dots" aria-label="More actions">&#8943;</summary>
<a id="api-access-token" href="{link}/api-token">API Access token</a></details>""",
            brand=f"Jira Apps > {state.app_name} > Connections",
        )

    async def revoke(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        conn = found[1]
        assert conn is not None
        refresh = conn.sf_refresh_token
        with world.lock:
            conn.status = "revoked"
            conn.sf_access_token = conn.sf_refresh_token = ""
            for tok in conn.api_tokens:
                tok.active = False
            conn.history.append({"event": "revoked", "by": who(request), "at": time.time()})
        if refresh:  # best effort, as the real connector: tell Salesforce too
            try:
                async with httpx.AsyncClient(verify=world.ca_file or True, timeout=5) as client:
                    await client.post(world.urls["salesforce"] + "/services/oauth2/revoke", data={"token": refresh})
            except httpx.HTTPError:
                pass
        return RedirectResponse(f"{BASE}/connections/{conn.id}", status_code=303)

    async def authorize(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        state, conn = found
        assert conn is not None
        verifier, challenge = new_pkce()
        nonce = secrets.token_urlsafe(16)
        with world.lock:
            state.pending[nonce] = {"cid": conn.id, "verifier": verifier, "jira_user": who(request) or ""}
        callback = str(request.base_url).rstrip("/") + CALLBACK
        return RedirectResponse(authorize_url(world, state.client_id, callback, nonce, challenge), status_code=303)

    async def callback(request: Request) -> Response:
        state = connector(world, variant)
        q = request.query_params
        with world.lock:
            req = state.pending.pop(q.get("state", ""), None)
        conn = state.connections.get(req["cid"]) if req else None
        if req is None or conn is None:
            return page("Authorization failed", "<p>The request expired. Click Authorize again.</p>", 400, "Jira")
        if q.get("error") or not q.get("code"):
            return page(
                "Authorization cancelled", f"<p>Salesforce said: {esc(q.get('error', 'no code'))}</p>", 400, "Jira"
            )
        redirect = str(request.base_url).rstrip("/") + CALLBACK
        try:
            auth = await exchange(world, state.client_id, state.client_secret, q["code"], redirect, req["verifier"])
        except (SalesforceUnavailable, httpx.HTTPError, ValueError, KeyError) as exc:
            return page("Authorization failed", f"<p>{esc(exc)}</p>", 502, "Jira")
        with world.lock:
            conn.status = "authorized"
            conn.salesforce_user_id, conn.salesforce_username = auth.user_id, auth.username
            conn.sf_access_token, conn.sf_refresh_token = auth.access_token, auth.refresh_token
            conn.authorized_by_jira_user = req["jira_user"]
            for tok in conn.api_tokens:
                tok.active = False
            conn.history.append({"event": "authorized", "salesforce_username": auth.username, "at": time.time()})
        return RedirectResponse(f"{BASE}/connections/{conn.id}", status_code=303)

    async def api_token(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        conn = found[1]
        assert conn is not None
        if conn.status != "authorized":
            return page(
                "API Access token",
                '<p class="error" role="alert">The connection is revoked: Authorize it first.</p>',
                409,
                "Jira",
            )
        with world.lock:
            tok = conn.current_token() or _issue(conn)
        return page(
            "API Access token",
            f"""<p>Paste this token into the {esc(found[0].app_name)} package's
Configure page in Salesforce.</p>
<input id="api-token-value" readonly size="60" value="{esc(tok.token)}">
<button type="button" id="copy" onclick="navigator.clipboard.writeText(
document.getElementById('api-token-value').value).then(()=>{{this.textContent='Copied'}})">Copy</button>""",
            brand="Jira",
        )

    return [
        Route(BASE + "/connections", list_page),
        Route(BASE + "/connections/{cid}", configure),
        Route(BASE + "/connections/{cid}/revoke", revoke, methods=["POST"]),
        Route(BASE + "/connections/{cid}/authorize", authorize, methods=["POST"]),
        Route(BASE + "/connections/{cid}/api-token", api_token),
        Route(CALLBACK, callback),
        *api_routes(world, variant),
    ]


def routes(world: World) -> list[BaseRoute]:
    from sandbox.jira.oauth import current_user, login_redirect
    from sandbox.jira.state import site

    def who(request: Request) -> str | None:
        user = current_user(request, site(world))
        return user.email if user else None

    if "cloud" not in world.vendors.get(VENDOR_KEY, {}):
        return []
    return connector_routes(world, "cloud", who, login_redirect)
