"""The sandbox's own Slack endpoints (no token): read messages, click buttons, set the request URL,
relax the rate limit, and the ``response_url`` Slack hands to interactivity receivers.

    GET  /sandbox/slack/messages?channel=C0HANDOVER[&thread_ts=...][&include_replies=1]
    POST /sandbox/slack/click         {"user", "channel", "ts", "action_id", "timestamp"?, "tamper"?, "url"?}
    GET|POST /sandbox/slack/request_url   {"url": "http://127.0.0.1:PORT/slack/actions"}
    POST /sandbox/slack/rate_limit    {"per_channel_per_second": 0}
    POST /sandbox/slack/response/<team>/<token>   (a response_url; JSON like Slack's)
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.httpkit import read_json
from sandbox.slack.blocks import InvalidBlocks, normalize, parse_blocks, validate_blocks
from sandbox.slack.interactivity import ClickError, prepare, send_async
from sandbox.slack.state import RESPONSE_URL_TTL, RESPONSE_URL_USES, NotFound, SlackState


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"ok": False, "error": "bad_request", "message": message}, status_code=status)


def routes(state: SlackState) -> list[BaseRoute]:
    async def messages(request: Request) -> Response:
        channel = request.query_params.get("channel")
        thread_ts = request.query_params.get("thread_ts")
        replies = request.query_params.get("include_replies", "").lower() in ("1", "true", "yes")
        try:
            if channel and thread_ts:
                return JSONResponse(
                    {"channel": state.channel_id(channel), "messages": state.thread(channel, thread_ts)}
                )
            if channel:
                return JSONResponse(
                    {
                        "channel": state.channel_id(channel),
                        "messages": state.messages(channel, include_replies=replies, include_ephemeral=True),
                    }
                )
        except NotFound as exc:
            return _bad(str(exc), 404)
        with state.world.lock:
            everything = {
                c: [m.snapshot() for m in state.store.channel(c, include_ephemeral=True)]
                for c in state.store.channels()
            }
        return JSONResponse({"channels": everything})

    async def click(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            return _bad('send JSON {"user", "channel", "ts", "action_id"}')
        missing = [k for k in ("user", "channel", "ts", "action_id") if not isinstance(body.get(k), str)]
        if missing:
            return _bad(f"missing or not a string: {', '.join(missing)}")
        timeout = body.get("timeout", 3.0)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 60:
            return _bad("timeout must be a number of seconds in (0, 60]")
        stamp = body.get("timestamp")
        if stamp is not None and not isinstance(stamp, int):
            return _bad("timestamp must be a Unix time in seconds (integer)")
        try:
            prepared = prepare(
                state,
                body["user"],
                body["channel"],
                body["ts"],
                body["action_id"],
                timestamp=stamp,
                tamper=bool(body.get("tamper")),
                url=body.get("url") if isinstance(body.get("url"), str) else None,
            )
        except ClickError as exc:
            return _bad(str(exc), 404)
        result = await send_async(prepared, timeout=float(timeout))
        return JSONResponse(result.as_dict())

    async def request_url(request: Request) -> Response:
        if request.method == "POST":
            body = await read_json(request)
            url = body.get("url") if isinstance(body, dict) else None
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return _bad('send JSON {"url": "http://host:port/path"}')
            state.set_request_url(url)
        return JSONResponse({"url": state.request_url})

    async def rate_limit(request: Request) -> Response:
        body = await read_json(request)
        rate = body.get("per_channel_per_second") if isinstance(body, dict) else None
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0:
            return _bad('send JSON {"per_channel_per_second": <number >= 0, 0 = no limit>}')
        state.set_post_rate(float(rate))
        return JSONResponse({"per_channel_per_second": state.limiter.per_second})

    async def response_url(request: Request) -> Response:
        return respond(state, request.path_params["token"], await read_json(request))

    return [
        Route("/sandbox/slack/messages", messages, methods=["GET"]),
        Route("/sandbox/slack/click", click, methods=["POST"]),
        Route("/sandbox/slack/request_url", request_url, methods=["GET", "POST"]),
        Route("/sandbox/slack/rate_limit", rate_limit, methods=["POST"]),
        Route("/sandbox/slack/response/{team}/{token}", response_url, methods=["POST"]),
    ]


def respond(state: SlackState, token: str, body: Any) -> JSONResponse:
    """What Slack does with a POST to a response_url: replace or delete the clicked message, or post
    a new one (ephemeral to the clicker unless ``response_type`` is ``in_channel``)."""
    with state.world.lock:
        target = state.response_urls.get(token)
        if target is None or target.uses >= RESPONSE_URL_USES or time.time() - target.created > RESPONSE_URL_TTL:
            return JSONResponse({"ok": False, "error": "expired_url"}, status_code=404)
        if not isinstance(body, dict):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        text = body.get("text")
        try:
            blocks = parse_blocks(body.get("blocks"))
            if blocks is not None:
                validate_blocks(blocks)
        except InvalidBlocks:
            return JSONResponse({"ok": False, "error": "invalid_blocks"}, status_code=400)
        if text is not None and not isinstance(text, str):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        message = state.store.get(target.channel, target.ts)
        target.uses += 1
        if body.get("delete_original") is True:
            if message is not None:
                message.deleted = True
            return JSONResponse({"ok": True})
        if text is None and blocks is None:
            return JSONResponse({"ok": False, "error": "no_text"}, status_code=400)
        normalized = normalize(blocks) if blocks else None
        if body.get("replace_original") is True:
            if message is None:
                return JSONResponse({"ok": False, "error": "message_not_found"}, status_code=404)
            message.replace(text, normalized, via="response_url")
            return JSONResponse({"ok": True})
        thread_ts = body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None
        in_channel = body.get("response_type") == "in_channel"
        state.post(
            target.channel,
            text or "",
            normalized,
            thread_ts=thread_ts,
            ephemeral_to=None if in_channel else target.user,
        )
        return JSONResponse({"ok": True})
