"""The gateway's ASGI app (Starlette): wiring only; each route's logic lives in its own module."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from clients.factory import prefect_api_from
from clients.oauth import providers
from clients.prefect_api import PrefectAPIError, PrefectUnreachable
from clients.slack import SlackClient
from clients.vault import Custody, VaultError, attestation
from clients.vault.tickets import TicketStore
from core import redaction
from core.settings import Settings
from gateway import pages
from gateway.accesslog import AccessLog, safe_path
from gateway.answers import Resumer
from gateway.audit_actions import AuditActions
from gateway.deposit import Deposit, PageReply
from gateway.limits import BodyLimit
from gateway.oauth import OAuthFlow, Redirect
from gateway.offboarding import OffboardingHook
from gateway.okta_hook import OktaHook
from gateway.replay import ReplayGuard
from gateway.reveal import Reveal
from gateway.slack_actions import SlackActions

log = logging.getLogger("baton.gateway")
OPENAPI = Path(__file__).with_name("openapi.yaml")
TRY_AGAIN = "Baton cannot reach Prefect or Vault right now; nothing was changed; try again in a minute."


@dataclass
class Gateway:
    slack_actions: SlackActions | None
    deposit: Deposit
    oauth: OAuthFlow
    hook: OffboardingHook
    reveal: Reveal
    okta: OktaHook | None = None


def _ui_url(settings: Settings) -> str:
    return str(settings.prefect_ui_url or str(settings.prefect_api_url).rstrip("/").removesuffix("/api"))


def build(settings: Settings, custody: Custody, slack: SlackClient | None) -> Gateway:
    resumer = Resumer(prefect=prefect_api_from(settings), key=attestation.ensure_key(custody))
    tickets = TicketStore(custody, ttl_seconds=settings.gateway_ticket_ttl_seconds)
    actions = None
    if settings.slack_signing_secret is not None:
        secret = settings.slack_signing_secret.get_secret_value()
        redaction.register(secret)
        actions = SlackActions(
            verifier=SignatureVerifier(secret),
            replay=ReplayGuard(custody),
            resumer=resumer,
            slack=slack,
            approver_group=settings.slack_approver_group,
            audit=AuditActions(
                prefect=resumer.prefect,
                slack=slack,
                approver_group=settings.slack_approver_group,
                catalog_path=settings.catalog_path,
                ui_url=_ui_url(settings),
            ),
        )
    hook_secret = settings.gateway_hook_secret.get_secret_value() if settings.gateway_hook_secret else None
    if hook_secret:
        redaction.register(hook_secret)
    okta_secret = settings.okta_hook_secret.get_secret_value() if settings.okta_hook_secret else None
    if okta_secret:
        redaction.register(okta_secret)
    return Gateway(
        slack_actions=actions,
        deposit=Deposit(tickets=tickets, custody=custody, resumer=resumer),
        oauth=OAuthFlow(
            providers=providers(settings),
            tickets=tickets,
            custody=custody,
            resumer=resumer,
            gateway_url=str(settings.gateway_url),
        ),
        hook=OffboardingHook(secret=hook_secret, prefect=resumer.prefect, deployment=settings.offboarding_deployment),
        reveal=Reveal(tickets=tickets, custody=custody),
        okta=OktaHook(
            secret=okta_secret,
            prefect=resumer.prefect,
            deployment=settings.offboarding_deployment,
            header=settings.okta_hook_header,
        ),
    )


def _page(reply: PageReply) -> Response:
    return HTMLResponse(reply.html, status_code=reply.status, headers={"Cache-Control": "no-store"})


def _unavailable(request: Request, exc: Exception) -> Response:
    """Prefect or Vault failed a call: 503 "try again" (an ephemeral message for Slack), never a 500."""
    what = "Prefect" if isinstance(exc, PrefectAPIError) else "Vault"
    unreachable = isinstance(exc, PrefectUnreachable) or getattr(exc, "retryable", False)
    log.warning("%s %s: %s %s (%s)", request.method, safe_path(request.url.path, request.url.query), what,
                "unreachable" if unreachable else "failed", type(exc).__name__)  # fmt: skip
    if request.url.path == "/slack/actions":
        return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": TRY_AGAIN})
    if request.url.path.startswith("/hooks/"):
        return JSONResponse({"error": TRY_AGAIN}, status_code=503, headers={"Retry-After": "60"})
    html = pages.message("Try again in a minute", TRY_AGAIN)
    return HTMLResponse(html, status_code=503, headers={"Cache-Control": "no-store", "Retry-After": "60"})


def openapi_document() -> dict[str, Any]:
    """The gateway's OpenAPI 3 description (gateway/openapi.yaml)."""
    document: dict[str, Any] = yaml.safe_load(OPENAPI.read_text())
    return document


