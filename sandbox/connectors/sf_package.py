"""The connector's Salesforce side: Setup > Installed packages > Configure "Jira Cloud for Salesforce".

"Revoke the connection", an "Access token" field and Save. Saving an API access token that the Jira connector's
page issued records the package as connected, authorized by the Salesforce user that connection runs as.
The acting admin is whoever is logged in to the Salesforce stand-in (its ``sid`` cookie); others are sent to
its login page. Python API: ``package_state(world, "Jira Cloud for Salesforce")`` -> dict.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.jira.web import esc, page
from sandbox.world import World

VENDOR_KEY = "salesforce_packages"
SLUGS = {"jira-cloud": ("cloud", "Jira Cloud for Salesforce"), "jira-server": ("server", "Jira Server for Salesforce")}
BRAND = "Salesforce Setup"


@dataclass
class PackageState:
    name: str
    variant: str
    status: str = "not_connected"  # connected | not_connected
    authorized_by_user_id: str = ""
    authorized_by_username: str = ""
    connection_id: str = ""
    saved_by: str = ""
    saved_at: float = 0.0


def package_state(world: World, name: str) -> dict[str, Any] | None:
    with world.lock:
        pkg = world.vendors.get(VENDOR_KEY, {}).get(name)
        return asdict(pkg) if isinstance(pkg, PackageState) else None


def seed_packages(world: World) -> None:
    """Called by jira_app.seed: each seeded connection that is authorized is also saved in its package."""
    from sandbox.connectors.jira_app import VENDOR_KEY as CONNECTORS

    packages: dict[str, PackageState] = {}
    for variant, conn in world.vendors.get(CONNECTORS, {}).items():
        pkg = PackageState(conn.app_name, variant)
        live = next((c for c in conn.connections.values() if c.status == "authorized"), None)
        if live is not None:
            pkg.status, pkg.connection_id = "connected", live.id
            pkg.authorized_by_user_id, pkg.authorized_by_username = live.salesforce_user_id, live.salesforce_username
            pkg.saved_by, pkg.saved_at = live.salesforce_username, time.time()
        packages[conn.app_name] = pkg
    with world.lock:
        world.vendors[VENDOR_KEY] = packages


def _acting_user(world: World, request: Request) -> str | None:
    from sandbox.salesforce.pages import ui_user
    from sandbox.salesforce.web import org_of

    found = ui_user(org_of(world), request)
    return str(found[1]["Username"]) if found else None


def routes(world: World) -> list[BaseRoute]:
    def guard(request: Request) -> tuple[str, PackageState | None] | Response:
        user = _acting_user(world, request)
        if user is None:
            target = request.url.path
            return RedirectResponse("/?startURL=" + quote(target, safe=""), status_code=302)
        slug = request.path_params.get("slug")
        if slug is None:
            return user, None
        pkg = world.vendors.get(VENDOR_KEY, {}).get(SLUGS.get(slug, ("", ""))[1])
        if not isinstance(pkg, PackageState):
            return page("Package not installed", "<p>No such installed package.</p>", 404, BRAND)
        return user, pkg

    async def installed(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        rows = "".join(
            f'<tr><td>{esc(name)}</td><td><a id="configure-{slug}" href="/setup/packages/{slug}/configure">'
            f"Configure</a></td></tr>"
            for slug, (_, name) in SLUGS.items()
            if name in world.vendors.get(VENDOR_KEY, {})
        )
        return page("Installed Packages", f"<table><tr><th>Package</th><th></th></tr>{rows}</table>", brand=BRAND)

    async def configure(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        user, pkg = found
        assert pkg is not None
        params = await read_params(request) if request.method == "POST" else {}
        error = ""
        if request.method == "POST":
            error = _save(world, pkg, str(params.get("access_token", "")).strip(), user)
            if not error:
                return RedirectResponse(request.url.path, status_code=303)
        slug = request.path_params["slug"]
        err = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
        return page(
            f"Configure {pkg.name}",
            f"""{err}
<p>Connection: <span class="status" id="package-status">{esc(pkg.status)}</span></p>
<p>Authorized by: <span id="package-user">{esc(pkg.authorized_by_username or "-")}</span></p>
<form method="post" action="/setup/packages/{slug}/revoke"><button type="submit" id="revoke-connection">Revoke the
connection</button></form>
<form method="post" action="/setup/packages/{slug}/configure">
<label>Access token <input name="access_token" id="access-token" size="60" autocomplete="off"></label>
<button type="submit" id="save">Save</button></form>""",
            400 if error else 200,
            BRAND,
        )

    async def revoke(request: Request) -> Response:
        found = guard(request)
        if isinstance(found, Response):
            return found
        pkg = found[1]
        assert pkg is not None
        with world.lock:
            pkg.status, pkg.connection_id = "not_connected", ""
            pkg.authorized_by_user_id = pkg.authorized_by_username = ""
        return RedirectResponse(f"/setup/packages/{request.path_params['slug']}/configure", status_code=303)

    return [
        Route("/lightning/setup/ImportedPackage/home", installed),
        Route("/setup/packages/{slug}/configure", configure, methods=["GET", "POST"]),
        Route("/setup/packages/{slug}/revoke", revoke, methods=["POST"]),
    ]


def _save(world: World, pkg: PackageState, token: str, acting: str) -> str:
    """Check the token with the Jira connector; '' when saved, else the message to show."""
    from sandbox.connectors.jira_app import find_api_token

    if not token:
        return "Enter the API access token from Jira."
    found = find_api_token(world, pkg.variant, token)
    if found is None:
        return "The access token is not valid. Copy a new API Access token from Jira."
    conn, tok = found
    with world.lock:
        pkg.status, pkg.connection_id = "connected", conn.id
        pkg.authorized_by_user_id, pkg.authorized_by_username = tok.salesforce_user_id, tok.salesforce_username
        pkg.saved_by, pkg.saved_at = acting, time.time()
    return ""
