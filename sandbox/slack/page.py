"""A browsable view of the Slack stand-in for people: a channel's messages and threads, with the
buttons working (a click is signed and delivered exactly like ``POST /sandbox/slack/click``).

    GET  /sandbox/slack/app?channel=C0HANDOVER&as=bob@acme.example
    POST /sandbox/slack/app/click   (form: channel, ts, action_id, as)
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.slack.interactivity import ClickError, prepare, send_async
from sandbox.slack.state import NotFound, SlackState

_LINK = re.compile(r"<([^|>@!]+)\|([^>]+)>|<@([A-Z0-9]+)>|<!subteam\^([A-Z0-9]+)>")
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f8f8f8}header{background:#3f0e40;color:#fff;"
    "padding:.6rem 1rem}main{max-width:52rem;margin:1rem auto;padding:0 1rem}.msg{background:#fff;border:1px solid"
    " #ddd;border-radius:6px;padding:.6rem .9rem;margin:.6rem 0}.reply{margin-left:2rem;background:#fcfcfc}"
    ".meta{color:#616061;font-size:.8rem}form.b{display:inline}button,a.button{margin:.2rem .3rem .2rem 0;"
    "padding:.3rem .8rem;border:1px solid #aaa;border-radius:4px;background:#fff;cursor:pointer;font-size:.9rem;"
    "text-decoration:none;color:#1d1c1d}.primary{background:#007a5a;color:#fff!important;border-color:#007a5a}"
    ".danger{background:#e01e5a;color:#fff;border-color:#e01e5a}h3{margin:.2rem 0}"
)


def _mrkdwn(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn to HTML: links, user and group mentions (by name), *bold* and `code`."""
    parts, last = [], 0
    for m in _LINK.finditer(text):
        parts.append(html.escape(text[last : m.start()]))
        if m.group(1):
            parts.append(f'<a href="{html.escape(m.group(1))}" target="_blank">{html.escape(m.group(2))}</a>')
        else:
            ident = m.group(3) or m.group(4)
            parts.append(f"<b>@{html.escape(names.get(ident, ident))}</b>")
        last = m.end()
    parts.append(html.escape(text[last:]))
    out = "".join(parts)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    return out.replace("\n", "<br>")


def _blocks(message: dict[str, Any], as_user: str, names: dict[str, str]) -> str:
    out: list[str] = []
    for block in message.get("blocks") or []:
        kind = block.get("type")
        if kind == "header":
            out.append(f"<h3>{html.escape(block['text']['text'])}</h3>")
        elif kind == "section" and isinstance(block.get("text"), dict):
            out.append(f"<p>{_mrkdwn(block['text'].get('text', ''), names)}</p>")
        elif kind == "context":
            texts = [_mrkdwn(e.get("text", ""), names) for e in block.get("elements", []) if isinstance(e, dict)]
            out.append(f'<p class="meta">{" ".join(texts)}</p>')
        elif kind == "actions":
            for el in block.get("elements", []):
                label = html.escape(el.get("text", {}).get("text", "button"))
                style = html.escape(el.get("style", ""))
                if el.get("url"):
                    out.append(f'<a class="button {style}" href="{html.escape(el["url"])}" target="_blank">{label}</a>')
                    continue
                out.append(
                    '<form class="b" method="post" action="/sandbox/slack/app/click">'
                    f'<input type="hidden" name="channel" value="{html.escape(message["channel"])}">'
                    f'<input type="hidden" name="ts" value="{html.escape(message["ts"])}">'
                    f'<input type="hidden" name="action_id" value="{html.escape(el.get("action_id", ""))}">'
                    f'<input type="hidden" name="as" value="{html.escape(as_user)}">'
                    f'<button class="{style}" type="submit">{label}</button></form>'
                )
    if not out:
        out.append(f"<p>{_mrkdwn(message.get('text', ''), names)}</p>")
    return "".join(out)


def routes(state: SlackState) -> list[BaseRoute]:
    async def app(request: Request) -> Response:
        channel = request.query_params.get("channel", "C0HANDOVER")
        as_user = request.query_params.get("as", "bob@acme.example")
        notice = request.query_params.get("notice", "")
        try:
            messages = state.messages(channel, include_replies=True)
        except NotFound:
            return HTMLResponse(f"<p>No channel {html.escape(channel)}</p>", status_code=404)
        top = [m for m in messages if not m.get("thread_ts") or m.get("thread_ts") == m.get("ts")]
        replies: dict[str, list[dict[str, Any]]] = {}
        for m in messages:
            if m.get("thread_ts") and m.get("thread_ts") != m.get("ts"):
                replies.setdefault(str(m["thread_ts"]), []).append(m)
        names = {u.id: u.name for u in state.config.users} | {g.id: g.handle for g in state.config.usergroups}
        items = []
        for m in top:
            items.append(f'<div class="msg" id="m{html.escape(m["ts"])}">{_blocks(m, as_user, names)}</div>')
            items += [
                f'<div class="msg reply">{_blocks(r, as_user, names)}</div>' for r in replies.get(str(m["ts"]), [])
            ]
        users = "".join(
            f"<option{' selected' if u.email == as_user else ''}>{html.escape(u.email)}</option>"
            for u in state.config.users
        )
        page = (
            f"<!doctype html><title>#{html.escape(channel)} | Slack stand-in</title><style>{_STYLE}</style>"
            f"<header>Slack stand-in · {html.escape(channel)} · <form style=display:inline method=get>"
            f'<input type=hidden name=channel value="{html.escape(channel)}">acting as <select name=as '
            f'onchange="this.form.submit()">{users}</select></form> · <a style=color:#fff href="">refresh</a></header>'
            f"<main>{f'<p class=meta>{html.escape(notice)}</p>' if notice else ''}{''.join(items) or 'No messages.'}"
            "</main>"
        )
        return HTMLResponse(page)

    async def click(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        channel, as_user = form.get("channel", ""), form.get("as", "")
        try:
            result = await send_async(prepare(state, as_user, channel, form.get("ts", ""), form.get("action_id", "")))
            notice = f"clicked as {as_user}: the app answered {result.status} {result.body[:200]}"
        except ClickError as exc:
            notice = f"click failed: {exc}"
        query = urlencode({"channel": channel, "as": as_user, "notice": notice})
        return RedirectResponse(f"/sandbox/slack/app?{query}", status_code=303)

    return [Route("/sandbox/slack/app", app), Route("/sandbox/slack/app/click", click, methods=["POST"])]
