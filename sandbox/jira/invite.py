"""Atlassian's invitation: a user created through ``POST /rest/api/3/user`` gets an e-mail ("<admin> invited you
to Jira") whose link opens a page to choose a full name and a password; accepting signs the person in.
That is how someone gets into a new Jira account (there is no password to hand over)."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_params
from sandbox.jira.state import JiraCloud, JiraUser, site
from sandbox.jira.web import esc, page
from sandbox.world import Mail, World

VENDOR_KEY = "jira_invitations"
BRAND = "Atlassian"


def send_invitation(world: World, state: JiraCloud, user: JiraUser, invited_by: JiraUser) -> None:
    """Called with ``world.lock`` held, when the user is created."""
    token = secrets.token_urlsafe(24)
    world.vendors.setdefault(VENDOR_KEY, {})[token] = user.account_id
    link = f"{state.site_url}/invite/{token}"
    world.send_mail(
        Mail(
            to=user.email,
            sender="jira@am.atlassian.com",
            subject=f"{invited_by.display_name} invited you to Jira",
            body=(
                f"{invited_by.display_name} has invited you to join {state.site_name}.atlassian.net.\n"
                f"Accept the invitation:\n{link}\n"
            ),
            links=[link],
        )
    )


def routes(world: World) -> list[BaseRoute]:
    async def accept(request: Request) -> Response:
        from sandbox.jira.oauth import SESSION_COOKIE

        state = site(world)
        token = request.path_params["token"]
        user = state.users.get(world.vendors.get(VENDOR_KEY, {}).get(token, ""))
        if user is None:
            return page("This invitation has expired", "<p>Ask your admin to invite you again.</p>", 404, BRAND)
        params = await read_params(request) if request.method == "POST" else {}
        if request.method == "POST" and len(str(params.get("password", ""))) >= 8:
            with world.lock:
                user.password = str(params["password"])
                user.display_name = str(params.get("display_name") or user.display_name)
                world.vendors[VENDOR_KEY].pop(token, None)
                sid = secrets.token_urlsafe(24)
                state.sessions[sid] = user.account_id
            response = page("Welcome to Jira", f'<p id="signed-in-as">{esc(user.email)}</p>', brand=BRAND)
            response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="lax")
            return response
        error = '<p class="error" role="alert">Choose a password of 8 characters or more.</p>' if params else ""
        return page(
            f"Join {state.site_name}.atlassian.net",
            f"""{error}<form method="post"><p>Email: <strong>{esc(user.email)}</strong></p>
<label>Full name <input name="display_name" id="display-name" value="{esc(user.display_name)}"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="accept-invitation">Sign up</button></form>""",
            400 if error else 200,
            BRAND,
        )

    return [Route("/invite/{token}", accept, methods=["GET", "POST"])]
