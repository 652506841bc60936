"""The Salesforce OAuth client side that the Jira connector and Jotform play (Salesforce is the server).

Connected apps live in the Salesforce stand-in (``org_of(world)``); these helpers make sure the app knows our
callback URL, build the authorize URL (PKCE S256), and exchange the code over HTTPS against the sandbox CA.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from sandbox.world import World


class SalesforceUnavailable(RuntimeError):
    """The Salesforce stand-in is not seeded or cannot be reached."""


@dataclass
class SfAuth:
    """Who authorized, and the tokens Salesforce issued to the app."""

    user_id: str
    username: str
    access_token: str
    refresh_token: str
    instance_url: str


def ensure_connected_app(
    world: World, name: str, client_id: str, client_secret: str, redirect_uri: str
) -> tuple[str, str]:
    """(client_id, client_secret) of the named connected app, registering it or adding our callback URL."""
    from sandbox.salesforce.web import org_of

    try:
        org = org_of(world)
    except RuntimeError as exc:  # only without a salesforce section
        raise SalesforceUnavailable(str(exc)) from exc
    with world.lock:
        app = org.connected_app(name)
        if app is None:
            app = org.register_connected_app(name, client_id, client_secret, [redirect_uri])
        elif redirect_uri not in app.redirect_uris:
            app.redirect_uris.append(redirect_uri)
        return app.client_id, app.client_secret


def grant(world: World, app_name: str, username: str) -> bool:
    """Seed an OauthToken row (username authorized app_name) if both exist; True when recorded."""
    from sandbox.salesforce.web import org_of

    org = org_of(world)
    if org.user_by_username(username) is None or org.connected_app(app_name) is None:
        return False
    org.grant(app_name, username)
    return True


def user_id_of(world: World, username: str) -> str:
    from sandbox.salesforce.web import org_of

    user = org_of(world).user_by_username(username)
    return str(user["Id"]) if user else ""


def new_pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(world: World, client_id: str, redirect_uri: str, state: str, challenge: str) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": "api refresh_token",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "login consent",
    }
    return f"{world.urls['salesforce']}/services/oauth2/authorize?{urlencode(params)}"


async def exchange(
    world: World, client_id: str, client_secret: str, code: str, redirect_uri: str, verifier: str
) -> SfAuth:
    """Code -> tokens at /services/oauth2/token, then the identity URL for the username. Raises on failure."""
    base = world.urls["salesforce"]
    async with httpx.AsyncClient(verify=world.ca_file or True, timeout=10) as client:
        resp = await client.post(
            f"{base}/services/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        )
        body = resp.json()
        if resp.status_code != 200:
            raise SalesforceUnavailable(f"{body.get('error')}: {body.get('error_description')}")
        ident = await client.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"})
        who = ident.json() if ident.status_code == 200 else {}
    user_id = str(who.get("user_id") or body["id"].rstrip("/").rsplit("/", 1)[-1])
    return SfAuth(
        user_id,
        str(who.get("username", "")),
        body["access_token"],
        body.get("refresh_token", ""),
        body.get("instance_url", base),
    )
