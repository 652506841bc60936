"""The Slack stand-in's page for people: messages and threads are shown, and its buttons click."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx

from sandbox.server import Sandbox
from sandbox.slack import state_of

SECTION = "<@U0BOB0001> *Log out*, see <http://127.0.0.1:1/x|the run>"


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self) -> None:
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


def test_page_shows_messages_and_its_buttons_click(fresh_sandbox: Sandbox) -> None:
    slack = state_of(fresh_sandbox.world)
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slack.set_request_url(f"http://127.0.0.1:{server.server_address[1]}/slack/actions")
    api = fresh_sandbox.urls["slack"] + "/api/"
    headers = {"Authorization": f"Bearer {slack.config.bot.token}"}
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Log out of Salesforce"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": SECTION}},
        {"type": "actions", "elements": [{"type": "button", "action_id": "baton_done", "value": "v",
                                          "text": {"type": "plain_text", "text": "Done"}}]},
    ]  # fmt: skip
    posted = httpx.post(api + "chat.postMessage", headers=headers,
                        json={"channel": "C0HANDOVER", "text": "step", "blocks": blocks}).json()  # fmt: skip
    assert posted["ok"]
    page = httpx.get(fresh_sandbox.urls["slack"] + "/sandbox/slack/app?channel=C0HANDOVER&as=carol@acme.example")
    assert page.status_code == 200
    assert "<h3>Log out of Salesforce</h3>" in page.text and '<a href="http://127.0.0.1:1/x"' in page.text
    assert "<b>Log out</b>" in page.text and ">Done</button>" in page.text and "<b>@bob</b>" in page.text
    clicked = httpx.post(
        fresh_sandbox.urls["slack"] + "/sandbox/slack/app/click",
        data={"channel": "C0HANDOVER", "ts": posted["ts"], "action_id": "baton_done", "as": "carol@acme.example"},
        follow_redirects=True,
    )
    server.shutdown()
    assert clicked.status_code == 200 and "the app answered 200" in clicked.text
    payload = json.loads(httpx.QueryParams(_Receiver.bodies[-1].decode())["payload"])
    assert payload["user"]["id"] == "U0CAROL01" and payload["actions"][0]["action_id"] == "baton_done"
