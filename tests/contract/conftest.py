"""Fixtures for the contract tests (Slack: the spec, a spec-checked WebClient, a click receiver)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.server import Sandbox
from sandbox.slack import SlackState, state_of
from tests.contract.slack_spec import CheckedWebClient, SlackSpec


@pytest.fixture(scope="session")
def slack_spec() -> SlackSpec:
    """Slack's Web API spec, loaded once per session."""
    return SlackSpec()


@pytest.fixture
def slack_state(sandbox: Sandbox) -> Iterator[SlackState]:
    """The shared sandbox's Slack state, with chat.postMessage's rate limit off for the test."""
    state = state_of(sandbox.world)
    before = state.limiter.per_second
    state.set_post_rate(0)
    yield state
    state.set_post_rate(before)


def checked_client(sb: Sandbox, spec: SlackSpec, **kwargs: object) -> CheckedWebClient:
    state = state_of(sb.world)
    return CheckedWebClient(token=state.bot.token, base_url=sb.urls["slack"] + "/api/", spec=spec, **kwargs)


@pytest.fixture
def slack(sandbox: Sandbox, slack_state: SlackState, slack_spec: SlackSpec) -> CheckedWebClient:
    """slack-sdk's WebClient against the sandbox, bot token; every response is checked against the spec."""
    return checked_client(sandbox, slack_spec)


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A tiny interactivity endpoint (http.server in a thread) that records what Slack sends."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    answer: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            rec.requests.append(Received({k: v for k, v in self.headers.items()}, body))
            data = rec.answer.encode()
            self.send_response(rec.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/slack/actions"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()