def create_app(gateway: Gateway) -> AccessLog:
    spec = openapi_document()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openapi(request: Request) -> Response:
        return JSONResponse(spec)

    async def slack_actions(request: Request) -> Response:
        if gateway.slack_actions is None:
            return JSONResponse({"error": "Slack is off: set BATON_SLACK_SIGNING_SECRET"}, status_code=503)
        body = await request.body()
        reply = await run_in_threadpool(gateway.slack_actions.handle, body, dict(request.headers))
        return JSONResponse(reply.body, status_code=reply.status)

    async def deposit(request: Request) -> Response:
        token = request.path_params["ticket"]
        if request.method == "GET":
            return _page(await run_in_threadpool(gateway.deposit.form, token, str(request.url.path)))
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        secret = (form.get("secret") or [""])[0]
        return _page(await run_in_threadpool(gateway.deposit.submit, token, secret))

    async def reveal(request: Request) -> Response:
        return _page(await run_in_threadpool(gateway.reveal.show, request.path_params["ticket"]))

    async def oauth_start(request: Request) -> Response:
        reply = await run_in_threadpool(
            gateway.oauth.start, request.path_params["provider"], request.query_params.get("ticket", "")
        )
        if isinstance(reply, Redirect):
            return RedirectResponse(reply.location, status_code=302)
        return _page(reply)

    async def oauth_callback(request: Request) -> Response:
        params = dict(request.query_params)
        return _page(await run_in_threadpool(gateway.oauth.callback, request.path_params["provider"], params))

    async def offboarding(request: Request) -> Response:
        body = await request.body()
        reply = await run_in_threadpool(gateway.hook.handle, body, dict(request.headers))
        return JSONResponse(reply.body, status_code=reply.status)

    async def okta(request: Request) -> Response:
        hook = gateway.okta
        if hook is None:
            return JSONResponse({"error": "the Okta hook is off"}, status_code=503)
        if request.method == "GET":
            reply = hook.verify(dict(request.headers))
        else:
            reply = await run_in_threadpool(hook.handle, await request.body(), dict(request.headers))
        return JSONResponse(reply.body, status_code=reply.status)

    async def server_error(request: Request, exc: Exception) -> Response:
        path = safe_path(request.url.path, request.url.query)
        log.error("unhandled error on %s %s: %s", request.method, path, type(exc).__name__)
        return JSONResponse({"error": "internal error; see the gateway log"}, status_code=500)

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/openapi.json", openapi),
            Route("/slack/actions", slack_actions, methods=["POST"]),
            Route("/deposit/{ticket}", deposit, methods=["GET", "POST"]),
            Route("/reveal/{ticket}", reveal),
            Route("/oauth/{provider}/start", oauth_start),
            Route("/oauth/{provider}/callback", oauth_callback),
            Route("/hooks/offboarding", offboarding, methods=["POST"]),
            Route("/hooks/okta", okta, methods=["GET", "POST"]),
        ],
        exception_handlers={PrefectAPIError: _unavailable, VaultError: _unavailable, Exception: server_error},
    )
    return AccessLog(BodyLimit(app))
