"""Prefect answers 503 while its SQLite is busy: the gateway's Prefect client retries those, and only those."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from clients.prefect_api import prefect_http


class _Flaky(BaseHTTPRequestHandler):
    script: list[int] = []
    seen = 0

    def do_POST(self) -> None:
        type(self).seen += 1
        status = type(self).script.pop(0) if type(self).script else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def flaky() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()


def test_busy_answers_are_retried(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [503, 503], 0
    assert prefect_http(flaky).post("flow_runs/x/resume", json={}).status_code == 200
    assert _Flaky.seen == 3


def test_other_errors_are_not_retried(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [409], 0
    assert prefect_http(flaky).post("deployments/x/create_flow_run", json={}).status_code == 409
    assert _Flaky.seen == 1


def test_gives_up_after_five_attempts(flaky: str) -> None:
    _Flaky.script, _Flaky.seen = [503] * 9, 0
    assert prefect_http(flaky).post("flow_runs/x/resume", json={}).status_code == 503
    assert _Flaky.seen == 5
