"""The form builder's Settings > Integrations > Salesforce pages (Jotform is the OAuth client, Salesforce the server).

Authenticate -> Salesforce login + Allow (connected app "Jotform") -> back here -> choose action, object and
field mapping -> Save. The stand-in has one Jotform account, so these pages need no Jotform login.
"""

from __future__ import annotations

import secrets
import time

import httpx
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.jira.sfclient import SalesforceUnavailable, authorize_url, exchange, new_pkce
from sandbox.jira.web import esc, page
from sandbox.jotform.state import ACTIONS, OBJECTS, Form, account
from sandbox.world import World

CALLBACK = "/oauth/salesforce/callback"
BRAND = "Jotform"


def _settings(form_id: str) -> str:
    return f"/build/{form_id}/settings/integrations/salesforce"


def _options(choices: dict[str, str] | list[str], chosen: str) -> str:
    pairs = choices.items() if isinstance(choices, dict) else [(c, c) for c in choices]
    return "".join(
        f'<option value="{esc(v)}"{" selected" if v == chosen else ""}>{esc(label)}</option>' for v, label in pairs
    )


def _config_form(form: Form) -> str:
    sf = form.salesforce
    obj = sf.object or "Lead"
    rows = "".join(
        f'<label>{esc(q["text"])} <select name="map_{esc(q["name"])}" id="map_{esc(q["name"])}">'
        f'<option value="">(not mapped)</option>{_options(OBJECTS[obj], sf.mapping.get(q["name"], ""))}'
        "</select></label>"
        for q in form.fields
    )
    return f"""<form method="post" action="{_settings(form.id)}">
<label>Action <select name="action" id="action">{_options(ACTIONS, sf.action)}</select></label>
<label>Object <select name="object" id="object">{_options(list(OBJECTS), obj)}</select></label>
<fieldset><legend>Match fields</legend>{rows}</fieldset>
<button type="submit" id="save">Save</button></form>"""


def routes(world: World) -> list[BaseRoute]:
    def get_form(request: Request) -> Form | Response:
        form = account(world).forms.get(request.path_params["form_id"])
        return form if form is not None else page("Form not found", "<p>No such form.</p>", 404, BRAND)

    async def integrations(request: Request) -> Response:
        form = get_form(request)
        if isinstance(form, Response):
            return form
        return page(
            f"{form.title}: Integrations",
            f'<p><a id="salesforce" href="{_settings(form.id)}">Salesforce</a></p>',
            brand=BRAND,
        )

    async def salesforce(request: Request) -> Response:
        form = get_form(request)
        if isinstance(form, Response):
            return form
        sf = form.salesforce
        if request.method == "POST":
            return await save(request, form)
        auth = f"""<form method="post" action="{_settings(form.id)}/authenticate">
<button type="submit" id="authenticate">Authenticate</button></form>"""
        if sf.status == "not_configured":
            return page(
                f"{form.title}: Salesforce", f'<p class="status" id="sf-status">Not connected</p>{auth}', brand=BRAND
            )
        who = (
            f'<p class="status" id="sf-status">{esc(sf.status.capitalize())}</p>'
            f'<p>Salesforce account: <strong id="sf-user">{esc(sf.salesforce_username)}</strong></p>'
        )
        return page(f"{form.title}: Salesforce", who + _config_form(form) + auth, brand=BRAND)

    async def save(request: Request, form: Form) -> Response:
        params = await read_params(request)
        action, obj = str(params.get("action", "")), str(params.get("object", ""))
        problems = []
        if form.salesforce.status == "not_configured":
            problems.append("Authenticate with Salesforce first.")
        if action not in ACTIONS:
            problems.append("Choose an action.")
        if obj not in OBJECTS:
            problems.append("Choose a Salesforce object.")
        names = {q["name"] for q in form.fields}
        mapping = {k[4:]: str(v) for k, v in params.items() if k.startswith("map_") and v}
        bad = [f"{k} -> {v}" for k, v in mapping.items() if k not in names or v not in OBJECTS.get(obj, [])]
        if bad:
            problems.append(f"Unknown field mapping: {', '.join(bad)}")
        if problems:
            errors = "".join(f'<p class="error" role="alert">{esc(p)}</p>' for p in problems)
            return page(f"{form.title}: Salesforce", errors + _config_form(form), 400, BRAND)
        with world.lock:
            sf = form.salesforce
            sf.action, sf.object, sf.mapping = action, obj, mapping
            sf.status, sf.saved_at = "active", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return RedirectResponse(_settings(form.id), status_code=303)

    async def authenticate(request: Request) -> Response:
        form = get_form(request)
        if isinstance(form, Response):
            return form
        state = account(world)
        verifier, challenge = new_pkce()
        nonce = secrets.token_urlsafe(16)
        with world.lock:
            state.pending[nonce] = {"form_id": form.id, "verifier": verifier}
        callback = str(request.base_url).rstrip("/") + CALLBACK
        return RedirectResponse(authorize_url(world, state.sf_client_id, callback, nonce, challenge), status_code=303)

    async def callback(request: Request) -> Response:
        state = account(world)
        q = request.query_params
        with world.lock:
            req = state.pending.pop(q.get("state", ""), None)
        form = state.forms.get(req["form_id"]) if req else None
        if req is None or form is None:
            return page("Authentication failed", "<p>The request expired. Click Authenticate again.</p>", 400, BRAND)
        if q.get("error") or not q.get("code"):
            return page(
                "Authentication cancelled", f"<p>Salesforce said: {esc(q.get('error', 'no code'))}</p>", 400, BRAND
            )
        redirect = str(request.base_url).rstrip("/") + CALLBACK
        try:
            auth = await exchange(
                world, state.sf_client_id, state.sf_client_secret, q["code"], redirect, req["verifier"]
            )
        except (SalesforceUnavailable, httpx.HTTPError, ValueError, KeyError) as exc:
            return page("Authentication failed", f"<p>{esc(exc)}</p>", 502, BRAND)
        with world.lock:
            sf = form.salesforce
            sf.salesforce_user_id, sf.salesforce_username = auth.user_id, auth.username
            sf.access_token, sf.refresh_token = auth.access_token, auth.refresh_token
            sf.status = "authenticated"
        return RedirectResponse(_settings(form.id), status_code=303)

    return [
        Route("/build/{form_id}/settings/integrations", integrations),
        Route("/build/{form_id}/settings/integrations/salesforce", salesforce, methods=["GET", "POST"]),
        Route("/build/{form_id}/settings/integrations/salesforce/authenticate", authenticate, methods=["POST"]),
        Route(CALLBACK, callback),
    ]
